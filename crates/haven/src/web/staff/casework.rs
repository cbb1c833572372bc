//! Casework pages: recording a meeting (`/staff/cases/{reference}/meetings/new`, with the
//! referral's lone-working concerns shown first), the plan (`/staff/cases/{reference}/plan`:
//! goals, actions with owners and due dates, reviews), and the case page's casework section.
//! Forms check the CSRF token, then the policy (`casework`), then their input; a refused
//! input shows the page again with an error summary naming each field (422).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::calendar;
use haven_core::casework::{self, MeetingInput};
use haven_core::definition::ServiceDefinition;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::case::{load, may, when, who};
use super::error::StaffError;
use super::render::page;
use super::session::{CurrentSession, SignedIn};
use crate::access::Staff;
use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::storage::meetings::NewMeeting;
use crate::storage::plans::{NewPlanAction, NewReview};
use crate::storage::referrals::Referral;
use crate::web::AppState;
use crate::web::api::meetings::{case_concerns, concerns_for};
use crate::web::api::plans::{check_action_change, is_team_worker, plan_view};
use haven_core::casework::{CheckedReview, check_review, date, required_text};

/// Every casework form's fields (each form sends the ones it has).
#[derive(Deserialize, Serialize, Default)]
pub struct CaseworkForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    place_details: String,
    #[serde(default)]
    attendees: String,
    #[serde(default)]
    informal: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    lone_working_read: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    goal_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reviewed_on: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    next_review_on: String,
}

