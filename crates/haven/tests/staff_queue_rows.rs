//! The staff queue's rows (issue 13): the young person's name and age on each row the
//! person may see, ONE audit entry per page view naming the references shown, the exact
//! reference search, MOJ badges, and how long an urgent case has waited.

use crate::common;

use axum::http::StatusCode;
use chrono::TimeDelta;
use common::staff::{Browser, account};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use serde_json::json;
use sqlx::Row;

async fn secos(app: &TestApp, name: &str) -> String {
    let mut answers = sample("secos-referral");
    answers["young_person"]["name"] = json!(name);
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

async fn signed_in(app: &TestApp, role: Role, team: Option<&str>) -> (Browser, String) {
    let (id, _) = account(app, role, team, "a-password-for-tests").await;
    (Browser::signed_in(app, &id).await, format!("user:{id}"))
}

/// The reasons of the actor's queue audit entries, oldest first.
async fn queue_entries(app: &TestApp, actor: &str) -> Vec<String> {
    sqlx::query(
        "SELECT reason FROM audit_log WHERE action = 'queue.searched' AND actor = $1 ORDER BY seq",
    )
    .bind(actor)
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

/// The HTML of the queue row of `reference`.
fn row_of<'h>(html: &'h str, reference: &str) -> &'h str {
    let at = html
        .find(&format!(">{reference}</a>"))
        .unwrap_or_else(|| panic!("{reference} not listed"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    &html[start..end]
}

#[tokio::test]
async fn each_row_names_the_young_person_and_age_and_the_view_is_one_audit_entry() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app: &TestApp| {
            let zoe = secos(app, "Zoë <b>Ó'Brien</b>").await;
            let sam = secos(app, "Sam Example").await;
            let (mut triage, actor) = signed_in(app, Role::Triage, Some("secos")).await;
            let page = triage.get(app, "/staff/queue").await;
            assert_eq!(page.status, StatusCode::OK);
            let html = page.text();
            let row = row_of(&html, &zoe);
            // Escaped, never markup.
            assert!(
                row.contains("Zoë &lt;b&gt;Ó&#x27;Brien&lt;&#x2f;b&gt;")
                    || row.contains("Zoë &lt;b&gt;Ó&#39;Brien&lt;/b&gt;"),
                "{row}"
            );
            assert!(!html.contains("<b>Ó"));
            // Born 14 March 2011: their age on the day the page is seen.
            let today = haven_core::calendar::london_date(app.state.now());
            let dob = chrono::NaiveDate::from_ymd_opt(2011, 3, 14).unwrap();
            let age = haven_core::definition::condition::age_on(dob, today).unwrap();
            assert!(row.contains(&format!("Age {age}<")), "{row}");
            assert!(row_of(&html, &sam).contains("Sam Example"));
            // One entry for the page view, naming both references shown.
            let entries = queue_entries(app, &actor).await;
            assert_eq!(entries.len(), 1, "{entries:?}");
            assert!(
                entries[0].contains(&zoe) && entries[0].contains(&sam),
                "{entries:?}"
            );
            assert!(
                !entries[0].contains("Sam Example"),
                "never content in the audit log"
            );

            // Another team's worker sees neither the row nor the name.
            let (mut other, other_actor) = signed_in(app, Role::Triage, Some("ceop")).await;
            let theirs = other.get(app, "/staff/queue").await.text();
            assert!(!theirs.contains(&zoe) && !theirs.contains("Sam Example"));
            let entries = queue_entries(app, &other_actor).await;
            assert_eq!(entries.len(), 1);
            assert!(!entries[0].contains(&zoe));
        })
        .await;
}

#[tokio::test]
async fn an_exact_reference_finds_one_case_of_the_persons_teams() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app: &TestApp| {
            let first = secos(app, "First Child").await;
            let second = secos(app, "Second Child").await;
            let (mut triage, actor) = signed_in(app, Role::Caseworker, Some("secos")).await;
            // Typed in lower case with spaces around it.
            let typed = format!("  {}  ", first.to_lowercase());
            let found = triage
                .get(
                    app,
                    &format!("/staff/queue?reference={}", common::staff::encode(&typed)),
                )
                .await;
            assert_eq!(found.status, StatusCode::OK);
            let html = found.text();
            assert!(html.contains(&first) && html.contains("First Child"));
            assert!(!html.contains(&second) && !html.contains("Second Child"));
            assert!(
                html.contains(&format!("value=\"{first}\"")),
                "the box keeps the reference"
            );
            let entries = queue_entries(app, &actor).await;
            assert!(
                entries[0].contains(&format!("reference={first}")),
                "{entries:?}"
            );
            assert!(!entries[0].contains(&second));
            // Part of a reference finds nothing: it is an exact search.
            let part = &first[..8];
            let none = triage
                .get(app, &format!("/staff/queue?reference={part}"))
                .await
                .text();
            assert!(
                none.contains("No case you can see has the reference"),
                "{none}"
            );
            // Another team's worker cannot find it.
            let (mut other, _) = signed_in(app, Role::Caseworker, Some("ceop")).await;
            let hidden = other
                .get(app, &format!("/staff/queue?reference={first}"))
                .await
                .text();
            assert!(!hidden.contains("First Child"));
            assert!(hidden.contains("No case you can see has the reference"));
        })
        .await;
}

