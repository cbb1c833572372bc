use super::*;

fn def() -> ServiceDefinition {
    load("cyber-choices.toml")
}

fn enquiry(behaviours: Value, age: i64) -> Value {
    json!({ "behaviours": behaviours, "young_person_age": age, "immediate_risk": false })
}

#[test]
fn only_cyberbullying_or_online_fraud_is_out_of_scope_and_signposted() {
    let cases = [
        (
            json!(["cyberbullying"]),
            vec!["childline", "nspcc_helpline"],
        ),
        (json!(["online_fraud"]), vec!["action_fraud"]),
        (
            json!(["cyberbullying", "online_fraud"]),
            vec!["childline", "nspcc_helpline", "action_fraud"],
        ),
    ];
    for (behaviours, expected) in cases {
        let r = run(&def(), enquiry(behaviours.clone(), 15));
        assert_eq!(r.in_scope, Some(false), "{behaviours}");
        assert!(!r.accepted, "{behaviours}");
        let signposts = signpost_keys(&r);
        for key in &expected {
            assert!(
                signposts.contains(key),
                "{behaviours}: {key} missing from {signposts:?}"
            );
        }
        assert!(
            r.explanation
                .iter()
                .any(|e| e.starts_with("Out of scope: "))
        );
        let scope_reasons: Vec<&str> = reasons_for(&r, "scope")
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        let chosen: Vec<&str> = behaviours
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(scope_reasons, chosen);
    }
}

#[test]
fn cyber_dependent_behaviour_alongside_them_is_in_scope() {
    let r = run(&def(), enquiry(json!(["cyberbullying", "ddos_booter"]), 15));
    assert_eq!(r.in_scope, Some(true));
    assert!(r.accepted);
    assert!(r.flags.is_empty());
    let r = run(&def(), enquiry(json!(["unauthorised_access"]), 15));
    assert_eq!(r.in_scope, Some(true));
    assert!(r.signposts.is_empty(), "{:?}", r.signposts);
}

#[test]
fn an_age_outside_the_range_is_flagged_and_still_accepted() {
    for (age, flagged) in [(9, true), (10, false), (25, false), (26, true)] {
        let r = run(&def(), enquiry(json!(["game_cheats_mods"]), age));
        let flags: Vec<&str> = r.flags.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(
            flags.contains(&"age_outside_range"),
            flagged,
            "age {age}: {flags:?}"
        );
        assert!(r.accepted, "age {age}");
        assert_eq!(r.in_scope, Some(true));
        if flagged {
            assert_eq!(
                reasons_for(&r, "flag:age_outside_range"),
                [("young_person_age", "young_person_age")]
            );
        }
    }
}

#[test]
fn immediate_risk_is_urgent() {
    let mut a = enquiry(json!(["phishing"]), 16);
    a["immediate_risk"] = json!(true);
    let r = run(&def(), a);
    assert!(r.urgent);
    assert!(r.accepted);
    assert!(signpost_keys(&r).contains(&"police_999"));
}

#[test]
fn a_wrong_age_type_is_a_field_error() {
    let errors = screen(
        &def(),
        &enquiry(json!(["phishing"]), 0)
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("young_person_age".into(), json!("fifteen"));
                Value::Object(o)
            })
            .unwrap(),
        today(),
    )
    .unwrap_err();
    assert_eq!(errors[0].field, "young_person_age");
}
