//! The case file (`GET /staff/cases/{reference}`) and the family copy
//! (`GET /staff/cases/{reference}/family`, never any third-party information).
//!
//! Every view is an audit entry before the page is sent; the family copy, which is printed
//! or saved and so leaves Haven, is an export (`case.exported`, reason `family_copy`).

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use haven_core::definition::{DataClass, ServiceDefinition};
use serde_json::{Map, Value, json};

use super::answers::lay_out;
use super::error::StaffError;
use super::render::page;
use super::session::{CurrentSession, SignedIn};
use crate::access::Staff;
use crate::cases::CaseFile;
use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::storage::casework::Direction;
use crate::storage::invites::StageRecord;
use crate::storage::referrals::Referral;
use crate::web::AppState;
use haven_core::disclosure::{only_allowed, without_third_party};

/// The case `reference` if `staff` may do `action` on it: 404 for a missing case or one of
/// another team, 403 when the role may not (`cases::Cases::find`).
pub async fn load(
    state: &AppState,
    staff: &Staff,
    reference: &str,
    action: Action,
) -> Result<(Referral, ServiceDefinition), StaffError> {
    Ok(state.cases().find(staff, reference, action).await?)
}

/// The case with its chronology and actions checklist, as [`load`] checks.
pub async fn load_file(
    state: &AppState,
    staff: &Staff,
    reference: &str,
    action: Action,
) -> Result<CaseFile, StaffError> {
    Ok(state
        .cases()
        .open(staff, reference, action, state.now())
        .await?)
}

/// Whether `staff` may do `action` on this case (for showing or hiding its controls).
pub fn may(state: &AppState, staff: &Staff, referral: &Referral, action: Action) -> bool {
    state.cases().may(staff, referral, action)
}

/// A time as staff read it: `1 December 2026, 14:05` in UK time.
pub fn when(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::London)
        .format("%-d %B %Y, %H:%M")
        .to_string()
}

fn state_label(def: &ServiceDefinition, key: &str) -> String {
    def.workflow
        .as_ref()
        .and_then(|w| w.states.iter().find(|s| s.key == key))
        .map_or_else(|| key.to_owned(), |s| s.label.clone())
}

/// `user:<id>` → their email; the reporter and the public in words.
pub fn who(actor: &str, people: &HashMap<String, String>) -> String {
    match actor {
        "public" => "Referrer".to_owned(),
        "reporter" => "Reporter".to_owned(),
        "system" => "Haven (automatic)".to_owned(),
        other => other
            .strip_prefix("user:")
            .and_then(|id| people.get(id).cloned())
            .unwrap_or_else(|| other.to_owned()),
    }
}

/// What a chronology event says, in words.
/// A required action's label from the definition (its key only if the definition no longer
/// has it, written as words).
fn action_label(def: &ServiceDefinition, key: &str) -> String {
    def.screening
        .as_ref()
        .and_then(|s| s.actions.iter().find(|a| a.key == key))
        .map_or_else(|| key.replace('_', " "), |a| a.label.clone())
}

/// A decision of a transition into `to`, in the definition's words (its key as words only if
/// the definition no longer has it).
fn decision_label(def: &ServiceDefinition, to: Option<&str>, key: &str) -> String {
    def.workflow
        .iter()
        .flat_map(|w| w.transitions.iter())
        .filter(|t| to.is_none_or(|to| t.to == to))
        .flat_map(|t| t.decisions.iter())
        .find(|d| d.key == key)
        .map_or_else(|| band_words(key), |d| d.label.clone())
}

/// A document format in words.
fn format_words(format: &str) -> &str {
    match format {
        "docx" => "Word",
        "pdf" => "PDF",
        other => other,
    }
}

