-- Attachments sealed in chunks, and uploads through the API (SQLite). Keep in step with
-- migrations/postgres (same file name, same tables and columns, only the types differ).
--
-- public_attachments gains:
--   * file_key: the file's data key, sealed like any value (storage/vault.rs re-wraps it on
--     rotation); the content is then in public_attachment_chunks, and `content` is NULL.
--     Files stored before this migration keep `content` (one sealed value) and no file_key.
--   * complete: 0 while an upload is being streamed in, 1 once its last chunk is stored
--     (a half-stored file is never listed, counted as attached or moved to a referral).
--   * upload_service, upload_expires_at: a file uploaded through POST /api/v1/attachments,
--     not yet named by a submission: usable by that service's submissions until then.
-- SQLite cannot drop a NOT NULL or a CHECK in place, so the table is rebuilt.
CREATE TABLE public_attachments_v2 (
    id                 TEXT PRIMARY KEY NOT NULL,
    draft_id           TEXT REFERENCES public_drafts (id) ON DELETE CASCADE,
    referral_id        TEXT REFERENCES referrals (id),
    question           TEXT NOT NULL,
    filename           TEXT NOT NULL,
    media_type         TEXT NOT NULL,
    size_bytes         INTEGER NOT NULL,
    content            TEXT,
    file_key           TEXT,
    complete           INTEGER NOT NULL DEFAULT 1,
    upload_service     TEXT,
    upload_expires_at  TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK (draft_id IS NOT NULL OR referral_id IS NOT NULL OR upload_expires_at IS NOT NULL),
    CHECK (content IS NOT NULL OR file_key IS NOT NULL)
);
INSERT INTO public_attachments_v2
    (id, draft_id, referral_id, question, filename, media_type, size_bytes, content,
     created_at, updated_at)
SELECT id, draft_id, referral_id, question, filename, media_type, size_bytes, content,
       created_at, updated_at
FROM public_attachments;
DROP TABLE public_attachments;
ALTER TABLE public_attachments_v2 RENAME TO public_attachments;
CREATE INDEX public_attachments_draft_idx ON public_attachments (draft_id);
CREATE INDEX public_attachments_referral_idx ON public_attachments (referral_id);
CREATE INDEX public_attachments_upload_idx ON public_attachments (upload_expires_at);

-- The chunks of a chunked attachment, in order: each `seq` (0, 1, …) holds up to 64 KiB of
-- the file sealed under the file's key, with the attachment id, `seq` and `last` in its
-- associated data (crypto/stream.rs), so chunks cannot be moved, reordered, dropped or cut.
CREATE TABLE public_attachment_chunks (
    attachment_id  TEXT NOT NULL REFERENCES public_attachments (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    last           INTEGER NOT NULL,
    data           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (attachment_id, seq)
);
