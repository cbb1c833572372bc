use super::*;

fn def() -> ServiceDefinition {
    load("cyber-choices.toml")
}

#[test]
fn not_suitable_needs_a_reason_that_goes_to_the_referrer() {
    let facts = case("enquiry_received", json!({}));
    let err = attempt(
        &def(),
        "enquiry_received",
        "triage",
        &decide("suitability_decided", "not_suitable", None),
        &facts,
    )
    .unwrap_err();
    assert_eq!(err, TransitionError::ReasonRequired);
    let ok = attempt(
        &def(),
        "enquiry_received",
        "triage",
        &decide(
            "suitability_decided",
            "not_suitable",
            Some(" Not cyber-dependent. "),
        ),
        &facts,
    )
    .unwrap();
    assert_eq!(ok.reason.as_deref(), Some("Not cyber-dependent."));
    assert!(ok.notify_referrer);
    let ok = attempt(
        &def(),
        "enquiry_received",
        "triage",
        &decide("suitability_decided", "suitable", None),
        &facts,
    )
    .unwrap();
    assert_eq!(ok.decision.as_deref(), Some("suitable"));
}

#[test]
fn deciding_suitable_sends_the_detailed_form_by_itself() {
    let facts = case("enquiry_received", json!({}));
    let def = def();
    let suitable = attempt(
        &def,
        "enquiry_received",
        "triage",
        &decide("suitability_decided", "suitable", None),
        &facts,
    )
    .unwrap();
    let (follow, transition) = on_decision(&def, &suitable, &facts).expect("a follow-on");
    assert_eq!(follow.from, "suitability_decided");
    assert_eq!(follow.to, "detailed_form_requested");
    assert_eq!(transition.invite_stage.as_deref(), Some("referral"));

    let not_suitable = attempt(
        &def,
        "enquiry_received",
        "triage",
        &decide("suitability_decided", "not_suitable", Some("Not cyber")),
        &facts,
    )
    .unwrap();
    assert!(on_decision(&def, &not_suitable, &facts).is_none());
}

#[test]
fn a_new_link_can_be_sent_while_the_form_is_awaited() {
    let facts = case(
        "detailed_form_requested",
        json!({ "case": { "decisions": { "suitability_decided": "suitable" } } }),
    );
    let def = def();
    let again = attempt(
        &def,
        "detailed_form_requested",
        "triage",
        &to("detailed_form_requested"),
        &facts,
    )
    .unwrap();
    assert_eq!(again.to, "detailed_form_requested");
    let transition =
        haven_core::workflow::transition_for(&def, &again.from, &again.to, "triage").unwrap();
    assert_eq!(transition.invite_stage.as_deref(), Some("referral"));
    let err = attempt(
        &def,
        "detailed_form_requested",
        "caseworker",
        &to("detailed_form_requested"),
        &facts,
    )
    .unwrap_err();
    assert!(
        matches!(err, TransitionError::RoleNotAllowed { .. }),
        "{err:?}"
    );
}

#[test]
fn the_detailed_form_is_only_sent_for_a_suitable_enquiry() {
    let facts = case(
        "suitability_decided",
        json!({ "case": { "decisions": { "suitability_decided": "not_suitable" } } }),
    );
    let err = attempt(
        &def(),
        "suitability_decided",
        "triage",
        &to("detailed_form_requested"),
        &facts,
    )
    .unwrap_err();
    assert!(
        matches!(&err, TransitionError::GuardFailed { key, .. } if key == "decided_suitable"),
        "{err:?}"
    );
}

#[test]
fn the_referral_must_have_arrived_before_it_is_received() {
    let facts = case(
        "detailed_form_requested",
        json!({ "case": { "stages_received": ["enquiry"] } }),
    );
    let err = attempt(
        &def(),
        "detailed_form_requested",
        "caseworker",
        &to("referral_received"),
        &facts,
    )
    .unwrap_err();
    assert!(
        matches!(&err, TransitionError::GuardFailed { key, .. } if key == "referral_form_received"),
        "{err:?}"
    );
    let facts = case(
        "detailed_form_requested",
        json!({ "case": { "stages_received": ["enquiry", "referral"] } }),
    );
    assert!(
        attempt(
            &def(),
            "detailed_form_requested",
            "caseworker",
            &to("referral_received"),
            &facts
        )
        .is_ok()
    );
}
