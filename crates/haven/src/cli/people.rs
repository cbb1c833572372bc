//! `haven people …` (also `haven match …`): the person index (issue 16). `reindex` rebuilds
//! the blind tokens and sealed identities from each case's sealed answers: after an upgrade
//! that adds the index, a change to a definition's `[people]` section, or a new server
//! secret key (which gives the index a new key). Progress goes to stderr.

use std::io::Write;

use chrono::Utc;
use clap::Subcommand;

use super::{CliError, Context};
use crate::storage::audit::AuditEntry;

#[derive(Debug, Subcommand)]
pub(super) enum PeopleCommand {
    /// Rebuild the person index from the sealed answers: by default only the cases not yet
    /// indexed under the current key; `--all` every case.
    Reindex {
        /// Rebuild every case, not only those missing or under an older key.
        #[arg(long)]
        all: bool,
    },
}

pub(super) async fn run(ctx: &Context, cmd: PeopleCommand) -> Result<(), CliError> {
    match cmd {
        PeopleCommand::Reindex { all } => reindex(ctx, all).await,
    }
}

async fn reindex(ctx: &Context, all: bool) -> Result<(), CliError> {
    let registry = ctx.registry()?;
    let storage = ctx.storage().await?;
    let mut after = String::new();
    let (mut seen, mut indexed) = (0usize, 0usize);
    let mut err = std::io::stderr().lock();
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
        let _ = writeln!(err, "people reindex: {seen} cases read, {indexed} indexed");
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
        "people reindex: done, {indexed} of {seen} cases indexed"
    );
    storage.close().await;
    Ok(())
}
