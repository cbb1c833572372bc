//! `haven retention …`: the retention schedule of each service (`[retention]`), applied.
//! `plan` is a dry run (what would go and when), `run` destroys what is due today
//! (`cases::retention`), `hold` and `lift` place and lift a legal hold from the command line
//! (audited as `cli`; staff use the case's "Legal hold" page).

use chrono::{NaiveDate, Utc};
use clap::Subcommand;
use haven_core::answer_words::day_in_words;
use haven_core::retention::Due;
use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, Context};
use crate::cases::inbox_retention::{self, InboxPlanEntry};
use crate::cases::retention::{self, PlanEntry};
use crate::intake::uk_today;
use crate::storage::Storage;

#[derive(Debug, Subcommand)]
pub(super) enum RetentionCommand {
    /// Dry run: every closed case of a service with a retention schedule, when it is due
    /// and under which rule, soonest first. Changes nothing.
    Plan {
        /// Only the cases due by this day (YYYY-MM-DD) [default: every closed case].
        #[arg(long, value_name = "DAY")]
        due_by: Option<NaiveDate>,
        /// One JSON object a line instead of words.
        #[arg(long)]
        json: bool,
    },
    /// Destroy every case due today and not held: its key first (crypto-shredding), then
    /// every row, job and outbox email of it; each audited without content.
    Run,
    /// Place a legal hold on a case: it is never destroyed until the hold is lifted.
    Hold {
        /// The case reference.
        reference: String,
        /// Why the case must be kept (an investigation, a claim, a request).
        #[arg(long)]
        reason: String,
    },
    /// Lift a case's legal hold.
    Lift {
        /// The case reference.
        reference: String,
    },
}

pub(super) async fn run(ctx: &Context, cmd: RetentionCommand) -> Result<(), CliError> {
    let registry = ctx.registry()?;
    let storage = ctx.storage().await?;
    let result = match cmd {
        RetentionCommand::Plan { due_by, json } => plan(&storage, &registry, due_by, json).await,
        RetentionCommand::Run => run_now(ctx, &storage, &registry).await,
        RetentionCommand::Hold { reference, reason } => {
            hold(&storage, &reference, Some(&reason)).await
        }
        RetentionCommand::Lift { reference } => hold(&storage, &reference, None).await,
    };
    storage.close().await;
    result
}

/// The plan, with a progress bar on standard error (hidden when it is not a terminal).
async fn weighed(
    storage: &Storage,
    registry: &crate::services::Registry,
) -> Result<Vec<PlanEntry>, CliError> {
    let total = retention::candidates(storage, registry)
        .await
        .map_err(case_error)?
        .len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} closed cases ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("Weighing");
    let plan = retention::plan(storage, registry, |done| bar.set_position(done as u64))
        .await
        .map_err(case_error)?;
    bar.finish_and_clear();
    Ok(plan)
}

async fn plan(
    storage: &Storage,
    registry: &crate::services::Registry,
    due_by: Option<NaiveDate>,
    json: bool,
) -> Result<(), CliError> {
    let plan = weighed(storage, registry).await?;
    let mut due_now = 0;
    let today = uk_today(Utc::now());
    for entry in &plan {
        if entry.due.is_due(today) {
            due_now += 1;
        }
        if let Some(day) = due_by
            && !entry.due.is_due(day)
        {
            continue;
        }
        if json {
            let (state, on) = match &entry.due {
                Due::Open => ("open", None),
                Due::Held { on, .. } => ("held", *on),
                Due::Review { .. } => ("review", None),
                Due::On { .. } if entry.due.is_due(today) => ("due", entry_day(&entry.due)),
                Due::On { .. } => ("scheduled", entry_day(&entry.due)),
            };
            println!(
                "{}",
                serde_json::json!({
                    "reference": entry.reference,
                    "service": entry.service,
                    "status": entry.status,
                    "rule": entry.due.rule(),
                    "state": state,
                    "due_on": on.map(|d| d.to_string()),
                })
            );
        } else {
            println!("{}", words(entry, today));
        }
    }
    let inbox = inbox_retention::plan(storage, registry)
        .await
        .map_err(case_error)?;
    let inbox_due = inbox.iter().filter(|e| e.is_due(today)).count();
    for entry in &inbox {
        if let Some(day) = due_by
            && !entry.is_due(day)
        {
            continue;
        }
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "email": entry.id,
                    "service": entry.service,
                    "rule": entry.rule.as_ref().map(|_| haven_core::retention::INBOX_RULE),
                    "state": match entry.due_on {
                        None => "kept",
                        Some(_) if entry.is_due(today) => "due",
                        Some(_) => "scheduled",
                    },
                    "due_on": entry.due_on.map(|d| d.to_string()),
                })
            );
        } else {
            println!("{}", inbox_words(entry, today));
        }
    }
    if !json {
        eprintln!(
            "{} closed cases; {due_now} due for destruction today (haven retention run).",
            plan.len()
        );
        eprintln!(
            "{} emails turned down or quarantined; {inbox_due} due for destruction today.",
            inbox.len()
        );
    }
    Ok(())
}

