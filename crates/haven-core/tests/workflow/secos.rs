use super::*;

fn def() -> ServiceDefinition {
    load("secos.toml")
}

#[test]
fn available_transitions_depend_on_state_and_role() {
    let def = def();
    let targets = |state: &str, role: &str| -> Vec<String> {
        available_transitions(&def, state, role)
            .iter()
            .map(|t| t.to.clone())
            .collect()
    };
    assert_eq!(
        targets("received", "triage"),
        ["screening_confirmed", "closed"]
    );
    assert_eq!(targets("received", "caseworker"), Vec::<String>::new());
    assert_eq!(
        targets("allocated", "caseworker"),
        ["in_intervention", "closed"]
    );
    assert!(
        targets("received", "auditor").is_empty(),
        "auditors only read"
    );
    assert!(targets("closed", "admin").is_empty(), "closed is terminal");
    assert!(targets("no_such_state", "admin").is_empty());
}

#[test]
fn a_role_without_the_transition_is_refused_with_403() {
    let err = attempt(
        &def(),
        "received",
        "caseworker",
        &to("screening_confirmed"),
        &case("received", json!({})),
    )
    .unwrap_err();
    assert_eq!(
        err,
        TransitionError::RoleNotAllowed {
            role: "caseworker".into(),
            to: "screening_confirmed".into()
        }
    );
    assert_eq!(err.kind(), RefusalKind::NotPermitted);
    let err = attempt(
        &def(),
        "received",
        "auditor",
        &decide("closed", "withdrawn", Some("Asked to")),
        &case("received", json!({})),
    )
    .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::NotPermitted);
}

#[test]
fn a_transition_from_the_wrong_state_is_refused_with_409() {
    let err = attempt(
        &def(),
        "received",
        "admin",
        &to("allocated"),
        &case("received", json!({})),
    )
    .unwrap_err();
    assert_eq!(
        err,
        TransitionError::NotFromHere {
            from: "received".into(),
            to: "allocated".into()
        }
    );
    assert_eq!(err.kind(), RefusalKind::NotNow);
    // Nothing leaves a terminal state.
    let err = attempt(
        &def(),
        "closed",
        "admin",
        &to("received"),
        &case("closed", json!({})),
    )
    .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::NotNow);
}

#[test]
fn an_unknown_state_is_404() {
    let err = attempt(
        &def(),
        "received",
        "admin",
        &to("nowhere"),
        &case("received", json!({})),
    )
    .unwrap_err();
    assert_eq!(err, TransitionError::UnknownState("nowhere".into()));
    assert_eq!(err.kind(), RefusalKind::UnknownTarget);
    let err = attempt(
        &def(),
        "limbo",
        "admin",
        &to("closed"),
        &case("limbo", json!({})),
    )
    .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::UnknownTarget);
}

