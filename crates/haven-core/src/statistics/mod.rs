//! Management information (issue 17): what the dashboards count, computed without I/O.
//!
//! The folder (`haven::cases::stats`) reads one service's day of referrals (only their
//! un-sealed, coded columns: [`ReferralFacts`]) and that day's anonymous out-of-scope counts
//! ([`OutOfScope`]), and [`fold_day`] turns them into counts per dimension and value, stored
//! as `daily_stats` rows. A dashboard then sums those rows over a date range ([`Totals`]).
//! Nothing here sees content: no answers, names or free text reach this module.
//!
//! The concern of an accepted referral is counted from `referrals.concerns`: the option
//! keys of the definition's `[statistics] concern_question`, written in the clear at intake
//! ([`concern_keys`]) so the fold never opens sealed answers. The concerns of out-of-scope
//! reports and where they were signposted are anonymous counts (`outcome_counts`,
//! `signpost_counts`), linked to no referral.

pub mod csv;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::calendar::{Calendar, Division, london_date};

/// The dimensions folded, as stored in `daily_stats.dimension`.
pub mod dimension {
    /// Every referral received (value `all`).
    pub const RECEIVED: &str = "received";
    /// Who reported (the stage's audience key).
    pub const AUDIENCE: &str = "audience";
    /// How it came: `web` (the forms and the API) or `email` (converted from the inbox).
    pub const CHANNEL: &str = "channel";
    /// The band screening suggested ([`super::NO_BAND`] without one).
    pub const BAND_SUGGESTED: &str = "band_suggested";
    /// The band staff confirmed ([`super::UNCONFIRMED`] until then).
    pub const BAND_CONFIRMED: &str = "band_confirmed";
    /// Whether the confirmed band is the suggested one: `same`, `changed`, `unconfirmed`.
    pub const BAND_AGREEMENT: &str = "band_agreement";
    /// The workflow state the case is in now.
    pub const STATE: &str = "state";
    /// The closure outcome of a closed case.
    pub const OUTCOME: &str = "outcome";
    /// Urgent at screening: `yes` / `no`.
    pub const URGENT: &str = "urgent";
    /// First contact against the service's SLA: `in_time`, `late`, `not_yet`.
    pub const FIRST_CONTACT: &str = "first_contact";
    /// Working days from receipt to first contact (`0`…`19`, `20+`).
    pub const FIRST_CONTACT_DAYS: &str = "first_contact_days";
    /// Open cases by the id of the worker they are allocated to (`unallocated`).
    pub const OPEN_BY_WORKER: &str = "open_by_worker";
    /// Whether staff confirmed the referral is about a young person of another referral
    /// (a repeat referral, a linked case): `yes` / `no`.
    pub const LINKED: &str = "linked";
    /// Out-of-scope reports not accepted (value `all`).
    pub const OUT_OF_SCOPE: &str = "out_of_scope";
    /// Out-of-scope reports by concern key (a report with two concerns counts in both).
    pub const OUT_OF_SCOPE_CONCERN: &str = "out_of_scope_concern";
    /// Out-of-scope reports by audience.
    pub const OUT_OF_SCOPE_AUDIENCE: &str = "out_of_scope_audience";
    /// Out-of-scope reports by the signpost they were given (a report given two counts in
    /// both).
    pub const OUT_OF_SCOPE_SIGNPOST: &str = "out_of_scope_signpost";
    /// Referrals by concern: an option key of the definition's `concern_question` (a
    /// referral with two concerns counts in both; [`super::NO_CONCERN`] for none chosen).
    pub const CONCERN: &str = "concern";
}

/// The value of `concern` for a referral that chose none (parenthesised: never a key).
pub const NO_CONCERN: &str = "(none)";

