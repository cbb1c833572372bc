//! SECOS (spec/secos-screening.md): every indicator key and label, every section of the
//! form with honest data classes, narratives and attachments required as the form says.

use haven_core::definition::{DataClass, QuestionKind};
use haven_core::screening::screen;
use haven_core::workflow::{TransitionError, TransitionOutcome, TransitionRequest, attempt};
use serde_json::{Value, json};

use crate::*;

const VULNERABILITIES: [(&str, &str); 12] = [
    (
        "emotional_neglect",
        "Emotional neglect by parent/carer/family member",
    ),
    (
        "physical_abuse",
        "Physical abuse by parent/carer/family member",
    ),
    ("history_sexual_abuse", "History of sexual abuse"),
    ("family_breakdown", "Breakdown of family relationships"),
    ("family_domestic_abuse", "Family history of domestic abuse"),
    (
        "family_substance_misuse",
        "Family history of substance misuse",
    ),
    (
        "family_mental_health",
        "Family history of mental health difficulties",
    ),
    ("low_self_esteem", "Low self-esteem"),
    (
        "unsuitable_accommodation",
        "Unsuitable/inappropriate accommodation",
    ),
    ("isolated", "Isolated from peers/social networks"),
    (
        "no_positive_adult",
        "Lack of positive relationship with a productive/nurturing adult",
    ),
    ("looked_after", "Looked after child"),
];

const MODERATE: [(&str, &str); 20] = [
    (
        "whereabouts_unknown",
        "Whereabouts unclear or unknown – day and/or night",
    ),
    (
        "education_absence",
        "Absences/exclusion from school or not engaged in school/college/training/work",
    ),
    (
        "multiple_callers",
        "Multiple callers – unknown adults/young people",
    ),
    (
        "unexplained_injuries",
        "Physical injuries without plausible explanation",
    ),
    (
        "sexual_health",
        "Sexually transmitted infections/pregnancies/termination of pregnancies/frequent visits to sexual health clinic",
    ),
    ("drug_misuse", "Drugs misuse"),
    ("alcohol_misuse", "Alcohol misuse"),
    (
        "self_harm",
        "Self-harming/challenging behaviours/suicide attempts/eating disorders/aggression",
    ),
    (
        "phone_concern",
        "Use of a mobile phone which causes concern – including sexting/multiple phones/sims",
    ),
    ("unsafe_internet", "Unsafe use of internet"),
    ("sexually_assaulted", "Has been sexually assaulted"),
    (
        "disclosure_withdrawn",
        "Disclosure of sexual/physical assault followed by withdrawal of allegation",
    ),
    (
        "risky_sexual_behaviour",
        "Risky/inappropriate sexual behaviour (sexual activity at an early age)",
    ),
    (
        "lacks_safety_awareness",
        "Lack of awareness/understanding of being safe",
    ),
    (
        "peers_exploited",
        "Peers involved in sexual exploitation/risky or concerning behaviours",
    ),
    (
        "independent_not_engaging",
        "Living independently and failing to respond to attempts by workers to keep in touch",
    ),
    ("ae_attendance", "A&E attendance"),
    (
        "accompanied_unknown_person",
        "Being accompanied to appointments by an unknown person that causes concern",
    ),
    (
        "gang_association",
        "Association with gang members that suggests sexual exploitation is a possibility",
    ),
    ("sexual_identity", "Exploration of their sexual identity"),
];

const SIGNIFICANT: [(&str, &str); 7] = [
    (
        "missing_episodes",
        "Periods of going missing day and/or night",
    ),
    (
        "controlling_relationship",
        "Relationship of concern with a controlling adult (male or female) or young person, which might involve physical and/or emotional abuse and/or gang activity",
    ),
    (
        "unknown_vehicles",
        "Entering/leaving vehicles driven by unknown adults (not car theft)",
    ),
    (
        "unexplained_money_items",
        "Unexplained amounts of money, expensive clothes or other items",
    ),
    (
        "risky_areas",
        "Frequenting areas known for risky activities",
    ),
    (
        "online_grooming",
        "Groomed/abused via the internet and mobile technology",
    ),
    (
        "hotels_taxis_fastfood",
        "Having unexplained contact with hotels, taxi companies or fast food outlets",
    ),
];

