//! Triage on one referral: confirming or overriding the band, workflow transitions and the
//! chronology. Each write is checked against the service's rules by `haven-core`.

use axum::Json;
use axum::extract::{Path, State};
use haven_core::workflow::TransitionRequest;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::storage::timestamp;
use crate::storage::triage::ChronologyEntry;
use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, StaffAuth};

/// A band confirmation or override.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BandRequest {
    /// One of the service's bands.
    pub band: String,
    /// Why (required, kept in the chronology).
    pub reason: String,
}

/// The band after confirmation.
#[derive(Serialize, ToSchema)]
pub struct BandView {
    pub suggested_band: Option<String>,
    pub confirmed_band: String,
}

/// Confirms or overrides the suggested band (triage, manager or admin of the team).
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/screening",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = BandRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded", body = BandView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not confirm bands", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 422, description = "`reason` missing or `band` not one of the service's bands", body = ErrorBody)
    )
)]
pub async fn confirm_band(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<BandRequest>,
) -> Result<Json<BandView>, ApiError> {
    let confirmed = state
        .cases()
        .confirm_band(
            &staff,
            &reference,
            &request.band,
            &request.reason,
            state.now(),
        )
        .await?;
    Ok(Json(BandView {
        suggested_band: confirmed.suggested_band,
        confirmed_band: confirmed.confirmed_band,
    }))
}

/// The new status after a transition.
#[derive(Serialize, ToSchema)]
pub struct TransitionDone {
    pub reference: String,
    pub from: String,
    /// The state the case is in now. A transition the definition makes by itself straight
    /// after a decision (`on_decision`) is included: deciding a Cyber Choices enquiry
    /// `suitable` answers `detailed_form_requested`, the link already sent.
    pub status: String,
    pub decision: Option<String>,
    /// The referrer is told: an email saying only that there is news (the follow-up page),
    /// or, for a transition with `invite_stage`, one carrying a single-use link to that
    /// stage's form. Queued after the move; the chronology records `notification_sent`
    /// (or `_failed`, or `notification_impossible` when the answers hold no address).
    pub notify_referrer: bool,
}

/// A workflow transition request: `{to, decision?, reason?, fields?}`. Closing a case with an
/// outcome: `fields: {"outcome": "<one of casework.closure.outcomes>", "narrative": "…"}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    pub to: String,
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// Moves a referral to another workflow state, if the caller's role and the guards allow.
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/transitions",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = TransitionBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Moved", body = TransitionDone),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not make this transition", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 409, description = "Not from this state, a guard failed (`guard_failed`, the message names the guard, e.g. `closure_outcome_recorded`), or another change got there first", body = ErrorBody),
        (status = 422, description = "Unknown state, decision or reason missing; into the service's closure state, `fields.outcome` not one of its `casework.closure.outcomes` or `fields.narrative` (the closing summary) missing", body = ErrorBody)
    )
)]
pub async fn transition(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(body): ApiJson<TransitionBody>,
) -> Result<Json<TransitionDone>, ApiError> {
    let request = TransitionRequest {
        to: body.to,
        decision: body.decision,
        reason: body.reason,
        fields: body.fields,
    };
    let moved = state
        .cases()
        .transition(&staff, &reference, request, state.now())
        .await?;
    Ok(Json(TransitionDone {
        reference: moved.reference,
        from: moved.from,
        status: moved.status,
        decision: moved.decision,
        notify_referrer: moved.notify_referrer,
    }))
}

/// One chronology entry.
#[derive(Serialize, ToSchema)]
pub struct ChronologyView {
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    /// `received`, `transition`, `band_confirmed`, `invitation_created`, `invitation_opened`,
    /// `stage_received`, `notification_sent`, `notification_failed`,
    /// `notification_impossible` (detail `{message, to}`: the kind of message and the
    /// masked address), …
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<Value>,
}

impl From<ChronologyEntry> for ChronologyView {
    fn from(e: ChronologyEntry) -> Self {
        Self {
            at: timestamp(e.at),
            actor: e.actor,
            kind: e.kind,
            from: e.from_status,
            to: e.to_status,
            reason: e.reason,
            detail: e.detail,
        }
    }
}

/// The chronology of a referral, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}/chronology",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chronology", body = [ChronologyView]),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody)
    )
)]
pub async fn chronology(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
) -> Result<Json<Vec<ChronologyView>>, ApiError> {
    let entries = state
        .cases()
        .chronology(&staff, &reference, state.now())
        .await?;
    Ok(Json(
        entries.into_iter().map(ChronologyView::from).collect(),
    ))
}
