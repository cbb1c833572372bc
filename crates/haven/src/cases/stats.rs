//! Dashboards (issue 17): folding referrals into per-day aggregates, and reading them for a
//! manager's or auditor's dashboard and its CSV export.
//!
//! The folder ([`fold`], run every minute by `haven serve` and by `haven stats fold`)
//! recomputes every `(service, London day)` touched since its high-water mark (with a few
//! minutes' overlap, so a write stamped just before the mark and committed after it is still
//! seen) from the referrals' clear columns and the anonymous out-of-scope counts, and
//! replaces that day's rows. Nothing a writer does touches `daily_stats`, so there is no hot
//! row. [`rebuild`] clears the table and folds every day again.
//!
//! Reading asks the policy for `view_dashboard` on the service (another team's service is
//! "not found", as a case is); each page view and CSV export is audited
//! (`dashboard.viewed`, `dashboard.exported`: who, the service and range, never a number).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use haven_core::calendar::{Division, london_date};
use haven_core::definition::ServiceDefinition;
use haven_core::statistics::{DayCounts, Range, Totals, fold_day, london_day_bounds};

use super::{CaseError, Cases, is_closed};
use crate::access::Staff;
use crate::policy::{Action, CaseScope, Decision};
use crate::services::Registry;
use crate::storage::Storage;
use crate::storage::audit::AuditEntry;

/// The name of the folder's high-water mark row.
pub const FOLDER: &str = "dashboards";

/// How far before its mark a fold looks again: writes are stamped before they commit.
pub const OVERLAP_MINUTES: i64 = 5;

/// How often `haven serve` folds.
pub const FOLD_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

/// The longest range a dashboard shows (about five years).
pub const MAX_RANGE_DAYS: i64 = 1_830;

/// What a fold did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Folded {
    /// Service days recomputed.
    pub days: usize,
}

/// The working-day calendar of a service's first-contact SLA (England and Wales without one).
fn division_of(def: Option<&ServiceDefinition>) -> Division {
    def.and_then(|d| d.slas.first())
        .and_then(|s| Division::from_key(&s.calendar))
        .unwrap_or(Division::EnglandAndWales)
}

/// Recomputes one service's London day from its referrals and out-of-scope counts.
pub async fn fold_one(
    storage: &Storage,
    registry: &Registry,
    service: &str,
    day: NaiveDate,
) -> Result<(), CaseError> {
    let def = registry.get(service);
    let (from, to) = london_day_bounds(day);
    let mut referrals = storage.stats_referrals(service, from, to).await?;
    if let Some(def) = def {
        for r in &mut referrals {
            r.closed = is_closed(def, &r.status);
        }
    }
    let out_of_scope = storage.stats_out_of_scope(service, day).await?;
    let signposts = storage.stats_signposts(service, day).await?;
    let mut counts = fold_day(&referrals, &out_of_scope, &signposts, division_of(def));
    // Cases destroyed since still count (anonymously) in the day they were received.
    for (key, n) in storage.stats_retired(service, day).await? {
        *counts.entry(key).or_insert(0) += n;
    }
    storage.replace_stats_day(service, day, &counts).await?;
    Ok(())
}

/// What one case adds to its service's day of dashboard counts (anonymous: dimensions,
/// values and counts), read from its clear columns before retention destroys it, so the
/// figures keep it (`stats_retired`). `None` when it is already gone.
pub async fn retired_counts(
    storage: &Storage,
    registry: &Registry,
    referral_id: &str,
) -> Result<Option<(String, NaiveDate, DayCounts)>, CaseError> {
    let Some((service, mut facts)) = storage.stats_facts_of(referral_id).await? else {
        return Ok(None);
    };
    let def = registry.get(&service);
    if let Some(def) = def {
        facts.closed = is_closed(def, &facts.status);
    }
    let day = london_date(facts.received_at);
    let counts = fold_day(&[facts], &[], &[], division_of(def));
    Ok(Some((service, day, counts)))
}

/// Folds everything changed since the mark (everything, before the first fold), then moves
/// the mark to `now` (taken before reading, so nothing written meanwhile is skipped).
pub async fn fold(
    storage: &Storage,
    registry: &Registry,
    now: DateTime<Utc>,
) -> Result<Folded, CaseError> {
    let old = storage.stats_high_water(FOLDER).await?;
    let since = old
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc) - Duration::minutes(OVERLAP_MINUTES));
    let days = storage.stats_dirty_days(since).await?;
    for (service, day) in &days {
        fold_one(storage, registry, service, *day).await?;
    }
    // Another server may have moved the mark meanwhile: it folded these days too.
    storage
        .advance_stats_high_water(FOLDER, old.as_deref(), now)
        .await?;
    Ok(Folded { days: days.len() })
}

