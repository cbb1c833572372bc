-- Mailbox sources of email intake (issue 15; SQLite). Keep in step with
-- migrations/postgres (same file name, same tables and columns).
--
-- One row per IMAP message taken from a configured mailbox, written in the same transaction
-- as the email_intake item it became (or the item it duplicated), so a UID is recorded only
-- once its message is stored: a server that stops mid-message takes it again on the next
-- poll, and one that stops after storing it never takes it twice.
--   * mailbox: the source's key (imap://USER@HOST:PORT/FOLDER; no password, no content);
--   * uidvalidity, uid: the server's UIDVALIDITY of the folder and the message's UID. A new
--     UIDVALIDITY makes every old UID meaningless: the folder is read again, and the keyed
--     content hashes of email_intake answer "duplicate" for what was already taken.
-- The primary key decides a race: two servers polling the same mailbox both try to insert
-- the row; the second waits for the first's transaction and then inserts nothing, so it
-- stores nothing either.
CREATE TABLE mailbox_uids (
    mailbox      TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    taken_at     TEXT NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