#[test]
fn a_failing_guard_is_named_with_409() {
    let err = attempt(
        &def(),
        "received",
        "triage",
        &to("screening_confirmed"),
        &case("received", json!({})),
    )
    .unwrap_err();
    let TransitionError::GuardFailed { key, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(key, "screening_confirmed");
    assert!(message.contains("Confirm"), "{message}");
    assert_eq!(err.kind(), RefusalKind::NotNow);
    assert!(err.to_string().contains("screening_confirmed"));

    let facts = case(
        "received",
        json!({ "case": { "screening": { "confirmed": true, "confirmed_band": "high" } } }),
    );
    let ok = attempt(
        &def(),
        "received",
        "triage",
        &to("screening_confirmed"),
        &facts,
    )
    .unwrap();
    assert_eq!(
        (ok.from.as_str(), ok.to.as_str(), ok.notify_referrer),
        ("received", "screening_confirmed", false)
    );
}

#[test]
fn guards_are_checked_in_order_and_the_first_failure_is_named() {
    let facts = case(
        "allocation_decided",
        json!({ "case": { "decisions": { "allocation_decided": "not_appropriate" } } }),
    );
    let err = attempt(
        &def(),
        "allocation_decided",
        "triage",
        &to("allocated"),
        &facts,
    )
    .unwrap_err();
    assert!(
        matches!(&err, TransitionError::GuardFailed { key, .. } if key == "allocation_appropriate"),
        "{err:?}"
    );

    let facts = case(
        "allocation_decided",
        json!({ "case": { "decisions": { "allocation_decided": "group_work" } } }),
    );
    let err = attempt(
        &def(),
        "allocation_decided",
        "triage",
        &to("allocated"),
        &facts,
    )
    .unwrap_err();
    assert!(
        matches!(&err, TransitionError::GuardFailed { key, .. } if key == "worker_allocated"),
        "{err:?}"
    );

    let facts = case(
        "allocation_decided",
        json!({ "case": { "decisions": { "allocation_decided": "group_work" }, "allocation": { "worker": "w-1", "mode": "group" } } }),
    );
    let ok = attempt(
        &def(),
        "allocation_decided",
        "triage",
        &to("allocated"),
        &facts,
    )
    .unwrap();
    assert!(ok.notify_referrer);
}

#[test]
fn guards_read_the_requested_decision_not_the_documents_old_one() {
    // The document carries a stale `transition`; the request's decision is what counts.
    let facts = case(
        "screening_confirmed",
        json!({ "transition": { "decision": "withdrawn" } }),
    );
    let err = attempt(
        &def(),
        "screening_confirmed",
        "triage",
        &decide("closed", "not_appropriate", Some("Outside the area")),
        &facts,
    )
    .unwrap_err();
    assert!(
        matches!(&err, TransitionError::GuardFailed { key, .. } if key == "not_appropriate_decided"),
        "{err:?}"
    );
    let ok = attempt(
        &def(),
        "screening_confirmed",
        "triage",
        &decide("closed", "withdrawn", Some("Referrer withdrew it")),
        &facts,
    )
    .unwrap();
    assert_eq!(ok.decision.as_deref(), Some("withdrawn"));
    assert_eq!(ok.reason.as_deref(), Some("Referrer withdrew it"));
}

#[test]
fn the_same_target_from_different_states_uses_the_matching_transition() {
    // Closing an allocated case is the caseworker's, with the case outcomes.
    let facts = case("allocated", json!({}));
    let mut close = decide("closed", "risk_reduced", Some("Goals met"));
    let err = attempt(&def(), "allocated", "caseworker", &close, &facts).unwrap_err();
    assert!(
        matches!(&err, TransitionError::GuardFailed { key, .. } if key == "closure_outcome_recorded"),
        "{err:?}"
    );
    close.fields.insert("outcome".into(), json!("risk_reduced"));
    let ok = attempt(&def(), "allocated", "caseworker", &close, &facts).unwrap();
    assert_eq!(ok.decision.as_deref(), Some("risk_reduced"));
    let err = attempt(
        &def(),
        "allocated",
        "caseworker",
        &decide("closed", "duplicate", Some("x")),
        &facts,
    )
    .unwrap_err();
    assert_eq!(err, TransitionError::UnknownDecision("duplicate".into()));
    assert_eq!(err.kind(), RefusalKind::BadRequest);
}

#[test]
fn a_reason_is_required_where_the_definition_says() {
    let facts = case("received", json!({}));
    for reason in [None, Some(""), Some("   \n")] {
        let err = attempt(
            &def(),
            "received",
            "triage",
            &decide("closed", "duplicate", reason),
            &facts,
        )
        .unwrap_err();
        assert_eq!(err, TransitionError::ReasonRequired, "{reason:?}");
        assert_eq!(
            (err.kind(), err.field()),
            (RefusalKind::BadRequest, Some("reason"))
        );
    }
    // reason_required_for: only "not appropriate" needs one.
    let facts = case("onward_actions_done", json!({}));
    let err = attempt(
        &def(),
        "onward_actions_done",
        "triage",
        &decide("allocation_decided", "not_appropriate", None),
        &facts,
    )
    .unwrap_err();
    assert_eq!(err, TransitionError::ReasonRequired);
    let ok = attempt(
        &def(),
        "onward_actions_done",
        "triage",
        &decide("allocation_decided", "group_work", None),
        &facts,
    )
    .unwrap();
    assert_eq!(ok.reason, None);
    // The referrer is told at allocation (or closure), once: not at this decision too.
    assert!(!ok.notify_referrer);
}

#[test]
fn a_decision_is_required_where_the_definition_lists_them() {
    let facts = case("onward_actions_done", json!({}));
    let err = attempt(
        &def(),
        "onward_actions_done",
        "triage",
        &to("allocation_decided"),
        &facts,
    )
    .unwrap_err();
    assert_eq!(
        err,
        TransitionError::DecisionRequired {
            choices: vec![
                "individual_case_work".into(),
                "group_work".into(),
                "not_appropriate".into()
            ]
        }
    );
    assert_eq!(
        (err.kind(), err.field(), err.code()),
        (
            RefusalKind::BadRequest,
            Some("decision"),
            "decision_required"
        )
    );
    let err = attempt(
        &def(),
        "onward_actions_done",
        "triage",
        &decide("allocation_decided", "maybe", None),
        &facts,
    )
    .unwrap_err();
    assert_eq!(err, TransitionError::UnknownDecision("maybe".into()));
    // A decision on a step that takes none is refused, not silently recorded.
    let facts = case("allocated", json!({}));
    let err = attempt(
        &def(),
        "allocated",
        "caseworker",
        &decide("in_intervention", "group_work", None),
        &facts,
    )
    .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::BadRequest);
}

#[test]
fn role_is_checked_before_decision_and_reason() {
    let err = attempt(
        &def(),
        "onward_actions_done",
        "caseworker",
        &to("allocation_decided"),
        &case("onward_actions_done", json!({})),
    )
    .unwrap_err();
    assert_eq!(err.kind(), RefusalKind::NotPermitted);
}
