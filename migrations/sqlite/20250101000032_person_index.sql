-- The person index (issue 16; SQLite). Keep in step with migrations/postgres (same file name,
-- same tables and columns).
--
-- No plaintext name, date or postcode is stored here. `person_tokens.token` is a keyed blind
-- index: HMAC-SHA256 (first 16 bytes, hex) under a key derived from the server secret key
-- with its own purpose label, of a normalised value or phonetic code combined with its kind
-- ("gf:JTN:ANL" and the like; crates/haven-core/src/people). The key's fingerprint is in
-- `person_records.key_id`, so records made under an older key are found and rebuilt
-- (`haven people reindex`). `person_records.identity` is the normalised identity, sealed under
-- the case key (vault.rs), opened in memory only to score a candidate.
-- Rows go with their referral (ON DELETE CASCADE; retention deletes them with the case).
CREATE TABLE person_records (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    key_id      TEXT NOT NULL,
    identity    BLOB NOT NULL,
    indexed_at  TEXT NOT NULL
);

CREATE TABLE person_tokens (
    token       TEXT NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    PRIMARY KEY (token, referral_id)
);
CREATE INDEX person_tokens_referral_idx ON person_tokens (referral_id);

-- A staff decision on a possible link: confirmed (the same young person) or rejected (not).
-- The pair is stored once, the smaller id first.
CREATE TABLE person_links (
    referral_a  TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    referral_b  TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    decision    TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    decided_by  TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    PRIMARY KEY (referral_a, referral_b)
);
CREATE INDEX person_links_b_idx ON person_links (referral_b);