#[test]
fn secos_indicators_have_the_spec_keys_and_the_forms_labels() {
    let def = load("secos");
    assert_eq!(
        options_of(&def, "screening.vulnerabilities"),
        owned(&VULNERABILITIES)
    );
    assert_eq!(options_of(&def, "screening.moderate"), owned(&MODERATE));
    assert_eq!(
        options_of(&def, "screening.significant"),
        owned(&SIGNIFICANT)
    );
    let significant = def.question("screening.significant").unwrap();
    assert_eq!(significant.kind, QuestionKind::IndicatorMatrix);
    let columns: Vec<(&str, &str)> = significant
        .columns
        .iter()
        .map(|c| (c.key.as_str(), c.label.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("current", "Current or within 6 months"),
            ("prior", "Prior to 6 months")
        ]
    );
    for (key, kind) in [
        ("screening.vulnerabilities", QuestionKind::MultipleChoice),
        (
            "screening.vulnerabilities_narrative",
            QuestionKind::LongText,
        ),
        ("screening.moderate", QuestionKind::MultipleChoice),
        ("screening.moderate_narrative", QuestionKind::LongText),
        ("screening.cse_intelligence", QuestionKind::YesNo),
        ("young_person.date_of_birth", QuestionKind::Date),
    ] {
        assert_eq!(def.question(key).map(|q| q.kind), Some(kind), "{key}");
    }
}

#[test]
fn secos_screening_rules_follow_the_spec() {
    let def = load("secos");
    let rules = def.screening.as_ref().unwrap();
    assert!(rules.version.starts_with("secos-"));
    assert_eq!(rules.bands, ["none", "low", "medium", "high"]);
    let actions: Vec<&str> = rules.actions.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        actions,
        [
            "vemt_referral",
            "childrens_services_referral",
            "police_intelligence",
            "referrer_manages_risk"
        ]
    );
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
            "screening_confirmed",
            "onward_actions_done",
            "allocation_decided",
            "allocated",
            "in_intervention",
            "closed"
        ]
    );
}

#[test]
fn secos_asks_every_section_of_the_form_with_honest_data_classes() {
    let def = load("secos");
    let class = |key: &str| {
        def.question(key)
            .unwrap_or_else(|| panic!("no question `{key}`"))
            .data_class
    };
    for key in [
        "referrer.name",
        "referrer.email",
        "referrer.phone",
        "young_person.name",
        "young_person.date_of_birth",
        "young_person.address",
    ] {
        assert_eq!(class(key), DataClass::Identifying, "{key}");
    }
    for key in [
        "young_person.ethnicity",
        "young_person.beliefs",
        "disabilities",
        "screening.moderate",
        "screening.moderate_narrative",
    ] {
        assert_eq!(class(key), DataClass::SpecialCategory, "{key}");
    }
    for key in ["third_party.information", "third_party.rationale"] {
        assert_eq!(class(key), DataClass::ThirdParty, "{key}");
    }
    let family = def.question("family_members").unwrap();
    let fields: Vec<&str> = family.fields.iter().map(|f| f.key.as_str()).collect();
    for f in [
        "name",
        "date_of_birth",
        "sex",
        "ethnicity",
        "beliefs",
        "first_language",
        "relationship",
        "address_and_contact",
    ] {
        assert!(fields.contains(&f), "family_members.{f}");
    }
    let professionals = def.question("professionals").unwrap();
    let fields: Vec<&str> = professionals
        .fields
        .iter()
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "agency",
            "name",
            "contact_details",
            "supporting",
            "reason",
            "consulted"
        ]
    );
    let tool = def.question("assessments.risk_assessment_tool").unwrap();
    assert!(tool.required && tool.kind == QuestionKind::File);
    assert_eq!(tool.max_bytes, Some(10 * 1024 * 1024));
    assert_eq!(tool.allowed_types.len(), 4);
    assert!(tool.allowed_types.iter().any(|t| t == "application/pdf"));
    for key in [
        "assessments.completed",
        "assessments.date_completed",
        "aware_of_referral",
        "lone_working.concerns",
        "risk_factors",
        "significant_others",
        "legal.parental_responsibility",
        "legal.looked_after_status",
        "legal.cin_cp_plan",
        "legal.social_worker_details",
        "education.mainstream",
        "education.alternative_details",
        "education.neet",
        "education.wants_to_engage",
        "additional_information",
        "family_strengths",
        "work_requested",
    ] {
        assert!(def.question(key).is_some(), "no question `{key}`");
    }
}

fn secos_sample() -> Value {
    sample("secos-referral.json")
}

fn secos_errors(answers: &Value) -> Vec<String> {
    error_fields(&load("secos"), "referral", "professional", answers)
}

