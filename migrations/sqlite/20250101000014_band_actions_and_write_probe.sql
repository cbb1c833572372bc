-- Required actions follow the confirmed band (issue 11). `referrals.screening` keeps what
-- the tool suggested at intake; once a person confirms or overrides the band, the case's
-- required actions are recomputed from the definition with that band and recorded here, one
-- row per action the screening listed or the band requires: required = 1 (added or still
-- required), 0 (no longer required: shown as `not_required`, the override's reason in the
-- chronology). Done/waived marks stay in referral_actions. No case content here: keys only.
CREATE TABLE referral_required_actions (
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    action_key   TEXT NOT NULL,
    required     INTEGER NOT NULL CHECK (required IN (0, 1)),
    band         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (referral_id, action_key)
);

-- Readiness (issue 11): after a write failed for lack of space, I/O or a read-only
-- database, /readyz rewrites the one row here (64 KiB of filler) to learn whether the
-- database can be written again. Never holds anything else.
CREATE TABLE write_probe (
    id      INTEGER PRIMARY KEY,
    filler  TEXT NOT NULL,
    at      TEXT NOT NULL
);
