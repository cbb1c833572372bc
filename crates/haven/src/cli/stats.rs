//! `haven stats …`: the dashboards' daily counts (issue 17). `fold` folds what changed since
//! the last fold (as `haven serve` does every minute); `rebuild` forgets every count and
//! folds every day again (after an upgrade, or to check the running counts). Prints one
//! line with the number of service days recomputed.

use clap::Subcommand;

use super::{CliError, Context};

#[derive(Debug, Subcommand)]
pub(super) enum StatsCommand {
    /// Fold referrals and out-of-scope counts changed since the last fold.
    Fold,
    /// Clear the daily counts and fold every day again from scratch.
    Rebuild,
}

pub(super) async fn run(ctx: &Context, cmd: StatsCommand) -> Result<(), CliError> {
    let registry = ctx.registry()?;
    let storage = ctx.storage().await?;
    let now = storage.clock().now();
    let result = match cmd {
        StatsCommand::Fold => crate::cases::stats::fold(&storage, &registry, now).await,
        StatsCommand::Rebuild => crate::cases::stats::rebuild(&storage, &registry, now).await,
    };
    storage.close().await;
    let folded = result.map_err(|e| CliError::Failed(anyhow::anyhow!("stats: {e}")))?;
    super::log_writer::say(format_args!("stats: {} service days folded", folded.days));
    Ok(())
}
