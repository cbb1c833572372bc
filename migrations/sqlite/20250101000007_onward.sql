-- Onward referrals (issue 6 item 4): a referral of a case to another organisation (the VEMT
-- panel, the Police, Children's Services, …), of a kind named in the service definition,
-- optionally fulfilling one of the screening's required actions (`action_key`).
--
-- Sealed (storage/vault.rs SEALED_COLUMNS): `recipient` (may name a person),
-- `consent_reason` and `notes` (staff free text). Clear: the kind, lawful basis key,
-- whether consent was sought, the date sent and who recorded it, for lists and audits.
CREATE TABLE onward_referrals (
    id              TEXT PRIMARY KEY NOT NULL,
    referral_id     TEXT NOT NULL REFERENCES referrals (id),
    kind            TEXT NOT NULL,
    action_key      TEXT,
    recipient       TEXT NOT NULL,
    lawful_basis    TEXT NOT NULL,
    consent_sought  INTEGER NOT NULL CHECK (consent_sought IN (0, 1)),
    consent_reason  TEXT,
    sent_on         TEXT NOT NULL,
    actor           TEXT NOT NULL,
    notes           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX onward_referrals_referral_idx ON onward_referrals (referral_id, created_at);
