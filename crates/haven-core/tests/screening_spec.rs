//! Conformance of screening with the service rules in `spec/` (secos-screening.md,
//! ceop-report.md, cyber-choices.md), run on the built-in definitions in `services/`.

use chrono::NaiveDate;
use haven_core::definition::ServiceDefinition;
use haven_core::definition::load::parse_definition;
use haven_core::screening::{ScreeningResult, screen};
use serde_json::{Value, json};

fn load(file: &str) -> ServiceDefinition {
    let path = format!("{}/../../services/{file}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_definition(file, &source).unwrap_or_else(|e| panic!("{e}"))
}

/// The day of the referral in every test (ages are counted on it).
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn run(def: &ServiceDefinition, answers: Value) -> ScreeningResult {
    screen(def, &answers, today()).unwrap_or_else(|e| panic!("{e:?}"))
}

fn action_keys(r: &ScreeningResult) -> Vec<&str> {
    r.required_actions.iter().map(|a| a.key.as_str()).collect()
}

fn signpost_keys(r: &ScreeningResult) -> Vec<&str> {
    r.signposts.iter().map(|s| s.key.as_str()).collect()
}

fn reasons_for<'r>(r: &'r ScreeningResult, decision: &str) -> Vec<(&'r str, &'r str)> {
    r.reasons
        .iter()
        .filter(|x| x.decision == decision)
        .map(|x| (x.section.as_str(), x.key.as_str()))
        .collect()
}

#[path = "screening_spec/secos.rs"]
mod secos;

#[path = "screening_spec/ceop.rs"]
mod ceop;

#[path = "screening_spec/cyber_choices.rs"]
mod cyber_choices;

#[path = "screening_spec/weighted_example.rs"]
mod weighted_example;
