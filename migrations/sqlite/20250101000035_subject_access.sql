-- Subject access requests (issue 17): a person asks for their data across the case they asked
-- about and its confirmed linked cases. The requester's name and how their identity was
-- checked, the reasons (extension, refusal), the per-item decisions and the release record are
-- sealed under the case's key (no personal data in the clear); the clock's dates, the status
-- and the ids of the cases covered stay clear for the team's list, sorted by due date.
CREATE TABLE subject_access_requests (
    id                TEXT PRIMARY KEY NOT NULL,
    referral_id       TEXT NOT NULL REFERENCES referrals (id),
    service           TEXT NOT NULL,
    team              TEXT NOT NULL,
    relationship      TEXT NOT NULL,
    identity_check    TEXT NOT NULL,
    requester         BLOB NOT NULL,
    received_on       TEXT NOT NULL,
    due_on            TEXT NOT NULL,
    extended_months   INTEGER NOT NULL DEFAULT 0,
    extension_reason  BLOB,
    status            TEXT NOT NULL,
    refusal_reason    BLOB,
    cases             TEXT NOT NULL,
    decisions         BLOB,
    release_record    BLOB,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    released_by       TEXT,
    released_at       TEXT
);

-- The team's open requests, soonest due first.
CREATE INDEX subject_access_team_idx ON subject_access_requests (team, status, due_on);
CREATE INDEX subject_access_referral_idx ON subject_access_requests (referral_id);
