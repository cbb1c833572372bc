//! Words for humans on the staff pages (issue 13): staff by their display names (the email
//! only for an account without one) in the chronology, the case summary and the queue; bands
//! in words, never their keys.

mod common;

use axum::http::StatusCode;
use common::staff::{Browser, account};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::storage::accounts::StaffDetails;
use serde_json::json;

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

async fn named(app: &TestApp, role: Role, name: Option<&str>) -> (String, String) {
    let (id, email) = account(app, role, Some("secos"), "a-password-for-tests").await;
    if let Some(name) = name {
        let details = StaffDetails {
            display_name: Some(name),
            phone: None,
        };
        assert!(
            app.storage
                .set_staff_details(&id, details, "test", app.state.now())
                .await
                .unwrap()
        );
    }
    (id, email)
}

#[tokio::test]
async fn staff_are_named_by_their_display_names_and_bands_in_words() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = secos(app).await;
            let case = format!("/staff/cases/{reference}");
            let (triage_id, triage_email) = named(app, Role::Triage, Some("Tess Triage")).await;
            let (_, worker_email) = named(app, Role::Caseworker, Some("Cal Worker")).await;
            let (_, plain_email) = named(app, Role::Caseworker, None).await;
            let mut triage = Browser::signed_in(app, &triage_id).await;
            let csrf = triage.csrf(app, &case).await;

            // The allocation form lists workers by name (their email is what it sends).
            let form = triage.get(app, &format!("{case}/allocation")).await.text();
            assert!(
                form.contains(&format!("value=\"{worker_email}\"")),
                "{form}"
            );
            assert!(form.contains(">Cal Worker</option>"), "{form}");
            // No display name: the email stands in.
            assert!(form.contains(&format!(">{plain_email}</option>")), "{form}");

            let allocated = triage
                .post(
                    app,
                    &format!("{case}/allocation"),
                    &[("worker", worker_email.as_str()), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(
                allocated.status,
                StatusCode::SEE_OTHER,
                "{}",
                allocated.text()
            );

            let summary = triage.get(app, &case).await.text();
            assert!(summary.contains(">Cal Worker</dd>"), "{summary}");
            let chronology = triage.get(app, &format!("{case}/chronology")).await.text();
            assert!(
                chronology.contains("Allocated to Cal Worker"),
                "{chronology}"
            );
            assert!(
                chronology.contains("Tess Triage"),
                "the byline names who did it"
            );
            // (The header says whose session it is; the chronology itself names no email.)
            let timeline = chronology.split("id=\"main-content\"").nth(1).unwrap();
            assert!(
                !timeline.contains(&worker_email) && !timeline.contains(&triage_email),
                "{timeline}"
            );

            let queue = triage.get(app, "/staff/queue").await.text();
            assert!(queue.contains("Cal Worker"), "{queue}");
            // The queue's band column and band filter in words ("High", not `high`).
            let band = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap()
                .suggested_band
                .expect("the sample is screened into a band");
            let words = haven::web::staff::case::band_words(&band);
            assert!(queue.contains(&format!(">{words} (suggested)<")), "{queue}");
            assert!(
                queue.contains(&format!("value=\"{band}\">{words}</option>")),
                "{queue}"
            );
        })
        .await;
}
