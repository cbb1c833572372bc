//! `haven match …` (also `haven people …`): matching people (issue 16).
//!
//! - `reindex` rebuilds the blind tokens and sealed identities from each case's sealed
//!   answers (after an upgrade that adds the index, a change to a definition's `[people]`
//!   section, or a new server secret key, which gives the index a new key), then fits the
//!   weights. Progress goes to stderr.
//! - `fit` fits the weights alone: by EM, to the candidate pairs of the index, stored in
//!   `match_params` and used by links and search on every server within a minute. Weights
//!   are refitted only when an operator asks (reindex, or `fit` from cron, nightly say), not
//!   by the server on its own: fitting opens every indexed identity in memory, and the
//!   weights staff read in each explanation then change at a known time, audited.
//! - `bench` runs the engine on FEBRL-layout CSV files (`match_bench.rs`).

use std::io::Write;

use chrono::Utc;
use clap::Subcommand;

use super::{CliError, Context};
use crate::storage::audit::AuditEntry;

#[derive(Debug, Subcommand)]
pub(super) enum MatchCommand {
    /// Rebuild the person index from the sealed answers (by default only the cases not yet
    /// indexed under the current key; `--all` every case), then fit the weights.
    Reindex {
        /// Rebuild every case, not only those missing or under an older key.
        #[arg(long)]
        all: bool,
    },
    /// Fit the matcher's weights to the person index (EM) and store them.
    Fit,
    /// Precision, recall, F1, time and memory of the engine on FEBRL-layout CSV files:
    /// `--left A.csv --right B.csv` (link) or `--input A.csv` (dedupe), `[--truth T.csv]`.
    Bench(super::match_bench::BenchArgs),
}

pub(super) async fn run(ctx: &Context, cmd: MatchCommand) -> Result<(), CliError> {
    match cmd {
        MatchCommand::Reindex { all } => reindex(ctx, all).await,
        MatchCommand::Fit => {
            let storage = ctx.storage().await?;
            fit(&storage).await?;
            storage.close().await;
            Ok(())
        }
        MatchCommand::Bench(args) => super::match_bench::run(args),
    }
}

async fn reindex(ctx: &Context, all: bool) -> Result<(), CliError> {
    let registry = ctx.registry()?;
    let storage = ctx.storage().await?;
    let total = storage.referral_count().await?;
    let mut after = String::new();
    let (mut seen, mut indexed) = (0usize, 0usize);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "match reindex: {total} cases");
    loop {
        let page = storage.person_reindex_page(&after, 500).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = last.clone();
        for (id, current) in &page {
            seen += 1;
            if *current && !all {
                continue;
            }
            let Some(referral) = storage.find_referral_by_id(id).await? else {
                continue;
            };
            let Some(def) = registry.get(&referral.service) else {
                continue;
            };
            crate::cases::people::reindex_case(&storage, def, &referral, Utc::now())
                .await
                .map_err(|e| {
                    CliError::Failed(anyhow::anyhow!("case {}: {e}", referral.reference))
                })?;
            indexed += 1;
        }
        let _ = writeln!(
            err,
            "match reindex: {seen} of {total} cases read, {indexed} indexed"
        );
    }
    storage
        .append_audit(&AuditEntry::new(
            Utc::now(),
            "cli",
            "person_index.rebuilt",
            "person_index",
            &indexed.to_string(),
        ))
        .await?;
    let _ = writeln!(
        err,
        "match reindex: done, {indexed} of {seen} cases indexed"
    );
    drop(err);
    fit(&storage).await?;
    storage.close().await;
    Ok(())
}

async fn fit(storage: &crate::storage::Storage) -> Result<(), CliError> {
    let fitted = crate::cases::people::fit_params(storage, "cli", Utc::now(), |read| {
        if read % 10_000 == 0 {
            let _ = writeln!(std::io::stderr(), "match fit: {read} people read");
        }
    })
    .await
    .map_err(|e| CliError::Failed(anyhow::anyhow!("fitting the weights: {e}")))?;
    let mut err = std::io::stderr().lock();
    match &fitted.params {
        Some(params) => {
            let _ = writeln!(
                err,
                "match fit: weights fitted to {} candidate pairs of {} people and stored (1 in {:.0} pairs of people the same person)",
                fitted.pairs,
                fitted.records,
                1.0 / params.prior
            );
        }
        None => {
            let _ = writeln!(
                err,
                "match fit: only {} candidate pairs among {} people, too few to fit; the weights stay as they were",
                fitted.pairs, fitted.records
            );
        }
    }
    Ok(())
}
