//! `/healthz`, `/readyz`, `/metrics`, and what every response carries.

use crate::common;

use axum::http::StatusCode;
use common::{TestAppBuilder, each_engine};

#[tokio::test]
async fn healthz_answers_ok() {
    each_engine(async |app| {
        let response = app.get("/healthz").await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.text(), "ok");
    })
    .await;
}

#[tokio::test]
async fn readyz_follows_the_database() {
    each_engine(async |app| {
        assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
        app.storage.close().await;
        let response = app.get("/readyz").await;
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{:?}",
            app.engine
        );
        assert_eq!(response.error_code(), "unavailable");
    })
    .await;
}

const METRICS_TOKEN: &str = "metrics-token-for-tests-0123456789";

async fn metrics_with(app: &common::TestApp, token: &str) -> common::TestResponse {
    app.get_with_token("/metrics", token).await
}

#[tokio::test]
async fn the_public_address_serves_metrics_only_with_the_configured_token() {
    // Not configured: no metrics on the public address at all.
    each_engine(async |app| {
        app.submit_demo().await;
        assert_eq!(app.get("/metrics").await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            metrics_with(app, METRICS_TOKEN).await.status,
            StatusCode::NOT_FOUND
        );
    })
    .await;
    // Configured: only that token.
    TestAppBuilder::default()
        .metrics_token(METRICS_TOKEN)
        .each_engine(async |app| {
            assert_eq!(app.get("/metrics").await.status, StatusCode::NOT_FOUND);
            assert_eq!(
                metrics_with(app, "metrics-token-for-tests-wrong")
                    .await
                    .status,
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                metrics_with(app, METRICS_TOKEN).await.status,
                StatusCode::OK
            );
        })
        .await;
}

#[tokio::test]
async fn the_internal_metrics_address_serves_only_metrics() {
    each_engine(async |app| {
        app.submit_demo().await;
        let internal = haven::web::health::internal_router(app.state.clone());
        let get = |path: &str| {
            tower::ServiceExt::oneshot(
                internal.clone(),
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
        };
        let response = get("/metrics").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("haven_submissions_total"));
        let other = get("/api/v1/services").await.unwrap();
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_submissions_by_service() {
    TestAppBuilder::default()
        .metrics_token(METRICS_TOKEN)
        .each_engine(async |app| {
            let (reference, _) = app.submit_demo().await;
            app.get(&format!("/api/v1/referrals/{reference}")).await;
            let response = metrics_with(app, METRICS_TOKEN).await;
            assert_eq!(response.status, StatusCode::OK);
            assert!(
                response
                    .header("content-type")
                    .unwrap()
                    .starts_with("text/plain")
            );
            let text = response.text();
            assert!(
                text.contains(r#"haven_submissions_total{service="demo"}"#),
                "{text}"
            );
            assert!(
                text.contains(r#"route="/api/v1/submissions",status="201""#),
                "{text}"
            );
            // Templates, never concrete paths (which would hold references).
            assert!(
                text.contains(r#"route="/api/v1/referrals/{reference}""#),
                "{text}"
            );
            assert!(!text.contains(&reference));
            assert!(text.contains("http_request_duration_seconds_bucket"));
        })
        .await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    each_engine(async |app| {
        for path in ["/healthz", "/api/v1/services", "/api/v1/nope", "/nope"] {
            let response = app.get(path).await;
            assert_eq!(
                response.header("x-content-type-options"),
                Some("nosniff"),
                "{path}"
            );
            assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
            assert_eq!(
                response.header("content-security-policy"),
                Some(
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
                )
            );
            assert_eq!(
                response.header("cross-origin-opener-policy"),
                Some("same-origin")
            );
            assert_eq!(
                response.header("cross-origin-resource-policy"),
                Some("same-origin")
            );
            assert_eq!(response.header("cache-control"), Some("no-store"));
            assert!(response.header("x-request-id").is_some());
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    each_engine(async |app| {
        let response = app.get("/api/v1/nothing-here").await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.error_code(), "no_route");
        let response = app.get("/api/v1/submissions").await;
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.error_code(), "method_not_allowed");
        assert_eq!(response.header("allow"), Some("POST"));
    })
    .await;
}

#[tokio::test]
async fn a_panicking_handler_answers_a_generic_500() {
    each_engine(async |app| {
        let routes: axum::Router<haven::web::AppState> = axum::Router::new().route(
            "/boom",
            axum::routing::get(|| async {
                let secret = "Alex Example, 2011-04-27";
                panic!("handler failed on {secret}");
                #[allow(unreachable_code)]
                "never"
            }),
        );
        let router =
            haven::web::middleware::apply(routes, &app.state, haven::web::openapi_document())
                .with_state(app.state.clone());
        let response = tower::ServiceExt::oneshot(
            router,
            axum::http::Request::get("/boom")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("\"code\":\"internal\""), "{text}");
        assert!(
            !text.contains("Alex"),
            "nothing of the failure reaches the client"
        );
    })
    .await;
}
