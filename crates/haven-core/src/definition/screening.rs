//! The screening section of a definition: how answers become a suggestion (eligibility,
//! scope, band, urgency, required actions, signposts). Evaluated by `crate::screening`.
//!
//! Rules are data so that another area's tool can be configured without code: SECOS uses
//! `band_rules`, the weighted example uses `scoring`, CEOP and Cyber Choices use `scope`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningRules {
    /// Recorded with every stored result, so that a later change of rules never rewrites
    /// history. Change it whenever a rule below changes.
    pub version: String,
    /// Band names, lowest first (`none`, `low`, `medium`, `high`). Empty: the service has no bands.
    #[serde(default)]
    pub bands: Vec<String>,
    /// Who is eligible (SECOS: at least one indicator ticked).
    #[serde(default)]
    pub eligibility: Option<Eligibility>,
    /// Rules that raise the band; the highest band of any rule that fires is suggested.
    #[serde(default)]
    pub band_rules: Vec<BandRule>,
    /// Weighted scoring: points per indicator, bands by total. Combined with `band_rules`
    /// (the higher band wins), so floors can be written as band rules.
    #[serde(default)]
    pub scoring: Option<Scoring>,
    /// Whether the service can accept the submission at all (CEOP, Cyber Choices).
    #[serde(default)]
    pub scope: Option<Scope>,
    /// When the submission is urgent (sorted to the top of every queue, 999 message first).
    #[serde(default)]
    pub urgent: Option<Urgent>,
    /// Other flags for the team's judgement (e.g. age outside the accepted range).
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Actions the team must take (or waive with a reason), shown as a checklist.
    #[serde(default)]
    pub actions: Vec<RequiredAction>,
    /// Signposts offered when a condition holds (typically for out-of-scope concerns).
    #[serde(default)]
    pub signpost_rules: Vec<SignpostRule>,
    /// Signposts offered on every result (CEOP: the NSPCC helpline).
    #[serde(default)]
    pub always_signpost: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    /// Eligible when this holds.
    pub when: Condition,
    /// Questions whose ticked options are the reasons for eligibility.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Said to the referrer when not eligible.
    pub not_eligible_reason: String,
}

/// Raises the band to `band` when its indicators are ticked (and `when` holds).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BandRule {
    pub band: String,
    /// Indicators: the ticked options of this multiple choice or indicator matrix question.
    #[serde(default)]
    pub question: Option<String>,
    /// Matrix only: rows count when ticked in any of these columns (all columns when empty).
    #[serde(default)]
    pub columns: Vec<String>,
    /// Rows that count only when ticked in these columns and in no other (`prior` only).
    #[serde(default)]
    pub only_columns: bool,
    /// Only these options count (all when empty).
    #[serde(default)]
    pub options: Vec<String>,
    /// A further condition (an age floor, say).
    #[serde(default)]
    pub when: Option<Condition>,
    /// Why the rule exists, shown with the indicators it found.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    pub points: Vec<PointRule>,
    /// Bands by total score; the highest threshold reached wins.
    pub thresholds: Vec<Threshold>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PointRule {
    pub question: String,
    /// Only these options score (all when empty).
    #[serde(default)]
    pub options: Vec<String>,
    /// Matrix only: the column that scores (a row ticked `both` scores in each column).
    #[serde(default)]
    pub column: Option<String>,
    pub points: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub band: String,
    pub min_points: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// In scope when this holds.
    pub in_scope_when: Condition,
    /// Said (kindly) when not in scope.
    pub out_of_scope_reason: String,
    /// Not in scope ⇒ not accepted: no referral is created, only an anonymous count is kept.
    /// When false, an out-of-scope submission is still recorded for the team's judgement.
    #[serde(default)]
    pub reject_out_of_scope: bool,
    /// Why, in plain words, for what was chosen: each reason whose `when` holds is said on
    /// the "who can help" page instead of `out_of_scope_reason` (which is said when none
    /// holds). E.g. `{ when = { question = "concerns", includes = ["bullying"] }, text = "We
    /// cannot take reports about bullying…" }`.
    #[serde(default)]
    pub reasons: Vec<ScopeReason>,
}

/// One plain-words reason a report is out of scope.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeReason {
    pub when: Condition,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Urgent {
    pub when: Condition,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    pub key: String,
    pub label: String,
    pub when: Condition,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredAction {
    pub key: String,
    pub label: String,
    /// Why the action is required (the seed's words).
    pub reason: String,
    pub when: Condition,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignpostRule {
    pub when: Condition,
    /// Keys of the service's `signposts`.
    pub signposts: Vec<String>,
}
