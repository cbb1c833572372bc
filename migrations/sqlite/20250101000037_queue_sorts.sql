-- The staff queue's sortable headings (issue 13): besides its priority order (urgent, new
-- information, band, due date: referrals_queue_team_idx), one team's queue may be listed by
-- the date received or by due date, either way round. Each order is read from an index in
-- order (forwards or backwards), never sorted, with the columns the common filters test
-- (service, status, band) after it so rows that do not match are skipped inside the index.
-- Keyed by team first, as the queue of a member of staff who works one team's cases is
-- read: only that queue offers these orders (web/staff/queue.rs). Keep in step with the
-- other engine's file of the same name.
CREATE INDEX referrals_queue_received_idx ON referrals
    (team, received_at, reference, service, status, queue_band);
CREATE INDEX referrals_queue_due_idx ON referrals
    (team, queue_due, received_at, reference, service, status, queue_band);
