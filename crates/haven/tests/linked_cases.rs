//! Linked cases in the staff workspace (issue 16): a confirmed link shows the linked cases of
//! the same team in one chronology (a rejected link or another team's case never), and a
//! referral that matches an open case of another team raises the "known elsewhere" alert,
//! recorded in the background, shown as a badge on the queue and in the identity bar only to
//! roles allowed `see_known_elsewhere`, and cleared when the other case closes.

use crate::common;

use axum::http::StatusCode;
use chrono::Utc;
use common::staff::{Browser, signed_in};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use serde_json::json;
use sqlx::Row;

/// The badge, as the queue and the identity bar show it (the summary's panel has a heading
/// with the same words, so the badge is told by its class).
const BADGE: &str = "moj-badge--blue\">Known to another service</strong>";

/// A SECOS referral about a child with this name and date of birth; its reference.
async fn secos_about(app: &TestApp, name: &str, dob: &str) -> String {
    let mut answers = sample("secos-referral");
    answers["young_person"]["name"] = json!(name);
    answers["young_person"]["date_of_birth"] = json!(dob);
    answers["young_person"]["contact_details"] =
        json!(format!("Mobile 07700 900{:03}", name.len()));
    app.submit(&json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers})).await
}

/// A CEOP report by a parent about the child of [`secos_about`]`("Maya Clarke", …)`.
async fn ceop_about_maya(app: &TestApp) -> String {
    let mut answers = sample("ceop-report-parent");
    answers["child"]["date_of_birth"] = json!("2012-02-09");
    answers["child"]["location"] = json!("14 Sample Street, Middlesbrough TS9 9ZY");
    app.submit(&json!({"service": "ceop", "stage": "report", "audience": "parent_carer", "answers": answers})).await
}

async fn decide(app: &TestApp, browser: &mut Browser, case: &str, other: &str, decision: &str) {
    let csrf = browser.csrf(app, &format!("/staff/cases/{case}")).await;
    let done = browser
        .post(
            app,
            &format!("/staff/cases/{case}/links"),
            &[
                ("csrf", csrf.as_str()),
                ("other", other),
                ("decision", decision),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
}

/// The references each event of a chronology page is labelled with, newest first.
fn labelled(html: &str) -> Vec<String> {
    let re = regex::Regex::new(
        r#"haven-timeline__case">Case <a class="govuk-link" href="/staff/cases/([A-Z0-9-]+)">"#,
    )
    .unwrap();
    re.captures_iter(html).map(|c| c[1].to_owned()).collect()
}

#[tokio::test]
async fn a_confirmed_link_shows_the_linked_cases_events_in_one_chronology() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let first = secos_about(app, "Jayden O'Neil", "2011-03-07").await;
            let second = secos_about(app, "Jaiden Oneill", "2011-07-03").await;
            let rejected = secos_about(app, "Jayden Oneil", "2011-03-07").await;
            // Another team's case about the same child, "confirmed" behind the pages' back:
            // it must still never appear.
            let mut answers = sample("ceop-report-parent");
            answers["child"]["date_of_birth"] = json!("2011-03-07");
            let ceop = app.submit(&json!({"service": "ceop", "stage": "report", "audience": "parent_carer", "answers": answers})).await;
            let (first_id, second_id) = (app.id_of(&first).await, app.id_of(&second).await);
            app.storage
                .add_note(&first_id, "test", "A note on the first case.", Utc::now())
                .await
                .unwrap();
            app.storage
                .decide_person_link(&second_id, &app.id_of(&ceop).await, true, "test", Utc::now())
                .await
                .unwrap();

            let mut triage = signed_in(app, Role::Triage, Some("secos")).await;
            let chronology = format!("/staff/cases/{second}/chronology");
            // No confirmed link yet: this case's events only, unlabelled.
            let html = triage.get(app, &chronology).await.text();
            assert!(!html.contains("Note added"), "{html}");
            assert!(labelled(&html).is_empty(), "{html}");

            decide(app, &mut triage, &second, &first, "confirm").await;
            decide(app, &mut triage, &second, &rejected, "reject").await;
            let response = triage.get(app, &chronology).await;
            assert_eq!(response.status, StatusCode::OK);
            let html = response.text();
            assert!(html.contains("id=\"linked-cases\""), "{html}");
            assert!(html.contains("Note added"), "the linked case's note: {html}");
            let refs = labelled(&html);
            // Newest first: the note on the first case came after both were received.
            assert_eq!(refs.first(), Some(&first), "{refs:?}");
            assert!(refs.contains(&second) && refs.contains(&first), "{refs:?}");
            assert!(refs.iter().all(|r| *r == first || *r == second), "{refs:?}");
            assert!(!html.contains(&rejected), "a rejected link: {html}");
            assert!(!html.contains(&ceop), "another team's case: {html}");
            assert!(html.contains(&format!("href=\"/staff/cases/{first}\">{first}</a> (linked case)")), "{html}");
            assert!(html.contains("(this case)"), "{html}");
            // The events of the linked case are audited once, naming it.
            let reasons: Vec<Option<String>> = sqlx::query(
                "SELECT reason FROM audit_log WHERE action = 'referral.chronology_viewed' AND record_id = $1",
            )
            .bind(&second_id)
            .fetch_all(app.storage.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
            assert_eq!(reasons, [Some(format!("linked:{first}"))]);

            // "This case only".
            let html = triage.get(app, &format!("{chronology}?only=this")).await.text();
            assert!(!html.contains("Note added"), "{html}");
            assert!(labelled(&html).is_empty(), "{html}");
            assert!(html.contains("id=\"with-linked-cases\""), "{html}");

            // The link works both ways: the first case shows the second's events.
            let html = triage.get(app, &format!("/staff/cases/{first}/chronology")).await.text();
            assert!(labelled(&html).contains(&second), "{html}");

            // CEOP's staff see their own case only, whatever was confirmed.
            let mut ceop_staff = signed_in(app, Role::Triage, Some("ceop")).await;
            let html = ceop_staff.get(app, &format!("/staff/cases/{ceop}/chronology")).await.text();
            assert!(!html.contains(&second) && labelled(&html).is_empty(), "{html}");
        })
        .await;
}

