-- The queue at a million cases (issue 11). Most stored cases are closed, and the queue lists
-- open ones: walking an order index over every case to find a page of open ones read tens of
-- thousands of closed entries per page, and more for a filter (status, overdue plan actions).
--
--   * queue_open: 0 for a case in a terminal state of its service's workflow, else 1. Which
--     states are terminal is the definition's rule, so it is kept in service_states (written
--     at start-up from the loaded definitions, as service_bands is); every statement that
--     writes a status sets queue_open from that table, and start-up corrects the rows of a
--     service whose terminal states changed. A status missing from the table counts as open:
--     a case is never left out of the queue by a missing row.
--   * plan_due_on: the earliest due date of the case's plan actions not yet done (NULL when
--     none), kept by every statement that adds, changes or ticks off an action, so "overdue
--     plan actions" is a test on the row inside an index instead of a subquery over actions.
--
-- The open queue's order indexes are partial (WHERE queue_open = 1), a fraction of the
-- table; the full ones stay for views that include closed cases. Keep in step with the other
-- engine's file of the same name.
ALTER TABLE referrals ADD COLUMN queue_open INTEGER NOT NULL DEFAULT 1;
ALTER TABLE referrals ADD COLUMN plan_due_on TEXT;

CREATE TABLE service_states (
    service     TEXT NOT NULL,
    status      TEXT NOT NULL,
    terminal    INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (service, status)
);

UPDATE referrals SET plan_due_on = (SELECT MIN(pa.due_on) FROM plan_actions pa
        WHERE pa.referral_id = referrals.id AND pa.done = 0)
    WHERE id IN (SELECT pa.referral_id FROM plan_actions pa WHERE pa.done = 0);

-- Every team's open queue (admins, auditors) and one team's, in the queue's order, with the
-- columns the filters test after it (rows that do not match are skipped inside the index).
CREATE INDEX referrals_open_idx ON referrals
    (urgent DESC, queue_news, band_rank, queue_due, received_at, reference, team, service, status, queue_band)
    WHERE queue_open = 1;
CREATE INDEX referrals_open_team_idx ON referrals
    (team, urgent DESC, queue_news, band_rank, queue_due, received_at, reference, service, status, queue_band)
    WHERE queue_open = 1;
-- One status of a team's open queue ("new"), in order.
CREATE INDEX referrals_open_status_idx ON referrals
    (team, status, urgent DESC, queue_news, band_rank, queue_due, received_at, reference)
    WHERE queue_open = 1;
-- One worker's open cases, in order.
CREATE INDEX referrals_open_assignee_idx ON referrals
    (assignee, urgent DESC, queue_news, band_rank, queue_due, received_at, reference)
    WHERE queue_open = 1 AND assignee IS NOT NULL;
-- The small sets behind the date and news filters, in order, carrying the team and the open
-- flag so a team's page is chosen inside the index without reading rows.
DROP INDEX referrals_queue_news_idx;
CREATE INDEX referrals_queue_news_idx ON referrals
    (urgent DESC, band_rank, queue_due, received_at, reference, team, queue_open, service, status, queue_band)
    WHERE queue_news = 0;
DROP INDEX referrals_queue_unmet_order_idx;
CREATE INDEX referrals_queue_unmet_order_idx ON referrals
    (urgent DESC, queue_news, band_rank, queue_due, received_at, reference, team, queue_open, service, status, queue_band)
    WHERE sla_met_at IS NULL;
CREATE INDEX referrals_plan_due_idx ON referrals
    (urgent DESC, queue_news, band_rank, queue_due, received_at, reference, team, queue_open, plan_due_on, service, status, queue_band)
    WHERE plan_due_on IS NOT NULL;