/// Fills in the concerns (`referrals.concerns`) of referrals stored before they were kept,
/// for the services whose definition names a concern question, then folds again each day
/// that gained one, so the dashboards count them. Run in the background by `haven serve` at
/// start-up: cheap when nothing is missing. Returns (filled, could not be opened).
pub async fn fill_concerns(
    storage: &Storage,
    registry: &Registry,
) -> Result<(u64, u64), CaseError> {
    let services: Vec<String> = registry
        .definitions()
        .filter(|def| {
            def.statistics
                .as_ref()
                .is_some_and(|s| s.concern_question.is_some())
        })
        .map(|def| def.id.clone())
        .collect();
    let done = storage
        .backfill_concerns(500, &services, |service, answers| {
            registry
                .get(service)
                .and_then(|def| haven_core::statistics::concern_keys(def, answers))
        })
        .await?;
    let days: std::collections::BTreeSet<(String, NaiveDate)> = done
        .touched
        .into_iter()
        .map(|(service, received)| (service, london_date(received)))
        .collect();
    for (service, day) in &days {
        fold_one(storage, registry, service, *day).await?;
    }
    Ok((done.filled, done.failed))
}

/// Forgets every count and folds every day again.
pub async fn rebuild(
    storage: &Storage,
    registry: &Registry,
    now: DateTime<Utc>,
) -> Result<Folded, CaseError> {
    storage.clear_stats().await?;
    fold(storage, registry, now).await
}

/// The folder of `haven serve`: a fold every [`FOLD_PERIOD`], errors logged and retried.
pub async fn run_folder(storage: Storage, registry: Registry, clock: crate::auth::Clock) {
    let mut tick = tokio::time::interval(FOLD_PERIOD);
    loop {
        tick.tick().await;
        match fold(&storage, &registry, clock.now()).await {
            Ok(Folded { days: 0 }) => {}
            Ok(Folded { days }) => tracing::debug!(days, "dashboards folded"),
            Err(e) => tracing::warn!(error = %e, "folding the dashboards' counts"),
        }
    }
}

fn refuse(decision: Decision) -> Result<(), CaseError> {
    match decision {
        Decision::Allow => Ok(()),
        Decision::NotFound => Err(CaseError::NotFound),
        Decision::Forbidden => Err(CaseError::Forbidden(
            "Your role may not see the dashboards".to_owned(),
        )),
    }
}

/// The services whose dashboard `staff` may see (their team's; every team's for auditors).
pub fn services_for<'r>(cases: &Cases<'r>, staff: &Staff) -> Vec<&'r ServiceDefinition> {
    cases
        .registry
        .definitions()
        .filter(|def| {
            cases
                .policy
                .decide(
                    staff,
                    Action::ViewDashboard,
                    Some(CaseScope {
                        service: &def.id,
                        team: &def.team,
                    }),
                )
                .allowed()
        })
        .collect()
}

/// Checks a range: `to` not before `from`, and not longer than [`MAX_RANGE_DAYS`].
pub fn check_range(range: Range) -> Result<Range, CaseError> {
    if range.to < range.from {
        return Err(CaseError::invalid(
            "to",
            "The end date must be the same as or after the start date",
        ));
    }
    if (range.to - range.from).num_days() > MAX_RANGE_DAYS {
        return Err(CaseError::invalid(
            "to",
            "The date range must be 5 years or shorter",
        ));
    }
    Ok(range)
}

/// A service's totals over `range`, for someone allowed its dashboard.
pub async fn dashboard(
    cases: &Cases<'_>,
    staff: &Staff,
    service: &str,
    range: Range,
) -> Result<Totals, CaseError> {
    refuse(cases.policy.decide(staff, Action::ViewDashboard, None))?;
    let def = cases.registry.get(service).ok_or(CaseError::NotFound)?;
    refuse(cases.policy.decide(
        staff,
        Action::ViewDashboard,
        Some(CaseScope {
            service: &def.id,
            team: &def.team,
        }),
    ))?;
    let range = check_range(range)?;
    let (sums, daily) = cases
        .storage
        .stats_sums(
            service,
            range.from,
            range.to,
            range.period() == haven_core::statistics::Period::Month,
        )
        .await?;
    Ok(Totals::of_sums(&sums, &daily, range))
}

/// The totals for a dashboard page (or its print view), audited `dashboard.viewed`: who,
/// the service and the date range, never a number. The charts the page embeds read
/// [`dashboard`] without another entry (they show the page's own numbers).
pub async fn view(
    cases: &Cases<'_>,
    staff: &Staff,
    service: &str,
    range: Range,
    now: DateTime<Utc>,
) -> Result<Totals, CaseError> {
    let totals = dashboard(cases, staff, service, range).await?;
    let mut entry = AuditEntry::new(now, staff.actor(), "dashboard.viewed", "service", service);
    entry.reason = Some(format!("from={} to={}", range.from, range.to));
    cases.storage.append_audit(&entry).await?;
    Ok(totals)
}

/// The totals for a CSV export (what leaves the team), audited without numbers.
pub async fn export(
    cases: &Cases<'_>,
    staff: &Staff,
    service: &str,
    range: Range,
    now: DateTime<Utc>,
) -> Result<Totals, CaseError> {
    let totals = dashboard(cases, staff, service, range).await?;
    let mut entry = AuditEntry::new(now, staff.actor(), "dashboard.exported", "service", service);
    entry.reason = Some(format!("from={} to={}", range.from, range.to));
    cases.storage.append_audit(&entry).await?;
    Ok(totals)
}
