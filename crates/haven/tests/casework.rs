//! Casework after triage: meetings (with the lone-working confirmation before a home visit),
//! the plan (goals, actions with owners and due dates, reviews), overdue plan actions in the
//! worker's queue, closing with an outcome, and who may do it. Every test runs on SQLite and,
//! with HAVEN_TEST_DATABASE_URL, on PostgreSQL.

use crate::common;

use axum::http::StatusCode;
use chrono::Utc;
use common::staff::{Browser, account, location};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::crypto;
use haven::storage::tokens::NewApiToken;
use haven::storage::triage::StatusChange;
use serde_json::{Value, json};
use sqlx::Row;

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

/// A staff account with a known email and an API token: `(email, token)`.
async fn worker(app: &TestApp, role: Role, team: &str) -> (String, String) {
    let (id, email) = account(app, role, Some(team), "a-password-for-tests").await;
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
    (email, token)
}

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

/// A Cyber Choices case moved straight to `status` with `decision` (the detailed referral
/// form that leads there is another part of the service).
async fn cyber_choices_case(app: &TestApp, status: &str, decision: Option<&str>) -> String {
    let reference = submit(
        app,
        "cyber-choices",
        "enquiry",
        sample("cyber-choices-enquiry"),
    )
    .await;
    let referral = app
        .storage
        .find_referral(&reference)
        .await
        .unwrap()
        .unwrap();
    let moved = app
        .storage
        .change_status(&StatusChange {
            referral_id: &referral.id,
            from: "enquiry_received",
            to: status,
            decision,
            reason: Some("test set-up"),
            actor: "test",
            at: Utc::now(),
            meets_sla: true,
        })
        .await
        .unwrap();
    assert!(moved);
    reference
}

async fn kinds(app: &TestApp, reference: &str) -> Vec<String> {
    let referral = app.storage.find_referral(reference).await.unwrap().unwrap();
    app.storage
        .chronology(&referral.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    sqlx::query("SELECT action FROM audit_log ORDER BY seq")
        .fetch_all(app.storage.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

async fn transition(
    app: &TestApp,
    token: &str,
    reference: &str,
    body: Value,
) -> common::TestResponse {
    app.post_with_token(
        &format!("/api/v1/referrals/{reference}/transitions"),
        token,
        &body,
    )
    .await
}

#[tokio::test]
async fn the_initial_meeting_and_a_plan_goal_are_what_move_a_cyber_choices_case_on() {
    builtins()
        .each_engine(async |app| {
            let (_, token) = worker(app, Role::Caseworker, "cyber-choices").await;
            let reference = cyber_choices_case(app, "reassessed", Some("accepted")).await;
            let response = transition(app, &token, &reference, json!({"to": "initial_meeting_arranged"})).await;
            assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.text());
            assert!(response.text().contains("meeting_recorded"), "{}", response.text());

            // Every bad field is named at once, against the service's own lists.
            let meetings = format!("/api/v1/referrals/{reference}/meetings");
            let response = app
                .post_with_token(&meetings, &token, &json!({"kind": "tea_party", "date": "2027-02-30", "time": "25:00", "place": "moon"}))
                .await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text());
            let mut fields = response.error_fields();
            fields.sort();
            assert_eq!(fields, ["attendees", "date", "informal", "kind", "place", "time"]);

            let response = app
                .post_with_token(&meetings, &token, &json!({
                    "kind": "initial_meeting", "date": "2027-01-12", "time": "15:30", "place": "school",
                    "place_details": "Library meeting room", "attendees": "Young person, Mrs Quillfeather (head of year), two officers",
                    "informal": true, "notes": "Keen on game modding; agreed to meet again."
                }))
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let meeting = response.json();
            assert_eq!(meeting["informal"], json!(true));
            assert_eq!(meeting["home_visit"], json!(false));

            let listed = app.get_with_token(&meetings, &token).await.json();
            assert_eq!(listed["meetings"].as_array().unwrap().len(), 1);
            assert_eq!(listed["meetings"][0]["attendees"], json!("Young person, Mrs Quillfeather (head of year), two officers"));

            // What was said and who was there is sealed at rest.
            let stored: Vec<u8> = sqlx::query("SELECT content FROM case_meetings")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert!(stored.starts_with(b"hv2") && !String::from_utf8_lossy(&stored).contains("Quillfeather"));

            let response = transition(app, &token, &reference, json!({"to": "initial_meeting_arranged"})).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let response = transition(app, &token, &reference, json!({"to": "intervention_planned"})).await;
            assert_eq!(response.status, StatusCode::CONFLICT);
            assert!(response.text().contains("plan_has_goals"));
            let goals = format!("/api/v1/referrals/{reference}/plan/goals");
            let response = app.post_with_token(&goals, &token, &json!({"text": "  "})).await;
            assert_eq!(response.error_fields(), ["text"]);
            let response = app
                .post_with_token(&goals, &token, &json!({"text": "Use coding skills on a legal project"}))
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let response = transition(app, &token, &reference, json!({"to": "intervention_planned"})).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());

            let events = kinds(app, &reference).await;
            assert!(events.contains(&"meeting_recorded".to_owned()), "{events:?}");
            assert!(events.contains(&"plan_goal_added".to_owned()), "{events:?}");
            let audit = audit_actions(app).await;
            assert!(audit.contains(&"referral.meeting_recorded".to_owned()));
            assert!(audit.contains(&"referral.plan_goal_added".to_owned()));
            assert!(audit.contains(&"referral.meetings_viewed".to_owned()));
        })
        .await;
}

