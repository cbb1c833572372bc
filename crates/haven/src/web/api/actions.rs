//! The required-actions checklist of a referral and its allocation to a worker.
//!
//! `POST /api/v1/referrals/{reference}/actions/{key}` marks a required action of the
//! screening result `done`, `waived` (a reason is required) or `open` again;
//! `POST /api/v1/referrals/{reference}/allocation` allocates the case to a worker of its team.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::policy::Action;
use crate::storage::actions::{ActionChange, ActionStatus};
use crate::storage::users::normalise_email;
use crate::web::AppState;
use crate::web::api::plans::is_team_worker;
use crate::web::api::triage::{RequiredActionView, load_case};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, StaffAuth};

/// What was done about a required action.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// `done`, `waived` or `open`.
    pub status: String,
    /// Required to waive; kept in the chronology.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Marks one required action done, waived or open again (triage, caseworkers, managers,
/// admins of the team).
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/actions/{key}",
    tag = "referrals",
    params(
        ("reference" = String, Path, description = "Case reference"),
        ("key" = String, Path, description = "Required action key, e.g. `vemt_referral`")
    ),
    request_body = ActionRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The checklist after the change", body = [RequiredActionView]),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not change the checklist", body = ErrorBody),
        (status = 404, description = "No such referral for this user, or no such required action", body = ErrorBody),
        (status = 422, description = "Bad `status`, or a waiver without a reason", body = ErrorBody)
    )
)]
pub async fn record(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path((reference, key)): Path<(String, String)>,
    ApiJson(request): ApiJson<ActionRequest>,
) -> Result<Json<Vec<RequiredActionView>>, ApiError> {
    let case = load_case(&state, &staff, &reference, Action::CompleteAction).await?;
    if !case.required_actions().iter().any(|a| a.key == key) {
        return Err(ApiError::not_found());
    }
    let status = ActionStatus::parse(request.status.trim()).ok_or_else(|| {
        ApiError::unprocessable([("status", "Choose one of: done, waived, open")])
    })?;
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if status == ActionStatus::Waived && reason.is_none() {
        return Err(ApiError::unprocessable([(
            "reason",
            "Give a reason for waiving this action",
        )]));
    }
    state
        .storage
        .record_action(&ActionChange {
            referral_id: &case.referral.id,
            key: &key,
            status,
            reason,
            actor: &staff.actor(),
            at: Utc::now(),
        })
        .await?;
    let updated = load_case(&state, &staff, &reference, Action::ViewCase).await?;
    Ok(Json(updated.required_actions()))
}

/// Who should work the case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationRequest {
    /// The worker's email (a caseworker, triage officer or manager of the case's team), or
    /// null to take the case off its worker.
    pub worker: Option<String>,
}

/// The allocation after the change.
#[derive(Serialize, ToSchema)]
pub struct AllocationView {
    pub worker: Option<String>,
    pub mode: Option<String>,
}

/// Allocates the case to a worker of its team (triage, managers, admins).
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/allocation",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = AllocationRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Allocated", body = AllocationView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not allocate cases", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 422, description = "`worker` is not an active worker of the case's team", body = ErrorBody)
    )
)]
pub async fn allocate(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<AllocationRequest>,
) -> Result<Json<AllocationView>, ApiError> {
    let case = load_case(&state, &staff, &reference, Action::Allocate).await?;
    let worker = match request.worker.as_deref().map(normalise_email) {
        None => None,
        Some(email) => {
            if !is_team_worker(&state.storage, &case.referral.team, &email).await? {
                return Err(ApiError::unprocessable([(
                    "worker",
                    format!(
                        "There is no active caseworker, triage officer or manager `{email}` in team `{}`",
                        case.referral.team
                    ),
                )]));
            }
            Some(email)
        }
    };
    let alert = crate::notify::allocation_alert(
        state.notify(),
        &case.def,
        &case.referral,
        worker.as_deref(),
        &staff.email,
    );
    state
        .storage
        .allocate(
            &case.referral.id,
            worker.as_deref(),
            &staff.actor(),
            Utc::now(),
            alert.as_ref(),
        )
        .await?;
    Ok(Json(AllocationView {
        worker,
        mode: case.allocation_mode(),
    }))
}
