-- The audit chain's `hash` loses its UNIQUE index (on both engines). Nothing looks an entry
-- up by its hash, and the chain needs no index to be proven: `haven audit verify` recomputes
-- every hash in `seq` order (a copied or replayed entry breaks the chain there). The index
-- cost every audited action a write to a random page of a million-entry index (hashes are
-- random): with every audited read committing one entry, that page, and the WAL frame for
-- it, was the largest part of each commit. `seq` stays unique.
--
-- SQLite cannot drop a column's UNIQUE constraint: the table is rebuilt as migration 31
-- rebuilt it, the same columns, indexes and triggers, every entry kept with its id.
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
    hash         TEXT,
    key_id       TEXT,
    entry_mac    TEXT
);
INSERT INTO audit_log_new (id, seq, at, actor, action, record_type, record_id, reason, prev_hash, hash, key_id, entry_mac)
    SELECT id, seq, at, actor, action, record_type, record_id, reason, prev_hash, hash, key_id, entry_mac
    FROM audit_log ORDER BY id;
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
