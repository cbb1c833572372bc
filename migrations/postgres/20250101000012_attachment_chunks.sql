-- Attachments sealed in chunks, and uploads through the API (PostgreSQL). Keep in step with
-- migrations/sqlite (same file name, same tables and columns, only the types differ); the
-- columns are explained there.
ALTER TABLE public_attachments ALTER COLUMN content DROP NOT NULL;
ALTER TABLE public_attachments ADD COLUMN file_key TEXT;
ALTER TABLE public_attachments ADD COLUMN complete BIGINT NOT NULL DEFAULT 1;
ALTER TABLE public_attachments ADD COLUMN upload_service TEXT;
ALTER TABLE public_attachments ADD COLUMN upload_expires_at TEXT;
ALTER TABLE public_attachments DROP CONSTRAINT IF EXISTS public_attachments_check;
ALTER TABLE public_attachments ADD CONSTRAINT public_attachments_owner_check
    CHECK (draft_id IS NOT NULL OR referral_id IS NOT NULL OR upload_expires_at IS NOT NULL);
ALTER TABLE public_attachments ADD CONSTRAINT public_attachments_content_check
    CHECK (content IS NOT NULL OR file_key IS NOT NULL);
CREATE INDEX public_attachments_upload_idx ON public_attachments (upload_expires_at);

CREATE TABLE public_attachment_chunks (
    attachment_id  TEXT NOT NULL REFERENCES public_attachments (id) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,
    last           BIGINT NOT NULL,
    data           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (attachment_id, seq)
);
