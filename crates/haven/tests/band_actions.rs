//! Required actions follow the confirmed band (issue 11): overriding the band recomputes the
//! case's required actions from the definition; new ones are added, ones no longer required
//! are `not_required` with the override's reason, all on the chronology, and
//! `screening.required_actions` keeps what the tool suggested at intake.

use crate::common;

use axum::http::StatusCode;
use common::staff::{Browser, account};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use serde_json::{Value, json};

const LOWER: &str = "Strategy meeting found the risk lower V7Q";

async fn submit(app: &TestApp, answers: Value) -> String {
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

/// The SECOS sample without its significant indicators: screened medium.
fn medium_answers() -> Value {
    let mut answers = sample("secos-referral");
    let screening = answers["screening"].as_object_mut().unwrap();
    screening.remove("significant");
    screening.remove("significant_narrative");
    answers
}

fn statuses(view: &Value) -> Vec<(String, String)> {
    view["required_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn status_of<'a>(list: &'a [(String, String)], key: &str) -> Option<&'a str> {
    list.iter().find(|(k, _)| k == key).map(|(_, s)| s.as_str())
}

fn screened_keys(view: &Value) -> Vec<String> {
    view["screening"]["required_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn overriding_medium_to_high_adds_the_childrens_services_referral() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = submit(app, medium_answers()).await;
            let (_, triage) = app.staff(Role::Triage, Some("secos")).await;
            let case = format!("/api/v1/referrals/{reference}");
            let view = app.get_with_token(&case, &triage).await.json();
            assert_eq!(view["screening"]["suggested_band"], "medium", "{view}");
            let before = statuses(&view);
            assert_eq!(status_of(&before, "vemt_referral"), Some("open"));
            assert_eq!(status_of(&before, "childrens_services_referral"), None);

            let r = app
                .post_with_token(
                    &format!("{case}/screening"),
                    &triage,
                    &json!({"band": "high", "reason": "Disclosure at school today"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let view = app.get_with_token(&case, &triage).await.json();
            let after = statuses(&view);
            assert_eq!(
                status_of(&after, "childrens_services_referral"),
                Some("open"),
                "{view}"
            );
            assert_eq!(status_of(&after, "vemt_referral"), Some("open"));
            // The tool's suggestion at intake is kept as it was.
            assert!(!screened_keys(&view).contains(&"childrens_services_referral".to_owned()));
            let added = view["required_actions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == "childrens_services_referral")
                .unwrap()
                .clone();
            assert_eq!(added["label"], "Refer to Children's Services");

            let chronology = app
                .get_with_token(&format!("{case}/chronology"), &triage)
                .await
                .json();
            let event = chronology
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == "action_added")
                .unwrap_or_else(|| panic!("no action_added event: {chronology}"));
            assert_eq!(event["detail"]["action"], "childrens_services_referral");
            assert_eq!(event["detail"]["band"], "high");
            assert_eq!(event["reason"], "Disclosure at school today");
        })
        .await;
}

#[tokio::test]
async fn overriding_high_to_low_marks_band_actions_not_required_without_blocking_guards() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = submit(app, sample("secos-referral")).await;
            let (_, triage) = app.staff(Role::Triage, Some("secos")).await;
            let case = format!("/api/v1/referrals/{reference}");
            let view = app.get_with_token(&case, &triage).await.json();
            assert_eq!(view["screening"]["suggested_band"], "high", "{view}");
            let screened = screened_keys(&view);
            assert!(screened.contains(&"vemt_referral".to_owned()));
            assert!(screened.contains(&"childrens_services_referral".to_owned()));

            let r = app
                .post_with_token(
                    &format!("{case}/screening"),
                    &triage,
                    &json!({"band": "low", "reason": LOWER}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let view = app.get_with_token(&case, &triage).await.json();
            let after = statuses(&view);
            assert_eq!(status_of(&after, "vemt_referral"), Some("not_required"));
            assert_eq!(
                status_of(&after, "childrens_services_referral"),
                Some("not_required")
            );
            // Actions that do not depend on the band stay to do.
            assert_eq!(status_of(&after, "police_intelligence"), Some("open"));
            assert_eq!(
                screened_keys(&view),
                screened,
                "the suggestion is unchanged"
            );

            let chronology = app
                .get_with_token(&format!("{case}/chronology"), &triage)
                .await
                .json();
            let dropped: Vec<&Value> = chronology
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "action_not_required")
                .collect();
            assert_eq!(dropped.len(), 2, "{chronology}");
            assert!(dropped.iter().all(|e| e["reason"] == LOWER));

            // `not_required` does not hold up the guard that wants every action dealt with.
            let r = app
                .post_with_token(
                    &format!("{case}/transitions"),
                    &triage,
                    &json!({"to": "screening_confirmed"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            for (key, status) in &after {
                if status == "open" {
                    let r = app
                        .post_with_token(
                            &format!("{case}/actions/{key}"),
                            &triage,
                            &json!({"status": "done"}),
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
                }
            }
            let r = app
                .post_with_token(
                    &format!("{case}/transitions"),
                    &triage,
                    &json!({"to": "onward_actions_done"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());

            // Back up to high: the band actions are required (to do) again.
            let r = app
                .post_with_token(
                    &format!("{case}/screening"),
                    &triage,
                    &json!({"band": "high", "reason": "New disclosure"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let view = app.get_with_token(&case, &triage).await.json();
            let again = statuses(&view);
            assert_eq!(status_of(&again, "vemt_referral"), Some("open"));
            assert_eq!(
                status_of(&again, "childrens_services_referral"),
                Some("open")
            );
            assert_eq!(status_of(&again, "police_intelligence"), Some("done"));
        })
        .await;
}

#[tokio::test]
async fn the_case_page_says_in_words_what_the_band_changed() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = submit(app, sample("secos-referral")).await;
            let (id, _) = account(app, Role::Triage, Some("secos"), "a-password-for-tests").await;
            let mut triage = Browser::signed_in(app, &id).await;
            let case = format!("/staff/cases/{reference}");
            let csrf = triage.csrf(app, &case).await;
            let done = triage
                .post(
                    app,
                    &format!("{case}/band"),
                    &[("band", "low"), ("reason", LOWER), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
            let html = triage.get(app, &format!("{case}/chronology")).await.text();
            let screening = triage.get(app, &format!("{case}/screening")).await.text();
            assert!(
                html.contains("No longer required: Refer to the VEMT panel (band confirmed as Low)"),
                "{html}"
            );
            assert!(html.contains(
                "No longer required: Refer to Children&#x27;s Services (band confirmed as Low)"
            ));
            assert!(html.contains(LOWER));
            assert!(screening.contains("No longer required (band changed)"));
            assert!(!html.contains("vemt_referral marked"), "no keys in words");

            let csrf = triage.csrf(app, &case).await;
            let done = triage
                .post(
                    app,
                    &format!("{case}/band"),
                    &[("band", "high"), ("reason", "New disclosure"), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(done.status, StatusCode::SEE_OTHER);
            let html = triage.get(app, &format!("{case}/chronology")).await.text();
            assert!(
                html.contains(
                    "Required action added: Refer to Children&#x27;s Services (band confirmed as High)"
                ),
                "{html}"
            );
        })
        .await;
}
