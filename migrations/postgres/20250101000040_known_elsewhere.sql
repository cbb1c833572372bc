-- Linked cases (issue 16; postgres): the "known elsewhere" alert. Keep in step with the other
-- engine's file of the same name.
--
-- person_records.elsewhere_checked_at: when this referral's young person was last matched
--     against other teams' cases for the alert. NULL (a new or re-indexed record, and every
--     record from before this migration) is the work left for the background matcher
--     (`cases::people::match_pending`, run by `haven serve`): intake itself never waits for
--     the match.
-- known_elsewhere: a referral whose young person matched (probability at least KNOWN_AT) a
--     case of another team that was open at the time: which case and service. No content:
--     ids, a service id and a time. Each match is stored both ways (the new case and the
--     existing one). Whether the other case is still open is read at display time from its
--     status, so closing it clears the alert. Rows go with either referral (ON DELETE
--     CASCADE; retention deletes them explicitly too).
ALTER TABLE person_records ADD COLUMN elsewhere_checked_at TEXT;
CREATE INDEX person_records_unchecked_idx ON person_records (indexed_at)
    WHERE elsewhere_checked_at IS NULL;

CREATE TABLE known_elsewhere (
    referral_id       TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    other_referral_id TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    other_service     TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (referral_id, other_referral_id)
);
CREATE INDEX known_elsewhere_other_idx ON known_elsewhere (other_referral_id);
