//! Staff sign-in: password, forced change, TOTP enrolment and reuse, recovery codes,
//! throttling, sessions' idle and absolute expiry, invalidation, CSRF.

use crate::common;

use axum::http::StatusCode;
use chrono::TimeDelta;
use common::staff::{Browser, account, code_now, csrf_of, location, secret_of};
use common::{TestApp, each_engine};
use haven::access::Role;

const ONE_TIME: &str = "one-time-password-1";
const CHOSEN: &str = "Correct-Horse-Battery-42";

async fn sign_in(app: &TestApp, email: &str, password: &str) -> (Browser, common::TestResponse) {
    let mut browser = Browser::default();
    let csrf = browser.csrf(app, "/staff/sign-in").await;
    let response = browser
        .post(
            app,
            "/staff/sign-in",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await;
    (browser, response)
}

/// First sign-in all the way through; returns the browser, the TOTP secret and the
/// recovery codes.
async fn first_sign_in(app: &TestApp, email: &str) -> (Browser, String, Vec<String>) {
    let (mut browser, response) = sign_in(app, email, ONE_TIME).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert_eq!(location(&response), "/staff/password");
    let csrf = browser.csrf(app, "/staff/password").await;
    let response = browser
        .post(
            app,
            "/staff/password",
            &[
                ("current_password", ONE_TIME),
                ("new_password", CHOSEN),
                ("confirm_password", CHOSEN),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(
        location(&response),
        "/staff/sign-in/set-up",
        "{}",
        response.text()
    );
    let page = browser.get(app, "/staff/sign-in/set-up").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("<svg") && html.contains("role=\"img\""),
        "a QR code"
    );
    // Nothing the CSP (no inline script or style) would block: the one script is the
    // staff bundle, loaded from its own address.
    assert!(!html.contains(" style=") && !html.contains("data:"));
    assert_eq!(
        html.matches("<script").count(),
        html.matches(r#"<script type="module" src="/staff/assets/staff.min.js"></script>"#)
            .count()
    );
    assert!(page.header("content-security-policy").is_some());
    let secret = secret_of(&html);
    let csrf = csrf_of(&html);
    let response = browser
        .post(
            app,
            "/staff/sign-in/set-up",
            &[("code", &code_now(app, &secret)), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let codes: Vec<String> = response
        .text()
        .split("<code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (browser, secret, codes)
}

async fn sign_out(app: &TestApp, browser: &mut Browser) {
    let csrf = browser.csrf(app, "/staff/queue").await;
    let response = browser
        .post(app, "/staff/sign-out", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&response), "/staff/sign-in");
}

#[tokio::test]
async fn a_first_sign_in_changes_the_password_enrols_totp_and_reaches_the_queue() {
    each_engine(async |app| {
        let (user_id, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
        let (mut browser, response) = sign_in(app, &email, ONE_TIME).await;
        let cookie = response.header("set-cookie").unwrap_or_default().to_owned();
        let all: Vec<String> = response
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let session = all
            .iter()
            .find(|c| c.starts_with("haven_session="))
            .unwrap();
        assert!(
            session.contains("HttpOnly")
                && session.contains("Secure")
                && session.contains("SameSite=Strict"),
            "{cookie}"
        );
        // Weak passwords are refused, naming the field.
        let csrf = browser.csrf(app, "/staff/password").await;
        for weak in ["short-pw", "1qaz2wsx3edc"] {
            let response = browser
                .post(
                    app,
                    "/staff/password",
                    &[
                        ("current_password", ONE_TIME),
                        ("new_password", weak),
                        ("confirm_password", weak),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(response.text().contains("href=\"#new_password\""));
        }
        drop(browser);
        let (mut browser, _secret, _codes) = first_sign_in(app, &email).await;
        let queue = browser.get(app, "/staff/queue").await;
        assert_eq!(queue.status, StatusCode::OK, "{}", queue.text());
        assert_eq!(queue.header("cache-control"), Some("no-store"));
        let actions = app
            .storage
            .audit_actions_for("staff_user", &user_id)
            .await
            .unwrap();
        let actions: Vec<&str> = actions.iter().map(|(_, a)| a.as_str()).collect();
        for expected in [
            "signin.password_accepted",
            "user.password_changed",
            "user.second_factor_enrolled",
            "signin.succeeded",
        ] {
            assert!(actions.contains(&expected), "{expected} in {actions:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_get_the_same_answer_and_are_audited() {
    each_engine(async |app| {
        let (user_id, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
        let mut browser = Browser::default();
        let csrf = browser.csrf(app, "/staff/sign-in").await;
        let wrong = browser
            .post(
                app,
                "/staff/sign-in",
                &[
                    ("email", &email),
                    ("password", "not the password"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        let unknown = browser
            .post(
                app,
                "/staff/sign-in",
                &[
                    ("email", "nobody@example.org"),
                    ("password", "not the password"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(wrong.status, unknown.status);
        assert_eq!(
            wrong.text().replace(&email, "EMAIL"),
            unknown.text().replace("nobody@example.org", "EMAIL")
        );
        assert!(wrong.header("set-cookie").is_none());
        let actions = app
            .storage
            .audit_actions_for("staff_user", &user_id)
            .await
            .unwrap();
        assert!(actions.iter().any(|(_, a)| a == "signin.failed"));
    })
    .await;
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_429_even_with_the_right_password() {
    each_engine(async |app| {
        let (_, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
        for _ in 0..5 {
            let (_, response) = sign_in(app, &email, "wrong password!").await;
            assert_eq!(response.status, StatusCode::OK);
        }
        let (_, response) = sign_in(app, &email, ONE_TIME).await;
        assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(response.header("retry-after").is_some());
        app.state.staff.clock.advance(TimeDelta::minutes(16));
        let (_, response) = sign_in(app, &email, ONE_TIME).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn a_used_totp_code_is_refused_and_recovery_codes_work_once() {
    each_engine(async |app| {
        let (_, email) = account(app, Role::Manager, Some("demo-team"), ONE_TIME).await;
        let (mut browser, secret, codes) = first_sign_in(app, &email).await;
        sign_out(app, &mut browser).await;
        // The enrolment code's step is used: the same code is refused.
        let (mut browser, response) = sign_in(app, &email, CHOSEN).await;
        assert_eq!(location(&response), "/staff/sign-in/code");
        let csrf = browser.csrf(app, "/staff/sign-in/code").await;
        let used = code_now(app, &secret);
        let response = browser
            .post(
                app,
                "/staff/sign-in/code",
                &[("code", &used), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a reused code"
        );
        app.state.staff.clock.advance(TimeDelta::seconds(30));
        let fresh = code_now(app, &secret);
        let response = browser
            .post(
                app,
                "/staff/sign-in/code",
                &[("code", &fresh), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(location(&response), "/staff/queue");
        sign_out(app, &mut browser).await;
        // A recovery code works once.
        for expected in [StatusCode::SEE_OTHER, StatusCode::UNPROCESSABLE_ENTITY] {
            let (mut browser, _) = sign_in(app, &email, CHOSEN).await;
            let csrf = browser.csrf(app, "/staff/sign-in/code").await;
            let response = browser
                .post(
                    app,
                    "/staff/sign-in/code",
                    &[("code", &codes[0]), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(response.status, expected);
        }
    })
    .await;
}

#[tokio::test]
async fn sessions_end_after_30_idle_minutes_or_8_hours() {
    each_engine(async |app| {
        let (user_id, _) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
        let mut idle = Browser::signed_in(app, &user_id).await;
        let mut busy = Browser::signed_in(app, &user_id).await;
        assert_eq!(idle.get(app, "/staff/queue").await.status, StatusCode::OK);
        for _ in 0..2 {
            app.state.staff.clock.advance(TimeDelta::minutes(20));
            assert_eq!(busy.get(app, "/staff/queue").await.status, StatusCode::OK);
        }
        let response = idle.get(app, "/staff/queue").await;
        assert_eq!(location(&response), "/staff/sign-in", "idle for 40 minutes");
        for _ in 0..22 {
            app.state.staff.clock.advance(TimeDelta::minutes(20));
            busy.get(app, "/staff/queue").await;
        }
        let response = busy.get(app, "/staff/queue").await;
        assert_eq!(location(&response), "/staff/sign-in", "past 8 hours");
    })
    .await;
}

#[tokio::test]
async fn a_password_or_role_change_ends_every_session_of_the_account() {
    each_engine(async |app| {
        let (_, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
        let (mut first, _, _) = first_sign_in(app, &email).await;
        let user = app
            .storage
            .find_user_by_email(&email)
            .await
            .unwrap()
            .unwrap();
        let mut other = Browser::signed_in(app, &user.id).await;
        assert_eq!(other.get(app, "/staff/queue").await.status, StatusCode::OK);
        let csrf = first.csrf(app, "/staff/password").await;
        let new = "Another-Long-Passphrase-7";
        let response = first
            .post(
                app,
                "/staff/password",
                &[
                    ("current_password", CHOSEN),
                    ("new_password", new),
                    ("confirm_password", new),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(location(&response), "/staff/queue");
        assert_eq!(
            location(&other.get(app, "/staff/queue").await),
            "/staff/sign-in"
        );
        assert_eq!(
            first.get(app, "/staff/queue").await.status,
            StatusCode::OK,
            "the changer's new session"
        );
        app.storage
            .change_role(
                &user.id,
                Role::Caseworker,
                Some("demo-team"),
                "test",
                app.state.staff.clock.now(),
            )
            .await
            .unwrap();
        assert_eq!(
            location(&first.get(app, "/staff/queue").await),
            "/staff/sign-in"
        );
    })
    .await;
}

#[tokio::test]
async fn state_changing_forms_without_the_right_csrf_token_are_refused_with_403() {
    each_engine(async |app| {
        let (reference, _) = app.submit_demo().await;
        let (user_id, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
        let mut browser = Browser::signed_in(app, &user_id).await;
        let note = format!("/staff/cases/{reference}/notes");
        for csrf in [None, Some("forged")] {
            let mut form = vec![("body", "a note")];
            if let Some(c) = csrf {
                form.push(("csrf", c));
            }
            let response = browser.post(app, &note, &form).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN);
            assert!(
                response
                    .header("content-type")
                    .unwrap()
                    .starts_with("text/html")
            );
            let response = browser.post(app, "/staff/sign-out", &form[1..]).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN);
        }
        // Another session's token is not this one's.
        let mut other = Browser::signed_in(app, &user_id).await;
        let theirs = other.csrf(app, "/staff/queue").await;
        let response = browser
            .post(app, &note, &[("body", "x"), ("csrf", &theirs)])
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN);
        // The sign-in form needs its cookie's token.
        let response = Browser::default()
            .post(
                app,
                "/staff/sign-in",
                &[("email", &email), ("password", ONE_TIME), ("csrf", "x")],
            )
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN);
        let mine = browser.csrf(app, "/staff/queue").await;
        let response = browser
            .post(app, &note, &[("body", "a note"), ("csrf", &mine)])
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
    })
    .await;
}

/// A password attempt from `address` (behind a trusted proxy), with the double-submit
/// sign-in token a browser would have.
async fn attempt_from(app: &TestApp, email: &str, password: &str, address: &str) -> StatusCode {
    use common::staff::encode;
    let request = axum::http::Request::post("/staff/sign-in")
        .header("cookie", "haven_signin=t0ken")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", address)
        .body(axum::body::Body::from(format!(
            "email={}&password={}&csrf=t0ken",
            encode(email),
            encode(password)
        )))
        .unwrap();
    app.request(request).await.status
}

#[tokio::test]
async fn two_servers_on_one_database_share_the_sign_in_limits() {
    common::TestAppBuilder::default()
        .trust_forwarded_for()
        .each_engine(async |app| {
            let other = app.second_server().await;
            let servers = [app, &other];
            let (_, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
            // Per account: five failures, alternating between the servers.
            for i in 0..5 {
                let status =
                    attempt_from(servers[i % 2], &email, "wrong password!", "198.51.100.1").await;
                assert_eq!(status, StatusCode::OK, "{:?} failure {i}", app.engine);
            }
            for server in servers {
                let status = attempt_from(server, &email, ONE_TIME, "198.51.100.1").await;
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{:?}", app.engine);
            }
            // Per address: thirty failures from one address (any accounts), across servers.
            for i in 0..30 {
                let status = attempt_from(
                    servers[i % 2],
                    &format!("nobody{i}@example.org"),
                    "wrong password!",
                    "203.0.113.9",
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{:?} failure {i}", app.engine);
            }
            let (_, fresh) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
            let status = attempt_from(&other, &fresh, ONE_TIME, "203.0.113.9").await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{:?}", app.engine);
            let status = attempt_from(app, &fresh, ONE_TIME, "192.0.2.44").await;
            assert_eq!(status, StatusCode::SEE_OTHER, "another address may sign in");

            // Only keyed hashes are stored: no address, no email.
            let keys: Vec<String> = sqlx::query("SELECT key_hash FROM signin_failures")
                .fetch_all(app.storage.pool())
                .await
                .unwrap()
                .iter()
                .map(|row| sqlx::Row::get(row, 0))
                .collect();
            assert!(!keys.is_empty());
            for key in &keys {
                assert!(
                    key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{key}"
                );
            }
            common::scan::checkpoint(app).await;
            let stored = common::scan::persisted(app).await;
            for address in ["198.51.100.1", "203.0.113.9", "192.0.2.44"] {
                common::scan::assert_absent(&stored, address, &format!("{:?}", app.engine));
            }

            // When the window has passed (on both servers' clocks), the account may try again.
            for server in servers {
                server.state.staff.clock.advance(TimeDelta::minutes(16));
            }
            let status = attempt_from(&other, &email, ONE_TIME, "198.51.100.1").await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{:?}", app.engine);
            other.storage.close().await;
        })
        .await;
}

#[tokio::test]
async fn entering_the_password_again_does_not_reset_the_count_of_wrong_codes() {
    each_engine(async |app| {
        let (_, email) = account(app, Role::Manager, Some("demo-team"), ONE_TIME).await;
        let (mut browser, secret, _) = first_sign_in(app, &email).await;
        sign_out(app, &mut browser).await;
        for (round, wrong) in [(0, 3), (1, 2)] {
            let (mut browser, response) = sign_in(app, &email, CHOSEN).await;
            assert_eq!(location(&response), "/staff/sign-in/code", "round {round}");
            let csrf = browser.csrf(app, "/staff/sign-in/code").await;
            for _ in 0..wrong {
                let response = browser
                    .post(
                        app,
                        "/staff/sign-in/code",
                        &[("code", "000000"), ("csrf", &csrf)],
                    )
                    .await;
                assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            }
        }
        // Five wrong codes, with the right password entered between them: the next code is
        // refused, even the right one (the password alone is not enough to reset the count).
        app.state.staff.clock.advance(TimeDelta::seconds(31));
        let (mut browser, response) = sign_in(app, &email, CHOSEN).await;
        assert_eq!(location(&response), "/staff/sign-in/code");
        let csrf = browser.csrf(app, "/staff/sign-in/code").await;
        let response = browser
            .post(
                app,
                "/staff/sign-in/code",
                &[("code", &code_now(app, &secret)), ("csrf", &csrf)],
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
