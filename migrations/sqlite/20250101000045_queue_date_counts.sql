-- Counting and listing the date filters at a million referrals (issue 11). Keep in step with
-- the other engine's file of the same name.
--
-- Overdue and due today: the queue's exact `total` cannot be kept in referral_counts (it
-- changes with the date), so it is counted from the rows; counted through the partial order
-- index it read every unmet entry (12,000 at a million referrals); this reads one team's
-- open range by date.
CREATE INDEX referrals_unmet_count_idx ON referrals (team, queue_open, queue_due)
    WHERE sla_met_at IS NULL;
-- Overdue plan actions: one team's open cases with an action not done, in the queue's order,
-- the date tested inside the index, so one index lists a page and counts the total (the
-- set is small: every team's cases with actions left to do).
DROP INDEX referrals_plan_due_idx;
CREATE INDEX referrals_plan_due_idx ON referrals
    (team, queue_open, urgent DESC, queue_news, band_rank, queue_due, received_at, reference, plan_due_on)
    WHERE plan_due_on IS NOT NULL;

-- Every team's order, now with the team after it: one team's view that includes closed cases
-- was read through it by PostgreSQL (the urgent cases of other teams first), testing each
-- entry's team on the row (4,000 rows for a page at a million referrals, 8 ms); with the team
-- in the index the test is made inside it.
DROP INDEX referrals_queue_idx;
CREATE INDEX referrals_queue_idx ON referrals
    (urgent DESC, queue_news, band_rank, queue_due, received_at, reference, team, service, status, queue_band);