#[tokio::test]
async fn a_referral_matching_another_teams_open_case_raises_the_known_elsewhere_alert() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let secos = secos_about(app, "Maya Clarke", "2012-02-09").await;
            let other_child = secos_about(app, "Amira Khan", "2010-11-21").await;
            let ceop = ceop_about_maya(app).await;
            let alerts = async || -> i64 {
                sqlx::query("SELECT COUNT(*) FROM known_elsewhere")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .get(0)
            };
            // Intake never waits for the match: nothing recorded until the matcher runs.
            assert_eq!(alerts().await, 0);
            let mut ceop_staff = signed_in(app, Role::Triage, Some("ceop")).await;
            assert!(
                !ceop_staff
                    .get(app, "/staff/queue")
                    .await
                    .text()
                    .contains(BADGE)
            );

            let matched =
                haven::cases::people::match_pending(&app.storage, &app.registry, Utc::now())
                    .await
                    .unwrap();
            assert_eq!(matched, 3);
            // Recorded both ways, once; a second pass has nothing to do.
            assert_eq!(alerts().await, 2);
            assert_eq!(
                haven::cases::people::match_pending(&app.storage, &app.registry, Utc::now())
                    .await
                    .unwrap(),
                0
            );
            let recorded: i64 = sqlx::query(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'known_elsewhere.recorded'",
            )
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
            assert!(recorded >= 1);

            // CEOP's queue and case page: the badge, distinct from urgent.
            let queue = ceop_staff.get(app, "/staff/queue").await.text();
            let row = row_of(&queue, &ceop);
            assert!(row.contains(BADGE), "{row}");
            let page = ceop_staff
                .get(app, &format!("/staff/cases/{ceop}"))
                .await
                .text();
            assert!(identity_bar(&page).contains(BADGE), "{page}");
            // SECOS's team learns it too, on its case only.
            let mut secos_staff = signed_in(app, Role::Caseworker, Some("secos")).await;
            let queue = secos_staff.get(app, "/staff/queue").await.text();
            assert!(row_of(&queue, &secos).contains(BADGE), "{queue}");
            assert!(!row_of(&queue, &other_child).contains(BADGE), "{queue}");
            let page = secos_staff
                .get(app, &format!("/staff/cases/{secos}/chronology"))
                .await
                .text();
            assert!(
                identity_bar(&page).contains(BADGE),
                "every page of the case: {page}"
            );

            // Roles without `see_known_elsewhere` (auditors, admins) never see it.
            for role in [Role::Auditor, Role::Admin] {
                let mut browser = signed_in(app, role, None).await;
                let queue = browser.get(app, "/staff/queue").await.text();
                assert!(queue.contains(&ceop), "{role:?} lists the case: {queue}");
                assert!(!queue.contains(BADGE), "{role:?}: {queue}");
                let page = browser
                    .get(app, &format!("/staff/cases/{ceop}"))
                    .await
                    .text();
                assert!(!page.contains(BADGE), "{role:?}: {page}");
            }

            // Closing SECOS's case clears CEOP's alert (and SECOS's own is about CEOP's,
            // still open).
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let closed = app
                .post_with_token(
                    &format!("/api/v1/referrals/{secos}/transitions"),
                    &token,
                    &json!({"to": "closed", "decision": "withdrawn", "reason": "Moved away"}),
                )
                .await;
            assert_eq!(closed.status, StatusCode::OK, "{}", closed.text());
            let queue = ceop_staff.get(app, "/staff/queue").await.text();
            assert!(!row_of(&queue, &ceop).contains(BADGE), "{queue}");
            let page = ceop_staff
                .get(app, &format!("/staff/cases/{ceop}"))
                .await
                .text();
            assert!(!identity_bar(&page).contains(BADGE), "{page}");

            // Destroying SECOS's case (retention) deletes the alerts both ways: its own and
            // CEOP's naming it.
            let secos_id = app.id_of(&secos).await;
            let entry = haven::storage::audit::AuditEntry::new(
                Utc::now(),
                "system",
                "case.destroyed",
                "referral",
                &secos_id,
            );
            assert!(
                app.storage
                    .destroy_case_rows(&secos_id, &[], &entry, None)
                    .await
                    .unwrap()
            );
            assert_eq!(alerts().await, 0);
        })
        .await;
}

