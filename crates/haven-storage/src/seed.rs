//! Bulk writes for benchmarks (`haven dev seed`): many referrals in one transaction, each
//! sealed and inserted by the same code as a real submission ([`super::referrals`]'s
//! `insert_referral`: the row, its `received` event, its audit-chain entry), then moved to
//! the state a case of its age would be in (status, confirmed band, worker, SLA met, new
//! information) by one UPDATE, as later staff work would leave it. Never used by `serve`.

use chrono::{DateTime, Utc};
use sqlx::query;
use tracing::instrument;

use super::referrals::{NewReferral, insert_referral};
use super::{Storage, StorageError, timestamp};

/// Where a seeded case has got to since it was received.
#[derive(Debug, Clone, Default)]
pub struct SeedState {
    pub status: Option<String>,
    pub confirmed_band: Option<String>,
    pub assignee: Option<String>,
    pub sla_met_at: Option<DateTime<Utc>>,
    pub new_information_at: Option<DateTime<Utc>>,
    /// Plan actions: owner (the worker), due date, done.
    pub plan_actions: Vec<(String, chrono::NaiveDate, bool)>,
}

impl SeedState {
    fn changes_anything(&self) -> bool {
        self.status.is_some()
            || self.confirmed_band.is_some()
            || self.assignee.is_some()
            || self.sla_met_at.is_some()
            || self.new_information_at.is_some()
    }
}

impl Storage {
    /// Writes `batch` in one transaction (sealing first, outside it, as `create_referral`
    /// does). A taken reference fails the whole batch with [`StorageError::Conflict`].
    #[instrument(skip_all)]
    pub async fn seed_referrals(
        &self,
        batch: &[(NewReferral<'_>, SeedState)],
    ) -> Result<(), StorageError> {
        let mut rows = Vec::with_capacity(batch.len());
        let mut cases = Vec::with_capacity(batch.len());
        for (new, _) in batch {
            let (row, case) = self.sealed_row(new)?;
            rows.push(row);
            cases.push(case);
        }
        let mut actions = Vec::new();
        for ((new, state), case) in batch.iter().zip(&cases) {
            for (owner, due_on, done) in &state.plan_actions {
                let id = crate::crypto::new_id();
                let body = self.seal_text_in_case(
                    case,
                    "plan_actions",
                    "body",
                    &id,
                    "Weekly one-to-one session on healthy relationships",
                )?;
                actions.push((
                    id,
                    new.id.as_str(),
                    body,
                    owner,
                    due_on,
                    *done,
                    new.received_at,
                ));
            }
        }
        let mut tx = self.begin_write().await?;
        for (row, (_, state)) in rows.iter().zip(batch) {
            insert_referral(&mut tx, &self.audit, row).await?;
            if !state.changes_anything() {
                continue;
            }
            query(
                "UPDATE referrals SET status = COALESCE($1, status),
                    confirmed_band = $2, assignee = $3, sla_met_at = $4, new_information_at = $5,
                    band_rank = COALESCE((SELECT sb.band_rank FROM service_bands sb
                        WHERE sb.service = referrals.service
                          AND sb.band = COALESCE($2, referrals.suggested_band)), 0)
                 WHERE id = $6",
            )
            .bind(state.status.as_deref())
            .bind(state.confirmed_band.as_deref())
            .bind(state.assignee.as_deref())
            .bind(state.sla_met_at.map(timestamp))
            .bind(state.new_information_at.map(timestamp))
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
        }
        for (id, referral_id, body, owner, due_on, done, at) in &actions {
            query(
                "INSERT INTO plan_actions (id, referral_id, goal_id, body, owner, due_on, done,
                    created_by, created_at, updated_at)
                 VALUES ($1, $2, NULL, $3, $4, $5, $6, $4, $7, $7)",
            )
            .bind(id.as_str())
            .bind(*referral_id)
            .bind(body.as_slice())
            .bind(owner.as_str())
            .bind(due_on.format("%Y-%m-%d").to_string())
            .bind(i64::from(*done))
            .bind(timestamp(*at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
