//! What every request and response goes through: request ids, tracing without bodies or
//! credentials, metrics, security headers, the error shape, panics, timeouts, body limits.

use std::any::Any;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::AppState;
use super::error::ApiError;
use super::extract::TrustForwardedFor;
use super::openapi::OpenApiJson;

/// Content-Security-Policy for every response: JSON and the server-rendered pages, which
/// have no inline script or style (`haven-pages` tests check every page).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Histogram buckets for request latency, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process-wide Prometheus recorder. The `metrics` facade has one global recorder, so
/// it is installed once and every router (tests build many) shares its handle.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = match builder.set_buckets(&LATENCY_BUCKETS) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "latency buckets refused; using summaries");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "a metrics recorder was already installed");
            }
            metrics::describe_counter!(
                "http_requests_total",
                "HTTP requests by route template and status"
            );
            metrics::describe_histogram!(
                "http_request_duration_seconds",
                metrics::Unit::Seconds,
                "HTTP request latency by route template and status"
            );
            metrics::describe_counter!("haven_submissions_total", "Submissions stored, by service");
            handle
        })
        .clone()
}

/// Adds the middleware stack to `router`.
pub fn apply(
    router: Router<AppState>,
    state: &AppState,
    document: utoipa::openapi::OpenApi,
) -> Router<AppState> {
    let document = OpenApiJson(Arc::from(document.to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not serialise the OpenAPI document");
        "{}".to_owned()
    })));
    let sensitive: Arc<[HeaderName]> = Arc::from(vec![
        header::AUTHORIZATION,
        header::COOKIE,
        HeaderName::from_static("x-receipt-code"),
    ]);
    let trace = TraceLayer::new_for_http()
        // Method and path only: never the query string, headers or body.
        .make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            tracing::info_span!("request", method = %request.method(), route, request_id)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    // Router::layer wraps what is already there, so the LAST layer added is the OUTERMOST:
    // read this list from the bottom (first to see a request) to the top (next to handlers).
    router
        .layer(axum::Extension(TrustForwardedFor(
            state.options.trust_forwarded_for,
        )))
        .layer(axum::Extension(document))
        .layer(DefaultBodyLimit::max(state.options.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.options.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(map_response(normalise_errors))
        .layer(from_fn(record_metrics))
        .layer(from_fn_with_state(
            state.options.trust_forwarded_for,
            strict_transport_security,
        ))
        // Nothing may be cached unless its handler says so (only fingerprinted assets do).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::from_shared(sensitive))
}

/// HSTS value sent when the request reached Haven over TLS (two years, subdomains too).
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Adds `Strict-Transport-Security` to responses to requests that came over TLS. Haven
/// itself listens on plain HTTP behind a TLS-terminating proxy, so "over TLS" means the
/// trusted proxy said `X-Forwarded-Proto: https`; over plain HTTP the header is ignored by
/// browsers anyway and is left out.
async fn strict_transport_security(
    axum::extract::State(trust_proxy): axum::extract::State<bool>,
    request: Request,
    next: Next,
) -> Response {
    let over_tls = trust_proxy
        && request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let mut response = next.run(request).await;
    if over_tls {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

/// Counts requests and their latency by method, route template (never the concrete path,
/// which would hold references) and status.
async fn record_metrics(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    };
    let response = next.run(request).await;
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Gives error responses made outside the handlers (405 from the method router, 503 from
/// the timeout, …) the contract's JSON shape, keeping their `Allow`/`Retry-After`. HTML
/// error pages of the public pages are already what a browser should see: left alone.
async fn normalise_errors(response: Response) -> Response {
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let already_shaped = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !is_error || already_shaped {
        return response;
    }
    let mut replaced = ApiError::from_status(status).into_response();
    *replaced.status_mut() = status;
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            replaced.headers_mut().insert(name, value.clone());
        }
    }
    replaced
}

/// A panic in a handler: log that it happened (not the payload, which may quote input) and
/// answer a generic 500.
fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::internal("a request handler panicked").into_response()
}