/// The concern of a referral as kept in the clear: the option keys of `question` (a
/// `choice` or `multiple_choice` question) found in `answers`, only keys the question
/// offers (never free text), sorted and comma-joined; empty when none is chosen. `None`
/// without a concern question or when the question is not in the definition.
pub fn concern_keys(
    def: &crate::definition::ServiceDefinition,
    answers: &serde_json::Value,
) -> Option<String> {
    let key = def.statistics.as_ref()?.concern_question.as_deref()?;
    let question = def.question(key)?;
    let value = key
        .split('.')
        .try_fold(answers, |v, part| v.get(part))
        .unwrap_or(&serde_json::Value::Null);
    let chosen: Vec<&str> = match value {
        serde_json::Value::String(one) => vec![one.as_str()],
        serde_json::Value::Array(many) => many.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    let mut keys: Vec<&str> = chosen
        .into_iter()
        .filter(|k| question.options.iter().any(|o| o.key == *k))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    Some(keys.join(","))
}

/// The value of `band_suggested` without a band (parenthesised: never a band's key).
pub const NO_BAND: &str = "(none)";

/// The value of `band_confirmed` before staff confirm one.
pub const UNCONFIRMED: &str = "(unconfirmed)";

/// The most working days counted one by one; more is one `20+` bucket.
pub const DAYS_CAP: u32 = 20;

/// The clear, coded columns of one referral the folder counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralFacts {
    pub audience: String,
    /// Converted from an emailed referral.
    pub by_email: bool,
    pub suggested_band: Option<String>,
    pub confirmed_band: Option<String>,
    pub status: String,
    /// The state is a closed one (terminal, or the casework's closure state).
    pub closed: bool,
    /// The closure outcome, once closed with one.
    pub outcome: Option<String>,
    pub urgent: bool,
    pub received_at: DateTime<Utc>,
    /// When the SLA's first contact was met (a state that meets it reached).
    pub sla_met_at: Option<DateTime<Utc>>,
    /// The SLA's due day, when the service has one.
    pub due_by: Option<NaiveDate>,
    pub assignee: Option<String>,
    /// A staff-confirmed link to another referral of the same young person.
    pub linked: bool,
    /// The concern's option keys, comma-joined ([`concern_keys`]); `None` when not recorded
    /// (a service without a concern question, or a referral stored before it was kept).
    pub concerns: Option<String>,
}

/// One anonymous out-of-scope count (`outcome_counts`): audience, comma-joined concern keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfScope {
    pub audience: String,
    pub concerns: String,
    pub count: i64,
}

/// Counts of one day: `(dimension, value) -> count`.
pub type DayCounts = BTreeMap<(String, String), i64>;

/// First contact against the SLA: met by the due day, met after it, or not met yet.
/// `None` when the referral has no SLA due day.
pub fn first_contact(facts: &ReferralFacts) -> Option<&'static str> {
    let due = facts.due_by?;
    Some(match facts.sla_met_at {
        Some(at) if london_date(at) <= due => "in_time",
        Some(_) => "late",
        None => "not_yet",
    })
}

/// Working days (in `division`'s calendar) from the London day of receipt to the London day
/// of first contact; `None` before first contact.
pub fn days_to_first_contact(facts: &ReferralFacts, division: Division) -> Option<u32> {
    let met = facts.sla_met_at?;
    Some(Calendar::builtin().working_days_between(
        division,
        london_date(facts.received_at),
        london_date(met),
    ))
}

/// The bucket a number of working days is counted in.
pub fn days_bucket(days: u32) -> String {
    if days >= DAYS_CAP {
        format!("{DAYS_CAP}+")
    } else {
        days.to_string()
    }
}

fn add(counts: &mut DayCounts, dimension: &str, value: &str, n: i64) {
    *counts
        .entry((dimension.to_owned(), value.to_owned()))
        .or_insert(0) += n;
}

