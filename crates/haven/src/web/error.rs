//! The web layer's one error type, [`WebError`], for the JSON API and the staff pages alike.
//! On an API route every failure a client sees is
//! `{"error": {"code", "message", "fields": [{"field", "message"}]}}`; on an HTML route
//! (the staff pages and the follow-up page) the same error is the GOV.UK error page with the
//! same status and headers (`web/staff/error.rs` renders it, from the [`ErrorPage`] each
//! response carries). Status, code, `Retry-After` and the readiness mark come from one
//! mapping here (storage faults through `web::fault`).
//!
//! Errors are layered: `haven-core` has its own (`FieldError`, `TargetError`), storage has
//! `StorageError`, the application layer `cases::CaseError`; handlers turn them into
//! [`WebError`] (`From`, here only) or with the small constructors below so they read as
//! policy. A 5xx logs its details and answers with a generic message, so SQL text or case
//! data never reach a response body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::answers::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

use super::fault;
use crate::cases::CaseError;
use crate::policy::Decision;
use crate::storage::StorageError;
use crate::storage::fault::Fault;

/// The API's name for [`WebError`] (the same type).
pub type ApiError = WebError;

/// Why a request failed.
#[derive(Debug)]
pub enum WebError {
    /// 400: the request could not be read (malformed JSON, wrong content type).
    BadRequest(String),
    /// 401: no valid API token.
    Unauthorized,
    /// A staff page without a signed-in session (or an expired one): go to the sign-in page.
    SignIn,
    /// Signed in part way: go to the next sign-in step.
    Continue(&'static str),
    /// 403: a form's CSRF token is missing or wrong.
    Csrf,
    /// 403: the caller may not do this.
    Forbidden(String),
    /// 404: nothing here (also for records the caller may not see, so ids cannot be probed).
    NotFound,
    /// 404 from the router: no route has this path.
    NoRoute,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 409: a conflict with the record's state; `code` names the rule.
    Conflict { code: String, message: String },
    /// 413: the body is larger than the limit.
    PayloadTooLarge,
    /// 422: the request was read but some fields are wrong.
    Unprocessable(Vec<FieldError>),
    /// 429: too many requests from this client.
    TooManyRequests { retry_after_secs: u64 },
    /// 503: a dependency (the database) is unavailable, or the request took too long.
    Unavailable,
    /// 409 or 503 for a storage fault that is not a bug (see `web::fault`).
    Storage(Fault),
    /// 500: a bug or an unexpected failure; the detail is logged, never sent.
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`not_found`, `invalid`, …).
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The fields at fault (422), each named by its question key or request field.
    pub fields: Vec<FieldMessage>,
}

/// One field at fault.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldMessage {
    /// `service`, `answers`, or a question key such as `young_person.date_of_birth`.
    pub field: String,
    pub message: String,
}

