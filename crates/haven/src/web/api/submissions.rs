//! `POST /api/v1/submissions`: a public submission (rate limited per client address).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use haven_core::answers::TargetError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::intake::{self, Channel, IntakeError, Outcome, Submission};
use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, take_allowance};

/// A submission.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRequest {
    /// Service id (`secos`).
    pub service: String,
    /// Stage key; only `public` stages can be submitted here.
    pub stage: String,
    /// Audience key (`professional`, `parent_carer`, …).
    pub audience: String,
    /// Answers keyed by question key (dotted keys are nested objects:
    /// `young_person.date_of_birth` is `{"young_person": {"date_of_birth": "2011-04-02"}}`).
    #[schema(value_type = Object)]
    pub answers: Value,
}

/// A stored submission.
#[derive(Serialize, ToSchema)]
pub struct SubmissionAccepted {
    /// The case reference (`SEC-7K3M-9QXD`).
    pub reference: String,
    /// Shown only now: lets the reporter follow up. `XXXXX-XXXXX-XXXXX-XXXXX`.
    pub receipt_code: String,
    /// What happens next, in plain words.
    pub next_steps: Vec<String>,
    /// Screening found an immediate risk: show `emergency_message` first.
    pub urgent: bool,
    /// The service's emergency message, when urgent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency_message: Option<String>,
}

/// A report the service does not take: nothing was stored; other services are offered.
#[derive(Serialize, ToSchema)]
pub struct SubmissionNotAccepted {
    /// Always `false`.
    pub accepted: bool,
    pub signposts: Vec<SignpostView>,
    /// Why, in plain words.
    pub reason: String,
}

/// Another service offered to the person.
#[derive(Serialize, ToSchema)]
pub struct SignpostView {
    pub key: String,
    pub label: String,
    /// Phone number or web address.
    pub contact: String,
    pub url: Option<String>,
}

/// Counts the request against the client's submission quota before the body is read.
pub struct SubmissionQuota;

impl FromRequestParts<AppState> for SubmissionQuota {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        take_allowance(parts, state, &state.limiter).await?;
        Ok(SubmissionQuota)
    }
}

/// Submits a form.
#[utoipa::path(
    post,
    path = "/api/v1/submissions",
    tag = "submissions",
    request_body = SubmissionRequest,
    responses(
        (status = 201, description = "Stored; the receipt code is shown only now", body = SubmissionAccepted),
        (status = 200, description = "Out of the service's scope: not stored; signposts to other services", body = SubmissionNotAccepted),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 403, description = "The stage is not open to the public", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 422, description = "Unknown service, stage or audience, answers to correct, or free text of an anonymous form that may identify someone (each field named by its question key)", body = ErrorBody),
        (status = 429, description = "Too many submissions from this address", body = ErrorBody)
    )
)]
pub async fn create(
    State(state): State<AppState>,
    _quota: SubmissionQuota,
    ApiJson(request): ApiJson<SubmissionRequest>,
) -> Result<Response, ApiError> {
    let submission = Submission {
        service: request.service,
        stage: request.stage,
        audience: request.audience,
        answers: request.answers,
        files: None,
    };
    let outcome = intake::submit(
        &state.storage,
        &state.registry,
        &state.key,
        Channel::Public,
        &submission,
        &state.options.public_url,
        state.now(),
    )
    .await
    .map_err(intake_error)?;
    Ok(match outcome {
        Outcome::Accepted(accepted) => (
            StatusCode::CREATED,
            Json(SubmissionAccepted {
                reference: accepted.reference,
                receipt_code: accepted.receipt_code,
                next_steps: accepted.next_steps,
                urgent: accepted.urgent,
                emergency_message: accepted.emergency_message,
            }),
        )
            .into_response(),
        Outcome::NotAccepted(not) => (
            StatusCode::OK,
            Json(SubmissionNotAccepted {
                accepted: false,
                signposts: not
                    .signposts
                    .into_iter()
                    .map(|s| SignpostView {
                        key: s.key,
                        label: s.label,
                        contact: s.contact,
                        url: s.url,
                    })
                    .collect(),
                reason: not.reason,
            }),
        )
            .into_response(),
    })
}

fn intake_error(e: IntakeError) -> ApiError {
    match e {
        IntakeError::UnknownService(id) => {
            ApiError::unprocessable([("service", format!("There is no service `{id}`"))])
        }
        IntakeError::Target(TargetError::UnknownStage(stage)) => {
            ApiError::unprocessable([("stage", format!("This service has no stage `{stage}`"))])
        }
        IntakeError::Target(e @ TargetError::UnknownAudience(_))
        | IntakeError::Target(e @ TargetError::AudienceNotAllowed { .. }) => {
            ApiError::unprocessable([("audience", capitalise(&e.to_string()))])
        }
        IntakeError::NotOpen(stage) => ApiError::forbidden(format!(
            "Stage `{stage}` is not open to the public; use the link the team sent you"
        )),
        IntakeError::Invalid(fields) => ApiError::invalid_answers(fields),
        IntakeError::Identifying(answers) => ApiError::unprocessable(
            answers
                .iter()
                .map(|a| (a.question.clone(), a.message()))
                .collect::<Vec<_>>(),
        ),
        IntakeError::NoFreeReference => ApiError::internal(e),
        IntakeError::Storage(e) => e.into(),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
