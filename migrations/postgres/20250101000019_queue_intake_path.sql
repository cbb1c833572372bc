-- The queue at a million cases without slowing intake (issue 11), PostgreSQL. Keep in step
-- with migrations/sqlite (same file name, same tables, columns and indexes).
--
-- Intake had fallen to ~65% of a naive insert: each new referral paid for a count trigger
-- and for nine queue indexes. Here the referral that arrives costs far less, while every
-- filter's page is still read from an index in the queue's order:
--
-- 1. New referrals are counted by the code that writes them (storage/referrals.rs,
--    `insert_referrals`): one UPSERT per batch and combination in the same transaction,
--    instead of one trigger run per row. Later changes (transitions, allocation, bands,
--    closure, deletion) still go through the UPDATE and DELETE triggers: they are not on the
--    hot path, and no writer of them can forget the count.
DROP TRIGGER referral_counts_insert ON referrals;

-- 2. Fewer queue indexes. Two give the order (every team; one team) and carry the columns the
--    common filters test (service, status, band), so a filtered page is read from one of them
--    in order and rows that do not match are skipped in the index, before the table is read.
--    The selective filters keep indexes of their own, partial so that a new referral (no
--    worker, no new information) is not written to them at all.
DROP INDEX referrals_queue_idx;
DROP INDEX referrals_queue_team_idx;
DROP INDEX referrals_queue_service_idx;
DROP INDEX referrals_queue_status_idx;
DROP INDEX referrals_queue_band_idx;
DROP INDEX referrals_queue_assignee_idx;
CREATE INDEX referrals_queue_idx ON referrals
    (urgent DESC, queue_news, band_rank, queue_due, received_at, reference, service, status, queue_band);
CREATE INDEX referrals_queue_team_idx ON referrals
    (team, urgent DESC, queue_news, band_rank, queue_due, received_at, reference, service, status, queue_band);
CREATE INDEX referrals_queue_assignee_idx ON referrals
    (assignee, urgent DESC, queue_news, band_rank, queue_due, received_at, reference)
    WHERE assignee IS NOT NULL;
-- Overdue and due today test `queue_due` (storage/queue.rs) inside the partial order index
-- of unmet SLAs, which lists them in order and counts them: the index by due date alone is
-- no longer read.
DROP INDEX referrals_queue_unmet_idx;