#[tokio::test]
async fn a_home_visit_on_a_case_with_lone_working_concerns_needs_them_read_first() {
    builtins()
        .each_engine(async |app| {
            let (_, token) = worker(app, Role::Caseworker, "secos").await;
            let reference = submit(app, "secos", "referral", sample("secos-referral")).await;
            let meetings = format!("/api/v1/referrals/{reference}/meetings");
            let listed = app.get_with_token(&meetings, &token).await.json();
            let concerns = listed["lone_working_concerns"].as_array().unwrap();
            assert!(
                concerns.iter().any(|c| c["details"].as_str().is_some_and(|d| d.contains("verbally aggressive"))),
                "{listed}"
            );

            let visit = json!({"kind": "initial_visit", "date": "2027-01-12", "time": "10:00", "place": "home", "attendees": "Young person, mum, SECOS worker"});
            let response = app.post_with_token(&meetings, &token, &visit).await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text());
            assert_eq!(response.error_fields(), ["lone_working_read"]);
            // SECOS does not record the Cyber Choices plain-clothes flag.
            let mut informal = visit.clone();
            informal["informal"] = json!(true);
            informal["lone_working_read"] = json!(true);
            let response = app.post_with_token(&meetings, &token, &informal).await;
            assert_eq!(response.error_fields(), ["informal"]);
            // A meeting at school is not a home visit.
            let mut school = visit.clone();
            school["place"] = json!("school");
            let response = app.post_with_token(&meetings, &token, &school).await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            assert!(!kinds(app, &reference).await.contains(&"lone_working_read".to_owned()));

            let mut confirmed = visit.clone();
            confirmed["lone_working_read"] = json!(true);
            let response = app.post_with_token(&meetings, &token, &confirmed).await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            assert_eq!(response.json()["lone_working_confirmed"], json!(true));
            assert!(kinds(app, &reference).await.contains(&"lone_working_read".to_owned()));

            // The same on the staff pages: the concerns are on the form, the box is required.
            let (id, _) = account(app, Role::Caseworker, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &id).await;
            let form = format!("/staff/cases/{reference}/meetings/new");
            let page = browser.get(app, &form).await;
            assert_eq!(page.status, StatusCode::OK);
            assert_eq!(page.header("cache-control"), Some("no-store"));
            assert!(page.text().contains("verbally aggressive"), "lone-working details on the form");
            let csrf = browser.csrf(app, &form).await;
            let post = format!("/staff/cases/{reference}/meetings");
            let fields = [
                ("csrf", csrf.as_str()), ("kind", "home_visit"), ("date", "2027-01-19"), ("time", "11:00"),
                ("place", "home"), ("attendees", "Young person <b>and</b> mum"),
            ];
            let refused = browser.post(app, &post, &fields).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            let html = refused.text();
            assert!(html.contains("govuk-error-summary") && html.contains("href=\"#lone_working_read\""), "{html}");
            assert!(html.contains("Young person &lt;b&gt;and&lt;&#x2f;b&gt; mum") || html.contains("Young person &lt;b&gt;and&lt;/b&gt; mum"), "escaped");
            let mut with_box = fields.to_vec();
            with_box.push(("lone_working_read", "yes"));
            let done = browser.post(app, &post, &with_box).await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
            assert_eq!(location(&done), format!("/staff/cases/{reference}/meetings"));
            let meetings = browser.get(app, &format!("/staff/cases/{reference}/meetings")).await.text();
            assert!(meetings.contains("id=\"lone-working\"") && meetings.contains("Lone-working concerns read"));
            let case = browser.get(app, &format!("/staff/cases/{reference}")).await.text();
            assert!(case.contains("id=\"lone-working\"") && case.contains(">Lone working</strong>"), "banner and badge");
        })
        .await;
}

