//! CEOP (spec/ceop-report.md): audiences, concerns, signposts, contact details and the
//! professional's confirmations.

use haven_core::definition::{QuestionKind, StageAccess};
use haven_core::screening::screen;
use haven_core::workflow::{TransitionError, TransitionRequest, attempt};
use serde_json::{Value, json};

use crate::*;

const CONCERNS: [(&str, &str); 10] = [
    (
        "sexual_chat",
        "Someone online has been talking about sex or sending sexual messages",
    ),
    (
        "nude_image_request",
        "Someone online asked for nude or sexual pictures or videos",
    ),
    (
        "webcam_sexual_acts",
        "Someone asked for sexual things to be done on a webcam or live stream",
    ),
    ("meet_up_request", "Someone met online wants to meet up"),
    (
        "image_threat_or_blackmail",
        "Someone is sharing, or threatening to share, sexual images, or is blackmailing",
    ),
    (
        "coercion_pressure",
        "Someone is pressuring or tricking a child into doing sexual things",
    ),
    ("something_else", "Something else (describe it)"),
    ("bullying", "Bullying"),
    (
        "fake_account",
        "A fake account or someone pretending to be someone else",
    ),
    ("account_hacked", "An account has been hacked"),
];

#[test]
fn ceop_has_the_spec_audiences_concerns_and_signposts() {
    let def = load("ceop");
    let audiences: Vec<&str> = def.audiences.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        audiences,
        [
            "young_person",
            "parent_carer",
            "member_of_public",
            "professional"
        ]
    );
    assert_eq!(options_of(&def, "concerns"), owned(&CONCERNS));
    // Young people get their own wording of every concern.
    let concerns = def.question("concerns").unwrap();
    assert!(
        concerns
            .options
            .iter()
            .all(|o| o.labels.contains_key("young_person"))
    );
    let stage = def.stage("report").unwrap();
    assert!(stage.uploads_forbidden && stage.access == StageAccess::Public);
    assert!(
        def.questions()
            .all(|(_, _, q)| q.kind != QuestionKind::File)
    );
    for key in [
        "already_reported_to_statutory",
        "followed_safeguarding_policy",
    ] {
        assert_eq!(asked_of(&def, key), ["professional"], "{key}");
    }
    assert_eq!(asked_of(&def, "reporter.name").len(), 4);
    assert_eq!(
        def.question("child.age").map(|q| (q.kind, q.required)),
        Some((QuestionKind::Number, false))
    );
    assert_eq!(
        def.question("immediate_danger").map(|q| q.kind),
        Some(QuestionKind::YesNo)
    );
    for (key, contact) in [
        ("childline", "0800 1111"),
        ("nspcc_helpline", "0808 800 5000"),
        ("action_fraud", "0300 123 2040"),
        ("police_101", "101"),
        ("police_999", "999"),
    ] {
        assert_eq!(
            def.signpost(key).map(|s| s.contact.as_str()),
            Some(contact),
            "{key}"
        );
    }
    for key in ["report_harmful_content", "iwf", "report_remove"] {
        assert!(def.signpost(key).is_some(), "{key}");
    }
    let rules = def.screening.as_ref().unwrap();
    assert_eq!(rules.always_signpost, ["nspcc_helpline"]);
    assert!(rules.scope.as_ref().is_some_and(|s| s.reject_out_of_scope));
    let states: Vec<&str> = def
        .workflow
        .as_ref()
        .unwrap()
        .states
        .iter()
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(
        states,
        [
            "received",
            "threshold_decided",
            "contact_made",
            "safety_plan",
            "onward_referrals",
            "closed"
        ]
    );
}

#[test]
fn ceop_needs_a_way_to_contact_the_reporter() {
    let def = load("ceop");
    let answers = with(
        with(
            sample("ceop-report-parent.json"),
            "reporter.email",
            Value::Null,
        ),
        "reporter.phone",
        Value::Null,
    );
    assert_eq!(
        error_fields(&def, "report", "parent_carer", &answers),
        ["reporter.email", "reporter.phone"]
    );
    let answers = with(
        sample("ceop-report-parent.json"),
        "reporter.name",
        Value::Null,
    );
    assert_eq!(
        error_fields(&def, "report", "parent_carer", &answers),
        ["reporter.name"]
    );
    // Details of the child are optional: a member of the public may know only a username.
    let answers = json!({
        "immediate_danger": false,
        "concerns": ["sexual_chat"],
        "description": "An adult in a public game chat keeps asking a child who says she is 12 for pictures.",
        "child": { "online_names": "pixie_paints" },
        "reporter": { "name": "A Walker", "email": "a.walker@example.com", "relationship": "I saw it in a game chat" }
    });
    assert_eq!(
        error_fields(&def, "report", "member_of_public", &answers),
        Vec::<String>::new()
    );
}

