-- The young person summary of each referral (issue 13; PostgreSQL). Keep in step with
-- migrations/sqlite (same file name, same columns).
--
-- person: the young person's name, date of birth and age as reported (a small JSON object,
-- never from a third-party question), sealed under the case's key like the answers
-- (crates/haven-storage/src/vault.rs), written at intake with the referral. The staff queue
-- opens only this for each row it lists, not the whole answers. NULL for referrals stored
-- before it: `haven serve` fills those in at start-up (in the background, a batch at a time;
-- the queue reads the answers of a row without one meanwhile), found through the partial
-- index below, which is empty, and so free to ask, once nothing is missing.
ALTER TABLE referrals ADD COLUMN person BYTEA;
CREATE INDEX referrals_person_missing_idx ON referrals (id) WHERE person IS NULL;
