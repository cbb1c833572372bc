-- Dashboards (issue 17; sqlite). Keep in step with the other engine's file of the same name.
-- Referrals stored before `referrals.concerns` existed have it NULL.
-- `haven serve` fills it in at start-up for the services whose definition names a concern
-- question (at intake such a referral always gets a value, empty when none was chosen), and
-- finds those rows through this partial index: once nothing is missing it is a probe of an
-- index holding only the rows of services without the question.
CREATE INDEX referrals_concerns_missing_idx ON referrals (service, id) WHERE concerns IS NULL;

-- What destroyed cases contributed to the dashboards: when retention destroys a case, its
-- counts (the same anonymous (service, day, dimension, value) counts the fold makes, no
-- reference, no content) are added here in the destruction's transaction, and every fold of
-- that day adds them back, so a year's figures do not shrink when its cases are destroyed,
-- nor when a day is folded again (`haven stats rebuild` keeps this table).
CREATE TABLE stats_retired (
    service     TEXT NOT NULL,
    day         TEXT NOT NULL,
    dimension   TEXT NOT NULL,
    value       TEXT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (service, day, dimension, value)
);
