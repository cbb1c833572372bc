//! Triage work on a referral besides status changes: the required-actions checklist
//! (`referral_actions`) and allocation to a worker. Each write adds a chronology event and
//! an audit entry in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::jobs::mail_job;
use super::triage::NewEvent;
use super::{Storage, StorageError, parse_timestamp, timestamp};

/// What someone did about a required action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    /// Not dealt with yet (no row); marking an action open again undoes done/waived.
    Open,
    Done,
    /// Deliberately not done, with a reason.
    Waived,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::Done => "done",
            ActionStatus::Waived => "waived",
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
