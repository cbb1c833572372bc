-- Haven foundation schema (SQLite). Keep in step with migrations/postgres: same file names,
-- same tables and columns, only the types differ.
--
-- Conventions (so one sqlx `Any` code path reads both engines):
--   * timestamps are TEXT, RFC 3339 UTC with microseconds (`2025-01-31T09:30:00.000000Z`),
--     which sorts correctly as text; dates are TEXT `YYYY-MM-DD`;
--   * booleans are INTEGER 0/1 with a CHECK (the Any driver cannot decode SQLite BOOLEAN);
--   * JSON is TEXT;
--   * ids are TEXT (random, so several servers can share one database).

-- Referrals: one row per accepted submission. Everything a person wrote lives in `answers`
-- (and the derived `screening`), so that encryption at rest can wrap those two columns
-- without reshaping the table. The other columns are the metadata queues need.
CREATE TABLE referrals (
    id              TEXT PRIMARY KEY NOT NULL,
    reference       TEXT NOT NULL UNIQUE,
    service         TEXT NOT NULL,
    stage           TEXT NOT NULL,
    audience        TEXT NOT NULL,
    status          TEXT NOT NULL,
    team            TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    urgent          INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
    suggested_band  TEXT,
    confirmed_band  TEXT,
    in_scope        INTEGER CHECK (in_scope IN (0, 1)),
    eligible        INTEGER CHECK (eligible IN (0, 1)),
    rules_version   TEXT,
    due_by          TEXT,
    assignee        TEXT,
    answers         TEXT NOT NULL,
    screening       TEXT,
    receipt_hash    TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
-- Queue queries: by team (a user's work), by service, by due date (overdue), by assignee;
-- urgent first, then oldest first.
CREATE INDEX referrals_team_queue_idx ON referrals (team, status, urgent, received_at);
CREATE INDEX referrals_service_queue_idx ON referrals (service, status, urgent, received_at);
CREATE INDEX referrals_band_idx ON referrals (service, suggested_band, confirmed_band);
CREATE INDEX referrals_due_idx ON referrals (status, due_by);
CREATE INDEX referrals_assignee_idx ON referrals (assignee, status);

-- The chronology of a referral: every status change and notable event. Append-only, so it
-- has `at` (its creation time) and no `updated_at`.
CREATE TABLE referral_events (
    id           INTEGER PRIMARY KEY,
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    reason       TEXT,
    detail       TEXT
);
CREATE INDEX referral_events_referral_idx ON referral_events (referral_id, at);

CREATE TABLE staff_users (
    id                    TEXT PRIMARY KEY NOT NULL,
    email                 TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
    role                  TEXT NOT NULL CHECK (role IN ('triage', 'caseworker', 'manager', 'admin', 'auditor')),
    team                  TEXT,
    password_hash         TEXT NOT NULL,
    must_change_password  INTEGER NOT NULL DEFAULT 1 CHECK (must_change_password IN (0, 1)),
    totp_secret           TEXT,
    disabled              INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX staff_users_team_idx ON staff_users (team, role);

-- API tokens: only a SHA-256 of the token is kept (tokens have 256 random bits, so no salt
-- or key is needed); `revoked_at` ends a token without losing its history.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES staff_users (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Tamper-evident audit log: hash = SHA-256(prev_hash || canonical entry). `seq` is chosen by
-- the writer as the previous seq + 1, so a forked chain fails on the primary key.
-- Append-only: the triggers below refuse UPDATE and DELETE.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY NOT NULL,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    record_type  TEXT NOT NULL,
    record_id    TEXT,
    reason       TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_record_idx ON audit_log (record_type, record_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Anonymous statistics for reports that were not accepted (out of scope): no free text, no
-- identifiers; `concerns` is the sorted, comma-joined option keys.
CREATE TABLE outcome_counts (
    day         TEXT NOT NULL,
    service     TEXT NOT NULL,
    audience    TEXT NOT NULL,
    concerns    TEXT NOT NULL,
    count       INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (day, service, audience, concerns)
);

-- Durable job queue (email, reminders, retention), used by later stages.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY NOT NULL,
    queue         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    run_at        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    done_at       TEXT,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX jobs_ready_idx ON jobs (queue, done_at, run_at);
