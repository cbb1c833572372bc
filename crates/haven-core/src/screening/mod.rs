//! Screening: turning a submission's answers into a suggestion for the team (eligibility,
//! scope, band, urgency, flags, required actions, signposts), each decision with its reasons.
//!
//! The rules are data (`[screening]` of a service definition); this module interprets them.
//! It is a suggestion: a person confirms or overrides the band, so `confirmed_band` is always
//! `None` here. Screening never panics on an answers document: it first validates the answers
//! it reads, then evaluates rules that treat anything unexpected as "not ticked".

mod bands;
mod early;
mod facts;
mod validation;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::answers::FieldError;
use crate::definition::ServiceDefinition;
use crate::definition::screening::ScreeningRules;
pub use early::{out_of_scope_words, refused_already};
use facts::{Found, ScreenFacts, explain_false, explain_true, ticked};

/// What screening suggests for one submission (the `screening` object of the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningResult {
    /// The `screening.version` of the rules that decided this, kept with the stored result.
    pub rules_version: Option<String>,
    /// `None` when the service has no eligibility rule.
    pub eligible: Option<bool>,
    /// `None` when the service has no scope rule.
    pub in_scope: Option<bool>,
    /// False when the service refuses out-of-scope submissions and this one is out of scope:
    /// no referral is created, the person is shown `signposts`.
    pub accepted: bool,
    /// Sorts to the top of every queue; the emergency message is shown first.
    pub urgent: bool,
    /// One of the service's `bands` (the lowest when nothing raises it); `None` without bands.
    pub suggested_band: Option<String>,
    /// Always `None` from the engine: a person confirms or overrides the suggested band.
    pub confirmed_band: Option<String>,
    /// Total of weighted scoring, when the service scores.
    pub score: Option<i64>,
    /// The answers behind each decision.
    pub reasons: Vec<Reason>,
    /// The checklist the team must complete (or waive with a reason).
    pub required_actions: Vec<ActionDue>,
    /// Other services offered, in the definition's order, each once.
    pub signposts: Vec<SignpostOut>,
    /// Matters for the team's judgement (an age outside the accepted range, say).
    pub flags: Vec<FlagOut>,
    /// Plain sentences for people: "Not eligible: …", "Out of scope: …", "Urgent: …".
    pub explanation: Vec<String>,
}

/// One answer behind one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The option ticked (`online_grooming`) or, for a whole question (a yes/no, a date of
    /// birth), the last segment of the question key (`immediate_danger`).
    pub key: String,
    /// The form's wording of that option or question.
    pub label: String,
    /// The last segment of the question key (`significant`, `concerns`).
    pub section: String,
    /// What it decided: `eligibility`, `band:<band>`, `scope`, `urgent`, `flag:<key>`.
    pub decision: String,
}

/// A required action, with the reason the service gives for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDue {
    pub key: String,
    pub label: String,
    pub reason: String,
}

/// A signpost offered to the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignpostOut {
    pub key: String,
    pub label: String,
    /// Phone number or web address to show.
    pub contact: String,
    pub url: Option<String>,
}

/// A flag raised for the team's judgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagOut {
    pub key: String,
    pub label: String,
}

/// Screens an answers document on the day of the referral (ages are counted on `today`).
///
/// Only the answers the rules read are validated, plus any question they make required
/// (a ticked section's narrative); errors name the question key. A service without
/// screening rules gets an empty, accepted result.
pub fn screen(
    def: &ServiceDefinition,
    answers: &Value,
    today: NaiveDate,
) -> Result<ScreeningResult, Vec<FieldError>> {
    let Some(rules) = &def.screening else {
        if !answers.is_object() {
            return Err(vec![FieldError::new(
                "answers",
                "Answers must be a JSON object",
            )]);
        }
        return Ok(empty_result(None));
    };
    validation::validate(def, rules, answers, today)?;
    Ok(evaluate(def, rules, answers, today))
}

/// The required actions the definition gives a case once a person has confirmed its band:
/// the same rules as [`screen`], with `band` in place of the suggested one (a rule such as
/// `band_at_least = "high"` then reads the confirmed band). `today` is the referral's day,
/// as at intake. `None` when `band` is not one of the service's bands.
///
/// The stored answers were validated at intake, and evaluation treats anything unexpected
/// as "not ticked" (property-tested in `tests.rs`), so this never fails on them.
pub fn required_actions(
    def: &ServiceDefinition,
    answers: &Value,
    today: NaiveDate,
    band: &str,
) -> Option<Vec<ActionDue>> {
    let rules = def.screening.as_ref()?;
    let rank = rules.bands.iter().position(|b| b == band)?;
    Some(evaluate_with(def, rules, answers, today, Some(rank)).required_actions)
}

/// How a case's required actions change when its band is confirmed: the actions now
/// required that were not (`added`, definition order) and those required before that no
/// longer are (`no_longer_required`, in the order given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionsChange {
    pub added: Vec<ActionDue>,
    pub no_longer_required: Vec<String>,
}

/// Compares the keys of the actions a case requires now (`before`) with what the confirmed
/// band requires (`after`, from [`required_actions`]).
pub fn actions_change(before: &[&str], after: &[ActionDue]) -> ActionsChange {
    ActionsChange {
        added: after
            .iter()
            .filter(|a| !before.contains(&a.key.as_str()))
            .cloned()
            .collect(),
        no_longer_required: before
            .iter()
            .filter(|k| !after.iter().any(|a| a.key == **k))
            .map(|k| (*k).to_owned())
            .collect(),
    }
}

