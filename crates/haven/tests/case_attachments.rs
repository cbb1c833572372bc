//! A case's attached files (issue 13): staff who may open the case list and download every
//! file of every stage, through the API and the staff pages; as an attachment, with the type
//! sniffed when received (never HTML or SVG), `nosniff`; each download audited; a
//! third-party question's file only for roles that see third-party information.

use crate::common;

use axum::http::StatusCode;
use common::staff::Browser;
use common::{SAMPLE_PDF, TestApp, TestAppBuilder, sample};
use haven::access::Role;
use serde_json::json;
use sqlx::Row;

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

/// A PDF spanning several sealed chunks.
fn large_pdf() -> Vec<u8> {
    let mut bytes = SAMPLE_PDF.to_vec();
    bytes.extend((0..300_000u32).map(|i| (i % 251) as u8));
    bytes
}

/// A SECOS referral with a large risk tool file; (reference, referral id, tool id).
async fn secos_case(app: &TestApp) -> (String, String, String) {
    let tool = app
        .upload(
            "secos",
            "assessments.risk_assessment_tool",
            "Risk tool Zoë.pdf",
            &large_pdf(),
        )
        .await;
    let mut answers = sample("secos-referral");
    answers["assessments"]["risk_assessment_tool"] = json!(tool);
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let reference = response.json()["reference"].as_str().unwrap().to_owned();
    let referral = app
        .storage
        .find_referral(&reference)
        .await
        .unwrap()
        .unwrap();
    (reference, referral.id, tool)
}

async fn exports(app: &TestApp, referral_id: &str) -> Vec<String> {
    sqlx::query(
        "SELECT reason FROM audit_log WHERE action = 'case.exported' AND record_id = $1 ORDER BY seq",
    )
    .bind(referral_id)
    .fetch_all(app.storage.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get::<Option<String>, _>(0).unwrap().unwrap_or_default())
    .collect()
}

#[tokio::test]
async fn staff_list_and_download_every_file_as_an_attachment_audited() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (reference, referral_id, tool) = secos_case(app).await;
            let (_, token) = app.staff(Role::Caseworker, Some("secos")).await;
            let list = app
                .get_with_token(
                    &format!("/api/v1/referrals/{reference}/attachments"),
                    &token,
                )
                .await;
            assert_eq!(list.status, StatusCode::OK, "{}", list.text());
            let files = list.json()["attachments"].as_array().unwrap().clone();
            assert_eq!(files.len(), 2, "{files:?}");
            let listed = files.iter().find(|f| f["id"] == tool.as_str()).unwrap();
            assert_eq!(listed["question"], "assessments.risk_assessment_tool");
            assert_eq!(
                listed["question_label"],
                "Tees-wide CSE risk assessment tool"
            );
            assert_eq!(listed["stage"], "referral");
            assert_eq!(listed["stage_label"], "SECOS referral");
            assert_eq!(listed["third_party"], false);
            assert_eq!(listed["media_type"], "application/pdf");
            assert_eq!(listed["filename"], "Risk tool Zoë.pdf");

            assert!(exports(app, &referral_id).await.is_empty());
            let path = format!("/api/v1/referrals/{reference}/attachments/{tool}");
            let got = app.get_with_token(&path, &token).await;
            assert_eq!(got.status, StatusCode::OK, "{}", got.text());
            assert_eq!(&got.body[..], &large_pdf()[..], "every chunk, in order");
            assert_eq!(got.header("content-type"), Some("application/pdf"));
            assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
            let disposition = got.header("content-disposition").unwrap();
            assert!(
                disposition.starts_with("attachment; filename=\""),
                "{disposition}"
            );
            let name = disposition
                .trim_start_matches("attachment; filename=\"")
                .trim_end_matches('"');
            assert!(
                name.starts_with(&format!("{reference}-"))
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "{disposition}"
            );
            assert_eq!(
                exports(app, &referral_id).await,
                vec!["attachment:assessments.risk_assessment_tool"]
            );

            // The staff page route, with a session.
            let (user, _) = app.staff(Role::Triage, Some("secos")).await;
            let mut browser = Browser::signed_in(app, &user).await;
            let page = browser
                .get(app, &format!("/staff/cases/{reference}/attachments/{tool}"))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            assert_eq!(&page.body[..], &large_pdf()[..]);
            assert!(
                page.header("content-disposition")
                    .unwrap()
                    .starts_with("attachment")
            );
            assert_eq!(exports(app, &referral_id).await.len(), 2);

            // A file that is not this case's, and staff of another team: not found.
            let other = app
                .get_with_token(
                    &format!("/api/v1/referrals/{reference}/attachments/att_nope"),
                    &token,
                )
                .await;
            assert_eq!(other.status, StatusCode::NOT_FOUND);
            let (_, stranger) = app.staff(Role::Caseworker, Some("ceop")).await;
            let hidden = app.get_with_token(&path, &stranger).await;
            assert_eq!(hidden.status, StatusCode::NOT_FOUND);
            let unsigned = app
                .get(&format!("/staff/cases/{reference}/attachments/{tool}"))
                .await;
            assert_ne!(unsigned.status, StatusCode::OK);
            assert_eq!(
                exports(app, &referral_id).await.len(),
                2,
                "refusals export nothing"
            );
        })
        .await;
}

