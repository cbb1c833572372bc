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
    wrapped     BLOB,
    created_at  TEXT NOT NULL,
    destroyed_at TEXT
);

-- Every sealed column becomes binary. An existing `hv1:` value keeps its bytes (its UTF-8
-- text), which the vault still opens; `haven keys upgrade` re-seals them in the new format.

-- referrals.answers: SQLite cannot change a column's type in place.
ALTER TABLE referrals ADD COLUMN answers_sealed BLOB NOT NULL DEFAULT x'';
UPDATE referrals SET answers_sealed = CAST(answers AS BLOB);
ALTER TABLE referrals DROP COLUMN answers;
ALTER TABLE referrals RENAME COLUMN answers_sealed TO answers;
-- referrals.screening: SQLite cannot change a column's type in place.
ALTER TABLE referrals ADD COLUMN screening_sealed BLOB;
UPDATE referrals SET screening_sealed = CAST(screening AS BLOB);
ALTER TABLE referrals DROP COLUMN screening;
ALTER TABLE referrals RENAME COLUMN screening_sealed TO screening;
-- referral_events.reason: SQLite cannot change a column's type in place.
ALTER TABLE referral_events ADD COLUMN reason_sealed BLOB;
UPDATE referral_events SET reason_sealed = CAST(reason AS BLOB);
ALTER TABLE referral_events DROP COLUMN reason;
ALTER TABLE referral_events RENAME COLUMN reason_sealed TO reason;
-- referral_events.detail: SQLite cannot change a column's type in place.
ALTER TABLE referral_events ADD COLUMN detail_sealed BLOB;
UPDATE referral_events SET detail_sealed = CAST(detail AS BLOB);
ALTER TABLE referral_events DROP COLUMN detail;
ALTER TABLE referral_events RENAME COLUMN detail_sealed TO detail;
-- jobs.payload: SQLite cannot change a column's type in place.
ALTER TABLE jobs ADD COLUMN payload_sealed BLOB NOT NULL DEFAULT x'';
UPDATE jobs SET payload_sealed = CAST(payload AS BLOB);
ALTER TABLE jobs DROP COLUMN payload;
ALTER TABLE jobs RENAME COLUMN payload_sealed TO payload;
-- public_drafts.answers: SQLite cannot change a column's type in place.
ALTER TABLE public_drafts ADD COLUMN answers_sealed BLOB NOT NULL DEFAULT x'';
UPDATE public_drafts SET answers_sealed = CAST(answers AS BLOB);
ALTER TABLE public_drafts DROP COLUMN answers;
ALTER TABLE public_drafts RENAME COLUMN answers_sealed TO answers;
-- case_notes.body: SQLite cannot change a column's type in place.
ALTER TABLE case_notes ADD COLUMN body_sealed BLOB NOT NULL DEFAULT x'';
UPDATE case_notes SET body_sealed = CAST(body AS BLOB);
ALTER TABLE case_notes DROP COLUMN body;
ALTER TABLE case_notes RENAME COLUMN body_sealed TO body;
-- reporter_messages.body: SQLite cannot change a column's type in place.
ALTER TABLE reporter_messages ADD COLUMN body_sealed BLOB NOT NULL DEFAULT x'';
UPDATE reporter_messages SET body_sealed = CAST(body AS BLOB);
ALTER TABLE reporter_messages DROP COLUMN body;
ALTER TABLE reporter_messages RENAME COLUMN body_sealed TO body;
-- staff_users.totp_secret: SQLite cannot change a column's type in place.
ALTER TABLE staff_users ADD COLUMN totp_secret_sealed BLOB;
UPDATE staff_users SET totp_secret_sealed = CAST(totp_secret AS BLOB);
ALTER TABLE staff_users DROP COLUMN totp_secret;
ALTER TABLE staff_users RENAME COLUMN totp_secret_sealed TO totp_secret;
-- staff_sessions.pending_totp_secret: SQLite cannot change a column's type in place.
ALTER TABLE staff_sessions ADD COLUMN pending_totp_secret_sealed BLOB;
UPDATE staff_sessions SET pending_totp_secret_sealed = CAST(pending_totp_secret AS BLOB);
ALTER TABLE staff_sessions DROP COLUMN pending_totp_secret;
ALTER TABLE staff_sessions RENAME COLUMN pending_totp_secret_sealed TO pending_totp_secret;
-- staff_permission_changes.reason: SQLite cannot change a column's type in place.
ALTER TABLE staff_permission_changes ADD COLUMN reason_sealed BLOB NOT NULL DEFAULT x'';
UPDATE staff_permission_changes SET reason_sealed = CAST(reason AS BLOB);
ALTER TABLE staff_permission_changes DROP COLUMN reason;
ALTER TABLE staff_permission_changes RENAME COLUMN reason_sealed TO reason;
-- case_meetings.content: SQLite cannot change a column's type in place.
ALTER TABLE case_meetings ADD COLUMN content_sealed BLOB NOT NULL DEFAULT x'';
UPDATE case_meetings SET content_sealed = CAST(content AS BLOB);
ALTER TABLE case_meetings DROP COLUMN content;
ALTER TABLE case_meetings RENAME COLUMN content_sealed TO content;
-- plan_goals.body: SQLite cannot change a column's type in place.
ALTER TABLE plan_goals ADD COLUMN body_sealed BLOB NOT NULL DEFAULT x'';
UPDATE plan_goals SET body_sealed = CAST(body AS BLOB);
ALTER TABLE plan_goals DROP COLUMN body;
ALTER TABLE plan_goals RENAME COLUMN body_sealed TO body;
-- plan_actions.body: SQLite cannot change a column's type in place.
ALTER TABLE plan_actions ADD COLUMN body_sealed BLOB NOT NULL DEFAULT x'';
UPDATE plan_actions SET body_sealed = CAST(body AS BLOB);
ALTER TABLE plan_actions DROP COLUMN body;
ALTER TABLE plan_actions RENAME COLUMN body_sealed TO body;
-- plan_reviews.summary: SQLite cannot change a column's type in place.
ALTER TABLE plan_reviews ADD COLUMN summary_sealed BLOB NOT NULL DEFAULT x'';
UPDATE plan_reviews SET summary_sealed = CAST(summary AS BLOB);
ALTER TABLE plan_reviews DROP COLUMN summary;
ALTER TABLE plan_reviews RENAME COLUMN summary_sealed TO summary;
-- case_closures.narrative: SQLite cannot change a column's type in place.
ALTER TABLE case_closures ADD COLUMN narrative_sealed BLOB NOT NULL DEFAULT x'';
UPDATE case_closures SET narrative_sealed = CAST(narrative AS BLOB);
ALTER TABLE case_closures DROP COLUMN narrative;
ALTER TABLE case_closures RENAME COLUMN narrative_sealed TO narrative;
-- onward_exports.content: SQLite cannot change a column's type in place.
ALTER TABLE onward_exports ADD COLUMN content_sealed BLOB NOT NULL DEFAULT x'';
UPDATE onward_exports SET content_sealed = CAST(content AS BLOB);
ALTER TABLE onward_exports DROP COLUMN content;
ALTER TABLE onward_exports RENAME COLUMN content_sealed TO content;
-- referral_stages.answers: SQLite cannot change a column's type in place.
ALTER TABLE referral_stages ADD COLUMN answers_sealed BLOB NOT NULL DEFAULT x'';
UPDATE referral_stages SET answers_sealed = CAST(answers AS BLOB);
ALTER TABLE referral_stages DROP COLUMN answers;
ALTER TABLE referral_stages RENAME COLUMN answers_sealed TO answers;
-- onward_referrals.recipient: SQLite cannot change a column's type in place.
ALTER TABLE onward_referrals ADD COLUMN recipient_sealed BLOB NOT NULL DEFAULT x'';
UPDATE onward_referrals SET recipient_sealed = CAST(recipient AS BLOB);
ALTER TABLE onward_referrals DROP COLUMN recipient;
ALTER TABLE onward_referrals RENAME COLUMN recipient_sealed TO recipient;
-- onward_referrals.consent_reason: SQLite cannot change a column's type in place.
ALTER TABLE onward_referrals ADD COLUMN consent_reason_sealed BLOB;
UPDATE onward_referrals SET consent_reason_sealed = CAST(consent_reason AS BLOB);
ALTER TABLE onward_referrals DROP COLUMN consent_reason;
ALTER TABLE onward_referrals RENAME COLUMN consent_reason_sealed TO consent_reason;
-- onward_referrals.notes: SQLite cannot change a column's type in place.
ALTER TABLE onward_referrals ADD COLUMN notes_sealed BLOB;
UPDATE onward_referrals SET notes_sealed = CAST(notes AS BLOB);
ALTER TABLE onward_referrals DROP COLUMN notes;
ALTER TABLE onward_referrals RENAME COLUMN notes_sealed TO notes;

