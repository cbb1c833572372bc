//! Retention (issue 17): the plan lists each closed case with the day its service's schedule
//! makes it due; a run destroys what is due (the case's key first, then every row, job and
//! trace of it: a scan of the SQLite files and of every PostgreSQL row finds neither its
//! sentinel nor its reference) with an audit entry holding no content; a held case stays.
//! On PostgreSQL the run vacuums every table it touched: `pageinspect` (when the server has
//! it) reads every heap tuple and b-tree index item of those tables, dead ones included, and
//! finds no copy of the reference. (What this does not prove: VACUUM does not zero the bytes
//! of freed space inside a page until they are reused; the case's content there is sealed
//! under the destroyed key, but the clear columns, the reference among them, may linger in
//! free space until overwritten.) Every test runs on SQLite and, with
//! HAVEN_TEST_DATABASE_URL, on PostgreSQL.

use crate::common;

use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use common::run::haven;
use common::scan::{assert_absent, checkpoint, persisted};
use common::staff::account;
use common::{Engine, TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::cases::retention::{self, reference_hash};
use haven::cases::stats;
use haven::crypto;
use haven::intake::uk_today;
use haven::storage::casework::Direction;
use haven::storage::tokens::NewApiToken;
use haven_core::retention::{Due, add_years};
use haven_core::statistics::{Range, Totals, dimension as dim};
use serde_json::json;
use sqlx::Row;

async fn token(app: &TestApp, role: Role, team: &str) -> String {
    let (id, _) = account(app, role, Some(team), "a-password-for-tests").await;
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

/// A SECOS case whose young person is called `sentinel`, with a note and a message naming
/// them, closed (withdrawn) through the API, which queues the email to the referrer.
/// Returns `(reference, referral id)`.
async fn closed_case(app: &TestApp, triage: &str, sentinel: &str) -> (String, String) {
    let mut answers = sample("secos-referral");
    answers["young_person"]["name"] = json!(sentinel);
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let reference = response.json()["reference"].as_str().unwrap().to_owned();
    let id = app
        .storage
        .find_referral(&reference)
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = Utc::now();
    app.storage
        .add_note(&id, "test", &format!("Spoke to {sentinel}'s school."), now)
        .await
        .unwrap();
    app.storage
        .add_message(
            &id,
            Direction::ToReporter,
            "test",
            &format!("About {sentinel}"),
            now,
            None,
        )
        .await
        .unwrap();
    let response = app
        .post_with_token(
            &format!("/api/v1/referrals/{reference}/transitions"),
            triage,
            &json!({"to": "closed", "decision": "withdrawn", "reason": format!("{sentinel} moved away")}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    (reference, id)
}

async fn count(app: &TestApp, sql: String, bind: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(bind)
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// Every table with a `referral_id` column, from the database's own catalogue.
async fn case_tables(app: &TestApp) -> Vec<String> {
    let sql = match app.engine {
        Engine::Sqlite => {
            "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c
             WHERE m.type = 'table' AND c.name = 'referral_id'"
        }
        Engine::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND column_name = 'referral_id'"
        }
    };
    sqlx::query(sql)
        .fetch_all(app.storage.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

/// The schema of the `pageinspect` extension (created in `public` when the server offers
/// it), or `None` when the server does not have it.
async fn pageinspect(app: &TestApp) -> Option<String> {
    let find = || async {
        sqlx::query(
            "SELECT CAST(n.nspname AS TEXT) FROM pg_extension e
             JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pageinspect'",
        )
        .fetch_optional(app.storage.pool())
        .await
        .unwrap()
        .map(|r| r.get::<String, _>(0))
    };
    if let Some(schema) = find().await {
        return Some(schema);
    }
    let offered: i64 =
        sqlx::query("SELECT COUNT(*) FROM pg_available_extensions WHERE name = 'pageinspect'")
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
    if offered == 0 {
        return None;
    }
    let _ = sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public")
        .execute(app.storage.pool())
        .await;
    find().await
}

/// How many heap tuples (live or dead) and b-tree index items of `table` hold `needle`.
async fn tuples_holding(app: &TestApp, schema: &str, table: &str, needle: &[u8]) -> i64 {
    let heap = format!(
        "SELECT COUNT(*) FROM generate_series(0,
                CAST(pg_relation_size(CAST($1 AS regclass)) / 8192 AS INTEGER) - 1) AS b,
             LATERAL {schema}.heap_page_items({schema}.get_raw_page($1, b)) AS i
         WHERE i.t_data IS NOT NULL AND position(CAST($2 AS BYTEA) IN i.t_data) > 0"
    );
    let mut n: i64 = sqlx::query(sqlx::AssertSqlSafe(heap))
        .bind(table)
        .bind(needle)
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .get(0);
    let indexes: Vec<String> = sqlx::query(
        "SELECT CAST(c.relname AS TEXT) FROM pg_index x
         JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_am a ON a.oid = c.relam
         WHERE x.indrelid = CAST($1 AS regclass) AND a.amname = 'btree'",
    )
    .bind(table)
    .fetch_all(app.storage.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    let hex: Vec<String> = needle.iter().map(|b| format!("{b:02x}")).collect();
    for index in indexes {
        // Block 0 is the b-tree's meta page.
        let items = format!(
            "SELECT COUNT(*) FROM generate_series(1,
                    CAST(pg_relation_size(CAST($1 AS regclass)) / 8192 AS INTEGER) - 1) AS b,
                 LATERAL {schema}.bt_page_items($1, b) AS i
             WHERE position($2 IN i.data) > 0"
        );
        let found: i64 = sqlx::query(sqlx::AssertSqlSafe(items))
            .bind(&index)
            .bind(hex.join(" "))
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
        n += found;
    }
    n
}

/// Referrals received by `service` as the dashboards count them, over all time.
async fn received(app: &TestApp, service: &str) -> i64 {
    let range = Range {
        from: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
    };
    let rows = app
        .storage
        .stats_rows(service, range.from, range.to)
        .await
        .unwrap();
    Totals::of(&rows, range).count(dim::RECEIVED, "all")
}

#[tokio::test]
async fn a_due_case_is_destroyed_without_trace_and_a_held_one_is_kept() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let triage = token(app, Role::Triage, "secos").await;
            let (gone_ref, gone_id) = closed_case(app, &triage, "Zephyrine Quillfeather").await;
            let (held_ref, held_id) = closed_case(app, &triage, "Bartholomew Kestrelwing").await;
            app.storage
                .place_legal_hold(&held_id, "Civil claim pending", "test", Utc::now())
                .await
                .unwrap();
            // An open case is never in the plan.
            let response = app
                .post_json(
                    "/api/v1/submissions",
                    &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": sample("secos-referral")}),
                )
                .await;
            let open_ref = response.json()["reference"].as_str().unwrap().to_owned();
            let jobs_before = count(app, "SELECT COUNT(*) FROM jobs WHERE id <> $1".into(), "").await;
            assert!(jobs_before >= 2, "the closing emails are queued");

            // The plan: both closed cases, due two years after the UK day they closed.
            let plan = retention::plan(&app.storage, &app.registry, |_| {}).await.unwrap();
            let closed_on = uk_today(Utc::now());
            let due_on = add_years(closed_on, 2).unwrap();
            let find = |r: &str| plan.iter().find(|e| e.reference == r).cloned();
            assert_eq!(
                find(&gone_ref).unwrap().due,
                Due::On { rule: "not_accepted".into(), on: due_on }
            );
            assert_eq!(
                find(&held_ref).unwrap().due,
                Due::Held { rule: "not_accepted".into(), on: Some(due_on) }
            );
            assert!(find(&open_ref).is_none());

            // The CLI's dry run says the same in words, and changes nothing.
            let out = haven(app, &["retention", "plan", "--json"], None);
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
            let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let line = lines.iter().find(|l| l["reference"] == json!(gone_ref)).unwrap();
            assert_eq!(line["state"], json!("scheduled"));
            assert_eq!(line["due_on"], json!(due_on.to_string()));
            assert_eq!(line["rule"], json!("not_accepted"));

            // Nothing is due today.
            let now = Utc::now();
            let report = retention::run(&app.storage, &app.registry, &app.key, &plan, uk_today(now), now, None)
                .await
                .unwrap();
            assert!(report.destroyed.is_empty());
            assert!(app.storage.find_referral(&gone_ref).await.unwrap().is_some());

            // PostgreSQL: the reference is in the referral's tuple and index items now (the
            // scan can see it), and after the run in none, dead or alive.
            let inspect = match app.engine {
                Engine::Postgres => pageinspect(app).await,
                Engine::Sqlite => None,
            };
            if let Some(schema) = &inspect {
                let n = tuples_holding(app, schema, "referrals", gone_ref.as_bytes()).await;
                assert!(n >= 2, "the heap tuple and the reference index item: {n}");
            }

            // The dashboards count every case now; they must still after destruction.
            let service = find(&gone_ref).unwrap().service;
            stats::fold(&app.storage, &app.registry, now).await.unwrap();
            let received_before = received(app, &service).await;
            assert!(received_before >= 2, "{received_before}");

            // Two years on.
            let later: NaiveDate = due_on;
            let report = retention::run(&app.storage, &app.registry, &app.key, &plan, later, now, None)
                .await
                .unwrap();
            assert_eq!(report.destroyed, std::slice::from_ref(&gone_ref));
            // Anonymous counts outlive the case: after a fold of every day from scratch, the
            // destroyed case is still one of the referrals received.
            stats::rebuild(&app.storage, &app.registry, now).await.unwrap();
            assert_eq!(received(app, &service).await, received_before, "the figures kept the destroyed case");
            let retired: i64 = count(
                app,
                "SELECT COUNT(*) FROM stats_retired WHERE dimension = 'received' AND service <> $1".into(),
                "",
            )
            .await;
            assert_eq!(retired, 1, "one case's counts, no reference");
            assert_eq!(report.skipped, 0, "the held case is never due, so never tried");
            assert!(app.storage.find_referral(&gone_ref).await.unwrap().is_none());
            assert!(app.storage.find_referral(&held_ref).await.unwrap().is_some());
            assert!(app.storage.case_key(&gone_id).await.unwrap().is_none(), "its key is gone");
            assert!(app.storage.case_key(&held_id).await.unwrap().is_some());
            for table in case_tables(app).await {
                let n = count(app, format!("SELECT COUNT(*) FROM {table} WHERE referral_id = $1"), &gone_id).await;
                assert_eq!(n, 0, "{:?}: {table} still holds rows of the case", app.engine);
            }
            let held_rows = count(app, "SELECT COUNT(*) FROM case_notes WHERE referral_id = $1".into(), &held_id).await;
            assert_eq!(held_rows, 1);
            let jobs_after = count(app, "SELECT COUNT(*) FROM jobs WHERE id <> $1".into(), "").await;
            assert_eq!(jobs_after, jobs_before - 1, "the destroyed case's email job went with it");

            // The audit entry: a keyed hash of the reference, the rule and the day; no content.
            let row = sqlx::query("SELECT record_type, record_id, reason FROM audit_log WHERE action = 'case.destroyed'")
                .fetch_one(app.storage.pool())
                .await
                .unwrap();
            assert_eq!(row.try_get::<String, _>(0).unwrap(), "retention");
            assert_eq!(row.try_get::<String, _>(1).unwrap(), reference_hash(&app.key, &gone_ref));
            assert_eq!(
                row.try_get::<String, _>(2).unwrap(),
                format!("service:secos rule:not_accepted due:{due_on}")
            );
            assert!(matches!(
                app.storage.verify_audit_chain().await.unwrap(),
                haven::storage::audit::ChainCheck::Intact { .. }
            ));

            // Nothing of it anywhere: the SQLite files (free pages and WAL included) or every
            // PostgreSQL row.
            checkpoint(app).await;
            let bytes = persisted(app).await;
            for secret in ["Zephyrine Quillfeather", "Zephyrine", "Quillfeather", gone_ref.as_str()] {
                assert_absent(&bytes, secret, &format!("{:?} after destruction", app.engine));
            }
            if app.engine == Engine::Postgres {
                assert!(
                    report.vacuumed >= haven::storage::retention::vacuumed_tables().count(),
                    "every table touched was vacuumed: {}",
                    report.vacuumed
                );
            }
            if let Some(schema) = &inspect {
                for table in haven::storage::retention::vacuumed_tables() {
                    let mut n = tuples_holding(app, schema, table, gone_ref.as_bytes()).await;
                    // Another session's snapshot older than the deletes (a test running
                    // alongside) keeps VACUUM from removing them: vacuum again once it ends.
                    for _ in 0..10 {
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        app.storage.checkpoint_after_destruction().await.unwrap();
                        n = tuples_holding(app, schema, table, gone_ref.as_bytes()).await;
                    }
                    assert_eq!(n, 0, "{table}: a dead tuple or index item still holds the reference");
                }
            } else if app.engine == Engine::Postgres {
                eprintln!("pageinspect is not offered: dead tuples not inspected");
            }
        })
        .await;
}

#[tokio::test]
async fn legal_holds_from_the_command_line_are_audited_and_lifted() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let triage = token(app, Role::Triage, "secos").await;
            let (reference, id) = closed_case(app, &triage, "Ottoline Marchbanks").await;
            let out = haven(
                app,
                &["retention", "hold", &reference, "--reason", "   "],
                None,
            );
            assert_eq!(out.status.code(), Some(2));
            assert!(String::from_utf8_lossy(&out.stderr).contains("--reason"));
            let out = haven(
                app,
                &[
                    "retention",
                    "hold",
                    &reference,
                    "--reason",
                    "Police investigation",
                ],
                None,
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let hold = app.storage.legal_hold(&id).await.unwrap().unwrap();
            assert_eq!(hold.reason, "Police investigation");
            assert_eq!(hold.placed_by, "cli");
            let stored: Vec<u8> = sqlx::query("SELECT reason FROM legal_holds")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert!(
                !String::from_utf8_lossy(&stored).contains("Police"),
                "sealed"
            );
            let out = haven(app, &["retention", "lift", &reference], None);
            assert_eq!(out.status.code(), Some(0));
            assert!(app.storage.legal_hold(&id).await.unwrap().is_none());
            let out = haven(app, &["retention", "lift", &reference], None);
            assert_eq!(out.status.code(), Some(2));
            let actions: Vec<String> = sqlx::query(
                "SELECT action FROM audit_log WHERE action LIKE 'case.legal_hold%' ORDER BY seq",
            )
            .fetch_all(app.storage.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get(0).unwrap())
            .collect();
            assert_eq!(
                actions,
                ["case.legal_hold_placed", "case.legal_hold_lifted"]
            );
        })
        .await;
}

