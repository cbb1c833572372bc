-- Bytes at rest per referral (issue 11), SQLite. Keep in step with migrations/postgres (same file
-- name, same tables, columns and indexes).
--
-- 1. Compact screening. A referral's screening (what intake showed: band, reasons, required actions, signposts,
-- explanation) is a pure function of its answers, the day it was received and the service
-- definition that screened it. Instead of a sealed copy of the result in every row (~630 B
-- on average, a sixth of a referral), a new referral names the definition in
-- `screening_rules` and its screening is rebuilt from the answers when it is read
-- (crates/haven-storage/src/screening.rs). Storage checks, before writing, that the rebuilt
-- result equals the one intake computed; otherwise the full sealed result is kept, as are
-- the rows written before this migration (their `screening_rules_id` is NULL).
--
-- One row per distinct definition that screened a referral: the service's definition as
-- loaded (JSON), keyed by its SHA-256, so a definition edited without a new
-- `screening.version` is a new row and old cases keep the words they were shown. Public
-- configuration, not case content: not sealed.
CREATE TABLE screening_rules (
    id             INTEGER PRIMARY KEY,
    service        TEXT NOT NULL,
    rules_version  TEXT NOT NULL,
    digest         TEXT NOT NULL UNIQUE,
    definition     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
ALTER TABLE referrals ADD COLUMN screening_rules_id INTEGER REFERENCES screening_rules (id);

-- 2. The open plan actions only. Both indexes serve the queue's `plan_overdue` filter, whose
--    queries say `done = 0` as a literal (crates/haven-storage/src/queue.rs), and nothing
--    else reads them; most actions are done, so they no longer carry an entry each.
--    (A query that binds `done` as a parameter could not use them.)
DROP INDEX plan_actions_open_due_idx;
CREATE INDEX plan_actions_open_due_idx ON plan_actions (due_on, referral_id) WHERE done = 0;
DROP INDEX plan_actions_owner_idx;
CREATE INDEX plan_actions_owner_idx ON plan_actions (owner, due_on) WHERE done = 0;

-- A new SQLite database also gets 8 KiB pages instead of 4 KiB (set when the first
-- connection opens it, before any table: crates/haven-storage/src/lib.rs `pool_options`).