#[test]
fn a_secos_section_ticked_without_its_narrative_names_the_narrative() {
    let answers = with(secos_sample(), "screening.moderate_narrative", Value::Null);
    assert_eq!(secos_errors(&answers), ["screening.moderate_narrative"]);
    let answers = with(
        secos_sample(),
        "screening.vulnerabilities_narrative",
        json!("   "),
    );
    assert_eq!(
        secos_errors(&answers),
        ["screening.vulnerabilities_narrative"]
    );
    // Nothing ticked: no narrative needed (the referral is screened as not eligible instead).
    let mut answers = secos_sample();
    for key in [
        "screening.vulnerabilities",
        "screening.vulnerabilities_narrative",
        "screening.moderate",
        "screening.moderate_narrative",
        "screening.significant",
    ] {
        answers = with(answers, key, Value::Null);
    }
    assert_eq!(secos_errors(&answers), Vec::<String>::new());
}

#[test]
fn secos_needs_the_risk_assessment_tool_and_explains_a_missing_assessment() {
    let answers = with(
        secos_sample(),
        "assessments.risk_assessment_tool",
        Value::Null,
    );
    assert_eq!(secos_errors(&answers), ["assessments.risk_assessment_tool"]);
    let answers = with(
        secos_sample(),
        "assessments.assessment_document",
        Value::Null,
    );
    assert_eq!(secos_errors(&answers), ["assessments.not_attached_reason"]);
    let answers = with(
        answers,
        "assessments.not_attached_reason",
        json!("The Single Assessment is still being written."),
    );
    assert_eq!(secos_errors(&answers), Vec::<String>::new());
    let answers = with(
        secos_sample(),
        "assessments.risk_assessment_tool",
        json!("C:/Users/me/tool.docx"),
    );
    assert_eq!(secos_errors(&answers), ["assessments.risk_assessment_tool"]);
}

#[test]
fn secos_details_are_required_when_their_yes_is_ticked() {
    for (yes, details) in [
        ("lone_working.concerns", "lone_working.details"),
        ("education.mainstream", "education.mainstream_details"),
        ("legal.has_social_worker", "legal.social_worker_details"),
    ] {
        let answers = with(with(secos_sample(), yes, json!(true)), details, Value::Null);
        assert_eq!(secos_errors(&answers), [details], "{yes}");
        let answers = with(
            with(secos_sample(), yes, json!(false)),
            details,
            Value::Null,
        );
        assert_eq!(secos_errors(&answers), Vec::<String>::new(), "{yes}");
    }
    let answers = with(secos_sample(), "third_party.rationale", Value::Null);
    assert_eq!(secos_errors(&answers), ["third_party.rationale"]);
    let answers = with(
        secos_sample(),
        "assessments.completed",
        json!(["single_assessment", "other"]),
    );
    assert_eq!(secos_errors(&answers), ["assessments.other_details"]);
}

#[test]
fn secos_refuses_unknown_indicators_and_columns_naming_the_section() {
    let answers = with(
        secos_sample(),
        "screening.significant",
        json!({ "missing_episodes": "sometimes" }),
    );
    assert_eq!(secos_errors(&answers), ["screening.significant"]);
    let answers = with(
        secos_sample(),
        "screening.moderate",
        json!(["drug_misuse", "not_an_indicator"]),
    );
    assert_eq!(secos_errors(&answers), ["screening.moderate"]);
    let answers = with(
        secos_sample(),
        "family_members",
        json!([{ "relationship": "Mother" }]),
    );
    assert_eq!(secos_errors(&answers), ["family_members[0].name"]);
}

#[test]
fn the_secos_sample_screens_high_with_every_onward_action() {
    let def = load("secos");
    let result = screen(&def, &secos_sample(), today()).unwrap();
    assert_eq!(result.eligible, Some(true));
    assert_eq!(result.suggested_band.as_deref(), Some("high"));
    let actions: Vec<&str> = result
        .required_actions
        .iter()
        .map(|a| a.key.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "vemt_referral",
            "childrens_services_referral",
            "police_intelligence",
            "referrer_manages_risk"
        ]
    );
}

fn secos_case(status: &str, case: Value) -> Value {
    let mut facts = json!({ "answers": { "referral": secos_sample() }, "case": {
        "status": status,
        "stages_received": ["referral"],
        "screening": { "eligible": true, "in_scope": null, "urgent": false,
                       "suggested_band": "high", "confirmed_band": null, "confirmed": false },
        "actions": { "total": 4, "open": 4, "done": 0, "waived": 0 },
        "decisions": {},
        "allocation": { "worker": null, "mode": null },
        "meetings": 0, "plan": { "goals": 0, "open_actions": 0 }, "onward_referrals": 0 } });
    for (key, value) in case.as_object().unwrap() {
        facts = with(facts, &format!("case.{key}"), value.clone());
    }
    facts
}

