//! Dashboards (issue 17): the folder's daily counts equal the truth counted from the
//! referrals themselves; folding again (and rebuilding) changes nothing; referrals and
//! out-of-scope reports arriving after a fold are added by the next; a manager sees only
//! their team's services (another's answers 404), an auditor every team's; the CSV export
//! suppresses counts under 5, defuses spreadsheet formulas and is audited; each page view is
//! audited (who, the service, the range; no numbers); accepted referrals are counted by
//! their concern (kept in the clear at intake from the definition's `concern_question`) and
//! out-of-scope reports by where they were signposted; a bad date is an error naming its
//! field. Every test runs on SQLite and, with HAVEN_TEST_DATABASE_URL, on
//! PostgreSQL.

use crate::common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use common::run::haven;
use common::staff::{Browser, account};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::cases::{is_closed, stats};
use haven_core::calendar::london_date;
use haven_core::statistics::{NO_BAND, Range, StatRow, Totals, UNCONFIRMED, dimension as dim};
use serde_json::json;
use sqlx::Row;

/// Seeds `count` referrals in their final states (`haven dev seed`).
fn seed(app: &TestApp, count: usize) {
    let out = haven(
        app,
        &[
            "dev",
            "seed",
            "--count",
            &count.to_string(),
            "--batch",
            "64",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every stored aggregate row, in order.
async fn all_rows(app: &TestApp) -> Vec<(String, String, String, String, i64)> {
    sqlx::query(
        "SELECT service, day, dimension, value, count FROM daily_stats
         ORDER BY service, day, dimension, value",
    )
    .fetch_all(app.storage.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<String, _>(2),
            r.get::<String, _>(3),
            r.get::<i64, _>(4),
        )
    })
    .collect()
}

/// Every day there is.
fn everything() -> Range {
    Range {
        from: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
    }
}

async fn totals(app: &TestApp, service: &str) -> Totals {
    let range = everything();
    let rows: Vec<StatRow> = app
        .storage
        .stats_rows(service, range.from, range.to)
        .await
        .unwrap();
    Totals::of(&rows, range)
}

/// The truth, counted from the referrals: `(dimension, value) -> count` for one service.
async fn truth(app: &TestApp, service: &str) -> BTreeMap<(String, String), i64> {
    let def = app.registry.get(service).unwrap();
    let rows = sqlx::query(
        "SELECT audience, status, urgent, suggested_band, confirmed_band, assignee, concerns
         FROM referrals WHERE service = $1",
    )
    .bind(service)
    .fetch_all(app.storage.pool())
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    let mut add = |d: &str, v: &str| *out.entry((d.to_owned(), v.to_owned())).or_insert(0) += 1;
    for r in &rows {
        let status: String = r.get(1);
        add(dim::RECEIVED, "all");
        add(dim::AUDIENCE, &r.get::<String, _>(0));
        add(dim::STATE, &status);
        add(
            dim::URGENT,
            if r.get::<i64, _>(2) != 0 { "yes" } else { "no" },
        );
        add(
            dim::BAND_SUGGESTED,
            &r.get::<Option<String>, _>(3).unwrap_or(NO_BAND.into()),
        );
        add(
            dim::BAND_CONFIRMED,
            &r.get::<Option<String>, _>(4).unwrap_or(UNCONFIRMED.into()),
        );
        if let Some(concerns) = r.get::<Option<String>, _>(6) {
            if concerns.is_empty() {
                add(dim::CONCERN, haven_core::statistics::NO_CONCERN);
            }
            for key in concerns.split(',').filter(|k| !k.is_empty()) {
                add(dim::CONCERN, key);
            }
        }
        if !is_closed(def, &status) {
            let who = r
                .get::<Option<String>, _>(5)
                .filter(|a| !a.is_empty())
                .unwrap_or("unallocated".into());
            add(dim::OPEN_BY_WORKER, &who);
        }
    }
    out
}

fn assert_matches_truth(service: &str, got: &Totals, want: &BTreeMap<(String, String), i64>) {
    assert!(!want.is_empty(), "{service}: nothing seeded");
    for ((d, v), n) in want {
        assert_eq!(got.count(d, v), *n, "{service}: {d}={v}");
    }
    // Nothing counted that the truth does not have, for the dimensions it covers.
    for d in [
        dim::AUDIENCE,
        dim::STATE,
        dim::URGENT,
        dim::OPEN_BY_WORKER,
        dim::CONCERN,
    ] {
        let sum: i64 = got.of_dimension(d).iter().map(|(_, n)| n).sum();
        let want_sum: i64 = want
            .iter()
            .filter(|((k, _), _)| k == d)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(sum, want_sum, "{service}: {d}");
    }
}

#[tokio::test]
async fn folding_counts_the_truth_once_and_adds_what_came_after() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            seed(app, 240);
            let today = london_date(app.state.staff.clock.now());
            for _ in 0..3 {
                app.storage
                    .count_not_accepted(
                        today,
                        "ceop",
                        "young_person",
                        &["bullying"],
                        &["childline", "nspcc_helpline"],
                    )
                    .await
                    .unwrap();
            }
            let now = app.state.staff.clock.now();
            let folded = stats::fold(&app.storage, &app.registry, now).await.unwrap();
            assert!(folded.days > 0);
            for service in ["secos", "ceop", "cyber-choices"] {
                let got = totals(app, service).await;
                assert_matches_truth(service, &got, &truth(app, service).await);
            }
            // The seeded CEOP and Cyber Choices referrals carry their concern.
            for service in ["ceop", "cyber-choices"] {
                let got = totals(app, service).await;
                let concerned: i64 = got.of_dimension(dim::CONCERN).iter().map(|(_, n)| n).sum();
                assert!(
                    concerned >= got.count(dim::RECEIVED, "all"),
                    "{service}: {concerned}"
                );
            }
            let ceop = totals(app, "ceop").await;
            assert_eq!(ceop.count(dim::OUT_OF_SCOPE, "all"), 3);
            assert_eq!(ceop.count(dim::OUT_OF_SCOPE_CONCERN, "bullying"), 3);
            // Cyber Choices has the 5 working days SLA: every referral is in one bucket.
            let cc = totals(app, "cyber-choices").await;
            let contact: i64 = cc
                .of_dimension(dim::FIRST_CONTACT)
                .iter()
                .map(|(_, n)| n)
                .sum();
            assert_eq!(contact, cc.count(dim::RECEIVED, "all"));

            // Idempotent: folding again, and rebuilding from scratch, give the same rows.
            let before = all_rows(app).await;
            stats::fold(&app.storage, &app.registry, now + Duration::seconds(1))
                .await
                .unwrap();
            assert_eq!(all_rows(app).await, before);
            let out = haven(app, &["stats", "rebuild"], None);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(all_rows(app).await, before);

            // Arrivals after a fold are added by the next one.
            let secos_before = totals(app, "secos").await.count(dim::RECEIVED, "all");
            let response = app
                .post_json(
                    "/api/v1/submissions",
                    &json!({"service": "secos", "stage": "referral", "audience": "professional",
                            "answers": sample("secos-referral")}),
                )
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            app.storage
                .count_not_accepted(
                    today,
                    "ceop",
                    "parent_carer",
                    &["fake_account"],
                    &["report_harmful_content"],
                )
                .await
                .unwrap();
            let out = haven(app, &["stats", "fold"], None);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let secos = totals(app, "secos").await;
            assert_eq!(secos.count(dim::RECEIVED, "all"), secos_before + 1);
            assert_matches_truth("secos", &secos, &truth(app, "secos").await);
            let ceop = totals(app, "ceop").await;
            assert_eq!(ceop.count(dim::OUT_OF_SCOPE, "all"), 4);
            assert_eq!(ceop.count(dim::OUT_OF_SCOPE_AUDIENCE, "parent_carer"), 1);
            assert_eq!(ceop.count(dim::OUT_OF_SCOPE_SIGNPOST, "childline"), 3);
            assert_eq!(
                ceop.count(dim::OUT_OF_SCOPE_SIGNPOST, "report_harmful_content"),
                1
            );
        })
        .await;
}

