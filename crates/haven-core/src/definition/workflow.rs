//! The workflow section of a definition: a case's states and the transitions between them,
//! with the roles allowed to make each and the guards that must hold. Evaluated by
//! `crate::workflow`.
//!
//! Guards are [`Condition`]s over the *case facts* document that the engine is given:
//! `answers.*` (the submitted answers), `case.*` (screening, actions, allocation, meetings,
//! plan, … as documented in `docs/ARCHITECTURE.md`) and `transition.*` (what the request
//! carries: `reason`, `decision`, `fields`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Choice, Condition};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// The state a new case starts in.
    pub initial: String,
    pub states: Vec<State>,
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub key: String,
    /// What staff see.
    pub label: String,
    /// What the reporter sees on the follow-up page, in plain words.
    pub public_label: String,
    /// No transition leaves a terminal state.
    #[serde(default)]
    pub terminal: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// States the transition may start from.
    pub from: Vec<String>,
    pub to: String,
    /// Button text on the case page.
    pub label: String,
    /// Staff roles allowed to make it (`triage`, `caseworker`, `manager`, `admin`).
    pub roles: Vec<String>,
    /// A reason must be given.
    #[serde(default)]
    pub reason_required: bool,
    /// A decision must be chosen from these (suitable / not suitable, an outcome, …).
    #[serde(default)]
    pub decisions: Vec<Choice>,
    /// Decisions that need a reason even when `reason_required` is false.
    #[serde(default)]
    pub reason_required_for: Vec<String>,
    /// Conditions that must hold; the first that fails is named in the 409.
    #[serde(default)]
    pub guards: Vec<Guard>,
    /// The referrer is told (no case content, only that something changed).
    #[serde(default)]
    pub notify_referrer: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// Stable name reported when the guard fails (`screening_confirmed`).
    pub key: String,
    /// What to do about it: "Confirm or override the screening band first".
    pub message: String,
    pub when: Condition,
}
