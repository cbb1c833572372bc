//! Reopening a closed case (issue 13): only where the service's workflow has a transition
//! marked `reopen`. Closed → reopened → editable again on the pages and through the API; a
//! service without one shows no reopen button, and a request to leave its closed state is
//! refused (page and API alike).

use crate::common;

use axum::http::StatusCode;
use common::staff::{Browser, account};
use common::{TestApp, TestAppBuilder};
use haven::access::Role;
use serde_json::json;

/// A service whose workflow lets a manager or triage officer reopen a closed case.
const REOPENABLE: &str = r#"
id = "reopenable"
name = "Reopenable service"
version = 1
summary = "A service whose closed cases can be reopened."
team = "reopen-team"
reference_prefix = "REO"

[[audiences]]
key = "professional"
label = "I am a professional"

[[stages]]
key = "report"
label = "Report"
access = "public"
audiences = ["professional"]

[[stages.pages]]
key = "report"
title = "Report"

[[stages.pages.questions]]
key = "summary"
type = "long_text"
label = "What happened?"
required = true

[workflow]
initial = "open"

[[workflow.states]]
key = "open"
label = "Open"
public_label = "We are looking at your report"

[[workflow.states]]
key = "closed"
label = "Closed"
public_label = "This report is closed"
terminal = true

[[workflow.transitions]]
from = ["open"]
to = "closed"
label = "Close case"
roles = ["triage", "manager"]
reason_required = true

[[workflow.transitions]]
from = ["closed"]
to = "open"
label = "Reopen case"
roles = ["triage", "manager"]
reason_required = true
reopen = true
"#;

const NOTE: &str = "Note written after reopening 4KQ7";

