//! Triage writes on a referral: band confirmation and workflow transitions, each with its
//! chronology event and audit entry in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{Any, AssertSqlSafe, Row, Transaction, query};
use tracing::instrument;

use super::actions::BandActions;
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

/// A chronology event to append; `reason` and `detail` are sealed.
pub(crate) struct NewEvent<'a> {
    pub referral_id: &'a str,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub kind: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub detail: Option<Value>,
}

impl Storage {
    /// Appends a chronology event inside `tx`. The row is inserted first without its
    /// sealed columns, because their ciphertext is bound to the row id the database
    /// assigns; plaintext never reaches the database, not even inside the transaction.
    pub(crate) async fn insert_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &NewEvent<'_>,
    ) -> Result<(), StorageError> {
        let row = query(
            "INSERT INTO referral_events (referral_id, at, actor, kind, from_status, to_status)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(event.referral_id)
        .bind(timestamp(event.at))
        .bind(event.actor)
        .bind(event.kind)
        .bind(event.from_status)
        .bind(event.to_status)
        .fetch_one(&mut **tx)
        .await?;
        if event.reason.is_none() && event.detail.is_none() {
            return Ok(());
        }
        let id_number: i64 = row.try_get(0)?;
        let id = id_number.to_string();
        let case = self.case_key_in(tx, event.referral_id).await?;
        let reason = event
            .reason
            .map(|r| self.seal_text_in_case(&case, "referral_events", "reason", &id, r))
            .transpose()?;
        let detail = event
            .detail
            .as_ref()
            .map(|d| self.seal_json_in_case(&case, "referral_events", "detail", &id, d))
            .transpose()?;
        query("UPDATE referral_events SET reason = $1, detail = $2 WHERE id = $3")
            .bind(reason)
            .bind(detail)
            .bind(id_number)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Records a person's band (keeping the suggested one), with a chronology event and an
    /// audit entry, and the required actions that band adds or no longer requires
    /// (`actions`, see [`Storage::record_band_actions`]), all in one transaction.
    #[instrument(skip_all)]
    pub async fn confirm_band(
        &self,
        referral_id: &str,
        band: &str,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
        actions: &BandActions,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        // The queue orders by band_rank: the confirmed band's place in the service's bands
        // (storage/queue.rs, table service_bands), written with the band.
        query(
            "UPDATE referrals SET confirmed_band = $1, updated_at = $2,
                band_rank = COALESCE((SELECT sb.band_rank FROM service_bands sb
                    WHERE sb.service = referrals.service AND sb.band = $1), 0)
             WHERE id = $3",
        )
        .bind(band)
        .bind(timestamp(at))
        .bind(referral_id)
        .execute(&mut *tx)
        .await?;
        let event = NewEvent {
            referral_id,
            at,
            actor,
            kind: "band_confirmed",
            from_status: None,
            to_status: None,
            reason: Some(reason),
            detail: Some(json!({ "band": band })),
        };
        self.insert_event(&mut tx, &event).await?;
        self.record_band_actions(&mut tx, referral_id, band, actions, reason, actor, at)
            .await?;
        let entry = AuditEntry::new(
            at,
            actor,
            "referral.band_confirmed",
            "referral",
            referral_id,
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a referral from `change.from` to `change.to`. Returns `false` (and writes
    /// nothing) when its status is no longer `from` — another transition got there first.
    #[instrument(skip_all)]
    pub async fn change_status(&self, change: &StatusChange<'_>) -> Result<bool, StorageError> {
        let mut tx = self.begin_write().await?;
        if !self.change_status_in(&mut tx, change).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The status change of [`Storage::change_status`] inside `tx` (its event and audit entry
    /// too), for writes that must land with it (a closure outcome). `false` when the status
    /// is no longer `change.from`; the caller then rolls back.
    pub(crate) async fn change_status_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        change: &StatusChange<'_>,
    ) -> Result<bool, StorageError> {
        let updated = query(AssertSqlSafe(format!(
            "UPDATE referrals SET status = $1, updated_at = $2, queue_open = {},
                    sla_met_at = CASE WHEN $5 = 1 THEN COALESCE(sla_met_at, $2) ELSE sla_met_at END
                 WHERE id = $3 AND status = $4",
            super::queue::queue_open_for("$1")
        )))
        .bind(change.to)
        .bind(timestamp(change.at))
        .bind(change.referral_id)
        .bind(change.from)
        .bind(i64::from(change.meets_sla))
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        let event = NewEvent {
            referral_id: change.referral_id,
            at: change.at,
            actor: change.actor,
            kind: "transition",
            from_status: Some(change.from),
            to_status: Some(change.to),
            reason: change.reason,
            detail: Some(json!({ "decision": change.decision })),
        };
        self.insert_event(tx, &event).await?;
        let entry = AuditEntry::new(
            change.at,
            change.actor,
            "referral.transition",
            "referral",
            change.referral_id,
        );
        append_in(tx, &self.audit, &entry).await?;
        Ok(true)
    }

    /// The chronology of a referral with reasons and details, oldest first.
    #[instrument(skip_all)]
    pub async fn chronology(
        &self,
        referral_id: &str,
    ) -> Result<Vec<ChronologyEntry>, StorageError> {
        let rows = self
            .read_retrying(move || async move {
                let rows = query(
                    "SELECT at, actor, kind, from_status, to_status, reason, detail, id
                     FROM referral_events WHERE referral_id = $1 ORDER BY at, id",
                )
                .bind(referral_id)
                .fetch_all(&self.pool)
                .await?;
                Ok::<_, StorageError>(rows)
            })
            .await?;
        let case = self.case_key(referral_id).await?;
        let case = case.as_ref();
        rows.iter()
            .map(|row| {
                let id = row.try_get::<i64, _>(7)?.to_string();
                Ok(ChronologyEntry {
                    at: parse_timestamp("at", &row.try_get::<String, _>(0)?)?,
                    actor: row.try_get(1)?,
                    kind: row.try_get(2)?,
                    from_status: row.try_get(3)?,
                    to_status: row.try_get(4)?,
                    reason: row
                        .try_get::<Option<Vec<u8>>, _>(5)?
                        .map(|t| self.open_text_in_case(case, "referral_events", "reason", &id, &t))
                        .transpose()?,
                    detail: row
                        .try_get::<Option<Vec<u8>>, _>(6)?
                        .map(|t| self.open_json_in_case(case, "referral_events", "detail", &id, &t))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The chronologies of several referrals in one query (events with their case keys,
    /// joined, each key unwrapped once), oldest first across all of them: `(referral id,
    /// entry)`. Opened as [`Storage::chronology`] opens one case's.
    #[instrument(skip_all)]
    pub async fn chronologies(
        &self,
        referral_ids: &[String],
    ) -> Result<Vec<(String, ChronologyEntry)>, StorageError> {
        if referral_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT e.referral_id, e.at, e.actor, e.kind, e.from_status, e.to_status, e.reason,
                    e.detail, e.id, k.key_id, k.wrapped
             FROM referral_events e LEFT JOIN case_keys k ON k.referral_id = e.referral_id
             WHERE e.referral_id IN {} ORDER BY e.at, e.id",
            super::referrals::placeholders(0, referral_ids.len())
        );
        let mut q = query(sqlx::AssertSqlSafe(sql));
        for id in referral_ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut keys: std::collections::HashMap<String, Option<crate::crypto::sealed::CaseKey>> =
            std::collections::HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let referral_id: String = row.try_get(0)?;
            if !keys.contains_key(&referral_id) {
                let key = match (
                    row.try_get::<Option<String>, _>(9)?,
                    row.try_get::<Option<Vec<u8>>, _>(10)?,
                ) {
                    (Some(key_id), Some(wrapped)) => {
                        Some(self.unwrap_case_key(&referral_id, &key_id, &wrapped)?)
                    }
                    _ => None,
                };
                keys.insert(referral_id.clone(), key);
            }
            let case = keys.get(&referral_id).and_then(Option::as_ref);
            let id = row.try_get::<i64, _>(8)?.to_string();
            let entry = ChronologyEntry {
                at: parse_timestamp("at", &row.try_get::<String, _>(1)?)?,
                actor: row.try_get(2)?,
                kind: row.try_get(3)?,
                from_status: row.try_get(4)?,
                to_status: row.try_get(5)?,
                reason: row
                    .try_get::<Option<Vec<u8>>, _>(6)?
                    .map(|t| self.open_text_in_case(case, "referral_events", "reason", &id, &t))
                    .transpose()?,
                detail: row
                    .try_get::<Option<Vec<u8>>, _>(7)?
                    .map(|t| self.open_json_in_case(case, "referral_events", "detail", &id, &t))
                    .transpose()?,
            };
            out.push((referral_id, entry));
        }
        Ok(out)
    }
}
