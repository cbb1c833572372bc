//! `GET /api/v1/follow-up` with `X-Receipt-Code`: the reporter's view of their report (see
//! `web::follow_up` for what it may contain — an allow-list, never staff-only data).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::ClientIp;
use crate::web::follow_up::{FollowUpView, LookupError, find, view};

/// The status of a report in plain words, and the team's messages.
#[utoipa::path(
    get,
    path = "/api/v1/follow-up",
    tag = "follow-up",
    params(("X-Receipt-Code" = String, Header, description = "The receipt code given when the report was sent")),
    responses(
        (status = 200, description = "The report's status and the team's messages", body = FollowUpView),
        (status = 400, description = "No `X-Receipt-Code` header", body = ErrorBody),
        (status = 404, description = "No report has this receipt code", body = ErrorBody),
        (status = 429, description = "Too many wrong codes from this client", body = ErrorBody)
    )
)]
pub async fn show(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Json<FollowUpView>, ApiError> {
    let code = headers
        .get("x-receipt-code")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("Send the receipt code in the X-Receipt-Code header")
        })?;
    let referral = match find(&state, ip, code).await {
        Ok(r) => r,
        Err(LookupError::TooMany(wait)) => {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: wait,
            });
        }
        Err(LookupError::NotFound) => return Err(ApiError::not_found()),
        Err(LookupError::Storage(e)) => return Err(e.into()),
    };
    Ok(Json(view(&state, &referral).await?))
}
