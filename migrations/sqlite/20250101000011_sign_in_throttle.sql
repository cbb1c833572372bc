-- Sign-in throttling that an attacker cannot turn against the account's owner (SQLite).
-- Keep in step with migrations/postgres (same file name, same tables and columns).

-- Growing delays per (account, client address): `key_hash` is an HMAC under the server key
-- of the normalised email and the address together (no raw address or email is stored).
-- `failures` counts attempts not yet taken back by a success; `next_at` (Unix seconds) is
-- when the next attempt from that address for that account may be made. Rows not updated
-- for a day are deleted (the pair is forgiven).
CREATE TABLE signin_delays (
    key_hash    TEXT PRIMARY KEY NOT NULL,
    failures    INTEGER NOT NULL,
    next_at     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX signin_delays_updated_idx ON signin_delays (updated_at);

-- Failed password attempts on the account since its last completed sign-in, shown to its
-- owner after the next one ("3 failed sign-in attempts since your last sign-in, …").
ALTER TABLE staff_users ADD COLUMN failed_signins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE staff_users ADD COLUMN last_failed_signin_at TEXT;

-- What the session shows about those attempts (`<count>|<RFC 3339 time of the last>`),
-- taken from staff_users when the sign-in completes.
ALTER TABLE staff_sessions ADD COLUMN signin_notice TEXT;
