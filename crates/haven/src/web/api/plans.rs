//! The plan of a case and its closure outcome.
//!
//! `GET …/plan` shows goals, actions (each `overdue` when not done past its due date), reviews
//! and the closure; `POST …/plan/goals`, `…/plan/actions`, `…/plan/actions/{id}` (done or
//! open again) and `…/plan/reviews` change it. Closing with an outcome is a transition
//! (`POST …/transitions` with `fields.outcome` and `fields.narrative`); `notify::change_status`
//! writes the outcome in the same transaction as the status change.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use haven_core::calendar;
use haven_core::casework::{self, CheckedReview, ClosureChoice, date, given, required_text};
use haven_core::definition::ServiceDefinition;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::storage::plans::{NewPlanAction, NewReview, Plan};
use crate::storage::users::normalise_email;
use crate::storage::{Storage, StorageError, timestamp};
use crate::web::AppState;
use crate::web::api::triage::load;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, StaffAuth};

/// A field problem: (field, message).
pub type Problem = (String, String);

/// Whether `email` is an active caseworker, triage officer or manager of `team` (who may own
/// plan actions and be allocated cases).
pub async fn is_team_worker(
    storage: &Storage,
    team: &str,
    email: &str,
) -> Result<bool, StorageError> {
    Ok(storage
        .find_user_by_email(&normalise_email(email))
        .await?
        .is_some_and(|u| u.works_cases_of(team)))
}

/// The `owner` problem: not a worker of `team` (see [`is_team_worker`]).
fn owner_problem(team: &str) -> Problem {
    (
        "owner".to_owned(),
        format!(
            "Choose the owner: an active caseworker, triage officer or manager of team `{team}`"
        ),
    )
}

/// The closure outcome a transition carries, as a 422 naming `fields.outcome` /
/// `fields.narrative` when it is not one of the service's.
pub fn closure_of(
    def: &ServiceDefinition,
    to: &str,
    fields: &Map<String, Value>,
) -> Result<Option<ClosureChoice>, ApiError> {
    casework::closure_choice(def, to, fields).map_err(ApiError::unprocessable)
}

/// A goal of the plan.
#[derive(Serialize, ToSchema)]
pub struct GoalView {
    pub id: String,
    pub text: String,
    pub created_by: String,
    pub created_at: String,
}

/// An action of the plan.
#[derive(Serialize, ToSchema)]
pub struct PlanActionView {
    pub id: String,
    pub goal_id: Option<String>,
    pub text: String,
    /// The owner's email.
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    pub done: bool,
    /// Not done and past its due date (UK date).
    pub overdue: bool,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
}

/// A review of the plan.
#[derive(Serialize, ToSchema)]
pub struct ReviewView {
    pub id: String,
    pub reviewed_on: String,
    pub summary: String,
    pub next_review_on: Option<String>,
    pub created_by: String,
}

/// The outcome a case closed with.
#[derive(Serialize, ToSchema)]
pub struct ClosureView {
    pub outcome: String,
    pub outcome_label: String,
    pub narrative: String,
    pub closed_by: String,
    pub closed_at: String,
}

/// A case's plan.
#[derive(Serialize, ToSchema)]
pub struct PlanView {
    pub goals: Vec<GoalView>,
    pub actions: Vec<PlanActionView>,
    pub reviews: Vec<ReviewView>,
    /// The next review date of the latest review.
    pub next_review_on: Option<String>,
    pub closure: Option<ClosureView>,
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The plan as the API shows it.
pub fn plan_view(
    def: &ServiceDefinition,
    plan: Plan,
    closure: Option<crate::storage::plans::ClosureRecord>,
    today: NaiveDate,
) -> PlanView {
    let outcome_label = |key: &str| {
        def.casework
            .as_ref()
            .and_then(|c| c.closure.as_ref())
            .and_then(|c| c.outcomes.iter().find(|o| o.key == key))
            .map_or_else(|| key.to_owned(), |o| o.label.clone())
    };
    PlanView {
        next_review_on: plan.reviews.last().and_then(|r| r.next_review_on).map(day),
        goals: plan
            .goals
            .into_iter()
            .map(|g| GoalView {
                id: g.id,
                text: g.body,
                created_by: g.created_by,
                created_at: timestamp(g.created_at),
            })
            .collect(),
        actions: plan
            .actions
            .into_iter()
            .map(|a| PlanActionView {
                overdue: casework::action_overdue(a.due_on, a.done, today),
                id: a.id,
                goal_id: a.goal_id,
                text: a.body,
                owner: a.owner,
                due_on: day(a.due_on),
                done: a.done,
                done_at: a.done_at.map(timestamp),
                done_by: a.done_by,
            })
            .collect(),
        reviews: plan
            .reviews
            .into_iter()
            .map(|r| ReviewView {
                id: r.id,
                reviewed_on: day(r.reviewed_on),
                summary: r.summary,
                next_review_on: r.next_review_on.map(day),
                created_by: r.created_by,
            })
            .collect(),
        closure: closure.map(|c| ClosureView {
            outcome_label: outcome_label(&c.outcome),
            outcome: c.outcome,
            narrative: c.narrative,
            closed_by: c.closed_by,
            closed_at: timestamp(c.closed_at),
        }),
    }
}

async fn current_plan(
    state: &AppState,
    def: &ServiceDefinition,
    referral_id: &str,
) -> Result<PlanView, ApiError> {
    let plan = state.storage.plan(referral_id).await?;
    let closure = state.storage.closure(referral_id).await?;
    Ok(plan_view(
        def,
        plan,
        closure,
        calendar::london_date(Utc::now()),
    ))
}

/// The plan of a case: goals, actions, reviews, and the closure outcome once closed.
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}/plan",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan", body = PlanView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody)
    )
)]
pub async fn show(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
) -> Result<Json<PlanView>, ApiError> {
    let (referral, def) = load(&state, &staff, &reference, Action::ViewCase).await?;
    let view = current_plan(&state, &def, &referral.id).await?;
    let entry = AuditEntry::new(
        Utc::now(),
        staff.actor(),
        "referral.plan_viewed",
        "referral",
        &referral.id,
    );
    state.storage.append_audit(&entry).await?;
    Ok(Json(view))
}