fn some(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

fn errors_json(errors: &[(String, String)]) -> Vec<Value> {
    errors
        .iter()
        .map(|(field, text)| json!({ "field": field, "text": text }))
        .collect()
}

fn plan_label(def: &ServiceDefinition) -> String {
    def.casework
        .as_ref()
        .and_then(|c| c.plan_label.clone())
        .unwrap_or_else(|| "Plan".to_owned())
}

fn option_label(list: &[haven_core::definition::casework::MeetingOption], key: &str) -> String {
    list.iter()
        .find(|o| o.key == key)
        .map_or_else(|| key.to_owned(), |o| o.label.clone())
}

async fn people(state: &AppState) -> Result<HashMap<String, String>, StaffError> {
    Ok(state
        .storage
        .all_staff()
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect())
}

/// The emails of the active workers of `team` (who may own plan actions).
async fn team_workers(state: &AppState, team: &str) -> Result<Vec<String>, StaffError> {
    Ok(state
        .storage
        .all_staff()
        .await?
        .into_iter()
        .filter(|u| u.works_cases_of(team))
        .map(|u| u.email)
        .collect())
}

async fn audit(
    state: &AppState,
    staff: &Staff,
    action: &str,
    referral: &Referral,
) -> Result<(), StaffError> {
    let entry = AuditEntry::new(
        state.staff.clock.now(),
        staff.actor(),
        action,
        "referral",
        &referral.id,
    );
    state.storage.append_audit(&entry).await?;
    Ok(())
}

/// What the case page shows of the casework: `(lone_working, casework)` template values.
pub async fn case_section(
    state: &AppState,
    staff: &Staff,
    referral: &Referral,
    def: &ServiceDefinition,
) -> Result<(Value, Value), StaffError> {
    let lone_working = json!(concerns_for(state, staff, referral, def).await?);
    let Some(rules) = &def.casework else {
        return Ok((lone_working, Value::Null));
    };
    let meetings = state.storage.meetings(&referral.id).await?;
    let today = calendar::london_date(state.staff.clock.now());
    let counts = state.storage.casework_counts(&referral.id, today).await?;
    let plan = state.storage.plan(&referral.id).await?;
    let closure = state.storage.closure(&referral.id).await?;
    let view = plan_view(def, plan, closure, today);
    let casework = json!({
        "plan_label": plan_label(def),
        "may_edit": may(state, staff, referral, Action::Casework),
        "meetings": meetings.iter().map(|m| json!({
            "when": format!("{} {}", m.date.format("%-d %B %Y"), m.time),
            "kind": option_label(&rules.meeting_kinds, &m.kind),
            "place": option_label(&rules.meeting_places, &m.place),
            "place_details": m.place_details, "attendees": m.attendees, "notes": m.notes,
            "informal": m.informal, "lone_working_confirmed": m.lone_working_confirmed,
        })).collect::<Vec<_>>(),
        "goals": counts.goals,
        "open_actions": counts.open_actions,
        "overdue_actions": counts.overdue_actions,
        "reviews": counts.reviews,
        "next_review": view.next_review_on,
        "closure": view.closure,
    });
    Ok((lone_working, casework))
}

/// The casework events of the chronology, in words (`None` for other kinds).
pub fn event_words(def: &ServiceDefinition, kind: &str, detail: Option<&Value>) -> Option<String> {
    let text = |k: &str| detail.and_then(|d| d.get(k)).and_then(Value::as_str);
    let rules = def.casework.clone().unwrap_or_default();
    Some(match kind {
        "meeting_recorded" => format!(
            "Meeting recorded: {} on {} {}",
            option_label(&rules.meeting_kinds, text("kind").unwrap_or("?")),
            text("date").unwrap_or("?"),
            text("time").unwrap_or("")
        ),
        "lone_working_read" => {
            "Lone-working concerns read before recording a home visit".to_owned()
        }
        "plan_goal_added" => "Plan goal added".to_owned(),
        "plan_action_added" => format!(
            "Plan action added for {}, due {}",
            text("owner").unwrap_or("?"),
            text("due_on").unwrap_or("?")
        ),
        "plan_action_changed" => match (text("owner"), text("due_on")) {
            (Some(owner), Some(due)) => format!("Plan action given to {owner}, now due {due}"),
            (Some(owner), None) => format!("Plan action given to {owner}"),
            (None, Some(due)) => format!("Plan action now due {due}"),
            (None, None) => "Plan action changed".to_owned(),
        },
        "plan_action_done" => "Plan action marked done".to_owned(),
        "plan_action_reopened" => "Plan action marked not done".to_owned(),
        "plan_reviewed" => format!("Plan reviewed on {}", text("reviewed_on").unwrap_or("?")),
        "closure_outcome" => {
            let key = text("outcome").unwrap_or("?");
            let label = rules
                .closure
                .as_ref()
                .and_then(|c| c.outcomes.iter().find(|o| o.key == key))
                .map_or(key, |o| o.label.as_str());
            format!("Closed with the outcome: {label}")
        }
        _ => return None,
    })
}

async fn meeting_page(
    state: &AppState,
    session: &CurrentSession,
    referral: &Referral,
    def: &ServiceDefinition,
    form: &CaseworkForm,
    errors: &[(String, String)],
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let rules = def.casework.clone().unwrap_or_default();
    let lone_working = concerns_for(state, &staff, referral, def).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(page(
        status,
        "meeting.html",
        json!({
            "title": format!("Record a meeting – case {}", referral.reference),
            "csrf": session.csrf,
            "signed_in": true,
            "email": staff.email,
            "errors": errors_json(errors),
            "reference": referral.reference,
            "lone_working": lone_working,
            "kinds": rules.meeting_kinds.iter().map(|k| json!({"key": k.key, "label": k.label})).collect::<Vec<_>>(),
            "places": rules.meeting_places.iter().map(|p| json!({"key": p.key, "label": p.label, "home_visit": p.home_visit})).collect::<Vec<_>>(),
            "informal_label": rules.informal_meetings,
            "form": form,
        }),
    ))
}

/// `GET /staff/cases/{reference}/meetings/new`.
pub async fn new_meeting(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let (referral, def) = load(&state, &staff, &reference, Action::Casework).await?;
    if def.casework.is_none() {
        return Err(StaffError::NotFound);
    }
    audit(&state, &staff, "referral.viewed", &referral).await?;
    meeting_page(
        &state,
        &session,
        &referral,
        &def,
        &CaseworkForm::default(),
        &[],
    )
    .await
}

/// `POST /staff/cases/{reference}/meetings`.
pub async fn record_meeting(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseworkForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    let (referral, def) = load(&state, &staff, &reference, Action::Casework).await?;
    let concerns = !case_concerns(&state.storage, &referral, &def)
        .await?
        .is_empty();
    let input = MeetingInput {
        kind: some(&form.kind),
        date: some(&form.date),
        time: some(&form.time),
        place: some(&form.place),
        place_details: some(&form.place_details),
        attendees: some(&form.attendees),
        informal: match form.informal.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        notes: some(&form.notes),
        lone_working_read: form.lone_working_read == "yes",
    };
    let checked = match casework::check_meeting(&def, &input, concerns) {
        Ok(checked) => checked,
        Err(problems) => {
            audit(&state, &staff, "referral.viewed", &referral).await?;
            return meeting_page(&state, &session, &referral, &def, &form, &problems).await;
        }
    };
    state
        .storage
        .add_meeting(&NewMeeting {
            referral_id: &referral.id,
            kind: &checked.kind,
            date: checked.date,
            time: &checked.time,
            place: &checked.place,
            place_details: checked.place_details.as_deref(),
            attendees: &checked.attendees,
            informal: checked.informal,
            notes: checked.notes.as_deref(),
            home_visit: checked.home_visit,
            lone_working_confirmed: checked.lone_working_confirmed,
            actor: &staff.actor(),
            at: state.staff.clock.now(),
        })
        .await?;
    Ok(Redirect::to(&format!("/staff/cases/{}#meetings", referral.reference)).into_response())
}

async fn plan_page(
    state: &AppState,
    session: &CurrentSession,
    referral: &Referral,
    def: &ServiceDefinition,
    form: &Value,
    errors: &[(String, String)],
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let today = calendar::london_date(state.staff.clock.now());
    let plan = state.storage.plan(&referral.id).await?;
    let closure = state.storage.closure(&referral.id).await?;
    let people = people(state).await?;
    let goal_text: HashMap<String, String> = plan
        .goals
        .iter()
        .map(|g| (g.id.clone(), g.body.clone()))
        .collect();
    let closed_by = closure
        .as_ref()
        .map(|c| (who(&c.closed_by, &people), when(c.closed_at)));
    let view = plan_view(def, plan, closure, today);
    let short = |text: &str| {
        let mut s: String = text.chars().take(60).collect();
        if text.chars().count() > 60 {
            s.push('…');
        }
        s
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let day = |d: &str| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_or_else(|_| d.to_owned(), |d| d.format("%-d %B %Y").to_string())
    };
    Ok(page(
        status,
        "plan.html",
        json!({
            "title": format!("{} – case {}", plan_label(def), referral.reference),
            "csrf": session.csrf,
            "signed_in": true,
            "email": staff.email,
            "errors": errors_json(errors),
            "reference": referral.reference,
            "plan_label": plan_label(def),
            "may_edit": may(state, &staff, referral, Action::Casework),
            "review_days": def.casework.as_ref().and_then(|c| c.plan_review_days),
            "workers": team_workers(state, &referral.team).await?,
            "goals": view.goals.iter().map(|g| json!({"id": g.id, "text": g.text, "short": short(&g.text)})).collect::<Vec<_>>(),
            "actions": view.actions.iter().map(|a| json!({
                "id": a.id, "text": a.text, "owner": a.owner, "due": day(&a.due_on), "due_on": a.due_on,
                "done": a.done, "overdue": a.overdue,
                "goal": a.goal_id.as_ref().and_then(|g| goal_text.get(g)).map(|t| short(t)),
            })).collect::<Vec<_>>(),
            "reviews": view.reviews.iter().map(|r| json!({
                "on": day(&r.reviewed_on), "next": r.next_review_on.as_deref().map(day),
                "summary": r.summary, "who": who(&r.created_by, &people),
            })).collect::<Vec<_>>(),
            "next_review": view.next_review_on.as_deref().map(day),
            "closure": view.closure.as_ref().map(|c| json!({
                "outcome_label": c.outcome_label, "narrative": c.narrative,
                "who": closed_by.as_ref().map(|(w, _)| w.clone()),
                "at": closed_by.as_ref().map(|(_, t)| t.clone()),
            })),
            "form": form,
        }),
    ))
}

/// `GET /staff/cases/{reference}/plan`.
pub async fn show_plan(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let (referral, def) = load(&state, &staff, &reference, Action::ViewCase).await?;
    if def.casework.is_none() {
        return Err(StaffError::NotFound);
    }
    audit(&state, &staff, "referral.plan_viewed", &referral).await?;
    plan_page(&state, &session, &referral, &def, &json!({}), &[]).await
}

/// Checks the token and the `casework` policy for a plan form.
async fn begin(
    state: &AppState,
    session: &CurrentSession,
    form: &CaseworkForm,
    reference: &str,
) -> Result<(Referral, ServiceDefinition), StaffError> {
    session.check_csrf(&form.csrf)?;
    load(state, &session.staff(), reference, Action::Casework).await
}

fn back_to_plan(referral: &Referral, anchor: &str) -> Response {
    Redirect::to(&format!(
        "/staff/cases/{}/plan#{anchor}",
        referral.reference
    ))
    .into_response()
}

/// Renames API field names to the plan page's form ids.
fn renamed(problems: Vec<(String, String)>, names: &[(&str, &str)]) -> Vec<(String, String)> {
    problems
        .into_iter()
        .map(|(field, message)| {
            let id = names
                .iter()
                .find(|(api, _)| *api == field)
                .map_or(field, |(_, id)| (*id).to_owned());
            (id, message)
        })
        .collect()
}

/// `POST /staff/cases/{reference}/plan/goals`.
pub async fn add_goal(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseworkForm>,
) -> Result<Response, StaffError> {
    let (referral, def) = begin(&state, &session, &form, &reference).await?;
    let mut problems = Vec::new();
    let Some(text) = required_text(&mut problems, "goal-text", some(&form.text), "the goal") else {
        audit(&state, &session.staff(), "referral.plan_viewed", &referral).await?;
        let entered = json!({ "goal_text": form.text });
        return plan_page(&state, &session, &referral, &def, &entered, &problems).await;
    };
    let now = state.staff.clock.now();
    state
        .storage
        .add_goal(&referral.id, &text, &session.staff().actor(), now)
        .await?;
    Ok(back_to_plan(&referral, "goals"))
}

/// `POST /staff/cases/{reference}/plan/actions`.
pub async fn add_action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseworkForm>,
) -> Result<Response, StaffError> {
    let (referral, def) = begin(&state, &session, &form, &reference).await?;
    let mut problems = Vec::new();
    let text = required_text(&mut problems, "action-text", some(&form.text), "the action");
    let owner = some(&form.owner).map(crate::storage::users::normalise_email);
    let fits = match &owner {
        Some(o) => is_team_worker(&state.storage, &referral.team, o).await?,
        None => false,
    };
    let owner = match owner {
        Some(o) if fits => Some(o),
        _ => {
            problems.push((
                "action-owner".to_owned(),
                "Choose the owner: a worker of the case's team".to_owned(),
            ));
            None
        }
    };
    let due_on = date(&mut problems, "action-due", some(&form.due_on));
    if due_on.is_none() && !problems.iter().any(|(f, _)| f == "action-due") {
        problems.push(("action-due".to_owned(), "Enter the due date".to_owned()));
    }
    let goal_id = some(&form.goal_id);
    if let Some(goal) = goal_id
        && !state.storage.has_goal(&referral.id, goal).await?
    {
        problems.push((
            "action-goal".to_owned(),
            "Choose a goal of this plan, or none".to_owned(),
        ));
    }
    let (Some(text), Some(owner), Some(due_on), true) = (text, owner, due_on, problems.is_empty())
    else {
        audit(&state, &session.staff(), "referral.plan_viewed", &referral).await?;
        let entered = json!({
            "action_text": form.text, "owner": form.owner, "due_on": form.due_on,
            "goal_id": form.goal_id,
        });
        return plan_page(&state, &session, &referral, &def, &entered, &problems).await;
    };
    state
        .storage
        .add_plan_action(&NewPlanAction {
            referral_id: &referral.id,
            goal_id,
            body: &text,
            owner: &owner,
            due_on,
            actor: &session.staff().actor(),
            at: state.staff.clock.now(),
        })
        .await?;
    Ok(back_to_plan(&referral, "actions"))
}

