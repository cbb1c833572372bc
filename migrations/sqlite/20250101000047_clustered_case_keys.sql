-- Case keys clustered on the referral id (SQLite only).
--
-- `case_keys` was a rowid table whose TEXT primary key lived in a separate index, so every
-- lookup of a case's key (each row of a staff queue page opens its young person's summary
-- with it, every case file, every sealed write) went down two B-trees: the key's index,
-- then the table. WITHOUT ROWID keeps each row in its key's B-tree: one descent, and one
-- B-tree written per new case instead of two. Same columns and key as before (migration
-- 20250101000020); PostgreSQL is unchanged (its primary key index finds the row's page).

CREATE TABLE case_keys_clustered (
    referral_id TEXT PRIMARY KEY,
    key_id      TEXT,
    wrapped     BLOB,
    created_at  TEXT NOT NULL,
    destroyed_at TEXT
) WITHOUT ROWID;

INSERT INTO case_keys_clustered (referral_id, key_id, wrapped, created_at, destroyed_at)
SELECT referral_id, key_id, wrapped, created_at, destroyed_at FROM case_keys ORDER BY referral_id;

DROP TABLE case_keys;
ALTER TABLE case_keys_clustered RENAME TO case_keys;
