//! `haven outbox …`: read the sealed emails of the default outbox (`mail::outbox`). Needs
//! the master keys, like `haven keys`; does not open the database.

use clap::Subcommand;
use serde_json::json;

use super::{CliError, Context};
use crate::mail::outbox::{Outbox, OutboxError, OutboxMessage};
use crate::mail::{mask_address, outbox_of};

#[derive(Debug, Subcommand)]
pub(super) enum OutboxCommand {
    /// One line per email, oldest first: id, date, masked recipient, subject.
    List {
        /// A JSON array instead (`id`, `date`, `to` masked, `subject`).
        #[arg(long)]
        json: bool,
    },
    /// Print one whole email as sent (headers and body).
    Show {
        /// The email's id (or file name) from `haven outbox list`.
        #[arg(
            value_name = "ID",
            required_unless_present = "latest_to",
            conflicts_with = "latest_to"
        )]
        id: Option<String>,
        /// Instead of an id: the newest email to this address.
        #[arg(long, value_name = "ADDRESS")]
        latest_to: Option<String>,
    },
}

pub(super) fn run(ctx: &Context, cmd: OutboxCommand) -> Result<(), CliError> {
    let outbox = outbox_of(&ctx.settings, ctx.master_keys()?);
    match cmd {
        OutboxCommand::List { json } => list(&outbox, json),
        OutboxCommand::Show { id, latest_to } => {
            let message = match (id, latest_to) {
                (Some(id), _) => outbox.read(&id).map_err(failure)?,
                (None, Some(address)) => latest_to_address(&outbox, &address)?,
                (None, None) => return Err(CliError::bad("ID: give an id or --latest-to")),
            };
            print!("{}", message.message);
            if !message.message.ends_with('\n') {
                println!();
            }
            Ok(())
        }
    }
}

fn list(outbox: &Outbox, as_json: bool) -> Result<(), CliError> {
    let messages = outbox.list().map_err(failure)?;
    if as_json {
        let rows: Vec<_> = messages
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "date": m.date.to_rfc3339(),
                    "to": mask_address(&m.to),
                    "subject": m.subject,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    for m in &messages {
        println!(
            "{}  {}  {}  {}",
            m.id,
            m.date.format("%-d %B %Y %H:%M UTC"),
            mask_address(&m.to),
            m.subject
        );
    }
    Ok(())
}

fn latest_to_address(outbox: &Outbox, address: &str) -> Result<OutboxMessage, CliError> {
    let wanted = address.trim().to_lowercase();
    outbox
        .list()
        .map_err(failure)?
        .into_iter()
        .rev()
        .find(|m| m.to.trim().to_lowercase() == wanted)
        .ok_or_else(|| CliError::bad("--latest-to: no email to that address in the outbox"))
}

fn failure(e: OutboxError) -> CliError {
    match e {
        OutboxError::BadId(_) | OutboxError::NotFound(_) => CliError::bad(format!("ID: {e}")),
        other => CliError::Failed(other.into()),
    }
}
