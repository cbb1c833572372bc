//! `haven mail …`: email intake from the command line (issue 15). `haven mail ingest PATH…`
//! takes in `.eml` files, Maildir folders or folders of `.eml` files through
//! `intake_email::ingest_message` and prints one JSON line per message.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use clap::Subcommand;

use super::{CliError, Context};
use crate::intake_email::{self, SourceError};

#[derive(Debug, Subcommand)]
pub(super) enum MailCommand {
    /// Take in messages: each becomes a sealed intake item of the service whose intake
    /// address received it (or is set aside with a reason). Prints one JSON line per message:
    /// `{"message_id", "outcome": "draft"|"duplicate"|"quarantined", "reference", "reason"?}`
    /// (`message_id` is a keyed hash, never the plain Message-ID).
    Ingest {
        /// An `.eml` file, a Maildir folder (`cur/` and `new/`) or a folder of `.eml` files.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<PathBuf>,
    },
}

pub(super) async fn run(ctx: &Context, cmd: MailCommand) -> Result<(), CliError> {
    match cmd {
        MailCommand::Ingest { paths } => ingest(ctx, &paths).await,
    }
}

async fn ingest(ctx: &Context, paths: &[PathBuf]) -> Result<(), CliError> {
    // Every path is checked before any message is taken, so a mistyped one takes nothing.
    let mut files = Vec::new();
    for path in paths {
        files.extend(intake_email::message_files(path).map_err(source_error)?);
    }
    let registry = ctx.registry()?;
    let secret = ctx.secret_key()?;
    let storage = ctx.storage().await?;
    let intake = intake_email::IntakeSettings::from_settings(&ctx.settings);
    let mut out = std::io::stdout().lock();
    for file in files {
        let raw = intake_email::read_message(&file).map_err(source_error)?;
        let ingested = intake_email::ingest_message_with(
            &storage,
            &registry,
            &secret,
            &raw,
            Utc::now(),
            "cli",
            &intake,
        )
        .await?;
        let line = serde_json::to_string(&ingested)
            .map_err(|e| CliError::Failed(anyhow::anyhow!("could not write a result: {e}")))?;
        writeln!(out, "{line}")
            .map_err(|e| CliError::Failed(anyhow::anyhow!("could not write a result: {e}")))?;
    }
    storage.close().await;
    Ok(())
}

fn source_error(e: SourceError) -> CliError {
    match e {
        SourceError::Missing(_) | SourceError::NotMessages(_) => CliError::bad(e.to_string()),
        SourceError::Io { .. } => CliError::Failed(e.into()),
    }
}
