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
use serde::Deserialize;
use utoipa::ToSchema;

pub use crate::cases::plans::PlanView;
use crate::cases::plans::{PlanActionEdit, PlanActionInput, ReviewInput};
use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, StaffAuth};

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
    Ok(Json(
        state.cases().plan(&staff, &reference, state.now()).await?,
    ))
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
    let plan = state
        .cases()
        .add_goal(&staff, &reference, request.text.as_deref(), state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(plan)))
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
    let input = PlanActionInput {
        text: request.text.as_deref(),
        owner: request.owner.as_deref(),
        due_on: request.due_on.as_deref(),
        goal_id: request.goal_id.as_deref(),
    };
    let plan = state
        .cases()
        .add_plan_action(&staff, &reference, &input, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(plan)))
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
    let plan = state
        .cases()
        .update_plan_action(
            &staff,
            &reference,
            &id,
            &PlanActionEdit {
                status: request.status.as_deref(),
                owner: request.owner.as_deref(),
                due_on: request.due_on.as_deref(),
            },
            state.now(),
        )
        .await?;
    Ok(Json(plan))
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
    let input = ReviewInput {
        reviewed_on: request.reviewed_on.as_deref(),
        summary: request.summary.as_deref(),
        next_review_on: request.next_review_on.as_deref(),
    };
    let plan = state
        .cases()
        .add_review(&staff, &reference, &input, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(plan)))
}
