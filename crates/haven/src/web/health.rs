//! Operator endpoints: liveness, readiness and Prometheus metrics.
//!
//! Metrics (submission counts by service, in real time) are not for the public: the public
//! address answers `/metrics` only to the bearer token of settings `metrics_token`, and
//! 404 otherwise (as if there were no such route); settings `metrics_bind` serves them on a
//! separate internal address instead ([`internal_router`]).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

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
/// submissions by service. Only with the operator's metrics token (settings
/// `metrics_token`); otherwise 404, as for an unknown route.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 404, description = "Metrics are not served here (no token configured, or not this token)", body = super::error::ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| crate::crypto::sha256_hex(t.trim().as_bytes()));
    let allowed = match (&state.options.metrics_token_hash, given) {
        (Some(expected), Some(given)) => bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            given.as_bytes(),
        )),
        _ => false,
    };
    if !allowed {
        return ApiError::NotFound.into_response();
    }
    render_metrics(&state).into_response()
}

/// The router of settings `metrics_bind`: only `GET /metrics`, no token (the address is
/// internal), nothing else.
pub fn internal_router(state: AppState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { render_metrics(&state) }),
        )
        .with_state(state)
}

fn render_metrics(state: &AppState) -> impl IntoResponse + use<> {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