#[tokio::test]
async fn a_manager_places_and_lifts_a_hold_on_the_case_page_and_a_caseworker_may_not() {
    use common::staff::{Browser, location};
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let triage = token(app, Role::Triage, "secos").await;
            let (reference, id) = closed_case(app, &triage, "Perpetua Ashcombe").await;
            let (manager, _) =
                account(app, Role::Manager, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &manager).await;
            let summary = browser.get(app, &format!("/staff/cases/{reference}")).await;
            assert!(
                summary
                    .text()
                    .contains("&#x2f;legal-hold\" role=\"button\""),
                "the case's menu links to the hold page"
            );
            let path = format!("/staff/cases/{reference}/legal-hold");
            let csrf = browser.csrf(app, &path).await;
            let refused = browser
                .post(app, &path, &[("csrf", &csrf), ("reason", " ")])
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                refused.text().contains("govuk-error-summary")
                    || refused.text().contains("govuk-error-message")
            );
            let placed = browser
                .post(
                    app,
                    &path,
                    &[
                        ("csrf", &csrf),
                        ("reason", "Police investigation <b>open</b>"),
                    ],
                )
                .await;
            assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.text());
            assert_eq!(location(&placed), path);
            let page = browser.get(app, &path).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.text().contains("This case is on legal hold"));
            assert!(page.text().contains("&lt;b&gt;open"), "escaped");
            assert!(app.storage.legal_hold(&id).await.unwrap().is_some());
            let plan = retention::plan(&app.storage, &app.registry, |_| {})
                .await
                .unwrap();
            assert!(matches!(
                plan.iter().find(|e| e.reference == reference).unwrap().due,
                Due::Held { .. }
            ));
            let lifted = browser
                .post(app, &format!("{path}/lift"), &[("csrf", &csrf)])
                .await;
            assert_eq!(lifted.status, StatusCode::SEE_OTHER);
            assert!(app.storage.legal_hold(&id).await.unwrap().is_none());

            let (worker, _) =
                account(app, Role::Caseworker, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &worker).await;
            assert_eq!(browser.get(app, &path).await.status, StatusCode::FORBIDDEN);
            let summary = browser.get(app, &format!("/staff/cases/{reference}")).await;
            assert!(!summary.text().contains("legal-hold"));
        })
        .await;
}

