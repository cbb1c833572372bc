//! `haven dev …` (hidden): tools for benchmarks, never needed to run Haven.
//!
//! - `haven dev seed --count N`: N realistic referrals across the loaded services (the
//!   three built-ins' samples in `services/samples/`, with varied names, dates of birth,
//!   screening ticks, received dates, states, bands, workers, due dates and new information),
//!   screened by the real rules and sealed and written by the real storage code, in batched
//!   transactions, each young person indexed as intake indexes them (sealed identity and
//!   blind tokens; varied names, dates of birth, addresses and repeat referrals of the same
//!   child: `dev_people.rs`). Later benchmarks reuse it (`benches/queue.sh`).
//! - `haven dev match-latency --samples N`: p50/p99 of matching against the person index
//!   (`dev_latency.rs`, used by `benches/match_incremental.sh`).
//! - `haven dev session --email E`: a signed-in staff session for that account, printed as
//!   the `haven_session` cookie value (benchmarks of staff pages without the sign-in steps).

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use clap::{Args, Subcommand};
use haven_core::definition::ServiceDefinition;
use haven_core::{calendar, screening};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

use super::{CliError, Context};
use crate::crypto;
use crate::intake::first_contact_sla;
use crate::storage::StorageError;
use crate::storage::referrals::NewReferral;
use crate::storage::seed::SeedState;
use crate::storage::sessions::SessionStage;

#[derive(Debug, Subcommand)]
pub(super) enum DevCommand {
    /// Write N realistic sealed referrals across the built-in services.
    Seed(SeedArgs),
    /// Time matching against the person index, in process: p50/p99 of the possible links
    /// of a case, the "known elsewhere" match of one new referral, and searches.
    MatchLatency(super::dev_latency::LatencyArgs),
    /// Start a signed-in session for a staff account and print its cookie value.
    Session {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Args)]
pub(super) struct SeedArgs {
    /// How many referrals to write.
    #[arg(long)]
    count: u64,
    /// Referrals per transaction.
    #[arg(long, default_value_t = 2000)]
    batch: usize,
    /// Received dates spread over this many days before now.
    #[arg(long, default_value_t = 1095)]
    days: i64,
    /// Workers per team named `worker<N>@<team>.example` (cases are allocated to them).
    #[arg(long, default_value_t = 12)]
    workers: u32,
}

/// A first stage to seed for a built-in service: its stage, audience and sample answers.
const SAMPLES: [(&str, &str, &str, &str); 3] = [
    (
        "secos",
        "referral",
        "professional",
        include_str!("../../../../services/samples/secos-referral.json"),
    ),
    (
        "ceop",
        "report",
        "parent_carer",
        include_str!("../../../../services/samples/ceop-report-parent.json"),
    ),
    (
        "cyber-choices",
        "enquiry",
        "professional",
        include_str!("../../../../services/samples/cyber-choices-enquiry.json"),
    ),
];

const FIRST: [&str; 16] = [
    "Chloe", "Jordan", "Aisha", "Liam", "Maya", "Tyler", "Zara", "Ethan", "Amelia", "Kai",
    "Sophie", "Reece", "Hannah", "Callum", "Leah", "Noah",
];
const LAST: [&str; 12] = [
    "Marsh", "Khan", "Walker", "Patel", "Hughes", "Nowak", "Evans", "Begum", "Taylor", "Okafor",
    "Reid", "Murphy",
];

/// The SECOS screening tool filled in four ways (high, medium, low, not eligible), so the
/// seeded bands come from the real rules. Weights: how often each is drawn.
fn secos_screenings(sample: &Value) -> Vec<(u32, Value)> {
    vec![
        (20, sample["screening"].clone()),
        (
            35,
            json!({"moderate": ["whereabouts_unknown", "education_absence"],
                   "moderate_narrative": "Often missing at weekends; attendance has fallen.",
                   "cse_intelligence": false}),
        ),
        (
            30,
            json!({"vulnerabilities": ["low_self_esteem", "isolated"],
                   "vulnerabilities_narrative": "Isolated from friends since moving school.",
                   "cse_intelligence": false}),
        ),
        (15, json!({"cse_intelligence": false})),
    ]
}

