//! Scope decided as early as the answers allow, and said in plain words.
//!
//! A service that refuses out-of-scope reports (`reject_out_of_scope`) should say so before
//! the person gives anyone's details: straight after the answer that decides it (the
//! concerns chosen, a child's age). [`Condition::decided`] tells whether the scope rule is
//! already certain from the questions asked so far; the caller says which those are.

use chrono::NaiveDate;
use serde_json::Value;

use crate::definition::ServiceDefinition;
use crate::definition::condition::{AnswerFacts, Condition};
use crate::definition::screening::Scope;

/// The scope rules of a service that refuses out-of-scope reports.
fn refusing_scope(def: &ServiceDefinition) -> Option<&Scope> {
    def.screening
        .as_ref()
        .and_then(|s| s.scope.as_ref())
        .filter(|s| s.reject_out_of_scope)
}

/// Whether these answers are already certain to be out of scope (and so refused), whatever
/// the questions not yet asked will be answered. `settled(key)`: the question `key` has been
/// asked already. Always `false` for a service that takes out-of-scope reports.
pub fn refused_already(
    def: &ServiceDefinition,
    answers: &Value,
    today: NaiveDate,
    settled: &dyn Fn(&str) -> bool,
) -> bool {
    let Some(scope) = refusing_scope(def) else {
        return false;
    };
    let facts = AnswerFacts { answers, today };
    Condition::decided(&scope.in_scope_when, &facts, settled) == Some(false)
}

/// Why these answers are out of scope, in the service's plain words: each of its `reasons`
/// that holds (bullying, a fake account, 18 or over…), or its general reason when none does.
pub fn out_of_scope_words(
    def: &ServiceDefinition,
    answers: &Value,
    today: NaiveDate,
) -> Vec<String> {
    let Some(scope) = def.screening.as_ref().and_then(|s| s.scope.as_ref()) else {
        return Vec::new();
    };
    let facts = AnswerFacts { answers, today };
    let said: Vec<String> = scope
        .reasons
        .iter()
        .filter(|r| r.when.holds(&facts))
        .map(|r| r.text.clone())
        .collect();
    if said.is_empty() {
        vec![scope.out_of_scope_reason.clone()]
    } else {
        said
    }
}