impl WebError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden(message.into())
    }

    pub fn not_found() -> Self {
        ApiError::NotFound
    }

    pub fn unauthorized() -> Self {
        ApiError::Unauthorized
    }

    /// 422 naming each field with its message.
    pub fn unprocessable<F, M>(fields: impl IntoIterator<Item = (F, M)>) -> Self
    where
        F: Into<String>,
        M: Into<String>,
    {
        ApiError::Unprocessable(
            fields
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        )
    }

    /// 422 from the core's answer validation.
    pub fn invalid_answers(errors: Vec<FieldError>) -> Self {
        ApiError::Unprocessable(errors)
    }

    /// 500; `detail` is logged, not sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal(detail.to_string())
    }

    /// The refusal for a policy decision that did not allow (404 for a case of another
    /// team, so references cannot be probed).
    pub fn from_decision(decision: Decision) -> Result<(), Self> {
        match decision {
            Decision::Allow => Ok(()),
            Decision::Forbidden => Err(WebError::forbidden(
                "Your role does not allow this. Ask a manager if you think it should.",
            )),
            Decision::NotFound => Err(WebError::NotFound),
        }
    }

    /// The error a bare status stands for (used to give responses made by middleware,
    /// such as 405 or 413, the same JSON shape).
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST => ApiError::bad_request("The request could not be read"),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::FORBIDDEN => ApiError::forbidden("You may not do this"),
            StatusCode::NOT_FOUND => ApiError::NoRoute,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::TOO_MANY_REQUESTS => ApiError::TooManyRequests {
                retry_after_secs: 60,
            },
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable,
            s if s.is_client_error() => ApiError::bad_request("The request could not be handled"),
            s => ApiError::Internal(format!("middleware answered {s}")),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::SignIn | ApiError::Continue(_) => StatusCode::SEE_OTHER,
            ApiError::Csrf | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Storage(kind) => fault::status(*kind),
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorDetail {
        let (code, message) = match self {
            ApiError::BadRequest(m) => ("bad_request", m.clone()),
            ApiError::Unauthorized => (
                "unauthorized",
                "Send a valid API token: Authorization: Bearer TOKEN".to_owned(),
            ),
            ApiError::SignIn | ApiError::Continue(_) => {
                ("sign_in", "Sign in to continue".to_owned())
            }
            ApiError::Csrf => (
                "csrf",
                "The form could not be checked; reload the page and try again".to_owned(),
            ),
            ApiError::Forbidden(m) => ("forbidden", m.clone()),
            ApiError::NotFound => ("not_found", "Nothing was found here".to_owned()),
            ApiError::NoRoute => ("no_route", "There is no such address".to_owned()),
            ApiError::MethodNotAllowed => (
                "method_not_allowed",
                "This address does not accept that method".to_owned(),
            ),
            ApiError::Conflict { code, message } => (code.as_str(), message.clone()),
            ApiError::PayloadTooLarge => (
                "payload_too_large",
                "The request body is too large".to_owned(),
            ),
            ApiError::Unprocessable(_) => (
                "invalid",
                "Some answers need correcting; see fields".to_owned(),
            ),
            ApiError::TooManyRequests { .. } => (
                "rate_limited",
                "Too many requests; please wait a few minutes and try again".to_owned(),
            ),
            ApiError::Unavailable | ApiError::Storage(Fault::Unavailable | Fault::Environment) => (
                "unavailable",
                "The service is temporarily unavailable; please try again".to_owned(),
            ),
            ApiError::Storage(Fault::Conflict) => (
                "conflict",
                "This clashed with another change made at the same time; reload and try again"
                    .to_owned(),
            ),
            ApiError::Storage(Fault::Other) => (
                "internal",
                "Something went wrong on our side; nothing you sent was the cause".to_owned(),
            ),
            ApiError::Internal(_) => (
                "internal",
                "Something went wrong on our side; nothing you sent was the cause".to_owned(),
            ),
        };
        let fields = match self {
            ApiError::Unprocessable(fields) => fields
                .iter()
                .map(|f| FieldMessage {
                    field: f.field.clone(),
                    message: f.message.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        ErrorDetail {
            code: code.to_owned(),
            message,
            fields,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.body().code)
    }
}

/// What an HTML route shows for an error: the page's title and sentence. Every error
/// response carries it (as an extension) so the HTML routers can render the page without a
/// second mapping (`web/staff/error.rs`).
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub title: &'static str,
    pub message: String,
}

impl WebError {
    /// The GOV.UK error page's words for this error.
    pub fn page(&self) -> ErrorPage {
        let (title, message) = match self {
            WebError::Csrf => (
                "This form has expired",
                "The form could not be checked. Go back, reload the page and try again.".to_owned(),
            ),
            WebError::Forbidden(_) | WebError::Unauthorized => (
                "You cannot do this",
                "Your role does not allow this. Ask a manager if you think it should.".to_owned(),
            ),
            WebError::NotFound | WebError::NoRoute => (
                "Page not found",
                "If you typed the web address, check it is correct.".to_owned(),
            ),
            WebError::TooManyRequests { retry_after_secs } => (
                "Too many attempts",
                format!(
                    "There have been too many attempts. Wait {} minutes and try again.",
                    retry_after_secs.div_ceil(60)
                ),
            ),
            // A change to a closed case (`cases::closed_refusal`).
            WebError::Conflict { code, .. } if code == "case_closed" => (
                "This case is closed",
                "This case is closed, so it can be read but not changed. Reopen it first, if its workflow allows that.".to_owned(),
            ),
            WebError::Conflict { .. } | WebError::Storage(Fault::Conflict) => (
                "Someone else changed this at the same time",
                "Nothing was saved. Go back, reload the page and try again.".to_owned(),
            ),
            WebError::Unavailable | WebError::Storage(_) => (
                "Sorry, there is a problem with the service",
                "Try again in a few minutes.".to_owned(),
            ),
            WebError::Internal(_) => (
                "Sorry, there is a problem with the service",
                "Try again later.".to_owned(),
            ),
            WebError::BadRequest(_)
            | WebError::MethodNotAllowed
            | WebError::PayloadTooLarge
            | WebError::Unprocessable(_)
            | WebError::SignIn
            | WebError::Continue(_) => (
                "Sorry, there is a problem",
                "The request could not be handled. Go back and try again.".to_owned(),
            ),
        };
        ErrorPage { title, message }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn => return Redirect::to("/staff/sign-in").into_response(),
            WebError::Continue(to) => return Redirect::to(to).into_response(),
            _ => {}
        }
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = ErrorBody { error: self.body() };
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(self.page());
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            ApiError::Storage(kind) => fault::decorate(kind, &mut response),
            _ => {}
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match fault::storage_fault(&e) {
            Fault::Other => ApiError::internal(e),
            other => ApiError::Storage(other),
        }
    }
}

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::NotFound => ApiError::NotFound,
            CaseError::Forbidden(message) => ApiError::Forbidden(message),
            CaseError::Invalid(fields) => ApiError::Unprocessable(fields),
            CaseError::Conflict { code, message } => ApiError::Conflict { code, message },
            CaseError::Storage(e) => e.into(),
            CaseError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}
