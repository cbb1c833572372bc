//! The staff accounts admin page: listing accounts, changing a role or team and
//! deactivating or reactivating an account with a reason; each change ends the account's
//! sessions at once and is audited; an admin cannot lock themselves out.

use crate::common;

use axum::http::StatusCode;
use common::staff::{Browser, account, csrf_of, location};
use common::{TestApp, each_engine};
use haven::access::Role;
use sqlx::Row;

const PASSWORD: &str = "a-password-for-tests";

async fn admin(app: &TestApp) -> (String, Browser) {
    let (id, _) = account(app, Role::Admin, None, PASSWORD).await;
    let browser = Browser::signed_in(app, &id).await;
    (id, browser)
}

async fn audit_of(app: &TestApp, user_id: &str) -> Vec<(String, String, String)> {
    sqlx::query(
        "SELECT actor, action, COALESCE(reason, '') FROM audit_log
         WHERE record_type = 'staff_user' AND record_id = $1 ORDER BY seq",
    )
    .bind(user_id)
    .fetch_all(app.storage.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

#[tokio::test]
async fn admins_list_accounts_with_role_team_status_and_second_factor() {
    each_engine(async |app| {
        let (_, mut browser) = admin(app).await;
        let (_, email) = account(app, Role::Caseworker, Some("demo-team"), PASSWORD).await;
        // Whatever an account's email holds is shown escaped.
        let (_, odd) = account(app, Role::Auditor, None, PASSWORD).await;
        sqlx::query("UPDATE staff_users SET email = $1 WHERE email = $2")
            .bind("<b>x</b>@example.org")
            .bind(&odd)
            .execute(app.storage.pool())
            .await
            .unwrap();
        let page = browser.get(app, "/staff/admin/users").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        assert_eq!(page.header("cache-control"), Some("no-store"));
        let html = page.text();
        // Teams by the name their services give them, never the key.
        assert!(
            html.contains(&email)
                && html.contains("Caseworker")
                && html.contains("Demo service team")
        );
        assert!(!html.contains(">demo-team<"), "{html}");
        assert!(
            html.contains("All teams") && html.contains("Not set up") && html.contains("Active")
        );
        assert!(
            html.contains("&lt;b&gt;x&lt;") && !html.contains("<b>x"),
            "{html}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_role_change_needs_a_reason_ends_sessions_and_is_audited() {
    each_engine(async |app| {
        let (admin_id, mut browser) = admin(app).await;
        let (user, email) = account(app, Role::Triage, Some("demo-team"), PASSWORD).await;
        let mut theirs = Browser::signed_in(app, &user).await;
        assert_eq!(theirs.get(app, "/staff/queue").await.status, StatusCode::OK);
        let path = format!("/staff/admin/users/{user}");
        let csrf = browser.csrf(app, &path).await;

        // Without a reason, and with no team for a team role: 422 naming each field.
        let refused = browser
            .post(
                app,
                &format!("{path}/role"),
                &[
                    ("role", "manager"),
                    ("team", ""),
                    ("reason", " "),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = refused.text();
        assert!(html.contains("There is a problem"));
        assert!(
            html.contains("href=\"#team\"") && html.contains("href=\"#role-reason\""),
            "{html}"
        );
        assert!(html.contains("<title>Error:"));
        let refused = browser
            .post(
                app,
                &format!("{path}/role"),
                &[
                    ("role", "manager"),
                    ("team", "no-such-team"),
                    ("reason", "x"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.text().contains(">x</textarea>"),
            "what was typed is kept"
        );
        // A wrong CSRF token is refused before anything.
        let forged = browser
            .post(
                app,
                &format!("{path}/role"),
                &[
                    ("role", "manager"),
                    ("team", "demo-team"),
                    ("reason", "x"),
                    ("csrf", "nope"),
                ],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(
            app.storage
                .find_user_by_email(&email)
                .await
                .unwrap()
                .unwrap()
                .role,
            Role::Triage
        );

        let reason = "Promoted to team manager after the October review";
        let done = browser
            .post(
                app,
                &format!("{path}/role"),
                &[
                    ("role", "manager"),
                    ("team", "demo-team"),
                    ("reason", reason),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
        assert_eq!(location(&done), path);
        let user_now = app
            .storage
            .find_user_by_email(&email)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user_now.role, Role::Manager);
        // Their session ended at once.
        let after = theirs.get(app, "/staff/queue").await;
        assert_eq!(location(&after), "/staff/sign-in");
        // Audited as a permission change naming the sealed reason's record.
        let audit = audit_of(app, &user).await;
        let (actor, action, code) = audit.last().unwrap();
        assert_eq!(
            (actor.as_str(), action.as_str()),
            (format!("user:{admin_id}").as_str(), "user.role_changed")
        );
        assert!(code.starts_with("manager demo-team change:"), "{code}");
        assert!(
            !code.contains("October"),
            "free text stays out of the audit log"
        );
        let stored: Vec<u8> =
            sqlx::query("SELECT reason FROM staff_permission_changes WHERE user_id = $1")
                .bind(&user)
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
        assert!(
            stored.starts_with(b"hv2"),
            "the reason is sealed: {stored:?}"
        );
        // The account page shows the change in words with its reason (no role or team key).
        let page = browser.get(app, &path).await.text();
        assert!(
            page.contains(reason)
                && page.contains("Role and team set to Manager, Demo service team"),
            "{page}"
        );
        assert!(!page.contains("manager demo-team"), "{page}");
        assert!(
            page.contains(">Demo service team</option>"),
            "the team list in words"
        );
        assert_eq!(
            app.storage.verify_audit_chain().await.unwrap(),
            haven::storage::audit::ChainCheck::Intact {
                entries: audit_len(app).await
            }
        );
    })
    .await;
}

async fn audit_len(app: &TestApp) -> u64 {
    let row = sqlx::query("SELECT COUNT(*) FROM audit_log")
        .fetch_one(app.storage.pool())
        .await
        .unwrap();
    u64::try_from(row.get::<i64, _>(0)).unwrap()
}

#[tokio::test]
async fn deactivation_signs_out_refuses_sign_in_and_revokes_tokens_for_good() {
    each_engine(async |app| {
        let (_, mut browser) = admin(app).await;
        let (user, email) = account(app, Role::Caseworker, Some("demo-team"), PASSWORD).await;
        let token = haven::crypto::new_api_token();
        app.storage
            .create_token(&haven::storage::tokens::NewApiToken {
                id: haven::crypto::new_id(),
                user_id: &user,
                name: "t",
                token_hash: haven::crypto::token_hash(&token),
                actor: "test",
            })
            .await
            .unwrap();
        assert_eq!(
            app.get_with_token("/api/v1/referrals", &token).await.status,
            StatusCode::OK
        );
        let mut theirs = Browser::signed_in(app, &user).await;
        let path = format!("/staff/admin/users/{user}");
        let csrf = browser.csrf(app, &path).await;
        let refused = browser
            .post(
                app,
                &format!("{path}/deactivate"),
                &[("reason", ""), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().contains("href=\"#active-reason\""));
        let done = browser
            .post(
                app,
                &format!("{path}/deactivate"),
                &[("reason", "Left the service"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
        assert!(
            app.storage
                .find_user_by_email(&email)
                .await
                .unwrap()
                .unwrap()
                .disabled
        );
        assert_eq!(
            location(&theirs.get(app, "/staff/queue").await),
            "/staff/sign-in"
        );
        assert_eq!(
            app.get_with_token("/api/v1/referrals", &token).await.status,
            StatusCode::UNAUTHORIZED
        );
        let mut again = Browser::default();
        let csrf_in = again.csrf(app, "/staff/sign-in").await;
        let signin = again
            .post(
                app,
                "/staff/sign-in",
                &[
                    ("email", &email),
                    ("password", PASSWORD),
                    ("csrf", &csrf_in),
                ],
            )
            .await;
        assert_eq!(
            signin.status,
            StatusCode::OK,
            "refused like a wrong password"
        );
        let page = browser.get(app, &path).await.text();
        assert!(page.contains("Deactivated") && page.contains("Reactivate account"));
        let csrf = csrf_of(&page);
        let done = browser
            .post(
                app,
                &format!("{path}/reactivate"),
                &[("reason", "Returned from leave"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        assert!(
            !app.storage
                .find_user_by_email(&email)
                .await
                .unwrap()
                .unwrap()
                .disabled
        );
        // The old token stays revoked: the returning user is given a new one.
        assert_eq!(
            app.get_with_token("/api/v1/referrals", &token).await.status,
            StatusCode::UNAUTHORIZED
        );
        let actions: Vec<String> = audit_of(app, &user)
            .await
            .into_iter()
            .map(|(_, a, _)| a)
            .collect();
        assert_eq!(
            actions,
            [
                "user.created",
                "user.deactivated",
                "signin.failed",
                "user.reactivated"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn an_admin_cannot_remove_their_own_admin_role_or_deactivate_themselves() {
    each_engine(async |app| {
        let (me, mut browser) = admin(app).await;
        let path = format!("/staff/admin/users/{me}");
        let page = browser.get(app, &path).await;
        assert!(page.text().contains("This is your own account"));
        let csrf = csrf_of(&page.text());
        let refused = browser
            .post(
                app,
                &format!("{path}/role"),
                &[
                    ("role", "auditor"),
                    ("team", ""),
                    ("reason", "Oops"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused
                .text()
                .contains("You cannot remove your own admin role")
        );
        let refused = browser
            .post(
                app,
                &format!("{path}/deactivate"),
                &[("reason", "Oops"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused
                .text()
                .contains("You cannot deactivate your own account")
        );
        let user = app.storage.account_summary(&me).await.unwrap().unwrap();
        assert_eq!(user.user.role, Role::Admin);
        assert!(!user.user.disabled);
        // Still signed in.
        assert_eq!(
            browser.get(app, "/staff/admin/users").await.status,
            StatusCode::OK
        );
        // An unknown account is a 404 page, not a 500.
        let missing = browser.get(app, "/staff/admin/users/no-such-id").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    })
    .await;
}