#[test]
fn a_ceop_professional_confirms_the_safeguarding_policy() {
    let def = load("ceop");
    let base = json!({
        "immediate_danger": false,
        "followed_safeguarding_policy": ["confirmed"],
        "already_reported_to_statutory": false,
        "concerns": ["meet_up_request"],
        "description": "A pupil told me an adult she met in a game wants to meet her this weekend.",
        "child": { "age": 12 },
        "reporter": { "name": "R Patel", "email": "r.patel@school.example.org", "role": "Head of Year", "organisation": "A school" }
    });
    assert_eq!(
        error_fields(&def, "report", "professional", &base),
        Vec::<String>::new()
    );
    let answers = with(base.clone(), "followed_safeguarding_policy", Value::Null);
    assert_eq!(
        error_fields(&def, "report", "professional", &answers),
        ["followed_safeguarding_policy"]
    );
    let answers = with(base.clone(), "followed_safeguarding_policy", json!(["no"]));
    assert_eq!(
        error_fields(&def, "report", "professional", &answers),
        ["followed_safeguarding_policy"]
    );
    // Already reported: told they need not report, and may go on with something new.
    let answers = with(base, "already_reported_to_statutory", json!(true));
    assert_eq!(
        error_fields(&def, "report", "professional", &answers),
        ["new_information"]
    );
    let answers = with(
        answers,
        "new_information",
        json!("She has since sent me screenshots of new messages."),
    );
    assert_eq!(
        error_fields(&def, "report", "professional", &answers),
        Vec::<String>::new()
    );
}

#[test]
fn the_ceop_samples_are_accepted_or_signposted_as_the_spec_says() {
    let def = load("ceop");
    let parent = screen(&def, &sample("ceop-report-parent.json"), today()).unwrap();
    assert!(parent.accepted && parent.in_scope == Some(true));
    let bullying = screen(&def, &sample("ceop-report-bullying.json"), today()).unwrap();
    assert!(!bullying.accepted && bullying.in_scope == Some(false));
    let signposts: Vec<&str> = bullying.signposts.iter().map(|s| s.key.as_str()).collect();
    assert!(
        signposts.contains(&"childline") && signposts.contains(&"nspcc_helpline"),
        "{signposts:?}"
    );
}

fn ceop_case(status: &str, decisions: Value, onward_referrals: u32) -> Value {
    json!({ "answers": { "report": sample("ceop-report-parent.json") }, "case": {
        "status": status, "stages_received": ["report"], "decisions": decisions,
        "meetings": 0, "plan": { "goals": 1, "open_actions": 0 }, "onward_referrals": onward_referrals } })
}

#[test]
fn ceop_threshold_not_met_closes_with_a_reason_and_met_goes_on_to_contact() {
    let def = load("ceop");
    let go = |from: &str, req: TransitionRequest, facts: &Value| {
        attempt(&def, from, "triage", &req, facts)
    };
    let received = ceop_case("received", json!({}), 0);
    let err = go(
        "received",
        request("threshold_decided", Some("not_met"), None),
        &received,
    );
    assert_eq!(err, Err(TransitionError::ReasonRequired));
    let outcome = go(
        "received",
        request(
            "threshold_decided",
            Some("not_met"),
            Some("Advice sent on blocking and reporting."),
        ),
        &received,
    )
    .unwrap();
    assert!(outcome.notify_referrer);

    let not_met = ceop_case(
        "threshold_decided",
        json!({ "threshold_decided": "not_met" }),
        0,
    );
    assert!(
        go(
            "threshold_decided",
            request("closed", Some("threshold_not_met"), Some("Advice sent.")),
            &not_met
        )
        .is_ok()
    );
    assert!(
        go(
            "threshold_decided",
            request("contact_made", None, None),
            &not_met
        )
        .is_err()
    );

    let met = ceop_case(
        "threshold_decided",
        json!({ "threshold_decided": "met" }),
        0,
    );
    assert!(
        go(
            "threshold_decided",
            request("contact_made", None, None),
            &met
        )
        .is_ok()
    );
    let err = go(
        "threshold_decided",
        request("closed", Some("duplicate"), Some("x")),
        &met,
    );
    assert!(
        matches!(err, Err(TransitionError::GuardFailed { ref key, .. }) if key == "met_needs_contact"),
        "{err:?}"
    );
}

#[test]
fn ceop_onward_referrals_are_recorded_or_explained() {
    let def = load("ceop");
    let go = |req: TransitionRequest, facts: &Value| {
        attempt(&def, "safety_plan", "caseworker", &req, facts)
    };
    let none = ceop_case("safety_plan", json!({ "threshold_decided": "met" }), 0);
    let err = go(request("onward_referrals", None, None), &none);
    assert!(
        matches!(err, Err(TransitionError::GuardFailed { ref key, .. }) if key == "onward_referrals_or_reason"),
        "{err:?}"
    );
    assert!(
        go(
            request(
                "onward_referrals",
                None,
                Some("Parents are protective; police already involved.")
            ),
            &none
        )
        .is_ok()
    );
    let referred = ceop_case("safety_plan", json!({ "threshold_decided": "met" }), 2);
    assert!(go(request("onward_referrals", None, None), &referred).is_ok());
}