/// Replaces every `name` and `date_of_birth` in the answers (any depth) with drawn ones.
fn vary(value: &mut Value, rng: &mut impl Rng, today: chrono::NaiveDate) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), &v) {
                    ("name", Value::String(_)) => {
                        let first = FIRST.choose(rng).copied().unwrap_or("Sam");
                        let last = LAST.choose(rng).copied().unwrap_or("Smith");
                        *v = Value::String(format!("{first} {last}"));
                    }
                    ("date_of_birth", Value::String(_)) => {
                        let born = today - Duration::days(rng.random_range(11 * 365..17 * 365));
                        *v = Value::String(born.format("%Y-%m-%d").to_string());
                    }
                    _ => vary(v, rng, today),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| vary(v, rng, today)),
        _ => {}
    }
}

fn weighted<'a>(choices: &'a [(u32, Value)], rng: &mut impl Rng) -> &'a Value {
    let total: u32 = choices.iter().map(|(w, _)| w).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (weight, value) in choices {
        if pick < *weight {
            return value;
        }
        pick -= weight;
    }
    &choices[0].1
}

/// Where a case received `age_days` ago has got to: older cases are mostly closed with
/// their SLA met; recent ones are open in every state, some still new.
fn lifecycle(
    def: &ServiceDefinition,
    received: DateTime<Utc>,
    age_days: i64,
    suggested: Option<&str>,
    workers: u32,
    rng: &mut impl Rng,
) -> SeedState {
    let Some(workflow) = def.workflow.as_ref() else {
        return SeedState::default();
    };
    let terminal: Vec<&str> = workflow
        .states
        .iter()
        .filter(|s| s.terminal)
        .map(|s| s.key.as_str())
        .collect();
    let open: Vec<&str> = workflow
        .states
        .iter()
        .filter(|s| !s.terminal && s.key != workflow.initial)
        .map(|s| s.key.as_str())
        .collect();
    let closed_share = match age_days {
        d if d > 90 => 0.9,
        d if d > 10 => 0.3,
        _ => 0.0,
    };
    let still_new = age_days <= 10 && rng.random_bool(0.6);
    let status = if still_new {
        None
    } else if rng.random_bool(closed_share) {
        terminal.choose(rng).map(|s| (*s).to_owned())
    } else {
        open.choose(rng).map(|s| (*s).to_owned())
    };
    let Some(status) = status else {
        return SeedState::default();
    };
    let bands = def.screening.as_ref().map(|s| s.bands.as_slice());
    let confirmed_band = match bands {
        Some(bands) if !bands.is_empty() && rng.random_bool(0.8) => {
            if rng.random_bool(0.85) {
                suggested.map(str::to_owned)
            } else {
                bands.choose(rng).cloned()
            }
        }
        _ => None,
    };
    let is_terminal = terminal.contains(&status.as_str());
    let assignee = rng.random_bool(0.85).then(|| {
        format!(
            "worker{}@{}.example",
            rng.random_range(1..=workers.max(1)),
            def.team
        )
    });
    // Half the allocated cases have a plan: one to three actions, most done once past due.
    let mut plan_actions = Vec::new();
    if let Some(owner) = assignee.as_ref().filter(|_| rng.random_bool(0.5)) {
        let today = Utc::now().date_naive();
        for _ in 0..rng.random_range(1..=3) {
            let due_on = received.date_naive() + Duration::days(rng.random_range(7..60));
            let done = is_terminal || (due_on < today && rng.random_bool(0.97));
            plan_actions.push((owner.clone(), due_on, done));
        }
    }
    SeedState {
        confirmed_band,
        assignee,
        plan_actions,
        // First contact is made within days; an open case past a month without it is rare.
        sla_met_at: (is_terminal || rng.random_bool(if age_days > 30 { 0.995 } else { 0.8 }))
            .then(|| received + Duration::hours(rng.random_range(2..96))),
        new_information_at: (!is_terminal && rng.random_bool(0.01))
            .then(|| received + Duration::days(rng.random_range(0..=age_days.max(0)))),
        status: Some(status),
    }
}

