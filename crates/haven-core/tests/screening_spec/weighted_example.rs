use super::*;

fn def() -> ServiceDefinition {
    load("examples/weighted-cse-tool.toml")
}

fn answers(screening: Value) -> Value {
    let mut s = screening;
    s["narrative"] = json!("Described to the school nurse.");
    json!({ "screening": s })
}

fn band_and_score(screening: Value) -> (String, i64) {
    let r = run(&def(), answers(screening));
    (r.suggested_band.unwrap(), r.score.unwrap())
}

#[test]
fn bands_follow_the_total() {
    let cases = [
        (json!({}), "none", 0),
        (
            json!({ "vulnerabilities": ["looked_after", "isolated"] }),
            "low",
            2,
        ),
        (
            json!({ "moderate": ["drug_misuse", "alcohol_misuse"] }),
            "low",
            4,
        ),
        (
            json!({ "moderate": ["drug_misuse", "alcohol_misuse", "whereabouts_unknown"] }),
            "medium",
            6,
        ),
        // Prior scores 3 per row, both scores in each column: 3 + 5.
        (
            json!({ "significant": { "controlling_relationship": "prior", "unknown_vehicles": "both" } }),
            "medium",
            11,
        ),
        // Current grooming is 5 + 2 extra; with 4 from moderate and 1 vulnerability: 12.
        (
            json!({ "vulnerabilities": ["isolated"], "moderate": ["drug_misuse", "alcohol_misuse"], "significant": { "online_grooming": "current" } }),
            "high",
            12,
        ),
    ];
    for (screening, band, score) in cases {
        assert_eq!(
            band_and_score(screening.clone()),
            (band.to_owned(), score),
            "{screening}"
        );
    }
}

#[test]
fn floors_raise_a_low_total() {
    // One current significant indicator scores 5 (low) but the floor makes it medium.
    let r = run(
        &def(),
        answers(json!({ "significant": { "controlling_relationship": "current" } })),
    );
    assert_eq!(
        (r.suggested_band.as_deref(), r.score),
        (Some("medium"), Some(5))
    );
    assert_eq!(
        reasons_for(&r, "band:medium"),
        [("significant", "controlling_relationship")]
    );

    // Aged 13 on the day with one prior indicator (3 points): high whatever the total.
    let mut a = answers(json!({ "significant": { "controlling_relationship": "prior" } }));
    a["young_person"] = json!({ "date_of_birth": "2012-11-23" });
    let r = run(&def(), a);
    assert_eq!(
        (r.suggested_band.as_deref(), r.score),
        (Some("high"), Some(3))
    );
    assert!(action_keys(&r).contains(&"childrens_services_referral"));
    let mut a = answers(json!({ "significant": { "controlling_relationship": "prior" } }));
    a["young_person"] = json!({ "date_of_birth": "2012-11-22" });
    assert_eq!(run(&def(), a).suggested_band.as_deref(), Some("low"));
}

#[test]
fn a_band_reached_by_score_lists_what_scored() {
    let r = run(
        &def(),
        answers(json!({ "moderate": ["drug_misuse", "alcohol_misuse", "whereabouts_unknown"] })),
    );
    assert_eq!(reasons_for(&r, "band:medium").len(), 3);
    assert!(
        r.explanation.iter().any(|e| e.contains("a score of 6")),
        "{:?}",
        r.explanation
    );
}

#[test]
fn the_narrative_is_needed_once_anything_is_ticked() {
    let a = json!({ "screening": { "moderate": ["drug_misuse"] } });
    let errors = screen(&def(), &a, today()).unwrap_err();
    assert_eq!(errors[0].field, "screening.narrative");
}
