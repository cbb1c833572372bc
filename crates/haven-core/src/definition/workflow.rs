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
    /// A closed state: the case is read-only there, and no transition leaves it but one
    /// marked `reopen`.
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
    /// Decisions whose reason the referrer sees on the follow-up page (never in an email):
    /// "not suitable" and its reason, for example.
    #[serde(default)]
    pub share_reason_for: Vec<String>,
    /// An `invited` stage: making this transition sends the referrer a single-use link to
    /// that stage's form (instead of the plain notification).
    #[serde(default)]
    pub invite_stage: Option<String>,
    /// How many days the link of `invite_stage` works (default 14, at most 90).
    #[serde(default)]
    pub invite_valid_days: Option<u32>,
    /// A stage: when it is received the case makes this transition by itself (guards still
    /// apply; `roles` are not asked, the referrer's submission makes it).
    #[serde(default)]
    pub on_stage_received: Option<String>,
    /// A decision of a transition into this one's `from` state: recording it makes this
    /// transition straight after, by itself, in the same change (guards still apply, with the
    /// decision counted; `roles` are not asked). So one click on "suitable" also sends the
    /// detailed form's link.
    #[serde(default)]
    pub on_decision: Option<String>,
    /// Reopens a closed case: the only kind of transition allowed to leave a terminal state
    /// (`from` names it), into a state that is not terminal. Without one, a closed case stays
    /// closed.
    #[serde(default)]
    pub reopen: bool,
}

/// Days an invitation link works when `invite_valid_days` is not given.
pub const DEFAULT_INVITE_VALID_DAYS: u32 = 14;
/// The longest `invite_valid_days` allowed.
pub const MAX_INVITE_VALID_DAYS: u32 = 90;

impl Transition {
    /// Days the link of `invite_stage` works.
    pub fn invite_days(&self) -> u32 {
        self.invite_valid_days
            .unwrap_or(DEFAULT_INVITE_VALID_DAYS)
            .clamp(1, MAX_INVITE_VALID_DAYS)
    }

    /// Whether the referrer sees the reason of `decision` on the follow-up page.
    pub fn shares_reason(&self, decision: Option<&str>) -> bool {
        decision.is_some_and(|d| self.share_reason_for.iter().any(|s| s == d))
    }
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
