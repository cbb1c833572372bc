-- Dashboards (issue 17; sqlite). Keep in step with the other engine's file of the same name.
--
-- referrals.concerns: the option keys of the definition's `[statistics] concern_question`
--   chosen in the referral (sorted, comma-joined; empty when none), written at intake so the
--   dashboards' folder counts referrals by concern without opening sealed answers. Only keys
--   of a closed list in the definition, never free text or a name (the loader refuses a
--   question that is not a choice, or is third-party or identifying). NULL: not recorded (a
--   service without the question, or a referral stored before this migration).
ALTER TABLE referrals ADD COLUMN concerns TEXT;

-- Out-of-scope reports by the signpost they were given: anonymous counts, like
-- outcome_counts (written in the same transaction), linked to no referral.
CREATE TABLE signpost_counts (
    day         TEXT NOT NULL,
    service     TEXT NOT NULL,
    signpost    TEXT NOT NULL,
    count       INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (day, service, signpost)
);
