//! `haven keys …`: the master keys that seal case content (see `crypto::keyring`).

use std::time::Duration;

use clap::Subcommand;

use super::{CliError, Context};
use crate::crypto::keyring::{DEFAULT_CHECK_INTERVAL, KeyStatus};
use crate::storage::Storage;
use crate::storage::audit::AuditEntry;

#[derive(Debug, Subcommand)]
pub(super) enum KeysCommand {
    /// List the master keys (ids only) and how many sealed values each wraps.
    List,
    /// Make a new master key current and re-wrap every data key under it, while servers
    /// keep running. The old key stays in the file, retired, until `haven keys prune`.
    Rotate {
        /// Do not create a key: re-wrap whatever is not yet under the current key (to finish
        /// an interrupted rotation, or after putting a new key first in HAVEN_MASTER_KEY).
        #[arg(long)]
        rewrap_only: bool,
        /// Rows updated per transaction.
        #[arg(long, default_value_t = 500, value_name = "ROWS")]
        batch: u32,
        /// Seconds to wait after writing the new key before re-wrapping, so every running
        /// server has noticed it and seals new values under it [default: 3].
        #[arg(long, value_name = "SECS")]
        grace_secs: Option<u64>,
    },
    /// Remove retired keys that no sealed value uses any more.
    Prune,
    /// Re-seal every value still in the old `hv1:` format in the current one (binary,
    /// compressed, under its case's own key), and move a case's values still under keys of
    /// their own to the case's key, while servers keep running. Unlike `rotate`, this
    /// decrypts and re-encrypts content; run it once after upgrading Haven, and before
    /// relying on destroying a case's key to make all of that case's values unreadable.
    Upgrade {
        /// Rows updated per transaction.
        #[arg(long, default_value_t = 500, value_name = "ROWS")]
        batch: u32,
    },
}

pub(super) async fn run(ctx: &Context, cmd: KeysCommand) -> Result<(), CliError> {
    let storage = ctx.storage().await?;
    let result = match cmd {
        KeysCommand::List => list(&storage).await,
        KeysCommand::Rotate {
            rewrap_only,
            batch,
            grace_secs,
        } => rotate(ctx, &storage, rewrap_only, batch, grace_secs).await,
        KeysCommand::Prune => prune(ctx, &storage).await,
        KeysCommand::Upgrade { batch } => upgrade(&storage, batch).await,
    };
    storage.close().await;
    result
}

async fn list(storage: &Storage) -> Result<(), CliError> {
    for usage in storage.key_usage().await? {
        println!(
            "{} {} {} values",
            usage.key_id,
            usage.status.as_str(),
            usage.values
        );
    }
    Ok(())
}

async fn rotate(
    ctx: &Context,
    storage: &Storage,
    rewrap_only: bool,
    batch: u32,
    grace_secs: Option<u64>,
) -> Result<(), CliError> {
    if batch == 0 {
        return Err(CliError::bad("--batch: must be at least 1"));
    }
    if !rewrap_only {
        let id = storage.keys().rotate()?;
        eprintln!("New current master key {id}; the previous keys are retired.");
        let entry = AuditEntry::new(
            storage.clock().now(),
            "cli",
            "keys.rotated",
            "master_key",
            &id,
        );
        storage.append_audit(&entry).await?;
        // Servers look at the key file's modification time every DEFAULT_CHECK_INTERVAL;
        // after this wait none is still sealing under a retired key.
        let grace = grace_secs.map_or(DEFAULT_CHECK_INTERVAL + Duration::from_secs(1), |s| {
            Duration::from_secs(s)
        });
        tokio::time::sleep(grace).await;
    }
    let current = storage.keys().current();
    let report = storage.rewrap_all(batch).await?;
    eprintln!(
        "Re-wrapped {} values under {} ({} plaintext values sealed, {} rows changed by a \
         server meanwhile and kept as it wrote them).",
        report.rewrapped,
        current.id(),
        report.sealed_plaintext,
        report.raced
    );
    let left: u64 = storage
        .key_usage()
        .await?
        .iter()
        .filter(|u| u.key_id != current.id())
        .map(|u| u.values)
        .sum();
    if left > 0 {
        eprintln!(
            "{left} values are still under retired keys (written meanwhile by a server that \
             had not seen the new key); run `haven keys rotate --rewrap-only` again."
        );
    }
    // The outbox's emails are sealed under the same keys (`mail::outbox`).
    let outbox = crate::mail::outbox_of(&ctx.settings, storage.keys().clone());
    match outbox.rewrap_all() {
        Ok(0) => {}
        Ok(n) => eprintln!("Re-wrapped {n} outbox emails under {}.", current.id()),
        Err(e) => {
            return Err(CliError::Failed(anyhow::anyhow!(
                "could not re-wrap the outbox: {e}"
            )));
        }
    }
    if !report.failed.is_empty() {
        for failure in &report.failed {
            eprintln!("could not re-wrap {failure}");
        }
        return Err(CliError::Failed(anyhow::anyhow!(
            "{} sealed values could not be opened and were left unchanged",
            report.failed.len()
        )));
    }
    Ok(())
}

async fn upgrade(storage: &Storage, batch: u32) -> Result<(), CliError> {
    if batch == 0 {
        return Err(CliError::bad("--batch: must be at least 1"));
    }
    let report = storage.upgrade_all(batch).await?;
    eprintln!(
        "Re-sealed {} values in the current format ({} plaintext values sealed, {} rows \
         changed by a server meanwhile and kept as it wrote them).",
        report.upgraded, report.sealed_plaintext, report.raced
    );
    let entry = AuditEntry::new(
        storage.clock().now(),
        "cli",
        "keys.upgraded",
        "sealed_values",
        "all",
    );
    storage.append_audit(&entry).await?;
    if !report.failed.is_empty() {
        for failure in &report.failed {
            eprintln!("could not re-seal {failure}");
        }
        return Err(CliError::Failed(anyhow::anyhow!(
            "{} sealed values could not be opened and were left unchanged",
            report.failed.len()
        )));
    }
    Ok(())
}

async fn prune(ctx: &Context, storage: &Storage) -> Result<(), CliError> {
    // An email written under a retired key since the last rotation is re-wrapped first, so
    // removing that key cannot make it unreadable.
    crate::mail::outbox_of(&ctx.settings, storage.keys().clone())
        .rewrap_all()
        .map_err(|e| CliError::Failed(anyhow::anyhow!("could not re-wrap the outbox: {e}")))?;
    if storage.keys().file().is_none() {
        // Haven cannot edit the environment: say which keys the operator may drop.
        for usage in storage.key_usage().await? {
            if usage.status == KeyStatus::Retired && usage.values == 0 {
                eprintln!(
                    "Key {} is unused: remove it from HAVEN_MASTER_KEY.",
                    usage.key_id
                );
            }
        }
        return Ok(());
    }
    let (removed, kept) = storage.prune_keys().await?;
    for id in &removed {
        eprintln!("Removed retired key {id} (no value uses it).");
        let entry = AuditEntry::new(
            storage.clock().now(),
            "cli",
            "keys.pruned",
            "master_key",
            id,
        );
        storage.append_audit(&entry).await?;
    }
    for usage in &kept {
        eprintln!(
            "Kept retired key {}: {} values still use it (run `haven keys rotate --rewrap-only`).",
            usage.key_id, usage.values
        );
    }
    if removed.is_empty() && kept.is_empty() {
        eprintln!("No retired keys.");
    }
    Ok(())
}
