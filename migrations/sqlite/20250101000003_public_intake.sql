-- Public intake in the browser (SQLite). Keep in step with migrations/postgres (same file name,
-- same tables and columns, only the types differ). Conventions as in the foundation migration:
-- TEXT RFC 3339 UTC timestamps, INTEGER 0/1 booleans, TEXT JSON, random TEXT ids.

-- Answers in progress between public pages, one row per form session and service.
-- Everything the person typed (every stage's audience and answers, and the one-time flash of a
-- reference, receipt or resume code) is in the single JSON column `answers`, so encryption at
-- rest seals that one column (storage/vault.rs). The other columns hold no content:
--   * session_hash: keyed hash of the random form-session id in the browser's cookie (the id
--     itself is never stored), NULL once the session is detached;
--   * resume_hash: keyed hash of the resume code of "save and come back later" (NULL until
--     saved), valid until resume_expires_at;
--   * expires_at: when the draft may be deleted (24 hours after its last change, or the resume
--     code's expiry if later). Expired drafts are deleted opportunistically.
CREATE TABLE public_drafts (
    id                 TEXT PRIMARY KEY NOT NULL,
    session_hash       TEXT,
    service            TEXT NOT NULL,
    answers            TEXT NOT NULL,
    resume_hash        TEXT UNIQUE,
    resume_expires_at  TEXT,
    expires_at         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (session_hash, service)
);
CREATE INDEX public_drafts_expiry_idx ON public_drafts (expires_at);

-- Files attached to a draft (SECOS assessments, the risk tool), then to the referral made from
-- it. The file is in one column, `content`, sealed like `answers` (hence TEXT); `filename` is
-- sanitised and sealed too (it may name the child); `media_type` is what the content was
-- sniffed as (never the browser's word).
-- A file is linked to a draft (draft_id) until the referral is stored, then to the referral.
CREATE TABLE public_attachments (
    id           TEXT PRIMARY KEY NOT NULL,
    draft_id     TEXT REFERENCES public_drafts (id) ON DELETE CASCADE,
    referral_id  TEXT REFERENCES referrals (id),
    question     TEXT NOT NULL,
    filename     TEXT NOT NULL,
    media_type   TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    content      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CHECK (draft_id IS NOT NULL OR referral_id IS NOT NULL)
);
CREATE INDEX public_attachments_draft_idx ON public_attachments (draft_id);
CREATE INDEX public_attachments_referral_idx ON public_attachments (referral_id);
