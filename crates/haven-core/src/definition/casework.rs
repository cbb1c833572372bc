//! The casework section of a definition: how a team works a case once triage is done —
//! the kinds of meeting and places it records, whether meetings are informal (Cyber
//! Choices' officers meet in plain clothes), how often an intervention plan is reviewed,
//! which answers hold lone-working concerns, and the outcomes a case may close with.
//! Applied by `crate::casework`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Choice;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Casework {
    /// Kinds of meeting a worker records (initial meeting, home visit, review, …).
    #[serde(default)]
    pub meeting_kinds: Vec<MeetingOption>,
    /// Where meetings happen (home, school, police station, online, other, …).
    #[serde(default)]
    pub meeting_places: Vec<MeetingOption>,
    /// When set, every meeting records whether it was informal with officers in plain
    /// clothes; this is the question's wording ("Informal meeting, officers in plain clothes").
    #[serde(default)]
    pub informal_meetings: Option<String>,
    /// Days from a plan review to the next one, when the worker does not give a date.
    #[serde(default)]
    pub plan_review_days: Option<u32>,
    /// What the team calls the plan ("Intervention plan", "Safety plan").
    #[serde(default)]
    pub plan_label: Option<String>,
    /// Answers that hold lone-working concerns, shown before any home visit is recorded.
    #[serde(default)]
    pub lone_working: Vec<LoneWorking>,
    /// The outcome recorded when a case closes.
    #[serde(default)]
    pub closure: Option<Closure>,
}

/// A meeting kind or place.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingOption {
    pub key: String,
    pub label: String,
    /// A meeting of this kind, or at this place, is a visit to the family's home: with
    /// lone-working concerns on the referral, the worker must confirm they read them.
    #[serde(default)]
    pub home_visit: bool,
}

/// Where a referral's lone-working concerns are: a yes/no question and/or a text question
/// of one stage.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoneWorking {
    pub stage: String,
    /// A `yes_no` question: "Are there any concerns regarding lone work…?".
    #[serde(default)]
    pub concerns: Option<String>,
    /// A text question with the details; any answer to it counts as a concern.
    #[serde(default)]
    pub details: Option<String>,
}

/// Closing a case with an outcome.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    /// The workflow state a case closes into (a terminal state).
    pub state: String,
    /// The outcomes to choose from; a transition's guard on `transition.fields.outcome`
    /// makes one required.
    pub outcomes: Vec<Choice>,
}
