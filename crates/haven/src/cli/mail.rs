//! `haven mail …`: email intake from the command line (issue 15). `haven mail ingest PATH…`
//! takes in `.eml` files, Maildir folders or folders of `.eml` files through
//! `intake_email::ingest_message` and prints one JSON line per message. `haven mail poll`
//! takes in what waits in the configured mailboxes (`imap_*`, `maildir` settings) once and
//! prints one JSON line per mailbox.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, Context};
use crate::intake_email::{self, SourceError};
use crate::mail_sources::maildir::MaildirSource;
use crate::mail_sources::{self, Intake, Source};

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
    /// Take in, once, what waits in the configured mailboxes (`imap_host`…, `maildir`), as
    /// `haven serve` does in the background: each message stored, then marked seen (IMAP
    /// `\Seen` or `imap_move_to`; Maildir `new/` → `cur/` with the S flag). Prints one JSON
    /// line per mailbox: `{"source", "drafts", "quarantined", "duplicates", "already_taken"}`.
    Poll {
        /// A Maildir folder to take from instead of the configured mailboxes.
        #[arg(long, value_name = "DIR")]
        maildir: Option<PathBuf>,
    },
}

pub(super) async fn run(ctx: &Context, cmd: MailCommand) -> Result<(), CliError> {
    match cmd {
        MailCommand::Ingest { paths } => ingest(ctx, &paths).await,
        MailCommand::Poll { maildir } => poll(ctx, maildir).await,
    }
}

async fn poll(ctx: &Context, maildir: Option<PathBuf>) -> Result<(), CliError> {
    let sources = match maildir {
        Some(dir) => vec![Source::Maildir(MaildirSource::new(
            dir,
            std::time::Duration::from_secs(ctx.settings.maildir_poll_secs),
        ))],
        None => mail_sources::sources(&ctx.settings, std::env::var("HAVEN_IMAP_PASSWORD").ok())
            .map_err(|e| CliError::bad(e.to_string()))?,
    };
    if sources.is_empty() {
        return Err(CliError::bad(
            "no mailbox is configured: set imap_host (with imap_username and a password) or \
             maildir, or give --maildir DIR",
        ));
    }
    let storage = ctx.storage().await?;
    let intake = Intake {
        registry: ctx.registry()?,
        secret: ctx.secret_key()?,
        clock: storage.clock().clone(),
        storage,
        settings: crate::intake_email::IntakeSettings::from_settings(&ctx.settings),
    };
    let mut out = std::io::stdout().lock();
    let mut failed = None;
    for source in &sources {
        match source.poll_once(&intake).await {
            Ok(report) => {
                let line = serde_json::to_string(&report).map_err(|e| {
                    CliError::Failed(anyhow::anyhow!("could not write a result: {e}"))
                })?;
                writeln!(out, "{line}").map_err(|e| {
                    CliError::Failed(anyhow::anyhow!("could not write a result: {e}"))
                })?;
            }
            Err(e) => {
                super::log_writer::say(format_args!("haven: {}: {e}", source.key()));
                failed = Some(e);
            }
        }
    }
    intake.storage.close().await;
    match failed {
        Some(e) => Err(CliError::Failed(anyhow::anyhow!(
            "a mailbox could not be read: {e}"
        ))),
        None => Ok(()),
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
            storage.clock().now(),
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