#[tokio::test]
async fn urgent_cases_say_how_long_they_have_waited_with_badges() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app: &TestApp| {
            let urgent = secos(app, "Urgent Child").await;
            let calm = secos(app, "Calm Child").await;
            sqlx::query("UPDATE referrals SET urgent = 1 WHERE reference = $1")
                .bind(&urgent)
                .execute(app.storage.pool())
                .await
                .unwrap();
            app.state
                .staff
                .clock
                .advance(TimeDelta::minutes(3 * 60 + 10));
            let (mut manager, _) = signed_in(app, Role::Manager, Some("secos")).await;
            let html = manager.get(app, "/staff/queue").await.text();
            let row = row_of(&html, &urgent);
            assert!(
                row.contains("moj-badge--red") && row.contains("Urgent"),
                "{row}"
            );
            assert!(row.contains("waited 3 hours"), "{row}");
            let calm_row = row_of(&html, &calm);
            assert!(!calm_row.contains("waited") && !calm_row.contains("moj-badge--red"));
            // Urgent first.
            assert!(html.find(&urgent).unwrap() < html.find(&calm).unwrap());
        })
        .await;
}

#[tokio::test]
async fn a_case_whose_key_was_destroyed_is_listed_without_its_name_and_the_queue_still_works() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app: &TestApp| {
            let erased = secos(app, "Erased Child").await;
            let kept = secos(app, "Kept Child").await;
            assert!(app.storage.destroy_case_key(&erased).await.unwrap());
            let (mut triage, _) = signed_in(app, Role::Triage, Some("secos")).await;
            let page = triage.get(app, "/staff/queue").await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let html = page.text();
            assert!(row_of(&html, &erased).contains("Not available"));
            assert!(row_of(&html, &kept).contains("Kept Child"));
        })
        .await;
}

/// The `person` column of `reference` (the sealed young person summary), if any.
async fn stored_person(app: &TestApp, reference: &str) -> Option<Vec<u8>> {
    sqlx::query("SELECT person FROM referrals WHERE reference = $1")
        .bind(reference)
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .try_get::<Option<Vec<u8>>, _>(0)
        .unwrap()
}

#[tokio::test]
async fn the_queue_opens_a_small_sealed_summary_and_older_rows_are_filled_in() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app: &TestApp| {
            let fresh = secos(app, "Summary Child").await;
            let older = secos(app, "Older Child").await;
            // Stored at intake, sealed (never the name in plaintext), small beside the answers.
            let sealed = stored_person(app, &fresh)
                .await
                .expect("a summary at intake");
            assert!(!String::from_utf8_lossy(&sealed).contains("Summary Child"));
            let answers: Vec<u8> =
                sqlx::query("SELECT answers FROM referrals WHERE reference = $1")
                    .bind(&fresh)
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
            assert!(
                sealed.len() * 4 < answers.len(),
                "{} vs {}",
                sealed.len(),
                answers.len()
            );
            // A referral stored before summaries existed: listed from its answers meanwhile.
            sqlx::query("UPDATE referrals SET person = NULL WHERE reference = $1")
                .bind(&older)
                .execute(app.storage.pool())
                .await
                .unwrap();
            let (mut triage, _) = signed_in(app, Role::Triage, Some("secos")).await;
            let html = triage.get(app, "/staff/queue").await.text();
            assert!(row_of(&html, &older).contains("Older Child"), "{html}");
            assert!(row_of(&html, &fresh).contains("Summary Child"));
            // The start-up pass fills it in, and only it; a second pass finds nothing to do.
            let filled = haven::cases::queue::fill_person_summaries(&app.storage, &app.registry)
                .await
                .unwrap();
            assert_eq!(filled, (1, 0));
            assert!(stored_person(app, &older).await.is_some());
            let again = haven::cases::queue::fill_person_summaries(&app.storage, &app.registry)
                .await
                .unwrap();
            assert_eq!(again, (0, 0));
            let html = triage.get(app, "/staff/queue").await.text();
            let row = row_of(&html, &older);
            assert!(row.contains("Older Child"), "{row}");
            let today = haven_core::calendar::london_date(app.state.now());
            let dob = chrono::NaiveDate::from_ymd_opt(2011, 3, 14).unwrap();
            let age = haven_core::definition::condition::age_on(dob, today).unwrap();
            assert!(row.contains(&format!("Age {age}<")), "{row}");
        })
        .await;
}

