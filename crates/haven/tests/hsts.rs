//! `Strict-Transport-Security` is sent exactly when the request came over TLS (as the
//! trusted TLS-terminating proxy says), never over plain HTTP or on an untrusted claim.

use crate::common;

use axum::body::Body;
use axum::http::Request;
use common::TestAppBuilder;

#[tokio::test]
async fn hsts_only_over_tls_through_a_trusted_proxy() {
    let over_tls = || {
        Request::get("/healthz")
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap()
    };
    TestAppBuilder::default()
        .trust_forwarded_for()
        .each_engine(async |app| {
            let r = app.request(over_tls()).await;
            assert_eq!(
                r.header("strict-transport-security"),
                Some("max-age=63072000; includeSubDomains")
            );
            let plain = app.get("/healthz").await;
            assert_eq!(plain.header("strict-transport-security"), None);
        })
        .await;
    TestAppBuilder::default()
        .each_engine(async |app| {
            // Without a trusted proxy anyone could claim https: no header.
            let r = app.request(over_tls()).await;
            assert_eq!(r.header("strict-transport-security"), None);
        })
        .await;
}
