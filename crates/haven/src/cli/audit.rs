//! `haven audit verify`: recompute the audit log's keyed hash chain and compare it with a
//! checkpoint kept outside the database.
//!
//! The chain is keyed by a key derived from the server secret key (`HAVEN_SECRET_KEY` or
//! `<data-dir>/secret.key`, never in the database), so it finds an edited, deleted,
//! reordered, reinserted or forged entry even when whoever changed the table recomputed the
//! hashes. Verifying with another key is reported as a wrong key. What the chain alone
//! cannot find is entries cut off the end: the checkpoint file (`seq hash` of the last entry
//! verified, in the data directory by default) catches that for every entry up to it, and
//! the printed summary lets the operator keep the same checkpoint somewhere an attacker of
//! the server cannot reach (a ticket, a write-once store).
//!
//! On PostgreSQL, writers leave their entries unsequenced and a sequencer links them
//! (storage `audit_sequencer`); verifying first sequences everything pending (waiting for a
//! server's sequencer if one is at work), so the check and the checkpoint cover every entry
//! committed before it started, and reports a pending entry whose MAC is wrong.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use super::{CliError, Context};
use crate::crypto::SECRET_KEY_FILE;
use crate::storage::audit::ChainCheck;

/// Name of the checkpoint file under the data directory.
pub const CHECKPOINT_FILE: &str = "audit.checkpoint";

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Check the audit log's hash chain and the checkpoint; exit 1 naming the first bad seq.
    Verify {
        /// The checkpoint file to compare with and update [default: <data_dir>/audit.checkpoint].
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
}

pub(super) async fn run(ctx: &Context, cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify { checkpoint } => {
            let path = checkpoint.unwrap_or_else(|| ctx.settings.data_dir.join(CHECKPOINT_FILE));
            let key_file = ctx.settings.data_dir.join(SECRET_KEY_FILE);
            if std::env::var_os("HAVEN_SECRET_KEY").is_none() && !key_file.exists() {
                // Creating a fresh key here would only make every entry look forged.
                return Err(CliError::bad(format!(
                    "no server secret key: the audit chain is keyed by it; set HAVEN_SECRET_KEY \
                     or put the servers' key in {}",
                    key_file.display()
                )));
            }
            let storage = ctx.storage().await?;
            let result = verify(&storage, &path).await;
            storage.close().await;
            result
        }
    }
}

async fn verify(storage: &crate::storage::Storage, path: &Path) -> Result<(), CliError> {
    let entries = match storage.verify_audit_chain().await? {
        ChainCheck::Intact { entries } => entries,
        ChainCheck::Broken { seq, problem } => {
            return Err(CliError::Failed(anyhow::anyhow!(
                "audit log broken at seq {seq}: {problem}"
            )));
        }
        ChainCheck::BrokenPending { id, problem } => {
            return Err(CliError::Failed(anyhow::anyhow!(
                "audit log broken at pending entry {id} (written but not yet sequenced): {problem}"
            )));
        }
    };
    let last_seq = i64::try_from(entries).unwrap_or(i64::MAX);
    let last_hash = storage.audit_hash_at(last_seq).await?.unwrap_or_default();
    if let Some((seq, hash)) = read_checkpoint(path)? {
        if seq > last_seq {
            return Err(CliError::Failed(anyhow::anyhow!(
                "audit log truncated at seq {}: the checkpoint {} records seq {seq}, but the log \
                 ends at seq {last_seq}",
                last_seq + 1,
                path.display()
            )));
        }
        if storage.audit_hash_at(seq).await?.as_deref() != Some(hash.as_str()) {
            return Err(CliError::Failed(anyhow::anyhow!(
                "audit log rewritten at or before seq {seq}: its hash differs from the checkpoint {}",
                path.display()
            )));
        }
    }
    if entries > 0 {
        write_checkpoint(path, last_seq, &last_hash)?;
    }
    println!(
        "audit log intact: {entries} entries, last seq {last_seq}, last hash {}; checkpoint {}",
        if last_hash.is_empty() {
            "none"
        } else {
            &last_hash
        },
        path.display()
    );
    Ok(())
}

fn read_checkpoint(path: &Path) -> Result<Option<(i64, String)>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::Failed(
                anyhow::Error::new(e).context(format!("could not read {}", path.display())),
            ));
        }
    };
    let mut fields = text.split_whitespace();
    match (
        fields.next().and_then(|s| s.parse::<i64>().ok()),
        fields.next(),
        fields.next(),
    ) {
        (Some(seq), Some(hash), None) if seq > 0 && hash.len() == 64 => {
            Ok(Some((seq, hash.to_owned())))
        }
        _ => Err(CliError::bad(format!(
            "{}: expected `<seq> <64 hex characters>` (written by `haven audit verify`)",
            path.display()
        ))),
    }
}

/// Replaces the checkpoint atomically, readable by its owner only.
fn write_checkpoint(path: &Path, seq: i64, hash: &str) -> Result<(), CliError> {
    let temp = path.with_extension("checkpoint.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&temp)?;
        writeln!(file, "{seq} {hash}")?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    };
    write()
        .with_context(|| format!("could not write the checkpoint {}", path.display()))
        .map_err(CliError::Failed)
}