/// The `href` of the queue heading `text` (a sortable heading's link), if it is a link.
fn heading_link(html: &str, text: &str) -> Option<String> {
    let at = html.find(&format!(">{text}</a>"))?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&#x2f;", "/")
            .replace("&#x3d;", "=")
            .replace("&amp;", "&"),
    )
}

/// The `aria-sort` of the queue heading `text`.
fn aria_sort(html: &str, text: &str) -> String {
    let html = &html[html.find("<thead").expect("a table")..];
    let at = html
        .find(&format!(">{text}<"))
        .unwrap_or_else(|| panic!("no heading {text}"));
    let start = html[..at].rfind("<th").unwrap();
    let cell = &html[start..at];
    let from = cell
        .find("aria-sort=\"")
        .map(|i| i + 11)
        .unwrap_or(cell.len());
    cell[from..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_headings_sort_on_the_server_keeping_the_filters_and_bad_values_name_their_field() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app: &TestApp| {
            // Received in this order, an hour apart; due in the opposite order; the newest
            // urgent.
            let first = secos(app, "First Child").await;
            app.state.staff.clock.advance(TimeDelta::hours(1));
            let second = secos(app, "Second Child").await;
            app.state.staff.clock.advance(TimeDelta::hours(1));
            let third = secos(app, "Third Child").await;
            for (reference, due) in [
                (&first, "2031-03-03"),
                (&second, "2031-02-02"),
                (&third, "2031-01-01"),
            ] {
                sqlx::query("UPDATE referrals SET due_by = $1 WHERE reference = $2")
                    .bind(due)
                    .bind(reference)
                    .execute(app.storage.pool())
                    .await
                    .unwrap();
            }
            sqlx::query("UPDATE referrals SET urgent = 1 WHERE reference = $1")
                .bind(&first)
                .execute(app.storage.pool())
                .await
                .unwrap();
            let (mut triage, actor) = signed_in(app, Role::Triage, Some("secos")).await;
            let order = |html: &str| {
                let mut refs = vec![first.clone(), second.clone(), third.clone()];
                refs.sort_by_key(|r| html.find(&format!(">{r}</a>")).unwrap());
                refs
            };

            // The usual order: urgent first, then by due date; "Band" is the sorted heading.
            let html = triage.get(app, "/staff/queue").await.text();
            assert_eq!(order(&html), [first.clone(), third.clone(), second.clone()]);
            assert_eq!(aria_sort(&html, "Band"), "descending");
            assert_eq!(aria_sort(&html, "Received"), "none");
            assert!(
                html.contains("Urgent first, then new information"),
                "{html}"
            );
            // Dates in words.
            assert!(html.contains("1 January 2031"), "{html}");

            // Received, oldest first, then the other way round from the same heading.
            let received = heading_link(&html, "Received").expect("Received is a link");
            assert!(
                received.contains("sort=received&order=ascending"),
                "{received}"
            );
            let html = triage.get(app, &received).await.text();
            assert_eq!(order(&html), [first.clone(), second.clone(), third.clone()]);
            assert_eq!(aria_sort(&html, "Received"), "ascending");
            assert_eq!(aria_sort(&html, "Band"), "none");
            assert!(html.contains("Oldest first"), "{html}");
            let newest = heading_link(&html, "Received").unwrap();
            assert!(newest.contains("order=descending"), "{newest}");
            let html = triage.get(app, &newest).await.text();
            assert_eq!(order(&html), [third.clone(), second.clone(), first.clone()]);
            assert_eq!(aria_sort(&html, "Received"), "descending");

            // Due date, soonest first.
            let html = triage.get(app, "/staff/queue?sort=due").await.text();
            assert_eq!(order(&html), [third.clone(), second.clone(), first.clone()]);
            assert_eq!(aria_sort(&html, "Due"), "ascending");

            // The filters stay in the headings' links, and the sort in the filter form.
            let html = triage
                .get(
                    app,
                    "/staff/queue?service=secos&urgent=&sort=received&order=descending",
                )
                .await
                .text();
            let due = heading_link(&html, "Due").unwrap();
            assert!(
                due.contains("service=secos") && due.contains("sort=due&order=ascending"),
                "{due}"
            );
            assert!(html.contains("name=\"sort\" value=\"received\""), "{html}");
            assert!(
                html.contains("name=\"order\" value=\"descending\""),
                "{html}"
            );
            let entries = queue_entries(app, &actor).await;
            assert!(
                entries
                    .last()
                    .unwrap()
                    .contains("sort=received order=descending"),
                "{entries:?}"
            );

            // Unknown values: a clear page naming the field, never a 500.
            for (path, field) in [
                ("/staff/queue?sort=name", "sort"),
                ("/staff/queue?sort=due&order=sideways", "order"),
            ] {
                let refused = triage.get(app, path).await;
                assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}");
                let text = refused.text();
                assert!(
                    text.contains(&format!("The “{field}” in the page address")),
                    "{text}"
                );
                assert!(text.contains("Cases cannot be sorted that way"), "{text}");
            }

            // Every team's queue (an administrator's) has no index in those orders: it keeps
            // the usual order and its headings are not links.
            let (mut admin, _) = signed_in(app, Role::Admin, None).await;
            let html = admin.get(app, "/staff/queue?sort=received").await.text();
            assert!(heading_link(&html, "Received").is_none(), "{html}");
            assert_eq!(aria_sort(&html, "Band"), "descending");
            assert_eq!(order(&html), [first.clone(), third.clone(), second.clone()]);
        })
        .await;
}