#[tokio::test]
async fn overdue_plan_actions_appear_in_the_owners_and_the_assignees_queue() {
    builtins()
        .each_engine(async |app| {
            let (owner, token) = worker(app, Role::Caseworker, "secos").await;
            let (other, _) = worker(app, Role::Caseworker, "secos").await;
            let (outsider, _) = worker(app, Role::Caseworker, "ceop").await;
            let reference = submit(app, "secos", "referral", sample("secos-referral")).await;
            let quiet = submit(app, "secos", "referral", sample("secos-referral")).await;
            let plan = format!("/api/v1/referrals/{reference}/plan");
            let goal = app
                .post_with_token(&format!("{plan}/goals"), &token, &json!({"text": "Feel safe travelling to school"}))
                .await
                .json();
            let goal_id = goal["goals"][0]["id"].as_str().unwrap().to_owned();

            let actions = format!("{plan}/actions");
            let response = app
                .post_with_token(&actions, &token, &json!({"text": "", "owner": outsider, "due_on": "31/01/2027", "goal_id": "nope"}))
                .await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            let mut fields = response.error_fields();
            fields.sort();
            assert_eq!(fields, ["due_on", "goal_id", "owner", "text"]);
            let response = app
                .post_with_token(&actions, &token, &json!({"text": "Safety planning session", "owner": owner, "due_on": "2020-01-06", "goal_id": goal_id}))
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let response = app
                .post_with_token(&actions, &token, &json!({"text": "Speak to the school", "owner": other, "due_on": "2099-12-31"}))
                .await;
            let body = response.json();
            let listed = body["actions"].as_array().unwrap();
            assert_eq!(listed.len(), 2);
            assert_eq!(listed[0]["overdue"], json!(true));
            assert_eq!(listed[1]["overdue"], json!(false));
            let overdue_id = listed[0]["id"].as_str().unwrap().to_owned();

            let queue = |filter: String| {
                let token = token.clone();
                async move {
                    let body = app.get_with_token(&format!("/api/v1/referrals?{filter}"), &token).await.json();
                    body["items"].as_array().unwrap().iter()
                        .map(|i| (i["reference"].as_str().unwrap().to_owned(), i["plan_actions_overdue"].as_i64().unwrap()))
                        .collect::<Vec<_>>()
                }
            };
            assert_eq!(queue("plan_overdue=true".into()).await, [(reference.clone(), 1)]);
            let all = queue(String::new()).await;
            assert!(all.contains(&(quiet.clone(), 0)) && all.contains(&(reference.clone(), 1)));
            // The owner's queue has it; the other worker's only once the case is theirs.
            assert_eq!(queue(format!("plan_overdue=true&assignee={owner}")).await, [(reference.clone(), 1)]);
            assert!(queue(format!("plan_overdue=true&assignee={other}")).await.is_empty());
            let (_, triage) = worker(app, Role::Triage, "secos").await;
            let response = app
                .post_with_token(&format!("/api/v1/referrals/{reference}/allocation"), &triage, &json!({"worker": other}))
                .await;
            assert_eq!(response.status, StatusCode::OK);
            assert_eq!(queue(format!("plan_overdue=true&assignee={other}")).await, [(reference.clone(), 1)]);
            let response = app.get_with_token("/api/v1/referrals?plan_overdue=perhaps", &token).await;
            assert_eq!(response.error_fields(), ["plan_overdue"]);

            // The staff queue shows the marker and filters on it.
            let (id, _) = account(app, Role::Caseworker, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &id).await;
            let page = browser.get(app, "/staff/queue?plan_overdue=yes").await.text();
            assert!(page.contains(&reference) && !page.contains(&quiet), "{page}");
            assert!(page.contains("1 plan action overdue"));

            // Done: no longer overdue anywhere.
            let response = app
                .post_with_token(&format!("{actions}/{overdue_id}"), &token, &json!({"status": "finished"}))
                .await;
            assert_eq!(response.error_fields(), ["status"]);
            let response = app
                .post_with_token(&format!("{actions}/not-an-action"), &token, &json!({"status": "done"}))
                .await;
            assert_eq!(response.status, StatusCode::NOT_FOUND);
            let response = app
                .post_with_token(&format!("{actions}/{overdue_id}"), &token, &json!({"status": "done"}))
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            assert!(queue("plan_overdue=true".into()).await.is_empty());

            // Reviews: the next one defaults to the service's interval (SECOS: 42 days).
            let reviews = format!("{plan}/reviews");
            let response = app
                .post_with_token(&reviews, &token, &json!({"reviewed_on": "2027-01-10", "next_review_on": "2027-01-01"}))
                .await;
            let mut fields = response.error_fields();
            fields.sort();
            assert_eq!(fields, ["next_review_on", "summary"]);
            let response = app
                .post_with_token(&reviews, &token, &json!({"reviewed_on": "2027-01-10", "summary": "Attending every session"}))
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let shown = app.get_with_token(&plan, &token).await.json();
            assert_eq!(shown["next_review_on"], json!("2027-02-21"));
            assert_eq!(shown["reviews"][0]["summary"], json!("Attending every session"));
            let events = kinds(app, &reference).await;
            for kind in ["plan_goal_added", "plan_action_added", "plan_action_done", "plan_reviewed"] {
                assert!(events.contains(&kind.to_owned()), "{kind}: {events:?}");
            }
        })
        .await;
}