/// `POST /staff/cases/{reference}/plan/actions/{id}`: done, or not done again; or a new
/// owner or due date.
pub async fn update_action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, id)): Path<(String, String)>,
    Form(form): Form<CaseworkForm>,
) -> Result<Response, StaffError> {
    let (referral, def) = begin(&state, &session, &form, &reference).await?;
    let change = check_action_change(
        &state.storage,
        &referral.team,
        some(&form.status),
        some(&form.owner),
        some(&form.due_on),
    )
    .await?;
    let change = match change {
        Ok(change) => change,
        Err(problems) => {
            audit(&state, &session.staff(), "referral.plan_viewed", &referral).await?;
            let owner = format!("change-owner-{id}");
            let due = format!("change-due-{id}");
            let names = [
                ("status", "actions"),
                ("owner", owner.as_str()),
                ("due_on", due.as_str()),
            ];
            let problems = renamed(problems, &names);
            return plan_page(&state, &session, &referral, &def, &json!({}), &problems).await;
        }
    };
    let now = state.staff.clock.now();
    let found = change
        .apply(
            &state.storage,
            &referral.id,
            &id,
            &session.staff().actor(),
            now,
        )
        .await?;
    if !found {
        return Err(StaffError::NotFound);
    }
    Ok(back_to_plan(&referral, "actions"))
}