/// On SQLite, one team's queue in each order is read from an index in that order, never
/// sorted (no temporary B-tree), forwards and backwards.
#[tokio::test]
async fn each_sort_of_a_teams_queue_is_read_from_an_index() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app: &TestApp| {
            if app.storage.kind() != haven::config::DatabaseKind::Sqlite {
                return;
            }
            for order in [
                "received_at, reference",
                "received_at DESC, reference DESC",
                "queue_due, received_at, reference",
                "queue_due DESC, received_at DESC, reference DESC",
            ] {
                let sql = format!(
                    "EXPLAIN QUERY PLAN SELECT reference FROM referrals \
                     WHERE team = 'secos' AND service = 'secos' ORDER BY {order} LIMIT 50"
                );
                let plan: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(app.storage.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get::<String, _>("detail").unwrap())
                    .collect();
                let plan = plan.join("; ");
                assert!(!plan.contains("TEMP B-TREE"), "{order}: {plan}");
                assert!(plan.contains("referrals_queue_"), "{order}: {plan}");
            }
        })
        .await;
}

/// On SQLite, the overdue-plan-actions view lists its page from the index in the queue's
/// order (no sort) and counts its total from the index keyed by the date (one range), with
/// and without the young person's name; neither reads the other's index.
#[tokio::test]
async fn the_overdue_actions_view_lists_in_order_and_counts_one_range() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app: &TestApp| {
            if app.storage.kind() != haven::config::DatabaseKind::Sqlite {
                return;
            }
            for open_person in [false, true] {
                let filter = haven::storage::queue::QueueFilter {
                    teams: Some(vec!["secos".to_owned()]),
                    open_only: true,
                    plan_overdue: true,
                    today: Some(chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()),
                    open_person,
                    limit: 50,
                    ..Default::default()
                };
                let plan = app.storage.queue_query_plan(&filter).await.unwrap().join("; ");
                // (The page's fifty rows are put in order again inside the JSON aggregate:
                // `TEMP B-TREE FOR json_group_array(ORDER BY)`; the cases are never sorted.)
                assert!(!plan.contains("TEMP B-TREE FOR ORDER BY"), "{plan}");
                assert!(plan.contains("USING INDEX referrals_plan_due_idx (team=? AND queue_open=?)"), "{plan}");
                assert!(
                    plan.contains("USING COVERING INDEX referrals_plan_overdue_count_idx (team=? AND queue_open=? AND plan_due_on<?)"),
                    "{plan}"
                );
            }
        })
        .await;
}

#[tokio::test]
async fn a_search_typed_into_the_queue_address_goes_to_the_search_page_which_finds_the_case() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app: &TestApp| {
            let reference = secos(app, "Marguerite Abernethy").await;
            let (mut triage, _) = signed_in(app, Role::Triage, Some("secos")).await;
            let answer = triage
                .get(app, "/staff/queue?q=Margerite%20Abernethey")
                .await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER);
            let to = common::staff::location(&answer);
            assert_eq!(to, "/staff/search?q=Margerite+Abernethey");
            let found = triage.get(app, to).await;
            assert_eq!(found.status, StatusCode::OK);
            assert!(
                found.text().contains(&reference),
                "the misspelt name finds the case"
            );
        })
        .await;
}
