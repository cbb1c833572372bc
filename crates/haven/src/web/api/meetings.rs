//! Meetings and visits on a case, and the lone-working concerns shown before a home visit.
//!
//! `GET /api/v1/referrals/{reference}/meetings` lists them with the concerns;
//! `POST /api/v1/referrals/{reference}/meetings` records one, checked against the service's
//! `[casework]` lists (`haven_core::casework::check_meeting`): a home visit on a case with
//! lone-working concerns needs `lone_working_read: true`, which goes into the chronology.

use axum::Json;
use axum::extract::{Path, State};
use haven_core::casework::MeetingInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::cases::meetings::ConcernView;
use crate::storage::meetings::Meeting;
use crate::storage::timestamp;
use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, StaffAuth};

/// A meeting to record. Every field is checked at once; the 422 names each bad one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MeetingRequest {
    /// One of the service's `casework.meeting_kinds` (`initial_meeting`, `home_visit`, …).
    #[serde(default)]
    pub kind: Option<String>,
    /// `YYYY-MM-DD` (the meeting may be arranged ahead).
    #[serde(default)]
    pub date: Option<String>,
    /// `HH:MM`, 24-hour UK time.
    #[serde(default)]
    pub time: Option<String>,
    /// One of the service's `casework.meeting_places` (`home`, `school`, `online`, …).
    #[serde(default)]
    pub place: Option<String>,
    /// Where exactly (sealed at rest).
    #[serde(default)]
    pub place_details: Option<String>,
    /// Who attended or will attend (sealed at rest).
    #[serde(default)]
    pub attendees: Option<String>,
    /// Informal, officers in plain clothes: required where the service records it (Cyber
    /// Choices), refused elsewhere.
    #[serde(default)]
    pub informal: Option<bool>,
    /// Notes of the meeting (sealed at rest).
    #[serde(default)]
    pub notes: Option<String>,
    /// Required `true` for a home visit on a case with lone-working concerns.
    #[serde(default)]
    pub lone_working_read: Option<bool>,
}

/// A recorded meeting.
#[derive(Serialize, ToSchema)]
pub struct MeetingView {
    pub id: String,
    pub kind: String,
    pub date: String,
    pub time: String,
    pub place: String,
    pub place_details: Option<String>,
    pub attendees: String,
    pub informal: Option<bool>,
    pub notes: Option<String>,
    pub home_visit: bool,
    /// The worker confirmed reading the lone-working concerns before this home visit.
    pub lone_working_confirmed: bool,
    pub recorded_by: String,
    /// RFC 3339, UTC.
    pub recorded_at: String,
}

impl From<Meeting> for MeetingView {
    fn from(m: Meeting) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            date: m.date.format("%Y-%m-%d").to_string(),
            time: m.time,
            place: m.place,
            place_details: m.place_details,
            attendees: m.attendees,
            informal: m.informal,
            notes: m.notes,
            home_visit: m.home_visit,
            lone_working_confirmed: m.lone_working_confirmed,
            recorded_by: m.recorded_by,
            recorded_at: timestamp(m.created_at),
        }
    }
}

/// A case's meetings and lone-working concerns.
#[derive(Serialize, ToSchema)]
pub struct MeetingsView {
    pub lone_working_concerns: Vec<ConcernView>,
    pub meetings: Vec<MeetingView>,
}

/// The meetings of a case and the lone-working concerns from its referral.
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}/meetings",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Meetings, earliest first, and lone-working concerns", body = MeetingsView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
) -> Result<Json<MeetingsView>, ApiError> {
    let (meetings, concerns) = state
        .cases()
        .meetings(&staff, &reference, state.now())
        .await?;
    Ok(Json(MeetingsView {
        lone_working_concerns: concerns,
        meetings: meetings.into_iter().map(MeetingView::from).collect(),
    }))
}

/// Records a meeting or visit (triage, caseworkers, managers of the team).
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/meetings",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = MeetingRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = MeetingView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not record casework", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 422, description = "Each bad field named: `kind`, `place` not in the service's lists, `date`, `time`, `attendees`, `informal`, or `lone_working_read` missing for a home visit with lone-working concerns", body = ErrorBody)
    )
)]
pub async fn record(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<MeetingRequest>,
) -> Result<(axum::http::StatusCode, Json<MeetingView>), ApiError> {
    let input = MeetingInput {
        kind: request.kind.as_deref(),
        date: request.date.as_deref(),
        time: request.time.as_deref(),
        place: request.place.as_deref(),
        place_details: request.place_details.as_deref(),
        attendees: request.attendees.as_deref(),
        informal: request.informal,
        notes: request.notes.as_deref(),
        lone_working_read: request.lone_working_read == Some(true),
    };
    let recorded = state
        .cases()
        .record_meeting(&staff, &reference, &input, state.now())
        .await?;
    let checked = recorded.meeting;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(MeetingView {
            id: recorded.id,
            kind: checked.kind,
            date: checked.date.format("%Y-%m-%d").to_string(),
            time: checked.time,
            place: checked.place,
            place_details: checked.place_details,
            attendees: checked.attendees,
            informal: checked.informal,
            notes: checked.notes,
            home_visit: checked.home_visit,
            lone_working_confirmed: checked.lone_working_confirmed,
            recorded_by: recorded.actor,
            recorded_at: timestamp(recorded.at),
        }),
    ))
}
