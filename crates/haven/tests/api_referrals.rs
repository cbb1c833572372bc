//! `GET /api/v1/referrals/{reference}`: staff with a token, of the referral's team.

use crate::common;

use axum::http::StatusCode;
use common::{each_engine, valid_submission};
use haven::access::Role;
use haven::crypto::token_hash;
use haven::storage::audit::ChainCheck;

#[tokio::test]
async fn without_a_valid_token_it_is_401() {
    each_engine(async |app| {
        let (reference, _) = app.submit_demo().await;
        let path = format!("/api/v1/referrals/{reference}");
        let response = app.get(&path).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.error_code(), "unauthorized");
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
        assert_eq!(
            app.get_with_token(&path, "hvn_notatoken").await.status,
            StatusCode::UNAUTHORIZED
        );

        let (_, token) = app.staff(Role::Triage, Some("demo-team")).await;
        assert_eq!(
            app.get_with_token(&path, &token).await.status,
            StatusCode::OK
        );
        assert!(
            app.storage
                .revoke_token(&token_hash(&token), "test")
                .await
                .unwrap()
        );
        assert_eq!(
            app.get_with_token(&path, &token).await.status,
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
}

#[tokio::test]
async fn another_teams_referral_is_404_like_a_missing_one() {
    each_engine(async |app| {
        let (reference, _) = app.submit_demo().await;
        let (_, token) = app.staff(Role::Manager, Some("other-team")).await;
        let response = app
            .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        let missing = app
            .get_with_token("/api/v1/referrals/DEM-0000-0000", &token)
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(
            response.body, missing.body,
            "the two must be indistinguishable"
        );
        let stored = app
            .storage
            .find_referral(&reference)
            .await
            .unwrap()
            .unwrap();
        let audit = app
            .storage
            .audit_actions_for("referral", &stored.id)
            .await
            .unwrap();
        assert!(audit.iter().all(|(_, action)| action != "referral.viewed"));
    })
    .await;
}

#[tokio::test]
async fn staff_of_the_team_read_it_and_the_read_is_audited() {
    each_engine(async |app| {
        let (reference, _) = app.submit_demo().await;
        let (user_id, token) = app.staff(Role::Caseworker, Some("demo-team")).await;
        // References are read case-insensitively.
        let response = app
            .get_with_token(
                &format!("/api/v1/referrals/{}", reference.to_lowercase()),
                &token,
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let body = response.json();
        assert_eq!(body["reference"], reference);
        assert_eq!(body["service"], "demo");
        assert_eq!(body["stage"], "referral");
        assert_eq!(body["status"], "new");
        assert_eq!(body["urgent"], false);
        assert!(body["due_by"].is_null());
        assert!(body["screening"].is_null());
        assert_eq!(
            body["allocation"],
            serde_json::json!({"worker": null, "mode": null})
        );
        assert_eq!(body["answers"], valid_submission()["answers"]);
        let received = body["received_at"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(received).is_ok(),
            "{received}"
        );
        assert!(received.ends_with('Z'));

        let stored = app
            .storage
            .find_referral(&reference)
            .await
            .unwrap()
            .unwrap();
        let audit = app
            .storage
            .audit_actions_for("referral", &stored.id)
            .await
            .unwrap();
        assert!(
            audit.contains(&(format!("user:{user_id}"), "referral.viewed".to_owned())),
            "{audit:?}"
        );
        assert!(matches!(
            app.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { .. }
        ));
    })
    .await;
}

#[tokio::test]
async fn admins_and_auditors_read_every_team() {
    each_engine(async |app| {
        let (reference, _) = app.submit_demo().await;
        for role in [Role::Admin, Role::Auditor] {
            let (_, token) = app.staff(role, None).await;
            let response = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await;
            assert_eq!(response.status, StatusCode::OK, "{role}");
        }
        // A team-less triage account sees nothing.
        let (_, token) = app.staff(Role::Triage, None).await;
        let response = app
            .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
    })
    .await;
}
