-- Email intake items (issue 15; SQLite). Keep in step with migrations/postgres (same file name,
-- same tables and columns). Conventions as in the foundation migration: TEXT RFC 3339 UTC
-- timestamps, INTEGER 0/1 booleans, random TEXT ids.
--
-- One row per message taken in (`haven mail ingest`), for a person to read, then convert into
-- a referral or reject. Nothing of the message is plaintext here: only ids, flags, keyed
-- hashes and timestamps. The rest is sealed (crates/haven-storage/src/vault.rs), each value
-- under a data key of its own wrapped under the master key (there is no case yet):
--   * original: the raw message as received (evidence; its attachments are only in here);
--   * item: the parsed item as JSON (sender, subject, date, text, attachment names, types
--     and sizes); NULL when the message was quarantined before it could be read;
--   * reason: why it was quarantined, in plain words (it may quote a file name).
-- Exactly once: message_id_hash and content_hash are HMAC-SHA256 under a key derived from
-- the server secret key (never the plain Message-ID). The same content again is a duplicate
-- and stores nothing (content_hash UNIQUE); a Message-ID already taken by other content for
-- the same service is stored quarantined with message_id_hash NULL, so the first keeps it.
-- service and team are NULL when the message was addressed to no service's intake address.
-- status: new (waiting for a person), converted (became a referral), rejected.
CREATE TABLE email_intake (
    id               TEXT PRIMARY KEY NOT NULL,
    service          TEXT,
    team             TEXT,
    received_at      TEXT NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('draft', 'quarantined')),
    reason           BLOB,
    message_id_hash  TEXT,
    content_hash     TEXT NOT NULL UNIQUE,
    urgent           INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
    sender_verified  INTEGER NOT NULL DEFAULT 0 CHECK (sender_verified IN (0, 1)),
    original         BLOB NOT NULL,
    item             BLOB,
    status           TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'converted', 'rejected')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (service, message_id_hash)
);
-- A team's inbox: newest first, urgent at the top.
CREATE INDEX email_intake_inbox_idx ON email_intake (team, status, urgent, received_at);
