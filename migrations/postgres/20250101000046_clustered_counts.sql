-- SQLite clusters `referral_counts` on its key in this migration (see its file). PostgreSQL
-- already reads a team's counts from the primary key's index (an index-only scan once
-- vacuumed): nothing changes here; the file keeps both engines' migrations in step.
SELECT 1;
