//! The work queue (`GET /api/v1/referrals`), the required-actions checklist and allocation,
//! driven through a SECOS referral's workflow as a triage officer would.

use crate::common;

use common::sample;

use axum::http::StatusCode;
use common::{TestApp, TestAppBuilder};
use haven::access::Role;
use haven::crypto;
use haven::storage::tokens::NewApiToken;
use haven::storage::users::NewStaffUser;
use serde_json::{Value, json};

async fn submit(app: &TestApp, service: &str, stage: &str, answers: Value) -> String {
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": service, "stage": stage, "audience": "professional", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

/// A staff account with a known email, and its API token.
async fn staff(app: &TestApp, email: &str, role: Role, team: Option<&str>) -> String {
    let id = crypto::new_id();
    app.storage
        .create_user(&NewStaffUser {
            id: id.clone(),
            email,
            role,
            team,
            password_hash: "not-a-real-hash".to_owned(),
            actor: "test",
        })
        .await
        .unwrap();
    let token = crypto::new_api_token();
    app.storage
        .create_token(&NewApiToken {
            id: crypto::new_id(),
            user_id: &id,
            name: "test",
            token_hash: crypto::token_hash(&token),
            actor: "test",
        })
        .await
        .unwrap();
    token
}

fn references(queue: &Value) -> Vec<String> {
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_secos_referral_goes_through_actions_and_allocation_with_guards() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = submit(app, "secos", "referral", sample("secos-referral")).await;
            let triage = staff(app, "triage@secos.example", Role::Triage, Some("secos")).await;
            staff(app, "worker@secos.example", Role::Caseworker, Some("secos")).await;
            staff(app, "worker@ceop.example", Role::Caseworker, Some("ceop")).await;
            let auditor = staff(app, "auditor@example.org", Role::Auditor, None).await;
            let case = format!("/api/v1/referrals/{reference}");

            let view = app.get_with_token(&case, &triage).await.json();
            let actions = view["required_actions"].as_array().unwrap().clone();
            assert!(!actions.is_empty(), "{view}");
            assert!(actions.iter().all(|a| a["status"] == "open"));

            let band = view["screening"]["suggested_band"].clone();
            let r = app.post_with_token(&format!("{case}/screening"), &triage, &json!({"band": band, "reason": "Agree with the tool"})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let r = app.post_with_token(&format!("{case}/transitions"), &triage, &json!({"to": "screening_confirmed"})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());

            // Open actions block the next step, naming the guard.
            let r = app.post_with_token(&format!("{case}/transitions"), &triage, &json!({"to": "onward_actions_done"})).await;
            assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
            assert!(r.text().contains("actions_complete"), "{}", r.text());

            // An auditor reads but cannot tick; a waiver needs a reason; unknown keys are 404.
            let first = actions[0]["key"].as_str().unwrap().to_owned();
            let r = app.post_with_token(&format!("{case}/actions/{first}"), &auditor, &json!({"status": "done"})).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            let r = app.post_with_token(&format!("{case}/actions/{first}"), &triage, &json!({"status": "waived"})).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(r.error_fields(), vec!["reason"]);
            let r = app.post_with_token(&format!("{case}/actions/{first}"), &triage, &json!({"status": "finished"})).await;
            assert_eq!(r.error_fields(), vec!["status"]);
            let r = app.post_with_token(&format!("{case}/actions/not_an_action"), &triage, &json!({"status": "done"})).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);

            for (i, action) in actions.iter().enumerate() {
                let key = action["key"].as_str().unwrap();
                let body = if i == 0 {
                    json!({"status": "waived", "reason": "Already referred by the school last week"})
                } else {
                    json!({"status": "done"})
                };
                let r = app.post_with_token(&format!("{case}/actions/{key}"), &triage, &body).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            }
            let view = app.get_with_token(&case, &triage).await.json();
            assert_eq!(view["required_actions"][0]["status"], "waived");
            assert!(view["required_actions"][0]["by"].as_str().unwrap().starts_with("user:"));

            let r = app.post_with_token(&format!("{case}/transitions"), &triage, &json!({"to": "onward_actions_done"})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let r = app.post_with_token(&format!("{case}/transitions"), &triage, &json!({"to": "allocation_decided", "decision": "individual_case_work"})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());

            // No worker yet: the guard names itself. A worker of another team is refused.
            let r = app.post_with_token(&format!("{case}/transitions"), &triage, &json!({"to": "allocated"})).await;
            assert_eq!(r.status, StatusCode::CONFLICT);
            assert!(r.text().contains("worker_allocated"), "{}", r.text());
            let r = app.post_with_token(&format!("{case}/allocation"), &triage, &json!({"worker": "worker@ceop.example"})).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(r.error_fields(), vec!["worker"]);
            let r = app.post_with_token(&format!("{case}/allocation"), &triage, &json!({"worker": "Worker@SECOS.example"})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert_eq!(r.json()["mode"], "individual_case_work");

            let r = app.post_with_token(&format!("{case}/transitions"), &triage, &json!({"to": "allocated"})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let view = app.get_with_token(&case, &triage).await.json();
            assert_eq!(view["status"], "allocated");
            assert_eq!(view["allocation"]["worker"], "worker@secos.example");
            assert_eq!(view["allocation"]["mode"], "individual_case_work");

            let referral = app.storage.find_referral(&reference).await.unwrap().unwrap();
            let kinds: Vec<String> = app
                .storage
                .chronology(&referral.id)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.kind)
                .collect();
            assert!(kinds.contains(&"action_waived".to_owned()), "{kinds:?}");
            assert!(kinds.contains(&"allocation".to_owned()), "{kinds:?}");

            // The worker finds it in their own queue.
            let worker_token = staff(app, "second@secos.example", Role::Caseworker, Some("secos")).await;
            let mine = app.get_with_token("/api/v1/referrals?assignee=worker@secos.example", &worker_token).await;
            assert_eq!(references(&mine.json()), vec![reference.clone()]);
        })
        .await;
}

#[tokio::test]
async fn the_queue_shows_a_team_its_own_work_urgent_first_and_filters() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let calm = submit(
                app,
                "cyber-choices",
                "enquiry",
                sample("cyber-choices-enquiry"),
            )
            .await;
            let mut urgent_answers = sample("cyber-choices-enquiry");
            urgent_answers["immediate_risk"] = json!(true);
            let urgent = submit(app, "cyber-choices", "enquiry", urgent_answers).await;
            let secos = submit(app, "secos", "referral", sample("secos-referral")).await;

            let cc = staff(app, "t@cc.example", Role::Triage, Some("cyber-choices")).await;
            let nobody = staff(app, "m@none.example", Role::Manager, None).await;
            let admin = staff(app, "a@example.org", Role::Admin, None).await;

            let queue = app.get_with_token("/api/v1/referrals", &cc).await;
            assert_eq!(queue.status, StatusCode::OK, "{}", queue.text());
            assert_eq!(
                references(&queue.json()),
                vec![urgent.clone(), calm.clone()]
            );
            assert_eq!(queue.json()["total"], 2);

            let all = app.get_with_token("/api/v1/referrals", &admin).await.json();
            assert_eq!(all["total"], 3);
            assert!(references(&all).contains(&secos));
            let none = app
                .get_with_token("/api/v1/referrals", &nobody)
                .await
                .json();
            assert_eq!(none["total"], 0);

            let only_urgent = app
                .get_with_token("/api/v1/referrals?urgent=true", &cc)
                .await
                .json();
            assert_eq!(references(&only_urgent), vec![urgent.clone()]);
            let paged = app
                .get_with_token("/api/v1/referrals?per_page=1&page=2", &cc)
                .await
                .json();
            assert_eq!(references(&paged), vec![calm.clone()]);
            assert_eq!(paged["total"], 2);
            // A page past the last one lists nothing but still says how many there are.
            let past = app
                .get_with_token("/api/v1/referrals?per_page=1&page=5", &cc)
                .await
                .json();
            assert!(references(&past).is_empty());
            assert_eq!(past["total"], 2);

            let bad = app
                .get_with_token("/api/v1/referrals?urgent=maybe", &cc)
                .await;
            assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(bad.error_fields(), vec!["urgent"]);
            let bad = app
                .get_with_token("/api/v1/referrals?colour=red", &cc)
                .await;
            assert_eq!(bad.error_fields(), vec!["colour"]);
            let bad = app
                .get_with_token("/api/v1/referrals?per_page=100000", &cc)
                .await;
            assert_eq!(bad.error_fields(), vec!["per_page"]);
            let bad = app
                .get_with_token("/api/v1/referrals?service=nope", &cc)
                .await;
            assert_eq!(bad.error_fields(), vec!["service"]);
            assert_eq!(
                app.get("/api/v1/referrals").await.status,
                StatusCode::UNAUTHORIZED
            );

            // Make the calm enquiry overdue and the urgent one due today.
            let today = haven_core::calendar::london_date(chrono::Utc::now());
            for (reference, due) in [(&calm, today - chrono::Days::new(3)), (&urgent, today)] {
                sqlx::query("UPDATE referrals SET due_by = $1 WHERE reference = $2")
                    .bind(due.format("%Y-%m-%d").to_string())
                    .bind(reference.as_str())
                    .execute(app.storage.pool())
                    .await
                    .unwrap();
            }
            let overdue = app
                .get_with_token("/api/v1/referrals?overdue=true", &cc)
                .await
                .json();
            assert_eq!(references(&overdue), vec![calm.clone()]);
            assert_eq!(overdue["items"][0]["overdue"], true);
            let due_today = app
                .get_with_token("/api/v1/referrals?due_today=true", &cc)
                .await
                .json();
            assert_eq!(references(&due_today), vec![urgent.clone()]);

            // Deciding suitability is the first contact: the SLA is met, so no longer overdue.
            let r = app
                .post_with_token(
                    &format!("/api/v1/referrals/{calm}/transitions"),
                    &cc,
                    &json!({"to": "suitability_decided", "decision": "suitable"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let overdue = app
                .get_with_token("/api/v1/referrals?overdue=true", &cc)
                .await
                .json();
            assert!(references(&overdue).is_empty(), "{overdue}");
            // "Suitable" sends the detailed form by itself: that is where the case is now.
            let by_status = app
                .get_with_token("/api/v1/referrals?status=detailed_form_requested", &cc)
                .await
                .json();
            assert_eq!(references(&by_status), vec![calm.clone()]);
            assert_eq!(by_status["items"][0]["overdue"], false);
        })
        .await;
}

#[tokio::test]
async fn the_queue_searches_by_name_with_a_misspelling_and_only_the_callers_cases() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let mut answers = sample("secos-referral");
            answers["young_person"]["name"] = json!("Marguerite Abernethy");
            let found = submit(app, "secos", "referral", answers).await;
            let mut other = sample("secos-referral");
            other["young_person"]["name"] = json!("Tobias Wrenfield");
            let not_found = submit(app, "secos", "referral", other).await;
            let triage = staff(app, "triage@secos.test", Role::Triage, Some("secos")).await;

            // A misspelt name finds the case, and only it.
            let response = app
                .get_with_token("/api/v1/referrals?q=Margerite%20Abernethey", &triage)
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let refs: Vec<String> = response.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["reference"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(refs, vec![found.clone()]);
            assert_eq!(response.json()["total"], json!(1));
            assert!(!refs.contains(&not_found));

            // The other filters still apply.
            let response = app
                .get_with_token(
                    "/api/v1/referrals?q=Marguerite%20Abernethy&status=closed",
                    &triage,
                )
                .await;
            assert_eq!(response.json()["items"], json!([]));

            // Another team's worker finds nothing of SECOS's.
            let ceop = staff(app, "triage@ceop.test", Role::Triage, Some("ceop")).await;
            let response = app
                .get_with_token("/api/v1/referrals?q=Marguerite%20Abernethy", &ceop)
                .await;
            assert_eq!(response.status, StatusCode::OK);
            assert_eq!(response.json()["items"], json!([]));

            // Too long a search is a clear error naming the field.
            let long = "a".repeat(201);
            let response = app
                .get_with_token(&format!("/api/v1/referrals?q={long}"), &triage)
                .await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(response.text().contains("\"q\""), "{}", response.text());
        })
        .await;
}
