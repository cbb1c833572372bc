-- The work queue at scale (issue 11), PostgreSQL. Keep in step with migrations/sqlite (same
-- file name, same tables, columns and indexes; only the types and trigger syntax differ).
--
-- 1. The queue's order: urgent first, then new information from the referrer, then the band
--    in the order of the service definition's `bands` (most severe first, the confirmed band
--    over the suggested one), then due date (none last), received, reference. Every key is a
--    column, so an index gives the order and a page is read without sorting the table:
--    * band_rank: 0 for the most severe band of the case's service; computed from the
--      definition (table service_bands, written at start-up) when the referral is stored,
--      when its band is confirmed, and at start-up for rows whose rank is stale;
--    * queue_news, queue_due, queue_band: generated from columns other code writes
--      (new_information_at, due_by, the two bands), so no writer has to keep them in step.
ALTER TABLE referrals ADD COLUMN band_rank BIGINT NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN queue_news BIGINT
    GENERATED ALWAYS AS (CASE WHEN new_information_at IS NULL THEN 1 ELSE 0 END) STORED;
ALTER TABLE referrals ADD COLUMN queue_due TEXT
    GENERATED ALWAYS AS (COALESCE(due_by, '9999-12-31')) STORED;
ALTER TABLE referrals ADD COLUMN queue_band TEXT
    GENERATED ALWAYS AS (COALESCE(confirmed_band, suggested_band)) STORED;

-- Each service's bands, most severe first (rank 0), as its loaded definition says.
CREATE TABLE service_bands (
    service     TEXT NOT NULL,
    band        TEXT NOT NULL,
    band_rank   BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (service, band)
);

-- The old queue indexes sorted by received date only; these replace them. One index per
-- filter, each followed by the whole order, so a filtered page is an index range read in order.
DROP INDEX referrals_team_queue_idx;
DROP INDEX referrals_service_queue_idx;
DROP INDEX referrals_band_idx;
DROP INDEX referrals_due_idx;
DROP INDEX referrals_assignee_idx;
DROP INDEX referrals_queue_order_idx;
DROP INDEX referrals_sla_idx;
CREATE INDEX referrals_queue_idx ON referrals
    (urgent DESC, queue_news, band_rank, queue_due, received_at, reference);
CREATE INDEX referrals_queue_team_idx ON referrals
    (team, urgent DESC, queue_news, band_rank, queue_due, received_at, reference);
CREATE INDEX referrals_queue_service_idx ON referrals
    (service, urgent DESC, queue_news, band_rank, queue_due, received_at, reference);
CREATE INDEX referrals_queue_status_idx ON referrals
    (status, urgent DESC, queue_news, band_rank, queue_due, received_at, reference);
CREATE INDEX referrals_queue_band_idx ON referrals
    (queue_band, urgent DESC, queue_news, band_rank, queue_due, received_at, reference);
CREATE INDEX referrals_queue_assignee_idx ON referrals
    (assignee, urgent DESC, queue_news, band_rank, queue_due, received_at, reference);
-- New information: the few cases holding it, in the queue's order.
CREATE INDEX referrals_queue_news_idx ON referrals
    (queue_news, urgent DESC, band_rank, queue_due, received_at, reference) WHERE queue_news = 0;
-- Overdue and due today: only cases whose SLA is not met (old cases have met theirs), by due
-- date (counts, due today) and in the queue's order (a page of overdue cases).
CREATE INDEX referrals_queue_unmet_idx ON referrals (due_by) WHERE sla_met_at IS NULL;
CREATE INDEX referrals_queue_unmet_order_idx ON referrals
    (urgent DESC, queue_news, band_rank, queue_due, received_at, reference) WHERE sla_met_at IS NULL;
-- plan_overdue: the cases with an open action due before today, found from the actions.
CREATE INDEX plan_actions_open_due_idx ON plan_actions (done, due_on, referral_id);

