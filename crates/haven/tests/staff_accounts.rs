//! Staff accounts made and reset from the pages: an admin creates an account (name, phone,
//! role, team, reason) and gets a one-time set-up link; the person chooses a password and
//! sets up an authenticator app with it. A worker who lost their authenticator after using
//! every recovery code is recovered without a shell (second-factor reset, link, password,
//! new app); a password reset works the same way. Links work once and expire; resets end the
//! account's sessions; non-admins and admins on their own account are refused; every change
//! is audited with its reason sealed. Each test runs on SQLite and PostgreSQL.

use crate::common;

use axum::http::StatusCode;
use chrono::TimeDelta;
use common::staff::{Browser, account, code_now, csrf_of, location, secret_of};
use common::{TestApp, each_engine};
use haven::access::Role;
use sqlx::Row;

const PASSWORD: &str = "a-password-for-tests";
const NEW_PASSWORD: &str = "correct horse battery staple";

async fn admin(app: &TestApp) -> (String, Browser) {
    let (id, _) = account(app, Role::Admin, None, PASSWORD).await;
    let browser = Browser::signed_in(app, &id).await;
    (id, browser)
}

/// The path of the set-up link shown on a page (`/staff/set-up/…`).
fn link_of(html: &str) -> String {
    let at = html.find("id=\"set-up-link\"").expect("a set-up link");
    let rest = &html[at..];
    let rest = &rest[rest.find('>').expect("the link's element") + 1..];
    let url = rest[..rest.find('<').unwrap()].replace("&#x2f;", "/");
    let path = &url[url.find("/staff/set-up/").expect("the link's path")..];
    path.to_owned()
}