/// A new goal.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalRequest {
    /// The goal (sealed at rest).
    #[serde(default)]
    pub text: Option<String>,
}

/// Adds a goal to the plan.
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/plan/goals",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = GoalRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The plan after the change", body = PlanView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not record casework", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 422, description = "`text` missing or too long", body = ErrorBody)
    )
)]
pub async fn add_goal(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<GoalRequest>,
) -> Result<(StatusCode, Json<PlanView>), ApiError> {
    let (referral, def) = load(&state, &staff, &reference, Action::Casework).await?;
    let mut problems = Vec::new();
    let text = required_text(&mut problems, "text", request.text.as_deref(), "the goal");
    let Some(text) = text else {
        return Err(ApiError::unprocessable(problems));
    };
    state
        .storage
        .add_goal(&referral.id, &text, &staff.actor(), Utc::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(current_plan(&state, &def, &referral.id).await?),
    ))
}

/// A new action.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanActionRequest {
    /// What is to be done (sealed at rest).
    #[serde(default)]
    pub text: Option<String>,
    /// The email of an active caseworker, triage officer or manager of the case's team.
    #[serde(default)]
    pub owner: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub due_on: Option<String>,
    /// A goal of this plan the action serves (optional).
    #[serde(default)]
    pub goal_id: Option<String>,
}

/// Adds an action to the plan.
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/plan/actions",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = PlanActionRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The plan after the change", body = PlanView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not record casework", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 422, description = "Each bad field named: `text`, `owner` (not a worker of the case's team), `due_on`, `goal_id` (not a goal of this plan)", body = ErrorBody)
    )
)]
pub async fn add_action(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<PlanActionRequest>,
) -> Result<(StatusCode, Json<PlanView>), ApiError> {
    let (referral, def) = load(&state, &staff, &reference, Action::Casework).await?;
    let mut problems = Vec::new();
    let text = required_text(&mut problems, "text", request.text.as_deref(), "the action");
    let owner = request
        .owner
        .as_deref()
        .map(normalise_email)
        .filter(|o| !o.is_empty());
    let owner_fits = match &owner {
        Some(o) => is_team_worker(&state.storage, &referral.team, o).await?,
        None => false,
    };
    if !owner_fits {
        problems.push(owner_problem(&referral.team));
    }
    let due_on = date(&mut problems, "due_on", request.due_on.as_deref());
    if due_on.is_none() && !problems.iter().any(|(f, _)| f == "due_on") {
        problems.push(("due_on".to_owned(), "Enter the due date".to_owned()));
    }
    let goal_id = request
        .goal_id
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty());
    if let Some(goal) = goal_id
        && !state.storage.has_goal(&referral.id, goal).await?
    {
        problems.push((
            "goal_id".to_owned(),
            "There is no such goal in this plan".to_owned(),
        ));
    }
    let (Some(text), Some(owner), Some(due_on), true) = (text, owner, due_on, problems.is_empty())
    else {
        return Err(ApiError::unprocessable(problems));
    };
    state
        .storage
        .add_plan_action(&NewPlanAction {
            referral_id: &referral.id,
            goal_id,
            body: &text,
            owner: &owner,
            due_on,
            actor: &staff.actor(),
            at: Utc::now(),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(current_plan(&state, &def, &referral.id).await?),
    ))
}

/// A change to one action: any of its status, owner and due date.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanActionUpdate {
    /// `done` or `open`.
    #[serde(default)]
    pub status: Option<String>,
    /// A new owner: the email of an active caseworker, triage officer or manager of the
    /// case's team.
    #[serde(default)]
    pub owner: Option<String>,
    /// A new due date, `YYYY-MM-DD`.
    #[serde(default)]
    pub due_on: Option<String>,
}

