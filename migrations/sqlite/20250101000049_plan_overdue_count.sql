-- Counting the queue's overdue-plan-actions view (issue 11). Keep in step with the other
-- engine's file of the same name.
--
-- The view's total counted one team's whole range of `referrals_plan_due_idx` (every open
-- case with an action not done, 5,000 entries for a team at a million referrals), testing
-- each entry's earliest due date. Keyed by that date after the team, the overdue ones are
-- one range (a few pages). The list keeps reading `referrals_plan_due_idx` in the queue's
-- order: its date test is written on an expression (`COALESCE(plan_due_on, '') < today`), so
-- this index offers it no range and cannot look cheaper than the ordered one.
CREATE INDEX referrals_plan_overdue_count_idx ON referrals (team, queue_open, plan_due_on)
    WHERE plan_due_on IS NOT NULL;
