-- SQLite clusters `person_tokens` on its primary key in this migration (see its file).
-- PostgreSQL keeps a heap beside every primary key whatever the table: nothing changes here;
-- the file keeps both engines' migrations in step.
SELECT 1;