/// What a chronology event says, in words; `people` names staff ([`people`]).
fn event_words(
    def: &ServiceDefinition,
    kind: &str,
    (from, to): (Option<&str>, Option<&str>),
    detail: Option<&Value>,
    people: &HashMap<String, String>,
) -> String {
    let detail_str = |k: &str| detail.and_then(|d| d.get(k)).and_then(Value::as_str);
    match kind {
        "received" => "Referral received".to_owned(),
        "received_by_email" => {
            "It came by email: the referral was emailed to the team and converted from the team's email inbox".to_owned()
        }
        "transition" => format!(
            "Moved from {} to {}{}",
            state_label(def, from.unwrap_or("?")),
            state_label(def, to.unwrap_or("?")),
            detail_str("decision").map_or_else(String::new, |d| format!(
                ". Decision: {}",
                decision_label(def, to, d)
            ))
        ),
        "band_confirmed" => format!(
            "Band set to {}",
            band_words(detail_str("band").unwrap_or("?"))
        ),
        "invitation_created" | "invitation_opened" | "stage_received" => {
            let stage = detail_str("stage").unwrap_or("?");
            let label = def.stage(stage).map_or(stage, |s| s.label.as_str());
            match kind {
                "invitation_created" => format!(
                    "Single-use link to the {label} form made, to be emailed to the referrer (works until {})",
                    detail_str("expires_at")
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .map_or_else(|| "?".to_owned(), |t| when(t.with_timezone(&Utc)))
                ),
                "invitation_opened" => format!("The referrer opened the link to the {label} form"),
                _ => format!("{label} received"),
            }
        }
        "notification_sent" | "notification_failed" | "notification_impossible" => {
            let what = match detail_str("message") {
                Some("invitation") => "the link to a form",
                _ => "that there is news (details on the follow-up page)",
            };
            let to = detail_str("to").unwrap_or("?");
            match kind {
                "notification_sent" => format!("Email sent to {to}: {what}"),
                "notification_failed" => {
                    format!("Email to {to} could not be sent and was given up on: {what}")
                }
                _ => format!("No email could be sent ({what}): no email address in the answers"),
            }
        }
        "note_added" => "Note added".to_owned(),
        "legal_hold_placed" => "Legal hold placed (or its reason changed)".to_owned(),
        "legal_hold_lifted" => "Legal hold lifted".to_owned(),
        "subject_access_opened" => "Subject access request opened".to_owned(),
        "subject_access_extended" => "Subject access request: time to respond extended".to_owned(),
        "subject_access_refused" => "Subject access request refused".to_owned(),
        "subject_access_released" => "Subject access request: information released".to_owned(),
        "message_to_reporter" => "Message sent to the reporter".to_owned(),
        "reporter_added_information" => "The reporter added information".to_owned(),
        "allocation" => match detail_str("worker") {
            Some(worker) => format!("Allocated to {}", name_of(worker, people)),
            None => "Allocation removed".to_owned(),
        },
        "action_done" | "action_waived" | "action_open" => format!(
            "Required action marked {}: {}",
            match kind {
                "action_done" => "done",
                "action_waived" => "waived",
                _ => "to do again",
            },
            action_label(def, detail_str("action").unwrap_or("?")),
        ),
        // A band confirmation changed what the case requires (the reason column says why).
        "action_added" => format!(
            "Required action added: {} (band confirmed as {})",
            action_label(def, detail_str("action").unwrap_or("?")),
            band_words(detail_str("band").unwrap_or("?"))
        ),
        "action_not_required" => format!(
            "No longer required: {} (band confirmed as {})",
            action_label(def, detail_str("action").unwrap_or("?")),
            band_words(detail_str("band").unwrap_or("?"))
        ),
        "onward_referral_recorded" => format!(
            "Onward referral recorded: {}",
            detail_str("kind")
                .and_then(|k| def.onward_kind(k))
                .map_or("?", |k| k.label.as_str())
        ),
        "document_copy_downloaded" => format!(
            "Kept copy of an onward referral document downloaded ({}, SHA-256 {})",
            format_words(detail_str("format").unwrap_or("?")),
            detail_str("sha256").map_or("?", |d| d.get(..16).unwrap_or(d))
        ),
        "document_exported" => match detail_str("sha256") {
            Some(digest) => format!(
                "Onward referral document downloaded ({}, SHA-256 {})",
                format_words(detail_str("format").unwrap_or("?")),
                digest.get(..16).unwrap_or(digest)
            ),
            None => format!(
                "Onward referral document downloaded ({})",
                format_words(detail_str("format").unwrap_or("?"))
            ),
        },
        other => super::casework::event_words(def, other, detail, people)
            .unwrap_or_else(|| other.replace('_', " ")),
    }
}

/// The outcomes to choose from on a transition into the service's closure state.
pub(super) fn closure_outcomes(def: &ServiceDefinition, to: &str) -> Vec<Value> {
    def.casework
        .as_ref()
        .and_then(|c| c.closure.as_ref())
        .filter(|c| c.state == to)
        .map(|c| {
            c.outcomes
                .iter()
                .map(|o| json!({ "key": o.key, "label": o.label }))
                .collect()
        })
        .unwrap_or_default()
}

