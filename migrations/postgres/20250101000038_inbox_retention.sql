-- Retention of emails that never became a case (issue 15; postgres). Keep in step with the other
-- engine's file of the same name.
--
-- destroyed_at: when the retention schedule (`[retention] inbox` of the definition) destroyed
--               the email's content. The row stays as a tombstone holding only its keyed
--               hashes (message-id and content), so the same message delivered again is still
--               recognised as a duplicate and never ingested twice; every sealed column is
--               emptied or set to NULL.
ALTER TABLE email_intake ADD COLUMN destroyed_at TEXT;
-- The retention pass reads only emails not yet destroyed that were turned down or quarantined.
CREATE INDEX email_intake_retention_idx ON email_intake (status, outcome)
    WHERE destroyed_at IS NULL;
