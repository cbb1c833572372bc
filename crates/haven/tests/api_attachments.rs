//! `POST /api/v1/attachments` and file answers of API submissions (issue 12, item 7): a
//! submission may name only files uploaded for that service and question, unused and within
//! the hour; a made-up id is a 422 naming the question.

use crate::common;

use axum::http::{Method, StatusCode};
use common::{SAMPLE_PDF, TestApp, TestAppBuilder, sample};
use serde_json::{Value, json};
use sqlx::Row;

const TOOL: &str = "assessments.risk_assessment_tool";

/// Text fields, the file part (name, content), the field the refusal names.
type UploadCase<'a> = (
    &'a [(&'a str, &'a str)],
    Option<(&'a str, &'a [u8])>,
    &'a str,
);

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

fn secos(answers: Value) -> Value {
    json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers})
}

/// Posts a submission exactly as given (no uploads swapped in).
async fn submit_as_is(app: &TestApp, body: &Value) -> common::TestResponse {
    app.send(
        Method::POST,
        "/api/v1/submissions",
        Some("application/json"),
        body.to_string(),
    )
    .await
}

#[tokio::test]
async fn made_up_attachment_ids_are_refused_naming_the_question() {
    builtins()
        .each_engine(async |app: &TestApp| {
            // The sample names `att_0123456789abcdef` for the required risk tool.
            let response = submit_as_is(app, &secos(sample("secos-referral"))).await;
            assert_eq!(
                response.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{:?}: {}",
                app.engine,
                response.text()
            );
            assert_eq!(
                response.error_fields(),
                vec![TOOL, "assessments.assessment_document"]
            );
            let n: i64 = sqlx::query("SELECT COUNT(*) FROM referrals")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(n, 0);
        })
        .await;
}

#[tokio::test]
async fn an_uploaded_file_is_usable_once_by_a_submission_for_its_question() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let id = app.upload("secos", TOOL, "tool.pdf", SAMPLE_PDF).await;
            assert!(id.starts_with("att_") && id.len() == 36, "{id}");
            let mut answers = sample("secos-referral");
            answers["assessments"]["risk_assessment_tool"] = json!(id);
            let doc = app
                .upload("secos", "assessments.assessment_document", "doc.pdf", SAMPLE_PDF)
                .await;
            answers["assessments"]["assessment_document"] = json!(doc);
            let response = submit_as_is(app, &secos(answers.clone())).await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let reference = response.json()["reference"].as_str().unwrap().to_owned();
            let referral = app.storage.find_referral(&reference).await.unwrap().unwrap();
            let files = app.storage.referral_attachments(&referral.id).await.unwrap();
            assert_eq!(files.len(), 2);
            let tool = files.iter().find(|f| f.id == id).unwrap();
            assert_eq!(tool.filename, "tool.pdf");
            assert_eq!(
                &app.storage.attachment_content(&id).await.unwrap()[..],
                SAMPLE_PDF
            );
            // The same ids again: already used.
            let again = submit_as_is(app, &secos(answers.clone())).await;
            assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.text());
            assert_eq!(
                again.error_fields(),
                vec![TOOL, "assessments.assessment_document"]
            );
            let fresh = app
                .upload("secos", "assessments.assessment_document", "doc.pdf", SAMPLE_PDF)
                .await;
            answers["assessments"]["assessment_document"] = json!(fresh);
            // A file uploaded for the other question does not answer this one.
            let other = app
                .upload("secos", "assessments.assessment_document", "doc.pdf", SAMPLE_PDF)
                .await;
            answers["assessments"]["risk_assessment_tool"] = json!(other);
            let wrong = submit_as_is(app, &secos(answers.clone())).await;
            assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.text());
            assert_eq!(wrong.error_fields(), vec![TOOL]);
            // An hour later it can no longer be named.
            let late = app.upload("secos", TOOL, "tool.pdf", SAMPLE_PDF).await;
            sqlx::query("UPDATE public_attachments SET upload_expires_at = '2000-01-01T00:00:00Z' WHERE id = $1")
                .bind(&late)
                .execute(app.storage.pool())
                .await
                .unwrap();
            answers["assessments"]["risk_assessment_tool"] = json!(late);
            let expired = submit_as_is(app, &secos(answers)).await;
            assert_eq!(expired.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", expired.text());
        })
        .await;
}

