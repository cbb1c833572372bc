-- Staff accounts managed from the pages (SQLite). Keep in step with migrations/postgres (same
-- file name, same tables and columns). Conventions as in the foundation migration: TEXT
-- RFC 3339 UTC timestamps, random TEXT ids.

-- How a person is named in documents and emails ("Sam Taylor"), and a work phone number a
-- recipient of an onward referral can call. Both optional: documents fall back to the email.
-- Not case content (staff details an organisation publishes anyway), so not sealed.
ALTER TABLE staff_users ADD COLUMN display_name TEXT;
ALTER TABLE staff_users ADD COLUMN phone TEXT;

-- One-time set-up links an admin hands to a person: for a new account (choose a password,
-- then set up an authenticator app), after a password reset (choose a new one), or after a
-- second-factor reset (enter the password, then set up a new authenticator app).
--   * token_hash: keyed hash of the 256-bit random token in the link (never the token);
--   * purpose: new_account, reset_password or reset_second_factor (what the admin did);
--   * expires_at: after this the link no longer works; used_at: when it was used (once);
--   * a newer link for the same account replaces older unused ones (used_at set, no session).
-- The admin's reason is sealed in staff_permission_changes, named by the audit entry.
CREATE TABLE staff_setup_links (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES staff_users (id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('new_account', 'reset_password', 'reset_second_factor')),
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX staff_setup_links_user_idx ON staff_setup_links (user_id, used_at);
