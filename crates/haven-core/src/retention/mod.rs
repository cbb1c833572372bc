//! How long a closed case is kept, from the definition's `[retention]` section, and when a
//! case is due for destruction. Pure: the case's facts and today are passed in; the I/O side
//! (`haven-storage/src/retention.rs`, `haven/src/cases/retention.rs`) loads the facts and
//! destroys what is due.
//!
//! A rule matches a closed case by the state it closed in, the decision recorded when it
//! closed, or the casework closure outcome; the first matching rule wins, else `default`.
//! A rule keeps the case `years_after_closure` years after the day it closed, or until the
//! young person's `until_age` birthday, or whichever is later when it says both. With no
//! date of birth known, an age reported when the case came in gives the latest birthday it
//! could be (so a case is never destroyed early); with neither, `years_after_closure` alone,
//! and with no such fallback the case is kept and listed for review.

use chrono::{Months, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[retention]`: the service's retention schedule.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// The rules for closed cases, most specific first: the first that matches applies.
    #[serde(default)]
    pub rules: Vec<RetentionRule>,
    /// What applies to a closed case no rule matches.
    pub default: RetentionPeriod,
    /// Reports refused as out of scope: only their anonymous count is ever stored
    /// (`outcome_counts`: day, service, audience and concerns, no identifiers), kept forever.
    /// Written here so the schedule is complete; `count_only` is the one value.
    #[serde(default)]
    pub out_of_scope: OutOfScope,
    /// Emails in the team's inbox that never became a case (turned down, not a referral,
    /// or quarantined). An email converted into a referral goes with its case instead, and
    /// one nobody has decided on yet is never destroyed: a person must look at it first.
    #[serde(default)]
    pub inbox: Option<InboxRetention>,
}

/// `[retention.inbox]`: how long emails that never became a case are kept.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InboxRetention {
    /// The rule in words, for staff and the plan ("Emails turned down or quarantined:
    /// 6 months").
    pub label: String,
    /// Months after the decision (turned down, or not a referral) before the email's
    /// content is destroyed; for a quarantined email, months after it arrived.
    pub months: u32,
}

/// What the inbox rule reads about one email that never became a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxItemFacts {
    /// Still waiting for a person's decision: kept.
    Undecided,
    /// Turned down, or marked as not a referral, on this UK day.
    DecidedOn(NaiveDate),
    /// Quarantined (unreadable, unsafe or unroutable) when it arrived on this UK day.
    QuarantinedOn(NaiveDate),
}

/// The rule key an inbox destruction is recorded under.
pub const INBOX_RULE: &str = "inbox";

impl InboxRetention {
    /// When an email's content is due for destruction (`None`: kept, no decision yet).
    pub fn due_on(&self, facts: InboxItemFacts) -> Option<NaiveDate> {
        match facts {
            InboxItemFacts::Undecided => None,
            InboxItemFacts::DecidedOn(day) | InboxItemFacts::QuarantinedOn(day) => {
                day.checked_add_months(Months::new(self.months))
            }
        }
    }
}

/// What is kept of a report refused as out of scope.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutOfScope {
    /// The anonymous count only, forever.
    #[default]
    CountOnly,
}

/// One retention rule: which closed cases, and how long they are kept.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// Stable key (recorded in the audit entry of a destruction).
    pub key: String,
    /// The rule in words, for staff ("Closed after an intervention: until the young
    /// person's 25th birthday").
    pub label: String,
    /// Workflow states (closed ones) the rule covers; empty: any.
    #[serde(default)]
    pub states: Vec<String>,
    /// Decisions recorded on the closing transition (`decisions` keys); empty: any.
    #[serde(default)]
    pub decisions: Vec<String>,
    /// Casework closure outcomes (`casework.closure.outcomes` keys); empty: any.
    #[serde(default)]
    pub outcomes: Vec<String>,
    /// Years after the day the case closed.
    #[serde(default)]
    pub years_after_closure: Option<u32>,
    /// Until the young person's birthday at this age (25: "until their 25th birthday").
    #[serde(default)]
    pub until_age: Option<u32>,
}

impl RetentionRule {
    /// How long cases matching the rule are kept.
    pub fn period(&self) -> RetentionPeriod {
        RetentionPeriod {
            years_after_closure: self.years_after_closure,
            until_age: self.until_age,
        }
    }
}

/// How long a closed case is kept. At least one of the two must be given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetentionPeriod {
    /// Years after the day the case closed.
    #[serde(default)]
    pub years_after_closure: Option<u32>,
    /// Until the young person's birthday at this age (25: "until their 25th birthday").
    #[serde(default)]
    pub until_age: Option<u32>,
}

/// What the retention rule reads about one case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseRetentionFacts {
    /// The case's workflow state.
    pub status: String,
    /// Whether that state is a closed one (terminal, or the casework closure state).
    pub closed: bool,
    /// The UK day the case closed (its last move into the closed state); `None` while open.
    pub closed_on: Option<NaiveDate>,
    /// The decision recorded on the closing transition.
    pub decision: Option<String>,
    /// The casework closure outcome.
    pub outcome: Option<String>,
    /// The young person's date of birth, when answered.
    pub date_of_birth: Option<NaiveDate>,
    /// Their age as reported when the case came in, and the UK day it came in.
    pub age_reported: Option<(u32, NaiveDate)>,
    /// A legal hold is in place.
    pub held: bool,
}

/// When a case is due for destruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Still open: retention starts when it closes.
    Open,
    /// A legal hold stops destruction until it is lifted (`on`: when it would be due).
    Held { rule: String, on: Option<NaiveDate> },
    /// The rule needs a date the case does not have (no date of birth or age, and no
    /// `years_after_closure`): kept, listed for review.
    Review { rule: String },
    /// Destroyed on or after `on` under `rule`.
    On { rule: String, on: NaiveDate },
}

impl Due {
    /// Whether the case is to be destroyed on `today`.
    pub fn is_due(&self, today: NaiveDate) -> bool {
        matches!(self, Due::On { on, .. } if *on <= today)
    }

    /// The rule applied, when the case is closed.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Due::Open => None,
            Due::Held { rule, .. } | Due::Review { rule } | Due::On { rule, .. } => Some(rule),
        }
    }
}

/// The key `default` is recorded under when no rule matched.
pub const DEFAULT_RULE: &str = "default";

impl Retention {
    /// The rule for a closed case: its key and period (`default` when none matches).
    pub fn rule_for(&self, facts: &CaseRetentionFacts) -> (&str, RetentionPeriod) {
        let matches = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|k| k == v))
        };
        self.rules
            .iter()
            .find(|r| {
                matches(&r.states, Some(&facts.status))
                    && matches(&r.decisions, facts.decision.as_deref())
                    && matches(&r.outcomes, facts.outcome.as_deref())
            })
            .map_or((DEFAULT_RULE, self.default.clone()), |r| {
                (r.key.as_str(), r.period())
            })
    }

    /// Whether weighing a case closed in `status` (with the casework closure `outcome`) needs
    /// the decision recorded on its closing transition: only when the first rule its state
    /// and outcome match names decisions. Otherwise the decision cannot change the rule, and
    /// the sealed chronology is not opened for it.
    pub fn needs_decision(&self, status: &str, outcome: Option<&str>) -> bool {
        let matches = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|k| k == v))
        };
        self.rules
            .iter()
            .find(|r| matches(&r.states, Some(status)) && matches(&r.outcomes, outcome))
            .is_some_and(|r| !r.decisions.is_empty())
    }

    /// Whether weighing the case needs the young person's date of birth or age (sealed in
    /// the answers): only a closed case whose rule keeps it until a birthday.
    pub fn needs_birth(&self, facts: &CaseRetentionFacts) -> bool {
        facts.closed && facts.closed_on.is_some() && self.rule_for(facts).1.until_age.is_some()
    }

    /// When the case is due for destruction.
    pub fn due(&self, facts: &CaseRetentionFacts) -> Due {
        let (true, Some(closed_on)) = (facts.closed, facts.closed_on) else {
            return Due::Open;
        };
        let (rule, period) = self.rule_for(facts);
        let on = period.due_on(closed_on, facts.date_of_birth, facts.age_reported);
        let rule = rule.to_owned();
        match (facts.held, on) {
            (true, on) => Due::Held { rule, on },
            (false, Some(on)) => Due::On { rule, on },
            (false, None) => Due::Review { rule },
        }
    }
}

impl RetentionPeriod {
    /// The day a case closed on `closed_on` is due, or `None` when the period needs a birthday
    /// that is not known and has no other term.
    pub fn due_on(
        &self,
        closed_on: NaiveDate,
        date_of_birth: Option<NaiveDate>,
        age_reported: Option<(u32, NaiveDate)>,
    ) -> Option<NaiveDate> {
        let after_closure = self
            .years_after_closure
            .and_then(|years| add_years(closed_on, years));
        let birthday = self.until_age.and_then(|age| {
            date_of_birth.map_or_else(
                || latest_birthday(age_reported?, age),
                |dob| add_years(dob, age),
            )
        });
        match (self.until_age, birthday, after_closure) {
            // The birthday is required but unknown: the closure term alone.
            (Some(_), None, after) => after,
            (_, Some(b), Some(a)) => Some(b.max(a)),
            (_, Some(b), None) => Some(b),
            (None, None, a) => a,
        }
    }
}

/// `day` plus `years` (29 February becomes 28 February in a common year).
pub fn add_years(day: NaiveDate, years: u32) -> Option<NaiveDate> {
    day.checked_add_months(Months::new(years.checked_mul(12)?))
}

/// The latest day someone `age_then` years old on `then` can turn `age`.
fn latest_birthday((age_then, then): (u32, NaiveDate), age: u32) -> Option<NaiveDate> {
    // Aged `age_then` on `then`: born at the latest `age_then` years before `then` (that
    // day their birthday), so they turn `age` at the latest `age - age_then` years after it.
    // Already older than `age` when reported: that day.
    add_years(then, age.saturating_sub(age_then))
}

/// The checks the loader runs on `[retention]`: each problem in words, with text that finds
/// its line in the file.
pub fn problems(
    retention: &Retention,
    states: &[&str],
    decisions: &[&str],
    outcomes: &[&str],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut keys = std::collections::BTreeSet::new();
    if retention.inbox.as_ref().is_some_and(|i| i.months == 0) {
        out.push((
            "[retention.inbox]".to_owned(),
            "retention.inbox.months must be at least 1: staff need time to notice a mistake"
                .to_owned(),
        ));
    }
    let period_problem = |p: &RetentionPeriod| {
        (p.years_after_closure.is_none() && p.until_age.is_none())
            .then(|| "needs `years_after_closure` or `until_age` (or both)".to_owned())
    };
    if let Some(problem) = period_problem(&retention.default) {
        out.push((
            "[retention]".to_owned(),
            format!("retention.default {problem}"),
        ));
    }
    for rule in &retention.rules {
        let place = format!("\"{}\"", rule.key);
        if !keys.insert(rule.key.as_str()) || rule.key == DEFAULT_RULE {
            out.push((
                place.clone(),
                format!(
                    "retention rule key `{}` is used twice (or is `default`)",
                    rule.key
                ),
            ));
        }
        if let Some(problem) = period_problem(&rule.period()) {
            out.push((
                place.clone(),
                format!("retention rule `{}` {problem}", rule.key),
            ));
        }
        for (list, known, what) in [
            (&rule.states, states, "workflow state"),
            (&rule.decisions, decisions, "workflow decision"),
            (&rule.outcomes, outcomes, "casework closure outcome"),
        ] {
            for key in list {
                if !known.contains(&key.as_str()) {
                    out.push((
                        place.clone(),
                        format!("retention rule `{}` names no {what} `{key}`", rule.key),
                    ));
                }
            }
        }
    }
    out
}

/// The young person's date of birth and reported age from a case's answer documents (most
/// authoritative first), from the definition's `young_person_date_of_birth` and
/// `young_person_age` questions: what `until_age` reads.
pub fn birth_facts(
    def: &crate::definition::ServiceDefinition,
    documents: &[&serde_json::Value],
) -> (Option<NaiveDate>, Option<u32>) {
    use crate::definition::condition::lookup;
    let first = |keys: &[String]| {
        documents
            .iter()
            .flat_map(|doc| keys.iter().filter_map(move |k| lookup(doc, k)))
            .find(|v| !v.is_null())
            .cloned()
    };
    let dob = first(&def.young_person_date_of_birth).and_then(|v| {
        v.as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    });
    let age = first(&def.young_person_age).and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f.floor() as u64))
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .and_then(|n| u32::try_from(n).ok())
    });
    (dob, age)
}
