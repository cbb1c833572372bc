//! What a dashboard shows, in words: each section's title, its rows (label and one or two
//! counts) and its chart, made from a service's totals and its definition's labels. The
//! page's tables, the charts and the CSV export all read these sections.

use std::collections::HashMap;

use chrono::NaiveDate;
use haven_core::definition::ServiceDefinition;
use haven_core::statistics::{NO_BAND, Period, Range, Totals, UNCONFIRMED, dimension as dim};

use super::case::band_words;

/// One section of a dashboard.
#[derive(Debug, Clone)]
pub struct Section {
    /// The chart's name in its address (`/staff/dashboard/chart/{key}.svg`).
    pub key: &'static str,
    pub title: String,
    /// What each count column is.
    pub measures: Vec<String>,
    /// `(label, counts)`, one count per measure.
    pub rows: Vec<(String, Vec<i64>)>,
    /// Drawn as one bar per row made of its measures stacked (a breakdown over time), rather
    /// than the measures' bars side by side.
    pub stacked: bool,
}

/// Key words for a coded value: `very_high` → "Very high".
fn words(key: &str) -> String {
    band_words(key)
}

/// How staff read an audience: "I am a parent or carer" → "A parent or carer".
fn audience_words(def: &ServiceDefinition, key: &str) -> String {
    match def.audience(key) {
        Some(a) => {
            let label = a.label.trim();
            let rest = label
                .strip_prefix("I am ")
                .or_else(|| label.strip_prefix("I'm "))
                .unwrap_or(label);
            words(rest)
        }
        None => words(key),
    }
}

fn state_words(def: &ServiceDefinition, key: &str) -> String {
    def.workflow
        .as_ref()
        .and_then(|w| w.states.iter().find(|s| s.key == key))
        .map_or_else(|| words(key), |s| s.label.clone())
}

fn outcome_words(def: &ServiceDefinition, key: &str) -> String {
    def.casework
        .as_ref()
        .and_then(|c| c.closure.as_ref())
        .and_then(|c| c.outcomes.iter().find(|o| o.key == key))
        .map_or_else(|| words(key), |o| o.label.clone())
}

/// A concern key in words: the label of the option with that key in any question.
fn concern_words(def: &ServiceDefinition, key: &str) -> String {
    def.stages
        .iter()
        .flat_map(|s| s.pages.iter())
        .flat_map(|p| p.questions.iter())
        .flat_map(|q| q.options.iter())
        .find(|o| o.key == key)
        .map_or_else(|| words(key), |o| o.label.clone())
}

/// The period a chart column stands for: "w/c 4 May 2026" or "May 2026".
pub fn period_words(range: &Range, start: NaiveDate) -> String {
    match range.period() {
        Period::Week => format!("w/c {}", start.format("%-d %b %Y")),
        Period::Month => start.format("%B %Y").to_string(),
    }
}

/// A breakdown of `dimension` over time: a row per period of the range, a column per value
/// that occurs in it (`values`: `(key, words)` in the order to show; a value never counted in
/// the range is left out so the table stays narrow), stacked in the chart.
fn by_period(
    key: &'static str,
    title: String,
    totals: &Totals,
    range: &Range,
    dimension: &str,
    values: Vec<(String, String)>,
) -> Section {
    let columns: Vec<(String, Vec<i64>)> = values
        .into_iter()
        .map(|(value, label)| (label, totals.over_time_of(dimension, &value)))
        .filter(|(_, counts)| counts.iter().any(|n| *n != 0))
        .collect();
    let rows = if columns.is_empty() {
        Vec::new()
    } else {
        totals
            .over_time
            .iter()
            .enumerate()
            .map(|(i, (start, _, _))| {
                (
                    period_words(range, *start),
                    columns
                        .iter()
                        .map(|(_, counts)| counts.get(i).copied().unwrap_or(0))
                        .collect(),
                )
            })
            .collect()
    };
    Section {
        key,
        title,
        measures: columns.into_iter().map(|(label, _)| label).collect(),
        rows,
        stacked: true,
    }
}

