-- Issue 18: the PostgreSQL audit log takes unsequenced appends and a sequencer (see
-- migrations/postgres/20250101000031_audit_sequencer.sql). SQLite has one writer at a time
-- anyway, so its writers keep appending to the chain directly (seq, prev_hash and hash set
-- at once); the table gets the same shape as PostgreSQL's (an `id` primary key, a nullable
-- `seq` that stays unique, `entry_mac`), rebuilt as SQLite cannot change a primary key.
CREATE TABLE audit_log_new (
    id           INTEGER PRIMARY KEY NOT NULL,
    seq          INTEGER,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    record_type  TEXT NOT NULL,
    record_id    TEXT,
    reason       TEXT,
    prev_hash    TEXT,
    hash         TEXT UNIQUE,
    key_id       TEXT,
    entry_mac    TEXT
);
INSERT INTO audit_log_new (id, seq, at, actor, action, record_type, record_id, reason, prev_hash, hash, key_id)
    SELECT seq, seq, at, actor, action, record_type, record_id, reason, prev_hash, hash, key_id
    FROM audit_log ORDER BY seq;
-- Dropping the table drops its triggers first, so none fires.
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_record_idx ON audit_log (record_type, record_id);
CREATE UNIQUE INDEX audit_log_seq_idx ON audit_log (seq);
CREATE INDEX audit_log_pending_idx ON audit_log (id) WHERE seq IS NULL;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