fn inbox_words(entry: &InboxPlanEntry, today: NaiveDate) -> String {
    let what = match (&entry.rule, entry.due_on) {
        (None, _) => "kept: no inbox rule in any definition".to_owned(),
        (Some(rule), None) => format!("kept until a decision is made ({rule})"),
        (Some(rule), Some(on)) if on <= today => {
            format!("DUE since {} ({rule})", day_in_words(on))
        }
        (Some(rule), Some(on)) => format!("due {} ({rule})", day_in_words(on)),
    };
    format!(
        "email received {}  {}  {what}",
        day_in_words(entry.received_on),
        entry.service.as_deref().unwrap_or("no service"),
    )
}

fn entry_day(due: &Due) -> Option<NaiveDate> {
    match due {
        Due::On { on, .. } => Some(*on),
        _ => None,
    }
}

fn words(entry: &PlanEntry, today: NaiveDate) -> String {
    let what = match &entry.due {
        Due::Open => "open".to_owned(),
        Due::Held { rule, on } => format!(
            "legal hold (else due {} under {rule})",
            on.map_or_else(|| "when reviewed".to_owned(), day_in_words)
        ),
        Due::Review { rule } => format!("no date of birth or age known: review ({rule})"),
        Due::On { rule, on } if *on <= today => {
            format!("DUE since {} under {rule}", day_in_words(*on))
        }
        Due::On { rule, on } => format!("due {} under {rule}", day_in_words(*on)),
    };
    format!("{}  {}  {}", entry.reference, entry.service, what)
}

async fn run_now(
    ctx: &Context,
    storage: &Storage,
    registry: &crate::services::Registry,
) -> Result<(), CliError> {
    let plan = weighed(storage, registry).await?;
    let secret = ctx.secret_key()?;
    let outbox = crate::mail::outbox_of(&ctx.settings, storage.keys().clone());
    let now = Utc::now();
    let report = retention::run(
        storage,
        registry,
        &secret,
        &plan,
        uk_today(now),
        now,
        Some(&outbox),
    )
    .await
    .map_err(case_error)?;
    for reference in &report.destroyed {
        println!("{reference} destroyed");
    }
    eprintln!(
        "{} cases destroyed, {} skipped (held or already gone), {} outbox emails removed.",
        report.destroyed.len(),
        report.skipped,
        report.outbox_files
    );
    if report.vacuumed > 0 {
        eprintln!(
            "{} tables vacuumed (PostgreSQL: no dead copy of a destroyed row is left).",
            report.vacuumed
        );
    }
    let inbox = inbox_retention::plan(storage, registry)
        .await
        .map_err(case_error)?;
    let emails = inbox_retention::run(storage, &inbox, uk_today(now), now)
        .await
        .map_err(case_error)?;
    eprintln!("{emails} emails that never became a case destroyed.");
    Ok(())
}

async fn hold(storage: &Storage, reference: &str, reason: Option<&str>) -> Result<(), CliError> {
    let reference = reference.trim().to_ascii_uppercase();
    let referral = storage
        .find_referral(&reference)
        .await?
        .ok_or_else(|| CliError::bad(format!("reference: no case {reference}")))?;
    let now = Utc::now();
    match reason.map(str::trim) {
        Some("") => return Err(CliError::bad("--reason: say why the case must be kept")),
        Some(reason) => {
            if haven_core::answers::forbidden_character(reason).is_some()
                || reason.chars().count() > retention::REASON_MAX
            {
                return Err(CliError::bad(format!(
                    "--reason: at most {} characters, no control characters",
                    retention::REASON_MAX
                )));
            }
            storage
                .place_legal_hold(&referral.id, reason, "cli", now)
                .await?;
            eprintln!("Legal hold placed on {reference}.");
        }
        None => {
            if storage.lift_legal_hold(&referral.id, "cli", now).await? {
                eprintln!("Legal hold on {reference} lifted.");
            } else {
                return Err(CliError::bad(format!(
                    "reference: {reference} has no legal hold"
                )));
            }
        }
    }
    Ok(())
}

fn case_error(e: crate::cases::CaseError) -> CliError {
    CliError::Failed(anyhow::anyhow!("{e}"))
}

/// The daily retention job of `haven serve`: the first pass an hour after start, then every
/// 24 hours, on the server's clock. Several servers may share the database: each day's pass is
/// leased to one of them (`retention::daily_pass`), and the others skip it.
pub(crate) async fn daily(
    storage: Storage,
    registry: crate::services::Registry,
    secret: crate::crypto::SecretKey,
    outbox: Option<crate::mail::outbox::Outbox>,
    clock: crate::auth::Clock,
) {
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
    loop {
        tick.tick().await;
        let now = clock.now();
        match retention::daily_pass(&storage, &registry, &secret, outbox.as_ref(), now).await {
            Ok(None) => tracing::info!("retention: another server runs today's pass"),
            Ok(Some(report)) if report.destroyed.is_empty() && report.emails == 0 => {}
            Ok(Some(report)) => tracing::info!(
                destroyed = report.destroyed.len(),
                skipped = report.skipped,
                emails = report.emails,
                "retention: destroyed what was due"
            ),
            Err(e) => tracing::error!(error = %e, "retention: the daily pass failed"),
        }
    }
}