/// The values counted for `dimension` in the range that `known` does not name (a key no
/// longer offered), in words after the known ones.
fn with_others(
    totals: &Totals,
    dimension: &str,
    mut known: Vec<(String, String)>,
) -> Vec<(String, String)> {
    if let Some(values) = totals.by_period.get(dimension) {
        for value in values.keys() {
            if !known.iter().any(|(k, _)| k == value) {
                known.push((value.clone(), words(value)));
            }
        }
    }
    known
}

fn one(rows: Vec<(String, i64)>) -> Vec<(String, Vec<i64>)> {
    rows.into_iter().map(|(l, n)| (l, vec![n])).collect()
}

/// Every section of a service's dashboard. `people` names staff by id.
pub fn sections(
    def: &ServiceDefinition,
    totals: &Totals,
    range: &Range,
    people: &HashMap<String, String>,
) -> Vec<Section> {
    let of = |d: &str| totals.of_dimension(d);
    let mut out = Vec::new();
    let period = match range.period() {
        Period::Week => "week",
        Period::Month => "month",
    };
    out.push(Section {
        stacked: false,
        key: "over_time",
        title: format!("Referrals received and out-of-scope reports, by {period}"),
        measures: vec!["Referrals".to_owned(), "Out of scope".to_owned()],
        rows: totals
            .over_time
            .iter()
            .map(|(start, received, oos)| (period_words(range, *start), vec![*received, *oos]))
            .collect(),
    });
    out.push(Section {
        stacked: false,
        key: "audience",
        title: "Referrals by who made them".to_owned(),
        measures: vec!["Referrals".to_owned()],
        rows: one(def
            .audiences
            .iter()
            .map(|a| {
                (
                    audience_words(def, &a.key),
                    totals.count(dim::AUDIENCE, &a.key),
                )
            })
            .collect()),
    });
    out.push(by_period(
        "audience_by_period",
        format!("Referrals by who made them, by {period}"),
        totals,
        range,
        dim::AUDIENCE,
        with_others(
            totals,
            dim::AUDIENCE,
            def.audiences
                .iter()
                .map(|a| (a.key.clone(), audience_words(def, &a.key)))
                .collect(),
        ),
    ));
    if let Some(question) = def
        .statistics
        .as_ref()
        .and_then(|s| s.concern_question.as_deref())
        .and_then(|key| def.question(key))
    {
        // Every option in the definition's order (a concern no one chose shows 0), then
        // none chosen, then any key no longer offered.
        let mut rows: Vec<(String, i64)> = question
            .options
            .iter()
            .map(|o| (o.label.clone(), totals.count(dim::CONCERN, &o.key)))
            .collect();
        rows.push((
            "None chosen".to_owned(),
            totals.count(dim::CONCERN, haven_core::statistics::NO_CONCERN),
        ));
        for (key, n) in of(dim::CONCERN) {
            if key != haven_core::statistics::NO_CONCERN
                && !question.options.iter().any(|o| o.key == key)
            {
                rows.push((words(&key), n));
            }
        }
        out.push(Section {
            stacked: false,
            key: "concern",
            title: "Referrals by concern (a referral with several counts in each)".to_owned(),
            measures: vec!["Referrals".to_owned()],
            rows: one(rows),
        });
        let mut known: Vec<(String, String)> = question
            .options
            .iter()
            .map(|o| (o.key.clone(), o.label.clone()))
            .collect();
        known.push((
            haven_core::statistics::NO_CONCERN.to_owned(),
            "None chosen".to_owned(),
        ));
        out.push(by_period(
            "concern_by_period",
            format!("Referrals by concern, by {period}"),
            totals,
            range,
            dim::CONCERN,
            with_others(totals, dim::CONCERN, known),
        ));
    }
    out.push(Section {
        stacked: false,
        key: "channel",
        title: "Referrals by how they came".to_owned(),
        measures: vec!["Referrals".to_owned()],
        rows: one(vec![
            (
                "Online form or API".to_owned(),
                totals.count(dim::CHANNEL, "web"),
            ),
            (
                "Email (converted from the inbox)".to_owned(),
                totals.count(dim::CHANNEL, "email"),
            ),
        ]),
    });
    out.push(by_period(
        "channel_by_period",
        format!("Referrals by how they came, by {period}"),
        totals,
        range,
        dim::CHANNEL,
        with_others(
            totals,
            dim::CHANNEL,
            vec![
                ("web".to_owned(), "Online form or API".to_owned()),
                (
                    "email".to_owned(),
                    "Email (converted from the inbox)".to_owned(),
                ),
            ],
        ),
    ));
    let bands = def
        .screening
        .as_ref()
        .map(|s| s.bands.clone())
        .unwrap_or_default();
    if !bands.is_empty() {
        let mut rows: Vec<(String, Vec<i64>)> = bands
            .iter()
            .map(|b| {
                (
                    band_words(b),
                    vec![
                        totals.count(dim::BAND_SUGGESTED, b),
                        totals.count(dim::BAND_CONFIRMED, b),
                    ],
                )
            })
            .collect();
        rows.push((
            "No band suggested, or not yet confirmed".to_owned(),
            vec![
                totals.count(dim::BAND_SUGGESTED, NO_BAND),
                totals.count(dim::BAND_CONFIRMED, UNCONFIRMED),
            ],
        ));
        out.push(Section {
            stacked: false,
            key: "bands",
            title: "Bands suggested by screening and confirmed by staff".to_owned(),
            measures: vec!["Suggested".to_owned(), "Confirmed".to_owned()],
            rows,
        });
        out.push(Section {
            stacked: false,
            key: "band_agreement",
            title: "Confirmed bands against the suggested band".to_owned(),
            measures: vec!["Referrals".to_owned()],
            rows: one(vec![
                (
                    "Same as suggested".to_owned(),
                    totals.count(dim::BAND_AGREEMENT, "same"),
                ),
                (
                    "Changed by staff".to_owned(),
                    totals.count(dim::BAND_AGREEMENT, "changed"),
                ),
                (
                    "Not yet confirmed".to_owned(),
                    totals.count(dim::BAND_AGREEMENT, "unconfirmed"),
                ),
            ]),
        });
    }
    let mut states: Vec<(String, i64)> = Vec::new();
    if let Some(w) = &def.workflow {
        for s in &w.states {
            states.push((s.label.clone(), totals.count(dim::STATE, &s.key)));
        }
    }
    for (key, n) in of(dim::STATE) {
        let known = def
            .workflow
            .as_ref()
            .is_some_and(|w| w.states.iter().any(|s| s.key == key));
        if !known {
            states.push((state_words(def, &key), n));
        }
    }
    out.push(Section {
        stacked: false,
        key: "state",
        title: "Referrals by the state their case is in now".to_owned(),
        measures: vec!["Referrals".to_owned()],
        rows: one(states),
    });
    out.push(Section {
        stacked: false,
        key: "outcome",
        title: "Outcomes of closed cases".to_owned(),
        measures: vec!["Cases".to_owned()],
        rows: one(of(dim::OUTCOME)
            .into_iter()
            .map(|(k, n)| (outcome_words(def, &k), n))
            .collect()),
    });
    if let Some(sla) = def.slas.first() {
        out.push(Section {
            stacked: false,
            key: "first_contact",
            title: format!("{} within {} working days", sla.label, sla.working_days),
            measures: vec!["Referrals".to_owned()],
            rows: one(vec![
                (
                    "Within the time".to_owned(),
                    totals.count(dim::FIRST_CONTACT, "in_time"),
                ),
                ("Late".to_owned(), totals.count(dim::FIRST_CONTACT, "late")),
                (
                    "Not yet".to_owned(),
                    totals.count(dim::FIRST_CONTACT, "not_yet"),
                ),
            ]),
        });
    }
    let mut days: Vec<(u32, i64)> = of(dim::FIRST_CONTACT_DAYS)
        .into_iter()
        .filter_map(|(k, n)| k.trim_end_matches('+').parse().ok().map(|d| (d, n)))
        .collect();
    days.sort_unstable();
    if let Some(&(last, _)) = days.last() {
        let rows = (0..=last)
            .map(|d| {
                let n = days.iter().find(|(k, _)| *k == d).map_or(0, |(_, n)| *n);
                let label = match d {
                    1 => "1 working day".to_owned(),
                    d if d >= haven_core::statistics::DAYS_CAP => {
                        format!("{d} or more working days")
                    }
                    d => format!("{d} working days"),
                };
                (label, vec![n])
            })
            .collect();
        out.push(Section {
            stacked: false,
            key: "first_contact_days",
            title: "Time to first contact".to_owned(),
            measures: vec!["Referrals".to_owned()],
            rows,
        });
    }
    let mut workers: Vec<(String, i64)> = of(dim::OPEN_BY_WORKER)
        .into_iter()
        .filter(|(k, _)| k != "unallocated")
        .map(|(k, n)| {
            (
                match people.get(&k) {
                    Some(name) => name.clone(),
                    // Allocated by email to someone without an account here.
                    None if k.contains('@') => k.clone(),
                    None => "A former member of staff".to_owned(),
                },
                n,
            )
        })
        .collect();
    workers.sort();
    workers.push((
        "Not allocated".to_owned(),
        totals.count(dim::OPEN_BY_WORKER, "unallocated"),
    ));
    out.push(Section {
        stacked: false,
        key: "workers",
        title: "Open cases by worker".to_owned(),
        measures: vec!["Open cases".to_owned()],
        rows: one(workers),
    });
    out.push(Section {
        stacked: false,
        key: "linked",
        title: "Repeat referrals: linked to another referral of the same young person".to_owned(),
        measures: vec!["Referrals".to_owned()],
        rows: one(vec![
            ("Linked".to_owned(), totals.count(dim::LINKED, "yes")),
            ("Not linked".to_owned(), totals.count(dim::LINKED, "no")),
        ]),
    });
    out.push(Section {
        stacked: false,
        key: "out_of_scope",
        title: "Out-of-scope reports by concern".to_owned(),
        measures: vec!["Reports".to_owned()],
        rows: one(of(dim::OUT_OF_SCOPE_CONCERN)
            .into_iter()
            .map(|(k, n)| (concern_words(def, &k), n))
            .collect()),
    });
    out.push(Section {
        stacked: false,
        key: "out_of_scope_signpost",
        title:
            "Where out-of-scope reporters were signposted (a report given several counts in each)"
                .to_owned(),
        measures: vec!["Reports".to_owned()],
        rows: one(of(dim::OUT_OF_SCOPE_SIGNPOST)
            .into_iter()
            .map(|(k, n)| {
                (
                    def.signposts
                        .iter()
                        .find(|s| s.key == k)
                        .map_or_else(|| words(&k), |s| s.label.clone()),
                    n,
                )
            })
            .collect()),
    });
    out.push(Section {
        stacked: false,
        key: "out_of_scope_audience",
        title: "Out-of-scope reports by who made them".to_owned(),
        measures: vec!["Reports".to_owned()],
        rows: one(of(dim::OUT_OF_SCOPE_AUDIENCE)
            .into_iter()
            .map(|(k, n)| (audience_words(def, &k), n))
            .collect()),
    });
    out
}