#[tokio::test]
async fn a_match_with_a_closed_case_or_the_same_team_raises_no_alert() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let secos = secos_about(app, "Maya Clarke", "2012-02-09").await;
            // The same child again at SECOS: a possible link, never "known elsewhere".
            secos_about(app, "Maya Clarke", "2012-02-09").await;
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let closed = app
                .post_with_token(
                    &format!("/api/v1/referrals/{secos}/transitions"),
                    &token,
                    &json!({"to": "closed", "decision": "withdrawn", "reason": "Moved away"}),
                )
                .await;
            assert_eq!(closed.status, StatusCode::OK, "{}", closed.text());
            haven::cases::people::match_pending(&app.storage, &app.registry, Utc::now())
                .await
                .unwrap();
            assert_no_alerts(app).await;
            // CEOP's report now matches SECOS's closed case and its open one.
            let ceop = ceop_about_maya(app).await;
            haven::cases::people::match_pending(&app.storage, &app.registry, Utc::now())
                .await
                .unwrap();
            let closed_id = app.id_of(&secos).await;
            let with_closed: i64 = sqlx::query(
                "SELECT COUNT(*) FROM known_elsewhere WHERE referral_id = $1 OR other_referral_id = $1",
            )
            .bind(&closed_id)
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
            assert_eq!(with_closed, 0, "never recorded against a closed case");
            let ceop_id = app.id_of(&ceop).await;
            let ceops: i64 = sqlx::query("SELECT COUNT(*) FROM known_elsewhere WHERE referral_id = $1")
                .bind(&ceop_id)
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
            assert_eq!(ceops, 1, "the open SECOS case");
        })
        .await;
}

async fn assert_no_alerts(app: &TestApp) {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM known_elsewhere")
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

/// The queue row of a case (from its link to the end of the row).
fn row_of<'a>(queue: &'a str, reference: &str) -> &'a str {
    let at = queue
        .find(&format!("href=\"/staff/cases/{reference}\""))
        .unwrap_or_else(|| panic!("{reference} not listed: {queue}"));
    let rest = &queue[at..];
    &rest[..rest.find("</tr>").unwrap_or(rest.len())]
}

/// The identity bar of a case page.
fn identity_bar(page: &str) -> &str {
    let at = page.find("id=\"identity\"").expect("an identity bar");
    let rest = &page[at..];
    &rest[..rest.find("moj-sub-navigation").unwrap_or(rest.len())]
}
