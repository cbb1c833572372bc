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
