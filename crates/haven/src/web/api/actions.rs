//! The required-actions checklist of a referral and its allocation to a worker.
//!
//! `POST /api/v1/referrals/{reference}/actions/{key}` marks a required action of the
//! screening result `done`, `waived` (a reason is required) or `open` again;
//! `POST /api/v1/referrals/{reference}/allocation` allocates the case to a worker of its team.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::cases::RequiredActionView;
use crate::web::AppState;
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
    let checklist = state
        .cases()
        .record_action(
            &staff,
            &reference,
            &key,
            &request.status,
            request.reason.as_deref(),
            state.now(),
        )
        .await?;
    Ok(Json(checklist))
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
    let allocated = state
        .cases()
        .allocate(&staff, &reference, request.worker.as_deref(), state.now())
        .await?;
    Ok(Json(AllocationView {
        worker: allocated.worker,
        mode: allocated.mode,
    }))
}
