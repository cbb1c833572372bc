//! Commands that decide without storing anything: `haven screen`, `haven sla due` and
//! `haven check-anonymity`. They print the same JSON (or date) the API would.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use haven_core::anonymity::MAX_CHECKED_BYTES;
use haven_core::definition::ServiceDefinition;
use haven_core::{calendar, screening};
use serde_json::Value;

use super::{CliError, Context};
use crate::cases::checks::anonymity_result;
use crate::services::Registry;

#[derive(Debug, Args)]
pub(super) struct ScreenArgs {
    /// Service id (`secos`, `ceop`, `cyber-choices`, …).
    #[arg(long)]
    service: String,
    /// The answers document (JSON). Only what screening reads is validated.
    file: PathBuf,
    /// The day ages are counted on (`YYYY-MM-DD`) [default: today in Europe/London].
    #[arg(long, value_name = "DATE")]
    on: Option<chrono::NaiveDate>,
}

#[derive(Debug, Subcommand)]
pub(super) enum SlaCommand {
    /// Prints the due date (`YYYY-MM-DD`) of the service's first-contact SLA.
    Due {
        /// Service id.
        #[arg(long)]
        service: String,
        /// When the referral was received (RFC 3339, e.g. `2026-12-24T16:30:00Z`).
        #[arg(long, value_name = "RFC3339")]
        received: String,
        /// Which SLA [default: `first_contact`, or the service's first SLA].
        #[arg(long)]
        sla: Option<String>,
    },
}

fn service<'r>(registry: &'r Registry, id: &str) -> Result<&'r ServiceDefinition, CliError> {
    registry.get(id).ok_or_else(|| {
        let known: Vec<&str> = registry.definitions().map(|d| d.id.as_str()).collect();
        CliError::bad(format!(
            "--service: there is no service `{id}` (loaded: {})",
            known.join(", ")
        ))
    })
}

fn read_answers(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::bad(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::bad(format!(
            "{}:{}:{}: not JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// `haven screen`: prints the screening result JSON (the API's `screening` shape).
pub(super) fn screen(ctx: &Context, args: &ScreenArgs) -> Result<(), CliError> {
    let registry = ctx.registry()?;
    let def = service(&registry, &args.service)?;
    let answers = read_answers(&args.file)?;
    // A document may be the answers themselves or a whole submission body.
    let answers = match answers.get("answers") {
        Some(inner) if answers.get("service").is_some() => inner.clone(),
        _ => answers,
    };
    let today = args.on.unwrap_or_else(|| calendar::london_date(Utc::now()));
    let result = screening::screen(def, &answers, today).map_err(|errors| {
        let listed: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        CliError::bad(format!("{}: {}", args.file.display(), listed.join("; ")))
    })?;
    print_json(&result)
}

/// `haven sla due`: prints the due date.
pub(super) fn sla(ctx: &Context, cmd: &SlaCommand) -> Result<(), CliError> {
    let SlaCommand::Due {
        service: id,
        received,
        sla,
    } = cmd;
    let registry = ctx.registry()?;
    let def = service(&registry, id)?;
    let received_at = DateTime::parse_from_rfc3339(received.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            CliError::bad(format!(
                "--received: `{received}` is not an RFC 3339 time ({e})"
            ))
        })?;
    let chosen =
        match sla {
            Some(key) => def.slas.iter().find(|s| &s.key == key).ok_or_else(|| {
                CliError::bad(format!("--sla: service `{id}` has no SLA `{key}`"))
            })?,
            None => def
                .slas
                .iter()
                .find(|s| s.key == "first_contact")
                .or_else(|| def.slas.first())
                .ok_or_else(|| CliError::bad(format!("--service: `{id}` defines no SLA")))?,
        };
    let due = calendar::due_by(chosen, received_at).ok_or_else(|| {
        CliError::bad(format!(
            "--service: SLA `{}` names an unknown calendar `{}`",
            chosen.key, chosen.calendar
        ))
    })?;
    print_line(&due.format("%Y-%m-%d").to_string())
}

/// `haven check-anonymity`: reads text on stdin, prints `{identifying, findings}`.
pub(super) fn check_anonymity() -> Result<(), CliError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_CHECKED_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::Failed(anyhow::anyhow!("could not read standard input: {e}")))?;
    if bytes.len() > MAX_CHECKED_BYTES {
        return Err(CliError::bad(format!(
            "stdin: the text is longer than {} KiB",
            MAX_CHECKED_BYTES / 1024
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        CliError::bad(format!(
            "stdin: not UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    print_json(&anonymity_result(&text))
}

fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Failed(e.into()))?;
    print_line(&text)
}

/// Writes one line to stdout; a closed pipe (`haven screen … | head`) is not an error.
fn print_line(text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Failed(
            anyhow::anyhow!("could not write to standard output: {e}"),
        )),
        _ => Ok(()),
    }
}