fn empty_result(rules_version: Option<String>) -> ScreeningResult {
    ScreeningResult {
        rules_version,
        eligible: None,
        in_scope: None,
        accepted: true,
        urgent: false,
        suggested_band: None,
        confirmed_band: None,
        score: None,
        reasons: Vec::new(),
        required_actions: Vec::new(),
        signposts: Vec::new(),
        flags: Vec::new(),
        explanation: Vec::new(),
    }
}

/// Applies the rules in order, each later rule able to read the earlier decisions.
fn evaluate(
    def: &ServiceDefinition,
    rules: &ScreeningRules,
    answers: &Value,
    today: NaiveDate,
) -> ScreeningResult {
    evaluate_with(def, rules, answers, today, None)
}

/// [`evaluate`], with the band a person confirmed (a rank in `bands`) in place of the
/// suggested one for every rule after the band decision.
fn evaluate_with(
    def: &ServiceDefinition,
    rules: &ScreeningRules,
    answers: &Value,
    today: NaiveDate,
    confirmed: Option<usize>,
) -> ScreeningResult {
    let mut out = empty_result(Some(rules.version.clone()));
    let mut facts = ScreenFacts {
        def,
        answers,
        today,
        bands: &rules.bands,
        band: None,
        eligible: None,
        in_scope: None,
    };

    if let Some(eligibility) = &rules.eligibility {
        let eligible = eligibility.when.holds(&facts);
        facts.eligible = Some(eligible);
        out.eligible = Some(eligible);
        if eligible {
            let mut found = Vec::new();
            for key in &eligibility.indicators {
                ticked(&facts, key, &mut found);
            }
            push_reasons(def, &mut out.reasons, found, "eligibility");
        } else {
            out.explanation
                .push(format!("Not eligible: {}", eligibility.not_eligible_reason));
        }
    }

    let band = bands::decide(rules, &facts);
    facts.band = confirmed.or(band.rank);
    out.score = band.score;
    if let Some(name) = band.rank.and_then(|r| rules.bands.get(r)) {
        out.suggested_band = Some(name.clone());
        for reason in &band.rule_reasons {
            out.explanation
                .push(format!("Suggested band {name}: {reason}"));
        }
        if band.by_score {
            out.explanation.push(format!(
                "Suggested band {name}: a score of {}",
                band.score.unwrap_or_default()
            ));
        }
        push_reasons(def, &mut out.reasons, band.found, &format!("band:{name}"));
    }

    if let Some(scope) = &rules.scope {
        let in_scope = scope.in_scope_when.holds(&facts);
        facts.in_scope = Some(in_scope);
        out.in_scope = Some(in_scope);
        let mut found = Vec::new();
        if in_scope {
            explain_true(&scope.in_scope_when, &facts, &mut found);
        } else {
            explain_false(&scope.in_scope_when, &facts, &mut found);
            out.explanation
                .push(format!("Out of scope: {}", scope.out_of_scope_reason));
            out.accepted = !scope.reject_out_of_scope;
        }
        push_reasons(def, &mut out.reasons, found, "scope");
    }

    if let Some(urgent) = rules.urgent.as_ref().filter(|u| u.when.holds(&facts)) {
        out.urgent = true;
        out.explanation.push(format!("Urgent: {}", urgent.reason));
        let mut found = Vec::new();
        explain_true(&urgent.when, &facts, &mut found);
        push_reasons(def, &mut out.reasons, found, "urgent");
    }

    for flag in rules.flags.iter().filter(|f| f.when.holds(&facts)) {
        out.flags.push(FlagOut {
            key: flag.key.clone(),
            label: flag.label.clone(),
        });
        out.explanation.push(format!("Flagged: {}", flag.label));
        let mut found = Vec::new();
        explain_true(&flag.when, &facts, &mut found);
        push_reasons(def, &mut out.reasons, found, &format!("flag:{}", flag.key));
    }

    out.required_actions = rules
        .actions
        .iter()
        .filter(|a| a.when.holds(&facts))
        .map(|a| ActionDue {
            key: a.key.clone(),
            label: a.label.clone(),
            reason: a.reason.clone(),
        })
        .collect();

    // Offered signposts are shown in the order the definition lists them, each once, so the
    // page does not reshuffle with the rules that happened to fire.
    let wanted: Vec<&str> = rules
        .signpost_rules
        .iter()
        .filter(|r| r.when.holds(&facts))
        .flat_map(|r| r.signposts.iter())
        .chain(rules.always_signpost.iter())
        .map(String::as_str)
        .collect();
    out.signposts = def
        .signposts
        .iter()
        .filter(|s| wanted.contains(&s.key.as_str()))
        .map(|s| SignpostOut {
            key: s.key.clone(),
            label: s.label.clone(),
            contact: s.contact.clone(),
            url: s.url.clone(),
        })
        .collect();
    out
}

/// Turns found answers into reasons for one decision, each once, with the form's wording.
fn push_reasons(
    def: &ServiceDefinition,
    reasons: &mut Vec<Reason>,
    found: Vec<Found<'_>>,
    decision: &str,
) {
    for f in found {
        let question = def.question(f.question);
        let section = f.question.rsplit('.').next().unwrap_or(f.question);
        let (key, label) = match f.option {
            Some(option) => (
                option,
                question
                    .and_then(|q| q.option(option))
                    .map_or(option, |o| o.label.as_str()),
            ),
            None => (section, question.map_or(section, |q| q.label.as_str())),
        };
        let duplicate = reasons
            .iter()
            .any(|r| r.key == key && r.section == section && r.decision == decision);
        if !duplicate {
            reasons.push(Reason {
                key: key.to_owned(),
                label: label.to_owned(),
                section: section.to_owned(),
                decision: decision.to_owned(),
            });
        }
    }
}
