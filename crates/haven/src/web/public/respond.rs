//! What public handlers answer: an HTML page or a 303 redirect, always `no-store`, with the
//! form-session cookie when it is new; and the friendly error pages (never JSON, never a
//! stack trace).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use haven_core::definition::ServiceDefinition;
use haven_pages::{PageContext, PageError};

use super::assets;
use super::session::FormSession;
use crate::storage::fault::Fault;
use crate::web::{AppState, fault};

/// A public page's answer. Handlers return `Result<Reply, Reply>` so `?` can end early with
/// an error page.
#[derive(Debug)]
pub struct Reply {
    status: StatusCode,
    body: Body,
    cookie: Option<HeaderValue>,
    retry_after: Option<u64>,
    /// Set when the page answers a storage fault (`web::fault::decorate`).
    fault: Option<Fault>,
}

#[derive(Debug)]
enum Body {
    Html(String),
    Redirect(String),
}

/// The result type of public handlers.
pub type PageResult = Result<Reply, Reply>;

impl Reply {
    /// A page with status 200.
    pub fn html(html: String) -> Self {
        Self::html_status(StatusCode::OK, html)
    }

    /// A page with another status (422 for a form shown again with errors).
    pub fn html_status(status: StatusCode, html: String) -> Self {
        Self {
            status,
            body: Body::Html(html),
            cookie: None,
            retry_after: None,
            fault: None,
        }
    }

    /// `303 See Other` to `location` (Post/Redirect/Get).
    pub fn redirect(location: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SEE_OTHER,
            body: Body::Redirect(location.into()),
            cookie: None,
            retry_after: None,
            fault: None,
        }
    }

    /// Sets the session cookie on this answer when the session is new.
    pub fn with_session(mut self, session: &FormSession) -> Self {
        self.cookie = session.set_cookie();
        self
    }

    /// The status (tests of handlers' helpers).
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Body::Html(html) => (
                self.status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
            Body::Redirect(location) => {
                let mut r = self.status.into_response();
                if let Ok(value) = HeaderValue::from_str(&location) {
                    r.headers_mut().insert(header::LOCATION, value);
                }
                r
            }
        };
        let headers = response.headers_mut();
        // Form pages hold answers and codes: never cached (a shared computer's Back button).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(cookie) = self.cookie {
            headers.insert(header::SET_COOKIE, cookie);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(fault) = self.fault {
            fault::decorate(fault, &mut response);
        }
        response
    }
}

/// The page context of a request: the session's CSRF token and fingerprinted assets.
pub fn context(state: &AppState, session: &FormSession) -> PageContext {
    let mut ctx = PageContext::new(session.csrf_token(&state.key));
    ctx.asset_path = assets::asset_path();
    ctx.exit_url = super::exit::PATH.to_owned();
    ctx.follow_up_url = format!(
        "{}{}",
        state.options.public_url.trim_end_matches('/'),
        haven_pages::urls::FOLLOW_UP
    );
    ctx
}

/// Turns a render result into a page, or a logged 500 (render failures are bugs; the log
/// line names the error, never answers).
pub fn rendered(status: StatusCode, result: Result<String, PageError>) -> PageResult {
    match result {
        Ok(html) => Ok(Reply::html_status(status, html)),
        Err(e) => {
            tracing::error!(error = %e, "a public page failed to render");
            Err(error(None, StatusCode::INTERNAL_SERVER_ERROR))
        }
    }
}

/// A friendly error page with a message fitting `status`.
pub fn error(def: Option<&ServiceDefinition>, status: StatusCode) -> Reply {
    let message = match status.as_u16() {
        400 => "What was sent could not be read. Go back and try again.",
        403 => {
            "This page has expired, or it was opened in another browser. Go back, reload the \
             page and try again. Your answers so far have been kept."
        }
        404 => "If you typed the web address, check it is correct.",
        413 => {
            "What you sent is too large. If you attached a file, choose a smaller one and try again."
        }
        409 => "What you sent clashed with a change made at the same time. Go back and try again.",
        429 => "You have tried too many times. Wait a few minutes, then try again.",
        503 => "Try again in a few minutes.",
        _ => "Try again later. Your answers so far have been kept.",
    };
    error_with(def, status, message)
}

/// An error page with this message (said to the person as is: no internal details).
pub fn error_with(def: Option<&ServiceDefinition>, status: StatusCode, message: &str) -> Reply {
    let mut ctx = PageContext::new("");
    ctx.asset_path = assets::asset_path();
    ctx.exit_url = super::exit::PATH.to_owned();
    let html = haven_pages::error_page(&ctx, def, status.as_u16(), message).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the error page failed to render");
        "<!DOCTYPE html><html lang=\"en-GB\"><title>Error</title><p>Sorry, there is a problem with the service.</p></html>"
            .to_owned()
    });
    Reply::html_status(status, html)
}

/// 429 with `Retry-After`.
pub fn too_many(def: Option<&ServiceDefinition>, retry_after_secs: u64) -> Reply {
    let mut reply = error(def, StatusCode::TOO_MANY_REQUESTS);
    reply.retry_after = Some(retry_after_secs);
    reply
}

/// Logs a storage failure (without content) and answers the page its fault calls for
/// (`web::fault`): 409, 503 "Sorry, there is a problem with the service — try again in a
/// few minutes" with `Retry-After`, or 500 for a bug.
pub fn storage_failed(def: Option<&ServiceDefinition>, e: &crate::storage::StorageError) -> Reply {
    let kind = fault::storage_fault(e);
    if kind == Fault::Other {
        tracing::error!(error = %e, "public pages: storage failed");
    }
    let mut reply = error(def, fault::status(kind));
    reply.fault = Some(kind);
    reply
}
