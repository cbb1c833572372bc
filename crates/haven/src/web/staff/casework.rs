//! Casework pages: recording a meeting (`/staff/cases/{reference}/meetings/new`, with the
//! referral's lone-working concerns shown first), the plan (`/staff/cases/{reference}/plan`:
//! goals, actions with owners and due dates, reviews, read only) and its forms, one per page
//! (`/plan/goals/new`, `/plan/actions/new`, `/plan/actions/{id}`, `/plan/reviews/new`), and
//! what the case's summary and meetings pages show of the casework. Forms check the CSRF
//! token, then the policy (`casework`; a closed case refuses changes), then their input; a
//! refused input shows the form again with an error summary naming each field (422).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::calendar;
use haven_core::casework::MeetingInput;
use haven_core::definition::ServiceDefinition;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::case::{frame, load, may, when, who};
use super::error::StaffError;
use super::render::page;
use super::session::{CurrentSession, SignedIn};
use crate::access::Staff;
use crate::cases::CaseError;
use crate::cases::plans::{PlanActionEdit, PlanActionInput, ReviewInput, plan_view};
use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::storage::referrals::Referral;
use crate::web::AppState;

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
    super::case::people(state).await
}

/// The active workers of `team` (who may own plan actions): `{email, name}` each, the email
/// being what the form sends.
async fn team_workers(state: &AppState, team: &str) -> Result<Vec<Value>, StaffError> {
    Ok(state
        .storage
        .all_staff()
        .await?
        .into_iter()
        .filter(|u| u.works_cases_of(team))
        .map(|u| json!({ "email": u.email, "name": u.name() }))
        .collect())
}

