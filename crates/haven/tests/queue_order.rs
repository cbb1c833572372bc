//! The queue's order by the definition's bands (issue 11): urgent first, then new
//! information, then the band (most severe first in the order of the service's `bands`, a
//! confirmed band over the suggested one), then due date; and its `total`, kept exact by the
//! maintained counts through every kind of write. Each test runs on both engines.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::crypto;
use haven::storage::tokens::NewApiToken;
use haven::storage::users::NewStaffUser;
use serde_json::{Value, json};
use sqlx::Row;

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

/// The SECOS sample with its screening tool replaced (`None`: nothing ticked, not eligible).
fn secos(screening: Option<Value>) -> Value {
    let mut answers = sample("secos-referral");
    answers["screening"] = screening.unwrap_or_else(|| json!({"cse_intelligence": false}));
    answers
}

fn medium() -> Value {
    json!({
        "moderate": ["whereabouts_unknown"],
        "moderate_narrative": "Mum often does not know where she is at weekends.",
        "cse_intelligence": false
    })
}

async fn token(app: &TestApp, email: &str, role: Role, team: Option<&str>) -> String {
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

async fn set(app: &TestApp, reference: &str, assignment: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE referrals SET {assignment} WHERE reference = $1"
    )))
    .bind(reference)
    .execute(app.storage.pool())
    .await
    .unwrap();
}

/// Every combination's maintained count equals a count of the table itself.
async fn assert_counts_exact(app: &TestApp) {
    let group = "service || '|' || team || '|' || status || '|' || \
                 COALESCE(confirmed_band, suggested_band, '') || '|' || CAST(urgent AS TEXT) || '|' || \
                 CASE WHEN new_information_at IS NULL THEN '0' ELSE '1' END || '|' || COALESCE(assignee, '')";
    let counted =
        format!("SELECT {group} AS k, COUNT(*) AS n FROM referrals GROUP BY {group} ORDER BY k");
    let kept = "SELECT service || '|' || team || '|' || status || '|' || band || '|' || \
                CAST(urgent AS TEXT) || '|' || CAST(news AS TEXT) || '|' || assignee AS k, \
                CAST(SUM(n) AS BIGINT) AS n FROM referral_counts \
                GROUP BY service, team, status, band, urgent, news, assignee HAVING SUM(n) <> 0 ORDER BY k";
    let read = async |sql: String| -> Vec<(String, i64)> {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(app.storage.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<String, _>("k"), r.get::<i64, _>("n")))
            .collect()
    };
    assert_eq!(read(counted).await, read(kept.to_owned()).await);
    // The open flag and the earliest open action's due date kept on each row agree with the
    // definitions' terminal states and with the plan actions themselves.
    let stale: i64 = sqlx::query(
        "SELECT COUNT(*) FROM referrals WHERE queue_open <> COALESCE((SELECT 1 - ss.terminal
             FROM service_states ss WHERE ss.service = referrals.service
             AND ss.status = referrals.status), 1)
         OR COALESCE(plan_due_on, '') <> COALESCE((SELECT MIN(pa.due_on) FROM plan_actions pa
             WHERE pa.referral_id = referrals.id AND pa.done = 0), '')",
    )
    .fetch_one(app.storage.pool())
    .await
    .unwrap()
    .get(0);
    assert_eq!(stale, 0, "rows whose open flag or plan due date is stale");
}

