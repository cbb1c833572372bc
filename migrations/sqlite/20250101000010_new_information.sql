-- New information from the referrer (issue 6 item 6): set when the referrer adds to a case
-- (a follow-up message, or an invited stage such as the detailed referral), cleared when a
-- member of the team who works cases (triage, caseworker, manager) opens the case file. The
-- queue marks such cases and lists them right after urgent ones, so nothing a child or a
-- referrer adds waits unseen.
ALTER TABLE referrals ADD COLUMN new_information_at TEXT;
CREATE INDEX referrals_new_information_idx ON referrals (new_information_at)
    WHERE new_information_at IS NOT NULL;