#[tokio::test]
async fn pages_and_images_that_run_script_are_never_served_as_such() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (reference, _, tool) = secos_case(app).await;
            let (_, token) = app.staff(Role::Manager, Some("secos")).await;
            let path = format!("/api/v1/referrals/{reference}/attachments/{tool}");
            for stored in [
                "text/html",
                "image/svg+xml",
                "application/xhtml+xml",
                "text/plain",
            ] {
                sqlx::query("UPDATE public_attachments SET media_type = $1 WHERE id = $2")
                    .bind(stored)
                    .bind(&tool)
                    .execute(app.storage.pool())
                    .await
                    .unwrap();
                let got = app.get_with_token(&path, &token).await;
                assert_eq!(got.status, StatusCode::OK);
                assert_eq!(
                    got.header("content-type"),
                    Some("application/octet-stream"),
                    "{stored}"
                );
                assert!(
                    got.header("content-disposition")
                        .unwrap()
                        .starts_with("attachment")
                );
                assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
            }
        })
        .await;
}

#[tokio::test]
async fn a_third_party_file_needs_view_third_party() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (reference, referral_id, tool) = secos_case(app).await;
            // The file answers a third-party question (as a service may define one).
            sqlx::query(
                "UPDATE public_attachments SET question = 'lone_working.details' WHERE id = $1",
            )
            .bind(&tool)
            .execute(app.storage.pool())
            .await
            .unwrap();
            let path = format!("/api/v1/referrals/{reference}/attachments/{tool}");
            let list = format!("/api/v1/referrals/{reference}/attachments");
            // Auditors open every case but never see third-party information.
            let (_, auditor) = app.staff(Role::Auditor, None).await;
            let listed = app.get_with_token(&list, &auditor).await;
            assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
            let ids: Vec<&str> = listed.json()["attachments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
                .leak()
                .iter()
                .map(String::as_str)
                .collect();
            assert_eq!(ids.len(), 1);
            assert!(!ids.contains(&tool.as_str()));
            let refused = app.get_with_token(&path, &auditor).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
            assert!(exports(app, &referral_id).await.is_empty());
            // The team's caseworker sees it, flagged.
            let (_, worker) = app.staff(Role::Caseworker, Some("secos")).await;
            let listed = app.get_with_token(&list, &worker).await.json();
            let flagged = listed["attachments"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == tool.as_str())
                .unwrap()
                .clone();
            assert_eq!(flagged["third_party"], true);
            let got = app.get_with_token(&path, &worker).await;
            assert_eq!(got.status, StatusCode::OK);
            assert_eq!(
                exports(app, &referral_id).await,
                vec!["attachment:lone_working.details"]
            );
        })
        .await;
}
