-- Invitations to a service's `invited` stage, and the stages received after the first
-- (PostgreSQL). Keep in step with migrations/sqlite (same file name, same tables and columns).
-- Conventions as in the foundation migration: TEXT RFC 3339 UTC timestamps, TEXT JSON,
-- random TEXT ids.

-- A single-use link sent to the referrer (Cyber Choices: the detailed referral form).
--   * token_hash: keyed hash of the 256-bit random token in the link (never the token);
--   * opened_at / session_hash: when the link was exchanged for a form session, and the keyed
--     hash of that session (the link works once: a second opening is refused);
--   * used_at: when the stage was received through it;
--   * expires_at: after this the link and its form session no longer work.
-- No content: which case, which stage, who sent it and when.
CREATE TABLE invitations (
    id            TEXT PRIMARY KEY NOT NULL,
    referral_id   TEXT NOT NULL REFERENCES referrals (id),
    stage         TEXT NOT NULL,
    audience      TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    expires_at    TEXT NOT NULL,
    opened_at     TEXT,
    session_hash  TEXT,
    used_at       TEXT,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX invitations_referral_idx ON invitations (referral_id);

-- A later stage of a case (the first stage's answers stay in referrals.answers). One row per
-- case and stage; `answers` is sealed (storage/vault.rs).
CREATE TABLE referral_stages (
    id             TEXT PRIMARY KEY NOT NULL,
    referral_id    TEXT NOT NULL REFERENCES referrals (id),
    stage          TEXT NOT NULL,
    audience       TEXT NOT NULL,
    answers        TEXT NOT NULL,
    invitation_id  TEXT REFERENCES invitations (id),
    received_at    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (referral_id, stage)
);
