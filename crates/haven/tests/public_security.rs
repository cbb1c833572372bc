//! Security headers of pages and assets, the form-session cookie, CSRF refusal, and the
//! HTML error pages of the public addresses.

use crate::common;
use crate::public_support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, TestAppBuilder};
use haven::web::public::assets;
use haven_pages::naming;
use public_support::Browser;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

fn assert_security_headers(response: &common::TestResponse, what: &str) {
    assert_eq!(
        response.header("content-security-policy"),
        Some(CSP),
        "{what}"
    );
    assert_eq!(
        response.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        response.header("cross-origin-opener-policy"),
        Some("same-origin"),
        "{what}"
    );
    assert_eq!(
        response.header("cross-origin-resource-policy"),
        Some("same-origin"),
        "{what}"
    );
}

#[tokio::test]
async fn every_public_page_has_the_strict_headers_and_is_never_cached() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let mut b = Browser::new(app);
            for path in [
                "/",
                "/services/ceop",
                "/services/ceop/report/who-are-you",
                "/services/secos/resume",
                "/services/nothing-here",
                "/services/ceop/report/pages/no-such-page",
            ] {
                let response = b.get(path).await;
                assert_security_headers(&response, path);
                assert_eq!(response.header("cache-control"), Some("no-store"), "{path}");
                assert_eq!(
                    response.header("content-type"),
                    Some("text/html; charset=utf-8"),
                    "{path}"
                );
            }
            let missing = b.get("/services/nothing-here").await;
            assert_eq!(missing.status, StatusCode::NOT_FOUND);
            assert!(
                missing.text().contains("Page not found"),
                "an HTML 404, not JSON"
            );
        })
        .await;
}

#[tokio::test]
async fn assets_are_fingerprinted_long_cached_typed_and_gzipped() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let page = app
                .get("/services/ceop")
                .await
                .text()
                .replace("&#x2f;", "/");
            let prefix = format!("/assets/{}/", assets::fingerprint());
            assert!(
                page.contains(&format!("{prefix}haven.min.css")),
                "pages link fingerprinted assets"
            );
            for (name, content_type) in [
                ("haven.min.css", "text/css; charset=utf-8"),
                ("haven.js", "text/javascript; charset=utf-8"),
                ("govuk-frontend.min.js", "text/javascript; charset=utf-8"),
                ("images/favicon.svg", "image/svg+xml"),
            ] {
                let response = app
                    .request(
                        Request::get(format!("{prefix}{name}"))
                            .header(header::ACCEPT_ENCODING, "gzip")
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await;
                assert_eq!(response.status, StatusCode::OK, "{name}");
                assert_eq!(
                    response.header("content-type"),
                    Some(content_type),
                    "{name}"
                );
                assert_eq!(
                    response.header("cache-control"),
                    Some("public, max-age=31536000, immutable"),
                    "{name}"
                );
                assert_security_headers(&response, name);
                if name != "images/favicon.svg" {
                    assert_eq!(response.header("content-encoding"), Some("gzip"), "{name}");
                }
            }
            let plain = app.get("/assets/haven.min.css").await;
            assert_eq!(plain.status, StatusCode::OK);
            assert_eq!(
                plain.header("cache-control"),
                Some("public, max-age=3600"),
                "unfingerprinted: short cache"
            );
            let stale = app.get("/assets/000000000000/haven.min.css").await;
            assert_eq!(
                stale.status,
                StatusCode::NOT_FOUND,
                "an unknown fingerprint is not the current file"
            );
            assert_eq!(
                app.get("/assets/../Cargo.toml").await.status,
                StatusCode::NOT_FOUND
            );
        })
        .await;
}

