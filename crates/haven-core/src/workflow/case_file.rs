//! The case facts document workflow guards read (`answers.*`, `case.*`, `today`), built from
//! plain data about one case: the I/O side loads the referral, its chronology, its actions
//! and casework counts, and these functions turn them into facts with today as a parameter.
//! The document's shape is described in `docs/ARCHITECTURE.md` ("Case facts").

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use crate::definition::ServiceDefinition;

/// What the case facts read about the referral itself.
#[derive(Debug, Clone, Copy)]
pub struct CaseRecord<'a> {
    /// The stage the case was opened with, and its answers.
    pub stage: &'a str,
    pub answers: &'a Value,
    /// Workflow state.
    pub status: &'a str,
    pub eligible: Option<bool>,
    pub in_scope: Option<bool>,
    pub urgent: bool,
    pub suggested_band: Option<&'a str>,
    pub confirmed_band: Option<&'a str>,
    /// The member of staff the case is allocated to.
    pub assignee: Option<&'a str>,
}

/// One chronology entry, as far as the facts read it.
#[derive(Debug, Clone, Copy)]
pub struct ChronologyFact<'a> {
    /// `transition`, `stage_received`, …
    pub kind: &'a str,
    pub to_status: Option<&'a str>,
    /// `{"decision": …}` for transitions, `{"stage": …}` for stages received.
    pub detail: Option<&'a Value>,
}

/// The case's meetings and plan, counted (`case.meetings`, `case.plan.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseworkFacts {
    pub meetings: i64,
    pub goals: i64,
    pub actions: i64,
    pub open_actions: i64,
    pub overdue_actions: i64,
    pub reviews: i64,
}

/// Everything the case facts are made from.
#[derive(Debug, Clone, Copy)]
pub struct CaseFactsInput<'a> {
    pub record: CaseRecord<'a>,
    /// Oldest first.
    pub chronology: &'a [ChronologyFact<'a>],
    /// The checklist status of each required action (`open`, `done`, `waived`,
    /// `not_required`).
    pub action_statuses: &'a [&'a str],
    pub casework: CaseworkFacts,
    /// How many onward referrals are recorded on the case.
    pub onward_referrals: usize,
}

/// The decision recorded when the case entered each state (`{state: decision}`; a later
/// entry into the same state replaces an earlier one).
pub fn decisions(chronology: &[ChronologyFact<'_>]) -> Map<String, Value> {
    let mut decisions = Map::new();
    for entry in chronology.iter().filter(|e| e.kind == "transition") {
        let decision = entry
            .detail
            .and_then(|d| d.get("decision"))
            .and_then(Value::as_str);
        if let (Some(to), Some(decision)) = (entry.to_status, decision) {
            decisions.insert(to.to_owned(), json!(decision));
        }
    }
    decisions
}

/// How the case is worked: by convention, the decision taken on entering
/// `allocation_decided` (SECOS: individual case work or group work).
pub fn allocation_mode(chronology: &[ChronologyFact<'_>]) -> Option<String> {
    decisions(chronology)
        .get("allocation_decided")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The first stage and every stage received since (`stage_received` entries), each once.
pub fn stages_received(first_stage: &str, chronology: &[ChronologyFact<'_>]) -> Vec<String> {
    let mut stages = vec![first_stage.to_owned()];
    for entry in chronology.iter().filter(|e| e.kind == "stage_received") {
        let stage = entry
            .detail
            .and_then(|d| d.get("stage"))
            .and_then(Value::as_str);
        if let Some(stage) = stage.filter(|s| !stages.iter().any(|k| k == s)) {
            stages.push(stage.to_owned());
        }
    }
    stages
}

/// The case facts document workflow guards read, on `today` (the service's local day).
pub fn case_facts(input: &CaseFactsInput<'_>, today: NaiveDate) -> Value {
    let record = input.record;
    let statuses = input.action_statuses;
    let count = |status: &str| statuses.iter().filter(|s| **s == status).count();
    let casework = input.casework;
    json!({
        "today": today.format("%Y-%m-%d").to_string(),
        "answers": { record.stage: record.answers },
        "case": {
            "status": record.status,
            "stages_received": stages_received(record.stage, input.chronology),
            "screening": {
                "eligible": record.eligible,
                "in_scope": record.in_scope,
                "urgent": record.urgent,
                "suggested_band": record.suggested_band,
                "confirmed_band": record.confirmed_band,
                "confirmed": record.confirmed_band.is_some(),
            },
            "actions": {
                "total": statuses.len(),
                "open": count("open"),
                "done": count("done"),
                "waived": count("waived"),
                "not_required": count("not_required"),
            },
            "decisions": decisions(input.chronology),
            "allocation": { "worker": record.assignee, "mode": allocation_mode(input.chronology) },
            "meetings": casework.meetings,
            "plan": {
                "goals": casework.goals,
                "actions": casework.actions,
                "open_actions": casework.open_actions,
                "overdue_actions": casework.overdue_actions,
                "reviews": casework.reviews,
            },
            "onward_referrals": input.onward_referrals,
        },
    })
}

/// Whether reaching `state` meets one of the service's SLAs, or ends the case (a closed
/// case is never overdue).
pub fn meets_sla(def: &ServiceDefinition, state: &str) -> bool {
    let terminal = def
        .workflow
        .iter()
        .flat_map(|w| w.states.iter())
        .any(|s| s.key == state && s.terminal);
    terminal
        || def
            .slas
            .iter()
            .any(|sla| sla.met_by.iter().any(|m| m == state))
}