-- public_attachments.content and file_key appear in a CHECK, so SQLite cannot drop them: the
-- table is rebuilt. Its chunks refer to it with ON DELETE CASCADE, so they are set aside first
-- (dropping the old table would otherwise delete every chunk) and put back after.
CREATE TABLE public_attachment_chunks_kept AS
    SELECT attachment_id, seq, last, CAST(data AS BLOB) AS data, created_at
    FROM public_attachment_chunks;
DROP TABLE public_attachment_chunks;
CREATE TABLE public_attachments_v3 (
    id                 TEXT PRIMARY KEY NOT NULL,
    draft_id           TEXT REFERENCES public_drafts (id) ON DELETE CASCADE,
    referral_id        TEXT REFERENCES referrals (id),
    question           TEXT NOT NULL,
    filename           BLOB NOT NULL,
    media_type         TEXT NOT NULL,
    size_bytes         INTEGER NOT NULL,
    content            BLOB,
    file_key           BLOB,
    complete           INTEGER NOT NULL DEFAULT 1,
    upload_service     TEXT,
    upload_expires_at  TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK (draft_id IS NOT NULL OR referral_id IS NOT NULL OR upload_expires_at IS NOT NULL),
    CHECK (content IS NOT NULL OR file_key IS NOT NULL)
);
INSERT INTO public_attachments_v3
    (id, draft_id, referral_id, question, filename, media_type, size_bytes, content, file_key,
     complete, upload_service, upload_expires_at, created_at, updated_at)
SELECT id, draft_id, referral_id, question, CAST(filename AS BLOB), media_type, size_bytes,
       CAST(content AS BLOB), CAST(file_key AS BLOB), complete, upload_service,
       upload_expires_at, created_at, updated_at
FROM public_attachments;
DROP TABLE public_attachments;
ALTER TABLE public_attachments_v3 RENAME TO public_attachments;
CREATE INDEX public_attachments_draft_idx ON public_attachments (draft_id);
CREATE INDEX public_attachments_referral_idx ON public_attachments (referral_id);
CREATE INDEX public_attachments_upload_idx ON public_attachments (upload_expires_at);
CREATE TABLE public_attachment_chunks (
    attachment_id  TEXT NOT NULL REFERENCES public_attachments (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    last           INTEGER NOT NULL,
    data           BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (attachment_id, seq)
);
INSERT INTO public_attachment_chunks (attachment_id, seq, last, data, created_at)
    SELECT attachment_id, seq, last, data, created_at FROM public_attachment_chunks_kept;
DROP TABLE public_attachment_chunks_kept;
