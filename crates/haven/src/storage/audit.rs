//! The tamper-evident audit log: every read and write of case data, and every account or
//! token change, as a hash chain.
//!
//! `hash = SHA-256(prev_hash ‖ canonical entry)` where the canonical entry is the JSON array
//! `[seq, at, actor, action, record_type, record_id, reason]`. Editing, removing or
//! reordering an entry breaks its hash, its link or the numbering, which
//! [`Storage::verify_audit_chain`] finds (`haven audit verify`). The table also refuses
//! UPDATE and DELETE (triggers in the migrations).
//!
//! The limit, stated plainly: the hash is unkeyed, so someone who can drop the triggers can
//! also recompute every hash after an edit, or cut entries off the end. What catches that is
//! a checkpoint kept outside the database ([`Storage::audit_tail`], written by
//! `haven audit verify` to the data directory and printed for the operator to record):
//! anything up to the checkpoint that changes, or a log shorter than it, fails verification.

use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};
use tracing::instrument;

use super::{Storage, StorageError, timestamp};
use crate::config::DatabaseKind;
use crate::crypto::sha256_hex;

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One thing that happened, to be appended.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// `user:<id>`, `public`, `cli`, `system`.
    pub actor: String,
    /// `submission.created`, `referral.viewed`, `user.created`, `token.created`, …
    pub action: String,
    /// `referral`, `staff_user`, `api_token`, …
    pub record_type: String,
    pub record_id: Option<String>,
    /// Why, where the person was asked: a short reason code, never case content. The audit
    /// log is not sealed (its hash chain covers the stored text and its rows cannot be
    /// re-wrapped on key rotation), so free text belongs in a sealed column such as the
    /// chronology's `referral_events.reason`.
    pub reason: Option<String>,
}

impl AuditEntry {
    /// An entry about a record.
    pub fn new(
        at: DateTime<Utc>,
        actor: impl Into<String>,
        action: &str,
        record_type: &str,
        record_id: &str,
    ) -> Self {
        Self {
            at,
            actor: actor.into(),
            action: action.to_owned(),
            record_type: record_type.to_owned(),
            record_id: Some(record_id.to_owned()),
            reason: None,
        }
    }
}

/// What [`Storage::verify_audit_chain`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every entry links to the one before; `entries` were checked.
    Intact { entries: u64 },
    /// The first entry whose hash or link is wrong, and what is wrong with it.
    Broken { seq: i64, problem: ChainProblem },
}

/// Why an entry breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainProblem {
    /// Numbering skipped or went back: entries before it were deleted, or it was moved.
    #[error("expected seq {expected} here: entries are missing, reordered or reinserted")]
    Gap { expected: i64 },
    /// It does not name the hash of the entry before it.
    #[error(
        "its prev_hash is not the hash of the entry before it: entries were reordered, replaced or reinserted"
    )]
    BadLink,
    /// Its hash does not cover its own content.
    #[error("its hash does not match its content: the entry was edited")]
    BadHash,
}

/// Entries read per query while verifying, so a long log is never held in memory at once.
const VERIFY_PAGE: i64 = 1000;

fn canonical(seq: i64, at: &str, e: &AuditEntryText<'_>) -> String {
    serde_json::json!([
        seq,
        at,
        e.actor,
        e.action,
        e.record_type,
        e.record_id,
        e.reason
    ])
    .to_string()
}

struct AuditEntryText<'a> {
    actor: &'a str,
    action: &'a str,
    record_type: &'a str,
    record_id: Option<&'a str>,
    reason: Option<&'a str>,
}

fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    sha256_hex(format!("{prev_hash}{canonical}").as_bytes())
}

