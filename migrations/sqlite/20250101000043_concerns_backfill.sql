-- Dashboards (issue 17; sqlite). Keep in step with the other engine's file of the same name.
-- Referrals stored before `referrals.concerns` existed have it NULL.
-- `haven serve` fills it in at start-up for the services whose definition names a concern
-- question (at intake such a referral always gets a value, empty when none was chosen), and
-- finds those rows through this partial index: once nothing is missing it is a probe of an
-- index holding only the rows of services without the question.
CREATE INDEX referrals_concerns_missing_idx ON referrals (service, id) WHERE concerns IS NULL;