fn guard_failed(result: Result<TransitionOutcome, TransitionError>) -> String {
    match result {
        Err(TransitionError::GuardFailed { key, .. }) => key,
        other => panic!("expected a failed guard, got {other:?}"),
    }
}

#[test]
fn secos_cases_move_on_only_once_screening_and_onward_actions_are_done() {
    let def = load("secos");
    let go = |from: &str, role: &str, req: TransitionRequest, facts: &Value| {
        attempt(&def, from, role, &req, facts)
    };
    let unconfirmed = secos_case("received", json!({}));
    let err = go(
        "received",
        "triage",
        request("screening_confirmed", None, None),
        &unconfirmed,
    );
    assert_eq!(guard_failed(err), "screening_confirmed");
    let confirmed = secos_case(
        "received",
        json!({ "screening.confirmed": true, "screening.confirmed_band": "high" }),
    );
    assert!(
        go(
            "received",
            "triage",
            request("screening_confirmed", None, None),
            &confirmed
        )
        .is_ok()
    );
    // Every required action done or waived (with a reason) before allocation.
    let open = secos_case(
        "screening_confirmed",
        json!({ "actions.open": 1, "actions.done": 3 }),
    );
    let err = go(
        "screening_confirmed",
        "caseworker",
        request("onward_actions_done", None, None),
        &open,
    );
    assert_eq!(guard_failed(err), "actions_complete");
    let done = secos_case(
        "screening_confirmed",
        json!({ "actions.open": 0, "actions.done": 3, "actions.waived": 1 }),
    );
    assert!(
        go(
            "screening_confirmed",
            "caseworker",
            request("onward_actions_done", None, None),
            &done
        )
        .is_ok()
    );
}

#[test]
fn secos_allocation_needs_a_reason_to_refuse_and_a_worker_to_allocate() {
    let def = load("secos");
    let go = |from: &str, role: &str, req: TransitionRequest, facts: &Value| {
        attempt(&def, from, role, &req, facts)
    };
    let facts = secos_case("onward_actions_done", json!({ "actions.open": 0 }));
    let err = go(
        "onward_actions_done",
        "triage",
        request("allocation_decided", Some("not_appropriate"), None),
        &facts,
    );
    assert_eq!(err, Err(TransitionError::ReasonRequired));
    let err = go(
        "onward_actions_done",
        "caseworker",
        request("allocation_decided", Some("group_work"), None),
        &facts,
    );
    assert!(
        matches!(err, Err(TransitionError::RoleNotAllowed { .. })),
        "{err:?}"
    );
    let outcome = go(
        "onward_actions_done",
        "manager",
        request("allocation_decided", Some("group_work"), None),
        &facts,
    )
    .unwrap();
    // The referrer hears once, at allocation (or closure), not at this decision as well.
    assert!(!outcome.notify_referrer);

    let refused = secos_case(
        "allocation_decided",
        json!({ "decisions": { "allocation_decided": "not_appropriate" } }),
    );
    let err = go(
        "allocation_decided",
        "triage",
        request("allocated", None, None),
        &refused,
    );
    assert_eq!(guard_failed(err), "allocation_appropriate");
    assert!(
        go(
            "allocation_decided",
            "triage",
            request(
                "closed",
                Some("not_appropriate"),
                Some("Needs are met by Early Help.")
            ),
            &refused
        )
        .is_ok()
    );

    let group = secos_case(
        "allocation_decided",
        json!({ "decisions": { "allocation_decided": "group_work" } }),
    );
    let err = go(
        "allocation_decided",
        "triage",
        request("allocated", None, None),
        &group,
    );
    assert_eq!(guard_failed(err), "worker_allocated");
    let err = go(
        "allocation_decided",
        "triage",
        request("closed", Some("not_appropriate"), Some("x")),
        &group,
    );
    assert_eq!(guard_failed(err), "not_appropriate_decided");
    let allocated = with(
        group,
        "case.allocation",
        json!({ "worker": "worker-7", "mode": "group" }),
    );
    assert!(
        go(
            "allocation_decided",
            "triage",
            request("allocated", None, None),
            &allocated
        )
        .is_ok()
    );
}