#[tokio::test]
async fn managers_see_their_teams_dashboards_and_auditors_every_teams() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            seed(app, 60);
            stats::fold(&app.storage, &app.registry, app.state.staff.clock.now())
                .await
                .unwrap();
            let (manager, _) =
                account(app, Role::Manager, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &manager).await;
            let page = browser.get(app, "/staff/dashboard").await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let html = page.text();
            assert!(html.contains("SECOS: child sexual exploitation referral"));
            assert!(
                !html.contains("CEOP"),
                "a SECOS manager sees no CEOP numbers"
            );
            // (minijinja escapes `/` in attributes as `&#x2f;`.)
            assert!(
                html.contains("href=\"&#x2f;staff&#x2f;dashboard\" aria-current=\"page\""),
                "the navigation links it: {html}"
            );
            assert!(
                html.contains(
                    "<img src=\"&#x2f;staff&#x2f;dashboard&#x2f;chart&#x2f;audience.svg?"
                )
            );
            assert!(html.contains("id=\"table-audience\""));
            let other = browser.get(app, "/staff/dashboard?service=ceop").await;
            assert_eq!(other.status, StatusCode::NOT_FOUND);
            let chart = browser
                .get(app, "/staff/dashboard/chart/audience.svg?service=secos")
                .await;
            assert_eq!(chart.status, StatusCode::OK);
            assert_eq!(chart.header("content-type"), Some("image/svg+xml"));
            assert!(chart.text().starts_with("<svg"));
            let chart = browser
                .get(app, "/staff/dashboard/chart/audience.svg?service=ceop")
                .await;
            assert_eq!(chart.status, StatusCode::NOT_FOUND);
            let csv = browser.get(app, "/staff/dashboard.csv?service=ceop").await;
            assert_eq!(csv.status, StatusCode::NOT_FOUND);

            let (auditor, _) = account(app, Role::Auditor, None, "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &auditor).await;
            let page = browser.get(app, "/staff/dashboard?service=ceop").await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let html = page.text();
            assert!(html.contains("<select class=\"govuk-select\" id=\"service\""));
            assert!(html.contains("CEOP: report online child sexual abuse"));
            assert!(html.contains("SECOS: child sexual exploitation referral"));

            let (caseworker, _) =
                account(app, Role::Caseworker, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &caseworker).await;
            let page = browser.get(app, "/staff/dashboard").await;
            assert_eq!(page.status, StatusCode::FORBIDDEN);
            let queue = browser.get(app, "/staff/queue").await.text();
            assert!(!queue.contains("&#x2f;staff&#x2f;dashboard"));
            assert!(!queue.contains("Dashboards"));
        })
        .await;
}

