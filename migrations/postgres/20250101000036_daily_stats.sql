-- Dashboards (issue 17): per-day, per-service counts for managers and auditors, so a
-- dashboard reads a few hundred aggregate rows, never the referrals themselves.
--
-- `daily_stats` holds one count per (service, London day of receipt, dimension, value),
-- e.g. ('secos', '2026-05-12', 'audience', 'professional', 14). Only un-sealed, coded
-- columns are folded (audience, channel, bands, state, outcome, urgent, first contact,
-- assignee id, links) and the anonymous out-of-scope counts: never content.
-- It is filled by the folder (`haven serve` every minute, `haven stats fold|rebuild`),
-- which recomputes whole days touched since its high-water mark: no writer updates it.
CREATE TABLE daily_stats (
    service     TEXT NOT NULL,
    day         TEXT NOT NULL,
    dimension   TEXT NOT NULL,
    value       TEXT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (service, day, dimension, value)
);

-- One row per folder: the time up to which it has folded (its high-water mark).
CREATE TABLE stats_cursors (
    folder      TEXT PRIMARY KEY NOT NULL,
    high_water  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- The folder finds the days to recompute from what changed since its mark, and reads one
-- service's day of referrals at a time.
CREATE INDEX referrals_updated_idx ON referrals (updated_at);
CREATE INDEX referrals_stats_idx ON referrals (service, received_at);
CREATE INDEX outcome_counts_updated_idx ON outcome_counts (updated_at);
CREATE INDEX person_links_decided_idx ON person_links (decided_at);
-- A converted email's referral is stamped with the email's own received time, so the
-- folder finds it by its chronology event instead (only those events are in this index).
CREATE INDEX referral_events_by_email_idx ON referral_events (at) WHERE kind = 'received_by_email';