/// `POST /staff/cases/{reference}/plan/reviews`.
pub async fn add_review(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseworkForm>,
) -> Result<Response, StaffError> {
    let (referral, def) = begin(&state, &session, &form, &reference).await?;
    let checked = check_review(
        &def,
        some(&form.reviewed_on),
        some(&form.summary),
        some(&form.next_review_on),
    );
    let CheckedReview {
        reviewed_on,
        summary,
        next_review_on: next,
    } = match checked {
        Ok(checked) => checked,
        Err(problems) => {
            audit(&state, &session.staff(), "referral.plan_viewed", &referral).await?;
            let problems = renamed(
                problems,
                &[
                    ("reviewed_on", "review-date"),
                    ("summary", "review-summary"),
                    ("next_review_on", "review-next"),
                ],
            );
            let entered = json!({
                "reviewed_on": form.reviewed_on, "summary": form.summary,
                "next_review_on": form.next_review_on,
            });
            return plan_page(&state, &session, &referral, &def, &entered, &problems).await;
        }
    };
    state
        .storage
        .add_review(&NewReview {
            referral_id: &referral.id,
            reviewed_on,
            summary: &summary,
            next_review_on: next,
            actor: &session.staff().actor(),
            at: state.staff.clock.now(),
        })
        .await?;
    Ok(back_to_plan(&referral, "reviews"))
}