#[tokio::test]
async fn the_session_cookie_is_strict_and_secure_by_setting_not_by_host_header() {
    let request = |host: &str| {
        Request::get("/services/ceop/report/who-are-you")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap()
    };
    // Listening on a public address: `Secure`, whatever `Host` the client sends.
    builtins()
        .bind("0.0.0.0:8080".parse().unwrap())
        .each_engine(async |app: &TestApp| {
            for host in ["haven.example.org", "127.0.0.1:8080", "localhost"] {
                let remote = app.request(request(host)).await;
                let cookie = remote.header("set-cookie").unwrap();
                assert!(cookie.starts_with("haven_form="), "{cookie}");
                assert!(
                    cookie.ends_with("; Path=/services; HttpOnly; SameSite=Strict; Secure"),
                    "{host}: {cookie}"
                );
            }
        })
        .await;
    // The setting wins over the bind address both ways.
    builtins()
        .bind("0.0.0.0:8080".parse().unwrap())
        .cookie_secure(Some(false))
        .each_engine(async |app: &TestApp| {
            let cookie = app.request(request("haven.example.org")).await;
            let cookie = cookie.header("set-cookie").unwrap();
            assert!(cookie.ends_with("SameSite=Strict"), "{cookie}");
        })
        .await;
    builtins()
        .cookie_secure(Some(true))
        .each_engine(async |app: &TestApp| {
            let cookie = app.request(request("127.0.0.1:8080")).await;
            let cookie = cookie.header("set-cookie").unwrap();
            assert!(cookie.ends_with("; Secure"), "{cookie}");
        })
        .await;
    // On loopback (development), plain HTTP works.
    builtins()
        .each_engine(async |app: &TestApp| {
            let local = app.request(request("127.0.0.1:8080")).await;
            let cookie = local.header("set-cookie").unwrap();
            assert!(
                cookie.ends_with("; Path=/services; HttpOnly; SameSite=Strict"),
                "{cookie}"
            );
            // The session id never reaches the database: only its keyed hash.
            let pair = cookie.split(';').next().unwrap().to_owned();
            let id = pair
                .trim_start_matches("haven_form=")
                .split('.')
                .next()
                .unwrap()
                .to_owned();
            let mut b = Browser::new(app);
            b.cookie = Some(pair);
            b.csrf = public_support::csrf_in(&local.text());
            b.post(
                "/services/ceop/report/who-are-you",
                &[(naming::AUDIENCE_FIELD.to_owned(), "parent_carer".to_owned())],
            )
            .await;
            let rows = sqlx::query("SELECT session_hash, answers FROM public_drafts")
                .fetch_all(app.storage.pool())
                .await
                .unwrap();
            assert_eq!(rows.len(), 1);
            let hash: String = sqlx::Row::try_get(&rows[0], 0).unwrap();
            assert_ne!(hash, id);
            assert!(!hash.contains(&id));
        })
        .await;
}

#[tokio::test]
async fn a_post_without_the_right_csrf_token_gets_a_friendly_403() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let mut b = Browser::new(app);
            b.get("/services/ceop/report/who-are-you").await;
            let audience = [(naming::AUDIENCE_FIELD.to_owned(), "parent_carer".to_owned())];
            // Wrong token.
            let mut wrong = vec![(naming::CSRF_FIELD.to_owned(), "0".repeat(64))];
            wrong.extend(audience.iter().cloned());
            let refused = b
                .post_raw("/services/ceop/report/who-are-you", &wrong)
                .await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            assert!(
                refused.text().contains("This page has expired"),
                "{}",
                refused.text()
            );
            assert_eq!(
                refused.header("content-type"),
                Some("text/html; charset=utf-8")
            );
            // No token at all.
            let refused = b
                .post_raw("/services/ceop/report/who-are-you", &audience)
                .await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            // The token of another browser's session.
            let mut other = Browser::new(app);
            other.get("/services/ceop/report/who-are-you").await;
            let mut foreign = vec![(naming::CSRF_FIELD.to_owned(), other.csrf.clone().unwrap())];
            foreign.extend(audience.iter().cloned());
            assert_eq!(
                b.post_raw("/services/ceop/report/who-are-you", &foreign)
                    .await
                    .status,
                StatusCode::FORBIDDEN
            );
            // A right token but no cookie (a new session) is refused too.
            let mut fresh = Browser::new(app);
            fresh.csrf = b.csrf.clone();
            assert_eq!(
                fresh
                    .post("/services/ceop/report/who-are-you", &audience)
                    .await
                    .status,
                StatusCode::FORBIDDEN
            );
            // Nothing was stored by any of them; the right token works.
            let n: i64 = sqlx::Row::try_get(
                &sqlx::query("SELECT COUNT(*) FROM public_drafts")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap(),
                0,
            )
            .unwrap();
            assert_eq!(n, 0);
            let ok = b.post("/services/ceop/report/who-are-you", &audience).await;
            assert_eq!(ok.status, StatusCode::SEE_OTHER);
            // The check-answers and resume forms are guarded the same way.
            for path in [
                "/services/ceop/report/check-answers",
                "/services/secos/resume",
            ] {
                let refused = b
                    .post_raw(path, &[("action".to_owned(), "submit".to_owned())])
                    .await;
                assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
            }
        })
        .await;
}

#[tokio::test]
async fn invited_stages_are_not_reachable_from_the_public_pages() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let response = app
                .get("/services/cyber-choices/referral/who-are-you")
                .await;
            assert_eq!(response.status, StatusCode::NOT_FOUND);
        })
        .await;
}

#[tokio::test]
async fn a_body_over_the_limit_gets_the_html_413_page() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let mut b = Browser::new(app);
            b.get("/services/ceop/report/who-are-you").await;
            let huge = "x".repeat(2 * 1024 * 1024);
            let r = b
                .post(
                    "/services/ceop/report/who-are-you",
                    &[("audience".to_owned(), huge)],
                )
                .await;
            assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
            assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
            assert!(r.text().contains("too large"));
        })
        .await;
}