/// One referral drawn for `def`, with its owned parts.
struct Drawn {
    /// Index into the seeded services.
    which: usize,
    id: String,
    reference: String,
    answers: Value,
    /// The young person summary the queue opens (as intake stores it).
    person: Value,
    /// The concern's option keys for the dashboards (as intake stores them).
    concerns: Option<String>,
    screening: Option<Value>,
    /// The young person as the person index reads them (as intake indexes them).
    identity: Option<haven_core::people::Identity>,
    result: Option<screening::ScreeningResult>,
    received: DateTime<Utc>,
    due_by: Option<chrono::NaiveDate>,
    receipt_hash: String,
    urgent: bool,
    state: SeedState,
}

pub(super) async fn run(ctx: &Context, command: DevCommand) -> Result<(), CliError> {
    match command {
        DevCommand::Seed(args) => seed(ctx, &args).await,
        DevCommand::Session { email } => session(ctx, &email).await,
        DevCommand::MatchLatency(args) => super::dev_latency::run(ctx, &args).await,
    }
}

async fn session(ctx: &Context, email: &str) -> Result<(), CliError> {
    let storage = ctx.storage().await?;
    let login = storage
        .find_login(&email.to_ascii_lowercase())
        .await?
        .ok_or_else(|| CliError::bad(format!("email: there is no staff account {email}")))?;
    let id = crate::auth::session_id::new_session_id();
    let hash = crate::auth::session_id::session_hash(&id);
    storage
        .create_session(&hash, &login.user.id, SessionStage::Active, Utc::now())
        .await?;
    println!("{id}");
    Ok(())
}

