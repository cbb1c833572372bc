//! The shape of the house (issue 11): every staff operation lives once in `cases/`, so the
//! JSON API and the staff pages give the same result and the same refusal; one web error
//! type answers the same storage fault as JSON on the API and as the GOV.UK page on staff
//! pages; and the layering holds (no `web/` area imports another's logic, nothing outside
//! `web/` but the `serve` command imports `web`).

use crate::common;

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use common::staff::Browser;
use common::{Engine, TestApp, TestAppBuilder, sample};
use haven::access::Role;
use serde_json::json;

/// A SECOS referral from the sample; its reference.
async fn secos(app: &TestApp) -> String {
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": sample("secos-referral")}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

/// A member of staff with both an API token and a signed-in browser.
async fn both(app: &TestApp, role: Role, team: &str) -> (String, Browser) {
    let (id, token) = app.staff(role, Some(team)).await;
    (token, Browser::signed_in(app, &id).await)
}

#[tokio::test]
async fn a_caseworker_of_another_team_is_refused_alike_by_the_page_and_the_api() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = secos(app).await;
            let (token, mut browser) = both(app, Role::Caseworker, "cyber-choices").await;
            // The page's CSRF token comes from a page this user may see (the queue).
            let csrf = browser.csrf(app, "/staff/queue").await;

            let api = app
                .post_with_token(
                    &format!("/api/v1/referrals/{reference}/transitions"),
                    &token,
                    &json!({"to": "closed"}),
                )
                .await;
            let page = browser
                .post(
                    app,
                    &format!("/staff/cases/{reference}/transitions"),
                    &[("to", "closed"), ("csrf", &csrf)],
                )
                .await;
            // Another team's case is as if it did not exist, on both.
            assert_eq!(api.status, StatusCode::NOT_FOUND, "{}", api.text());
            assert_eq!(api.error_code(), "not_found");
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.text());
            assert!(page.text().contains("Page not found"), "{}", page.text());

            let api_note = app
                .post_with_token(
                    &format!("/api/v1/referrals/{reference}/allocation"),
                    &token,
                    &json!({"worker": null}),
                )
                .await;
            let page_note = browser
                .post(
                    app,
                    &format!("/staff/cases/{reference}/notes"),
                    &[("body", "a note"), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(api_note.status, StatusCode::NOT_FOUND);
            assert_eq!(page_note.status, StatusCode::NOT_FOUND);
            let referral = app.storage.find_referral(&reference).await.unwrap();
            assert_eq!(referral.unwrap().status, "received", "nothing moved");
        })
        .await;
}

