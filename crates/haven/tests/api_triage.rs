//! Screening, anonymity and SLA wired into submissions; triage endpoints.

use crate::common;

use common::sample;

use axum::http::StatusCode;
use common::{TestApp, TestAppBuilder};
use serde_json::{Value, json};
use sqlx::Row;

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

async fn submit(
    app: &TestApp,
    service: &str,
    stage: &str,
    audience: &str,
    answers: Value,
) -> common::TestResponse {
    app.post_json(
        "/api/v1/submissions",
        &json!({"service": service, "stage": stage, "audience": audience, "answers": answers}),
    )
    .await
}

async fn referral_count(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM referrals")
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn an_anonymous_enquiry_naming_someone_is_refused_until_confirmed() {
    builtins()
        .each_engine(async |app| {
            let mut answers = sample("cyber-choices-enquiry");
            answers["summary"] = json!("Jordan Smith has been using a booter service to knock players offline in online games.");
            let response = submit(app, "cyber-choices", "enquiry", "professional", answers.clone()).await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text());
            assert_eq!(response.error_fields(), vec!["summary"]);
            let message = response.json()["error"]["fields"][0]["message"].as_str().unwrap().to_owned();
            assert!(message.contains("a person's name"), "{message}");
            assert_eq!(referral_count(app).await, 0);

            answers["anonymity_confirmed"] = json!(["summary"]);
            let response = submit(app, "cyber-choices", "enquiry", "professional", answers).await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let reference = response.json()["reference"].as_str().unwrap().to_owned();
            let stored = app.storage.find_referral(&reference).await.unwrap().unwrap();
            assert_eq!(stored.answers["anonymity_confirmed"], json!(["summary"]));
        })
        .await;
}

#[tokio::test]
async fn a_cyber_choices_enquiry_is_due_five_working_days_after_receipt() {
    builtins()
        .each_engine(async |app| {
            let response = submit(
                app,
                "cyber-choices",
                "enquiry",
                "professional",
                sample("cyber-choices-enquiry"),
            )
            .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let reference = response.json()["reference"].as_str().unwrap().to_owned();
            let stored = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            let def = app.registry.get("cyber-choices").unwrap();
            let sla = haven::intake::first_contact_sla(def, "enquiry").unwrap();
            assert_eq!(
                stored.due_by,
                haven_core::calendar::due_by(sla, stored.received_at)
            );
            assert!(stored.due_by.unwrap() > haven_core::calendar::london_date(stored.received_at));
            assert!(stored.screening.is_some());
            assert!(stored.rules_version.is_some());
        })
        .await;
}

