//! `POST /api/v1/submissions`.

use crate::common;

use axum::http::{Method, StatusCode};
use common::{TestApp, TestAppBuilder, each_engine, valid_submission};
use haven::storage::audit::ChainCheck;
use serde_json::{Value, json};
use sqlx::{Column, Row};

fn is_crockford(s: &str) -> bool {
    s.chars()
        .all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c))
}

#[tokio::test]
async fn a_valid_submission_is_stored_with_a_reference_and_a_receipt_code() {
    each_engine(async |app| {
        let response = app
            .post_json("/api/v1/submissions", &valid_submission())
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        let body = response.json();
        let reference = body["reference"].as_str().unwrap();
        let parts: Vec<&str> = reference.split('-').collect();
        assert_eq!(parts[0], "DEM");
        assert!(
            parts.len() == 3 && parts[1..].iter().all(|p| p.len() == 4 && is_crockford(p)),
            "{reference}"
        );
        let code = body["receipt_code"].as_str().unwrap();
        let groups: Vec<&str> = code.split('-').collect();
        assert!(
            groups.len() == 4 && groups.iter().all(|g| g.len() == 5 && is_crockford(g)),
            "{code}"
        );
        assert_eq!(
            body["next_steps"][0],
            "We will read your referral within 5 working days."
        );

        let stored = app.storage.find_referral(reference).await.unwrap().unwrap();
        assert_eq!(stored.service, "demo");
        assert_eq!(stored.team, "demo-team");
        assert_eq!(stored.status, "new", "the workflow's initial state");
        assert_eq!(stored.answers, valid_submission()["answers"]);
        let events = app.storage.referral_events(&stored.id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "received");
        assert_eq!(events[0].to_status.as_deref(), Some("new"));
        let audit = app
            .storage
            .audit_actions_for("referral", &stored.id)
            .await
            .unwrap();
        assert_eq!(
            audit,
            vec![("public".to_owned(), "submission.created".to_owned())]
        );
        assert!(matches!(
            app.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { .. }
        ));
    })
    .await;
}

/// Every text value of every row of `table`.
async fn text_values(app: &TestApp, table: &'static str) -> Vec<String> {
    let sql = format!("SELECT * FROM {table}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(app.storage.pool())
        .await
        .unwrap();
    let mut values = Vec::new();
    for row in &rows {
        for column in row.columns() {
            if let Ok(Some(text)) = row.try_get::<Option<String>, _>(column.ordinal()) {
                values.push(text);
            }
        }
    }
    values
}

#[tokio::test]
async fn the_receipt_code_is_stored_only_as_a_keyed_hash() {
    each_engine(async |app| {
        let (reference, code) = app.submit_demo().await;
        let bare = code.replace('-', "");
        for table in ["referrals", "referral_events", "audit_log"] {
            for value in text_values(app, table).await {
                let upper = value.to_uppercase();
                assert!(
                    !upper.contains(&code) && !upper.contains(&bare),
                    "{table} holds the code"
                );
            }
        }
        let stored_hash: String =
            sqlx::query("SELECT receipt_hash FROM referrals WHERE reference = $1")
                .bind(&reference)
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
        assert_eq!(stored_hash, app.key.receipt_hash(&code.to_lowercase()));
        // Nor does it reach the disk in any form (SQLite: the file and its WAL).
        if let Some(file) = &app.db.sqlite_file {
            let mut bytes = std::fs::read(file).unwrap();
            bytes.extend(std::fs::read(file.with_extension("db-wal")).unwrap_or_default());
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.contains(&reference), "the check reads the right file");
            assert!(!text.contains(&code) && !text.contains(&bare));
        }
    })
    .await;
}

async fn submit(app: &TestApp, body: Value) -> common::TestResponse {
    app.post_json("/api/v1/submissions", &body).await
}

fn with(path: &[&str], value: Value) -> Value {
    let mut body = valid_submission();
    let mut target = &mut body;
    for key in &path[..path.len() - 1] {
        target = &mut target[*key];
    }
    target[path[path.len() - 1]] = value;
    body
}