/// Appends an entry inside the caller's write transaction, so the entry commits (or not)
/// with the change it records.
pub(crate) async fn append_in(
    tx: &mut Transaction<'static, Any>,
    kind: DatabaseKind,
    entry: &AuditEntry,
) -> Result<(), StorageError> {
    if kind == DatabaseKind::Postgres {
        // Serialises appenders across every server on this database until commit, so each
        // entry links to the true last one. SQLite needs nothing: write transactions begin
        // IMMEDIATE and so are already serial.
        sqlx::query("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut **tx)
        .await?;
    let (prev_seq, prev_hash) = match last {
        Some(row) => (row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?),
        None => (0, GENESIS_HASH.to_owned()),
    };
    let seq = prev_seq + 1;
    let at = timestamp(entry.at);
    let text = AuditEntryText {
        actor: &entry.actor,
        action: &entry.action,
        record_type: &entry.record_type,
        record_id: entry.record_id.as_deref(),
        reason: entry.reason.as_deref(),
    };
    let hash = chain_hash(&prev_hash, &canonical(seq, &at, &text));
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, record_type, record_id, reason, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.record_type)
    .bind(entry.record_id.as_deref())
    .bind(entry.reason.as_deref())
    .bind(prev_hash)
    .bind(hash)
    .execute(&mut **tx)
    .await
    .map_err(StorageError::from_write)?;
    Ok(())
}

impl Storage {
    /// Appends one entry in its own transaction.
    #[instrument(skip_all)]
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        append_in(&mut tx, self.kind, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Recomputes the whole chain from the first entry, a page at a time.
    #[instrument(skip_all)]
    pub async fn verify_audit_chain(&self) -> Result<ChainCheck, StorageError> {
        let mut expected_seq = 1_i64;
        let mut expected_prev = GENESIS_HASH.to_owned();
        let mut last_seq = 0_i64;
        loop {
            let rows = sqlx::query(
                "SELECT seq, at, actor, action, record_type, record_id, reason, prev_hash, hash
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(last_seq)
            .bind(VERIFY_PAGE)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq: i64 = row.try_get(0)?;
                let at: String = row.try_get(1)?;
                let actor: String = row.try_get(2)?;
                let action: String = row.try_get(3)?;
                let record_type: String = row.try_get(4)?;
                let record_id: Option<String> = row.try_get(5)?;
                let reason: Option<String> = row.try_get(6)?;
                let prev_hash: String = row.try_get(7)?;
                let hash: String = row.try_get(8)?;
                let text = AuditEntryText {
                    actor: &actor,
                    action: &action,
                    record_type: &record_type,
                    record_id: record_id.as_deref(),
                    reason: reason.as_deref(),
                };
                let problem = if seq != expected_seq {
                    Some(ChainProblem::Gap {
                        expected: expected_seq,
                    })
                } else if prev_hash != expected_prev {
                    Some(ChainProblem::BadLink)
                } else if chain_hash(&prev_hash, &canonical(seq, &at, &text)) != hash {
                    Some(ChainProblem::BadHash)
                } else {
                    None
                };
                if let Some(problem) = problem {
                    return Ok(ChainCheck::Broken { seq, problem });
                }
                expected_seq += 1;
                expected_prev = hash;
                last_seq = seq;
            }
        }
        Ok(ChainCheck::Intact {
            entries: u64::try_from(last_seq).unwrap_or(0),
        })
    }

    /// The last entry's `seq` and hash (`None` for an empty log), to keep outside the
    /// database as a checkpoint.
    #[instrument(skip_all)]
    pub async fn audit_tail(&self) -> Result<Option<(i64, String)>, StorageError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .transpose()
    }

    /// The hash of the entry `seq`, if there is one.
    #[instrument(skip_all)]
    pub async fn audit_hash_at(&self, seq: i64) -> Result<Option<String>, StorageError> {
        let row = sqlx::query("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// The actions recorded about one record, oldest first (for tests and the case page).
    #[instrument(skip_all)]
    pub async fn audit_actions_for(
        &self,
        record_type: &str,
        record_id: &str,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let rows = sqlx::query(
            "SELECT actor, action FROM audit_log WHERE record_type = $1 AND record_id = $2 ORDER BY seq",
        )
        .bind(record_type)
        .bind(record_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }
}