#[tokio::test]
async fn a_plan_action_can_be_given_a_new_owner_or_due_date() {
    builtins()
        .each_engine(async |app| {
            let (owner, token) = worker(app, Role::Caseworker, "secos").await;
            let (other, _) = worker(app, Role::Caseworker, "secos").await;
            let (outsider, _) = worker(app, Role::Caseworker, "ceop").await;
            let reference = submit(app, "secos", "referral", sample("secos-referral")).await;
            let actions = format!("/api/v1/referrals/{reference}/plan/actions");
            let body = app
                .post_with_token(&actions, &token, &json!({"text": "Safety planning session", "owner": owner, "due_on": "2020-01-06"}))
                .await
                .json();
            let id = body["actions"][0]["id"].as_str().unwrap().to_owned();
            let action = format!("{actions}/{id}");

            // Nothing to change, a worker of another team, a date that is not one.
            let response = app.post_with_token(&action, &token, &json!({})).await;
            assert_eq!(response.error_fields(), ["status"]);
            let response = app
                .post_with_token(&action, &token, &json!({"owner": outsider, "due_on": "next week"}))
                .await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            let mut fields = response.error_fields();
            fields.sort();
            assert_eq!(fields, ["due_on", "owner"]);

            // Moved to the other worker and a later date: no longer overdue, in their queue.
            let response = app
                .post_with_token(&action, &token, &json!({"owner": other, "due_on": "2099-03-01"}))
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let changed = &response.json()["actions"][0];
            assert_eq!(changed["owner"], json!(other));
            assert_eq!(changed["due_on"], json!("2099-03-01"));
            assert_eq!(changed["overdue"], json!(false));
            assert_eq!(changed["done"], json!(false));
            let overdue = app.get_with_token("/api/v1/referrals?plan_overdue=true", &token).await.json();
            assert!(overdue["items"].as_array().unwrap().is_empty(), "{overdue}");
            assert!(kinds(app, &reference).await.contains(&"plan_action_changed".to_owned()));

            // The same on the plan page: a bad date is named on its field; a good one is saved
            // and the chronology says what changed.
            let (id_user, _) = account(app, Role::Caseworker, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &id_user).await;
            let page_path = format!("/staff/cases/{reference}/plan");
            let page = browser.get(app, &page_path).await.text();
            let post = format!("/staff/cases/{reference}/plan/actions/{id}");
            assert!(page.contains(&post.replace('/', "&#x2f;")) || page.contains(&post), "a link to change it: {page}");
            assert_eq!(page.matches("<form").count(), 1, "the plan is a read view");
            let form = browser.get(app, &post).await.text();
            assert!(form.contains("id=\"change-due\""), "{form}");
            let csrf = browser.csrf(app, &page_path).await;
            let refused = browser
                .post(app, &post, &[("csrf", csrf.as_str()), ("owner", other.as_str()), ("due_on", "31/02/2099")])
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text());
            assert!(refused.text().contains("href=\"#change-due\""), "{}", refused.text());
            let saved = browser
                .post(app, &post, &[("csrf", csrf.as_str()), ("owner", owner.as_str()), ("due_on", "2099-04-01")])
                .await;
            assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
            assert_eq!(location(&saved), format!("/staff/cases/{reference}/plan#actions"));
            let case = browser.get(app, &format!("/staff/cases/{reference}/chronology")).await.text();
            assert!(case.contains(&format!("Plan action given to {owner}, now due 1 April 2099")), "{case}");
        })
        .await;
}

