//! The one mapping from a storage failure to an HTTP answer, used by the web layer's error
//! type (`WebError`, rendered as JSON or as the staff pages' HTML error page) and by the
//! public pages' `Reply`: a conflict is 409; a busy or lost database 503 with `Retry-After`; a disk that
//! is full, failing or read-only 503 too, and `/readyz` then answers 503 until the database
//! takes a write again. An environment fault is never a 500.
//!
//! The readiness flag lives in `Storage`, but the error types are built without the app
//! state, so an environment fault marks its response ([`WriteFaultSeen`]) and
//! [`note_write_faults`], a middleware with the state, tells the storage.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::storage::StorageError;
use crate::storage::fault::Fault;

/// Seconds a client should wait before trying again after a busy or lost database.
pub const RETRY_AFTER_BUSY_SECS: u64 = 5;

/// Seconds to wait after an environment fault (someone has to free space first).
pub const RETRY_AFTER_ENVIRONMENT_SECS: u64 = 60;

/// Marks a response answered for an environment fault (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct WriteFaultSeen;

/// Classifies a storage failure and logs it (without content: storage errors never carry
/// case data). `Fault::Other` is a bug: callers answer 500.
pub fn storage_fault(e: &StorageError) -> Fault {
    let fault = e.fault();
    match fault {
        Fault::Conflict => tracing::info!(error = %e, "storage conflict"),
        Fault::Unavailable => tracing::warn!(error = %e, "database unavailable"),
        Fault::Environment => tracing::error!(error = %e, "database cannot be written"),
        Fault::Other => {}
    }
    fault
}

/// The status a fault is answered with.
pub fn status(fault: Fault) -> StatusCode {
    match fault {
        Fault::Conflict => StatusCode::CONFLICT,
        Fault::Unavailable | Fault::Environment => StatusCode::SERVICE_UNAVAILABLE,
        Fault::Other => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// How long to ask the client to wait, if at all.
pub fn retry_after(fault: Fault) -> Option<u64> {
    match fault {
        Fault::Unavailable => Some(RETRY_AFTER_BUSY_SECS),
        Fault::Environment => Some(RETRY_AFTER_ENVIRONMENT_SECS),
        Fault::Conflict | Fault::Other => None,
    }
}

/// Adds what every answer to `fault` carries: `Retry-After`, and the readiness mark.
pub fn decorate(fault: Fault, response: &mut Response) {
    if let Some(secs) = retry_after(fault) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if fault == Fault::Environment {
        response.extensions_mut().insert(WriteFaultSeen);
    }
}

/// Middleware: a response marked [`WriteFaultSeen`] makes `/readyz` answer 503 until a
/// probe write succeeds.
pub async fn note_write_faults(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if response.extensions().get::<WriteFaultSeen>().is_some() {
        state.storage.note_fault(Fault::Environment);
    }
    response
}
