//! The suggested band: band rules (indicators ticked in some columns, further conditions such
//! as an age floor) and weighted scoring, combined so that the highest band wins.

use serde_json::Value;

use super::facts::{Found, ScreenFacts, explain_true};
use crate::definition::condition::lookup;
use crate::definition::screening::{BandRule, PointRule, ScreeningRules};
use crate::definition::{Question, QuestionKind};

/// The band decided, with what decided it.
pub(crate) struct BandDecision<'a> {
    /// Position in `bands`; `None` when the service has no bands.
    pub rank: Option<usize>,
    pub score: Option<i64>,
    /// The indicators behind the final band (from every rule, or the score, that reached it).
    pub found: Vec<Found<'a>>,
    /// The `reason` of every band rule that reached the final band, in definition order.
    pub rule_reasons: Vec<&'a str>,
    /// Whether the score's threshold reached the final band.
    pub by_score: bool,
}

/// Decides the band: the highest of every firing rule and of the threshold the score reaches;
/// the lowest band when nothing fires (nothing ticked is still a band, e.g. `none`).
pub(crate) fn decide<'a>(rules: &'a ScreeningRules, facts: &ScreenFacts<'a>) -> BandDecision<'a> {
    let rank_of = |band: &str| rules.bands.iter().position(|b| b == band);
    let mut fired: Vec<(usize, &'a BandRule, Vec<Found<'a>>)> = Vec::new();
    for rule in &rules.band_rules {
        let Some(rank) = rank_of(&rule.band) else {
            continue;
        };
        if let Some(found) = fires(rule, facts) {
            fired.push((rank, rule, found));
        }
    }
    let (score, score_found, score_rank) = match &rules.scoring {
        Some(scoring) => {
            let mut found = Vec::new();
            let total = scoring.points.iter().fold(0_i64, |sum, p| {
                sum.saturating_add(points(p, facts, &mut found))
            });
            // Thresholds need not be listed in order: the highest band reached wins.
            let rank = scoring
                .thresholds
                .iter()
                .filter(|t| total >= t.min_points)
                .filter_map(|t| rank_of(&t.band))
                .max();
            (Some(total), found, rank)
        }
        None => (None, Vec::new(), None),
    };
    let best = fired
        .iter()
        .map(|(rank, _, _)| *rank)
        .chain(score_rank)
        .max();
    let rank = best.or(if rules.bands.is_empty() {
        None
    } else {
        Some(0)
    });
    let mut found = Vec::new();
    let mut rule_reasons = Vec::new();
    for (r, rule, f) in fired {
        if Some(r) == best {
            found.extend(f);
            rule_reasons.push(rule.reason.as_str());
        }
    }
    let by_score = score_rank.is_some() && score_rank == best;
    if by_score {
        found.extend(score_found);
    }
    BandDecision {
        rank,
        score,
        found,
        rule_reasons,
        by_score,
    }
}

/// Whether a band rule fires, and if so the indicators that made it.
fn fires<'a>(rule: &'a BandRule, facts: &ScreenFacts<'a>) -> Option<Vec<Found<'a>>> {
    let mut found = Vec::new();
    if let Some(key) = rule.question.as_deref() {
        let question = facts.def.question(key);
        let answer = lookup(facts.answers, key)?;
        for_each_indicator(question, answer, |option, cell| {
            let option_counts = rule.options.is_empty()
                || option.is_some_and(|o| rule.options.iter().any(|w| w == o));
            let column_counts = match cell {
                Some(cell) => cell_matches(question, cell, &rule.columns, rule.only_columns),
                None => true,
            };
            if option_counts && column_counts {
                found.push(Found {
                    question: key,
                    option,
                });
            }
        });
        if found.is_empty() {
            return None;
        }
    }
    if let Some(when) = &rule.when {
        if !when.holds(facts) {
            return None;
        }
        explain_true(when, facts, &mut found);
    }
    Some(found)
}

/// Points scored by one rule, pushing the indicators that scored.
fn points<'a>(rule: &'a PointRule, facts: &ScreenFacts<'a>, found: &mut Vec<Found<'a>>) -> i64 {
    let key = rule.question.as_str();
    let Some(answer) = lookup(facts.answers, key) else {
        return 0;
    };
    let question = facts.def.question(key);
    let columns = rule.column.as_slice();
    let mut total = 0_i64;
    for_each_indicator(question, answer, |option, cell| {
        let option_counts =
            rule.options.is_empty() || option.is_some_and(|o| rule.options.iter().any(|w| w == o));
        let column_counts = match cell {
            Some(cell) => cell_matches(question, cell, columns, false),
            None => true,
        };
        if option_counts && column_counts {
            total = total.saturating_add(rule.points);
            found.push(Found {
                question: key,
                option,
            });
        }
    });
    total
}

/// Calls `f` for every indicator ticked in an answer: `(Some(option), None)` for a chosen
/// option, `(Some(row), Some(cell))` for a matrix row, `(None, None)` for a yes/no answered
/// yes. Anything else (free text, a date) is not an indicator.
fn for_each_indicator<'a>(
    question: Option<&Question>,
    answer: &'a Value,
    mut f: impl FnMut(Option<&'a str>, Option<&'a Value>),
) {
    let is_option = |o: &str| question.is_none_or(|q| q.option(o).is_some());
    match answer {
        Value::Object(rows) => {
            for (row, cell) in rows {
                if is_option(row) && cell_ticked(cell) {
                    f(Some(row), Some(cell));
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|o| is_option(o))
            .for_each(|o| f(Some(o), None)),
        Value::String(s)
            if question.is_some_and(|q| q.kind == QuestionKind::Choice) && is_option(s) =>
        {
            f(Some(s), None)
        }
        Value::Bool(true) => f(None, None),
        _ => {}
    }
}

/// A matrix cell ticks at least one column.
fn cell_ticked(cell: &Value) -> bool {
    match cell {
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(cols) => cols
            .iter()
            .any(|c| c.as_str().is_some_and(|c| !c.trim().is_empty())),
        _ => false,
    }
}

/// Whether a matrix cell counts for a rule's columns. With `only`, every column the cell
/// ticks must be one of `wanted` (a row ticked `prior` only, not `both`).
fn cell_matches(question: Option<&Question>, cell: &Value, wanted: &[String], only: bool) -> bool {
    if wanted.is_empty() {
        return true;
    }
    let is_wanted = |c: &str| wanted.iter().any(|w| w == c);
    let mut any = false;
    let mut all = true;
    let mut visit = |c: &str| {
        if c == "both" {
            // `both` ticks every column of the question.
            match question {
                Some(q) => q.columns.iter().for_each(|col| {
                    let hit = is_wanted(&col.key);
                    any |= hit;
                    all &= hit;
                }),
                None => all = false,
            }
        } else {
            let hit = is_wanted(c);
            any |= hit;
            all &= hit;
        }
    };
    match cell {
        Value::String(s) => visit(s),
        Value::Array(cols) => cols.iter().filter_map(Value::as_str).for_each(&mut visit),
        _ => return false,
    }
    if only { any && all } else { any }
}
