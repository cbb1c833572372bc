//! Cyber Choices (spec/cyber-choices.md): the anonymised enquiry's exact keys, the invited
//! referral's identifying details, the nine workflow states and their guards, the SLA, scope
//! and age range.

use std::collections::BTreeSet;

use haven_core::anonymity::check;
use haven_core::answers::anonymity_texts;
use haven_core::definition::StageAccess;
use haven_core::screening::screen;
use haven_core::workflow::{TransitionError, attempt};
use serde_json::{Value, json};

use crate::*;

#[test]
fn the_cyber_choices_enquiry_has_exactly_the_spec_keys_and_options() {
    let def = load("cyber-choices");
    let enquiry = def.stage("enquiry").unwrap();
    assert!(enquiry.anonymous && enquiry.access == StageAccess::Public);
    let keys: BTreeSet<&str> = enquiry.questions().map(|(_, q)| q.key.as_str()).collect();
    let spec: BTreeSet<&str> = [
        "referrer_role",
        "organisation",
        "contact_email",
        "contact_phone",
        "young_person_age",
        "area",
        "behaviours",
        "summary",
        "immediate_risk",
    ]
    .into();
    assert_eq!(keys, spec);
    let option_keys =
        |key: &str| -> Vec<String> { options_of(&def, key).into_iter().map(|(k, _)| k).collect() };
    assert_eq!(
        option_keys("referrer_role"),
        ["school_dsl", "partner_agency", "parent_carer", "other"]
    );
    assert_eq!(
        option_keys("area"),
        ["thames_valley", "hampshire_iow", "surrey", "sussex", "kent"]
    );
    assert_eq!(
        option_keys("behaviours"),
        [
            "unauthorised_access",
            "ddos_booter",
            "malware_ransomware",
            "hacking_tools",
            "game_cheats_mods",
            "phishing",
            "credential_trading",
            "network_scanning",
            "cyberbullying",
            "online_fraud",
            "other"
        ]
    );
    let required: BTreeSet<&str> = enquiry
        .questions()
        .filter(|(_, q)| q.required)
        .map(|(_, q)| q.key.as_str())
        .collect();
    assert!(!required.contains("organisation") && !required.contains("contact_phone"));
    assert!(required.contains("contact_email") && required.contains("summary"));
    assert_eq!(
        def.emergency_message.as_deref(),
        Some("If any person is at immediate risk you MUST dial 999 and ask for Police")
    );
}

#[test]
fn the_cyber_choices_referral_is_invited_and_requires_identifying_details() {
    let def = load("cyber-choices");
    let referral = def.stage("referral").unwrap();
    assert_eq!(referral.access, StageAccess::Invited);
    for key in [
        "young_person.name",
        "young_person.date_of_birth",
        "young_person.address",
        "young_person.school",
        "young_person.online_handles",
        "parents_carers",
        "consent.young_person_aware",
        "consent.parent_carer_agrees",
    ] {
        let q = referral
            .question(key)
            .unwrap_or_else(|| panic!("no question `{key}`"));
        assert!(q.required, "{key} must be required");
    }
    let answers = with(
        sample("cyber-choices-referral.json"),
        "young_person.online_handles",
        json!([]),
    );
    assert_eq!(
        error_fields(&def, "referral", "professional", &answers),
        ["young_person.online_handles"]
    );
    let answers = with(
        sample("cyber-choices-referral.json"),
        "consent.parent_carer_agrees",
        json!(false),
    );
    assert_eq!(
        error_fields(&def, "referral", "professional", &answers),
        ["consent.explanation"]
    );
}

#[test]
fn the_cyber_choices_enquiry_refuses_identifying_questions_and_needs_an_email() {
    let def = load("cyber-choices");
    let answers = with(
        sample("cyber-choices-enquiry.json"),
        "young_person.name",
        json!("Ethan Reid"),
    );
    assert_eq!(
        error_fields(&def, "enquiry", "professional", &answers),
        ["young_person"]
    );
    let answers = with(
        sample("cyber-choices-enquiry.json"),
        "contact_email",
        Value::Null,
    );
    assert_eq!(
        error_fields(&def, "enquiry", "professional", &answers),
        ["contact_email"]
    );
    let answers = with(
        sample("cyber-choices-enquiry.json"),
        "area",
        json!("yorkshire"),
    );
    assert_eq!(
        error_fields(&def, "enquiry", "professional", &answers),
        ["area"]
    );
}