async fn seed(ctx: &Context, args: &SeedArgs) -> Result<(), CliError> {
    if args.batch == 0 {
        return Err(CliError::bad("batch: must be at least 1"));
    }
    let registry = ctx.registry()?;
    let key = ctx.secret_key()?;
    let storage = ctx.storage().await?;
    crate::cases::queue::sync_queue_rules(&storage, &registry, Utc::now()).await?;
    let mut services = Vec::new();
    for (id, stage, audience, text) in SAMPLES {
        let Some(def) = registry.get(id) else {
            continue;
        };
        let sample: Value = serde_json::from_str(text)
            .map_err(|e| CliError::Failed(anyhow::anyhow!("sample of {id}: {e}")))?;
        let screenings = if id == "secos" {
            secos_screenings(&sample)
        } else {
            vec![(1, sample.get("screening").cloned().unwrap_or(Value::Null))]
        };
        services.push((def, stage, audience, sample, screenings));
    }
    if services.is_empty() {
        return Err(CliError::bad(
            "services: none of the built-in services is loaded",
        ));
    }
    // Screenings stored as real submissions store them: compactly (issue 11).
    let mut rules_ids = Vec::with_capacity(services.len());
    for (def, ..) in &services {
        rules_ids.push(storage.screening_rules_id(def).await?);
    }
    let started = Instant::now();
    let now = Utc::now();
    let mut rng = rand::rng();
    let mut written: u64 = 0;
    let mut people = super::dev_people::People::default();
    // The plaintext JSON the sealed columns hold (answers and screening), for the size
    // benchmark (benches/size.sh) to compare the database's bytes per referral with.
    let mut plaintext_bytes: u64 = 0;
    while written < args.count {
        let size = usize::try_from(args.count - written)
            .unwrap_or(usize::MAX)
            .min(args.batch);
        let mut drawn = Vec::with_capacity(size);
        for _ in 0..size {
            // Two in five SECOS, two in five CEOP, one in five Cyber Choices.
            let which = match rng.random_range(0..5) {
                0 | 1 => 0,
                2 | 3 => 1,
                _ => 2,
            }
            .min(services.len() - 1);
            let (def, stage, _, sample, screenings) = &services[which];
            let age_days = rng.random_range(0..args.days.max(1));
            let received =
                now - Duration::days(age_days) - Duration::seconds(rng.random_range(0..86_400));
            let today = calendar::london_date(received);
            let mut answers = sample.clone();
            if !answers.get("screening").is_none_or(Value::is_null) {
                answers["screening"] = weighted(screenings, &mut rng).clone();
            }
            vary(&mut answers, &mut rng, today);
            let child = people.draw(&mut rng, today);
            child.write_into(&def.id, &mut answers);
            let identity = def.identity(&answers).filter(|i| !i.is_empty());
            let result = match def.screening {
                Some(_) => Some(screening::screen(def, &answers, today).map_err(|e| {
                    CliError::Failed(anyhow::anyhow!("screening a seeded {}: {e:?}", def.id))
                })?),
                None => None,
            };
            let screening = result
                .as_ref()
                .map(serde_json::to_value)
                .transpose()
                .map_err(|e| CliError::Failed(e.into()))?;
            plaintext_bytes += (answers.to_string().len()
                + screening.as_ref().map_or(0, |s| s.to_string().len()))
                as u64;
            let suggested = result.as_ref().and_then(|r| r.suggested_band.clone());
            let state = lifecycle(
                def,
                received,
                age_days,
                suggested.as_deref(),
                args.workers,
                &mut rng,
            );
            drawn.push(Drawn {
                which,
                id: crypto::new_id(),
                reference: crypto::new_reference(&def.reference_prefix),
                due_by: first_contact_sla(def, stage)
                    .and_then(|sla| calendar::due_by(sla, received)),
                receipt_hash: key.receipt_hash(&crypto::new_receipt_code()),
                urgent: result.as_ref().is_some_and(|r| r.urgent) || rng.random_bool(0.02),
                person: haven_core::young_person::PersonSummary::of_referral(def, &answers)
                    .to_json(),
                concerns: haven_core::statistics::concern_keys(def, &answers),
                identity,
                answers,
                screening,
                result,
                received,
                state,
            });
        }
        loop {
            let batch: Vec<(NewReferral<'_>, SeedState)> = drawn
                .iter()
                .map(|d| {
                    let (def, stage, audience, _, _) = &services[d.which];
                    let initial = def.workflow.as_ref().map_or("new", |w| w.initial.as_str());
                    let r = d.result.as_ref();
                    (
                        NewReferral {
                            id: d.id.clone(),
                            reference: d.reference.clone(),
                            service: &def.id,
                            stage,
                            audience,
                            status: initial,
                            team: &def.team,
                            received_at: d.received,
                            urgent: d.urgent,
                            suggested_band: r.and_then(|r| r.suggested_band.as_deref()),
                            in_scope: r.and_then(|r| r.in_scope),
                            eligible: r.and_then(|r| r.eligible),
                            rules_version: r.and_then(|r| r.rules_version.as_deref()),
                            due_by: d.due_by,
                            answers: &d.answers,
                            person: Some(&d.person),
                            screening: d.screening.as_ref(),
                            screening_rules: rules_ids[d.which],
                            receipt_hash: d.receipt_hash.clone(),
                            actor: "public",
                            files: None,
                            uploads: &[],
                            alert: None,
                            identity: d.identity.as_ref(),
                            concerns: d.concerns.as_deref(),
                        },
                        d.state.clone(),
                    )
                })
                .collect();
            match storage.seed_referrals(&batch).await {
                Ok(()) => break,
                // A reference happened to be taken: draw new ones for the batch and retry.
                Err(StorageError::Conflict) => {
                    drop(batch);
                    for d in &mut drawn {
                        d.reference = crypto::new_reference(&services[d.which].0.reference_prefix);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        written += size as u64;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "seeded {written}/{} in {secs:.0} s ({:.0} referrals/s)",
            args.count,
            written as f64 / secs.max(0.001)
        );
    }
    eprintln!(
        "plaintext JSON (answers and screening): {} bytes per referral",
        plaintext_bytes / written.max(1)
    );
    storage.optimize_queue_plans().await?;
    Ok(())
}
