//! The case workflow engine: which transitions a role may make from a state, and whether a
//! requested transition is allowed (role, decision, reason, guards over the case facts).
//!
//! The engine decides; it stores nothing. The caller records the outcome (new status, the
//! decision and reason, a message to the referrer when `notify_referrer`).

mod case_file;
mod facts;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::definition::ServiceDefinition;
use crate::definition::condition::Condition;
use crate::definition::workflow::{Transition, Workflow};

pub use case_file::{
    CaseFactsInput, CaseRecord, CaseworkFacts, ChronologyFact, allocation_mode, case_facts,
    decisions, meets_sla, stages_received,
};
pub use facts::CaseFacts;

/// The transitions `role` may make from `state`, in definition order (guards not evaluated:
/// a button may still be refused with the guard's message).
pub fn available_transitions<'d>(
    def: &'d ServiceDefinition,
    state: &str,
    role: &str,
) -> Vec<&'d Transition> {
    def.workflow
        .iter()
        .flat_map(|w| w.transitions.iter())
        .filter(|t| t.from.iter().any(|f| f == state) && t.roles.iter().any(|r| r == role))
        .collect()
}

/// What a member of staff asks for: `{to, decision, reason, fields}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransitionRequest {
    /// The state to move to.
    pub to: String,
    /// One of the transition's `decisions`, when it has any.
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// Further values the transition records (a meeting's date and place, …), readable by
    /// guards as `transition.fields.*`.
    #[serde(default)]
    pub fields: Map<String, Value>,
}

/// An allowed transition, ready to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionOutcome {
    pub from: String,
    pub to: String,
    pub decision: Option<String>,
    /// The reason given, trimmed; `None` when none was given.
    pub reason: Option<String>,
    /// Tell the referrer that something changed (never the case content).
    pub notify_referrer: bool,
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("this service has no case workflow")]
    NoWorkflow,
    #[error("there is no state `{0}`")]
    UnknownState(String),
    #[error("a case cannot move from `{from}` to `{to}`")]
    NotFromHere { from: String, to: String },
    #[error("role `{role}` cannot move a case to `{to}`")]
    RoleNotAllowed { role: String, to: String },
    #[error("choose a decision: {}", choices.join(", "))]
    DecisionRequired { choices: Vec<String> },
    #[error("`{0}` is not a decision of this step")]
    UnknownDecision(String),
    #[error("give a reason")]
    ReasonRequired,
    #[error("{message} (guard `{key}`)")]
    GuardFailed { key: String, message: String },
}

/// The kinds of [`TransitionError`], for callers that map them to their own answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The service has no workflow, or no such state.
    UnknownTarget,
    /// The role may not make this move.
    NotPermitted,
    /// Not from the case's current state, or a guard does not hold yet.
    NotNow,
    /// Something in the request to correct (a decision, a reason).
    BadRequest,
}

impl TransitionError {
    /// What kind of refusal this is, so each caller can answer in its own terms (the API
    /// with a status code, a page with an error message).
    pub fn kind(&self) -> RefusalKind {
        match self {
            Self::NoWorkflow | Self::UnknownState(_) => RefusalKind::UnknownTarget,
            Self::RoleNotAllowed { .. } => RefusalKind::NotPermitted,
            Self::NotFromHere { .. } | Self::GuardFailed { .. } => RefusalKind::NotNow,
            Self::DecisionRequired { .. } | Self::UnknownDecision(_) | Self::ReasonRequired => {
                RefusalKind::BadRequest
            }
        }
    }

    /// A stable machine-readable code for the API's `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoWorkflow => "no_workflow",
            Self::UnknownState(_) => "unknown_state",
            Self::NotFromHere { .. } => "not_from_here",
            Self::RoleNotAllowed { .. } => "role_not_allowed",
            Self::DecisionRequired { .. } => "decision_required",
            Self::UnknownDecision(_) => "unknown_decision",
            Self::ReasonRequired => "reason_required",
            Self::GuardFailed { .. } => "guard_failed",
        }
    }

    /// The request field a 422 is about (`decision`, `reason`), for the API's `error.fields`.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::DecisionRequired { .. } | Self::UnknownDecision(_) => Some("decision"),
            Self::ReasonRequired => Some("reason"),
            _ => None,
        }
    }
}