#[tokio::test]
async fn the_page_and_the_api_confirm_a_band_through_the_same_rules() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = secos(app).await;
            let (token, mut browser) = both(app, Role::Triage, "secos").await;
            let case = format!("/staff/cases/{reference}");
            let csrf = browser.csrf(app, &case).await;

            // The same missing reason is refused by both, naming the field.
            let api = app
                .post_with_token(
                    &format!("/api/v1/referrals/{reference}/screening"),
                    &token,
                    &json!({"band": "high", "reason": "  "}),
                )
                .await;
            assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(api.error_fields(), vec!["reason".to_owned()]);
            let page = browser
                .post(
                    app,
                    &format!("{case}/band"),
                    &[("band", "high"), ("reason", " "), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(page.text().contains("href=\"#band-reason\""));

            // A band the service does not have: refused by both.
            let api = app
                .post_with_token(
                    &format!("/api/v1/referrals/{reference}/screening"),
                    &token,
                    &json!({"band": "purple", "reason": "why"}),
                )
                .await;
            assert_eq!(api.error_fields(), vec!["band".to_owned()]);
            let page = browser
                .post(
                    app,
                    &format!("{case}/band"),
                    &[("band", "purple"), ("reason", "why"), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);

            // Done on the page, the API sees exactly that.
            let done = browser
                .post(
                    app,
                    &format!("{case}/band"),
                    &[("band", "high"), ("reason", "page reason"), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
            let shown = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await;
            assert_eq!(shown.json()["screening"]["confirmed_band"], "high");
        })
        .await;
}

#[tokio::test]
async fn one_storage_fault_is_json_on_the_api_and_the_govuk_page_on_staff_pages() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            if app.engine != Engine::Sqlite {
                return;
            }
            let reference = secos(app).await;
            let (token, mut browser) = both(app, Role::Triage, "secos").await;
            let api_path = format!("/api/v1/referrals/{reference}");
            let page_path = format!("/staff/cases/{reference}");
            assert_eq!(browser.get(app, &page_path).await.status, StatusCode::OK);
            let pages: i64 = sqlx::query_scalar("SELECT page_count FROM pragma_page_count()")
                .fetch_one(app.storage.pool())
                .await
                .unwrap();
            app.storage
                .limit_pages(Some(u32::try_from(pages).unwrap()))
                .await
                .unwrap();
            // Each view writes an audit entry: the database fills up.
            let mut full = false;
            for _ in 0..2_000 {
                let r = app.get_with_token(&api_path, &token).await;
                assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
                if r.status == StatusCode::SERVICE_UNAVAILABLE {
                    full = true;
                    break;
                }
            }
            assert!(full, "the database filled up");

            let api = app.get_with_token(&api_path, &token).await;
            assert_eq!(
                api.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                api.text()
            );
            assert_eq!(api.error_code(), "unavailable");
            assert!(api.header("retry-after").is_some());
            assert!(
                api.header("content-type")
                    .unwrap_or_default()
                    .starts_with("application/json")
            );

            let page = browser.get(app, &page_path).await;
            assert_eq!(
                page.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                page.text()
            );
            assert_eq!(page.header("retry-after"), api.header("retry-after"));
            assert!(
                page.header("content-type")
                    .unwrap_or_default()
                    .starts_with("text/html")
            );
            let html = page.text();
            assert!(
                html.contains("Sorry, there is a problem with the service"),
                "{html}"
            );
            assert!(
                !html.contains("\"error\""),
                "no JSON body on a page: {html}"
            );
            app.storage.limit_pages(None).await.unwrap();
        })
        .await;
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Imports that remain for another change to remove: the third-party filter and the
/// answer-in-words formatter move to `haven-core` (a parallel change); the API's upload
/// reader shares the public pages' streaming code.
const KNOWN_UNTIL_MOVED: [(&str, &str); 1] = [("web/api/attachments.rs", "web::public::uploads")];

#[test]
fn no_web_area_imports_another_and_only_serve_imports_web() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let areas = ["api", "staff", "public"];
    let mut problems = Vec::new();
    for file in rust_files(&src) {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap();
        let known = |code: &str| {
            KNOWN_UNTIL_MOVED
                .iter()
                .any(|(f, n)| *f == relative && code.contains(n))
        };
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if let Some(area) = relative
                .strip_prefix("web/")
                .and_then(|r| r.split('/').next())
            {
                // Router assembly (`web/mod.rs`, each area's `mod.rs`) may name handlers.
                if relative == "web/mod.rs" {
                    continue;
                }
                for other in areas.iter().filter(|a| **a != area.trim_end_matches(".rs")) {
                    for needle in [
                        format!("web::{other}::"),
                        format!("super::super::{other}::"),
                    ] {
                        if code.contains(&needle) && !known(code) {
                            problems.push(format!("{relative}:{}: {}", number + 1, line.trim()));
                        }
                    }
                }
            } else if relative != "cli/serve.rs"
                && (code.contains("crate::web::") || code.contains("crate::web;"))
                && !known(code)
            {
                problems.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "imports across the house's walls:\n{}",
        problems.join("\n")
    );
}

#[test]
fn nothing_under_web_reads_the_wall_clock() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut found = Vec::new();
    for file in rust_files(&web) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains("Utc::now()") {
                found.push(format!("{}:{}", file.display(), number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "use AppState::now (the one clock): {found:?}"
    );
}
