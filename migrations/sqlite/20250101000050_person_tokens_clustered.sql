-- The person index's tokens clustered on their key (issue 11's size at rest). Keep in step
-- with the other engine's file of the same name.
--
-- `person_tokens` is nothing but its primary key (token, referral id): as a rowid table
-- SQLite stored every pair twice, once in the table and once in the key's index (about
-- 1,000 of a referral's 7,000 bytes at rest: a referral has ~17 tokens). `WITHOUT ROWID`
-- keeps the pairs in the key's B-tree only; lookups by token read the same range.
CREATE TABLE person_tokens_new (
    token       TEXT NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    PRIMARY KEY (token, referral_id)
) WITHOUT ROWID;
INSERT INTO person_tokens_new (token, referral_id)
    SELECT token, referral_id FROM person_tokens ORDER BY token, referral_id;
DROP TABLE person_tokens;
ALTER TABLE person_tokens_new RENAME TO person_tokens;
CREATE INDEX person_tokens_referral_idx ON person_tokens (referral_id);