#[test]
fn cyber_choices_workflow_has_the_nine_states_and_its_guards_hold() {
    let def = load("cyber-choices");
    let workflow = def.workflow.as_ref().unwrap();
    let states: Vec<&str> = workflow.states.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        states,
        [
            "enquiry_received",
            "suitability_decided",
            "detailed_form_requested",
            "referral_received",
            "reassessed",
            "initial_meeting_arranged",
            "intervention_planned",
            "in_intervention",
            "closed"
        ]
    );
    let facts = |status: &str, decisions: Value, stages: Value| {
        json!({ "answers": {}, "case": {
            "status": status, "stages_received": stages, "decisions": decisions,
            "meetings": 0, "plan": { "goals": 0, "open_actions": 0 }, "onward_referrals": 0 } })
    };
    // Not suitable needs a reason; only a suitable enquiry gets the detailed form.
    let none = facts("enquiry_received", json!({}), json!(["enquiry"]));
    let err = attempt(
        &def,
        "enquiry_received",
        "triage",
        &request("suitability_decided", Some("not_suitable"), None),
        &none,
    );
    assert_eq!(err, Err(TransitionError::ReasonRequired));
    let not_suitable = facts(
        "suitability_decided",
        json!({ "suitability_decided": "not_suitable" }),
        json!(["enquiry"]),
    );
    let err = attempt(
        &def,
        "suitability_decided",
        "triage",
        &request("detailed_form_requested", None, None),
        &not_suitable,
    );
    assert!(
        matches!(err, Err(TransitionError::GuardFailed { ref key, .. }) if key == "decided_suitable"),
        "{err:?}"
    );
    let closed = attempt(
        &def,
        "suitability_decided",
        "triage",
        &request("closed", Some("not_suitable"), Some("Cyberbullying only.")),
        &not_suitable,
    );
    assert!(closed.is_ok(), "{closed:?}");
    // A suitable enquiry cannot be closed as not suitable.
    let suitable = facts(
        "suitability_decided",
        json!({ "suitability_decided": "suitable" }),
        json!(["enquiry"]),
    );
    let err = attempt(
        &def,
        "suitability_decided",
        "triage",
        &request("closed", Some("not_suitable"), Some("x")),
        &suitable,
    );
    assert!(
        matches!(err, Err(TransitionError::GuardFailed { ref key, .. }) if key == "not_suitable_decided"),
        "{err:?}"
    );
    // The referral must have arrived; auditors change nothing.
    let requested = facts(
        "detailed_form_requested",
        json!({ "suitability_decided": "suitable" }),
        json!(["enquiry"]),
    );
    let err = attempt(
        &def,
        "detailed_form_requested",
        "triage",
        &request("referral_received", None, None),
        &requested,
    );
    assert!(
        matches!(err, Err(TransitionError::GuardFailed { ref key, .. }) if key == "referral_form_received"),
        "{err:?}"
    );
    let arrived = facts(
        "detailed_form_requested",
        json!({ "suitability_decided": "suitable" }),
        json!(["enquiry", "referral"]),
    );
    assert!(
        attempt(
            &def,
            "detailed_form_requested",
            "triage",
            &request("referral_received", None, None),
            &arrived
        )
        .is_ok()
    );
    let err = attempt(
        &def,
        "detailed_form_requested",
        "auditor",
        &request("referral_received", None, None),
        &arrived,
    );
    assert!(
        matches!(err, Err(TransitionError::RoleNotAllowed { .. })),
        "{err:?}"
    );
    // The initial meeting needs an accepted referral and a recorded meeting.
    let accepted = facts(
        "reassessed",
        json!({ "reassessed": "accepted" }),
        json!(["enquiry", "referral"]),
    );
    let err = attempt(
        &def,
        "reassessed",
        "caseworker",
        &request("initial_meeting_arranged", None, None),
        &accepted,
    );
    assert!(
        matches!(err, Err(TransitionError::GuardFailed { ref key, .. }) if key == "meeting_recorded"),
        "{err:?}"
    );
    let met = with(accepted, "case.meetings", json!(1));
    assert!(
        attempt(
            &def,
            "reassessed",
            "caseworker",
            &request("initial_meeting_arranged", None, None),
            &met
        )
        .is_ok()
    );
}

#[test]
fn cyber_choices_first_contact_is_five_working_days() {
    let def = load("cyber-choices");
    let sla = def.slas.iter().find(|s| s.key == "first_contact").unwrap();
    assert_eq!(
        (
            sla.working_days,
            sla.calendar.as_str(),
            sla.starts_on.as_deref()
        ),
        (5, "england-and-wales", Some("enquiry"))
    );
    assert!(
        sla.met_by.iter().any(|s| s == "suitability_decided")
            && sla.met_by.iter().any(|s| s == "closed")
    );
    assert!(!sla.met_by.iter().any(|s| s == "enquiry_received"));
}

#[test]
fn cyber_choices_scope_and_age_range_are_in_the_definition() {
    let def = load("cyber-choices");
    let enquiry = sample("cyber-choices-enquiry.json");
    let result = screen(&def, &enquiry, today()).unwrap();
    assert!(result.accepted && result.flags.is_empty() && !result.urgent);
    let young = screen(
        &def,
        &with(enquiry.clone(), "young_person_age", json!(9)),
        today(),
    )
    .unwrap();
    assert!(young.accepted);
    assert_eq!(
        young
            .flags
            .iter()
            .map(|f| f.key.as_str())
            .collect::<Vec<_>>(),
        ["age_outside_range"]
    );
    for age in [10, 25] {
        let edge = screen(
            &def,
            &with(enquiry.clone(), "young_person_age", json!(age)),
            today(),
        )
        .unwrap();
        assert!(edge.flags.is_empty(), "{age}");
    }
    let fraud = screen(
        &def,
        &with(enquiry, "behaviours", json!(["online_fraud"])),
        today(),
    )
    .unwrap();
    assert!(!fraud.accepted);
    assert_eq!(
        fraud
            .signposts
            .iter()
            .map(|s| s.key.as_str())
            .collect::<Vec<_>>(),
        ["action_fraud"]
    );
}

#[test]
fn the_enquiry_sample_is_truly_anonymised_and_the_referral_sample_is_not() {
    let def = load("cyber-choices");
    let enquiry_stage = def.stage("enquiry").unwrap();
    let enquiry = sample("cyber-choices-enquiry.json");
    let texts = anonymity_texts(enquiry_stage, &enquiry);
    assert_eq!(
        texts.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["summary"]
    );
    for (key, text) in texts {
        let report = check(text);
        assert!(!report.identifying, "{key}: {:?}", report.findings);
    }
    // The same checker finds the details the referral sample is meant to carry.
    let referral = sample("cyber-choices-referral.json");
    let name = referral["young_person"]["name"].as_str().unwrap();
    let school = referral["young_person"]["school"].as_str().unwrap();
    assert!(check(&format!("{name} goes to {school}.")).identifying);
}
