//! Operator endpoints: liveness, readiness and Prometheus metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use super::error::ApiError;

/// Liveness: the process is up and serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The server is running", body = String, content_type = "text/plain"))
)]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers, and can be written (after a write failed for lack of
/// space, I/O or a read-only database, a probe write must succeed first).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = String, content_type = "text/plain"),
        (status = 503, description = "The database is unreachable, or cannot be written (disk full, I/O error, read-only)", body = super::error::ErrorBody)
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    match state.storage.check_ready().await {
        Ok(()) => Ok("ready"),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            Err(ApiError::Unavailable)
        }
    }
}

/// Prometheus metrics: request counts and latency by route template and status,
/// submissions by service.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
