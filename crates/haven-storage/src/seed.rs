//! Bulk writes for benchmarks (`haven dev seed`): many referrals in one transaction, each
//! sealed by the same code as a real submission ([`super::referrals`]'s `sealed_row`, on
//! every core), and written in the state a case of its age would be in (status, confirmed
//! band, worker, SLA met, new information, plan) with multi-row inserts: the rows, their
//! `received` events, their audit-chain entries, their plan actions and the queue's counts.
//! Never used by `serve`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_many_in};
use super::referrals::{
    CountedFacts, NewReferral, ReferralRow, add_to_counts, insert_received_events, placeholders,
};
use super::vault::insert_case_keys;
use super::{Storage, StorageError, flag, timestamp};

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

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters at 26 columns.
const ROWS_PER_INSERT: usize = 500;

/// A sealed plan action ready to insert.
struct SealedAction<'a> {
    id: String,
    referral_id: &'a str,
    body: Vec<u8>,
    owner: &'a str,
    due_on: String,
    done: bool,
    at: String,
}

/// One referral sealed for seeding, with its plan actions.
type SealedCase<'a> = (ReferralRow, Vec<SealedAction<'a>>);

impl Storage {
    /// Seals one referral and its plan actions.
    fn seal_for_seed<'a>(
        &self,
        new: &NewReferral<'_>,
        state: &'a SeedState,
        referral_id: &'a str,
    ) -> Result<(ReferralRow, Vec<SealedAction<'a>>), StorageError> {
        let (row, case) = self.sealed_row(new)?;
        let mut actions = Vec::with_capacity(state.plan_actions.len());
        for (owner, due_on, done) in &state.plan_actions {
            let id = crate::crypto::new_id();
            let body = self.seal_text_in_case(
                &case,
                "plan_actions",
                "body",
                &id,
                "Weekly one-to-one session on healthy relationships",
            )?;
            actions.push(SealedAction {
                id,
                referral_id,
                body,
                owner,
                due_on: due_on.format("%Y-%m-%d").to_string(),
                done: *done,
                at: timestamp(new.received_at),
            });
        }
        Ok((row, actions))
    }

    /// Writes `batch` in one transaction, sealing first (outside it, on every core: sealing
    /// is most of a seeded referral's cost). A taken reference fails the whole batch with
    /// [`StorageError::Conflict`].
    #[instrument(skip_all)]
    pub async fn seed_referrals(
        &self,
        batch: &[(NewReferral<'_>, SeedState)],
    ) -> Result<(), StorageError> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let per_thread = batch.len().div_ceil(threads).max(1);
        // Hand-rolled over std's scoped threads rather than a pool crate: one fan-out per
        // batch, in a tool never used by `serve`.
        let sealed: Vec<Result<Vec<SealedCase<'_>>, StorageError>> = std::thread::scope(|scope| {
            let workers: Vec<_> = batch
                .chunks(per_thread)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|(new, state)| self.seal_for_seed(new, state, &new.id))
                            .collect::<Result<Vec<_>, _>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or(Err(StorageError::WriterStopped)))
                .collect()
        });
        let mut rows = Vec::with_capacity(batch.len());
        let mut actions = Vec::new();
        for part in sealed {
            for (row, mut acts) in part? {
                rows.push(row);
                actions.append(&mut acts);
            }
        }

        let mut tx = self.begin_write().await?;
        let mut ranks: HashMap<(String, String), i64> = HashMap::new();
        for r in query("SELECT service, band, band_rank FROM service_bands")
            .fetch_all(&mut *tx)
            .await?
        {
            ranks.insert((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?);
        }
        let mut terminal: HashMap<(String, String), i64> = HashMap::new();
        for r in query("SELECT service, status, terminal FROM service_states")
            .fetch_all(&mut *tx)
            .await?
        {
            terminal.insert((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?);
        }
        let now = timestamp(self.now());
        let mut facts = Vec::with_capacity(rows.len());
        for (row, (_, state)) in rows.iter().zip(batch) {
            let band = state
                .confirmed_band
                .as_deref()
                .or(row.suggested_band.as_deref());
            facts.push(CountedFacts {
                service: &row.service,
                team: &row.team,
                status: state.status.as_deref().unwrap_or(&row.status),
                band: band.unwrap_or(""),
                urgent: row.urgent,
                new_information: state.new_information_at.is_some(),
                assignee: state.assignee.as_deref().unwrap_or(""),
                shard: match state.assignee {
                    Some(_) => "",
                    None => row.id.get(..1).unwrap_or(""),
                },
            });
        }
        const REFERRAL_COLUMNS: usize = 29;
        for (chunk, states) in rows
            .chunks(ROWS_PER_INSERT)
            .zip(batch.chunks(ROWS_PER_INSERT))
        {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| placeholders(i * REFERRAL_COLUMNS, REFERRAL_COLUMNS))
                .collect();
            let sql = format!(
                "INSERT INTO referrals (id, reference, service, stage, audience, status, team,
                    received_at, urgent, suggested_band, in_scope, eligible, rules_version, due_by,
                    answers, screening, receipt_hash, created_at, updated_at, band_rank,
                    confirmed_band, assignee, sla_met_at, new_information_at, screening_rules_id,
                    person, concerns, queue_open, plan_due_on)
                 VALUES {}",
                values.join(", ")
            );
            let mut insert = query(AssertSqlSafe(sql));
            for (row, (_, state)) in chunk.iter().zip(states) {
                let band = state
                    .confirmed_band
                    .as_deref()
                    .or(row.suggested_band.as_deref())
                    .unwrap_or("");
                let rank = ranks
                    .get(&(row.service.clone(), band.to_owned()))
                    .copied()
                    .unwrap_or(0);
                let status = state.status.as_deref().unwrap_or(&row.status);
                insert = insert
                    .bind(row.id.as_str())
                    .bind(row.reference.as_str())
                    .bind(row.service.as_str())
                    .bind(row.stage.as_str())
                    .bind(row.audience.as_str())
                    .bind(state.status.as_deref().unwrap_or(&row.status))
                    .bind(row.team.as_str())
                    .bind(timestamp(row.received_at))
                    .bind(flag(row.urgent))
                    .bind(row.suggested_band.as_deref())
                    .bind(row.in_scope.map(flag))
                    .bind(row.eligible.map(flag))
                    .bind(row.rules_version.as_deref())
                    .bind(row.due_by.map(|d| d.format("%Y-%m-%d").to_string()))
                    .bind(row.answers.as_slice())
                    .bind(row.screening.as_deref())
                    .bind(row.receipt_hash.as_str())
                    .bind(now.as_str())
                    .bind(now.as_str())
                    .bind(rank)
                    .bind(state.confirmed_band.as_deref())
                    .bind(state.assignee.as_deref())
                    .bind(state.sla_met_at.map(timestamp))
                    .bind(state.new_information_at.map(timestamp))
                    .bind(row.screening_rules_id)
                    .bind(row.person.as_deref())
                    .bind(row.concerns.as_deref())
                    .bind(
                        1 - terminal
                            .get(&(row.service.clone(), status.to_owned()))
                            .copied()
                            .unwrap_or(0),
                    )
                    .bind(
                        state
                            .plan_actions
                            .iter()
                            .filter(|(_, _, done)| !done)
                            .map(|(_, due_on, _)| *due_on)
                            .min()
                            .map(|d| d.format("%Y-%m-%d").to_string()),
                    );
            }
            insert
                .execute(&mut *tx)
                .await
                .map_err(StorageError::from_write)?;
            let keys: Vec<_> = chunk
                .iter()
                .map(|row| (row.id.as_str(), &row.case_key, now.as_str()))
                .collect();
            insert_case_keys(&mut tx, &keys).await?;

            let received: Vec<String> = chunk.iter().map(|r| timestamp(r.received_at)).collect();
            let stamped: Vec<(&ReferralRow, &str)> = chunk
                .iter()
                .zip(&received)
                .map(|(row, at)| (row, at.as_str()))
                .collect();
            insert_received_events(&mut tx, &stamped).await?;
        }
        insert_people(&mut tx, &rows).await?;
        let entries: Vec<AuditEntry> = rows
            .iter()
            .map(|row| {
                AuditEntry::new(
                    row.received_at,
                    row.actor.as_str(),
                    "submission.created",
                    "referral",
                    &row.id,
                )
            })
            .collect();
        append_many_in(&mut tx, &self.audit, &entries).await?;
        add_to_counts(&mut tx, &facts).await?;
        const ACTION_COLUMNS: usize = 7;
        for chunk in actions.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * ACTION_COLUMNS;
                    format!(
                        "(${}, ${}, NULL, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5,
                        p + 6,
                        p + 4,
                        p + 7,
                        p + 7
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO plan_actions (id, referral_id, goal_id, body, owner, due_on, done,
                    created_by, created_at, updated_at)
                 VALUES {}",
                values.join(", ")
            );
            let mut insert = query(AssertSqlSafe(sql));
            for action in chunk {
                insert = insert
                    .bind(action.id.as_str())
                    .bind(action.referral_id)
                    .bind(action.body.as_slice())
                    .bind(action.owner)
                    .bind(action.due_on.as_str())
                    .bind(flag(action.done))
                    .bind(action.at.as_str());
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The person index entries of seeded referrals (sealed identity and blind tokens, as intake
/// writes them). Seeded people count as already indexed and matched for the "known
/// elsewhere" alert when received, as an index built up over the years would be: a server
/// started on the seeded database does not first match them all.
async fn insert_people(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    rows: &[ReferralRow],
) -> Result<(), StorageError> {
    let received: Vec<String> = rows.iter().map(|r| timestamp(r.received_at)).collect();
    let people: Vec<(&str, &super::people::PersonRow, &str)> = rows
        .iter()
        .zip(&received)
        .filter_map(|(r, at)| {
            r.person_index
                .as_ref()
                .map(|p| (r.id.as_str(), p, at.as_str()))
        })
        .collect();
    super::people::insert_people(tx, &people, true).await
}