#[tokio::test]
async fn uploads_are_checked_like_the_pages() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let png: &[u8] =
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
            let cases: [UploadCase; 6] = [
                (
                    &[("service", "secos"), ("question", TOOL)],
                    Some(("tool.pdf", png)),
                    "file",
                ),
                (
                    &[("service", "secos"), ("question", TOOL)],
                    Some(("tool.pdf", b"")),
                    "file",
                ),
                (
                    &[("service", "secos"), ("question", "risk_factors")],
                    Some(("a.pdf", SAMPLE_PDF)),
                    "question",
                ),
                (
                    &[("service", "ceop"), ("question", "description")],
                    Some(("a.pdf", SAMPLE_PDF)),
                    "question",
                ),
                (
                    &[("service", "nope"), ("question", TOOL)],
                    Some(("a.pdf", SAMPLE_PDF)),
                    "service",
                ),
                (&[("service", "secos"), ("question", TOOL)], None, "file"),
            ];
            for (fields, file, named) in cases {
                let response = app.post_attachment(fields, file).await;
                assert_eq!(
                    response.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{fields:?}: {}",
                    response.text()
                );
                assert_eq!(response.error_fields(), vec![named], "{fields:?}");
            }
            let n: i64 = sqlx::query("SELECT COUNT(*) FROM public_attachments")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(n, 0, "nothing refused was kept");
            // Too large for the question (10 MB): 422; the route takes no body beyond its limit.
            let mut big = SAMPLE_PDF.to_vec();
            big.resize(10 * 1024 * 1024 + 1, b'%');
            let response = app
                .post_attachment(
                    &[("service", "secos"), ("question", TOOL)],
                    Some(("big.pdf", &big)),
                )
                .await;
            assert_eq!(
                response.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                response.text()
            );
            assert!(response.text().contains("smaller than 10 MB"));
        })
        .await;
}

#[tokio::test]
async fn api_uploads_are_limited_per_address() {
    builtins()
        .upload_limits(1, u64::MAX, u64::MAX)
        .each_engine(async |app: &TestApp| {
            app.upload("secos", TOOL, "tool.pdf", SAMPLE_PDF).await;
            let response = app
                .post_attachment(
                    &[("service", "secos"), ("question", TOOL)],
                    Some(("tool.pdf", SAMPLE_PDF)),
                )
                .await;
            assert_eq!(
                response.status,
                StatusCode::TOO_MANY_REQUESTS,
                "{}",
                response.text()
            );
        })
        .await;
}

#[tokio::test]
async fn two_submissions_racing_for_one_upload_get_one_referral_and_one_422_never_a_500() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let tool = app.upload("secos", TOOL, "tool.pdf", SAMPLE_PDF).await;
            let mut answers = sample("secos-referral");
            answers["assessments"]["risk_assessment_tool"] = json!(tool);
            answers["assessments"]
                .as_object_mut()
                .unwrap()
                .remove("assessment_document");
            answers["assessments"]["not_attached_reason"] = json!("Not yet complete.");
            let body = secos(answers);
            // Both pass the check that the file is free; only one can take it when written.
            let (first, second) = tokio::join!(submit_as_is(app, &body), submit_as_is(app, &body));
            let mut statuses = [first.status, second.status];
            statuses.sort();
            assert_eq!(
                statuses,
                [StatusCode::CREATED, StatusCode::UNPROCESSABLE_ENTITY],
                "{:?}: {} / {}",
                app.engine,
                first.text(),
                second.text()
            );
            let refused = if first.status == StatusCode::CREATED {
                second
            } else {
                first
            };
            assert_eq!(refused.error_fields(), vec![TOOL]);
        })
        .await;
}
