use super::*;

const DEF: &str = r#"
id = "demo"
name = "Demo"
version = 1
summary = "Demo."
team = "demo"
reference_prefix = "DEM"

[[audiences]]
key = "professional"
label = "Professional"

[[stages]]
key = "referral"
label = "Referral"
access = "public"
audiences = ["professional"]

[[stages.pages]]
key = "p"
title = "P"

[[stages.pages.questions]]
key = "concern"
type = "long_text"
label = "Concern"

[screening]
version = "1"
bands = ["low", "medium", "high"]

[workflow]
initial = "open"

[[workflow.states]]
key = "open"
label = "Open"
public_label = "Open"

[[workflow.states]]
key = "meeting"
label = "Meeting arranged"
public_label = "Meeting arranged"

[[workflow.states]]
key = "escalated"
label = "Escalated"
public_label = "Escalated"

[[workflow.transitions]]
from = ["open"]
to = "meeting"
label = "Arrange meeting"
roles = ["caseworker"]
guards = [
  { key = "meeting_date_given", message = "Give the meeting's date.", when = { question = "transition.fields.date", answered = true } },
  { key = "meeting_place_given", message = "Give the meeting's place.", when = { question = "transition.fields.place", answered = true } },
]

[[workflow.transitions]]
from = ["open"]
to = "escalated"
label = "Escalate"
roles = ["manager"]
guards = [
  { key = "band_high", message = "Only high-band cases escalate.", when = { band_at_least = "high" } },
]
"#;

fn def() -> ServiceDefinition {
    parse_definition("demo.toml", DEF).unwrap()
}

#[test]
fn guards_read_the_requests_fields() {
    let mut request = to("meeting");
    request.fields.insert("date".into(), json!("2026-12-01"));
    let err = attempt(
        &def(),
        "open",
        "caseworker",
        &request,
        &case("open", json!({})),
    )
    .unwrap_err();
    assert!(
        matches!(&err, TransitionError::GuardFailed { key, .. } if key == "meeting_place_given"),
        "{err:?}"
    );
    request
        .fields
        .insert("place".into(), json!("The youth centre"));
    assert!(
        attempt(
            &def(),
            "open",
            "caseworker",
            &request,
            &case("open", json!({}))
        )
        .is_ok()
    );
}

#[test]
fn band_guards_read_the_confirmed_band_before_the_suggested_one() {
    let facts = |suggested: &str, confirmed: Value| {
        case(
            "open",
            json!({ "case": { "screening": { "suggested_band": suggested, "confirmed_band": confirmed } } }),
        )
    };
    let ok = |f: &Value| attempt(&def(), "open", "manager", &to("escalated"), f).is_ok();
    assert!(ok(&facts("high", Value::Null)));
    assert!(!ok(&facts("medium", Value::Null)));
    assert!(ok(&facts("low", json!("high"))));
    assert!(
        !ok(&facts("high", json!("medium"))),
        "a person's override wins"
    );
}

#[test]
fn a_service_without_a_workflow_has_no_transitions() {
    let mut def = def();
    def.workflow = None;
    assert!(available_transitions(&def, "open", "manager").is_empty());
    let err = attempt(&def, "open", "manager", &to("escalated"), &json!({})).unwrap_err();
    assert_eq!(err, TransitionError::NoWorkflow);
}

#[test]
fn guards_never_panic_on_a_malformed_case_document() {
    for doc in [
        json!(null),
        json!([1, 2]),
        json!({ "case": "x" }),
        json!({ "case": { "screening": 3 } }),
    ] {
        let err = attempt(&def(), "open", "manager", &to("escalated"), &doc).unwrap_err();
        assert!(matches!(err, TransitionError::GuardFailed { .. }), "{doc}");
    }
}

#[test]
fn requests_deserialise_from_the_api_body() {
    let request: TransitionRequest =
        serde_json::from_value(json!({ "to": "meeting", "reason": "r" })).unwrap();
    assert_eq!(request.to, "meeting");
    assert_eq!(request.decision, None);
    assert!(request.fields.is_empty());
}
