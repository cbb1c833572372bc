//! Work on a case beyond triage: notes (`case_notes`), messages with the reporter
//! (`reporter_messages`). Each write adds a chronology event and an audit
//! entry in the same transaction. Note and message text is kept in one `body` column each,
//! so encryption at rest wraps one place; chronology events never copy it.

use chrono::{DateTime, Utc};
use sqlx::{Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::triage::NewEvent;
use super::{Storage, StorageError, parse_timestamp, timestamp};
use crate::crypto;

/// A case note.
#[derive(Clone)]
pub struct Note {
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Note")
            .field("author", &self.author)
            .finish_non_exhaustive()
    }
}

/// Who wrote a reporter message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the team (shown on the follow-up page, without the author).
    ToReporter,
    /// Information the reporter added on the follow-up page.
    FromReporter,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::ToReporter => "to_reporter",
            Direction::FromReporter => "from_reporter",
        }
    }

    fn event_kind(self) -> &'static str {
        match self {
            Direction::ToReporter => "message_to_reporter",
            Direction::FromReporter => "reporter_added_information",
        }
    }
}

/// A message between the team and the reporter.
#[derive(Clone)]
pub struct Message {
    pub direction: Direction,
    /// `user:<id>` for staff, `reporter` for the reporter. Staff-only.
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("direction", &self.direction)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Adds a note to a case.
    #[instrument(skip_all)]
    pub async fn add_note(
        &self,
        referral_id: &str,
        author: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        let case = self.case_key_in(&mut tx, referral_id).await?;
        let id = crypto::new_id();
        query(
            "INSERT INTO case_notes (id, referral_id, author, body, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(referral_id)
        .bind(author)
        .bind(self.seal_text_in_case(&case, "case_notes", "body", &id, body)?)
        .bind(timestamp(at))
        .bind(timestamp(at))
        .execute(&mut *tx)
        .await?;
        self.insert_event(&mut tx, &event(referral_id, at, author, "note_added"))
            .await?;
        let entry = AuditEntry::new(at, author, "referral.note_added", "referral", referral_id);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A case's notes, oldest first.
    #[instrument(skip_all)]
    pub async fn notes(&self, referral_id: &str) -> Result<Vec<Note>, StorageError> {
        let rows = query(
            "SELECT author, body, created_at, id FROM case_notes WHERE referral_id = $1 ORDER BY created_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        let case = self.case_key(referral_id).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(3)?;
                Ok(Note {
                    author: row.try_get(0)?,
                    body: self.open_text_in_case(
                        case.as_ref(),
                        "case_notes",
                        "body",
                        &id,
                        &row.try_get::<Vec<u8>, _>(1)?,
                    )?,
                    created_at: parse_timestamp("created_at", &row.try_get::<String, _>(2)?)?,
                })
            })
            .collect()
    }

    /// Adds a message to or from the reporter, with the email telling the case's worker
    /// (`alert`, a `mail::Notice`) queued in the same transaction.
    #[instrument(skip_all)]
    pub async fn add_message(
        &self,
        referral_id: &str,
        direction: Direction,
        author: &str,
        body: &str,
        at: DateTime<Utc>,
        alert: Option<&serde_json::Value>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        if let Some(payload) = alert {
            self.insert_job(&mut tx, &super::jobs::mail_job(payload, at))
                .await?;
        }
        let case = self.case_key_in(&mut tx, referral_id).await?;
        let id = crypto::new_id();
        query(
            "INSERT INTO reporter_messages (id, referral_id, direction, author, body, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(referral_id)
        .bind(direction.as_str())
        .bind(author)
        .bind(self.seal_text_in_case(&case, "reporter_messages", "body", &id, body)?)
        .bind(timestamp(at))
        .bind(timestamp(at))
        .execute(&mut *tx)
        .await?;
        if direction == Direction::FromReporter {
            mark_new_information(&mut tx, referral_id, at).await?;
        }
        let kind = direction.event_kind();
        self.insert_event(&mut tx, &event(referral_id, at, author, kind))
            .await?;
        let action = format!("referral.{kind}");
        let entry = AuditEntry::new(at, author, &action, "referral", referral_id);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A case's messages with the reporter, oldest first.
    #[instrument(skip_all)]
    pub async fn messages(&self, referral_id: &str) -> Result<Vec<Message>, StorageError> {
        let rows = query(
            "SELECT direction, author, body, created_at, id FROM reporter_messages
             WHERE referral_id = $1 ORDER BY created_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        let case = self.case_key(referral_id).await?;
        rows.iter()
            .map(|row| {
                let direction = match row.try_get::<String, _>(0)?.as_str() {
                    "to_reporter" => Direction::ToReporter,
                    _ => Direction::FromReporter,
                };
                let id: String = row.try_get(4)?;
                Ok(Message {
                    direction,
                    author: row.try_get(1)?,
                    body: self.open_text_in_case(
                        case.as_ref(),
                        "reporter_messages",
                        "body",
                        &id,
                        &row.try_get::<Vec<u8>, _>(2)?,
                    )?,
                    created_at: parse_timestamp("created_at", &row.try_get::<String, _>(3)?)?,
                })
            })
            .collect()
    }

    /// The reference of the referral whose receipt code has this keyed hash.
    #[instrument(skip_all)]
    pub async fn reference_for_receipt(
        &self,
        receipt_hash: &str,
    ) -> Result<Option<String>, StorageError> {
        let row = query("SELECT reference FROM referrals WHERE receipt_hash = $1")
            .bind(receipt_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }
}

/// A chronology event with no free text (the text itself is the sealed note or message).
pub(crate) fn event<'a>(
    referral_id: &'a str,
    at: DateTime<Utc>,
    actor: &'a str,
    kind: &'a str,
) -> NewEvent<'a> {
    NewEvent {
        referral_id,
        at,
        actor,
        kind,
        from_status: None,
        to_status: None,
        reason: None,
        detail: None,
    }
}

/// Marks the case as holding information from the referrer that no one has read yet (kept
/// at the earliest such time until the case file is opened).
pub(crate) async fn mark_new_information(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    referral_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    query(
        "UPDATE referrals SET new_information_at = COALESCE(new_information_at, $1) WHERE id = $2",
    )
    .bind(timestamp(at))
    .bind(referral_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Storage {
    /// Records that `actor` opened the case file of `referral_id` at `at` (the audit entry
    /// `referral.viewed`), and, when they work cases (`reads_for_the_team`), that its new
    /// information has been seen: one write.
    #[instrument(skip_all)]
    pub async fn record_case_view(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        referral_id: &str,
        reads_for_the_team: bool,
    ) -> Result<(), StorageError> {
        let entry = AuditEntry::new(at, actor, "referral.viewed", "referral", referral_id);
        let mut tx = self.begin_write().await?;
        if reads_for_the_team {
            query(
                "UPDATE referrals SET new_information_at = NULL
                 WHERE id = $1 AND new_information_at IS NOT NULL",
            )
            .bind(referral_id)
            .execute(&mut *tx)
            .await?;
        }
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