/// Everything counted for one service's day: its referrals and its out-of-scope counts.
/// `division` is the calendar of the service's first-contact SLA (working days).
/// `signposts` are the day's out-of-scope counts by signpost key.
pub fn fold_day(
    referrals: &[ReferralFacts],
    out_of_scope: &[OutOfScope],
    signposts: &[(String, i64)],
    division: Division,
) -> DayCounts {
    use dimension::*;
    let mut counts = DayCounts::new();
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    for r in referrals {
        add(&mut counts, RECEIVED, "all", 1);
        add(&mut counts, AUDIENCE, &r.audience, 1);
        add(
            &mut counts,
            CHANNEL,
            if r.by_email { "email" } else { "web" },
            1,
        );
        let suggested = r.suggested_band.as_deref().unwrap_or(NO_BAND);
        add(&mut counts, BAND_SUGGESTED, suggested, 1);
        add(
            &mut counts,
            BAND_CONFIRMED,
            r.confirmed_band.as_deref().unwrap_or(UNCONFIRMED),
            1,
        );
        let agreement = match (&r.suggested_band, &r.confirmed_band) {
            (_, None) => "unconfirmed",
            (Some(s), Some(c)) if s == c => "same",
            _ => "changed",
        };
        add(&mut counts, BAND_AGREEMENT, agreement, 1);
        add(&mut counts, STATE, &r.status, 1);
        if let Some(outcome) = r.outcome.as_deref().filter(|_| r.closed) {
            add(&mut counts, OUTCOME, outcome, 1);
        }
        add(&mut counts, URGENT, yes_no(r.urgent), 1);
        if let Some(contact) = first_contact(r) {
            add(&mut counts, FIRST_CONTACT, contact, 1);
        }
        if let Some(days) = days_to_first_contact(r, division) {
            add(&mut counts, FIRST_CONTACT_DAYS, &days_bucket(days), 1);
        }
        if !r.closed {
            let worker = r
                .assignee
                .as_deref()
                .filter(|a| !a.is_empty())
                .unwrap_or("unallocated");
            add(&mut counts, OPEN_BY_WORKER, worker, 1);
        }
        add(&mut counts, LINKED, yes_no(r.linked), 1);
        if let Some(concerns) = &r.concerns {
            let keys: Vec<&str> = concerns.split(',').filter(|k| !k.is_empty()).collect();
            if keys.is_empty() {
                add(&mut counts, CONCERN, NO_CONCERN, 1);
            }
            for key in keys {
                add(&mut counts, CONCERN, key, 1);
            }
        }
    }
    for (signpost, n) in signposts.iter().filter(|(_, n)| *n > 0) {
        add(&mut counts, OUT_OF_SCOPE_SIGNPOST, signpost, *n);
    }
    for o in out_of_scope.iter().filter(|o| o.count > 0) {
        add(&mut counts, OUT_OF_SCOPE, "all", o.count);
        add(&mut counts, OUT_OF_SCOPE_AUDIENCE, &o.audience, o.count);
        let keys: Vec<&str> = o.concerns.split(',').filter(|k| !k.is_empty()).collect();
        if keys.is_empty() {
            add(&mut counts, OUT_OF_SCOPE_CONCERN, "none", o.count);
        }
        for key in keys {
            add(&mut counts, OUT_OF_SCOPE_CONCERN, key, o.count);
        }
    }
    counts
}

/// The UTC instants bounding a London day: `[start, end)` (23 or 25 hours long on the days
/// the clocks change).
pub fn london_day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    use chrono::TimeZone;
    let start = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        chrono_tz::Europe::London
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
    };
    (start(day), start(day.succ_opt().unwrap_or(day)))
}

/// One stored aggregate row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    pub day: NaiveDate,
    pub dimension: String,
    pub value: String,
    pub count: i64,
}

/// A date range the dashboard shows (both days included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// How the "over time" chart groups days: by week for up to about three months, else by
/// month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Week,
    Month,
}

impl Range {
    /// The grouping for this range.
    pub fn period(&self) -> Period {
        if (self.to - self.from).num_days() <= 92 {
            Period::Week
        } else {
            Period::Month
        }
    }

