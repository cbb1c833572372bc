//! Environment faults (issue 11): a database that cannot be written answers 503 (never
//! 500), `/readyz` says so, and the next request after space returns succeeds without a
//! restart; killed PostgreSQL connections are 503 or retried, never 500.
//!
//! SQLite's "database or disk is full" is real here: `Storage::limit_pages` gives the
//! writer connection a `max_page_count` at the pages in use, so any write that needs a new
//! page fails with SQLITE_FULL (and SQLite rolls the transaction back by itself, the case
//! that used to leave the writer stuck "at non-zero transaction depth").

use crate::common;
use crate::public_support;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::{Engine, TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::storage::StorageError;
use haven::storage::fault::Fault;
use haven::web::error::ApiError;
use serde_json::json;
use sqlx::Connection;

async fn submit(app: &TestApp) -> common::TestResponse {
    app.post_json(
        "/api/v1/submissions",
        &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": sample("secos-referral")}),
    )
    .await
}

#[tokio::test]
async fn a_full_sqlite_database_answers_503_and_recovers_without_a_restart() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            if app.engine != Engine::Sqlite {
                return;
            }
            let created = submit(app).await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
            let reference = created.json()["reference"].as_str().unwrap().to_owned();
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let case = format!("/api/v1/referrals/{reference}");
            assert_eq!(app.get("/readyz").await.status, StatusCode::OK);

            // No room to grow: each case view (which writes an audit entry) eventually
            // needs a new page.
            let pages: i64 = sqlx::query_scalar("SELECT page_count FROM pragma_page_count()")
                .fetch_one(app.storage.pool())
                .await
                .unwrap();
            app.storage
                .limit_pages(Some(u32::try_from(pages).unwrap()))
                .await
                .unwrap();
            let mut full = None;
            for _ in 0..2_000 {
                let r = app.get_with_token(&case, &token).await;
                assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
                if r.status == StatusCode::SERVICE_UNAVAILABLE {
                    full = Some(r);
                    break;
                }
                assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            }
            let full = full.expect("the database filled up");
            assert_eq!(full.error_code(), "unavailable");
            assert!(full.header("retry-after").is_some());

            // While full: readiness says so, writes keep answering 503 (never 500, never
            // the stuck-transaction error), and a submission is refused the same way.
            let ready = app.get("/readyz").await;
            assert_eq!(
                ready.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                ready.text()
            );
            for _ in 0..3 {
                let r = app.get_with_token(&case, &token).await;
                assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
            }
            let refused = submit(app).await;
            assert_eq!(
                refused.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                refused.text()
            );
            assert_eq!(
                app.get("/readyz").await.status,
                StatusCode::SERVICE_UNAVAILABLE
            );

            // Space returns: the very next requests succeed, with no restart.
            app.storage.limit_pages(None).await.unwrap();
            assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
            let r = app.get_with_token(&case, &token).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let again = submit(app).await;
            assert_eq!(again.status, StatusCode::CREATED, "{}", again.text());
        })
        .await;
}

#[tokio::test]
async fn staff_and_public_pages_answer_a_full_database_with_a_503_page() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            if app.engine != Engine::Sqlite {
                return;
            }
            let created = submit(app).await;
            let reference = created.json()["reference"].as_str().unwrap().to_owned();
            let (id, _) =
                common::staff::account(app, Role::Triage, Some("secos"), "a-password-for-tests")
                    .await;
            let mut browser = common::staff::Browser::signed_in(app, &id).await;
            let page = format!("/staff/cases/{reference}");
            assert_eq!(browser.get(app, &page).await.status, StatusCode::OK);
            let pages: i64 = sqlx::query_scalar("SELECT page_count FROM pragma_page_count()")
                .fetch_one(app.storage.pool())
                .await
                .unwrap();
            app.storage
                .limit_pages(Some(u32::try_from(pages).unwrap()))
                .await
                .unwrap();
            let mut full = None;
            for _ in 0..2_000 {
                let r = browser.get(app, &page).await;
                assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
                if r.status == StatusCode::SERVICE_UNAVAILABLE {
                    full = Some(r);
                    break;
                }
            }
            let full = full.expect("the database filled up");
            let html = full.text();
            assert!(
                html.contains("Sorry, there is a problem with the service"),
                "{html}"
            );
            assert!(html.contains("Try again in a few minutes."), "{html}");
            assert!(full.header("retry-after").is_some());
            assert!(
                full.header("content-type")
                    .unwrap_or_default()
                    .starts_with("text/html"),
                "an HTML page"
            );

            // A public form page that starts a draft (a write): the same 503 page, in the
            // service's own layout.
            let mut public = None;
            for _ in 0..200 {
                let mut visitor = public_support::Browser::new(app);
                let r = visitor.get("/services/secos/referral/who-are-you").await;
                assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
                if r.status == StatusCode::SERVICE_UNAVAILABLE {
                    public = Some(r);
                    break;
                }
            }
            let public = public.expect("the draft could not be saved");
            let html = public.text();
            assert!(
                html.contains("Sorry, there is a problem with the service"),
                "{html}"
            );
            assert!(html.contains("Try again in a few minutes."), "{html}");
            assert!(public.header("retry-after").is_some());

            app.storage.limit_pages(None).await.unwrap();
            assert_eq!(browser.get(app, &page).await.status, StatusCode::OK);
        })
        .await;
}

#[tokio::test]
async fn killed_postgres_connections_are_retried_or_503_never_500() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            if app.engine != Engine::Postgres {
                return;
            }
            let created = submit(app).await;
            let reference = created.json()["reference"].as_str().unwrap().to_owned();
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let case = format!("/api/v1/referrals/{reference}");
            assert_eq!(
                app.get_with_token(&case, &token).await.status,
                StatusCode::OK
            );
            // The test's own database only: its URL names it, and the killer is connected
            // to it.
            let mut killer = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
            for round in 0..5 {
                let killed: Vec<bool> = sqlx::query_scalar(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .fetch_all(&mut killer)
                .await
                .unwrap();
                assert!(
                    !killed.is_empty(),
                    "round {round}: the pool had connections"
                );
                // A read after the kill succeeds (a dead connection is replaced or the
                // read retried once).
                let r = app.get_with_token(&case, &token).await;
                assert_eq!(r.status, StatusCode::OK, "round {round}: {}", r.text());
                sqlx::query_scalar::<_, bool>(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .fetch_all(&mut killer)
                .await
                .unwrap();
                // A write after the kill succeeds or answers 503: never 500.
                let r = app
                    .post_with_token(
                        &format!("{case}/screening"),
                        &token,
                        &json!({"band": "high", "reason": format!("Round {round}")}),
                    )
                    .await;
                assert!(
                    matches!(r.status, StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE),
                    "round {round}: {} {}",
                    r.status,
                    r.text()
                );
                if r.status == StatusCode::SERVICE_UNAVAILABLE {
                    assert!(r.header("retry-after").is_some());
                }
            }
            // A connection killed while in use fails with PostgreSQL's "terminating
            // connection" (or an I/O error): a lost connection, answered 503 with
            // Retry-After, never 500.
            let mut conn = app.storage.pool().acquire().await.unwrap();
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .execute(&mut killer)
                .await
                .unwrap();
            let lost = sqlx::query("SELECT 1")
                .execute(&mut *conn)
                .await
                .unwrap_err();
            let error = StorageError::Database(lost);
            assert_eq!(error.fault(), Fault::Unavailable, "{error:?}");
            let response = ApiError::from(error).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(response.headers().contains_key("retry-after"));
            drop(conn);
            killer.close().await.unwrap();
            assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
        })
        .await;
}
