//! The workflow engine on the built-in definitions and a small inline one: who may move a
//! case where, with what decision and reason, and which guard stops it.

use haven_core::definition::ServiceDefinition;
use haven_core::definition::load::parse_definition;
use haven_core::workflow::{
    RefusalKind, TransitionError, TransitionRequest, attempt, available_transitions, on_decision,
};
use serde_json::{Value, json};

fn load(file: &str) -> ServiceDefinition {
    let path = format!("{}/../../services/{file}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_definition(file, &source).unwrap_or_else(|e| panic!("{e}"))
}

fn to(state: &str) -> TransitionRequest {
    TransitionRequest {
        to: state.to_owned(),
        ..Default::default()
    }
}

fn decide(state: &str, decision: &str, reason: Option<&str>) -> TransitionRequest {
    TransitionRequest {
        to: state.to_owned(),
        decision: Some(decision.to_owned()),
        reason: reason.map(str::to_owned),
        ..Default::default()
    }
}

/// A case facts document as the server builds it (see docs: answers, case, transition).
fn case(status: &str, extra: Value) -> Value {
    let mut doc = json!({
        "answers": {},
        "case": {
            "status": status,
            "stages_received": ["referral"],
            "screening": { "eligible": true, "in_scope": null, "urgent": false, "suggested_band": "medium", "confirmed_band": null, "confirmed": false },
            "actions": { "total": 2, "open": 1, "done": 1, "waived": 0 },
            "decisions": {},
            "allocation": { "worker": null, "mode": null },
            "meetings": 0, "plan": { "goals": 0, "open_actions": 0 }, "onward_referrals": 0
        },
        "transition": { "to": "", "decision": null, "reason": null, "fields": {} }
    });
    merge(&mut doc, extra);
    doc
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p,
    }
}

#[path = "workflow/secos.rs"]
mod secos;

#[path = "workflow/cyber_choices.rs"]
mod cyber_choices;

#[path = "workflow/inline.rs"]
mod inline;
