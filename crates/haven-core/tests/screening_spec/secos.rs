use super::*;

fn def() -> ServiceDefinition {
    load("secos.toml")
}

/// A SECOS screening section with narratives wherever a section is ticked.
fn answers(screening: Value) -> Value {
    let mut s = screening;
    for (section, narrative) in [
        ("vulnerabilities", "vulnerabilities_narrative"),
        ("moderate", "moderate_narrative"),
    ] {
        if s.get(section).is_some() && s.get(narrative).is_none() {
            s[narrative] = json!("Seen by the school nurse twice this term.");
        }
    }
    if s.get("cse_intelligence").is_none() {
        s["cse_intelligence"] = json!(false);
    }
    json!({ "screening": s })
}

#[test]
fn nothing_ticked_is_not_eligible_and_says_why() {
    let r = run(&def(), answers(json!({})));
    assert_eq!(r.eligible, Some(false));
    assert_eq!(r.suggested_band.as_deref(), Some("none"));
    assert!(
        r.explanation
            .iter()
            .any(|e| e.starts_with("Not eligible: ") && e.contains("one or more")),
        "{:?}",
        r.explanation
    );
    assert!(r.required_actions.is_empty(), "{:?}", r.required_actions);
    assert!(r.reasons.is_empty());
    assert_eq!(r.rules_version.as_deref(), Some("secos-2026.1"));
    assert_eq!(r.confirmed_band, None);
    assert!(r.accepted);
}

#[test]
fn vulnerabilities_only_is_low_and_eligible() {
    let r = run(
        &def(),
        answers(json!({ "vulnerabilities": ["low_self_esteem", "looked_after"] })),
    );
    assert_eq!(r.eligible, Some(true));
    assert_eq!(r.suggested_band.as_deref(), Some("low"));
    assert_eq!(action_keys(&r), ["referrer_manages_risk"]);
    assert_eq!(
        reasons_for(&r, "eligibility"),
        [
            ("vulnerabilities", "low_self_esteem"),
            ("vulnerabilities", "looked_after")
        ]
    );
    assert_eq!(reasons_for(&r, "band:low").len(), 2);
    let looked_after = r.reasons.iter().find(|x| x.key == "looked_after").unwrap();
    assert_eq!(looked_after.label, "Looked after child");
}

#[test]
fn a_moderate_indicator_is_medium_and_needs_the_vemt_panel() {
    let r = run(
        &def(),
        answers(json!({ "vulnerabilities": ["isolated"], "moderate": ["drug_misuse"] })),
    );
    assert_eq!(r.suggested_band.as_deref(), Some("medium"));
    assert_eq!(action_keys(&r), ["vemt_referral", "referrer_manages_risk"]);
    // The band's reasons are the indicators that produced it, not the lower ones.
    assert_eq!(
        reasons_for(&r, "band:medium"),
        [("moderate", "drug_misuse")]
    );
    assert_eq!(signpost_keys(&r), ["vemt_risk_assessment_tool"]);
}

#[test]
fn a_significant_indicator_prior_only_is_medium() {
    let r = run(
        &def(),
        answers(json!({ "significant": { "missing_episodes": "prior" } })),
    );
    assert_eq!(r.eligible, Some(true));
    assert_eq!(r.suggested_band.as_deref(), Some("medium"));
    assert_eq!(
        reasons_for(&r, "band:medium"),
        [("significant", "missing_episodes")]
    );
    assert_eq!(action_keys(&r), ["vemt_referral", "referrer_manages_risk"]);
}

#[test]
fn a_significant_indicator_current_or_both_is_high() {
    for cell in [json!("current"), json!("both"), json!(["current", "prior"])] {
        let r = run(
            &def(),
            answers(
                json!({ "moderate": ["alcohol_misuse"], "significant": { "online_grooming": cell, "risky_areas": "prior" } }),
            ),
        );
        assert_eq!(r.suggested_band.as_deref(), Some("high"), "{cell}");
        assert_eq!(
            reasons_for(&r, "band:high"),
            [("significant", "online_grooming")],
            "{cell}"
        );
        assert_eq!(
            action_keys(&r),
            [
                "vemt_referral",
                "childrens_services_referral",
                "referrer_manages_risk"
            ]
        );
        let online = r
            .reasons
            .iter()
            .find(|x| x.decision == "band:high")
            .unwrap();
        assert_eq!(
            online.label,
            "Groomed/abused via the internet and mobile technology"
        );
        assert!(
            r.explanation
                .iter()
                .any(|e| e.starts_with("Suggested band high: "))
        );
    }
}