/// A band in words: definitions name their bands with one word each (`high`, `very_high`),
/// shown as "High", "Very high".
pub fn band_words(band: &str) -> String {
    let words = band.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// A day as staff read it: `3 May 2026`.
pub fn day(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// The pages of a case, in the sub navigation's order: `(key, words, path after the case)`.
const TABS: [(&str, &str, &str); 8] = [
    ("summary", "Summary", ""),
    ("referral", "Referral", "/referral"),
    ("screening", "Screening and actions", "/screening"),
    ("plan", "Plan", "/plan"),
    ("meetings", "Meetings", "/meetings"),
    ("onward", "Onward referrals", "/onward-referrals"),
    ("documents", "Documents and attachments", "/documents"),
    ("chronology", "Chronology", "/chronology"),
];

/// The identity bar's facts: the young person (name, age today), the case's reference,
/// service, status, band, due date or when it was met, and its flags.
fn identity(
    case: &CaseFile,
    stages: &[StageRecord],
    may_third_party: bool,
    lone_working: bool,
) -> Value {
    let (referral, def) = (&case.referral, &case.def);
    let mut answers: Vec<&Value> = stages.iter().rev().map(|s| &s.answers).collect();
    answers.push(&referral.answers);
    let person = haven_core::young_person::young_person(def, &answers, case.today, may_third_party);
    let (name, age) = (person.name.clone(), person.age_words());
    // When the first SLA was met: the first step into a state that meets one.
    let met = case
        .chronology
        .iter()
        .filter(|e| e.kind == "transition")
        .find(|e| {
            e.to_status.as_deref().is_some_and(|to| {
                def.slas
                    .iter()
                    .any(|sla| sla.met_by.iter().any(|m| m == to))
            })
        })
        .map(|e| e.at);
    let due = match (met, referral.due_by) {
        (Some(at), _) => Some(format!(
            "Met on {}",
            day(at.with_timezone(&chrono_tz::Europe::London).date_naive())
        )),
        (None, Some(d)) if d < case.today && !crate::cases::is_closed(def, &referral.status) => {
            Some(format!("Overdue: due {}", day(d)))
        }
        (None, Some(d)) => Some(format!("Due {}", day(d))),
        (None, None) => None,
    };
    let band = match (&referral.confirmed_band, &referral.suggested_band) {
        (Some(b), _) => Some(format!("Band: {} (confirmed)", band_words(b))),
        (None, Some(b)) => Some(format!("Band: {} (suggested)", band_words(b))),
        (None, None) => None,
    };
    json!({
        "name": name.unwrap_or_else(|| "Name not known".to_owned()),
        "age": age,
        "reference": referral.reference,
        "service": def.name,
        "status": state_label(def, &referral.status),
        "band": band,
        "due": due,
        "urgent": referral.urgent,
        "lone_working": lone_working,
        "closed": crate::cases::is_closed(def, &referral.status),
    })
}

/// What every page of a case shows around its content: the layout's chrome, the identity
/// bar, the sub navigation (`active` names the page; `None` on a form page) and whether the
/// case is closed.
pub async fn frame(
    state: &AppState,
    session: &CurrentSession,
    case: &CaseFile,
    active: Option<&str>,
) -> Result<Map<String, Value>, StaffError> {
    let staff = session.staff();
    let (referral, def) = (&case.referral, &case.def);
    let may_third_party = may(state, &staff, referral, Action::ViewThirdParty);
    let stages = state.storage.referral_stages(&referral.id).await?;
    let concerns = state.cases().concerns_for(&staff, referral, def).await?;
    let base = format!("/staff/cases/{}", referral.reference);
    let plan_label = def
        .casework
        .as_ref()
        .and_then(|c| c.plan_label.clone())
        .unwrap_or_else(|| "Plan".to_owned());
    let tabs: Vec<Value> = TABS
        .iter()
        .filter(|(key, _, _)| match *key {
            "plan" | "meetings" => def.casework.is_some(),
            "onward" => !def.onward_referrals.is_empty() || !case.onward.is_empty(),
            _ => true,
        })
        .map(|(key, text, path)| {
            json!({
                "text": if *key == "plan" { plan_label.as_str() } else { text },
                "href": format!("{base}{path}"),
                "active": active == Some(key),
            })
        })
        .collect();
    let mut map = super::render::chrome(state, session);
    let mut bar = identity(case, &stages, may_third_party, !concerns.is_empty());
    // The "known elsewhere" alert (issue 16): only for roles with `see_known_elsewhere`.
    let alerted = crate::cases::people::alerted(
        &state.cases(),
        &staff,
        &[(
            referral.reference.as_str(),
            referral.service.as_str(),
            referral.team.as_str(),
        )],
    )
    .await?;
    if let Value::Object(bar) = &mut bar {
        bar.insert(
            "known_elsewhere".to_owned(),
            json!(alerted.contains(&referral.reference)),
        );
    }
    map.insert("identity".to_owned(), bar);
    map.insert("tabs".to_owned(), json!(tabs));
    map.insert("base".to_owned(), json!(base));
    map.insert("reference".to_owned(), json!(referral.reference));
    map.insert(
        "closed".to_owned(),
        json!(crate::cases::is_closed(def, &referral.status)),
    );
    map.insert("lone_working".to_owned(), json!(concerns));
    map.insert("plan_label".to_owned(), json!(plan_label));
    Ok(map)
}

/// The workflow's next steps this member of staff may take (a reopen of a closed case
/// included, where the definition has one).
pub(super) fn transitions(state: &AppState, staff: &Staff, case: &CaseFile) -> Vec<Value> {
    let (referral, def) = (&case.referral, &case.def);
    if !may(state, staff, referral, Action::Transition) {
        return Vec::new();
    }
    haven_core::workflow::available_transitions(def, &referral.status, staff.role.as_str())
        .into_iter()
        .map(|t| {
            json!({
                "to": t.to, "label": t.label, "reason_required": t.reason_required, "reopen": t.reopen,
                "outcomes": closure_outcomes(def, &t.to),
                "shared_for": t.decisions.iter().filter(|d| t.shares_reason(Some(&d.key))).map(|d| d.label.clone()).collect::<Vec<_>>(),
                "sends_link": t.invite_stage.is_some(),
                // Decisions after which the case sends the referrer a link by itself.
                "link_for": t.decisions.iter()
                    .filter(|d| haven_core::workflow::made_after_decision(def, &t.to, &d.key)
                        .is_some_and(|after| after.invite_stage.is_some()))
                    .map(|d| d.label.clone()).collect::<Vec<_>>(),
                "decisions": t.decisions.iter().map(|d| json!({"key": d.key, "label": d.label})).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// Staff names (the display name, else the email) by account id and by email, for "who"
/// columns ([`who`]) and for allocations and plan owners, which are stored as emails
/// ([`name_of`]). Ids never contain `@`, so the two never meet.
pub(super) async fn people(state: &AppState) -> Result<HashMap<String, String>, StaffError> {
    Ok(state
        .storage
        .all_staff()
        .await?
        .into_iter()
        .flat_map(|u| {
            let name = u.name().to_owned();
            [(u.id, name.clone()), (u.email, name)]
        })
        .collect())
}

/// The name of the member of staff with this email (the email itself for an account
/// without a display name, or one no longer there).
pub(super) fn name_of(email: &str, people: &HashMap<String, String>) -> String {
    people
        .get(email)
        .cloned()
        .unwrap_or_else(|| email.to_owned())
}

/// The required actions with who marked them, in words.
fn required_actions(case: &CaseFile, people: &HashMap<String, String>) -> Vec<Value> {
    case.required_actions()
        .iter()
        .map(|a| {
            json!({
                "key": a.key, "label": a.label, "reason": a.reason, "status": a.status,
                "by": a.by.as_deref().map(|b| who(b, people)),
            })
        })
        .collect()
}

/// What the closed banner of the summary says a closed case still allows, exactly as the
/// workflow has it: the reopen steps this person may take (`reopen`, their labels), else who
/// may reopen it (`reopen_by`, roles in words), else that it cannot be reopened; and any
/// other step the workflow still offers from the state (`others`). `None` when the case is
/// not closed.
fn closed_words(def: &ServiceDefinition, status: &str, steps: &[Value]) -> Option<Value> {
    if !crate::cases::is_closed(def, status) {
        return None;
    }
    let label = |t: &Value| {
        t.get("label")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let is_reopen = |t: &Value| t.get("reopen").and_then(Value::as_bool) == Some(true);
    let reopen: Vec<String> = steps.iter().filter(|t| is_reopen(t)).map(label).collect();
    let others: Vec<String> = steps.iter().filter(|t| !is_reopen(t)).map(label).collect();
    // Who the workflow lets reopen it, when this person may not: "A triage officer or
    // manager".
    let mut roles: Vec<String> = Vec::new();
    let reopens_here = def
        .workflow
        .iter()
        .flat_map(|w| w.transitions.iter())
        .filter(|t| t.reopen && t.from.iter().any(|f| f == status));
    for role in reopens_here.flat_map(|t| t.roles.iter()) {
        if let Ok(role) = role.parse::<haven_core::role::Role>() {
            let words = role.label().to_lowercase();
            if !roles.contains(&words) {
                roles.push(words);
            }
        }
    }
    let reopen_by = (reopen.is_empty() && !roles.is_empty()).then(|| {
        let joined = roles.join(" or ");
        let article = if joined.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "An"
        } else {
            "A"
        };
        format!("{article} {joined}")
    });
    Some(json!({ "reopen": reopen, "reopen_by": reopen_by, "others": others }))
}

/// The case summary (`GET /staff/cases/{reference}`): the identity bar, the case's actions
/// as a button menu, the key facts, the required actions in brief, notes and messages.
async fn summary(
    state: &AppState,
    session: &CurrentSession,
    case: &CaseFile,
) -> Result<Value, StaffError> {
    let staff = session.staff();
    let (referral, def) = (&case.referral, &case.def);
    let people = people(state).await?;
    let notes = state.storage.notes(&referral.id).await?;
    let messages = state.storage.messages(&referral.id).await?;
    let may_third_party = may(state, &staff, referral, Action::ViewThirdParty);
    let reported_by = haven_core::reporter::reported_by(
        def,
        &referral.audience,
        &if may_third_party {
            referral.answers.clone()
        } else {
            without_third_party(def, &referral.stage, &referral.answers)
        },
    );
    let base = format!("/staff/cases/{}", referral.reference);
    let bands = def.screening.as_ref().is_some_and(|s| !s.bands.is_empty());
    let mut menu: Vec<Value> = Vec::new();
    let mut item = |text: String, href: String| menu.push(json!({ "text": text, "href": href }));
    if bands && referral.screening.is_some() && may(state, &staff, referral, Action::ConfirmBand) {
        item("Confirm band".to_owned(), format!("{base}/band"));
    }
    let steps = transitions(state, &staff, case);
    let closed = closed_words(def, &referral.status, &steps);
    for t in steps {
        let to = t.get("to").and_then(Value::as_str).unwrap_or_default();
        let label = t.get("label").and_then(Value::as_str).unwrap_or_default();
        item(label.to_owned(), format!("{base}/transitions/{to}"));
    }
    if may(state, &staff, referral, Action::Allocate) {
        let words = if referral.assignee.is_some() {
            "Change the worker"
        } else {
            "Choose a worker"
        };
        item(words.to_owned(), format!("{base}/allocation"));
    }
    if def.casework.is_some() && may(state, &staff, referral, Action::Casework) {
        item(
            "Record a meeting".to_owned(),
            format!("{base}/meetings/new"),
        );
    }
    if may(state, &staff, referral, Action::AddNote) {
        item("Add a note".to_owned(), format!("{base}/notes/new"));
    }
    if may(state, &staff, referral, Action::MessageReporter) {
        item(
            "Message the reporter".to_owned(),
            format!("{base}/messages/new"),
        );
    }
    if may(state, &staff, referral, Action::PrintForFamily) {
        item("Family copy".to_owned(), format!("{base}/family"));
    }
    if may(state, &staff, referral, Action::LegalHold) {
        item("Legal hold".to_owned(), format!("{base}/legal-hold"));
    }
    if may(state, &staff, referral, Action::SubjectAccess) {
        item(
            "Subject access request".to_owned(),
            format!("{base}/subject-access"),
        );
    }
    let actions = required_actions(case, &people);
    let open = actions
        .iter()
        .filter(|a| a.get("status").and_then(Value::as_str) == Some("open"))
        .count();
    let (_, casework) = super::casework::case_section(state, &staff, referral, def).await?;
    let linked = super::people::panel(state, session, referral).await?;
    Ok(json!({
        "people": linked,
        "menu": menu,
        "closed_words": closed,
        "case": {
            "status": state_label(def, &referral.status),
            "received": when(referral.received_at),
            "assignee": referral.assignee.as_deref().map(|a| name_of(a, &people)),
            "suggested_band": referral.suggested_band.as_deref().map(band_words),
            "confirmed_band": referral.confirmed_band.as_deref().map(band_words),
            "screened": referral.screening.is_some(),
        },
        "required_actions": actions,
        "open_actions": open,
        "reported_by": reported_by,
        "casework": casework,
        "notes": notes.iter().map(|n| json!({ "who": who(&n.author, &people), "at": when(n.created_at), "body": n.body })).collect::<Vec<_>>(),
        "messages": messages.iter().map(|m| json!({
            "from_reporter": m.direction == Direction::FromReporter,
            "who": who(&m.author, &people), "at": when(m.created_at), "body": m.body,
        })).collect::<Vec<_>>(),
    }))
}

/// The referral's answers, each stage in turn (`/referral`).
async fn referral_answers(
    state: &AppState,
    session: &CurrentSession,
    case: &CaseFile,
) -> Result<Value, StaffError> {
    let staff = session.staff();
    let (referral, def) = (&case.referral, &case.def);
    let may_third_party = may(state, &staff, referral, Action::ViewThirdParty);
    let laid = lay_out(def, &referral.stage, &referral.answers);
    let reported_by = haven_core::reporter::reported_by(
        def,
        &referral.audience,
        &if may_third_party {
            referral.answers.clone()
        } else {
            without_third_party(def, &referral.stage, &referral.answers)
        },
    );
    let later_stages: Vec<Value> = state
        .storage
        .referral_stages(&referral.id)
        .await?
        .iter()
        .map(|st| {
            let laid = lay_out(def, &st.stage, &st.answers);
            json!({
                "key": st.stage,
                "label": def.stage(&st.stage).map_or(st.stage.as_str(), |s| s.label.as_str()),
                "received": when(st.received_at),
                "sections": laid.sections,
                "third_party": if may_third_party { json!(laid.third_party) } else { json!([]) },
                "third_party_hidden": !may_third_party && !laid.third_party.is_empty(),
            })
        })
        .collect();
    Ok(json!({
        "reported_by": reported_by,
        "sections": laid.sections,
        "received": when(referral.received_at),
        "first_stage": def.stage(&referral.stage).map_or(referral.stage.as_str(), |s| s.label.as_str()),
        "later_stages": later_stages,
        "third_party": if may_third_party { json!(laid.third_party) } else { json!([]) },
        "third_party_hidden": !may_third_party && !laid.third_party.is_empty(),
    }))
}

/// Screening and the required actions (`/screening`).
async fn screening(
    state: &AppState,
    session: &CurrentSession,
    case: &CaseFile,
) -> Result<Value, StaffError> {
    let staff = session.staff();
    let referral = &case.referral;
    let people = people(state).await?;
    let screening = referral.screening.as_ref();
    let bands = case
        .def
        .screening
        .as_ref()
        .is_some_and(|s| !s.bands.is_empty());
    Ok(json!({
        "screening": screening.map(|s| json!({
            "eligible": s.get("eligible"),
            "suggested_band": referral.suggested_band.as_deref().map(band_words),
            "confirmed_band": referral.confirmed_band.as_deref().map(band_words),
            "reasons": s.get("reasons"),
        })),
        "required_actions": required_actions(case, &people),
        "may": {
            "confirm_band": bands && may(state, &staff, referral, Action::ConfirmBand),
            "complete_action": may(state, &staff, referral, Action::CompleteAction),
        },
    }))
}

/// Every attachment of every stage (`/documents`): file name, type, size and the question
/// it answers; files of a third-party question only for a role that may see them.
async fn documents(
    state: &AppState,
    session: &CurrentSession,
    case: &CaseFile,
) -> Result<Value, StaffError> {
    let staff = session.staff();
    let (referral, def) = (&case.referral, &case.def);
    let may_third_party = may(state, &staff, referral, Action::ViewThirdParty);
    let mut hidden = 0_usize;
    let mut files = Vec::new();
    for file in state.storage.referral_attachments(&referral.id).await? {
        let question = def.questions().find(|(_, _, q)| q.key == file.question);
        if question.is_some_and(|(_, _, q)| q.data_class == DataClass::ThirdParty)
            && !may_third_party
        {
            hidden += 1;
            continue;
        }
        files.push(json!({
            "href": format!("/staff/cases/{}/attachments/{}", referral.reference, file.id),
            "name": file.filename,
            "kind": media_words(&file.media_type),
            "size": size_words(file.size_bytes),
            "question": question.map_or_else(|| "A question no longer asked".to_owned(), |(_, _, q)| q.label.clone()),
            "stage": question.map(|(s, _, _)| s.label.clone()),
            "third_party": question.is_some_and(|(_, _, q)| q.data_class == DataClass::ThirdParty),
        }));
    }
    Ok(json!({ "files": files, "hidden": hidden }))
}

/// A file's type as people say it.
pub fn media_words(media_type: &str) -> String {
    match media_type {
        "application/pdf" => "PDF document".to_owned(),
        "image/jpeg" => "JPEG image".to_owned(),
        "image/png" => "PNG image".to_owned(),
        "image/gif" => "GIF image".to_owned(),
        "image/webp" => "WebP image".to_owned(),
        "image/heic" => "HEIC image".to_owned(),
        "text/plain" => "Text file".to_owned(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            "Word document".to_owned()
        }
        "application/msword" => "Word document (old format)".to_owned(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
            "Excel spreadsheet".to_owned()
        }
        "application/vnd.oasis.opendocument.text" => "OpenDocument text".to_owned(),
        other => match other.split_once('/') {
            Some(("image", _)) => "Image".to_owned(),
            Some(("video", _)) => "Video".to_owned(),
            Some(("audio", _)) => "Audio".to_owned(),
            _ => "File".to_owned(),
        },
    }
}

/// A size as people say it: "850 bytes", "12 KB", "3.4 MB".
pub fn size_words(bytes: i64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes.max(0) as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    }
}

/// The chronology as an MOJ timeline, newest first (`/chronology`): with the events of every
/// case confirmed as about the same young person (same team, one the user may open), each
/// labelled with its case, unless `only_this` ("this case only").
async fn chronology(
    state: &AppState,
    session: &CurrentSession,
    case: &CaseFile,
    only_this: bool,
) -> Result<Value, StaffError> {
    let people = people(state).await?;
    let staff = session.staff();
    let found = crate::cases::people::linked_chronology(
        &state.cases(),
        &staff,
        &case.referral,
        &case.chronology,
        !only_this,
        state.now(),
    )
    .await?;
    let combined = !only_this && !found.linked.is_empty();
    let items: Vec<Value> = found
        .events
        .iter()
        .rev()
        .map(|l| {
            let e = &l.entry;
            let def = if l.own {
                &case.def
            } else {
                state.registry.get(&l.service).unwrap_or(&case.def)
            };
            json!({
                "label": event_words(def, &e.kind, (e.from_status.as_deref(), e.to_status.as_deref()), e.detail.as_ref(), &people),
                "byline": who(&e.actor, &people),
                "datetime": e.at.to_rfc3339(),
                "date": when(e.at),
                "text": e.reason,
                "case": combined.then(|| json!({ "reference": l.reference, "own": l.own })),
            })
        })
        .collect();
    Ok(json!({
        "events": items,
        "linked": found.linked,
        "combined": combined,
        "only_this": only_this,
    }))
}

/// Renders one page of a case: `tab` is one of [`TABS`]' keys (the plan has its own page).
pub async fn tab_page(
    state: &AppState,
    session: &CurrentSession,
    case: &CaseFile,
    tab: &str,
) -> Result<Response, StaffError> {
    tab_page_with(state, session, case, tab, false).await
}

/// [`tab_page`]; `only_this` narrows the chronology to this case's own events.
async fn tab_page_with(
    state: &AppState,
    session: &CurrentSession,
    case: &CaseFile,
    tab: &str,
    only_this: bool,
) -> Result<Response, StaffError> {
    let mut context = frame(state, session, case, Some(tab)).await?;
    let staff = session.staff();
    let (content, template, title) = match tab {
        "referral" => (
            referral_answers(state, session, case).await?,
            "case_referral.html",
            "Referral",
        ),
        "screening" => (
            screening(state, session, case).await?,
            "case_screening.html",
            "Screening and actions",
        ),
        "meetings" => {
            let (_, casework) =
                super::casework::case_section(state, &staff, &case.referral, &case.def).await?;
            (
                json!({ "casework": casework }),
                "case_meetings.html",
                "Meetings",
            )
        }
        "onward" => {
            let onward = super::onward::section(
                state,
                case,
                may(state, &staff, &case.referral, Action::RecordOnwardReferral),
                may(state, &staff, &case.referral, Action::ExportDocument),
                case.today,
            )
            .await?;
            (
                json!({ "onward": onward }),
                "case_onward.html",
                "Onward referrals",
            )
        }
        "documents" => (
            documents(state, session, case).await?,
            "case_documents.html",
            "Documents and attachments",
        ),
        "chronology" => (
            chronology(state, session, case, only_this).await?,
            "case_chronology.html",
            "Chronology",
        ),
        _ => (summary(state, session, case).await?, "case.html", "Summary"),
    };
    if let Value::Object(content) = content {
        context.extend(content);
    }
    context.insert(
        "title".to_owned(),
        json!(format!("{title} – case {}", case.referral.reference)),
    );
    context.insert("heading".to_owned(), json!(title));
    Ok(page(StatusCode::OK, template, Value::Object(context)))
}

/// Opens a case for one of its pages: the policy check, then a view in the audit log (and
/// the referrer's new information marked seen, `Storage::record_case_view`).
async fn view(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
) -> Result<CaseFile, StaffError> {
    let staff = session.staff();
    let case = load_file(state, &staff, reference, Action::ViewCase).await?;
    state
        .storage
        .record_case_view(
            state.now(),
            &staff.actor(),
            &case.referral.id,
            staff.role.works_cases(),
        )
        .await?;
    Ok(case)
}

macro_rules! tab_handler {
    ($(#[$doc:meta])* $name:ident, $tab:literal) => {
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            SignedIn(session): SignedIn,
            Path(reference): Path<String>,
        ) -> Result<Response, StaffError> {
            let case = view(&state, &session, &reference).await?;
            tab_page(&state, &session, &case, $tab).await
        }
    };
}

tab_handler!(
    /// `GET /staff/cases/{reference}`: the summary.
    show, "summary"
);
tab_handler!(
    /// `GET /staff/cases/{reference}/referral`: every stage's answers.
    referral, "referral"
);
tab_handler!(
    /// `GET /staff/cases/{reference}/screening`: screening and required actions.
    screening_page, "screening"
);
tab_handler!(
    /// `GET /staff/cases/{reference}/meetings`: the meetings recorded.
    meetings, "meetings"
);
tab_handler!(
    /// `GET /staff/cases/{reference}/onward-referrals`: onward referrals and their documents.
    onward_referrals, "onward"
);
tab_handler!(
    /// `GET /staff/cases/{reference}/documents`: every attachment of every stage.
    documents_page, "documents"
);
/// `GET /staff/cases/{reference}/chronology`: everything that happened, as a timeline, with
/// the events of the cases confirmed as the same young person (`?only=this`: this case's).
pub async fn chronology_page(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, StaffError> {
    // Read by hand: nothing else in the address changes the page, and nothing is refused.
    let only_this = query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|pair| pair == "only=this"));
    let case = view(&state, &session, &reference).await?;
    tab_page_with(&state, &session, &case, "chronology", only_this).await
}

/// `GET /staff/cases/{reference}/family`: what may be shared with the young person or
/// family — only the answers the definition's `[family_copy]` allows (never third-party
/// information, nor whether it was given), the status in plain words
/// and the team's messages. No notes, screening reasons or staff names.
pub async fn family_copy(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let (referral, def) = load(&state, &staff, &reference, Action::PrintForFamily).await?;
    // An export: the copy is printed or saved and leaves Haven.
    let entry = AuditEntry::export(state.now(), staff.actor(), &referral.id, "family_copy");
    state.storage.append_audit(&entry).await?;
    // Only what the definition allows the family to see (`[family_copy] questions`, an
    // allow-list without any third-party question); nothing at all without one.
    let allowed = def
        .family_copy
        .as_ref()
        .map(|f| f.questions.as_slice())
        .unwrap_or_default();
    let answers = only_allowed(&def, &referral.stage, &referral.answers, allowed);
    let laid = lay_out(&def, &referral.stage, &answers);
    let public_status = def
        .workflow
        .as_ref()
        .and_then(|w| w.states.iter().find(|s| s.key == referral.status))
        .map(|s| s.public_label.clone());
    let mut context = super::render::chrome(&state, &session);
    context.extend(
        json!({
            "title": format!("Family copy of {}", referral.reference),
            "reference": referral.reference,
            "service": def.name,
            "status": public_status,
            "sections": laid.sections,
            "reported_by": haven_core::reporter::reported_by(&def, &referral.audience, &answers),
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    );
    Ok(page(StatusCode::OK, "family.html", Value::Object(context)))
}
