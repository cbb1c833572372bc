//! Referrals and their chronology (`referrals`, `referral_events`).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::{Storage, StorageError, flag, parse_timestamp, timestamp};

/// A referral to be stored. Everything the reporter wrote is in `answers`.
#[derive(Clone)]
pub struct NewReferral<'a> {
    pub id: String,
    pub reference: String,
    pub service: &'a str,
    pub stage: &'a str,
    pub audience: &'a str,
    pub status: &'a str,
    pub team: &'a str,
    pub received_at: DateTime<Utc>,
    pub urgent: bool,
    pub suggested_band: Option<&'a str>,
    pub in_scope: Option<bool>,
    pub eligible: Option<bool>,
    pub rules_version: Option<&'a str>,
    pub due_by: Option<NaiveDate>,
    pub answers: &'a Value,
    pub screening: Option<&'a Value>,
    /// HMAC of the receipt code (never the code).
    pub receipt_hash: String,
    /// Who submitted it, for the chronology and audit log (`public`, `user:<id>`).
    pub actor: &'a str,
}

// Hand-written so answers and the receipt hash never reach a log line.
impl std::fmt::Debug for NewReferral<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewReferral")
            .field("reference", &self.reference)
            .field("service", &self.service)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// A stored referral.
#[derive(Clone)]
pub struct Referral {
    pub id: String,
    pub reference: String,
    pub service: String,
    pub stage: String,
    pub audience: String,
    pub status: String,
    pub team: String,
    pub received_at: DateTime<Utc>,
    pub urgent: bool,
    pub suggested_band: Option<String>,
    pub confirmed_band: Option<String>,
    pub in_scope: Option<bool>,
    pub eligible: Option<bool>,
    pub rules_version: Option<String>,
    pub due_by: Option<NaiveDate>,
    pub assignee: Option<String>,
    pub answers: Value,
    pub screening: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Referral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Referral")
            .field("reference", &self.reference)
            .field("service", &self.service)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// One entry of a referral's chronology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralEvent {
    /// `received`, `transition`, …
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
}

/// The columns [`referral_from_row`] reads, in its order. A macro so queries stay
/// `&'static str` literals (`concat!`), as the Any driver wants.
macro_rules! referral_columns {
    () => {
        "id, reference, service, stage, audience, status, team, received_at, urgent, \
         suggested_band, confirmed_band, in_scope, eligible, rules_version, due_by, assignee, \
         answers, screening, created_at, updated_at"
    };
}

impl Storage {
    /// Stores a new referral with its first chronology event (`received`) and an audit entry
    /// (`submission.created`), all in one transaction.
    ///
    /// Returns [`StorageError::Conflict`] when the reference (or id, or receipt hash) is
    /// already taken; the caller draws new ones and retries.
    #[instrument(skip_all)]
    pub async fn create_referral(&self, new: &NewReferral<'_>) -> Result<(), StorageError> {
        let now = timestamp(Utc::now());
        // Sealed before the transaction: plaintext never reaches the database.
        let answers = self.seal_json("referrals", "answers", &new.id, new.answers)?;
        let screening = new
            .screening
            .map(|s| self.seal_json("referrals", "screening", &new.id, s))
            .transpose()?;
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO referrals (id, reference, service, stage, audience, status, team, received_at,
                urgent, suggested_band, in_scope, eligible, rules_version, due_by, answers, screening,
                receipt_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(&new.id)
        .bind(&new.reference)
        .bind(new.service)
        .bind(new.stage)
        .bind(new.audience)
        .bind(new.status)
        .bind(new.team)
        .bind(timestamp(new.received_at))
        .bind(flag(new.urgent))
        .bind(new.suggested_band)
        .bind(new.in_scope.map(flag))
        .bind(new.eligible.map(flag))
        .bind(new.rules_version)
        .bind(new.due_by.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(answers)
        .bind(screening)
        .bind(&new.receipt_hash)
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from_write)?;
        query(
            "INSERT INTO referral_events (referral_id, at, actor, kind, from_status, to_status)
             VALUES ($1, $2, $3, 'received', NULL, $4)",
        )
        .bind(&new.id)
        .bind(timestamp(new.received_at))
        .bind(new.actor)
        .bind(new.status)
        .execute(&mut *tx)
        .await?;
        let entry = AuditEntry::new(
            new.received_at,
            new.actor,
            "submission.created",
            "referral",
            &new.id,
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The referral with this reference.
    #[instrument(skip_all)]
    pub async fn find_referral(&self, reference: &str) -> Result<Option<Referral>, StorageError> {
        let row = query(concat!(
            "SELECT ",
            referral_columns!(),
            " FROM referrals WHERE reference = $1"
        ))
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|row| referral_from_row(self, row))
            .transpose()
    }

    /// The chronology of a referral, oldest first.
    #[instrument(skip_all)]
    pub async fn referral_events(
        &self,
        referral_id: &str,
    ) -> Result<Vec<ReferralEvent>, StorageError> {
        let rows = query(
            "SELECT kind, from_status, to_status FROM referral_events WHERE referral_id = $1 ORDER BY at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReferralEvent {
                    kind: row.try_get(0)?,
                    from_status: row.try_get(1)?,
                    to_status: row.try_get(2)?,
                })
            })
            .collect()
    }
}

/// Reads a referral row, opening its sealed columns.
fn referral_from_row(storage: &Storage, row: &AnyRow) -> Result<Referral, StorageError> {
    let id: String = row.try_get(0)?;
    let optional_flag = |i: usize| -> Result<Option<bool>, StorageError> {
        Ok(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0))
    };
    let due_by = row
        .try_get::<Option<String>, _>(14)?
        .map(|text| {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| StorageError::Corrupt {
                column: "due_by",
                reason: e.to_string(),
            })
        })
        .transpose()?;
    let screening = row
        .try_get::<Option<String>, _>(17)?
        .map(|text| storage.open_json("referrals", "screening", &id, &text))
        .transpose()?;
    let answers = storage.open_json("referrals", "answers", &id, &row.try_get::<String, _>(16)?)?;
    Ok(Referral {
        id,
        reference: row.try_get(1)?,
        service: row.try_get(2)?,
        stage: row.try_get(3)?,
        audience: row.try_get(4)?,
        status: row.try_get(5)?,
        team: row.try_get(6)?,
        received_at: parse_timestamp("received_at", &row.try_get::<String, _>(7)?)?,
        urgent: row.try_get::<i64, _>(8)? != 0,
        suggested_band: row.try_get(9)?,
        confirmed_band: row.try_get(10)?,
        in_scope: optional_flag(11)?,
        eligible: optional_flag(12)?,
        rules_version: row.try_get(13)?,
        due_by,
        assignee: row.try_get(15)?,
        answers,
        screening,
        created_at: parse_timestamp("created_at", &row.try_get::<String, _>(18)?)?,
        updated_at: parse_timestamp("updated_at", &row.try_get::<String, _>(19)?)?,
    })
}