-- 2. The queue's `total`, exact without counting the table: the number of referrals per
--    combination of the columns the queue filters on, kept by triggers in the transaction of
--    every write to referrals (so no writer can forget it). `shard` (the first hex digit of
--    an unallocated referral's random id; '' once allocated) splits the combinations new
--    referrals land in over 16 rows, so concurrent submissions on PostgreSQL rarely wait for
--    one another's row lock; allocated cases are spread over their workers already. Only counts: no content, no
--    timestamps (a row changes with every write of its combination).
--    Time-dependent filters (overdue, due_today, plan_overdue) are counted from their
--    indexes instead (storage/queue.rs).
CREATE TABLE referral_counts (
    service   TEXT NOT NULL,
    team      TEXT NOT NULL,
    status    TEXT NOT NULL,
    band      TEXT NOT NULL,
    urgent    BIGINT NOT NULL,
    news      BIGINT NOT NULL,
    assignee  TEXT NOT NULL,
    shard     TEXT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (team, service, status, band, urgent, news, assignee, shard)
);

INSERT INTO referral_counts (service, team, status, band, urgent, news, assignee, shard, n)
SELECT service, team, status, COALESCE(confirmed_band, suggested_band, ''), urgent,
       CASE WHEN new_information_at IS NULL THEN 0 ELSE 1 END, COALESCE(assignee, ''),
       CASE WHEN assignee IS NULL THEN substr(id, 1, 1) ELSE '' END, COUNT(*)
FROM referrals
GROUP BY service, team, status, COALESCE(confirmed_band, suggested_band, ''), urgent,
         CASE WHEN new_information_at IS NULL THEN 0 ELSE 1 END, COALESCE(assignee, ''),
         CASE WHEN assignee IS NULL THEN substr(id, 1, 1) ELSE '' END;

CREATE FUNCTION referral_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE referral_counts SET n = n - 1
        WHERE team = OLD.team AND service = OLD.service AND status = OLD.status
          AND band = COALESCE(OLD.confirmed_band, OLD.suggested_band, '') AND urgent = OLD.urgent
          AND news = CASE WHEN OLD.new_information_at IS NULL THEN 0 ELSE 1 END
          AND assignee = COALESCE(OLD.assignee, '') AND shard = CASE WHEN OLD.assignee IS NULL THEN substr(OLD.id, 1, 1) ELSE '' END;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO referral_counts (service, team, status, band, urgent, news, assignee, shard, n)
        VALUES (NEW.service, NEW.team, NEW.status,
                COALESCE(NEW.confirmed_band, NEW.suggested_band, ''), NEW.urgent,
                CASE WHEN NEW.new_information_at IS NULL THEN 0 ELSE 1 END,
                COALESCE(NEW.assignee, ''), CASE WHEN NEW.assignee IS NULL THEN substr(NEW.id, 1, 1) ELSE '' END, 1)
        ON CONFLICT (team, service, status, band, urgent, news, assignee, shard)
        DO UPDATE SET n = referral_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER referral_counts_insert AFTER INSERT ON referrals
    FOR EACH ROW EXECUTE FUNCTION referral_counts_track();

CREATE TRIGGER referral_counts_update
AFTER UPDATE OF service, team, status, suggested_band, confirmed_band, urgent, new_information_at, assignee
ON referrals
FOR EACH ROW
WHEN (OLD.service IS DISTINCT FROM NEW.service OR OLD.team IS DISTINCT FROM NEW.team
   OR OLD.status IS DISTINCT FROM NEW.status
   OR COALESCE(OLD.confirmed_band, OLD.suggested_band, '') IS DISTINCT FROM COALESCE(NEW.confirmed_band, NEW.suggested_band, '')
   OR OLD.urgent IS DISTINCT FROM NEW.urgent
   OR (OLD.new_information_at IS NULL) IS DISTINCT FROM (NEW.new_information_at IS NULL)
   OR COALESCE(OLD.assignee, '') IS DISTINCT FROM COALESCE(NEW.assignee, ''))
EXECUTE FUNCTION referral_counts_track();

CREATE TRIGGER referral_counts_delete AFTER DELETE ON referrals
    FOR EACH ROW EXECUTE FUNCTION referral_counts_track();