#[tokio::test]
async fn the_queue_orders_by_the_definitions_bands_after_urgent_and_new_information() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let triage = token(app, "t@secos.example", Role::Triage, Some("secos")).await;
            // Received in this order, all due the same day: the old order (due date, then
            // received) listed them exactly so, the not-eligible one first.
            let not_eligible = submit(app, secos(None)).await;
            let medium = submit(app, secos(Some(medium()))).await;
            let high = submit(app, sample("secos-referral")).await;
            let high_later = submit(app, sample("secos-referral")).await;

            let case = app
                .get_with_token(&format!("/api/v1/referrals/{not_eligible}"), &triage)
                .await
                .json();
            assert_eq!(case["screening"]["eligible"], false, "{case}");
            let queue = app
                .get_with_token("/api/v1/referrals", &triage)
                .await
                .json();
            assert_eq!(
                references(&queue),
                vec![
                    high.clone(),
                    high_later.clone(),
                    medium.clone(),
                    not_eligible.clone()
                ],
                "{queue}"
            );
            assert_eq!(queue["total"], 4);

            // A confirmed band counts over the suggested one: `high` confirmed as `low` goes
            // below the suggested `medium`.
            let r = app
                .post_with_token(
                    &format!("/api/v1/referrals/{high}/screening"),
                    &triage,
                    &json!({"band": "low", "reason": "The significant indicator is historic"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let queue = app
                .get_with_token("/api/v1/referrals", &triage)
                .await
                .json();
            assert_eq!(
                references(&queue),
                vec![
                    high_later.clone(),
                    medium.clone(),
                    high.clone(),
                    not_eligible.clone()
                ],
                "{queue}"
            );
            let low = app
                .get_with_token("/api/v1/referrals?band=low", &triage)
                .await
                .json();
            assert_eq!(references(&low), vec![high.clone()]);
            assert_eq!(low["total"], 1);

            // Urgent first whatever the band, then new information from the referrer.
            set(app, &not_eligible, "urgent = 1").await;
            set(
                app,
                &high,
                "new_information_at = '2026-12-01T09:00:00.000000Z'",
            )
            .await;
            let queue = app
                .get_with_token("/api/v1/referrals", &triage)
                .await
                .json();
            assert_eq!(
                references(&queue),
                vec![
                    not_eligible.clone(),
                    high.clone(),
                    high_later.clone(),
                    medium.clone()
                ],
                "{queue}"
            );
            // Within a band, the earlier due date first (and no due date last).
            set(app, &high_later, "due_by = '2099-01-01'").await;
            set(app, &medium, "due_by = '2098-01-01'").await;
            let r = app
                .post_with_token(
                    &format!("/api/v1/referrals/{medium}/screening"),
                    &triage,
                    &json!({"band": "high", "reason": "Missing overnight twice this week"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let queue = app
                .get_with_token("/api/v1/referrals", &triage)
                .await
                .json();
            assert_eq!(
                references(&queue),
                vec![
                    not_eligible.clone(),
                    high.clone(),
                    medium.clone(),
                    high_later.clone()
                ],
                "{queue}"
            );
            let news = app
                .get_with_token("/api/v1/referrals?new_information=true", &triage)
                .await
                .json();
            assert_eq!(references(&news), vec![high.clone()]);
            assert_eq!(news["total"], 1);
            assert_counts_exact(app).await;
        })
        .await;
}

#[tokio::test]
async fn ranks_follow_a_changed_definition_at_start_up() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let high = submit(app, sample("secos-referral")).await;
            let none = submit(app, secos(None)).await;
            let rank = async |reference: &str| -> i64 {
                sqlx::query("SELECT band_rank FROM referrals WHERE reference = $1")
                    .bind(reference)
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .get(0)
            };
            assert_eq!((rank(&high).await, rank(&none).await), (0, 3));
            // A definition that lists its bands the other way round re-ranks stored cases.
            let reversed = vec![(
                "secos".to_owned(),
                ["high", "medium", "low", "none"]
                    .map(str::to_owned)
                    .to_vec(),
            )];
            app.storage
                .sync_band_ranks(&reversed, chrono::Utc::now())
                .await
                .unwrap();
            assert_eq!((rank(&high).await, rank(&none).await), (3, 0));
            // Unchanged definitions leave the table alone (and are still right).
            app.storage
                .sync_band_ranks(&reversed, chrono::Utc::now())
                .await
                .unwrap();
            assert_eq!((rank(&high).await, rank(&none).await), (3, 0));
        })
        .await;
}

/// Which states are terminal is the definition's rule: a definition whose workflow makes a
/// state terminal leaves its stored cases out of the open queue at the next start, and a
/// state missing from the recorded rules counts as open (a case is never hidden by a gap).
#[tokio::test]
async fn terminal_states_come_from_the_definitions_at_start_up() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let triage = token(app, "t@secos.example", Role::Triage, Some("secos")).await;
            let reference = submit(app, sample("secos-referral")).await;
            let total = async |query: &str| -> i64 {
                app.get_with_token(&format!("/api/v1/referrals{query}"), &triage)
                    .await
                    .json()["total"]
                    .as_i64()
                    .unwrap()
            };
            let listed = async |query: &str| -> bool {
                app.get_with_token(&format!("/api/v1/referrals{query}"), &triage)
                    .await
                    .json()["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["reference"] == reference.as_str())
            };
            assert!(listed("").await);
            let status = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap()
                .status;
            let rules = |terminal: bool| {
                vec![(
                    "secos".to_owned(),
                    vec![(status.clone(), terminal), ("closed".to_owned(), true)],
                )]
            };
            app.storage
                .sync_queue_states(&rules(true), chrono::Utc::now())
                .await
                .unwrap();
            assert!(
                !listed("").await,
                "a state made terminal leaves the open queue"
            );
            assert_eq!(total("").await, 0);
            assert!(listed("?include_closed=true").await);
            assert_counts_exact(app).await;
            app.storage
                .sync_queue_states(&rules(false), chrono::Utc::now())
                .await
                .unwrap();
            assert!(listed("").await);
            assert_eq!(total("").await, 1);
            // Rules that no longer name the state: open.
            app.storage
                .sync_queue_states(
                    &[("secos".to_owned(), vec![("closed".to_owned(), true)])],
                    chrono::Utc::now(),
                )
                .await
                .unwrap();
            assert!(listed("").await);
            // …and counted in the open queue's total (all counts minus the terminal ones).
            assert_eq!(total("").await, 1);
            assert_counts_exact(app).await;
        })
        .await;
}

