-- Triage work on a referral (PostgreSQL): the required-actions checklist, and when the
-- first-contact SLA was met (so a case already contacted is never "overdue").
-- Keep in step with migrations/sqlite (same file name, same columns).

-- One row per required action someone has marked done or waived; an action of the
-- screening result with no row here is still open. The reason lives in the chronology
-- (referral_events), next to every other free text about the case.
CREATE TABLE referral_actions (
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    action_key   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('done', 'waived')),
    actor        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (referral_id, action_key)
);

ALTER TABLE referrals ADD COLUMN sla_met_at TEXT;

-- The queue: a team's open work, urgent first, then by due date; overdue and due-today
-- lists read (team, sla_met_at, due_by).
CREATE INDEX referrals_queue_order_idx ON referrals (team, urgent, due_by, received_at);
CREATE INDEX referrals_sla_idx ON referrals (team, sla_met_at, due_by);

-- A job that failed for good keeps its row (done, with its last error) for operators.
ALTER TABLE jobs ADD COLUMN dead_at TEXT;
CREATE INDEX jobs_dead_idx ON jobs (dead_at);
