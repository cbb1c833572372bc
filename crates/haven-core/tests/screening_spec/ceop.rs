use super::*;

fn def() -> ServiceDefinition {
    load("ceop.toml")
}

#[test]
fn an_in_scope_concern_is_accepted_with_the_helpline_offered() {
    let r = run(
        &def(),
        json!({ "immediate_danger": false, "concerns": ["nude_image_request", "bullying"] }),
    );
    assert_eq!(r.in_scope, Some(true));
    assert!(r.accepted);
    assert!(!r.urgent);
    assert_eq!(
        reasons_for(&r, "scope"),
        [("concerns", "nude_image_request")]
    );
    assert!(signpost_keys(&r).contains(&"nspcc_helpline"));
    assert!(signpost_keys(&r).contains(&"childline"));
    assert_eq!(r.suggested_band, None);
    assert_eq!(r.eligible, None);
}

#[test]
fn bullying_only_is_out_of_scope_with_childline_and_the_nspcc() {
    let r = run(
        &def(),
        json!({ "immediate_danger": false, "concerns": ["bullying"] }),
    );
    assert_eq!(r.in_scope, Some(false));
    assert!(!r.accepted);
    let signposts = signpost_keys(&r);
    assert!(
        signposts.contains(&"childline") && signposts.contains(&"nspcc_helpline"),
        "{signposts:?}"
    );
    assert_eq!(reasons_for(&r, "scope"), [("concerns", "bullying")]);
    assert!(
        r.explanation
            .iter()
            .any(|e| e.starts_with("Out of scope: "))
    );
    let childline = r.signposts.iter().find(|s| s.key == "childline").unwrap();
    assert!(
        childline.contact.contains("0800 1111"),
        "{}",
        childline.contact
    );
}

#[test]
fn fake_accounts_and_hacking_are_signposted_elsewhere() {
    let r = run(
        &def(),
        json!({ "concerns": ["fake_account", "account_hacked"] }),
    );
    assert!(!r.accepted);
    let signposts = signpost_keys(&r);
    for key in ["report_harmful_content", "action_fraud", "nspcc_helpline"] {
        assert!(signposts.contains(&key), "{key}: {signposts:?}");
    }
    assert!(!signposts.contains(&"childline"));
}

#[test]
fn a_child_aged_18_or_over_is_out_of_scope_with_police_101() {
    for about in [
        json!({ "age": 18 }),
        json!({ "date_of_birth": "2008-11-22" }),
    ] {
        let r = run(
            &def(),
            json!({ "concerns": ["sexual_chat"], "child": about }),
        );
        assert_eq!(r.in_scope, Some(false), "{about}");
        assert!(!r.accepted);
        assert!(signpost_keys(&r).contains(&"police_101"));
        let field = about.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(
            reasons_for(&r, "scope"),
            [(field.as_str(), field.as_str())],
            "{about}"
        );
    }
    // 17 the day before the 18th birthday: in scope.
    let r = run(
        &def(),
        json!({ "concerns": ["sexual_chat"], "child": { "date_of_birth": "2008-11-23" } }),
    );
    assert_eq!(r.in_scope, Some(true));
    assert!(!signpost_keys(&r).contains(&"police_101"));
}

#[test]
fn immediate_danger_is_urgent_and_still_accepted() {
    let r = run(
        &def(),
        json!({ "immediate_danger": true, "concerns": ["meet_up_request"] }),
    );
    assert!(r.urgent);
    assert!(r.accepted);
    assert!(r.explanation.iter().any(|e| e.starts_with("Urgent: ")));
    assert_eq!(
        reasons_for(&r, "urgent"),
        [("immediate_danger", "immediate_danger")]
    );
    assert!(signpost_keys(&r).contains(&"police_999"));
}

#[test]
fn something_else_is_in_scope_and_needs_describing() {
    let errors = screen(&def(), &json!({ "concerns": ["something_else"] }), today()).unwrap_err();
    assert_eq!(errors[0].field, "concerns_other");
    let r = run(
        &def(),
        json!({ "concerns": ["something_else"], "concerns_other": "They keep messaging at night." }),
    );
    assert_eq!(r.in_scope, Some(true));
}

#[test]
fn nspcc_helpline_is_offered_on_every_result() {
    for concerns in [json!(["sexual_chat"]), json!(["account_hacked"]), json!([])] {
        let r = run(&def(), json!({ "concerns": concerns }));
        assert!(signpost_keys(&r).contains(&"nspcc_helpline"), "{concerns}");
    }
}
