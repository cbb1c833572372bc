-- The staff inbox of email intake items (issue 15; postgres). Keep in step with the other engine's
-- file of the same name.
--
-- answers:        the item's answers as a person completed them on the inbox's form (sealed,
--                 like every value of the item; NULL until first saved: the page then reads
--                 the Word form again).
-- referral_id:    the case it became (status converted).
-- rejected_as:    'rejected' or 'not_a_referral' (status rejected).
-- decision_reason: why it was rejected or not a referral (sealed).
-- decided_by, decided_at: who converted or rejected it, and when.
ALTER TABLE email_intake ADD COLUMN answers BYTEA;
ALTER TABLE email_intake ADD COLUMN referral_id TEXT;
ALTER TABLE email_intake ADD COLUMN rejected_as TEXT;
ALTER TABLE email_intake ADD COLUMN decision_reason BYTEA;
ALTER TABLE email_intake ADD COLUMN decided_by TEXT;
ALTER TABLE email_intake ADD COLUMN decided_at TEXT;
