//! Validating just the answers screening reads, so that screening can run on a partial
//! document (`haven screen`, `POST /screen`) and still refuse answers it would misread.

use chrono::NaiveDate;
use serde_json::Value;

use crate::answers::{FieldError, validate_only};
use crate::definition::condition::{AnswerFacts, lookup};
use crate::definition::screening::ScreeningRules;
use crate::definition::{Condition, Question, QuestionKind, ServiceDefinition};

/// Every question key the screening rules read, each once, in the order the rules name them.
pub(crate) fn read_keys(rules: &ScreeningRules) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    let conditions = rules
        .eligibility
        .iter()
        .map(|e| &e.when)
        .chain(rules.band_rules.iter().filter_map(|r| r.when.as_ref()))
        .chain(rules.scope.iter().map(|s| &s.in_scope_when))
        .chain(rules.urgent.iter().map(|u| &u.when))
        .chain(rules.flags.iter().map(|f| &f.when))
        .chain(rules.actions.iter().map(|a| &a.when))
        .chain(rules.signpost_rules.iter().map(|r| &r.when));
    let named = rules
        .eligibility
        .iter()
        .flat_map(|e| e.indicators.iter().map(String::as_str))
        .chain(
            rules
                .band_rules
                .iter()
                .filter_map(|r| r.question.as_deref()),
        )
        .chain(
            rules
                .scoring
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.question.as_str())),
        );
    for key in named.chain(conditions.flat_map(Condition::questions)) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Validates the answers screening reads, plus every question made required by one of them
/// (a ticked section's narrative): a ticked section without its narrative is an error naming
/// the narrative's key. Answers to other questions are not looked at.
pub(crate) fn validate(
    def: &ServiceDefinition,
    rules: &ScreeningRules,
    answers: &Value,
    today: NaiveDate,
) -> Result<(), Vec<FieldError>> {
    let mut keys = read_keys(rules);
    let dependents: Vec<&Question> = def
        .questions()
        .map(|(_, _, q)| q)
        .filter(|q| {
            let names_one = |c: &Condition| c.questions().iter().any(|k| keys.contains(k));
            // Required when…, or required and asked only when… (a conditional question).
            q.required_when.as_ref().is_some_and(names_one)
                || (q.required && q.when.as_ref().is_some_and(names_one))
        })
        .collect();
    for q in &dependents {
        if !keys.contains(&q.key.as_str()) {
            keys.push(&q.key);
        }
    }
    let mut errors = match validate_only(def, &keys, answers, today) {
        Ok(()) => Vec::new(),
        // Not an object: nothing else can be checked.
        Err(errors) if !answers.is_object() => return Err(errors),
        Err(errors) => errors,
    };
    let facts = AnswerFacts { answers, today };
    for q in dependents {
        let applies = q.when.as_ref().is_none_or(|c| c.holds(&facts));
        let required = q.required || q.required_when.as_ref().is_some_and(|c| c.holds(&facts));
        if applies && required && lookup(answers, &q.key).is_none() {
            errors.push(FieldError::new(&q.key, missing_message(q)));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The GOV.UK error message for a missing answer ("Enter …", "Select …").
fn missing_message(q: &Question) -> String {
    let label = q.label.trim_end_matches(['?', ':']);
    match q.kind {
        QuestionKind::Choice | QuestionKind::YesNo => {
            format!("Select an answer for \u{201c}{label}\u{201d}")
        }
        QuestionKind::MultipleChoice | QuestionKind::IndicatorMatrix => {
            format!("Select at least one option for \u{201c}{label}\u{201d}")
        }
        QuestionKind::File => format!("Attach a file for \u{201c}{label}\u{201d}"),
        QuestionKind::Repeatable => format!("Add at least one entry for \u{201c}{label}\u{201d}"),
        _ => format!("Enter \u{201c}{label}\u{201d}"),
    }
}
