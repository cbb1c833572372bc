//! `haven dev match-latency --samples N` (hidden): how long matching against the person
//! index takes (issue 16: "matching one new referral against 1,000,000 indexed people
//! answers in < 10 ms p99; a search the same"), timing the production functions in process
//! on a seeded database (`haven dev seed`), for `benches/match_incremental.sh`:
//!
//! - the possible links of a case (`cases::people::links`, the case summary's panel);
//! - the "known elsewhere" match of one new referral (`cases::people::match_pending` with
//!   that one record waiting, its write included);
//! - searches (`cases::people::search`) by name and date of birth, by postcode, and by name
//!   alone, for a sampled child, as a manager of their team;
//! - and the two parts of a match: the index query for 50 candidates
//!   (`Storage::person_candidates`) and opening their sealed identities.
//!
//! Each sample is a random indexed referral; the first is a warm-up and not counted.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::Utc;
use clap::Args;

use super::{CliError, Context};
use crate::access::{Role, Staff};
use crate::cases::Cases;
use crate::cases::people::{links, match_pending, search};
use crate::policy::Policy;

#[derive(Debug, Args)]
pub(super) struct LatencyArgs {
    /// How many indexed referrals to time each operation with.
    #[arg(long, default_value_t = 200)]
    samples: i64,
}

const LINKS: &str = "possible links of a case (links)";
const ELSEWHERE: &str = "known elsewhere: one new referral (match_pending)";
const NAME_DOB: &str = "search: name and date of birth";
const POSTCODE: &str = "search: postcode";
const NAME: &str = "search: name alone";
const QUERY: &str = "part of a match: the index query (50 candidates)";
const OPEN: &str = "part of a match: opening the candidates' identities";

pub(super) async fn run(ctx: &Context, args: &LatencyArgs) -> Result<(), CliError> {
    if args.samples < 1 {
        return Err(CliError::bad("samples: must be at least 1"));
    }
    let registry = ctx.registry()?;
    let key = ctx.secret_key()?;
    let storage = ctx.storage().await?;
    let policy = Policy::builtin().map_err(|e| CliError::Failed(anyhow::anyhow!(e)))?;
    let cases = Cases {
        storage: &storage,
        registry: &registry,
        policy: &policy,
        key: &key,
        public_url: "http://127.0.0.1",
    };
    let indexed = storage.person_count().await?;
    let ids = storage.person_sample(args.samples + 1).await?;
    let people = storage.person_identities(&ids).await?;
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut found: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, (id, identity)) in people.iter().enumerate() {
        let Some(referral) = storage.find_referral_by_id(id).await? else {
            continue;
        };
        let staff = Staff {
            user_id: "match-latency".to_owned(),
            email: "match-latency@example.org".to_owned(),
            role: Role::Manager,
            team: Some(referral.team.clone()),
        };
        let mut timed = |label, started: Instant, hits: usize| {
            if n > 0 {
                times
                    .entry(label)
                    .or_default()
                    .push(started.elapsed().as_secs_f64() * 1000.0);
                *found.entry(label).or_default() += hits;
            }
        };
        let now = Utc::now();
        let started = Instant::now();
        let shown = links(&cases, &staff, &referral, now)
            .await
            .map_err(failed)?;
        timed(LINKS, started, shown.possible.len());

        // The parts of a match: the index query, and opening the candidates' identities.
        let tokens = storage.person_tokens(&identity.blocking_keys());
        let started = Instant::now();
        let candidates = storage.person_candidates(&tokens, Some(id), 50).await?;
        timed(QUERY, started, candidates.len());
        let ids: Vec<String> = candidates.iter().map(|c| c.referral_id.clone()).collect();
        let started = Instant::now();
        let opened = storage.person_identities(&ids).await?;
        timed(OPEN, started, opened.len());

        storage.mark_person_unmatched(id).await?;
        let started = Instant::now();
        let matched = match_pending(&storage, &registry, now)
            .await
            .map_err(failed)?;
        timed(ELSEWHERE, started, matched);

        let given = identity.given.first();
        let mut searches = Vec::new();
        if let (Some(given), Some(family), Some(born)) =
            (given, &identity.family, identity.date_of_birth)
        {
            searches.push((
                NAME_DOB,
                format!("{given} {family} {}", born.format("%d/%m/%Y")),
            ));
        }
        if let Some(postcode) = &identity.postcode {
            searches.push((POSTCODE, postcode.clone()));
        }
        if let (Some(given), Some(family)) = (given, &identity.family) {
            searches.push((NAME, format!("{given} {family}")));
        }
        for (label, q) in searches {
            let started = Instant::now();
            let hits = search(&cases, &staff, &q, now).await.map_err(failed)?;
            timed(label, started, hits.len());
        }
    }
    println!(
        "{indexed} indexed people; {} samples",
        people.len().saturating_sub(1)
    );
    println!();
    println!(
        "| operation | samples | p50 ms | p99 ms | max ms | results per sample | target p99 < 10 ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    for label in [LINKS, ELSEWHERE, NAME_DOB, POSTCODE, NAME, QUERY, OPEN] {
        let Some(list) = times.get_mut(label) else {
            continue;
        };
        list.sort_by(f64::total_cmp);
        let at = |q: f64| list[((q * list.len() as f64).ceil() as usize).clamp(1, list.len()) - 1];
        let (p50, p99, max) = (at(0.5), at(0.99), at(1.0));
        let results = found.get(label).copied().unwrap_or(0) as f64 / list.len() as f64;
        println!(
            "| {label} | {} | {p50:.2} | {p99:.2} | {max:.2} | {results:.1} | {} |",
            list.len(),
            if p99 < 10.0 { "ok" } else { "MISSED" }
        );
    }
    storage.close().await;
    Ok(())
}

fn failed(e: crate::cases::CaseError) -> CliError {
    CliError::Failed(anyhow::anyhow!("{e}"))
}
