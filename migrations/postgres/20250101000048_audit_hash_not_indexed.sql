-- The audit chain's `hash` loses its UNIQUE index (see the SQLite migration of the same
-- name): nothing looks an entry up by its hash, `haven audit verify` proves the chain in
-- `seq` order without it, and the index cost every audited action a write (and, after each
-- checkpoint, a full-page image in the WAL) to a random page of a large index.
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_hash_key;