async fn actions_of(app: &TestApp, user_id: &str) -> Vec<(String, String)> {
    sqlx::query(
        "SELECT action, COALESCE(reason, '') FROM audit_log
         WHERE record_type = 'staff_user' AND record_id = $1 ORDER BY seq",
    )
    .bind(user_id)
    .fetch_all(app.storage.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

async fn user_id_of(app: &TestApp, email: &str) -> String {
    app.storage
        .find_user_by_email(email)
        .await
        .unwrap()
        .expect("the account")
        .id
}

/// Creates an account from the page; returns (user id, set-up link path).
async fn create(app: &TestApp, browser: &mut Browser, email: &str) -> (String, String) {
    let csrf = browser.csrf(app, "/staff/admin/users/new").await;
    let page = browser
        .post(
            app,
            "/staff/admin/users/new",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("display_name", "Sam Taylor"),
                ("phone", "01642 123456"),
                ("role", "caseworker"),
                ("team", "demo-team"),
                ("reason", "New caseworker starting Monday"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(
        html.contains("Account created") && html.contains("Sam Taylor"),
        "{html}"
    );
    (user_id_of(app, email).await, link_of(&html))
}

/// Opens a set-up link in a fresh browser and posts `fields` with its CSRF token.
async fn use_link(
    app: &TestApp,
    browser: &mut Browser,
    link: &str,
    fields: &[(&str, &str)],
) -> common::TestResponse {
    let page = browser.get(app, link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let csrf = csrf_of(&page.text());
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    browser.post(app, link, &form).await
}

/// Sets up an authenticator app in a browser whose session is at enrolment; returns the
/// recovery codes page.
async fn enrol(app: &TestApp, browser: &mut Browser) -> String {
    let page = browser.get(app, "/staff/sign-in/set-up").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    let secret = secret_of(&html);
    let code = code_now(app, &secret);
    let done = browser
        .post(
            app,
            "/staff/sign-in/set-up",
            &[("csrf", &csrf_of(&html)), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    done.text()
}

#[tokio::test]
async fn an_admin_creates_an_account_and_the_person_sets_it_up_with_the_link() {
    each_engine(async |app| {
        let (admin_id, mut browser) = admin(app).await;
        let (id, link) = create(app, &mut browser, "sam@example.org").await;
        let user = app
            .storage
            .find_user_by_email("sam@example.org")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.display_name.as_deref(), Some("Sam Taylor"));
        assert_eq!(user.phone.as_deref(), Some("01642 123456"));
        assert_eq!(
            user.signature(),
            "Sam Taylor (sam@example.org, 01642 123456)"
        );
        // Shown on the list and the account page.
        let list = browser.get(app, "/staff/admin/users").await.text();
        assert!(list.contains("Sam Taylor") && list.contains("Create a staff account"));

        // No password works before the link is used.
        let mut person = Browser::default();
        let csrf = person.csrf(app, "/staff/sign-in").await;
        let tried = person
            .post(
                app,
                "/staff/sign-in",
                &[
                    ("csrf", &csrf),
                    ("email", "sam@example.org"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert!(
            tried
                .text()
                .contains("Enter a correct email address and password")
        );

        // A weak password is refused on the link's page, which still works afterwards.
        let weak = use_link(
            app,
            &mut person,
            &link,
            &[
                ("new_password", "password"),
                ("confirm_password", "password"),
            ],
        )
        .await;
        assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
        let chosen = use_link(
            app,
            &mut person,
            &link,
            &[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
        assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.text());
        assert_eq!(location(&chosen), "/staff/sign-in/set-up");
        let codes = enrol(app, &mut person).await;
        assert!(codes.contains("recovery codes"), "{codes}");
        let queue = person.get(app, "/staff/queue").await;
        assert_eq!(queue.status, StatusCode::OK);

        // The link works once.
        let again = Browser::default().get(app, &link).await;
        assert_eq!(again.status, StatusCode::GONE);
        assert!(again.text().contains("already been used"));

        // Audited, with the reason sealed in the permission changes (not in the audit log).
        let actions = actions_of(app, &id).await;
        let created = actions.iter().find(|(a, _)| a == "user.created").unwrap();
        assert!(created.1.starts_with("change:"), "{actions:?}");
        assert!(actions.iter().any(|(a, _)| a == "user.set_up_link_used"));
        let changes = app.storage.permission_changes(&id).await.unwrap();
        assert_eq!(changes[0].reason, "New caseworker starting Monday");
        assert_eq!(changes[0].actor, format!("user:{admin_id}"));
    })
    .await;
}

#[tokio::test]
async fn a_worker_who_lost_their_authenticator_and_recovery_codes_is_recovered_by_an_admin() {
    each_engine(async |app| {
        let (_, mut admin_browser) = admin(app).await;
        let (worker, email) = account(app, Role::Triage, Some("secos"), PASSWORD).await;
        // The worker chose their password, set up an app, used it, and is signed in somewhere.
        let hash = haven::auth::password::hash(PASSWORD).unwrap();
        app.storage
            .change_password(&worker, &hash, "test", app.state.staff.clock.now())
            .await
            .unwrap();
        let mut old_phone = Browser::signed_in(app, &worker).await;
        app.storage
            .enrol_totp(
                &worker,
                "JBSWY3DPEHPK3PXP",
                1,
                &[],
                app.state.staff.clock.now(),
            )
            .await
            .unwrap();
        assert_eq!(
            old_phone.get(app, "/staff/queue").await.status,
            StatusCode::OK
        );

        // The admin resets the second factor, with a reason.
        let page = admin_browser
            .get(app, &format!("/staff/admin/users/{worker}"))
            .await;
        let csrf = csrf_of(&page.text());
        let path = format!("/staff/admin/users/{worker}/reset");
        let no_reason = admin_browser
            .post(app, &path, &[("csrf", &csrf), ("what", "second_factor")])
            .await;
        assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            no_reason
                .text()
                .contains("Enter why you are making this change")
        );
        let reset = admin_browser
            .post(
                app,
                &path,
                &[
                    ("csrf", &csrf),
                    ("what", "second_factor"),
                    ("reason", "Lost phone; called back on their desk number"),
                ],
            )
            .await;
        assert_eq!(reset.status, StatusCode::OK, "{}", reset.text());
        let link = link_of(&reset.text());

        // Their sessions ended at once.
        let ended = old_phone.get(app, "/staff/queue").await;
        assert_eq!(ended.status, StatusCode::SEE_OTHER);
        assert_eq!(location(&ended), "/staff/sign-in");

        // The link alone does not open the account: the password is needed.
        let mut person = Browser::default();
        let wrong = use_link(
            app,
            &mut person,
            &link,
            &[("current_password", "not it at all")],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        let right = use_link(app, &mut person, &link, &[("current_password", PASSWORD)]).await;
        assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.text());
        assert_eq!(location(&right), "/staff/sign-in/set-up");
        enrol(app, &mut person).await;
        assert_eq!(person.get(app, "/staff/queue").await.status, StatusCode::OK);
        let summary = app.storage.account_summary(&worker).await.unwrap().unwrap();
        assert!(summary.second_factor);
        assert_eq!(summary.user.email, email);

        let actions = actions_of(app, &worker).await;
        assert!(
            actions
                .iter()
                .any(|(a, r)| a == "user.second_factor_reset" && r.starts_with("change:")),
            "{actions:?}"
        );
        let changes = app.storage.permission_changes(&worker).await.unwrap();
        assert_eq!(
            changes[0].reason,
            "Lost phone; called back on their desk number"
        );
    })
    .await;
}

#[tokio::test]
async fn a_password_reset_link_sets_a_new_password_and_still_asks_for_the_app_code() {
    each_engine(async |app| {
        let (_, mut admin_browser) = admin(app).await;
        let (worker, email) = account(app, Role::Caseworker, Some("secos"), PASSWORD).await;
        let secret = "JBSWY3DPEHPK3PXP";
        app.storage
            .enrol_totp(&worker, secret, 1, &[], app.state.staff.clock.now())
            .await
            .unwrap();
        let csrf = admin_browser
            .csrf(app, &format!("/staff/admin/users/{worker}"))
            .await;
        let reset = admin_browser
            .post(
                app,
                &format!("/staff/admin/users/{worker}/reset"),
                &[
                    ("csrf", &csrf),
                    ("what", "password"),
                    ("reason", "Forgot it"),
                ],
            )
            .await;
        assert_eq!(reset.status, StatusCode::OK, "{}", reset.text());
        let link = link_of(&reset.text());
        // The old password no longer works.
        let login = app.storage.find_login(&email).await.unwrap().unwrap();
        assert!(!haven::auth::password::verify(
            PASSWORD,
            Some(&login.password_hash)
        ));

        let mut person = Browser::default();
        let chosen = use_link(
            app,
            &mut person,
            &link,
            &[
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
        assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.text());
        assert_eq!(location(&chosen), "/staff/sign-in/code");
        let login = app.storage.find_login(&email).await.unwrap().unwrap();
        assert!(haven::auth::password::verify(
            NEW_PASSWORD,
            Some(&login.password_hash)
        ));
        assert!(!login.must_change_password);
    })
    .await;
}

#[tokio::test]
async fn set_up_links_expire_and_only_the_newest_works() {
    each_engine(async |app| {
        let (_, mut browser) = admin(app).await;
        let (_, first) = create(app, &mut browser, "first@example.org").await;
        let (id, _) = (user_id_of(app, "first@example.org").await, ());
        // A reset makes a new link; the first stops working.
        let csrf = browser.csrf(app, &format!("/staff/admin/users/{id}")).await;
        let reset = browser
            .post(
                app,
                &format!("/staff/admin/users/{id}/reset"),
                &[
                    ("csrf", &csrf),
                    ("what", "password"),
                    ("reason", "Link lost"),
                ],
            )
            .await;
        let second = link_of(&reset.text());
        assert_eq!(
            Browser::default().get(app, &first).await.status,
            StatusCode::GONE
        );
        assert_eq!(
            Browser::default().get(app, &second).await.status,
            StatusCode::OK
        );
        // After 48 hours it has expired.
        app.state.staff.clock.advance(TimeDelta::hours(49));
        let late = Browser::default().get(app, &second).await;
        assert_eq!(late.status, StatusCode::GONE);
        assert!(late.text().contains("expired"));
        // An unknown link says so, never a 500.
        let unknown = Browser::default()
            .get(app, "/staff/set-up/nothing-like-a-token")
            .await;
        assert_eq!(unknown.status, StatusCode::GONE);
    })
    .await;
}

#[tokio::test]
async fn only_admins_manage_accounts_and_not_their_own_resets() {
    each_engine(async |app| {
        let (manager, _) = account(app, Role::Manager, Some("secos"), PASSWORD).await;
        let (other, _) = account(app, Role::Caseworker, Some("secos"), PASSWORD).await;
        let mut browser = Browser::signed_in(app, &manager).await;
        // A manager (not an admin) is refused every account page and form.
        let page = browser.get(app, "/staff/admin/users/new").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        let queue = browser.get(app, "/staff/queue").await.text();
        let csrf = csrf_of(&queue);
        for (path, form) in [
            (
                "/staff/admin/users/new".to_owned(),
                vec![
                    ("email", "x@example.org"),
                    ("display_name", "X"),
                    ("role", "admin"),
                    ("reason", "r"),
                ],
            ),
            (
                format!("/staff/admin/users/{other}/reset"),
                vec![("what", "second_factor"), ("reason", "r")],
            ),
            (
                format!("/staff/admin/users/{other}/details"),
                vec![("display_name", "Someone else")],
            ),
        ] {
            let mut fields = vec![("csrf", csrf.as_str())];
            fields.extend(form);
            let refused = browser.post(app, &path, &fields).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(app.storage.count_users().await.unwrap(), 2);
        let user = app.storage.account_summary(&other).await.unwrap().unwrap();
        assert_eq!(user.user.display_name, None);

        // An admin cannot reset their own account (ask another admin).
        let (admin_id, mut admin_browser) = admin(app).await;
        let csrf = admin_browser
            .csrf(app, &format!("/staff/admin/users/{admin_id}"))
            .await;
        let own = admin_browser
            .post(
                app,
                &format!("/staff/admin/users/{admin_id}/reset"),
                &[
                    ("csrf", &csrf),
                    ("what", "second_factor"),
                    ("reason", "mine"),
                ],
            )
            .await;
        assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(own.text().contains("You cannot reset your own account"));
        // A form without the session's CSRF token is refused.
        let forged = admin_browser
            .post(
                app,
                &format!("/staff/admin/users/{other}/reset"),
                &[("csrf", "forged"), ("what", "password"), ("reason", "r")],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn the_account_form_checks_what_is_entered_and_names_each_field() {
    each_engine(async |app| {
        let (_, mut browser) = admin(app).await;
        let (_, taken) = account(app, Role::Triage, Some("secos"), PASSWORD).await;
        let csrf = browser.csrf(app, "/staff/admin/users/new").await;
        let page = browser
            .post(
                app,
                "/staff/admin/users/new",
                &[
                    ("csrf", &csrf),
                    ("email", "not an email"),
                    ("display_name", ""),
                    ("phone", "call me"),
                    ("role", "caseworker"),
                    ("team", ""),
                    ("reason", ""),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = page.text();
        for message in [
            "Enter an email address in the correct format",
            "Enter their name as documents should show it",
            "Enter a phone number",
            "Select the team whose cases they work on",
            "Enter why you are making this change",
        ] {
            assert!(html.contains(message), "{message}: {html}");
        }
        // What was entered is shown again, escaped.
        assert!(html.contains("value=\"not an email\""));
        let dup = browser
            .post(
                app,
                "/staff/admin/users/new",
                &[
                    ("csrf", &csrf),
                    ("email", &taken.to_uppercase()),
                    ("display_name", "<b>Dup</b>"),
                    ("role", "auditor"),
                    ("reason", "testing"),
                ],
            )
            .await;
        assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = dup.text();
        assert!(html.contains("There is already an account with this email address"));
        assert!(html.contains("&lt;b&gt;Dup") && !html.contains("<b>Dup"));
    })
    .await;
}

#[tokio::test]
async fn admins_set_the_name_and_phone_that_documents_sign_off_with() {
    each_engine(async |app| {
        let (_, mut browser) = admin(app).await;
        let (worker, email) = account(app, Role::Caseworker, Some("secos"), PASSWORD).await;
        let before = app.storage.account_summary(&worker).await.unwrap().unwrap();
        assert_eq!(before.user.signature(), email, "falls back to the email");
        let csrf = browser
            .csrf(app, &format!("/staff/admin/users/{worker}"))
            .await;
        let saved = browser
            .post(
                app,
                &format!("/staff/admin/users/{worker}/details"),
                &[
                    ("csrf", &csrf),
                    ("display_name", " Alex Kerr "),
                    ("phone", "+44 1642 000000"),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
        let after = app.storage.account_summary(&worker).await.unwrap().unwrap();
        assert_eq!(
            after.user.signature(),
            format!("Alex Kerr ({email}, +44 1642 000000)")
        );
        let page = browser
            .get(app, &format!("/staff/admin/users/{worker}"))
            .await
            .text();
        assert!(page.contains("Alex Kerr") && page.contains("+44 1642 000000"));
        let actions = actions_of(app, &worker).await;
        assert!(actions.iter().any(|(a, _)| a == "user.details_changed"));
    })
    .await;
}
