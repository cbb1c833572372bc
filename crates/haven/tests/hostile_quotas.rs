//! Per-address allowances under hostile or merely busy clients (issue 12): the live
//! anonymity check has its own allowance and never uses up the submission allowance.

use crate::common;

use axum::http::StatusCode;
use common::TestAppBuilder;
use haven::config::Settings;
use serde_json::json;

#[tokio::test]
async fn many_anonymity_checks_leave_the_submission_allowance_untouched() {
    let defaults = Settings::default();
    assert!(
        defaults.checks_per_window > defaults.submissions_per_window,
        "the check's allowance is the larger one"
    );
    // The real default allowance for submissions (the harness raises it otherwise).
    TestAppBuilder::default()
        .rate_limit(defaults.submissions_per_window)
        .each_engine(async |app| {
            // A reporter who pauses more often than the submission allowance while typing,
            // or a school behind one address.
            for _ in 0..=defaults.submissions_per_window {
                let response = app
                    .post_json(
                        "/api/v1/anonymity-check",
                        &json!({ "text": "someone online asked for photos" }),
                    )
                    .await;
                assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            }
            // Sending still works.
            app.submit_demo().await;
        })
        .await;
}

#[tokio::test]
async fn anonymity_checks_have_their_own_limit() {
    let mut builder = TestAppBuilder::default();
    builder = builder.checks_limit(3);
    builder
        .each_engine(async |app| {
            let check = async || {
                app.post_json("/api/v1/anonymity-check", &json!({ "text": "hello" }))
                    .await
            };
            for _ in 0..3 {
                assert_eq!(check().await.status, StatusCode::OK);
            }
            let limited = check().await;
            assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(limited.error_code(), "rate_limited");
            // The submission allowance is separate.
            app.submit_demo().await;
        })
        .await;
}
