//! Staff accounts under attack (issue 12): sign-in throttling per (account, address) with
//! growing delays and a far higher per-account ceiling, the owner told of failed attempts,
//! the session id replaced after the second factor, the current password throttled on a
//! password change, tokens revoked for good by a role change, and email addresses checked
//! as the mailer checks them.

use crate::common;

use axum::http::StatusCode;
use chrono::TimeDelta;
use common::staff::{Browser, account, code_now, csrf_of, encode, location, secret_of};
use common::{TestApp, TestAppBuilder, each_engine};
use haven::access::Role;
use haven::storage::permissions::AccessChange;
use haven::web::staff::session::SESSION_COOKIE;
use haven::web::staff::{ACCOUNT_CEILING, PAIR_FIRST_DELAY_SECS, PAIR_FREE_FAILURES};

const ONE_TIME: &str = "one-time-password-1";
const CHOSEN: &str = "Correct-Horse-Battery-42";
const WRONG: &str = "wrong password!";

/// A password attempt from `address` (behind a trusted proxy); the answer.
async fn attempt_from(
    app: &TestApp,
    email: &str,
    password: &str,
    address: &str,
) -> common::TestResponse {
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
    app.request(request).await
}

fn behind_proxy() -> TestAppBuilder {
    TestAppBuilder::default().trust_forwarded_for()
}