#[tokio::test]
async fn the_plan_opens_only_what_a_rule_needs() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let triage = token(app, Role::Triage, "secos").await;
            let (reference, id) = closed_case(app, &triage, "Ottoline Marchbank").await;
            // Its answers (and young person summary) cannot be opened any more: a withdrawn
            // case is kept two years after closure, so the plan never needs them.
            sqlx::query("UPDATE referrals SET answers = $1, person = $1 WHERE id = $2")
                .bind(b"not a sealed value".to_vec())
                .bind(&id)
                .execute(app.storage.pool())
                .await
                .unwrap();
            let plan = retention::plan(&app.storage, &app.registry, |_| {})
                .await
                .unwrap();
            let entry = plan.iter().find(|e| e.reference == reference).unwrap();
            let due_on = add_years(uk_today(Utc::now()), 2).unwrap();
            assert_eq!(
                entry.due,
                Due::On {
                    rule: "not_accepted".into(),
                    on: due_on
                }
            );
        })
        .await;
}

#[tokio::test]
async fn two_servers_sharing_a_database_run_the_daily_pass_once() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let second = app.second_server().await;
            let now = Utc::now();
            let (a, b) = tokio::join!(
                retention::daily_pass(&app.storage, &app.registry, &app.key, None, now),
                retention::daily_pass(&second.storage, &second.registry, &second.key, None, now),
            );
            let (a, b) = (a.unwrap(), b.unwrap());
            assert!(
                a.is_some() != b.is_some(),
                "{:?}: exactly one server runs the pass ({a:?}, {b:?})",
                app.engine
            );
            // Later the same day neither runs it again; the next day one does.
            let again =
                retention::daily_pass(&second.storage, &second.registry, &second.key, None, now)
                    .await
                    .unwrap();
            assert!(again.is_none());
            let tomorrow = now + chrono::Duration::days(1);
            let next = retention::daily_pass(&app.storage, &app.registry, &app.key, None, tomorrow)
                .await
                .unwrap();
            assert!(next.is_some());
            // The lease is no mail job: nothing waits in the queue.
            let pending = count(
                app,
                "SELECT COUNT(*) FROM jobs WHERE queue = $1 AND done_at IS NULL".into(),
                retention::DAILY_QUEUE,
            )
            .await;
            assert_eq!(pending, 0);
            second.storage.close().await;
        })
        .await;
}
