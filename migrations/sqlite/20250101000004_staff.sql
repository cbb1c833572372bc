-- Staff sign-in, sessions, case notes and reporter follow-up (SQLite). Keep in step with
-- migrations/postgres (same file name, same tables and columns; only the types differ).
-- Conventions as in 20250101000001_foundation.sql: TEXT RFC 3339 timestamps, INTEGER 0/1
-- booleans, TEXT JSON, random TEXT ids.

-- The last accepted TOTP time step: a code whose step is not later is refused (no replay).
ALTER TABLE staff_users ADD COLUMN totp_last_step INTEGER;

-- API tokens carry their own scope (role and team), no wider than the account's when made.
ALTER TABLE api_tokens ADD COLUMN scope_role TEXT;
ALTER TABLE api_tokens ADD COLUMN scope_team TEXT;

-- Server-side sessions. Only a SHA-256 of the session id is stored (the id is in the
-- cookie), so a copied database cannot be used to sign in. `stage` is how far sign-in got:
-- second_factor → change_password → enrol → active. `pending_totp_secret` holds a secret
-- being enrolled until its first code is confirmed. Idle and absolute limits are enforced
-- from `last_seen_at` and `created_at`; password and role changes delete the user's rows.
CREATE TABLE staff_sessions (
    id_hash              TEXT PRIMARY KEY NOT NULL,
    user_id              TEXT NOT NULL REFERENCES staff_users (id),
    stage                TEXT NOT NULL CHECK (stage IN ('second_factor', 'change_password', 'enrol', 'active')),
    pending_totp_secret  TEXT,
    created_at           TEXT NOT NULL,
    last_seen_at         TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX staff_sessions_user_idx ON staff_sessions (user_id);
CREATE INDEX staff_sessions_seen_idx ON staff_sessions (last_seen_at);

-- Second-factor recovery codes: keyed hashes only, each usable once.
CREATE TABLE staff_recovery_codes (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES staff_users (id),
    code_hash   TEXT NOT NULL UNIQUE,
    used_at     TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX staff_recovery_codes_user_idx ON staff_recovery_codes (user_id, used_at);

-- Case notes. The text is in ONE column, `body`, so encryption at rest wraps one place.
CREATE TABLE case_notes (
    id           TEXT PRIMARY KEY NOT NULL,
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    author       TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX case_notes_referral_idx ON case_notes (referral_id, created_at);

-- Messages between the team and the reporter (the follow-up page). `direction` is
-- `to_reporter` (written by staff; the author is kept for staff, never shown to the
-- reporter) or `from_reporter` (information the reporter added). Text in ONE column, `body`.
CREATE TABLE reporter_messages (
    id           TEXT PRIMARY KEY NOT NULL,
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    direction    TEXT NOT NULL CHECK (direction IN ('to_reporter', 'from_reporter')),
    author       TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX reporter_messages_referral_idx ON reporter_messages (referral_id, created_at);
