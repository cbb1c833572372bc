//! The case file (`GET /staff/cases/{reference}`) and the family copy
//! (`GET /staff/cases/{reference}/family`, never any third-party information).
//!
//! Every view is an audit entry before the page is sent; the family copy, which is printed
//! or saved and so leaves Haven, is an export (`case.exported`, reason `family_copy`).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use haven_core::definition::ServiceDefinition;
use serde_json::{Value, json};

use super::answers::lay_out;
use super::error::StaffError;
use super::render::page;
use super::session::{CurrentSession, SignedIn};
use crate::access::Staff;
use crate::cases::CaseFile;
use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::storage::casework::Direction;
use crate::storage::referrals::Referral;
use crate::storage::users::StaffUser;
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

fn event_words(
    def: &ServiceDefinition,
    kind: &str,
    from: Option<&str>,
    to: Option<&str>,
    detail: Option<&Value>,
) -> String {
    let detail_str = |k: &str| detail.and_then(|d| d.get(k)).and_then(Value::as_str);
    match kind {
        "received" => "Referral received".to_owned(),
        "transition" => format!(
            "Moved from {} to {}{}",
            state_label(def, from.unwrap_or("?")),
            state_label(def, to.unwrap_or("?")),
            detail_str("decision").map_or_else(String::new, |d| format!(" (decision: {d})"))
        ),
        "band_confirmed" => format!("Band set to {}", detail_str("band").unwrap_or("?")),
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
        "message_to_reporter" => "Message sent to the reporter".to_owned(),
        "reporter_added_information" => "The reporter added information".to_owned(),
        "allocation" => match detail_str("worker") {
            Some(worker) => format!("Allocated to {worker}"),
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
            detail_str("band").unwrap_or("?")
        ),
        "action_not_required" => format!(
            "No longer required: {} (band confirmed as {})",
            action_label(def, detail_str("action").unwrap_or("?")),
            detail_str("band").unwrap_or("?")
        ),
        "onward_referral_recorded" => format!(
            "Onward referral recorded: {}",
            detail_str("kind")
                .and_then(|k| def.onward_kind(k))
                .map_or("?", |k| k.label.as_str())
        ),
        "document_copy_downloaded" => format!(
            "Kept copy of an onward referral document downloaded ({}, SHA-256 {})",
            detail_str("format").unwrap_or("?"),
            detail_str("sha256").map_or("?", |d| d.get(..16).unwrap_or(d))
        ),
        "document_exported" => match detail_str("sha256") {
            Some(digest) => format!(
                "Onward referral document downloaded ({}, SHA-256 {})",
                detail_str("format").unwrap_or("?"),
                digest.get(..16).unwrap_or(digest)
            ),
            None => format!(
                "Onward referral document downloaded ({})",
                detail_str("format").unwrap_or("?")
            ),
        },
        other => super::casework::event_words(def, other, detail)
            .unwrap_or_else(|| other.replace('_', " ")),
    }
}

