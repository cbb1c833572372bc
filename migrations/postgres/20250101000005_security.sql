-- Staff workspace security (PostgreSQL). Keep in step with migrations/sqlite
-- (same file name, same tables and columns; only the types differ). Conventions as in
-- 20250101000001_foundation.sql: TEXT RFC 3339 timestamps, BIGINT 0/1 booleans, TEXT ids.

-- The audit chain is keyed (HMAC-SHA256 under a key derived from the server secret key,
-- never stored). `key_id` is a fingerprint of that key, so verifying with another key says
-- so; it reveals nothing of the key. NULL on entries written before the chain was keyed.
ALTER TABLE audit_log ADD COLUMN key_id TEXT;

-- Failed sign-in attempts, counted in the database so every server on it shares the limits.
-- `key_hash` is an HMAC under the server key of "account:<email>" or "address:<ip>": no
-- raw address, email or user agent is stored. One row per key: the failures since
-- `window_start`; a row whose window has passed is reset on the next failure and deleted by
-- later attempts.
CREATE TABLE signin_failures (
    key_hash      TEXT PRIMARY KEY NOT NULL,
    window_start  TEXT NOT NULL,
    failures      BIGINT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX signin_failures_window_idx ON signin_failures (window_start);

-- Why an account's role, team or active state was changed on the admin page. The reason is
-- free text, so it is sealed (storage/vault.rs SEALED_COLUMNS) and kept here, not in the
-- audit log; the audit entry of the change names this row (`change:<id>`). `what` is the
-- change as a short code (`manager secos`, `deactivated`, `reactivated`).
CREATE TABLE staff_permission_changes (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES staff_users (id),
    actor       TEXT NOT NULL,
    what        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX staff_permission_changes_user_idx ON staff_permission_changes (user_id, created_at);
