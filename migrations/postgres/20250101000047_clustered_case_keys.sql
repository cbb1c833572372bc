-- SQLite clusters `case_keys` on the referral id in this migration (see its file).
-- PostgreSQL finds a case's key through its primary key's index already: nothing changes
-- here; the file keeps both engines' migrations in step.
SELECT 1;