#[tokio::test]
async fn the_csv_suppresses_small_counts_defuses_formulas_and_is_audited() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            seed(app, 80);
            let (manager, _) = account(app, Role::Manager, Some("secos"), "a-password-for-tests").await;
            // A worker whose name a spreadsheet would run, with two open cases.
            let (worker, _) = account(app, Role::Caseworker, Some("secos"), "a-password-for-tests").await;
            sqlx::query("UPDATE staff_users SET display_name = $1 WHERE id = $2")
                .bind("=HYPERLINK(\"http://example.org\",\"x\")")
                .bind(&worker)
                .execute(app.storage.pool())
                .await
                .unwrap();
            let open: Vec<String> = sqlx::query(
                "SELECT id FROM referrals WHERE service = 'secos' ORDER BY id",
            )
            .fetch_all(app.storage.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .take(2)
            .collect();
            assert_eq!(open.len(), 2, "SECOS referrals seeded");
            for id in &open {
                sqlx::query("UPDATE referrals SET assignee = $1, status = 'received' WHERE id = $2")
                    .bind(&worker)
                    .bind(id)
                    .execute(app.storage.pool())
                    .await
                    .unwrap();
            }
            stats::rebuild(&app.storage, &app.registry, app.state.staff.clock.now())
                .await
                .unwrap();
            let mut browser = Browser::signed_in(app, &manager).await;
            // On screen, the true number.
            // Seeded over three years: the range holds them all.
            let from = london_date(app.state.staff.clock.now()) - Duration::days(1200);
            let range = format!(
                "from-day={}&from-month={}&from-year={}",
                from.format("%-d"),
                from.format("%-m"),
                from.format("%Y")
            );
            let page = browser.get(app, &format!("/staff/dashboard?{range}")).await.text();
            assert!(page.contains("=HYPERLINK"), "the page escapes, it does not hide");
            let csv = browser
                .get(app, &format!("/staff/dashboard.csv?service=secos&{range}"))
                .await;
            assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
            assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
            assert!(
                csv.header("content-disposition")
                    .unwrap()
                    .starts_with("attachment; filename=\"dashboard-secos-")
            );
            let text = csv.text();
            let line = text
                .lines()
                .find(|l| l.contains("HYPERLINK"))
                .expect("the worker's row");
            assert!(
                line.contains("\"'=HYPERLINK(\"\"http://example.org\"\",\"\"x\"\")\""),
                "{line}"
            );
            assert!(line.ends_with("\"fewer than 5\""), "{line}");
            for line in text.lines() {
                for cell in line.split("\",\"") {
                    let cell = cell.trim_start_matches('"');
                    assert!(!cell.starts_with(['=', '+', '-', '@']), "{line}");
                    if let Ok(n) = cell.trim_end_matches('"').parse::<i64>() {
                        assert!(n == 0 || n >= 5, "a small count leaked: {line}");
                    }
                }
            }
            let audited = sqlx::query(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'dashboard.exported' AND record_id = 'secos'",
            )
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get::<i64, _>(0);
            assert_eq!(audited, 1);
        })
        .await;
}