#[tokio::test]
async fn a_ceop_bullying_only_report_is_signposted_and_not_stored() {
    builtins()
        .each_engine(async |app| {
            let response = submit(
                app,
                "ceop",
                "report",
                "young_person",
                sample("ceop-report-bullying"),
            )
            .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let body = response.json();
            assert_eq!(body["accepted"], false);
            let keys: Vec<&str> = body["signposts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["key"].as_str().unwrap())
                .collect();
            assert!(
                keys.contains(&"childline") && keys.contains(&"nspcc_helpline"),
                "{keys:?}"
            );
            assert!(body.get("reference").is_none());
            assert_eq!(referral_count(app).await, 0);
            let today = haven_core::calendar::london_date(chrono::Utc::now());
            let count = app
                .storage
                .not_accepted_count(today, "ceop", "young_person", "bullying")
                .await
                .unwrap();
            assert_eq!(count, 1);
        })
        .await;
}

#[tokio::test]
async fn a_secos_referral_stores_its_band_and_required_actions() {
    builtins()
        .each_engine(async |app| {
            let response = submit(
                app,
                "secos",
                "referral",
                "professional",
                sample("secos-referral"),
            )
            .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let reference = response.json()["reference"].as_str().unwrap().to_owned();
            let stored = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            let band = stored.suggested_band.clone().expect("a suggested band");
            let screening = stored.screening.unwrap();
            assert_eq!(screening["suggested_band"], json!(band));
            assert!(
                !screening["required_actions"].as_array().unwrap().is_empty(),
                "{screening}"
            );
            assert_eq!(stored.eligible, Some(true));
        })
        .await;
}

async fn cc_enquiry(app: &TestApp) -> String {
    let response = submit(
        app,
        "cyber-choices",
        "enquiry",
        "professional",
        sample("cyber-choices-enquiry"),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_anonymity_check_reports_findings_with_byte_offsets() {
    builtins()
        .each_engine(async |app| {
            let response = app
                .post_json(
                    "/api/v1/anonymity-check",
                    &json!({"text": "Email jo@example.org please"}),
                )
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let body = response.json();
            assert_eq!(body["identifying"], true);
            assert_eq!(
                body["findings"][0],
                json!({"kind": "email", "start": 6, "end": 20, "char_start": 6, "char_end": 20})
            );
            // Character offsets differ from bytes after "â" (two bytes).
            let response = app
                .post_json(
                    "/api/v1/anonymity-check",
                    &json!({"text": "Siân: jo@example.org"}),
                )
                .await;
            let body = response.json();
            let email = body["findings"]
                .as_array()
                .and_then(|all| all.iter().find(|f| f["kind"] == "email"))
                .cloned();
            assert_eq!(
                email,
                Some(
                    json!({"kind": "email", "start": 7, "end": 21, "char_start": 6, "char_end": 20})
                )
            );
            let long = "a ".repeat(40 * 1024);
            let response = app
                .post_json("/api/v1/anonymity-check", &json!({ "text": long }))
                .await;
            assert!(
                matches!(response.status.as_u16(), 413 | 422),
                "{}",
                response.status
            );
        })
        .await;
}

#[tokio::test]
async fn staff_screen_answers_without_storing_them() {
    builtins()
        .each_engine(async |app| {
            let body = json!({"service": "secos", "answers": sample("secos-referral")});
            let response = app.post_json("/api/v1/screen", &body).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED);
            let (_, token) = app.staff(haven::access::Role::Triage, Some("secos")).await;
            let response = app.post_with_token("/api/v1/screen", &token, &body).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            assert!(response.json()["suggested_band"].is_string());
            let response = app.post_with_token("/api/v1/screen", &token, &json!({"service": "secos", "answers": {"young_person": {"date_of_birth": "soon"}}})).await;
            assert_eq!(
                response.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                response.text()
            );
            assert_eq!(referral_count(app).await, 0);
        })
        .await;
}

#[tokio::test]
async fn overriding_the_band_needs_a_known_band_and_a_reason() {
    builtins()
        .each_engine(async |app| {
            let response = submit(
                app,
                "secos",
                "referral",
                "professional",
                sample("secos-referral"),
            )
            .await;
            let reference = response.json()["reference"].as_str().unwrap().to_owned();
            let team = app.registry.get("secos").unwrap().team.clone();
            let bands = app
                .registry
                .get("secos")
                .unwrap()
                .screening
                .as_ref()
                .unwrap()
                .bands
                .clone();
            let (_, token) = app.staff(haven::access::Role::Triage, Some(&team)).await;
            let path = format!("/api/v1/referrals/{reference}/screening");
            let response = app
                .post_with_token(&path, &token, &json!({"band": bands[0], "reason": " "}))
                .await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(response.error_fields(), vec!["reason"]);
            let response = app
                .post_with_token(&path, &token, &json!({"band": "purple", "reason": "x"}))
                .await;
            assert_eq!(response.error_fields(), vec!["band"]);
            let response = app
                .post_with_token(
                    &path,
                    &token,
                    &json!({"band": bands[0], "reason": "Seen by the team"}),
                )
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let stored = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.confirmed_band.as_deref(), Some(bands[0].as_str()));
            assert!(stored.suggested_band.is_some());
            let view = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await
                .json();
            assert_eq!(view["screening"]["confirmed_band"], json!(bands[0]));
            let chronology = app.storage.chronology(&stored.id).await.unwrap();
            // The band's own event; the required actions it changed follow it.
            let confirmed = chronology
                .iter()
                .rfind(|e| e.kind == "band_confirmed")
                .unwrap();
            assert_eq!(confirmed.reason.as_deref(), Some("Seen by the team"));
            assert!(
                chronology
                    .iter()
                    .skip_while(|e| e.kind != "band_confirmed")
                    .skip(1)
                    .all(|e| e.kind.starts_with("action_")),
                "only required-action changes follow the band"
            );
        })
        .await;
}

#[tokio::test]
async fn transitions_check_the_role_and_the_guards_and_are_recorded() {
    builtins()
        .each_engine(async |app| {
            let reference = cc_enquiry(app).await;
            let team = app.registry.get("cyber-choices").unwrap().team.clone();
            let (_, caseworker) = app.staff(haven::access::Role::Caseworker, Some(&team)).await;
            let (_, triage) = app.staff(haven::access::Role::Triage, Some(&team)).await;
            let path = format!("/api/v1/referrals/{reference}/transitions");
            let decide = json!({"to": "suitability_decided", "decision": "not_suitable", "reason": "Outside our area"});
            let response = app.post_with_token(&path, &caseworker, &decide).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.text());

            let view = app.get_with_token(&format!("/api/v1/referrals/{reference}"), &triage).await.json();
            assert!(view["available_transitions"].as_array().unwrap().iter().any(|t| t["to"] == "suitability_decided"));
            assert!(view["due_by"].is_string());

            let response = app.post_with_token(&path, &triage, &decide).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            assert_eq!(response.json()["status"], "suitability_decided");

            let response = app.post_with_token(&path, &triage, &json!({"to": "detailed_form_requested"})).await;
            assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.text());
            assert_eq!(response.error_code(), "guard_failed");
            assert!(response.json()["error"]["message"].as_str().unwrap().contains("decided_suitable"));

            let chronology = app.get_with_token(&format!("/api/v1/referrals/{reference}/chronology"), &triage).await.json();
            let last = chronology.as_array().unwrap().last().unwrap().clone();
            assert_eq!(last["kind"], "transition");
            assert_eq!(last["from"], "enquiry_received");
            assert_eq!(last["to"], "suitability_decided");
            assert_eq!(last["reason"], "Outside our area");
            assert_eq!(last["detail"]["decision"], "not_suitable");
        })
        .await;
}
