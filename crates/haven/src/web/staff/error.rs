//! Failures of staff pages and the follow-up page, answered as GOV.UK-style HTML pages with
//! the right status. 5xx details are logged, never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::policy::Decision;
use crate::storage::StorageError;
use crate::storage::fault::Fault;
use crate::web::fault;

/// Why a staff page was refused or failed.
#[derive(Debug)]
pub enum StaffError {
    /// Not signed in (or the session expired): go to the sign-in page.
    SignIn,
    /// Signed in part way: go to the next sign-in step.
    Continue(&'static str),
    /// 403: the CSRF token is missing or wrong.
    Csrf,
    /// 403: the role may not do this.
    Forbidden,
    /// 404: nothing here, or a case of another team.
    NotFound,
    /// 429: too many failed attempts.
    TooMany { retry_after_secs: u64 },
    /// 409 or 503 for a storage fault that is not a bug (see `web::fault`).
    Storage(Fault),
    /// 500: logged, never shown.
    Internal(String),
}

impl From<StorageError> for StaffError {
    fn from(e: StorageError) -> Self {
        match fault::storage_fault(&e) {
            Fault::Other => StaffError::Internal(e.to_string()),
            other => StaffError::Storage(other),
        }
    }
}

impl StaffError {
    /// The refusal for a policy decision that did not allow.
    pub fn from_decision(decision: Decision) -> Result<(), Self> {
        match decision {
            Decision::Allow => Ok(()),
            Decision::Forbidden => Err(StaffError::Forbidden),
            Decision::NotFound => Err(StaffError::NotFound),
        }
    }
}

impl IntoResponse for StaffError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            StaffError::SignIn => return Redirect::to("/staff/sign-in").into_response(),
            StaffError::Continue(to) => return Redirect::to(to).into_response(),
            StaffError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form could not be checked. Go back, reload the page and try again.",
            ),
            StaffError::Forbidden => (
                StatusCode::FORBIDDEN,
                "You cannot do this",
                "Your role does not allow this. Ask a manager if you think it should.",
            ),
            StaffError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the web address, check it is correct.",
            ),
            StaffError::TooMany { retry_after_secs } => {
                let mut response = super::render::page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "error.html",
                    json!({
                        "title": "Too many attempts",
                        "message": format!(
                            "There have been too many attempts. Wait {} minutes and try again.",
                            retry_after_secs.div_ceil(60)
                        ),
                    }),
                );
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            StaffError::Storage(kind) => {
                let (title, message) = match kind {
                    Fault::Conflict => (
                        "Someone else changed this at the same time",
                        "Nothing was saved. Go back, reload the page and try again.",
                    ),
                    _ => (
                        "Sorry, there is a problem with the service",
                        "Try again in a few minutes.",
                    ),
                };
                let mut response = error_page(fault::status(kind), title, message);
                fault::decorate(kind, &mut response);
                return response;
            }
            StaffError::Internal(detail) => {
                tracing::error!(error = %detail, "staff page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, there is a problem with the service",
                    "Try again later.",
                )
            }
        };
        error_page(status, title, message)
    }
}

/// The staff error page (GOV.UK layout) with this status, title and message.
fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    match super::render::render("error.html", json!({ "title": title, "message": message })) {
        Ok(body) => super::render::html(status, body),
        // The error page itself failed: a plain sentence, still HTML.
        Err(e) => {
            tracing::error!(error = %e, "the error page failed");
            super::render::html(
                status,
                format!(
                    "<!DOCTYPE html><html lang=\"en-GB\"><head><title>{title}</title></head><body><main><h1>{title}</h1></main></body></html>"
                ),
            )
        }
    }
}