#[tokio::test]
async fn a_bad_date_is_an_error_naming_its_field() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (manager, _) = account(app, Role::Manager, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &manager).await;
            let page = browser
                .get(app, "/staff/dashboard?from-day=31&from-month=2&from-year=2026")
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
            let html = page.text();
            assert!(html.contains("href=\"#from-day\""), "{html}");
            assert!(html.contains("The start date must be a real date"));
            assert!(html.contains("govuk-form-group--error"));
            let page = browser
                .get(app, "/staff/dashboard?to-day=1&to-month=&to-year=2026")
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(page.text().contains("href=\"#to-month\""));
            assert!(page.text().contains("The end date must include a month"));
            let page = browser
                .get(
                    app,
                    "/staff/dashboard?from-day=2&from-month=3&from-year=2026&to-day=1&to-month=3&to-year=2026",
                )
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(page.text().contains("href=\"#to-day\""));
            let csv = browser
                .get(app, "/staff/dashboard.csv?from-day=x&from-month=1&from-year=2026")
                .await;
            assert_eq!(csv.status, StatusCode::UNPROCESSABLE_ENTITY);
        })
        .await;
}

#[tokio::test]
async fn referrals_by_concern_and_signposts_are_counted_and_every_view_audited() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            // One accepted CEOP report with two concerns, one refused (bullying).
            let accepted = app
                .post_json(
                    "/api/v1/submissions",
                    &json!({"service": "ceop", "stage": "report", "audience": "parent_carer",
                            "answers": sample("ceop-report-parent")}),
                )
                .await;
            assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text());
            let reference = accepted.json()["reference"].as_str().unwrap().to_owned();
            let refused = app
                .post_json(
                    "/api/v1/submissions",
                    &json!({"service": "ceop", "stage": "report", "audience": "young_person",
                            "answers": sample("ceop-report-bullying")}),
                )
                .await;
            assert_eq!(refused.status, StatusCode::OK, "{}", refused.text());
            assert_eq!(refused.json()["accepted"], false);
            // Only the option keys are kept in the clear: no free text, no name.
            let kept: Option<String> =
                sqlx::query("SELECT concerns FROM referrals WHERE reference = $1")
                    .bind(&reference)
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .get(0);
            assert_eq!(kept.as_deref(), Some("image_threat_or_blackmail,nude_image_request"));

            stats::fold(&app.storage, &app.registry, app.state.staff.clock.now())
                .await
                .unwrap();
            let ceop = totals(app, "ceop").await;
            assert_eq!(ceop.count(dim::CONCERN, "nude_image_request"), 1);
            assert_eq!(ceop.count(dim::CONCERN, "image_threat_or_blackmail"), 1);
            assert_eq!(ceop.count(dim::CONCERN, "sexual_chat"), 0);
            assert_eq!(ceop.count(dim::OUT_OF_SCOPE_SIGNPOST, "childline"), 1);
            assert_eq!(ceop.count(dim::OUT_OF_SCOPE_SIGNPOST, "nspcc_helpline"), 1);

            let (auditor, _) = account(app, Role::Auditor, None, "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &auditor).await;
            let page = browser.get(app, "/staff/dashboard?service=ceop").await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let html = page.text();
            assert!(html.contains("Referrals by concern"), "{html}");
            assert!(html.contains("Someone online asked for nude or sexual pictures or videos"));
            assert!(html.contains("id=\"table-concern\""), "{html}");
            assert!(html.contains("Where out-of-scope reporters were signposted"));
            assert!(html.contains("Childline"));
            assert!(html.contains("id=\"table-out_of_scope_signpost\""), "{html}");
            let chart = browser
                .get(app, "/staff/dashboard/chart/concern.svg?service=ceop")
                .await;
            assert_eq!(chart.status, StatusCode::OK);
            assert!(chart.text().starts_with("<svg"));

            // Concerns (and who reported, and how) over time: a row per month of the default
            // twelve months, a column per concern counted, summed by the database per month.
            assert!(html.contains("Referrals by concern, by month"), "{html}");
            let table = html
                .split("id=\"table-concern_by_period\"")
                .nth(1)
                .and_then(|rest| rest.split("</table>").next())
                .expect("the concern-by-month table");
            assert!(table.contains("Someone online asked for nude or sexual pictures or videos"));
            assert!(
                !table.contains("Someone online has been talking about sex"),
                "a concern never counted has no column"
            );
            let months = html
                .split("id=\"table-over_time\"")
                .nth(1)
                .and_then(|rest| rest.split("</table>").next())
                .map(|t| t.matches("<th scope=\"row\"").count())
                .unwrap_or(0);
            assert!(months >= 12, "the last twelve months by month: {months}");
            assert_eq!(table.matches("<th scope=\"row\"").count(), months, "{table}");
            assert!(html.contains("Referrals by who made them, by month"));
            assert!(html.contains("id=\"table-audience_by_period\""));
            assert!(html.contains("id=\"table-channel_by_period\""));
            let today = app.state.staff.clock.now().date_naive();
            let (_, by_month) = app
                .storage
                .stats_sums("ceop", today - Duration::days(400), today, true)
                .await
                .unwrap();
            let nude: Vec<_> = by_month
                .iter()
                .filter(|r| r.dimension == dim::CONCERN && r.value == "nude_image_request")
                .collect();
            assert_eq!(nude.len(), 1, "{by_month:?}");
            assert_eq!(nude[0].count, 1);
            assert_eq!(nude[0].day.format("%d").to_string(), "01", "a month's first day");
            let stacked = browser
                .get(app, "/staff/dashboard/chart/concern_by_period.svg?service=ceop")
                .await;
            assert_eq!(stacked.status, StatusCode::OK);
            assert!(stacked.text().starts_with("<svg"));
            assert!(stacked.text().contains("Someone online asked"));
            let csv = browser.get(app, "/staff/dashboard.csv?service=ceop").await;
            assert_eq!(csv.status, StatusCode::OK);
            let text = csv.text();
            let line = text
                .lines()
                .find(|l| l.contains("Someone online asked for nude"))
                .expect("the concern's row");
            assert!(line.ends_with("\"fewer than 5\""), "a count of 1 is suppressed: {line}");
            assert!(text.lines().any(|l| l.contains("Childline")), "{text}");

            // Each page view is audited: who, the service and the range; never a number.
            let print = browser.get(app, "/staff/dashboard?service=ceop&print=1").await;
            assert_eq!(print.status, StatusCode::OK);
            let rows = sqlx::query(
                "SELECT actor, record_id, reason FROM audit_log WHERE action = 'dashboard.viewed'
                 ORDER BY seq",
            )
            .fetch_all(app.storage.pool())
            .await
            .unwrap();
            assert_eq!(rows.len(), 2, "the page and its print view; not the chart");
            for row in &rows {
                assert_eq!(row.get::<String, _>(0), format!("user:{auditor}"));
                assert_eq!(row.get::<String, _>(1), "ceop");
                let reason: String = row.get(2);
                assert!(reason.starts_with("from=") && reason.contains(" to="), "{reason}");
            }
            let exported: i64 = sqlx::query(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'dashboard.exported' AND record_id = 'ceop'",
            )
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
            assert_eq!(exported, 1);
        })
        .await;
}

