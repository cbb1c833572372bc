//! The audit log's sequencer (PostgreSQL, issue 18): gives pending entries their seq and
//! links them into the keyed hash chain, in batches.
//!
//! Writers insert their entries unsequenced in their own transactions
//! ([`super::audit::append_in`]), so no writer waits for another to extend the chain. The
//! sequencer then, in one transaction per batch: takes a transaction-scoped advisory lock
//! (so across every server on the database one sequencer works at a time; the others skip
//! the round, or wait for it when verifying), reads the chain's head, reads up to
//! [`BATCH`] pending entries in the order they were written, checks each one's MAC (an
//! entry edited or forged while pending is left pending, unsequenced, for `haven audit
//! verify` to report, and never laundered into the chain), links the good ones exactly as
//! a writer used to (`hash = HMAC(audit key, prev_hash ‖ [seq, at, …])`), and sets their
//! seq, prev_hash and hash in one UPDATE (the only update the table's trigger allows).
//! The unique index on `seq` would refuse a fork even without the lock.
//!
//! An entry is durable when its writer commits; a crash before it is sequenced loses
//! nothing, as the next round (on any server) or `haven audit verify` sequences it.

use std::time::Duration;

use sqlx::Row;
use tracing::instrument;

use super::audit::{PendingRow, canonical, chain_head};
use super::{Storage, StorageError};
use crate::config::DatabaseKind;

/// Pending entries linked per transaction.
pub const BATCH: i64 = 2000;

/// The advisory lock key of the sequencer ("haven_sq" in ASCII).
const SEQUENCER_LOCK: i64 = 0x6861_7665_6e5f_7371;

/// What one round of [`Storage::sequence_audit_round`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequenceRound {
    /// Entries given a seq.
    pub sequenced: u64,
    /// The ids of pending entries left pending because their MAC is wrong.
    pub refused: Vec<i64>,
    /// Another server held the sequencer lock (only when not waiting for it).
    pub busy: bool,
    /// The batch was full: more may be pending.
    pub more: bool,
}

impl Storage {
    /// One batch: up to [`BATCH`] pending entries whose id is above `after`, sequenced. With
    /// `wait`, waits for another server's sequencer to finish instead of skipping the round.
    /// Returns what it did and the last id it read. Nothing to do on SQLite.
    #[instrument(skip_all)]
    pub async fn sequence_audit_round(
        &self,
        wait: bool,
        after: i64,
    ) -> Result<(SequenceRound, i64), StorageError> {
        let mut round = SequenceRound::default();
        if self.kind != DatabaseKind::Postgres {
            return Ok((round, after));
        }
        let mut tx = self.writer.begin().await?;
        if wait {
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(SEQUENCER_LOCK)
                .execute(&mut *tx)
                .await?;
        } else {
            let got: i64 =
                sqlx::query("SELECT CASE WHEN pg_try_advisory_xact_lock($1) THEN 1 ELSE 0 END")
                    .bind(SEQUENCER_LOCK)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
            if got == 0 {
                tx.rollback().await?;
                round.busy = true;
                return Ok((round, after));
            }
        }
        // Read after taking the lock: in READ COMMITTED each statement sees what the
        // previous holder committed.
        let (mut seq, mut prev_hash) = chain_head(&mut tx).await?;
        let rows = sqlx::query(
            "SELECT id, at, actor, action, record_type, record_id, reason, key_id, entry_mac
             FROM audit_log WHERE seq IS NULL AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        round.more = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= BATCH;
        let mut last_id = after;
        let mut linked: Vec<(i64, i64, String, String)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let pending = PendingRow::read(row)?;
            last_id = pending.id;
            if let Some(problem) = pending.problem(&self.audit.key) {
                round.refused.push(pending.id);
                tracing::debug!(id = pending.id, %problem, "a pending audit entry fails its check");
                continue;
            }
            seq += 1;
            let hash = self
                .audit
                .key
                .link(&prev_hash, &canonical(seq, &pending.at, &pending.text()));
            linked.push((
                pending.id,
                seq,
                std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            ));
        }
        for chunk in linked.chunks(1000) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * 4;
                    format!(
                        "(${}::BIGINT, ${}::BIGINT, ${}::TEXT, ${}::TEXT)",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4
                    )
                })
                .collect();
            let sql = format!(
                "UPDATE audit_log AS a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash
                 FROM (VALUES {}) AS v (id, seq, prev_hash, hash) WHERE a.id = v.id",
                values.join(", ")
            );
            let mut update = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, seq, prev, hash) in chunk {
                update = update
                    .bind(*id)
                    .bind(*seq)
                    .bind(prev.as_str())
                    .bind(hash.as_str());
            }
            update.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        round.sequenced = linked.len() as u64;
        Ok((round, last_id))
    }

    /// Sequences every entry pending now, waiting for another server's sequencer if one is
    /// at work. Returns how many it sequenced and how many it left pending as bad.
    #[instrument(skip_all)]
    pub async fn sequence_audit(&self) -> Result<SequenceRound, StorageError> {
        let mut total = SequenceRound::default();
        let mut after = 0;
        loop {
            let (round, last) = self.sequence_audit_round(true, after).await?;
            total.sequenced += round.sequenced;
            total.refused.extend(round.refused);
            after = last;
            if !round.more {
                return Ok(total);
            }
        }
    }

    /// The background sequencer of `haven serve` (PostgreSQL; `None` on SQLite): a round
    /// every `period`, at once again while batches come back full. Safe with any number of
    /// servers: a round another server is doing is skipped.
    pub fn spawn_audit_sequencer(&self, period: Duration) -> Option<tokio::task::JoinHandle<()>> {
        if self.kind != DatabaseKind::Postgres {
            return None;
        }
        let storage = self.clone();
        Some(tokio::spawn(async move {
            let mut after = 0;
            let mut reported = std::collections::BTreeSet::new();
            loop {
                let result = storage.sequence_audit_round(false, after).await;
                if let Ok((round, _)) = &result {
                    for id in &round.refused {
                        if reported.insert(*id) {
                            tracing::error!(
                                id,
                                "an audit entry not yet sequenced does not match its MAC (edited \
                                 or forged) and is left unsequenced; run `haven audit verify`"
                            );
                        }
                    }
                }
                match result {
                    Ok((round, last)) if round.more => {
                        after = last;
                        continue;
                    }
                    // Start from the oldest pending entry next time: an entry whose writer
                    // committed late may have an id below the last one read.
                    Ok(_) => after = 0,
                    Err(e) => {
                        after = 0;
                        tracing::warn!(error = %e, "the audit sequencer failed a round; retrying");
                    }
                }
                tokio::time::sleep(period).await;
            }
        }))
    }
}