#[tokio::test]
async fn the_total_stays_exact_through_transitions_allocation_and_filters() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let triage = token(app, "t@secos.example", Role::Triage, Some("secos")).await;
            token(app, "w@secos.example", Role::Caseworker, Some("secos")).await;
            let admin = token(app, "a@example.org", Role::Admin, None).await;
            let a = submit(app, sample("secos-referral")).await;
            let b = submit(app, secos(Some(medium()))).await;
            let c = submit(app, secos(None)).await;
            let total = async |query: &str, who: &str| -> (i64, usize) {
                let page = app
                    .get_with_token(&format!("/api/v1/referrals{query}"), who)
                    .await
                    .json();
                (page["total"].as_i64().unwrap(), references(&page).len())
            };
            assert_eq!(total("", &triage).await, (3, 3));
            assert_eq!(total("?band=high", &triage).await, (1, 1));
            assert_eq!(total("?per_page=1&page=2", &triage).await, (3, 1));

            let r = app
                .post_with_token(
                    &format!("/api/v1/referrals/{a}/screening"),
                    &triage,
                    &json!({"band": "high", "reason": "Agree with the tool"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let r = app
                .post_with_token(
                    &format!("/api/v1/referrals/{a}/transitions"),
                    &triage,
                    &json!({"to": "screening_confirmed"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert_eq!(total("?status=screening_confirmed", &triage).await, (1, 1));
            assert_eq!(total("?status=received", &admin).await, (2, 2));
            let r = app
                .post_with_token(
                    &format!("/api/v1/referrals/{b}/allocation"),
                    &triage,
                    &json!({"worker": "w@secos.example"}),
                )
                .await;
            assert!(r.status.is_success(), "{}", r.text());
            assert_eq!(total("?assignee=w%40secos.example", &triage).await, (1, 1));
            // A closed case leaves the default queue but not `include_closed`.
            set(app, &c, "status = 'closed', queue_open = 0").await;
            assert_eq!(total("", &triage).await, (2, 2));
            assert_eq!(total("?include_closed=true", &triage).await, (3, 3));
            // Time-dependent filters count their own rows.
            set(app, &b, "due_by = '2000-01-03'").await;
            assert_eq!(total("?overdue=true", &triage).await, (1, 1));
            assert_counts_exact(app).await;
        })
        .await;
}

/// Submissions arriving together are written in one group-commit batch on SQLite and
/// counted by one statement for the batch: the total is still exact, and stays so as cases
/// change band, are allocated and closed.
#[tokio::test]
async fn submissions_written_together_are_counted_exactly() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let triage = token(app, "t@secos.example", Role::Triage, Some("secos")).await;
            let answers = [sample("secos-referral"), secos(Some(medium())), secos(None)];
            let submissions = (0..24).map(|i| submit(app, answers[i % 3].clone()));
            let references = futures_util::future::join_all(submissions).await;
            assert_eq!(references.len(), 24);
            let total = async |query: &str| -> i64 {
                app.get_with_token(&format!("/api/v1/referrals{query}"), &triage)
                    .await
                    .json()["total"]
                    .as_i64()
                    .unwrap()
            };
            assert_eq!(total("").await, 24);
            assert_eq!(total("?band=high").await, 8);
            assert_counts_exact(app).await;

            // A band confirmed over the suggestion, an allocation and a closure move a case
            // between the counted combinations.
            set(app, &references[0], "confirmed_band = 'low'").await;
            set(app, &references[1], "assignee = 'w@secos.example'").await;
            set(app, &references[2], "status = 'closed', queue_open = 0").await;
            assert_eq!(total("?band=high").await, 7);
            assert_eq!(total("").await, 23);
            assert_eq!(total("?include_closed=true").await, 24);
            assert_counts_exact(app).await;
        })
        .await;
}

/// The benchmarks' seeding tool (`haven dev seed`) writes cases in their final state with
/// multi-row inserts: their counts are exact, every one is in the queue's total, and the
/// audit chain stays whole.
#[tokio::test]
async fn seeded_cases_are_counted_exactly_and_keep_the_audit_chain_whole() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let mut seed = std::process::Command::new(env!("CARGO_BIN_EXE_haven"));
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("HAVEN_") {
                    seed.env_remove(name);
                }
            }
            let out = seed
                .env("HAVEN_DATA_DIR", app.db.dir.path())
                .env("HAVEN_LOG", "warn")
                .args(["--database-url", &app.db.url])
                .args(["dev", "seed", "--count", "700", "--batch", "256"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let admin = token(app, "a@example.org", Role::Admin, None).await;
            let all = app
                .get_with_token("/api/v1/referrals?include_closed=true", &admin)
                .await
                .json();
            assert_eq!(all["total"], 700, "{all}");
            let open = app.get_with_token("/api/v1/referrals", &admin).await.json();
            let open_total = open["total"].as_i64().unwrap();
            assert!(0 < open_total && open_total < 700, "{open}");
            assert_counts_exact(app).await;
            let chain = app.storage.verify_audit_chain().await.unwrap();
            assert!(
                matches!(chain, haven::storage::audit::ChainCheck::Intact { entries } if entries >= 700),
                "{chain:?}"
            );
        })
        .await;
}
