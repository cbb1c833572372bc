//! Checks that store nothing: `POST /api/v1/anonymity-check` (anyone, rate limited per
//! client address by its own, larger allowance than submissions: the public pages call it
//! each time a reporter pauses while typing, which must never use up the allowance of the
//! submission itself) and `POST /api/v1/screen` (staff).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use haven_core::anonymity::MAX_CHECKED_BYTES;
use haven_core::{calendar, screening};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

pub use crate::cases::checks::{AnonymityCheckResult, FindingView, anonymity_result};
use crate::storage::audit::AuditEntry;
use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, StaffAuth, take_allowance};

/// Text to check.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnonymityCheckRequest {
    /// At most 64 KiB of UTF-8.
    pub text: String,
}

/// Counts the request against the client's anonymity-check allowance (settings
/// `checks_per_window`), separate from the submission allowance.
pub struct CheckQuota;

impl FromRequestParts<AppState> for CheckQuota {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        take_allowance(parts, state, &state.check_limiter).await?;
        Ok(CheckQuota)
    }
}

/// Checks free text for details that could identify someone; stores nothing.
#[utoipa::path(
    post,
    path = "/api/v1/anonymity-check",
    tag = "checks",
    request_body = AnonymityCheckRequest,
    responses(
        (status = 200, description = "What was found (offsets in UTF-8 bytes)", body = AnonymityCheckResult),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 422, description = "`text` missing or longer than 64 KiB", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody)
    )
)]
pub async fn anonymity_check(
    _quota: CheckQuota,
    ApiJson(request): ApiJson<AnonymityCheckRequest>,
) -> Result<Json<AnonymityCheckResult>, ApiError> {
    if request.text.len() > MAX_CHECKED_BYTES {
        return Err(ApiError::unprocessable([(
            "text",
            format!("The text is longer than {} KiB", MAX_CHECKED_BYTES / 1024),
        )]));
    }
    Ok(Json(anonymity_result(&request.text)))
}

/// Answers to screen.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenRequest {
    /// Service id.
    pub service: String,
    /// An answers document (only what screening reads is validated).
    #[schema(value_type = Object)]
    pub answers: Value,
}

/// Runs screening and scope on answers (ages counted on today's London date); stores nothing
/// but an audit entry (who screened, for which service).
#[utoipa::path(
    post,
    path = "/api/v1/screen",
    tag = "checks",
    request_body = ScreenRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The screening result", body = Object),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 422, description = "Unknown service, or answers screening cannot read (each named by its question key)", body = ErrorBody)
    )
)]
pub async fn screen(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    ApiJson(request): ApiJson<ScreenRequest>,
) -> Result<Json<Value>, ApiError> {
    let def = state.registry.get(&request.service).ok_or_else(|| {
        ApiError::unprocessable([(
            "service",
            format!("There is no service `{}`", request.service),
        )])
    })?;
    let result = screening::screen(def, &request.answers, calendar::london_date(state.now()))
        .map_err(ApiError::invalid_answers)?;
    // The answers are not stored, but someone screened case data: who, when, which service.
    let entry = AuditEntry::new(
        state.now(),
        staff.actor(),
        "screening.run",
        "service",
        &def.id,
    );
    state.storage.append_audit(&entry).await?;
    serde_json::to_value(result)
        .map(Json)
        .map_err(ApiError::internal)
}