/// The summary at the top: `(label, value in words)`.
pub fn summary(def: &ServiceDefinition, totals: &Totals) -> Vec<(String, String)> {
    let received = totals.count(dim::RECEIVED, "all");
    let mut out = vec![
        ("Referrals received".to_owned(), received.to_string()),
        (
            "Urgent at screening".to_owned(),
            totals.count(dim::URGENT, "yes").to_string(),
        ),
    ];
    if let Some(sla) = def.slas.first() {
        let in_time = totals.count(dim::FIRST_CONTACT, "in_time");
        let contacted = in_time + totals.count(dim::FIRST_CONTACT, "late");
        let share = if contacted > 0 {
            format!(
                "{in_time} of {contacted} contacted ({}%)",
                (in_time * 100 + contacted / 2) / contacted
            )
        } else {
            "No first contacts yet".to_owned()
        };
        out.push((
            format!("{} within {} working days", sla.label, sla.working_days),
            share,
        ));
        out.push((
            "Median time to first contact".to_owned(),
            match totals.median_days_to_first_contact() {
                Some(1) => "1 working day".to_owned(),
                Some(d) => format!("{d} working days"),
                None => "No first contacts yet".to_owned(),
            },
        ));
    }
    out.push((
        "Linked to another referral of the same young person".to_owned(),
        totals.count(dim::LINKED, "yes").to_string(),
    ));
    out.push((
        "Out-of-scope reports (not accepted, signposted)".to_owned(),
        totals.count(dim::OUT_OF_SCOPE, "all").to_string(),
    ));
    out
}
