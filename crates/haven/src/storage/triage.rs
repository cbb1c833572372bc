//! Triage writes on a referral: band confirmation and workflow transitions, each with its
//! chronology event and audit entry in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::{Storage, StorageError, parse_timestamp, timestamp};

/// A chronology entry as staff see it.
#[derive(Debug, Clone)]
pub struct ChronologyEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub reason: Option<String>,
    /// `{"decision": …}` for transitions, `{"band": …, "suggested_band": …}` for bands.
    pub detail: Option<Value>,
}

/// A status change to record.
#[derive(Debug, Clone)]
pub struct StatusChange<'a> {
    pub referral_id: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub decision: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
    /// The new state meets the service's SLA (first contact made, or the case closed): the
    /// case stops counting as due or overdue from now on.
    pub meets_sla: bool,
}

impl Storage {
    /// Records a person's band (keeping the suggested one), with a chronology event and an
    /// audit entry.
    #[instrument(skip_all)]
    pub async fn confirm_band(
        &self,
        referral_id: &str,
        band: &str,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        query("UPDATE referrals SET confirmed_band = $1, updated_at = $2 WHERE id = $3")
            .bind(band)
            .bind(timestamp(at))
            .bind(referral_id)
            .execute(&mut *tx)
            .await?;
        query(
            "INSERT INTO referral_events (referral_id, at, actor, kind, from_status, to_status, reason, detail)
             VALUES ($1, $2, $3, 'band_confirmed', NULL, NULL, $4, $5)",
        )
        .bind(referral_id)
        .bind(timestamp(at))
        .bind(actor)
        .bind(reason)
        .bind(json!({ "band": band }).to_string())
        .execute(&mut *tx)
        .await?;
        let entry = AuditEntry::new(
            at,
            actor,
            "referral.band_confirmed",
            "referral",
            referral_id,
        );
        append_in(&mut tx, self.kind, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a referral from `change.from` to `change.to`. Returns `false` (and writes
    /// nothing) when its status is no longer `from` — another transition got there first.
    #[instrument(skip_all)]
    pub async fn change_status(&self, change: &StatusChange<'_>) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        let updated = query(
            "UPDATE referrals SET status = $1, updated_at = $2,
                sla_met_at = CASE WHEN $5 = 1 THEN COALESCE(sla_met_at, $2) ELSE sla_met_at END
             WHERE id = $3 AND status = $4",
        )
        .bind(change.to)
        .bind(timestamp(change.at))
        .bind(change.referral_id)
        .bind(change.from)
        .bind(i64::from(change.meets_sla))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        query(
            "INSERT INTO referral_events (referral_id, at, actor, kind, from_status, to_status, reason, detail)
             VALUES ($1, $2, $3, 'transition', $4, $5, $6, $7)",
        )
        .bind(change.referral_id)
        .bind(timestamp(change.at))
        .bind(change.actor)
        .bind(change.from)
        .bind(change.to)
        .bind(change.reason)
        .bind(json!({ "decision": change.decision }).to_string())
        .execute(&mut *tx)
        .await?;
        let entry = AuditEntry::new(
            change.at,
            change.actor,
            "referral.transition",
            "referral",
            change.referral_id,
        );
        append_in(&mut tx, self.kind, &entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The chronology of a referral with reasons and details, oldest first.
    #[instrument(skip_all)]
    pub async fn chronology(
        &self,
        referral_id: &str,
    ) -> Result<Vec<ChronologyEntry>, StorageError> {
        let rows = query(
            "SELECT at, actor, kind, from_status, to_status, reason, detail
             FROM referral_events WHERE referral_id = $1 ORDER BY at, id",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ChronologyEntry {
                    at: parse_timestamp("at", &row.try_get::<String, _>(0)?)?,
                    actor: row.try_get(1)?,
                    kind: row.try_get(2)?,
                    from_status: row.try_get(3)?,
                    to_status: row.try_get(4)?,
                    reason: row.try_get(5)?,
                    detail: row
                        .try_get::<Option<String>, _>(6)?
                        .map(|t| super::parse_json("detail", &t))
                        .transpose()?,
                })
            })
            .collect()
    }
}