/// The outcomes to choose from on a transition into the service's closure state.
fn closure_outcomes(def: &ServiceDefinition, to: &str) -> Vec<Value> {
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

/// Renders the case file for `session`'s member of staff, with `errors` from a refused
/// action (`status` 422 then).
pub async fn case_page(
    state: &AppState,
    session: &CurrentSession,
    referral: &Referral,
    def: &ServiceDefinition,
    errors: &[(&str, String)],
    status: StatusCode,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let now = state.now();
    let case = state
        .cases()
        .file_of(referral.clone(), def.clone(), now)
        .await?;
    let chronology = &case.chronology;
    let notes = state.storage.notes(&referral.id).await?;
    let messages = state.storage.messages(&referral.id).await?;
    let users: Vec<StaffUser> = state.storage.all_staff().await?;
    let people: HashMap<String, String> = users
        .iter()
        .map(|u| (u.id.clone(), u.email.clone()))
        .collect();
    let required_actions: Vec<Value> = case
        .required_actions()
        .iter()
        .map(|a| {
            json!({
                "key": a.key, "label": a.label, "reason": a.reason, "status": a.status,
                "by": a.by.as_deref().map(|b| who(b, &people)), "at": a.at,
            })
        })
        .collect();
    let may_third_party = may(state, &staff, referral, Action::ViewThirdParty);
    let laid = lay_out(def, &referral.stage, &referral.answers);
    // Contact wishes from what this role may see (never a third party's words).
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
    let transitions: Vec<Value> = if may(state, &staff, referral, Action::Transition) {
        haven_core::workflow::available_transitions(def, &referral.status, staff.role.as_str())
            .into_iter()
            .map(|t| {
                json!({
                    "to": t.to, "label": t.label, "reason_required": t.reason_required,
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
    } else {
        Vec::new()
    };
    let members: Vec<Value> = users
        .iter()
        .filter(|u| u.works_cases_of(&referral.team))
        .map(|u| json!({ "email": u.email, "selected": referral.assignee.as_deref() == Some(u.email.as_str()) }))
        .collect();
    let bands = def
        .screening
        .as_ref()
        .map(|s| s.bands.clone())
        .unwrap_or_default();
    let screening = referral.screening.as_ref();
    let errors: Vec<Value> = errors
        .iter()
        .map(|(field, text)| json!({ "field": field, "text": text }))
        .collect();
    let (lone_working, casework) =
        super::casework::case_section(state, &staff, referral, def).await?;
    let context = json!({
        "title": format!("Case {}", referral.reference),
        "lone_working": lone_working,
        "casework": casework,
        "csrf": session.csrf,
        "signed_in": true,
        "email": staff.email,
        "errors": errors,
        "case": {
            "reference": referral.reference,
            "service": def.name,
            "status": state_label(def, &referral.status),
            "received": when(referral.received_at),
            "due_by": referral.due_by.map(|d| d.format("%-d %B %Y").to_string()),
            "urgent": referral.urgent,
            "assignee": referral.assignee,
        },
        "screening": screening.map(|s| json!({
            "eligible": s.get("eligible"),
            "in_scope": s.get("in_scope"),
            "suggested_band": referral.suggested_band,
            "confirmed_band": referral.confirmed_band,
            "reasons": s.get("reasons"),
        })),
        "required_actions": required_actions,
        "action_mode": case.allocation_mode(),
        "bands": bands,
        "may": {
            "confirm_band": may(state, &staff, referral, Action::ConfirmBand) && !bands.is_empty(),
            "add_note": may(state, &staff, referral, Action::AddNote),
            "complete_action": may(state, &staff, referral, Action::CompleteAction),
            "allocate": may(state, &staff, referral, Action::Allocate),
            "message_reporter": may(state, &staff, referral, Action::MessageReporter),
            "print_for_family": may(state, &staff, referral, Action::PrintForFamily),
            "view_third_party": may_third_party,
        },
        "transitions": transitions,
        "reported_by": reported_by,
        "sections": laid.sections,
        "first_stage": def.stage(&referral.stage).map_or(referral.stage.as_str(), |s| s.label.as_str()),
        "later_stages": later_stages,
        "third_party": if may_third_party { json!(laid.third_party) } else { json!([]) },
        "third_party_hidden": !may_third_party && !laid.third_party.is_empty(),
        "notes": notes.iter().map(|n| json!({ "who": who(&n.author, &people), "at": when(n.created_at), "body": n.body })).collect::<Vec<_>>(),
        "messages": messages.iter().map(|m| json!({
            "from_reporter": m.direction == Direction::FromReporter,
            "who": who(&m.author, &people), "at": when(m.created_at), "body": m.body,
        })).collect::<Vec<_>>(),
        "members": members,
        "chronology": chronology.iter().map(|e| json!({
            "at": when(e.at),
            "who": who(&e.actor, &people),
            "what": event_words(def, &e.kind, e.from_status.as_deref(), e.to_status.as_deref(), e.detail.as_ref()),
            "reason": e.reason,
        })).collect::<Vec<_>>(),
    });
    let mut context = context;
    let onward = super::onward::section(
        state,
        &case,
        may(state, &staff, referral, Action::RecordOnwardReferral),
        may(state, &staff, referral, Action::ExportDocument),
        case.today,
    )
    .await?;
    if let Some(map) = context.as_object_mut() {
        map.insert("onward".to_owned(), onward);
    }
    Ok(page(status, "case.html", context))
}

/// `GET /staff/cases/{reference}`.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let (referral, def) = load(&state, &staff, &reference, Action::ViewCase).await?;
    state
        .storage
        .record_case_view(
            state.now(),
            &staff.actor(),
            &referral.id,
            staff.role.works_cases(),
        )
        .await?;
    case_page(&state, &session, &referral, &def, &[], StatusCode::OK).await
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
    Ok(page(
        StatusCode::OK,
        "family.html",
        json!({
            "title": format!("Family copy of {}", referral.reference),
            "csrf": session.csrf,
            "signed_in": true,
            "email": staff.email,
            "reference": referral.reference,
            "service": def.name,
            "status": public_status,
            "sections": laid.sections,
            "reported_by": haven_core::reporter::reported_by(&def, &referral.audience, &answers),
        }),
    ))
}