/// Checks a requested transition from state `from` by a member of staff with `role`, against
/// the case facts document (see the crate docs for its shape; its `transition` is replaced
/// by the request's). Checks run in the order a person would fix them: the states, the role,
/// the decision, the reason, then each guard in order (the first failing guard is named).
pub fn attempt(
    def: &ServiceDefinition,
    from: &str,
    role: &str,
    request: &TransitionRequest,
    case_facts: &Value,
) -> Result<TransitionOutcome, TransitionError> {
    let workflow = def.workflow.as_ref().ok_or(TransitionError::NoWorkflow)?;
    for state in [from, request.to.as_str()] {
        if !has_state(workflow, state) {
            return Err(TransitionError::UnknownState(state.to_owned()));
        }
    }
    let mut candidates = workflow
        .transitions
        .iter()
        .filter(|t| t.to == request.to && t.from.iter().any(|f| f == from))
        .peekable();
    if candidates.peek().is_none() {
        return Err(TransitionError::NotFromHere {
            from: from.to_owned(),
            to: request.to.clone(),
        });
    }
    let transition = candidates
        .find(|t| t.roles.iter().any(|r| r == role))
        .ok_or_else(|| TransitionError::RoleNotAllowed {
            role: role.to_owned(),
            to: request.to.clone(),
        })?;

    let decision = non_blank(request.decision.as_deref());
    let reason = non_blank(request.reason.as_deref());
    match decision {
        None if !transition.decisions.is_empty() => {
            return Err(TransitionError::DecisionRequired {
                choices: transition.decisions.iter().map(|d| d.key.clone()).collect(),
            });
        }
        // A decision this step does not take is refused rather than silently recorded.
        Some(d) if !transition.decisions.iter().any(|c| c.key == d) => {
            return Err(TransitionError::UnknownDecision(d.to_owned()));
        }
        _ => {}
    }
    let reason_needed = transition.reason_required
        || decision.is_some_and(|d| transition.reason_required_for.iter().any(|r| r == d));
    if reason_needed && reason.is_none() {
        return Err(TransitionError::ReasonRequired);
    }

    let overlay = json!({ "transition": {
        "to": request.to,
        "decision": decision,
        "reason": reason,
        "fields": request.fields,
    }});
    let facts = CaseFacts::new(def, case_facts).with_transition(&overlay);
    if let Some(guard) = transition.guards.iter().find(|g| !g.when.holds(&facts)) {
        return Err(TransitionError::GuardFailed {
            key: guard.key.clone(),
            message: guard.message.clone(),
        });
    }
    Ok(TransitionOutcome {
        from: from.to_owned(),
        to: request.to.clone(),
        decision: decision.map(str::to_owned),
        reason: reason.map(str::to_owned),
        notify_referrer: transition.notify_referrer,
    })
}

/// The transition [`attempt`] takes from `from` to `to` for `role` (the first in definition
/// order that `role` may make), to read what else it asks for (`invite_stage`, …).
pub fn transition_for<'d>(
    def: &'d ServiceDefinition,
    from: &str,
    to: &str,
    role: &str,
) -> Option<&'d Transition> {
    def.workflow.as_ref()?.transitions.iter().find(|t| {
        t.to == to && t.from.iter().any(|f| f == from) && t.roles.iter().any(|r| r == role)
    })
}

/// The transition a case in state `from` makes by itself now that `stage` has been
/// received (`on_stage_received`), if one applies and its guards hold over `case_facts`
/// (which must already count the stage as received). Transitions that need a decision or a
/// reason are never made by themselves.
pub fn on_stage_received(
    def: &ServiceDefinition,
    from: &str,
    stage: &str,
    case_facts: &Value,
) -> Option<TransitionOutcome> {
    let workflow = def.workflow.as_ref()?;
    let transition = workflow.transitions.iter().find(|t| {
        t.on_stage_received.as_deref() == Some(stage)
            && t.from.iter().any(|f| f == from)
            && t.decisions.is_empty()
            && !t.reason_required
    })?;
    let overlay = json!({ "transition": {
        "to": transition.to, "decision": null, "reason": null, "fields": {},
    }});
    let facts = CaseFacts::new(def, case_facts).with_transition(&overlay);
    if !transition.guards.iter().all(|g| g.when.holds(&facts)) {
        return None;
    }
    Some(TransitionOutcome {
        from: from.to_owned(),
        to: transition.to.clone(),
        decision: None,
        reason: None,
        notify_referrer: transition.notify_referrer,
    })
}

/// The transition a case makes by itself straight after `made` (`on_decision`), with its
/// definition: one from `made.to` whose `on_decision` is the decision just recorded, if its
/// guards hold over `case_facts` as they were before `made`, updated with its new state and
/// decision.
pub fn on_decision<'d>(
    def: &'d ServiceDefinition,
    made: &TransitionOutcome,
    case_facts: &Value,
) -> Option<(TransitionOutcome, &'d Transition)> {
    let decision = made.decision.as_deref()?;
    let transition = made_after_decision(def, &made.to, decision)?;
    let mut facts = case_facts.clone();
    if let Some(case) = facts.get_mut("case").and_then(Value::as_object_mut) {
        case.insert("status".to_owned(), json!(made.to));
        match case.get_mut("decisions").and_then(Value::as_object_mut) {
            Some(decisions) => {
                decisions.insert(made.to.clone(), json!(decision));
            }
            None => {
                case.insert("decisions".to_owned(), json!({ made.to.clone(): decision }));
            }
        }
    }
    let overlay = json!({ "transition": {
        "to": transition.to, "decision": null, "reason": null, "fields": {},
    }});
    let facts = CaseFacts::new(def, &facts).with_transition(&overlay);
    if !transition.guards.iter().all(|g| g.when.holds(&facts)) {
        return None;
    }
    let outcome = TransitionOutcome {
        from: made.to.clone(),
        to: transition.to.clone(),
        decision: None,
        reason: None,
        notify_referrer: transition.notify_referrer,
    };
    Some((outcome, transition))
}

/// The transition a case in `state` makes by itself once `decision` was recorded on entering
/// it (`on_decision`; guards not evaluated), to say on the button what the decision will do.
pub fn made_after_decision<'d>(
    def: &'d ServiceDefinition,
    state: &str,
    decision: &str,
) -> Option<&'d Transition> {
    def.workflow.as_ref()?.transitions.iter().find(|t| {
        t.on_decision.as_deref() == Some(decision)
            && t.from.iter().any(|f| f == state)
            && t.decisions.is_empty()
            && !t.reason_required
    })
}

/// Whether a condition holds for a case (for showing which guards currently block a button).
pub fn guard_holds(def: &ServiceDefinition, condition: &Condition, case_facts: &Value) -> bool {
    condition.holds(&CaseFacts::new(def, case_facts))
}

fn has_state(workflow: &Workflow, key: &str) -> bool {
    workflow.states.iter().any(|s| s.key == key)
}

/// Blank text counts as not given.
fn non_blank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}
