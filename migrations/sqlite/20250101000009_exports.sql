-- The files handed over for onward referrals (issue 6 item 4): each download of a document
-- keeps the exact bytes that went out, so the case file can show later what the police or
-- Children's Services were given, even after the answers have changed.
--
-- Sealed (storage/vault.rs SEALED_COLUMNS): `content` (the document itself). Clear: which
-- onward referral, the format, the file's SHA-256 (also in the audit log) and who took it.
CREATE TABLE onward_exports (
    id                  TEXT PRIMARY KEY NOT NULL,
    referral_id         TEXT NOT NULL REFERENCES referrals (id),
    onward_referral_id  TEXT NOT NULL REFERENCES onward_referrals (id),
    format              TEXT NOT NULL,
    sha256              TEXT NOT NULL,
    content             TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX onward_exports_onward_idx ON onward_exports (onward_referral_id, created_at);
CREATE INDEX onward_exports_referral_idx ON onward_exports (referral_id, created_at);
