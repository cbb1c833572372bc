//! Casework rules on the built-in definitions: meetings against the service's lists, the
//! lone-working concerns of a referral, overdue actions, review dates and closure outcomes.

use chrono::NaiveDate;
use haven_core::casework::{
    MeetingInput, action_overdue, check_meeting, closure_choice, lone_working_concerns, next_review,
};
use haven_core::definition::ServiceDefinition;
use haven_core::definition::load::parse_definition;
use serde_json::{Map, Value, json};

fn load(id: &str) -> ServiceDefinition {
    let path = format!("{}/../../services/{id}.toml", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    parse_definition(&path, &source).unwrap_or_else(|e| panic!("{e}"))
}

fn meeting<'a>(kind: &'a str, place: &'a str) -> MeetingInput<'a> {
    MeetingInput {
        kind: Some(kind),
        date: Some("2027-01-12"),
        time: Some("09:05"),
        place: Some(place),
        attendees: Some("Young person and worker"),
        ..Default::default()
    }
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[test]
fn secos_lone_working_answers_are_concerns_and_a_home_visit_needs_them_read() {
    let def = load("secos");
    let answers =
        json!({ "lone_working": { "concerns": true, "details": "An aggressive partner" } });
    let concerns = lone_working_concerns(&def, "referral", &answers);
    assert_eq!(concerns.len(), 1);
    assert_eq!(
        concerns[0].details.as_deref(),
        Some("An aggressive partner")
    );
    assert!(concerns[0].third_party);
    let none = json!({ "lone_working": { "concerns": false }, "risk_factors": "  " });
    assert!(lone_working_concerns(&def, "referral", &none).is_empty());
    let risk =
        json!({ "lone_working": { "concerns": false }, "risk_factors": "History of violence" });
    assert_eq!(lone_working_concerns(&def, "referral", &risk).len(), 1);

    let err = check_meeting(&def, &meeting("home_visit", "school"), true).unwrap_err();
    assert_eq!(
        err.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["lone_working_read"]
    );
    let err = check_meeting(&def, &meeting("one_to_one", "home"), true).unwrap_err();
    assert_eq!(
        err[0].0, "lone_working_read",
        "a home place is a home visit too"
    );
    let ok = check_meeting(&def, &meeting("one_to_one", "school"), true).unwrap();
    assert!(!ok.home_visit && !ok.lone_working_confirmed);
    let ok = check_meeting(&def, &meeting("home_visit", "home"), false).unwrap();
    assert!(
        ok.home_visit && !ok.lone_working_confirmed,
        "no concerns, nothing to confirm"
    );
    let read = MeetingInput {
        lone_working_read: true,
        ..meeting("home_visit", "home")
    };
    assert!(
        check_meeting(&def, &read, true)
            .unwrap()
            .lone_working_confirmed
    );
}

#[test]
fn cyber_choices_meetings_say_whether_they_are_informal() {
    let def = load("cyber-choices");
    let err = check_meeting(&def, &meeting("initial_meeting", "school"), false).unwrap_err();
    assert_eq!(err[0].0, "informal");
    let informal = MeetingInput {
        informal: Some(true),
        ..meeting("initial_meeting", "school")
    };
    assert_eq!(
        check_meeting(&def, &informal, false).unwrap().informal,
        Some(true)
    );
    let answers = json!({ "support": { "meeting_considerations": "Meet away from home" } });
    assert_eq!(lone_working_concerns(&def, "referral", &answers).len(), 1);
    assert!(lone_working_concerns(&def, "enquiry", &answers).is_empty());
    let bad = MeetingInput {
        kind: Some("party"),
        date: Some("2027-13-01"),
        time: Some("9am"),
        place: None,
        attendees: None,
        informal: Some(true),
        ..Default::default()
    };
    let mut fields: Vec<String> = check_meeting(&def, &bad, false)
        .unwrap_err()
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    fields.sort();
    assert_eq!(fields, ["attendees", "date", "kind", "place", "time"]);
}

#[test]
fn actions_are_overdue_after_their_day_and_reviews_follow_the_interval() {
    assert!(action_overdue(day("2027-01-10"), false, day("2027-01-11")));
    assert!(
        !action_overdue(day("2027-01-11"), false, day("2027-01-11")),
        "due today is not overdue"
    );
    assert!(!action_overdue(day("2027-01-10"), true, day("2027-01-11")));
    let cyber = load("cyber-choices");
    assert_eq!(
        next_review(&cyber, day("2027-01-31"), None),
        Some(day("2027-02-28"))
    );
    assert_eq!(
        next_review(&cyber, day("2027-01-31"), Some(day("2027-02-02"))),
        Some(day("2027-02-02"))
    );
    assert_eq!(next_review(&load("ceop"), day("2027-01-31"), None), None);
}

#[test]
fn a_closure_outcome_comes_from_the_services_list_with_a_summary() {
    let def = load("secos");
    let fields = |v: Value| v.as_object().cloned().unwrap_or_else(Map::new);
    assert_eq!(closure_choice(&def, "closed", &fields(json!({}))), Ok(None));
    assert_eq!(
        closure_choice(&def, "allocated", &fields(json!({"outcome": "nonsense"}))),
        Ok(None)
    );
    let err = closure_choice(
        &def,
        "closed",
        &fields(json!({"outcome": "cured", "narrative": "x"})),
    )
    .unwrap_err();
    assert_eq!(err[0].0, "fields.outcome");
    let err =
        closure_choice(&def, "closed", &fields(json!({"outcome": "risk_reduced"}))).unwrap_err();
    assert_eq!(err[0].0, "fields.narrative");
    let err = closure_choice(&def, "closed", &fields(json!({"narrative": "Done"}))).unwrap_err();
    assert_eq!(err[0].0, "fields.outcome");
    let ok = closure_choice(
        &def,
        "closed",
        &fields(json!({"outcome": "risk_reduced", "narrative": " Safer now "})),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        (ok.outcome.as_str(), ok.narrative.as_str()),
        ("risk_reduced", "Safer now")
    );
}

#[test]
fn broken_casework_sections_are_refused_with_their_line() {
    let source = std::fs::read_to_string(format!(
        "{}/../../services/secos.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let broken = source
        .replace(
            "details = \"risk_factors\"",
            "details = \"no_such_question\"",
        )
        .replace(
            "[casework.closure]\nstate = \"closed\"",
            "[casework.closure]\nstate = \"allocated\"",
        );
    let err = parse_definition("secos.toml", &broken)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no question `no_such_question`"), "{err}");
    assert!(
        err.contains("`allocated` is not a terminal workflow state"),
        "{err}"
    );
    let wrong_type = source.replace(
        "concerns = \"lone_working.concerns\"",
        "concerns = \"lone_working.details\"",
    );
    let err = parse_definition("secos.toml", &wrong_type)
        .unwrap_err()
        .to_string();
    assert!(err.contains("must be a yes_no question"), "{err}");
}
