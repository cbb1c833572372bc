//! What screening conditions are evaluated against, and how a condition is explained: which
//! answers made it hold (or fail), so every decision can list its reasons.

use chrono::NaiveDate;
use serde_json::Value;

use crate::definition::condition::{Facts, lookup, matrix_row_has_column};
use crate::definition::{Condition, QuestionKind, ServiceDefinition};

/// The answers, the referral day and the decisions made so far. Screening decides in order
/// (eligibility, band, scope, then urgency, flags, actions and signposts), so a later rule may
/// read an earlier decision (`band_at_least`, `eligible`, `in_scope`).
pub(crate) struct ScreenFacts<'a> {
    pub def: &'a ServiceDefinition,
    pub answers: &'a Value,
    pub today: NaiveDate,
    /// The service's band order, lowest first.
    pub bands: &'a [String],
    pub band: Option<usize>,
    pub eligible: Option<bool>,
    pub in_scope: Option<bool>,
}

impl Facts for ScreenFacts<'_> {
    fn answer(&self, key: &str) -> Option<&Value> {
        lookup(self.answers, key)
    }
    fn today(&self) -> NaiveDate {
        self.today
    }
    fn band_rank(&self) -> Option<usize> {
        self.band
    }
    fn rank_of_band(&self, band: &str) -> Option<usize> {
        self.bands.iter().position(|b| b == band)
    }
    fn eligible(&self) -> Option<bool> {
        self.eligible
    }
    fn in_scope(&self) -> Option<bool> {
        self.in_scope
    }
}

impl<'a> ScreenFacts<'a> {
    /// Calls `f` with every option chosen in the answer to a choice question. Answers to other
    /// questions (dates of birth, free text) are never treated as options, so they can never
    /// leak into a reason.
    fn options_chosen(&self, key: &str, answer: &'a Value, mut f: impl FnMut(&'a str)) {
        let Some(q) = self.def.question(key) else {
            return;
        };
        if matches!(
            q.kind,
            QuestionKind::Choice | QuestionKind::MultipleChoice | QuestionKind::IndicatorMatrix
        ) {
            chosen(answer, |o| {
                if q.option(o).is_some() {
                    f(o);
                }
            });
        }
    }
}

/// One answer that contributed to a decision: a ticked option of a question, or a whole
/// question (a yes/no, a date of birth, a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found<'a> {
    pub question: &'a str,
    pub option: Option<&'a str>,
}

/// The answers that make a holding condition hold.
pub(crate) fn explain_true<'a>(
    cond: &'a Condition,
    facts: &ScreenFacts<'a>,
    out: &mut Vec<Found<'a>>,
) {
    if let Some(all) = &cond.all {
        all.iter().for_each(|c| explain_true(c, facts, out));
    } else if let Some(any) = &cond.any {
        any.iter()
            .filter(|c| c.holds(facts))
            .for_each(|c| explain_true(c, facts, out));
    } else if let Some(not) = &cond.not {
        explain_false(not, facts, out);
    } else if let Some(key) = cond.question.as_deref() {
        // `answered = false` holds on an absent answer: nothing to point at.
        let Some(answer) = lookup(facts.answers, key) else {
            return;
        };
        if let Some(columns) = &cond.columns {
            if let Some(rows) = answer.as_object() {
                for (row, cell) in rows {
                    let row_wanted = cond
                        .includes
                        .as_ref()
                        .is_none_or(|w| w.iter().any(|x| x == row));
                    if row_wanted && columns.iter().any(|c| matrix_row_has_column(cell, c)) {
                        out.push(Found {
                            question: key,
                            option: Some(row),
                        });
                    }
                }
            }
        } else if let Some(wanted) = &cond.includes {
            facts.options_chosen(key, answer, |o| {
                if wanted.iter().any(|w| w == o) {
                    out.push(Found {
                        question: key,
                        option: Some(o),
                    });
                }
            });
        } else {
            // `only`, `equals`, `any_of` on a choice: the options chosen; otherwise the question.
            let before = out.len();
            facts.options_chosen(key, answer, |o| {
                out.push(Found {
                    question: key,
                    option: Some(o),
                })
            });
            if out.len() == before {
                out.push(Found {
                    question: key,
                    option: None,
                });
            }
        }
    }
}

/// The answers that make a failing condition fail: for a question test, everything that was
/// answered to it (the out-of-scope concerns of a report with no in-scope one, say).
pub(crate) fn explain_false<'a>(
    cond: &'a Condition,
    facts: &ScreenFacts<'a>,
    out: &mut Vec<Found<'a>>,
) {
    if let Some(all) = &cond.all {
        all.iter()
            .filter(|c| !c.holds(facts))
            .for_each(|c| explain_false(c, facts, out));
    } else if let Some(any) = &cond.any {
        any.iter().for_each(|c| explain_false(c, facts, out));
    } else if let Some(not) = &cond.not {
        explain_true(not, facts, out);
    } else if let Some(key) = cond.question.as_deref() {
        let Some(answer) = lookup(facts.answers, key) else {
            return;
        };
        let before = out.len();
        facts.options_chosen(key, answer, |o| {
            out.push(Found {
                question: key,
                option: Some(o),
            })
        });
        if out.len() == before {
            out.push(Found {
                question: key,
                option: None,
            });
        }
    }
}

/// The indicators ticked in one question: its chosen options, or the question itself for a
/// yes/no answered yes.
pub(crate) fn ticked<'a>(facts: &ScreenFacts<'a>, key: &'a str, out: &mut Vec<Found<'a>>) {
    let Some(answer) = lookup(facts.answers, key) else {
        return;
    };
    let before = out.len();
    facts.options_chosen(key, answer, |o| {
        out.push(Found {
            question: key,
            option: Some(o),
        })
    });
    if out.len() == before && answer == &Value::Bool(true) {
        out.push(Found {
            question: key,
            option: None,
        });
    }
}

/// Calls `f` with every option chosen in an answer: the items of a multiple choice, the rows
/// of an indicator matrix, a single choice.
pub(crate) fn chosen<'a>(answer: &'a Value, mut f: impl FnMut(&'a str)) {
    match answer {
        Value::Array(items) => items.iter().filter_map(Value::as_str).for_each(f),
        Value::Object(rows) => rows.keys().for_each(|k| f(k)),
        Value::String(s) => f(s),
        _ => {}
    }
}