#[tokio::test]
async fn unknown_service_stage_or_audience_is_422_naming_the_field() {
    each_engine(async |app| {
        for (field, body) in [
            ("service", with(&["service"], json!("nope"))),
            ("stage", with(&["stage"], json!("nope"))),
            ("audience", with(&["audience"], json!("nope"))),
            // A real audience the stage is not open to.
            ("audience", with(&["audience"], json!("young_person"))),
        ] {
            let response = submit(app, body).await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
            assert_eq!(response.error_fields(), [field]);
            assert_eq!(response.error_code(), "invalid");
        }
    })
    .await;
}

#[tokio::test]
async fn stages_not_open_to_the_public_are_403() {
    each_engine(async |app| {
        for stage in ["detailed", "internal"] {
            let body = json!({"service": "demo", "stage": stage, "audience": "professional", "answers": {}});
            let response = submit(app, body).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{stage}");
            assert_eq!(response.error_code(), "forbidden");
        }
    })
    .await;
}

#[tokio::test]
async fn answer_errors_are_422_naming_each_question_key() {
    each_engine(async |app| {
        // Missing required answers.
        let mut body = valid_submission();
        body["answers"]["young_person"]
            .as_object_mut()
            .unwrap()
            .remove("name");
        body["answers"]
            .as_object_mut()
            .unwrap()
            .remove("immediate_danger");
        let response = submit(app, body).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut fields = response.error_fields();
        fields.sort();
        assert_eq!(fields, ["immediate_danger", "young_person.name"]);
        assert!(
            response.json()["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .len()
                > 5
        );

        // Wrong types.
        let response = submit(
            app,
            with(&["answers", "young_person", "age"], json!("fourteen")),
        )
        .await;
        assert_eq!(response.error_fields(), ["young_person.age"]);
        let response = submit(app, with(&["answers", "immediate_danger"], json!("no"))).await;
        assert_eq!(response.error_fields(), ["immediate_danger"]);
        let response = submit(
            app,
            with(
                &["answers", "young_person", "date_of_birth"],
                json!("2099-01-01"),
            ),
        )
        .await;
        assert_eq!(response.error_fields(), ["young_person.date_of_birth"]);

        // Unknown keys.
        let response = submit(app, with(&["answers", "favourite_colour"], json!("blue"))).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.error_fields(), ["favourite_colour"]);

        // Answers that are not an object.
        let response = submit(app, with(&["answers"], json!([1, 2]))).await;
        assert_eq!(response.error_fields(), ["answers"]);

        // Nothing was stored by any of these.
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM referrals")
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, 0);
    })
    .await;
}

#[tokio::test]
async fn request_fields_of_the_wrong_type_or_missing_are_422_naming_them() {
    each_engine(async |app| {
        let response = submit(app, with(&["service"], json!(5))).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.error_fields(), ["service"]);
        let mut body = valid_submission();
        body.as_object_mut().unwrap().remove("answers");
        let response = submit(app, body).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.error_fields(), ["answers"]);
        let response = submit(app, with(&["extra"], json!(1))).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.error_fields(), ["extra"]);
    })
    .await;
}

#[tokio::test]
async fn malformed_json_is_400() {
    each_engine(async |app| {
        for body in ["{\"service\": ", "not json", "{} {}"] {
            let response = app
                .send(
                    Method::POST,
                    "/api/v1/submissions",
                    Some("application/json"),
                    body,
                )
                .await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(response.error_code(), "bad_request");
        }
        let response = app
            .send(
                Method::POST,
                "/api/v1/submissions",
                Some("text/plain"),
                valid_submission().to_string(),
            )
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn oversized_bodies_are_413_in_the_error_shape() {
    each_engine(async |app| {
        let mut body = valid_submission();
        body["answers"]["details"] = json!("x".repeat(2 * 1024 * 1024));
        let response = submit(app, body).await;
        assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.error_code(), "payload_too_large");
    })
    .await;
}

#[tokio::test]
async fn submissions_beyond_the_rate_limit_are_429() {
    TestAppBuilder::default()
        .rate_limit(2)
        .each_engine(async |app| {
            app.submit_demo().await;
            // Failed attempts count too, so the limit also bounds probing.
            let response = submit(app, with(&["service"], json!("nope"))).await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            let response = submit(app, valid_submission()).await;
            assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(response.error_code(), "rate_limited");
            assert!(response.header("retry-after").is_some());
            // Other endpoints are not limited.
            assert_eq!(app.get("/api/v1/services").await.status, StatusCode::OK);
        })
        .await;
}