/// What a valid [`PlanActionUpdate`] changes.
pub struct ActionChange {
    pub done: Option<bool>,
    pub owner: Option<String>,
    pub due_on: Option<NaiveDate>,
}

/// Checks a change to an action of a case of `team`: each bad field named, and at least one
/// field given.
pub async fn check_action_change(
    storage: &Storage,
    team: &str,
    status: Option<&str>,
    owner: Option<&str>,
    due_on: Option<&str>,
) -> Result<Result<ActionChange, Vec<Problem>>, StorageError> {
    let mut problems = Vec::new();
    let done = match given(status) {
        None => None,
        Some("done") => Some(true),
        Some("open") => Some(false),
        Some(_) => {
            problems.push(("status".to_owned(), "Choose one of: done, open".to_owned()));
            None
        }
    };
    let owner = given(owner).map(normalise_email);
    if let Some(o) = &owner
        && !is_team_worker(storage, team, o).await?
    {
        problems.push(owner_problem(team));
    }
    let due_on = date(&mut problems, "due_on", given(due_on));
    if problems.is_empty() && done.is_none() && owner.is_none() && due_on.is_none() {
        problems.push((
            "status".to_owned(),
            "Give the action's new status, owner or due date".to_owned(),
        ));
    }
    Ok(if problems.is_empty() {
        Ok(ActionChange {
            done,
            owner,
            due_on,
        })
    } else {
        Err(problems)
    })
}

impl ActionChange {
    /// Stores the change; `false` when the case has no such action.
    pub async fn apply(
        &self,
        storage: &Storage,
        referral_id: &str,
        action_id: &str,
        actor: &str,
        at: chrono::DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        if self.owner.is_some() || self.due_on.is_some() {
            let found = storage
                .change_plan_action(
                    referral_id,
                    action_id,
                    self.owner.as_deref(),
                    self.due_on,
                    actor,
                    at,
                )
                .await?;
            if !found {
                return Ok(false);
            }
        }
        match self.done {
            Some(done) => {
                storage
                    .set_plan_action_done(referral_id, action_id, done, actor, at)
                    .await
            }
            None => Ok(true),
        }
    }
}

/// Marks a plan action done (or not done again), gives it a new owner, or moves its due
/// date.
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/plan/actions/{id}",
    tag = "referrals",
    params(
        ("reference" = String, Path, description = "Case reference"),
        ("id" = String, Path, description = "The action's id")
    ),
    request_body = PlanActionUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan after the change", body = PlanView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not record casework", body = ErrorBody),
        (status = 404, description = "No such referral for this user, or no such action in its plan", body = ErrorBody),
        (status = 422, description = "Each bad field named: `status` not `done` or `open` (or nothing to change), `owner` not a worker of the case's team, `due_on` not a date", body = ErrorBody)
    )
)]
pub async fn update_action(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path((reference, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<PlanActionUpdate>,
) -> Result<Json<PlanView>, ApiError> {
    let (referral, def) = load(&state, &staff, &reference, Action::Casework).await?;
    let change = check_action_change(
        &state.storage,
        &referral.team,
        request.status.as_deref(),
        request.owner.as_deref(),
        request.due_on.as_deref(),
    )
    .await?
    .map_err(ApiError::unprocessable)?;
    let found = change
        .apply(
            &state.storage,
            &referral.id,
            &id,
            &staff.actor(),
            Utc::now(),
        )
        .await?;
    if !found {
        return Err(ApiError::not_found());
    }
    Ok(Json(current_plan(&state, &def, &referral.id).await?))
}

/// A review of the plan.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub reviewed_on: Option<String>,
    /// What the review found (sealed at rest).
    #[serde(default)]
    pub summary: Option<String>,
    /// `YYYY-MM-DD`, on or after `reviewed_on`; without it, the service's
    /// `casework.plan_review_days` after `reviewed_on` (none if the service sets none).
    #[serde(default)]
    pub next_review_on: Option<String>,
}

/// Records a review of the plan.
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/plan/reviews",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = ReviewRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The plan after the change", body = PlanView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not record casework", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 422, description = "Each bad field named: `reviewed_on`, `summary`, `next_review_on`", body = ErrorBody)
    )
)]
pub async fn add_review(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<ReviewRequest>,
) -> Result<(StatusCode, Json<PlanView>), ApiError> {
    let (referral, def) = load(&state, &staff, &reference, Action::Casework).await?;
    let CheckedReview {
        reviewed_on,
        summary,
        next_review_on: next,
    } = casework::check_review(
        &def,
        request.reviewed_on.as_deref(),
        request.summary.as_deref(),
        request.next_review_on.as_deref(),
    )
    .map_err(ApiError::unprocessable)?;
    state
        .storage
        .add_review(&NewReview {
            referral_id: &referral.id,
            reviewed_on,
            summary: &summary,
            next_review_on: next,
            actor: &staff.actor(),
            at: Utc::now(),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(current_plan(&state, &def, &referral.id).await?),
    ))
}
