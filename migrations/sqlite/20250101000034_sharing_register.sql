-- The information-sharing register (issue 17): every onward referral of a service listed,
-- filtered by service, kind, lawful basis, consent and the date sent, a page at a time,
-- newest first. Each row carries its case's service and team (copied from `referrals`,
-- which never change them) so the register reads one index range per team
-- (`onward_referrals_team_sent_idx`) and, for roles of every team, one over the date sent
-- (`onward_referrals_sent_idx`), never the whole table nor a join to filter.
ALTER TABLE onward_referrals ADD COLUMN service TEXT NOT NULL DEFAULT '';
ALTER TABLE onward_referrals ADD COLUMN team TEXT NOT NULL DEFAULT '';
UPDATE onward_referrals
   SET service = (SELECT r.service FROM referrals r WHERE r.id = onward_referrals.referral_id),
       team = (SELECT r.team FROM referrals r WHERE r.id = onward_referrals.referral_id);
CREATE INDEX onward_referrals_team_sent_idx
    ON onward_referrals (team, sent_on, created_at, id);
CREATE INDEX onward_referrals_sent_idx ON onward_referrals (sent_on, created_at, id);