#[tokio::test]
async fn concerns_of_referrals_stored_before_they_were_kept_are_filled_in_and_counted() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let ceop = app
                .submit(
                    &json!({"service": "ceop", "stage": "report", "audience": "parent_carer",
                                "answers": sample("ceop-report-parent")}),
                )
                .await;
            let secos = app
                .submit(&json!({"service": "secos", "stage": "referral",
                                "audience": "professional", "answers": sample("secos-referral")}))
                .await;
            // As stored before `referrals.concerns` existed.
            sqlx::query("UPDATE referrals SET concerns = NULL")
                .execute(app.storage.pool())
                .await
                .unwrap();
            stats::fold(&app.storage, &app.registry, app.state.staff.clock.now())
                .await
                .unwrap();
            assert_eq!(
                totals(app, "ceop")
                    .await
                    .count(dim::CONCERN, "nude_image_request"),
                0
            );

            let filled = stats::fill_concerns(&app.storage, &app.registry)
                .await
                .unwrap();
            assert_eq!(
                filled,
                (1, 0),
                "the CEOP report only: SECOS has no concern question"
            );
            let kept = |reference: String| async move {
                sqlx::query("SELECT concerns FROM referrals WHERE reference = $1")
                    .bind(reference)
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .get::<Option<String>, _>(0)
            };
            assert_eq!(
                kept(ceop).await.as_deref(),
                Some("image_threat_or_blackmail,nude_image_request")
            );
            assert_eq!(kept(secos).await, None);
            // Its day was folded again: the dashboard counts it without a rebuild.
            let after = totals(app, "ceop").await;
            assert_eq!(after.count(dim::CONCERN, "nude_image_request"), 1);
            assert_eq!(after.count(dim::CONCERN, "image_threat_or_blackmail"), 1);
            assert_eq!(after.count(dim::RECEIVED, "all"), 1, "counted once");
            // Nothing left to fill: a second start-up does nothing.
            assert_eq!(
                stats::fill_concerns(&app.storage, &app.registry)
                    .await
                    .unwrap(),
                (0, 0)
            );
        })
        .await;
}