#[test]
fn age_floor_thirteen_or_under_on_the_referral_day_is_high() {
    let significant_prior = json!({ "significant": { "unknown_vehicles": "prior" } });
    // 14th birthday is the day after the referral: still 13.
    let mut a = answers(significant_prior.clone());
    a["young_person"] = json!({ "date_of_birth": "2012-11-23" });
    let r = run(&def(), a);
    assert_eq!(r.suggested_band.as_deref(), Some("high"));
    let high = reasons_for(&r, "band:high");
    assert!(
        high.contains(&("significant", "unknown_vehicles")),
        "{high:?}"
    );
    assert!(
        high.contains(&("date_of_birth", "date_of_birth")),
        "{high:?}"
    );
    assert!(action_keys(&r).contains(&"childrens_services_referral"));

    // 14 on the day of the referral: the floor no longer applies.
    let mut a = answers(significant_prior.clone());
    a["young_person"] = json!({ "date_of_birth": "2012-11-22" });
    assert_eq!(run(&def(), a).suggested_band.as_deref(), Some("medium"));

    // No date of birth: no floor.
    assert_eq!(
        run(&def(), answers(significant_prior))
            .suggested_band
            .as_deref(),
        Some("medium")
    );

    // Under 14 with only moderate indicators: the floor needs a significant one.
    let mut a = answers(json!({ "moderate": ["self_harm"] }));
    a["young_person"] = json!({ "date_of_birth": "2016-01-01" });
    assert_eq!(run(&def(), a).suggested_band.as_deref(), Some("medium"));
}

#[test]
fn cse_intelligence_requires_sharing_it_with_the_police() {
    let r = run(
        &def(),
        answers(json!({ "vulnerabilities": ["isolated"], "cse_intelligence": true })),
    );
    assert_eq!(
        action_keys(&r),
        ["police_intelligence", "referrer_manages_risk"]
    );
    let action = &r.required_actions[0];
    assert!(
        action.reason.contains("intelligence sharing form"),
        "{}",
        action.reason
    );
    assert_eq!(signpost_keys(&r), ["police_intelligence_form"]);
}

#[test]
fn a_ticked_section_without_its_narrative_names_the_narrative() {
    let a = json!({ "screening": { "moderate": ["drug_misuse"], "cse_intelligence": false } });
    let errors = screen(&def(), &a, today()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "screening.moderate_narrative");

    let a =
        json!({ "screening": { "vulnerabilities": ["isolated"], "moderate_narrative": "   " } });
    let fields: Vec<String> = screen(&def(), &a, today())
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["screening.vulnerabilities_narrative"]);
}

#[test]
fn answers_screening_reads_are_validated_and_named() {
    let cases = [
        (
            json!({ "screening": { "significant": { "online_grooming": "sometimes" } } }),
            "screening.significant",
        ),
        (
            json!({ "screening": { "significant": { "not_an_indicator": "current" } } }),
            "screening.significant",
        ),
        (
            json!({ "screening": { "moderate": ["drug_misuse", "nope"], "moderate_narrative": "x" } }),
            "screening.moderate",
        ),
        (
            json!({ "screening": { "cse_intelligence": "yes" } }),
            "screening.cse_intelligence",
        ),
        (
            json!({ "screening": {}, "young_person": { "date_of_birth": "2030-01-01" } }),
            "young_person.date_of_birth",
        ),
        (
            json!({ "screening": {}, "young_person": { "date_of_birth": "22/11/2012" } }),
            "young_person.date_of_birth",
        ),
    ];
    for (a, field) in cases {
        let errors = screen(&def(), &a, today()).unwrap_err();
        assert!(errors.iter().any(|e| e.field == field), "{a}: {errors:?}");
    }
    let errors = screen(&def(), &json!(["not", "an", "object"]), today()).unwrap_err();
    assert_eq!(errors[0].field, "answers");
}

#[test]
fn only_the_answers_screening_reads_are_needed() {
    // No referrer, no consent, nothing else the full form requires.
    let a = json!({
        "screening": { "significant": { "hotels_taxis_fastfood": "current" }, "cse_intelligence": false },
        "young_person": { "date_of_birth": "2010-05-01", "name": 42 },
    });
    assert_eq!(run(&def(), a).suggested_band.as_deref(), Some("high"));
}
