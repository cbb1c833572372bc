//! Triage work on a referral besides status changes: the required-actions checklist
//! (`referral_actions`), the actions a confirmed band requires (`referral_required_actions`,
//! written with the band by `Storage::confirm_band`) and allocation to a worker. Each write
//! adds a chronology event and an audit entry in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{Any, Row, Transaction, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::jobs::mail_job;
use super::triage::NewEvent;
use super::{Storage, StorageError, flag, parse_timestamp, timestamp};

/// What someone did about a required action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    /// Not dealt with yet (no row); marking an action open again undoes done/waived.
    Open,
    Done,
    /// Deliberately not done, with a reason.
    Waived,
    /// The screening listed it, but the band a person confirmed no longer requires it (the
    /// reason is the band override's, in the chronology). Never stored in
    /// `referral_actions` nor accepted from a client: it follows from the band.
    NotRequired,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::Done => "done",
            ActionStatus::Waived => "waived",
            ActionStatus::NotRequired => "not_required",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(ActionStatus::Open),
            "done" => Some(ActionStatus::Done),
            "waived" => Some(ActionStatus::Waived),
            _ => None,
        }
    }
}

/// A required action that has been marked done or waived.
#[derive(Debug, Clone)]
pub struct ActionRecord {
    pub key: String,
    pub status: ActionStatus,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// Whether the confirmed band requires one action (a `referral_required_actions` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BandAction {
    pub key: String,
    pub required: bool,
}

/// How a band confirmation changes the case's required actions (from
/// `haven_core::screening::actions_change`): written with the band in one transaction.
#[derive(Debug, Clone, Default)]
pub struct BandActions {
    /// Every action the screening listed or the band requires, with whether it is required.
    pub rows: Vec<BandAction>,
    /// Keys newly required (an `action_added` chronology event each).
    pub added: Vec<String>,
    /// Keys no longer required (an `action_not_required` event each, with the reason).
    pub no_longer_required: Vec<String>,
}

/// A change to one required action.
#[derive(Debug, Clone)]
pub struct ActionChange<'a> {
    pub referral_id: &'a str,
    pub key: &'a str,
    pub status: ActionStatus,
    pub reason: Option<&'a str>,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

impl Storage {
    /// Records that a required action is done, waived, or open again.
    #[instrument(skip_all)]
    pub async fn record_action(&self, change: &ActionChange<'_>) -> Result<(), StorageError> {
        let at = timestamp(change.at);
        let mut tx = self.begin_write().await?;
        query("DELETE FROM referral_actions WHERE referral_id = $1 AND action_key = $2")
            .bind(change.referral_id)
            .bind(change.key)
            .execute(&mut *tx)
            .await?;
        if change.status != ActionStatus::Open {
            query(
                "INSERT INTO referral_actions (referral_id, action_key, status, actor, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(change.referral_id)
            .bind(change.key)
            .bind(change.status.as_str())
            .bind(change.actor)
            .bind(&at)
            .bind(&at)
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from_write)?;
        }
        let kind = format!("action_{}", change.status.as_str());
        self.insert_event(
            &mut tx,
            &NewEvent {
                referral_id: change.referral_id,
                at: change.at,
                actor: change.actor,
                kind: &kind,
                from_status: None,
                to_status: None,
                reason: change.reason,
                detail: Some(json!({ "action": change.key })),
            },
        )
        .await?;
        let entry = AuditEntry::new(
            change.at,
            change.actor,
            "referral.action",
            "referral",
            change.referral_id,
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The required actions of a referral that are done or waived.
    #[instrument(skip_all)]
    pub async fn actions(&self, referral_id: &str) -> Result<Vec<ActionRecord>, StorageError> {
        let rows = query(
            "SELECT action_key, status, actor, updated_at FROM referral_actions
             WHERE referral_id = $1 ORDER BY action_key",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get(1)?;
                Ok(ActionRecord {
                    key: row.try_get(0)?,
                    status: ActionStatus::parse(&status).ok_or_else(|| StorageError::Corrupt {
                        column: "referral_actions.status",
                        reason: format!("unknown status `{status}`"),
                    })?,
                    actor: row.try_get(2)?,
                    at: parse_timestamp(
                        "referral_actions.updated_at",
                        &row.try_get::<String, _>(3)?,
                    )?,
                })
            })
            .collect()
    }

    /// The actions the confirmed band requires or no longer requires, in key order; empty
    /// until a person confirms the band (the screening's list stands until then).
    #[instrument(skip_all)]
    pub async fn band_actions(&self, referral_id: &str) -> Result<Vec<BandAction>, StorageError> {
        let rows = query(
            "SELECT action_key, required FROM referral_required_actions
             WHERE referral_id = $1 ORDER BY action_key",
        )
        .bind(referral_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BandAction {
                    key: row.try_get(0)?,
                    required: row.try_get::<i64, _>(1)? != 0,
                })
            })
            .collect()
    }

    /// Records what a confirmed `band` requires inside `tx` (the band confirmation's): the
    /// rows, and a chronology event for each action added or no longer required, carrying
    /// the confirmation's `reason`.
    #[allow(clippy::too_many_arguments)] // the confirmation's own fields, each once
    pub(crate) async fn record_band_actions(
        &self,
        tx: &mut Transaction<'static, Any>,
        referral_id: &str,
        band: &str,
        changes: &BandActions,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let stamp = timestamp(at);
        for row in &changes.rows {
            query(
                "INSERT INTO referral_required_actions
                    (referral_id, action_key, required, band, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (referral_id, action_key) DO UPDATE
                 SET required = excluded.required, band = excluded.band,
                     updated_at = excluded.updated_at",
            )
            .bind(referral_id)
            .bind(&row.key)
            .bind(flag(row.required))
            .bind(band)
            .bind(&stamp)
            .execute(&mut **tx)
            .await?;
        }
        let events = changes.added.iter().map(|k| ("action_added", k)).chain(
            changes
                .no_longer_required
                .iter()
                .map(|k| ("action_not_required", k)),
        );
        for (kind, key) in events {
            self.insert_event(
                tx,
                &NewEvent {
                    referral_id,
                    at,
                    actor,
                    kind,
                    from_status: None,
                    to_status: None,
                    reason: Some(reason),
                    detail: Some(json!({ "action": key, "band": band })),
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Allocates a referral to a worker (their email), or takes it off them (`None`), with
    /// the email telling the worker (`alert`, a `mail::Notice`) queued in the same transaction.
    #[instrument(skip_all)]
    pub async fn allocate(
        &self,
        referral_id: &str,
        worker: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
        alert: Option<&Value>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        if let Some(payload) = alert {
            self.insert_job(&mut tx, &mail_job(payload, at)).await?;
        }
        query("UPDATE referrals SET assignee = $1, updated_at = $2 WHERE id = $3")
            .bind(worker)
            .bind(timestamp(at))
            .bind(referral_id)
            .execute(&mut *tx)
            .await?;
        self.insert_event(
            &mut tx,
            &NewEvent {
                referral_id,
                at,
                actor,
                kind: "allocation",
                from_status: None,
                to_status: None,
                reason: None,
                detail: Some(json!({ "worker": worker })),
            },
        )
        .await?;
        let entry = AuditEntry::new(at, actor, "referral.allocation", "referral", referral_id);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
