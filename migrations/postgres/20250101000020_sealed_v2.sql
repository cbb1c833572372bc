-- The sealed format, version 2 (issue 11; crates/haven/src/crypto/sealed.rs): sealed values are
-- binary, not base64 text, and each case has its own data key in `case_keys`.
--
-- `case_keys` holds one random 256-bit key per referral, wrapped under a master key of the ring
-- (`key_id` names it). Every sealed value of a case is sealed under its case key, so deleting
-- the key (`wrapped` set to NULL: a tombstone, so no new content can be sealed for a destroyed
-- case) makes every copy of the case's values unreadable, backups included. Keep it apart from
-- the data: back this table up on its own schedule (docs/ARCHITECTURE.md, "Encryption at rest").
-- No foreign key to referrals: the key outlives nothing and may be destroyed before the rows.
CREATE TABLE case_keys (
    referral_id TEXT PRIMARY KEY,
    key_id      TEXT,
    wrapped     BYTEA,
    created_at  TEXT NOT NULL,
    destroyed_at TEXT
);

-- Every sealed column becomes binary. An existing `hv1:` value keeps its bytes (its UTF-8
-- text), which the vault still opens; `haven keys upgrade` re-seals them in the new format.

ALTER TABLE referrals ALTER COLUMN answers TYPE BYTEA USING convert_to(answers, 'UTF8');
ALTER TABLE referrals ALTER COLUMN screening TYPE BYTEA USING convert_to(screening, 'UTF8');
ALTER TABLE referral_events ALTER COLUMN reason TYPE BYTEA USING convert_to(reason, 'UTF8');
ALTER TABLE referral_events ALTER COLUMN detail TYPE BYTEA USING convert_to(detail, 'UTF8');
ALTER TABLE jobs ALTER COLUMN payload TYPE BYTEA USING convert_to(payload, 'UTF8');
ALTER TABLE public_drafts ALTER COLUMN answers TYPE BYTEA USING convert_to(answers, 'UTF8');
ALTER TABLE public_attachments ALTER COLUMN filename TYPE BYTEA USING convert_to(filename, 'UTF8');
ALTER TABLE public_attachments ALTER COLUMN content TYPE BYTEA USING convert_to(content, 'UTF8');
ALTER TABLE public_attachments ALTER COLUMN file_key TYPE BYTEA USING convert_to(file_key, 'UTF8');
ALTER TABLE case_notes ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');
ALTER TABLE reporter_messages ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');
ALTER TABLE staff_users ALTER COLUMN totp_secret TYPE BYTEA USING convert_to(totp_secret, 'UTF8');
ALTER TABLE staff_sessions ALTER COLUMN pending_totp_secret TYPE BYTEA USING convert_to(pending_totp_secret, 'UTF8');
ALTER TABLE staff_permission_changes ALTER COLUMN reason TYPE BYTEA USING convert_to(reason, 'UTF8');
ALTER TABLE case_meetings ALTER COLUMN content TYPE BYTEA USING convert_to(content, 'UTF8');
ALTER TABLE plan_goals ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');
ALTER TABLE plan_actions ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');
ALTER TABLE plan_reviews ALTER COLUMN summary TYPE BYTEA USING convert_to(summary, 'UTF8');
ALTER TABLE case_closures ALTER COLUMN narrative TYPE BYTEA USING convert_to(narrative, 'UTF8');
ALTER TABLE onward_exports ALTER COLUMN content TYPE BYTEA USING convert_to(content, 'UTF8');
ALTER TABLE referral_stages ALTER COLUMN answers TYPE BYTEA USING convert_to(answers, 'UTF8');
ALTER TABLE onward_referrals ALTER COLUMN recipient TYPE BYTEA USING convert_to(recipient, 'UTF8');
ALTER TABLE onward_referrals ALTER COLUMN consent_reason TYPE BYTEA USING convert_to(consent_reason, 'UTF8');
ALTER TABLE onward_referrals ALTER COLUMN notes TYPE BYTEA USING convert_to(notes, 'UTF8');
ALTER TABLE public_attachment_chunks ALTER COLUMN data TYPE BYTEA USING convert_to(data, 'UTF8');
