-- Information governance (issue 17): legal holds stop a case's destruction under its service's
-- retention schedule until lifted. One row per held case; the reason is sealed under the case's
-- own key (so destroying the case's key would make it unreadable too: a held case is never
-- destroyed). Placing and lifting are audited (`case.legal_hold_placed`, `_lifted`).
CREATE TABLE legal_holds (
    referral_id  TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    reason       BLOB NOT NULL,
    placed_by    TEXT NOT NULL,
    placed_at    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