#[tokio::test]
async fn closing_after_the_work_needs_an_outcome_from_the_services_list() {
    builtins()
        .each_engine(async |app| {
            let (_, token) = worker(app, Role::Caseworker, "cyber-choices").await;
            let reference = cyber_choices_case(app, "in_intervention", None).await;
            let close = |fields: Value| {
                json!({"to": "closed", "decision": "intervention_completed", "reason": "Sessions finished", "fields": fields})
            };
            let response = transition(app, &token, &reference, close(json!({}))).await;
            assert_eq!(response.status, StatusCode::CONFLICT);
            assert!(response.text().contains("closure_outcome_recorded"), "{}", response.text());
            let response = transition(app, &token, &reference, close(json!({"outcome": "cured", "narrative": "x"}))).await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(response.error_fields(), ["fields.outcome"]);
            let response = transition(app, &token, &reference, close(json!({"outcome": "diverted"}))).await;
            assert_eq!(response.error_fields(), ["fields.narrative"]);
            assert_eq!(app.storage.find_referral(&reference).await.unwrap().unwrap().status, "in_intervention");

            let response = transition(
                app, &token, &reference,
                close(json!({"outcome": "diverted", "narrative": "Now volunteering at a coding club."})),
            )
            .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let plan = app.get_with_token(&format!("/api/v1/referrals/{reference}/plan"), &token).await.json();
            assert_eq!(plan["closure"]["outcome"], json!("diverted"));
            assert_eq!(plan["closure"]["narrative"], json!("Now volunteering at a coding club."));
            let stored: Vec<u8> = sqlx::query("SELECT narrative FROM case_closures")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert!(stored.starts_with(b"hv2") && !String::from_utf8_lossy(&stored).contains("coding club"));
            let events = kinds(app, &reference).await;
            assert_eq!(events[events.len() - 2..], ["transition".to_owned(), "closure_outcome".to_owned()]);
            assert!(audit_actions(app).await.contains(&"referral.closure_outcome".to_owned()));
            // Closed through the workflow, the case leaves the open queue (its open flag is
            // set by the transition) and is still listed where closed cases are asked for.
            let listed = async |query: &str| -> Vec<String> {
                let page = app.get_with_token(&format!("/api/v1/referrals{query}"), &token).await.json();
                page["items"].as_array().unwrap().iter().map(|i| i["reference"].as_str().unwrap().to_owned()).collect()
            };
            assert!(!listed("").await.contains(&reference));
            assert!(listed("?include_closed=true").await.contains(&reference));
            assert!(listed("?status=closed").await.contains(&reference));

            // Closing an enquiry as a duplicate (triage, before any work) needs no outcome.
            let (_, triage) = worker(app, Role::Triage, "cyber-choices").await;
            let early = submit(app, "cyber-choices", "enquiry", sample("cyber-choices-enquiry")).await;
            let response = transition(app, &triage, &early, json!({"to": "closed", "decision": "duplicate", "reason": "Sent twice"})).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let closures: i64 = sqlx::query("SELECT COUNT(*) FROM case_closures")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(closures, 1);
        })
        .await;
}

#[tokio::test]
async fn casework_is_for_the_cases_team_and_the_roles_that_work_it() {
    builtins()
        .each_engine(async |app| {
            let reference = submit(app, "secos", "referral", sample("secos-referral")).await;
            let meeting = json!({"kind": "one_to_one", "date": "2027-01-12", "time": "10:00", "place": "school", "attendees": "Young person"});
            let path = format!("/api/v1/referrals/{reference}/meetings");
            let (_, auditor) = worker(app, Role::Auditor, "secos").await;
            assert_eq!(app.post_with_token(&path, &auditor, &meeting).await.status, StatusCode::FORBIDDEN);
            assert_eq!(app.get_with_token(&path, &auditor).await.status, StatusCode::OK);
            let (_, stranger) = worker(app, Role::Caseworker, "ceop").await;
            assert_eq!(app.post_with_token(&path, &stranger, &meeting).await.status, StatusCode::NOT_FOUND);
            let plan = format!("/api/v1/referrals/{reference}/plan");
            assert_eq!(app.get_with_token(&plan, &stranger).await.status, StatusCode::NOT_FOUND);
            let (id, _) = account(app, Role::Caseworker, Some("ceop"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &id).await;
            assert_eq!(browser.get(app, &format!("/staff/cases/{reference}/plan")).await.status, StatusCode::NOT_FOUND);
            let referral = app.storage.find_referral(&reference).await.unwrap().unwrap();
            let meetings: i64 = sqlx::query("SELECT COUNT(*) FROM case_meetings WHERE referral_id = $1")
                .bind(&referral.id)
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(meetings, 0);
        })
        .await;
}