async fn audit(
    state: &AppState,
    staff: &Staff,
    action: &str,
    referral: &Referral,
) -> Result<(), StaffError> {
    let entry = AuditEntry::new(state.now(), staff.actor(), action, "referral", &referral.id);
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
    let lone_working = json!(state.cases().concerns_for(staff, referral, def).await?);
    let Some(rules) = &def.casework else {
        return Ok((lone_working, Value::Null));
    };
    let meetings = state.storage.meetings(&referral.id).await?;
    let today = calendar::london_date(state.now());
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

/// The casework events of the chronology, in words (`None` for other kinds); `people` names
/// plan action owners (stored as emails).
pub fn event_words(
    def: &ServiceDefinition,
    kind: &str,
    detail: Option<&Value>,
    people: &HashMap<String, String>,
) -> Option<String> {
    let owner = || {
        detail
            .and_then(|d| d.get("owner"))
            .and_then(Value::as_str)
            .map(|o| super::case::name_of(o, people))
    };
    let raw = |k: &str| detail.and_then(|d| d.get(k)).and_then(Value::as_str);
    // Dates as staff read them ("1 April 2099"), whatever the event stored.
    let text = |k: &str| {
        raw(k).map(|v| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_or_else(|_| v.to_owned(), |d| d.format("%-d %B %Y").to_string())
        })
    };
    let rules = def.casework.clone().unwrap_or_default();
    Some(match kind {
        "meeting_recorded" => format!(
            "Meeting recorded: {} on {} {}",
            option_label(&rules.meeting_kinds, raw("kind").unwrap_or("?")),
            text("date").as_deref().unwrap_or("?"),
            raw("time").unwrap_or("")
        ),
        "lone_working_read" => {
            "Lone-working concerns read before recording a home visit".to_owned()
        }
        "plan_goal_added" => "Plan goal added".to_owned(),
        "plan_action_added" => format!(
            "Plan action added for {}, due {}",
            owner().as_deref().unwrap_or("?"),
            text("due_on").as_deref().unwrap_or("?")
        ),
        "plan_action_changed" => match (owner(), text("due_on")) {
            (Some(owner), Some(due)) => format!("Plan action given to {owner}, now due {due}"),
            (Some(owner), None) => format!("Plan action given to {owner}"),
            (None, Some(due)) => format!("Plan action now due {due}"),
            (None, None) => "Plan action changed".to_owned(),
        },
        "plan_action_done" => "Plan action marked done".to_owned(),
        "plan_action_reopened" => "Plan action marked not done".to_owned(),
        "plan_reviewed" => format!(
            "Plan reviewed on {}",
            text("reviewed_on").as_deref().unwrap_or("?")
        ),
        "closure_outcome" => {
            let key = raw("outcome").unwrap_or("?");
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
    let rules = def.casework.clone().unwrap_or_default();
    let lone_working = state
        .cases()
        .concerns_for(&session.staff(), referral, def)
        .await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let case = state
        .cases()
        .file_of(referral.clone(), def.clone(), state.now())
        .await?;
    let mut context = frame(state, session, &case, None).await?;
    let content = json!({
        "title": format!("Record a meeting – case {}", referral.reference),
        "errors": errors_json(errors),
        "lone_working": lone_working,
        "kinds": rules.meeting_kinds.iter().map(|k| json!({"key": k.key, "label": k.label})).collect::<Vec<_>>(),
        "places": rules.meeting_places.iter().map(|p| json!({"key": p.key, "label": p.label, "home_visit": p.home_visit})).collect::<Vec<_>>(),
        "informal_label": rules.informal_meetings,
        "form": form,
    });
    if let Value::Object(content) = content {
        context.extend(content);
    }
    Ok(page(status, "meeting.html", Value::Object(context)))
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
    let result = state
        .cases()
        .record_meeting(&staff, &reference, &input, state.now())
        .await;
    let problems = match result {
        Ok(_) => {
            let reference = reference.trim().to_ascii_uppercase();
            return Ok(Redirect::to(&format!("/staff/cases/{reference}/meetings")).into_response());
        }
        Err(CaseError::Invalid(fields)) => fields
            .into_iter()
            .map(|f| (f.field, f.message))
            .collect::<Vec<_>>(),
        Err(other) => return Err(other.into()),
    };
    let (referral, def) = load(&state, &staff, &reference, Action::Casework).await?;
    audit(&state, &staff, "referral.viewed", &referral).await?;
    meeting_page(&state, &session, &referral, &def, &form, &problems).await
}

/// Which plan form a page shows: a goal, an action, a change to action `id`, a review.
#[derive(Clone, Copy)]
enum PlanForm<'a> {
    Goal,
    Action,
    Change(&'a str),
    Review,
}

/// The plan with the case's frame: the plan page itself (`form` None) or one of its forms
/// (`errors` by field id, 422 then, with what was `entered`).
async fn plan_page(
    state: &AppState,
    session: &CurrentSession,
    referral: &Referral,
    def: &ServiceDefinition,
    form: Option<PlanForm<'_>>,
    entered: &Value,
    errors: &[(String, String)],
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let today = calendar::london_date(state.now());
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
    let base = format!("/staff/cases/{}", referral.reference);
    let actions: Vec<Value> = view.actions.iter().map(|a| json!({
        "id": a.id, "text": a.text, "owner": a.owner, "owner_name": super::case::name_of(&a.owner, &people),
        "due": day(&a.due_on), "due_on": a.due_on,
        "done": a.done, "overdue": a.overdue,
        "href": format!("{base}/plan/actions/{}", a.id),
        "goal": a.goal_id.as_ref().and_then(|g| goal_text.get(g)).map(|t| short(t)),
    })).collect();
    let (template, heading, which, action) = match form {
        None => ("plan.html", plan_label(def), "", Value::Null),
        Some(PlanForm::Goal) => (
            "plan_form.html",
            "Add a goal".to_owned(),
            "goal",
            Value::Null,
        ),
        Some(PlanForm::Action) => (
            "plan_form.html",
            "Add an action".to_owned(),
            "action",
            Value::Null,
        ),
        Some(PlanForm::Review) => (
            "plan_form.html",
            "Record a review".to_owned(),
            "review",
            Value::Null,
        ),
        Some(PlanForm::Change(id)) => {
            let action = actions
                .iter()
                .find(|a| a.get("id").and_then(Value::as_str) == Some(id))
                .cloned();
            // No such action: 404, or the refusal of a post that named one.
            if action.is_none() && errors.is_empty() {
                return Err(StaffError::NotFound);
            }
            let action = action.unwrap_or(Value::Null);
            (
                "plan_form.html",
                "Change an action".to_owned(),
                "change",
                action,
            )
        }
    };
    let case = state
        .cases()
        .file_of(referral.clone(), def.clone(), state.now())
        .await?;
    let mut context = frame(state, session, &case, form.is_none().then_some("plan")).await?;
    let content = json!({
        "title": format!("{heading} – case {}", referral.reference),
        "heading": heading,
        "which": which,
        "action": action,
        "errors": errors_json(errors),
        "plan_label": plan_label(def),
        "may_edit": may(state, &staff, referral, Action::Casework),
        "review_days": def.casework.as_ref().and_then(|c| c.plan_review_days),
        "workers": team_workers(state, &referral.team).await?,
        "goals": view.goals.iter().map(|g| json!({"id": g.id, "text": g.text, "short": short(&g.text)})).collect::<Vec<_>>(),
        "actions": actions,
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
        "entered": entered,
    });
    if let Value::Object(content) = content {
        context.extend(content);
    }
    Ok(page(status, template, Value::Object(context)))
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
    plan_page(&state, &session, &referral, &def, None, &json!({}), &[]).await
}

/// Shows a plan form (GET, or again after a refused POST): the policy and a closed case are
/// checked as for the POST.
async fn plan_form(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
    form: PlanForm<'_>,
    entered: &Value,
    errors: &[(String, String)],
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let (referral, def) = load(state, &staff, reference, Action::Casework).await?;
    if def.casework.is_none() {
        return Err(StaffError::NotFound);
    }
    audit(state, &staff, "referral.plan_viewed", &referral).await?;
    plan_page(state, session, &referral, &def, Some(form), entered, errors).await
}

/// `GET /staff/cases/{reference}/plan/goals/new`.
pub async fn new_goal(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, StaffError> {
    plan_form(
        &state,
        &session,
        &reference,
        PlanForm::Goal,
        &json!({}),
        &[],
    )
    .await
}

/// `GET /staff/cases/{reference}/plan/actions/new`.
pub async fn new_action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, StaffError> {
    plan_form(
        &state,
        &session,
        &reference,
        PlanForm::Action,
        &json!({}),
        &[],
    )
    .await
}

/// `GET /staff/cases/{reference}/plan/actions/{id}`: mark it done or not done, or give it a
/// new owner or due date.
pub async fn change_action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, id)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    plan_form(
        &state,
        &session,
        &reference,
        PlanForm::Change(&id),
        &json!({}),
        &[],
    )
    .await
}

/// `GET /staff/cases/{reference}/plan/reviews/new`.
pub async fn new_review(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, StaffError> {
    plan_form(
        &state,
        &session,
        &reference,
        PlanForm::Review,
        &json!({}),
        &[],
    )
    .await
}

fn back_to_plan(reference: &str, anchor: &str) -> Response {
    Redirect::to(&format!(
        "/staff/cases/{}/plan#{anchor}",
        reference.trim().to_ascii_uppercase()
    ))
    .into_response()
}

/// The answer to a plan form: back to the plan's `anchor` when done; the form again with
/// its errors (422) when refused, each field renamed from the operation's name to the form's
/// id (`names`: `(operation field, form id)`), with what was `entered`.
#[allow(clippy::too_many_arguments)]
async fn plan_answer<T>(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
    result: Result<T, CaseError>,
    form: PlanForm<'_>,
    anchor: &str,
    names: &[(&str, &str)],
    entered: &Value,
) -> Result<Response, StaffError> {
    let problems = match result {
        Ok(_) => return Ok(back_to_plan(reference, anchor)),
        Err(CaseError::Invalid(fields)) => fields
            .into_iter()
            .map(|f| {
                let id = names
                    .iter()
                    .find(|(name, _)| *name == f.field)
                    .map_or(f.field, |(_, id)| (*id).to_owned());
                (id, f.message)
            })
            .collect::<Vec<_>>(),
        Err(other) => return Err(other.into()),
    };
    plan_form(state, session, reference, form, entered, &problems).await
}

/// `POST /staff/cases/{reference}/plan/goals`.
pub async fn add_goal(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseworkForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let result = state
        .cases()
        .add_goal(&session.staff(), &reference, some(&form.text), state.now())
        .await;
    let entered = json!({ "goal_text": form.text });
    let names = [("text", "goal-text")];
    plan_answer(
        &state,
        &session,
        &reference,
        result,
        PlanForm::Goal,
        "goals",
        &names,
        &entered,
    )
    .await
}

/// `POST /staff/cases/{reference}/plan/actions`.
pub async fn add_action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseworkForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let input = PlanActionInput {
        text: some(&form.text),
        owner: some(&form.owner),
        due_on: some(&form.due_on),
        goal_id: some(&form.goal_id),
    };
    let result = state
        .cases()
        .add_plan_action(&session.staff(), &reference, &input, state.now())
        .await;
    let entered = json!({
        "action_text": form.text, "owner": form.owner, "due_on": form.due_on,
        "goal_id": form.goal_id,
    });
    let names = [
        ("text", "action-text"),
        ("owner", "action-owner"),
        ("due_on", "action-due"),
        ("goal_id", "action-goal"),
    ];
    plan_answer(
        &state,
        &session,
        &reference,
        result,
        PlanForm::Action,
        "actions",
        &names,
        &entered,
    )
    .await
}

/// `POST /staff/cases/{reference}/plan/actions/{id}`: done, or not done again; or a new
/// owner or due date. Only what differs from the action as it is is sent on.
pub async fn update_action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, id)): Path<(String, String)>,
    Form(form): Form<CaseworkForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    let (referral, _def) = load(&state, &staff, &reference, Action::Casework).await?;
    let plan = state.storage.plan(&referral.id).await?;
    // An unknown action is the operation's to refuse (after checking the input).
    let current = plan.actions.iter().find(|a| a.id == id);
    let status = some(&form.status).filter(|s| match (*s, current) {
        ("done", Some(a)) => !a.done,
        ("open", Some(a)) => a.done,
        _ => true,
    });
    let owner = some(&form.owner).filter(|o| current.is_none_or(|a| *o != a.owner));
    let due_on = some(&form.due_on)
        .filter(|d| current.is_none_or(|a| *d != a.due_on.format("%Y-%m-%d").to_string()));
    let result = state
        .cases()
        .update_plan_action(
            &staff,
            &reference,
            &id,
            &PlanActionEdit {
                status,
                owner,
                due_on,
            },
            state.now(),
        )
        .await;
    let names = [
        ("status", "change-status"),
        ("owner", "change-owner"),
        ("due_on", "change-due"),
    ];
    let entered = json!({ "status": form.status, "owner": form.owner, "due_on": form.due_on });
    plan_answer(
        &state,
        &session,
        &reference,
        result,
        PlanForm::Change(&id),
        "actions",
        &names,
        &entered,
    )
    .await
}

/// `POST /staff/cases/{reference}/plan/reviews`.
pub async fn add_review(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseworkForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let input = ReviewInput {
        reviewed_on: some(&form.reviewed_on),
        summary: some(&form.summary),
        next_review_on: some(&form.next_review_on),
    };
    let result = state
        .cases()
        .add_review(&session.staff(), &reference, &input, state.now())
        .await;
    let entered = json!({
        "reviewed_on": form.reviewed_on, "summary": form.summary,
        "next_review_on": form.next_review_on,
    });
    let names = [
        ("reviewed_on", "review-date"),
        ("summary", "review-summary"),
        ("next_review_on", "review-next"),
    ];
    plan_answer(
        &state,
        &session,
        &reference,
        result,
        PlanForm::Review,
        "reviews",
        &names,
        &entered,
    )
    .await
}
