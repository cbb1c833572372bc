//! Onward referrals of a case (`onward_referrals`) and the audit of their documents.
//!
//! Recording one adds a chronology event and an audit entry in the same transaction, and can
//! mark the required action it fulfils done (another event). The recipient, the reason
//! consent was not sought and the notes are sealed.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{Row, query};
use tracing::instrument;
use zeroize::Zeroizing;

use super::audit::{AuditEntry, append_in};
use super::triage::NewEvent;
use super::{Storage, StorageError, flag, parse_date, parse_timestamp, timestamp};
use crate::crypto;

/// A document about to be handed over.
pub struct NewExport<'a> {
    pub referral_id: &'a str,
    pub onward_referral_id: &'a str,
    /// `pdf` or `docx`.
    pub format: &'a str,
    pub content: &'a [u8],
}

/// A file handed over for an onward referral (its bytes are read separately).
#[derive(Debug, Clone)]
pub struct Export {
    pub id: String,
    pub onward_referral_id: String,
    /// `pdf` or `docx`.
    pub format: String,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// `user:<id>` of whoever took it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A file handed over, with its bytes.
pub type ExportCopy = (Export, Zeroizing<Vec<u8>>);

pub(crate) fn export_from_row(row: &sqlx::any::AnyRow) -> Result<Export, StorageError> {
    Ok(Export {
        id: row.try_get(0)?,
        onward_referral_id: row.try_get(1)?,
        format: row.try_get(2)?,
        sha256: row.try_get(3)?,
        created_by: row.try_get(4)?,
        created_at: parse_timestamp("onward_exports.created_at", &row.try_get::<String, _>(5)?)?,
    })
}

/// An onward referral as recorded.
#[derive(Clone)]
pub struct OnwardReferral {
    pub id: String,
    pub referral_id: String,
    /// The definition's onward referral kind.
    pub kind: String,
    /// The required action it fulfils, if any.
    pub action_key: Option<String>,
    pub recipient: String,
    /// Key of one of the kind's lawful bases.
    pub lawful_basis: String,
    pub consent_sought: bool,
    /// Why consent was not sought (required when it was not).
    pub consent_reason: Option<String>,
    pub sent_on: NaiveDate,
    /// `user:<id>` of whoever recorded it.
    pub actor: String,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for OnwardReferral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnwardReferral")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// An onward referral to record.
pub struct NewOnwardReferral<'a> {
    pub referral_id: &'a str,
    pub kind: &'a str,
    pub action_key: Option<&'a str>,
    pub recipient: &'a str,
    pub lawful_basis: &'a str,
    pub consent_sought: bool,
    pub consent_reason: Option<&'a str>,
    pub sent_on: NaiveDate,
    pub notes: Option<&'a str>,
    /// Also mark `action_key` done.
    pub mark_action_done: bool,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

const TABLE: &str = "onward_referrals";

impl Storage {
    /// Records an onward referral; returns its id.
    #[instrument(skip_all)]
    pub async fn record_onward_referral(
        &self,
        new: &NewOnwardReferral<'_>,
    ) -> Result<String, StorageError> {
        let id = crypto::new_id();
        let at = timestamp(new.at);
        let case = self.case_key_for_write(new.referral_id).await?;
        let recipient = self.seal_text_in_case(&case, TABLE, "recipient", &id, new.recipient)?;
        let reason = new
            .consent_reason
            .map(|r| self.seal_text_in_case(&case, TABLE, "consent_reason", &id, r))
            .transpose()?;
        let notes = new
            .notes
            .map(|n| self.seal_text_in_case(&case, TABLE, "notes", &id, n))
            .transpose()?;
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO onward_referrals (id, referral_id, kind, action_key, recipient,
                lawful_basis, consent_sought, consent_reason, sent_on, actor, notes,
                created_at, updated_at, service, team)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                (SELECT service FROM referrals WHERE id = $2),
                (SELECT team FROM referrals WHERE id = $2))",
        )
        .bind(&id)
        .bind(new.referral_id)
        .bind(new.kind)
        .bind(new.action_key)
        .bind(recipient)
        .bind(new.lawful_basis)
        .bind(flag(new.consent_sought))
        .bind(reason)
        .bind(new.sent_on.format("%Y-%m-%d").to_string())
        .bind(new.actor)
        .bind(notes)
        .bind(&at)
        .bind(&at)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        self.insert_event(
            &mut tx,
            &NewEvent {
                referral_id: new.referral_id,
                at: new.at,
                actor: new.actor,
                kind: "onward_referral_recorded",
                from_status: None,
                to_status: None,
                reason: None,
                detail: Some(json!({ "onward_referral": id, "kind": new.kind })),
            },
        )
        .await?;
        if let (Some(action), true) = (new.action_key, new.mark_action_done) {
            query("DELETE FROM referral_actions WHERE referral_id = $1 AND action_key = $2")
                .bind(new.referral_id)
                .bind(action)
                .execute(&mut *tx)
                .await?;
            query(
                "INSERT INTO referral_actions (referral_id, action_key, status, actor, created_at, updated_at)
                 VALUES ($1, $2, 'done', $3, $4, $5)",
            )
            .bind(new.referral_id)
            .bind(action)
            .bind(new.actor)
            .bind(&at)
            .bind(&at)
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from_write)?;
            self.insert_event(
                &mut tx,
                &NewEvent {
                    referral_id: new.referral_id,
                    at: new.at,
                    actor: new.actor,
                    kind: "action_done",
                    from_status: None,
                    to_status: None,
                    reason: None,
                    detail: Some(json!({ "action": action, "onward_referral": id })),
                },
            )
            .await?;
            let entry = AuditEntry::new(
                new.at,
                new.actor,
                "referral.action",
                "referral",
                new.referral_id,
            );
            append_in(&mut tx, &self.audit, &entry).await?;
        }
        let entry = AuditEntry::new(
            new.at,
            new.actor,
            "referral.onward_referral_recorded",
            "referral",
            new.referral_id,
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The onward referrals of a case, oldest first.
    #[instrument(skip_all)]
    pub async fn onward_referrals(
        &self,
        referral_id: &str,
    ) -> Result<Vec<OnwardReferral>, StorageError> {
        let rows = query(
            "SELECT id, referral_id, kind, action_key, recipient, lawful_basis, consent_sought,
                    consent_reason, sent_on, actor, notes, created_at
             FROM onward_referrals WHERE referral_id = $1 ORDER BY created_at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        let case = self.case_key(referral_id).await?;
        let case = case.as_ref();
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0)?;
                let open = |column: &'static str, value: Option<Vec<u8>>| {
                    value
                        .map(|v| self.open_text_in_case(case, TABLE, column, &id, &v))
                        .transpose()
                };
                Ok(OnwardReferral {
                    referral_id: row.try_get(1)?,
                    kind: row.try_get(2)?,
                    action_key: row.try_get(3)?,
                    recipient: self.open_text_in_case(
                        case,
                        TABLE,
                        "recipient",
                        &id,
                        &row.try_get::<Vec<u8>, _>(4)?,
                    )?,
                    lawful_basis: row.try_get(5)?,
                    consent_sought: row.try_get::<i64, _>(6)? != 0,
                    consent_reason: open("consent_reason", row.try_get(7)?)?,
                    sent_on: parse_date(&row.try_get::<String, _>(8)?)?,
                    actor: row.try_get(9)?,
                    notes: open("notes", row.try_get(10)?)?,
                    created_at: parse_timestamp(
                        "onward_referrals.created_at",
                        &row.try_get::<String, _>(11)?,
                    )?,
                    id,
                })
            })
            .collect()
    }

    /// Records that a document of an onward referral was generated and handed to a member of
    /// staff (an export), keeping the file itself (sealed) so the case can show later exactly
    /// what went out: the file, a chronology event and an audit entry carrying its SHA-256, in
    /// one transaction. Returns the export's id.
    #[instrument(skip_all)]
    pub async fn record_document_export(
        &self,
        export: &NewExport<'_>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<String, StorageError> {
        let id = crypto::new_id();
        let sha256 = hex::encode(Sha256::digest(export.content));
        let case = self.case_key_for_write(export.referral_id).await?;
        let sealed = self.seal_in_case(&case, "onward_exports", "content", &id, export.content)?;
        let stamp = timestamp(at);
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO onward_exports (id, referral_id, onward_referral_id, format, sha256,
                content, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(export.referral_id)
        .bind(export.onward_referral_id)
        .bind(export.format)
        .bind(&sha256)
        .bind(sealed)
        .bind(actor)
        .bind(&stamp)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        self.insert_event(
            &mut tx,
            &NewEvent {
                referral_id: export.referral_id,
                at,
                actor,
                kind: "document_exported",
                from_status: None,
                to_status: None,
                reason: None,
                detail: Some(json!({
                    "onward_referral": export.onward_referral_id,
                    "format": export.format,
                    "sha256": sha256,
                    "export": id,
                })),
            },
        )
        .await?;
        // The digest, in the hash-chained audit log, shows later exactly which file went out.
        let what = format!("onward_document:{}:sha256:{sha256}", export.format);
        let entry = AuditEntry::export(at, actor, export.referral_id, &what);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The files handed over for the onward referrals of a case, oldest first (no content).
    #[instrument(skip_all)]
    pub async fn onward_exports(&self, referral_id: &str) -> Result<Vec<Export>, StorageError> {
        let rows = query(
            "SELECT id, onward_referral_id, format, sha256, created_by, created_at
             FROM onward_exports WHERE referral_id = $1 ORDER BY created_at, id",
        )
        .bind(referral_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(export_from_row).collect()
    }

    /// The bytes of one file handed over for a case (`None` when it is not this case's),
    /// with no audit entry: for a caller that audits the export it is part of (a subject
    /// access release's bundle, `subject_access.downloaded`).
    #[instrument(skip_all)]
    pub async fn onward_export_content(
        &self,
        referral_id: &str,
        export_id: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StorageError> {
        let row = query("SELECT content FROM onward_exports WHERE id = $1 AND referral_id = $2")
            .bind(export_id)
            .bind(referral_id)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let stored: Vec<u8> = row.try_get(0)?;
        let case = self.case_key(referral_id).await?;
        Ok(Some(self.open_in_case(
            case.as_ref(),
            "onward_exports",
            "content",
            export_id,
            &stored,
        )?))
    }

    /// One file handed over, with its bytes, if it belongs to this case's onward referral.
    /// Reading it again is itself an export: the chronology and the audit log record it.
    #[instrument(skip_all)]
    pub async fn take_export_copy(
        &self,
        referral_id: &str,
        onward_referral_id: &str,
        export_id: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ExportCopy>, StorageError> {
        let row = query(
            "SELECT id, onward_referral_id, format, sha256, created_by, created_at, content
             FROM onward_exports WHERE id = $1 AND referral_id = $2 AND onward_referral_id = $3",
        )
        .bind(export_id)
        .bind(referral_id)
        .bind(onward_referral_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let export = export_from_row(&row)?;
        let stored: Vec<u8> = row.try_get(6)?;
        let case = self.case_key(referral_id).await?;
        let content = self.open_in_case(
            case.as_ref(),
            "onward_exports",
            "content",
            &export.id,
            &stored,
        )?;
        let mut tx = self.begin_write().await?;
        self.insert_event(
            &mut tx,
            &NewEvent {
                referral_id,
                at,
                actor,
                kind: "document_copy_downloaded",
                from_status: None,
                to_status: None,
                reason: None,
                detail: Some(json!({
                    "onward_referral": onward_referral_id,
                    "format": export.format,
                    "sha256": export.sha256,
                    "export": export.id,
                })),
            },
        )
        .await?;
        let what = format!(
            "onward_document_copy:{}:sha256:{}",
            export.format, export.sha256
        );
        let entry = AuditEntry::export(at, actor, referral_id, &what);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(Some((export, content)))
    }
}
