//! The built-in service definitions (`services/*.toml`), the example
//! (`services/examples/*.toml`) and the sample answers (`services/samples/*.json`).
//!
//! The definitions are data that integrations and the specs depend on: every file must load
//! with no problems, carry the keys and labels `spec/` fixes, and accept the samples a
//! referrer would really send, while refusing incomplete answers with an error that names
//! the question to fix.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use haven_core::answers::{FieldError, target, validate};
use haven_core::definition::ServiceDefinition;
use haven_core::definition::load::parse_definition;
use haven_core::workflow::TransitionRequest;
use serde_json::{Value, json};

// One test binary, split by service (files under `builtin_definitions/` are not test targets
// of their own, so the helpers below are shared rather than repeated).
#[path = "builtin_definitions/ceop.rs"]
mod ceop;
#[path = "builtin_definitions/cyber_choices.rs"]
mod cyber_choices;
#[path = "builtin_definitions/secos.rs"]
mod secos;
#[path = "builtin_definitions/weighted_example.rs"]
mod weighted_example;

fn services_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services")
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn load_path(path: &Path) -> ServiceDefinition {
    let source = std::fs::read_to_string(path).unwrap();
    let name = path
        .strip_prefix(services_dir())
        .unwrap_or(path)
        .display()
        .to_string();
    parse_definition(&name, &source).unwrap_or_else(|e| panic!("{e}"))
}

fn load(id: &str) -> ServiceDefinition {
    load_path(&services_dir().join(format!("{id}.toml")))
}

/// The day every sample is validated on (dates of birth and completion dates are before it).
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn sample(file: &str) -> Value {
    let path = services_dir().join("samples").join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Validates answers for a stage and audience, returning the fields named by the errors.
fn errors(
    def: &ServiceDefinition,
    stage: &str,
    audience: &str,
    answers: &Value,
) -> Vec<FieldError> {
    let stage = target(def, stage, audience).unwrap_or_else(|e| panic!("{e}"));
    validate(stage, audience, answers, today())
        .err()
        .unwrap_or_default()
}

fn error_fields(
    def: &ServiceDefinition,
    stage: &str,
    audience: &str,
    answers: &Value,
) -> Vec<String> {
    errors(def, stage, audience, answers)
        .into_iter()
        .map(|e| e.field)
        .collect()
}

/// Sets (or, with `Value::Null`, removes) the answer at a dotted key.
fn with(mut answers: Value, key: &str, value: Value) -> Value {
    let parts: Vec<&str> = key.split('.').collect();
    let mut node = &mut answers;
    for part in &parts[..parts.len() - 1] {
        node = node
            .as_object_mut()
            .unwrap()
            .entry(*part)
            .or_insert_with(|| json!({}));
    }
    let object = node.as_object_mut().unwrap();
    let last = parts[parts.len() - 1];
    if value.is_null() {
        object.remove(last);
    } else {
        object.insert(last.to_owned(), value);
    }
    answers
}

fn options_of(def: &ServiceDefinition, key: &str) -> Vec<(String, String)> {
    let q = def
        .question(key)
        .unwrap_or_else(|| panic!("no question `{key}`"));
    q.options
        .iter()
        .map(|o| (o.key.clone(), o.label.clone()))
        .collect()
}

/// The audiences a question is put to (its page's and its own audiences).
fn asked_of<'d>(def: &'d ServiceDefinition, key: &str) -> Vec<&'d str> {
    let (stage, page, q) = def
        .questions()
        .find(|(_, _, q)| q.key == key)
        .unwrap_or_else(|| panic!("no question `{key}`"));
    stage
        .audiences
        .iter()
        .map(String::as_str)
        .filter(|a| page.shown_to(a) && q.asked_of(a))
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
        .collect()
}

/// A transition request as staff make it.
fn request(to: &str, decision: Option<&str>, reason: Option<&str>) -> TransitionRequest {
    TransitionRequest {
        to: to.into(),
        decision: decision.map(Into::into),
        reason: reason.map(Into::into),
        ..TransitionRequest::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Every file loads
// ---------------------------------------------------------------------------------------------

#[test]
fn every_definition_and_example_loads_with_no_problems() {
    let builtin = toml_files(&services_dir());
    let examples = toml_files(&services_dir().join("examples"));
    let ids: BTreeSet<String> = builtin.iter().map(|p| load_path(p).id).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["ceop".into(), "cyber-choices".into(), "secos".into()])
    );
    assert!(!examples.is_empty());
    for path in builtin.iter().chain(&examples) {
        let def = load_path(path);
        // The file is named after the service, so `--services-dir` replacements are obvious.
        assert_eq!(
            path.file_stem().unwrap().to_str().unwrap(),
            def.id,
            "{}",
            path.display()
        );
        let workflow = def
            .workflow
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no workflow", def.id));
        for t in &workflow.transitions {
            assert!(
                !t.roles.iter().any(|r| r == "auditor"),
                "{}: auditors only read ({})",
                def.id,
                t.label
            );
        }
        assert!(
            workflow.states.iter().any(|s| s.terminal),
            "{}: no terminal state",
            def.id
        );
        assert!(
            def.screening
                .as_ref()
                .is_some_and(|s| !s.version.is_empty()),
            "{}",
            def.id
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Samples
// ---------------------------------------------------------------------------------------------

/// Every sample, with the service, stage and audience it is an answers document for.
const SAMPLES: [(&str, &str, &str, &str); 5] = [
    ("secos-referral.json", "secos", "referral", "professional"),
    ("ceop-report-parent.json", "ceop", "report", "parent_carer"),
    (
        "ceop-report-bullying.json",
        "ceop",
        "report",
        "young_person",
    ),
    (
        "cyber-choices-enquiry.json",
        "cyber-choices",
        "enquiry",
        "professional",
    ),
    (
        "cyber-choices-referral.json",
        "cyber-choices",
        "referral",
        "professional",
    ),
];

#[test]
fn every_sample_validates_for_its_stage_and_audience() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(services_dir().join("samples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let listed: BTreeSet<String> = SAMPLES.iter().map(|(f, ..)| (*f).to_owned()).collect();
    assert_eq!(
        on_disk, listed,
        "every sample is listed here with its stage and audience"
    );
    for (file, service, stage, audience) in SAMPLES {
        let def = load(service);
        let found = errors(&def, stage, audience, &sample(file));
        assert!(found.is_empty(), "{file}: {found:?}");
    }
}

#[test]
fn emails_never_say_what_a_case_is_about() {
    // An email to a child, a parent or a teacher is often seen by someone else: the name it
    // goes out under must not name abuse or exploitation.
    for id in ["ceop", "secos", "cyber-choices"] {
        let def = load(id);
        let name = def.email_name().to_lowercase();
        for word in ["abuse", "exploitation", "sexual", "cse", "harm"] {
            assert!(
                !name.contains(word),
                "{id}: email name `{name}` says `{word}`"
            );
        }
    }
}