#[tokio::test]
async fn an_attacker_failing_at_one_address_does_not_stop_the_owner_at_another() {
    behind_proxy()
        .each_engine(async |app| {
            let (_, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
            let mut refused = 0;
            for _ in 0..20 {
                let status = attempt_from(app, &email, WRONG, "203.0.113.66")
                    .await
                    .status;
                if status == StatusCode::TOO_MANY_REQUESTS {
                    refused += 1;
                }
            }
            assert!(refused > 0, "the attacker's address is slowed down");
            // Even the right password from the attacker's address waits.
            let status = attempt_from(app, &email, ONE_TIME, "203.0.113.66")
                .await
                .status;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            // The owner, elsewhere, signs in at once.
            let owner = attempt_from(app, &email, ONE_TIME, "198.51.100.7").await;
            assert_eq!(owner.status, StatusCode::SEE_OTHER, "{}", owner.text());
        })
        .await;
}

#[tokio::test]
async fn the_same_address_gets_growing_delays() {
    behind_proxy()
        .each_engine(async |app| {
            let (_, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
            let address = "203.0.113.67";
            for _ in 0..PAIR_FREE_FAILURES {
                let r = attempt_from(app, &email, WRONG, address).await;
                assert_eq!(r.status, StatusCode::OK);
            }
            let mut previous = 0;
            for round in 0..3 {
                let r = attempt_from(app, &email, WRONG, address).await;
                assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "round {round}");
                let wait: i64 = r.header("retry-after").unwrap().parse().unwrap();
                // Real time passes between two requests: a second or two of the wait may
                // already be over.
                let expected = PAIR_FIRST_DELAY_SECS << round;
                assert!(
                    (expected - 2..=expected).contains(&wait),
                    "round {round}: {wait}"
                );
                assert!(wait > previous, "each wait is longer");
                previous = wait;
                // After the wait, one more attempt is counted (and fails again).
                app.state.staff.clock.advance(TimeDelta::seconds(wait + 1));
                let r = attempt_from(app, &email, WRONG, address).await;
                assert_eq!(r.status, StatusCode::OK, "round {round}");
            }
            // The right password after the wait signs in and forgets the delay.
            app.state.staff.clock.advance(TimeDelta::hours(1));
            let r = attempt_from(app, &email, ONE_TIME, address).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            let r = attempt_from(app, &email, WRONG, address).await;
            assert_eq!(r.status, StatusCode::OK);
        })
        .await;
}

#[tokio::test]
async fn the_per_account_ceiling_still_applies_across_addresses() {
    behind_proxy()
        .each_engine(async |app| {
            let (_, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
            for i in 0..ACCOUNT_CEILING {
                let address = format!("10.{}.{}.1", i / 250, i % 250);
                let r = attempt_from(app, &email, WRONG, &address).await;
                assert_eq!(r.status, StatusCode::OK, "attempt {i}");
            }
            let r = attempt_from(app, &email, ONE_TIME, "192.0.2.200").await;
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
            // Only the ceiling's window: afterwards the owner signs in.
            app.state.staff.clock.advance(TimeDelta::minutes(16));
            let r = attempt_from(app, &email, ONE_TIME, "192.0.2.200").await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
        })
        .await;
}

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

/// First sign-in (new password, authenticator enrolled), then signed out; the TOTP secret.
async fn enrolled(app: &TestApp, email: &str) -> String {
    let (mut browser, response) = sign_in(app, email, ONE_TIME).await;
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
    assert_eq!(location(&response), "/staff/sign-in/set-up");
    let html = browser.get(app, "/staff/sign-in/set-up").await.text();
    let secret = secret_of(&html);
    let response = browser
        .post(
            app,
            "/staff/sign-in/set-up",
            &[("code", &code_now(app, &secret)), ("csrf", &csrf_of(&html))],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let csrf = browser.csrf(app, "/staff/queue").await;
    browser
        .post(app, "/staff/sign-out", &[("csrf", &csrf)])
        .await;
    secret
}

/// Password then the app's code; the browser (on the queue) and the session cookie that
/// was used between the two steps.
async fn full_sign_in(app: &TestApp, email: &str, secret: &str) -> (Browser, String) {
    // A new time step, so the code is not one already used.
    app.state.staff.clock.advance(TimeDelta::seconds(31));
    let (mut browser, response) = sign_in(app, email, CHOSEN).await;
    assert_eq!(location(&response), "/staff/sign-in/code");
    let before = browser
        .cookies
        .iter()
        .find(|(k, _)| k == SESSION_COOKIE)
        .unwrap()
        .1
        .clone();
    let csrf = browser.csrf(app, "/staff/sign-in/code").await;
    let response = browser
        .post(
            app,
            "/staff/sign-in/code",
            &[("code", &code_now(app, secret)), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(location(&response), "/staff/queue", "{}", response.text());
    (browser, before)
}

#[tokio::test]
async fn the_session_id_is_replaced_after_the_second_factor() {
    each_engine(async |app| {
        let (_, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
        let secret = enrolled(app, &email).await;
        let (mut browser, before) = full_sign_in(app, &email, &secret).await;
        let after = browser
            .cookies
            .iter()
            .find(|(k, _)| k == SESSION_COOKIE)
            .unwrap()
            .1
            .clone();
        assert_ne!(before, after, "a new session id after the second factor");
        assert_eq!(
            browser.get(app, "/staff/queue").await.status,
            StatusCode::OK
        );
        // The id used before the second factor no longer works.
        let mut old = Browser {
            cookies: vec![(SESSION_COOKIE.to_owned(), before)],
        };
        let refused = old.get(app, "/staff/queue").await;
        assert_eq!(location(&refused), "/staff/sign-in");
    })
    .await;
}

#[tokio::test]
async fn the_owner_is_told_of_failed_attempts_since_the_last_sign_in() {
    behind_proxy()
        .each_engine(async |app| {
            let (user_id, email) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
            let secret = enrolled(app, &email).await;
            for _ in 0..3 {
                let r = attempt_from(app, &email, WRONG, "203.0.113.70").await;
                assert_eq!(r.status, StatusCode::OK);
            }
            let (mut browser, _) = full_sign_in(app, &email, &secret).await;
            let html = browser.get(app, "/staff/queue").await.text();
            assert!(
                html.contains("3 failed sign-in attempts since your last sign-in, the last on "),
                "{html}"
            );
            let actions: Vec<String> = app
                .storage
                .audit_actions_for("staff_user", &user_id)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, a)| a)
                .collect();
            assert!(actions.iter().any(|a| a == "signin.failures_reported"));
            // Told once: the next sign-in has nothing to report.
            let csrf = browser.csrf(app, "/staff/queue").await;
            browser
                .post(app, "/staff/sign-out", &[("csrf", &csrf)])
                .await;
            let (mut browser, _) = full_sign_in(app, &email, &secret).await;
            let html = browser.get(app, "/staff/queue").await.text();
            assert!(!html.contains("failed sign-in attempt"), "{html}");
        })
        .await;
}

#[tokio::test]
async fn guessing_the_current_password_on_a_password_change_is_throttled() {
    each_engine(async |app| {
        let (user_id, _) = account(app, Role::Triage, Some("demo-team"), ONE_TIME).await;
        let mut browser = Browser::signed_in(app, &user_id).await;
        let csrf = browser.csrf(app, "/staff/password").await;
        let mut statuses = Vec::new();
        for _ in 0..=PAIR_FREE_FAILURES {
            let r = browser
                .post(
                    app,
                    "/staff/password",
                    &[
                        ("current_password", WRONG),
                        ("new_password", CHOSEN),
                        ("confirm_password", CHOSEN),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            statuses.push(r.status);
        }
        let free = usize::try_from(PAIR_FREE_FAILURES).unwrap();
        assert!(
            statuses[..free]
                .iter()
                .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY),
            "{statuses:?}"
        );
        assert_eq!(statuses[free], StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}

#[tokio::test]
async fn a_token_revoked_by_a_role_change_stays_revoked_when_the_role_is_set_back() {
    each_engine(async |app| {
        let (user_id, token) = app.staff(Role::Caseworker, Some("demo-team")).await;
        let list = async || app.get_with_token("/api/v1/referrals", &token).await.status;
        assert_eq!(list().await, StatusCode::OK);
        let now = app.state.staff.clock.now();
        let change = |role| AccessChange::Role {
            role,
            team: Some("demo-team"),
        };
        assert!(
            app.storage
                .change_access(&user_id, &change(Role::Manager), None, "test", now)
                .await
                .unwrap()
        );
        assert_eq!(list().await, StatusCode::UNAUTHORIZED);
        assert!(
            app.storage
                .change_access(&user_id, &change(Role::Caseworker), None, "test", now)
                .await
                .unwrap()
        );
        assert_eq!(list().await, StatusCode::UNAUTHORIZED, "revoked for good");
    })
    .await;
}

#[tokio::test]
async fn email_answers_are_checked_as_the_mailer_checks_them() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let mut answers = common::sample("ceop-report-parent");
            answers["reporter"]["email"] = serde_json::json!("a@example.org'--");
            let body = serde_json::json!({
                "service": "ceop",
                "stage": "report",
                "audience": "parent_carer",
                "answers": answers,
            });
            let r = app.post_json("/api/v1/submissions", &body).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
            assert!(
                r.error_fields().contains(&"reporter.email".to_owned()),
                "{}",
                r.text()
            );
        })
        .await;
    // The core's rule and lettre's agree on these.
    for address in [
        "a@example.org'--",
        "name@example.com",
        "o'brien@example.org",
        "a..b@example.org",
        "a@exa_mple.org",
        "x@[127.0.0.1].org",
    ] {
        assert_eq!(
            haven_core::answers::is_email_address(address),
            address.parse::<lettre::Address>().is_ok(),
            "{address}"
        );
    }
}
