//! Public forms in progress (`public_drafts`) and their attached files (`public_attachments`).
//!
//! A draft belongs to a form session (the keyed hash of the random id in the browser's cookie)
//! and one service. Everything the person typed is one JSON document in `answers`; the other
//! columns are hashes and times, so sealing `answers` (and `content` of attachments) is all
//! encryption at rest has to do here.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::{Row, query};
use tracing::instrument;

use super::{Storage, StorageError, parse_timestamp, timestamp};

/// A draft as read back.
#[derive(Clone)]
pub struct Draft {
    pub id: String,
    /// The whole draft document (stages, audiences, answers, flash).
    pub answers: Value,
    /// When the resume code of "save and come back later" stops working, if one was given.
    pub resume_expires_at: Option<DateTime<Utc>>,
}

// Hand-written: answers must never reach a log line.
impl std::fmt::Debug for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Draft")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A file to attach to a draft. `content` has been checked (type sniffed, size) by the caller.
pub struct NewAttachment<'a> {
    pub id: String,
    pub draft_id: &'a str,
    pub question: &'a str,
    pub filename: &'a str,
    pub media_type: &'a str,
    pub content: &'a [u8],
}

/// What is shown about an attached file (never its content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub id: String,
    pub question: String,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
}

impl Storage {
    /// The live (not expired) draft of this form session for this service.
    #[instrument(skip_all)]
    pub async fn find_draft(
        &self,
        session_hash: &str,
        service: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Draft>, StorageError> {
        let row = query(
            "SELECT id, answers, resume_expires_at FROM public_drafts
             WHERE session_hash = $1 AND service = $2 AND expires_at > $3",
        )
        .bind(session_hash)
        .bind(service)
        .bind(timestamp(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let resume_expires_at = row
            .try_get::<Option<String>, _>(2)?
            .map(|t| parse_timestamp("resume_expires_at", &t))
            .transpose()?;
        let id: String = row.try_get(0)?;
        Ok(Some(Draft {
            answers: self.open_json(
                "public_drafts",
                "answers",
                &id,
                &row.try_get::<Vec<u8>, _>(1)?,
            )?,
            id,
            resume_expires_at,
        }))
    }

    /// Stores the draft document of this form session and service, creating the draft when
    /// there is none (and then deleting expired drafts, opportunistically). The draft lives
    /// `idle` after this change, or until its resume code expires if that is later.
    /// With `previous_session_hash` (the session id was rotated), every draft of that
    /// session first moves to `session_hash`, in the same transaction, so the old id reaches
    /// nothing any more. Returns the draft id.
    #[instrument(skip_all)]
    pub async fn store_draft(
        &self,
        session_hash: &str,
        previous_session_hash: Option<&str>,
        service: &str,
        answers: &Value,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<String, StorageError> {
        let at = timestamp(now);
        let idle_until = timestamp(now + idle);
        let mut purged = 0;
        let mut tx = self.begin_write().await?;
        if let Some(previous) = previous_session_hash {
            query("UPDATE public_drafts SET session_hash = $1, updated_at = $2 WHERE session_hash = $3")
                .bind(session_hash)
                .bind(&at)
                .bind(previous)
                .execute(&mut *tx)
                .await?;
        }
        // A draft that expired but was not deleted yet is replaced, never revived.
        query(
            "DELETE FROM public_drafts WHERE session_hash = $1 AND service = $2 AND expires_at <= $3",
        )
        .bind(session_hash)
        .bind(service)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        let existing =
            query("SELECT id FROM public_drafts WHERE session_hash = $1 AND service = $2")
                .bind(session_hash)
                .bind(service)
                .fetch_optional(&mut *tx)
                .await?;
        let id = match existing {
            Some(row) => {
                let id: String = row.try_get(0)?;
                // Text comparison of fixed-width RFC 3339 timestamps is time comparison.
                query(
                    "UPDATE public_drafts SET answers = $1, updated_at = $2,
                        expires_at = CASE WHEN resume_expires_at IS NOT NULL AND resume_expires_at > $3
                                          THEN resume_expires_at ELSE $3 END
                     WHERE id = $4",
                )
                .bind(self.seal_json("public_drafts", "answers", &id, answers)?)
                .bind(&at)
                .bind(&idle_until)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                let id = crate::crypto::new_id();
                query(
                    "INSERT INTO public_drafts (id, session_hash, service, answers, expires_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&id)
                .bind(session_hash)
                .bind(service)
                .bind(self.seal_json("public_drafts", "answers", &id, answers)?)
                .bind(&idle_until)
                .bind(&at)
                .bind(&at)
                .execute(&mut *tx)
                .await
                .map_err(StorageError::from_write)?;
                purged = delete_expired_in(&mut tx, &at).await?;
                id
            }
        };
        tx.commit().await?;
        if purged > 0 {
            self.give_space_back().await;
        }
        Ok(id)
    }

    /// Gives a draft a resume code (its keyed hash) valid until `expires_at`; the draft is
    /// kept at least that long.
    #[instrument(skip_all)]
    pub async fn set_resume_code(
        &self,
        draft_id: &str,
        resume_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let until = timestamp(expires_at);
        query(
            "UPDATE public_drafts SET resume_hash = $1, resume_expires_at = $2,
                expires_at = CASE WHEN expires_at > $2 THEN expires_at ELSE $2 END, updated_at = $3
             WHERE id = $4",
        )
        .bind(resume_hash)
        .bind(&until)
        .bind(timestamp(self.now()))
        .bind(draft_id)
        .execute(&self.writer)
        .await
        .map_err(StorageError::from_write)?;
        Ok(())
    }

    /// Moves the draft with this resume code (of this service, not expired) to this form
    /// session, replacing the session's own draft of the service. `None` when no live draft
    /// has the code.
    #[instrument(skip_all)]
    pub async fn resume_draft(
        &self,
        resume_hash: &str,
        service: &str,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StorageError> {
        let at = timestamp(now);
        let mut tx = self.begin_write().await?;
        let row = query(
            "SELECT id FROM public_drafts
             WHERE resume_hash = $1 AND service = $2 AND resume_expires_at > $3 AND expires_at > $3",
        )
        .bind(resume_hash)
        .bind(service)
        .bind(&at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: String = row.try_get(0)?;
        query("DELETE FROM public_drafts WHERE session_hash = $1 AND service = $2 AND id <> $3")
            .bind(session_hash)
            .bind(service)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        query("UPDATE public_drafts SET session_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(session_hash)
            .bind(&at)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Ends a form session ("Exit this page"): its drafts without a live resume code are
    /// deleted with their files; a draft saved with a resume code is kept for that code
    /// only, out of the session's reach (its `session_hash` is cleared). Returns how many
    /// drafts were deleted.
    #[instrument(skip_all)]
    pub async fn end_form_session(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let at = timestamp(now);
        let mut tx = self.begin_write().await?;
        query(
            "DELETE FROM public_attachment_chunks WHERE attachment_id IN
                (SELECT a.id FROM public_attachments a JOIN public_drafts d ON d.id = a.draft_id
                 WHERE d.session_hash = $1
                   AND (d.resume_expires_at IS NULL OR d.resume_expires_at <= $2))",
        )
        .bind(session_hash)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        query(
            "DELETE FROM public_attachments WHERE draft_id IN
                (SELECT id FROM public_drafts WHERE session_hash = $1
                   AND (resume_expires_at IS NULL OR resume_expires_at <= $2))",
        )
        .bind(session_hash)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        let deleted = query(
            "DELETE FROM public_drafts WHERE session_hash = $1
               AND (resume_expires_at IS NULL OR resume_expires_at <= $2)",
        )
        .bind(session_hash)
        .bind(&at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        query(
            "UPDATE public_drafts SET session_hash = NULL, updated_at = $2 WHERE session_hash = $1",
        )
        .bind(session_hash)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Deletes every draft (and its unsent attachments) that expired before `now`.
    #[instrument(skip_all)]
    pub async fn delete_expired_drafts(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let mut tx = self.begin_write().await?;
        let deleted = delete_expired_in(&mut tx, &timestamp(now)).await?;
        tx.commit().await?;
        self.give_space_back().await;
        Ok(deleted)
    }

    /// Attaches a checked file to a draft.
    #[instrument(skip_all)]
    pub async fn add_attachment(&self, new: &NewAttachment<'_>) -> Result<(), StorageError> {
        let now = timestamp(self.now());
        let size = i64::try_from(new.content.len()).unwrap_or(i64::MAX);
        query(
            "INSERT INTO public_attachments (id, draft_id, question, filename, media_type, size_bytes, content, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&new.id)
        .bind(new.draft_id)
        .bind(new.question)
        .bind(self.seal_text("public_attachments", "filename", &new.id, new.filename)?)
        .bind(new.media_type)
        .bind(size)
        .bind(self.seal("public_attachments", "content", &new.id, new.content)?)
        .bind(&now)
        .bind(&now)
        .execute(&self.writer)
        .await
        .map_err(StorageError::from_write)?;
        Ok(())
    }

    /// The files attached to a draft, by id.
    #[instrument(skip_all)]
    pub async fn draft_attachments(
        &self,
        draft_id: &str,
    ) -> Result<BTreeMap<String, AttachmentInfo>, StorageError> {
        let rows = query(
            "SELECT id, question, filename, media_type, size_bytes FROM public_attachments
             WHERE draft_id = $1 AND complete = 1",
        )
        .bind(draft_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let info = self.attachment_from_row(None, row)?;
                Ok((info.id.clone(), info))
            })
            .collect()
    }

    /// Deletes the files of a draft's questions `questions` whose ids are not in `keep` (removed
    /// by the person, or left out of the form by a client): what is stored is what the
    /// answers name, so counting stored files is counting attached files.
    #[instrument(skip_all)]
    pub async fn prune_draft_files(
        &self,
        draft_id: &str,
        questions: &[&str],
        keep: &[String],
    ) -> Result<(), StorageError> {
        let attached = self.draft_attachments(draft_id).await?;
        for (id, info) in attached {
            if questions.contains(&info.question.as_str()) && !keep.contains(&id) {
                self.discard_attachment(&id).await?;
            }
        }
        Ok(())
    }

    /// The files of a stored referral (staff pages and tests; never served inline).
    #[instrument(skip_all)]
    pub async fn referral_attachments(
        &self,
        referral_id: &str,
    ) -> Result<Vec<AttachmentInfo>, StorageError> {
        let rows = query(
            "SELECT id, question, filename, media_type, size_bytes FROM public_attachments
             WHERE referral_id = $1 AND complete = 1 ORDER BY created_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        let case = self.case_key(referral_id).await?;
        rows.iter()
            .map(|row| self.attachment_from_row(case.as_ref(), row))
            .collect()
    }
}

/// After a submission, in its transaction: the draft's files named in `keep` move to the
/// referral, its other files (removed or replaced on the way) are deleted, and its resume
/// code stops working.
pub(crate) async fn move_draft_files(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    draft_id: &str,
    referral_id: &str,
    keep: &[String],
    now: &str,
) -> Result<(), StorageError> {
    for id in keep {
        query(
            "UPDATE public_attachments SET referral_id = $1, draft_id = NULL, updated_at = $2
             WHERE id = $3 AND draft_id = $4",
        )
        .bind(referral_id)
        .bind(now)
        .bind(id)
        .bind(draft_id)
        .execute(&mut **tx)
        .await?;
    }
    query(
        "DELETE FROM public_attachment_chunks WHERE attachment_id IN
            (SELECT id FROM public_attachments WHERE draft_id = $1)",
    )
    .bind(draft_id)
    .execute(&mut **tx)
    .await?;
    query("DELETE FROM public_attachments WHERE draft_id = $1")
        .bind(draft_id)
        .execute(&mut **tx)
        .await?;
    query("UPDATE public_drafts SET resume_hash = NULL, resume_expires_at = NULL WHERE id = $1")
        .bind(draft_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Storage {
    /// An attachment's description; its file name is sealed (it may name the child), under
    /// the case's key once the file belongs to a case.
    fn attachment_from_row(
        &self,
        case: Option<&crate::crypto::sealed::CaseKey>,
        row: &sqlx::any::AnyRow,
    ) -> Result<AttachmentInfo, StorageError> {
        let id: String = row.try_get(0)?;
        let filename: Vec<u8> = row.try_get(2)?;
        Ok(AttachmentInfo {
            filename: self.open_text_in_case(
                case,
                "public_attachments",
                "filename",
                &id,
                &filename,
            )?,
            question: row.try_get(1)?,
            media_type: row.try_get(3)?,
            size_bytes: row.try_get(4)?,
            id,
        })
    }
}

/// Deletes drafts that expired before `at`, with their unsent attachments (explicitly, not
/// only by the foreign key's cascade, so it does not depend on SQLite's `foreign_keys`).
async fn delete_expired_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    at: &str,
) -> Result<u64, StorageError> {
    query(
        "DELETE FROM public_attachment_chunks WHERE attachment_id IN
            (SELECT a.id FROM public_attachments a JOIN public_drafts d ON d.id = a.draft_id
             WHERE d.expires_at <= $1)",
    )
    .bind(at)
    .execute(&mut **tx)
    .await?;
    query(
        "DELETE FROM public_attachments WHERE draft_id IN
            (SELECT id FROM public_drafts WHERE expires_at <= $1)",
    )
    .bind(at)
    .execute(&mut **tx)
    .await?;
    super::attachments::delete_expired_uploads_in(tx, at).await?;
    let done = query("DELETE FROM public_drafts WHERE expires_at <= $1")
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}