    /// The first day of the period holding `day`.
    pub fn period_start(&self, day: NaiveDate) -> NaiveDate {
        match self.period() {
            Period::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Period::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The start of every period in the range, in order.
    pub fn periods(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut day = self.period_start(self.from);
        while day <= self.to {
            out.push(day);
            day = match self.period() {
                Period::Week => day + Duration::days(7),
                Period::Month => {
                    let (y, m) = if day.month() == 12 {
                        (day.year() + 1, 1)
                    } else {
                        (day.year(), day.month() + 1)
                    };
                    match NaiveDate::from_ymd_opt(y, m, 1) {
                        Some(next) => next,
                        None => break,
                    }
                }
            };
        }
        out
    }
}

/// The dimensions a dashboard also breaks down by period ("referrals by source, audience
/// and concern over time"): their rows are read per day (or per month) as well as summed.
pub const OVER_TIME_DIMENSIONS: [&str; 3] =
    [dimension::AUDIENCE, dimension::CHANNEL, dimension::CONCERN];

/// A range's aggregate rows summed: per dimension, per value; and received per period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub by_dimension: BTreeMap<String, BTreeMap<String, i64>>,
    /// `(period start, received, out of scope)` for every period of the range.
    pub over_time: Vec<(NaiveDate, i64, i64)>,
    /// For each of [`OVER_TIME_DIMENSIONS`]: each value's count in each period.
    pub by_period: BTreeMap<String, BTreeMap<String, BTreeMap<NaiveDate, i64>>>,
}

impl Totals {
    /// Sums `rows` (already limited to `range`).
    pub fn of(rows: &[StatRow], range: Range) -> Self {
        let mut by_dimension: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        let mut by_period: BTreeMap<String, BTreeMap<String, BTreeMap<NaiveDate, i64>>> =
            BTreeMap::new();
        let mut periods: BTreeMap<NaiveDate, (i64, i64)> =
            range.periods().into_iter().map(|p| (p, (0, 0))).collect();
        for row in rows {
            *by_dimension
                .entry(row.dimension.clone())
                .or_default()
                .entry(row.value.clone())
                .or_insert(0) += row.count;
            let start = range.period_start(row.day);
            let slot = periods.entry(start).or_default();
            if row.dimension == dimension::RECEIVED {
                slot.0 += row.count;
            } else if row.dimension == dimension::OUT_OF_SCOPE {
                slot.1 += row.count;
            } else if OVER_TIME_DIMENSIONS.contains(&row.dimension.as_str()) {
                *by_period
                    .entry(row.dimension.clone())
                    .or_default()
                    .entry(row.value.clone())
                    .or_default()
                    .entry(start)
                    .or_insert(0) += row.count;
            }
        }
        Totals {
            by_dimension,
            over_time: periods.into_iter().map(|(d, (r, o))| (d, r, o)).collect(),
            by_period,
        }
    }

    /// From the database's sums: `sums` per dimension and value over the range (their
    /// `day` unused), `daily` the received and out-of-scope rows and those of
    /// [`OVER_TIME_DIMENSIONS`], of each day or summed to the first day of each month.
    pub fn of_sums(sums: &[StatRow], daily: &[StatRow], range: Range) -> Self {
        let mut totals = Totals::of(daily, range);
        totals.by_dimension.clear();
        for row in sums {
            *totals
                .by_dimension
                .entry(row.dimension.clone())
                .or_default()
                .entry(row.value.clone())
                .or_insert(0) += row.count;
        }
        totals
    }

    /// The counts of one dimension (empty when none).
    pub fn of_dimension(&self, dimension: &str) -> Vec<(String, i64)> {
        self.by_dimension
            .get(dimension)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// One value's count in each period of the range, in the order of `over_time` (0 for a
    /// period without any).
    pub fn over_time_of(&self, dimension: &str, value: &str) -> Vec<i64> {
        let counts = self.by_period.get(dimension).and_then(|m| m.get(value));
        self.over_time
            .iter()
            .map(|(start, _, _)| counts.and_then(|c| c.get(start)).copied().unwrap_or(0))
            .collect()
    }

    /// One count (0 when none).
    pub fn count(&self, dimension: &str, value: &str) -> i64 {
        self.by_dimension
            .get(dimension)
            .and_then(|m| m.get(value))
            .copied()
            .unwrap_or(0)
    }

    /// The median working days to first contact, from the day buckets (`20+` counts as 20).
    pub fn median_days_to_first_contact(&self) -> Option<u32> {
        let mut buckets: Vec<(u32, i64)> = self
            .of_dimension(dimension::FIRST_CONTACT_DAYS)
            .into_iter()
            .filter_map(|(k, n)| k.trim_end_matches('+').parse::<u32>().ok().map(|d| (d, n)))
            .collect();
        buckets.sort_unstable();
        let total: i64 = buckets.iter().map(|(_, n)| n).sum();
        if total <= 0 {
            return None;
        }
        let half = (total + 1) / 2;
        let mut seen = 0;
        for (days, n) in buckets {
            seen += n;
            if seen >= half {
                return Some(days);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