async fn submit(app: &TestApp, service: &str, stage: &str, answers: serde_json::Value) -> String {
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": service, "stage": stage, "audience": "professional", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

async fn signed_in(app: &TestApp, team: &str) -> Browser {
    let (id, _) = account(app, Role::Triage, Some(team), "a-password-for-tests").await;
    Browser::signed_in(app, &id).await
}

#[tokio::test]
async fn a_closed_case_reopens_where_the_workflow_allows_and_is_editable_again() {
    TestAppBuilder::default()
        .service("reopenable.toml", REOPENABLE)
        .each_engine(async |app| {
            let reference =
                submit(app, "reopenable", "report", json!({"summary": "Worried"})).await;
            let case = format!("/staff/cases/{reference}");
            let mut triage = signed_in(app, "reopen-team").await;
            let csrf = triage.csrf(app, &case).await;
            let closed = triage
                .post(
                    app,
                    &format!("{case}/transitions"),
                    &[
                        ("to", "closed"),
                        ("reason", "Nothing more to do"),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.text());

            // Closed: read-only, with the workflow's reopen as the one action.
            let html = triage.get(app, &case).await.text();
            assert!(html.contains("This case is closed"), "{html}");
            // The banner says what the workflow allows this person: its reopen step.
            assert!(
                html.contains(
                    "It can be read but not changed. To work on it again, use “Reopen case”."
                ),
                "{html}"
            );
            assert!(html.contains("Reopen case"));
            // A caseworker may not reopen it here: the banner names who may.
            let (worker_id, _) = account(
                app,
                Role::Caseworker,
                Some("reopen-team"),
                "a-password-for-tests",
            )
            .await;
            let mut worker = Browser::signed_in(app, &worker_id).await;
            let html = worker.get(app, &case).await.text();
            assert!(
                html.contains(
                    "It can be read but not changed. A triage officer or manager can reopen it."
                ),
                "{html}"
            );
            assert!(!html.contains("To work on it again"), "{html}");
            let refused = triage
                .post(
                    app,
                    &format!("{case}/notes"),
                    &[("body", NOTE), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(refused.status, StatusCode::CONFLICT);
            let form = triage.get(app, &format!("{case}/transitions/open")).await;
            assert_eq!(form.status, StatusCode::OK, "the reopen form");
            assert!(form.text().contains("Reopen case"));

            // Reopened on the page (a reason is asked for, as the workflow says).
            let no_reason = triage
                .post(
                    app,
                    &format!("{case}/transitions"),
                    &[("to", "open"), ("reason", ""), ("csrf", &csrf)],
                )
                .await;
            assert_ne!(no_reason.status, StatusCode::SEE_OTHER);
            let reopened = triage
                .post(
                    app,
                    &format!("{case}/transitions"),
                    &[
                        ("to", "open"),
                        ("reason", "New concerns from school"),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            assert_eq!(
                reopened.status,
                StatusCode::SEE_OTHER,
                "{}",
                reopened.text()
            );
            let html = triage.get(app, &case).await.text();
            assert!(!html.contains("This case is closed"));
            assert!(!html.contains("Reopen case"));
            assert!(html.contains("Close case"));

            // Editable again.
            let note = triage
                .post(
                    app,
                    &format!("{case}/notes"),
                    &[("body", NOTE), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(note.status, StatusCode::SEE_OTHER, "{}", note.text());
            assert!(triage.get(app, &case).await.text().contains(NOTE));
            // The chronology says it in words.
            let chronology = triage.get(app, &format!("{case}/chronology")).await.text();
            assert!(chronology.contains("Reopen"), "{chronology}");

            // The API: close, refused change, reopen, change accepted; and closed again.
            let (_, token) = app.staff(Role::Triage, Some("reopen-team")).await;
            let api = format!("/api/v1/referrals/{reference}");
            let r = app
                .post_with_token(
                    &format!("{api}/transitions"),
                    &token,
                    &json!({"to": "closed", "reason": "Done"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let r = app
                .post_with_token(
                    &format!("{api}/allocation"),
                    &token,
                    &json!({"worker": null}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
            assert!(r.text().contains("case_closed"));
            let r = app
                .post_with_token(
                    &format!("{api}/transitions"),
                    &token,
                    &json!({"to": "open", "reason": "Back again"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert_eq!(r.json()["status"], "open");
            let r = app
                .post_with_token(
                    &format!("{api}/allocation"),
                    &token,
                    &json!({"worker": null}),
                )
                .await;
            assert_ne!(r.status, StatusCode::CONFLICT, "{}", r.text());
            let r = app
                .post_with_token(
                    &format!("{api}/transitions"),
                    &token,
                    &json!({"to": "closed", "reason": "Done again"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "closing twice: {}", r.text());
        })
        .await;
}

#[tokio::test]
async fn a_workflow_without_reopen_shows_no_reopen_and_refuses_one() {
    TestAppBuilder::default()
        .service("reopenable.toml", REOPENABLE)
        .each_engine(async |app| {
            let (reference, _) = app.submit_demo().await;
            let case = format!("/staff/cases/{reference}");
            let mut triage = signed_in(app, "demo-team").await;
            let csrf = triage.csrf(app, &case).await;
            let closed = triage
                .post(
                    app,
                    &format!("{case}/transitions"),
                    &[
                        ("to", "closed"),
                        ("reason", "Nothing more to do"),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.text());
            let html = triage.get(app, &case).await.text();
            assert!(html.contains(
                "This case is closed. It can be read but not changed. It cannot be reopened."
            ));
            assert!(!html.contains("can reopen it"));
            assert!(!html.contains("To work on it again"));
            assert!(!html.contains("Reopen"));
            assert!(!html.contains(&format!("{case}/transitions/")));
            // Asking anyway is refused, and the case stays closed.
            let refused = triage
                .post(
                    app,
                    &format!("{case}/transitions"),
                    &[("to", "new"), ("reason", "Let me back in"), ("csrf", &csrf)],
                )
                .await;
            assert_ne!(refused.status, StatusCode::SEE_OTHER);
            assert!(refused.status.is_client_error(), "{}", refused.status);
            assert_eq!(
                triage
                    .get(app, &format!("{case}/transitions/new"))
                    .await
                    .status,
                StatusCode::NOT_FOUND
            );
            let (_, token) = app.staff(Role::Triage, Some("demo-team")).await;
            let r = app
                .post_with_token(
                    &format!("/api/v1/referrals/{reference}/transitions"),
                    &token,
                    &json!({"to": "new", "reason": "Let me back in"}),
                )
                .await;
            assert!(r.status.is_client_error(), "{} {}", r.status, r.text());
            let stored = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, "closed");
        })
        .await;
}

#[test]
fn a_reopen_must_leave_a_closed_state_for_an_open_one() {
    // `reopen` on a transition between open states is a definition error, as is leaving a
    // closed state without it.
    let wrong = REOPENABLE.replace(
        "from = [\"closed\"]\nto = \"open\"",
        "from = [\"open\"]\nto = \"closed\"",
    );
    let err = haven::services::Registry::from_sources([("r.toml", wrong.as_str())]).unwrap_err();
    assert!(err.to_string().contains("reopen"), "{err}");
    let without = REOPENABLE.replace("reopen = true\n", "");
    let err = haven::services::Registry::from_sources([("r.toml", without.as_str())]).unwrap_err();
    assert!(err.to_string().contains("leaves terminal state"), "{err}");
}
