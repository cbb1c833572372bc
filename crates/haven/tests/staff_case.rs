//! The case file: answers by section, third-party information only for roles allowed it
//! and never in the family copy, band override with a reason, a transition, and the
//! reporter's follow-up page and API, which show nothing staff-only.

use crate::common;

use common::sample;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::staff::{Browser, account, location};
use common::{TestApp, TestAppBuilder};
use haven::access::Role;
use serde_json::json;

const THIRD_PARTY: &str = "grey car driven by a man in his twenties";
const NOTE: &str = "Staff-only note 7Q3Z about the household";
const BAND_REASON: &str = "Override reason K9X2 from the CPA";
const MESSAGE: &str = "Thank you. A worker will contact you this week.";

/// A SECOS referral from the sample; `(reference, receipt code)`.
async fn secos(app: &TestApp) -> (String, String) {
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": sample("secos-referral")}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    (
        body["reference"].as_str().unwrap().to_owned(),
        body["receipt_code"].as_str().unwrap().to_owned(),
    )
}

async fn signed_in(app: &TestApp, role: Role, team: Option<&str>) -> (Browser, String) {
    let (id, email) = account(app, role, team, "a-password-for-tests").await;
    (Browser::signed_in(app, &id).await, email)
}

#[tokio::test]
async fn third_party_information_is_shown_only_to_roles_allowed_it_and_never_to_the_family() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, _) = secos(app).await;
            let case = format!("/staff/cases/{reference}");
            let (mut triage, _) = signed_in(app, Role::Triage, Some("secos")).await;
            let page = triage.get(app, &case).await;
            assert_eq!(page.status, StatusCode::OK);
            assert_eq!(page.header("cache-control"), Some("no-store"));
            // The answers are on the case's Referral page.
            let html = triage.get(app, &format!("{case}/referral")).await.text();
            assert!(html.contains(THIRD_PARTY));
            assert!(html.contains(
                "Third-party information: not to be shared with the young person or family"
            ));
            // Answers are shown by section with the definition's labels.
            assert!(html.contains("Chloe Marsh"));
            let chronology = triage.get(app, &format!("{case}/chronology")).await.text();
            assert!(chronology.contains("Referral received"));
            let family = triage.get(app, &format!("{case}/family")).await;
            assert_eq!(family.status, StatusCode::OK);
            assert!(
                !family.text().contains(THIRD_PARTY),
                "the family copy leaves it out"
            );
            assert!(!family.text().contains("afraid of being identified"));
            let (mut auditor, _) = signed_in(app, Role::Auditor, None).await;
            let html = auditor.get(app, &format!("{case}/referral")).await.text();
            assert!(!html.contains(THIRD_PARTY));
            assert!(html.contains("third-party information that your role cannot see"));
            let (_, token) = app.staff(Role::Auditor, None).await;
            let api = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await;
            assert_eq!(api.status, StatusCode::OK);
            assert_eq!(api.header("cache-control"), Some("no-store"));
            assert!(!api.text().contains(THIRD_PARTY));
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let api = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await;
            assert!(api.text().contains(THIRD_PARTY));
            let viewed = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            let actions = app
                .storage
                .audit_actions_for("referral", &viewed.id)
                .await
                .unwrap();
            assert!(actions.iter().any(|(_, a)| a == "referral.viewed"));
            assert!(actions.iter().any(|(_, a)| a == "case.exported"));
        })
        .await;
}

#[tokio::test]
async fn triage_overrides_the_band_with_a_reason_and_moves_the_case() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, _) = secos(app).await;
            let case = format!("/staff/cases/{reference}");
            let (mut triage, _) = signed_in(app, Role::Triage, Some("secos")).await;
            let csrf = triage.csrf(app, &case).await;
            let refused = triage
                .post(
                    app,
                    &format!("{case}/band"),
                    &[("band", "medium"), ("reason", " "), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(refused.text().contains("href=\"#band-reason\""));
            let done = triage
                .post(
                    app,
                    &format!("{case}/band"),
                    &[("band", "medium"), ("reason", BAND_REASON), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(done.status, StatusCode::SEE_OTHER);
            let stored = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.confirmed_band.as_deref(), Some("medium"));
            assert_eq!(
                stored.suggested_band.as_deref(),
                Some("high"),
                "both values kept"
            );
            let moved = triage
                .post(
                    app,
                    &format!("{case}/transitions"),
                    &[
                        ("to", "screening_confirmed"),
                        ("reason", "Screened"),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text());
            let html = triage.get(app, &format!("{case}/chronology")).await.text();
            assert!(
                html.contains(BAND_REASON),
                "the chronology keeps the reason"
            );
            assert!(html.contains("Band set to Medium"), "the band in words");
            let stored = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, "screening_confirmed");
            // A caseworker sees no band form and no step it may not take.
            let (mut caseworker, _) = signed_in(app, Role::Caseworker, Some("secos")).await;
            let html = caseworker.get(app, &case).await.text();
            assert!(!html.contains("Confirm band"));
            assert!(!html.contains(&format!("{case}/band")));
            let form = caseworker.get(app, &format!("{case}/band")).await;
            assert_eq!(form.status, StatusCode::FORBIDDEN);
        })
        .await;
}

/// The API queue as `(reference, new_information)`, in its order.
async fn queue_marks(app: &TestApp, token: &str) -> Vec<(String, bool)> {
    let queue = app.get_with_token("/api/v1/referrals", token).await.json();
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["reference"].as_str().unwrap().to_owned(),
                i["new_information"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn follow_up_page(app: &TestApp, form: &[(&str, &str)]) -> common::TestResponse {
    Browser::default().post(app, "/follow-up", form).await
}

#[tokio::test]
async fn the_follow_up_page_and_api_show_status_and_messages_and_nothing_staff_only() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, code) = secos(app).await;
            let case = format!("/staff/cases/{reference}");
            let (mut triage, email) = signed_in(app, Role::Triage, Some("secos")).await;
            let csrf = triage.csrf(app, &case).await;
            for (path, form) in [
                ("notes", vec![("body", NOTE)]),
                ("band", vec![("band", "medium"), ("reason", BAND_REASON)]),
                ("messages", vec![("body", MESSAGE)]),
            ] {
                let mut form = form.clone();
                form.push(("csrf", &csrf));
                let response = triage.post(app, &format!("{case}/{path}"), &form).await;
                assert_eq!(
                    response.status,
                    StatusCode::SEE_OTHER,
                    "{path}: {}",
                    response.text()
                );
            }
            let user = app
                .storage
                .find_user_by_email(&email)
                .await
                .unwrap()
                .unwrap();
            let forbidden = [
                NOTE,
                BAND_REASON,
                THIRD_PARTY,
                email.as_str(),
                user.id.as_str(),
                "Chloe",
                "high",
                "medium",
            ];
            let page = follow_up_page(app, &[("code", &code)]).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let html = page.text();
            assert!(html.contains(MESSAGE));
            assert!(html.contains("We have received your referral"));
            let request = Request::get("/api/v1/follow-up")
                .header("x-receipt-code", &code)
                .body(Body::empty())
                .unwrap();
            let api = app.request(request).await;
            assert_eq!(api.status, StatusCode::OK);
            assert!(api.text().contains(MESSAGE));
            for secret in forbidden {
                assert!(!html.contains(secret), "the follow-up page shows {secret}");
                assert!(
                    !api.text().contains(secret),
                    "the follow-up API shows {secret}"
                );
            }
            // The reporter adds information: on the case and in its chronology.
            let added = follow_up_page(
                app,
                &[
                    ("code", &code),
                    ("action", "add"),
                    ("information", "He messaged again last night."),
                ],
            )
            .await;
            assert_eq!(added.status, StatusCode::OK);
            assert!(added.text().contains("We have added your information"));
            // The queue marks it, and lists it before the team's other (not urgent) cases;
            // an auditor reading the case leaves the mark for the team.
            let (other, _) = secos(app).await;
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let listed = queue_marks(app, &token).await;
            assert_eq!(listed[0], (reference.clone(), true), "{listed:?}");
            assert!(listed.contains(&(other.clone(), false)), "{listed:?}");
            let only = app
                .get_with_token("/api/v1/referrals?new_information=true", &token)
                .await
                .json();
            assert_eq!(only["total"], 1, "{only}");
            let staff_queue = triage
                .get(app, "/staff/queue?new_information=yes")
                .await
                .text();
            assert!(
                staff_queue.contains(&reference) && staff_queue.contains("New information"),
                "{staff_queue}"
            );
            assert!(!staff_queue.contains(&other));
            let (mut auditor, _) = signed_in(app, Role::Auditor, None).await;
            assert_eq!(auditor.get(app, &case).await.status, StatusCode::OK);
            assert_eq!(queue_marks(app, &token).await[0], (reference.clone(), true));
            let html = triage.get(app, &case).await.text();
            assert!(html.contains("He messaged again last night."));
            let chronology = triage.get(app, &format!("{case}/chronology")).await.text();
            assert!(chronology.contains("The reporter added information"));
            // Opened by the team: no longer marked.
            assert!(queue_marks(app, &token).await.iter().all(|(_, new)| !new));
            // A wrong code is refused and does not say why.
            let wrong = follow_up_page(app, &[("code", "AAAAA-BBBBB-CCCCC-DDDDD")]).await;
            assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
            let missing = app.get("/api/v1/follow-up").await;
            assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        })
        .await;
}

#[tokio::test]
async fn wrong_receipt_codes_are_throttled() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, code) = secos(app).await;
            for _ in 0..10 {
                let request = Request::get("/api/v1/follow-up")
                    .header("x-receipt-code", "AAAAA-BBBBB-CCCCC-DDDDD")
                    .body(Body::empty())
                    .unwrap();
                assert_eq!(app.request(request).await.status, StatusCode::NOT_FOUND);
            }
            let request = Request::get("/api/v1/follow-up")
                .header("x-receipt-code", &code)
                .body(Body::empty())
                .unwrap();
            assert_eq!(
                app.request(request).await.status,
                StatusCode::TOO_MANY_REQUESTS
            );
            let page = follow_up_page(app, &[("code", &code)]).await;
            assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
            assert!(location(&page).is_empty());
        })
        .await;
}

#[tokio::test]
async fn the_queue_lists_the_teams_cases_filters_them_and_audits_each_search() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, _) = secos(app).await;
            let (mut triage, email) = signed_in(app, Role::Triage, Some("secos")).await;
            let page = triage.get(app, "/staff/queue").await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.text().contains(&reference));
            let filtered = triage.get(app, "/staff/queue?service=ceop").await.text();
            assert!(!filtered.contains(&reference) && filtered.contains("No cases match"));
            let by_band = triage.get(app, "/staff/queue?band=high").await.text();
            assert!(by_band.contains(&reference));
            let (mut other, _) = signed_in(app, Role::Triage, Some("ceop")).await;
            assert!(
                !other
                    .get(app, "/staff/queue")
                    .await
                    .text()
                    .contains(&reference)
            );
            let user = app
                .storage
                .find_user_by_email(&email)
                .await
                .unwrap()
                .unwrap();
            let searches: i64 = sqlx::query(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'queue.searched' AND actor = $1",
            )
            .bind(format!("user:{}", user.id))
            .fetch_one(app.storage.pool())
            .await
            .map(|row| sqlx::Row::get(&row, 0))
            .unwrap();
            assert_eq!(searches, 3);
        })
        .await;
}

/// The `<form` elements of a page (the layout's sign-out is one).
fn forms(html: &str) -> usize {
    html.matches("<form").count()
}

#[tokio::test]
async fn the_case_opens_on_its_summary_with_one_page_per_section_and_one_action_per_form_page() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, _) = secos(app).await;
            let case = format!("/staff/cases/{reference}");
            let (mut triage, _) = signed_in(app, Role::Triage, Some("secos")).await;
            let summary = triage.get(app, &case).await;
            assert_eq!(summary.status, StatusCode::OK);
            let html = summary.text();
            // The identity bar: the young person, the case, its band in words, its flags.
            assert!(html.contains("moj-identity-bar"));
            assert!(html.contains(">Chloe Marsh</strong>"), "{html}");
            assert!(html.contains("Age "), "their age today");
            assert!(html.contains(&reference));
            assert!(html.contains("SECOS"));
            assert!(html.contains("Status: Referral received"));
            assert!(
                html.contains("Band: High (suggested)"),
                "a label, not the key"
            );
            // Every section is a page of its own, in the sub navigation; none holds a form
            // (the layout's sign-out is the only one).
            for path in [
                "",
                "/referral",
                "/screening",
                "/plan",
                "/meetings",
                "/onward-referrals",
                "/documents",
                "/chronology",
            ] {
                assert!(
                    html.contains(&format!(
                        "href=\"{}\"",
                        format!("{case}{path}").replace('/', "&#x2f;")
                    )) || html.contains(&format!("href=\"{case}{path}\"")),
                    "sub navigation to {path}"
                );
                let page = triage.get(app, &format!("{case}{path}")).await;
                assert_eq!(page.status, StatusCode::OK, "{path}");
                let text = page.text();
                assert_eq!(forms(&text), 1, "{path} is a read view");
                assert!(text.contains("moj-sub-navigation"), "{path}");
                assert!(text.contains("aria-current=\"page\""), "{path}");
            }
            // The case's actions, each a page with its one form.
            for (link, action) in [
                ("/band", "/band"),
                ("/transitions/screening_confirmed", "/transitions"),
                ("/transitions/closed", "/transitions"),
                ("/allocation", "/allocation"),
                ("/notes/new", "/notes"),
                ("/messages/new", "/messages"),
            ] {
                assert!(
                    html.contains(&format!("{case}{link}\""))
                        || html.contains(&format!(
                            "{}{}\"",
                            case.replace('/', "&#x2f;"),
                            link.replace('/', "&#x2f;")
                        )),
                    "the button menu links to {link}"
                );
                let page = triage.get(app, &format!("{case}{link}")).await;
                assert_eq!(page.status, StatusCode::OK, "{link}");
                let text = page.text();
                assert_eq!(forms(&text), 2, "{link}: one form besides signing out");
                assert!(
                    text.contains(&format!("action=\"{case}{action}\""))
                        || text.contains(&format!(
                            "action=\"{}\"",
                            format!("{case}{action}").replace('/', "&#x2f;")
                        )),
                    "{link} posts to {action}"
                );
                assert!(text.contains("govuk-back-link"), "{link}");
            }
            // A refused input shows its form again, not the case.
            let csrf = triage.csrf(app, &case).await;
            let refused = triage
                .post(
                    app,
                    &format!("{case}/notes"),
                    &[("body", " "), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = refused.text();
            assert!(text.contains("href=\"#note-body\""));
            assert!(text.contains("Add a note"));
            // Done: back to the case.
            let done = triage
                .post(
                    app,
                    &format!("{case}/notes"),
                    &[("body", NOTE), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(done.status, StatusCode::SEE_OTHER);
            assert_eq!(location(&done), format!("{case}#notes"));
            assert!(triage.get(app, &case).await.text().contains(NOTE));
            // Unknown steps and actions are not pages.
            let missing = triage
                .get(app, &format!("{case}/transitions/nowhere"))
                .await;
            assert_eq!(missing.status, StatusCode::NOT_FOUND);
        })
        .await;
}

#[tokio::test]
async fn a_closed_case_can_be_read_but_not_changed() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, _) = secos(app).await;
            let case = format!("/staff/cases/{reference}");
            let (mut triage, _) = signed_in(app, Role::Triage, Some("secos")).await;
            let csrf = triage.csrf(app, &case).await;
            let closed = triage
                .post(
                    app,
                    &format!("{case}/transitions"),
                    &[
                        ("to", "closed"),
                        ("decision", "duplicate"),
                        ("reason", "A duplicate of another referral"),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            assert_eq!(
                closed.status,
                StatusCode::SEE_OTHER,
                "{}",
                closed
                    .text()
                    .split("govuk-error-summary__list")
                    .nth(1)
                    .unwrap_or_default()
            );
            let html = triage.get(app, &case).await.text();
            assert!(html.contains("This case is closed"));
            assert!(
                html.contains(">Closed</strong>"),
                "the identity bar's badge"
            );
            for link in [
                "/band",
                "/notes/new",
                "/messages/new",
                "/allocation",
                "/transitions/",
            ] {
                assert!(
                    !html.contains(&format!("{case}{link}"))
                        && !html.contains(&format!("{case}{link}").replace('/', "&#x2f;")),
                    "no {link} on a closed case"
                );
            }
            // Every change is refused, saying why; reading goes on.
            for (path, form) in [
                ("notes", vec![("body", NOTE)]),
                ("band", vec![("band", "medium"), ("reason", BAND_REASON)]),
                ("messages", vec![("body", MESSAGE)]),
                ("allocation", vec![("worker", "")]),
            ] {
                let mut form = form.clone();
                form.push(("csrf", &csrf));
                let refused = triage.post(app, &format!("{case}/{path}"), &form).await;
                assert_eq!(refused.status, StatusCode::CONFLICT, "{path}");
                assert!(refused.text().contains("This case is closed"), "{path}");
            }
            assert_eq!(
                triage.get(app, &format!("{case}/band")).await.status,
                StatusCode::CONFLICT
            );
            assert_eq!(
                triage.get(app, &format!("{case}/notes/new")).await.status,
                StatusCode::CONFLICT
            );
            for path in ["/referral", "/chronology", "/family"] {
                assert_eq!(
                    triage.get(app, &format!("{case}{path}")).await.status,
                    StatusCode::OK
                );
            }
            let stored = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(app.storage.notes(&stored.id).await.unwrap().len(), 0);
            // The API refuses the same way (one rule in `cases::`).
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let api = app
                .post_with_token(
                    &format!("/api/v1/referrals/{reference}/allocation"),
                    &token,
                    &json!({ "worker": null }),
                )
                .await;
            assert_eq!(api.status, StatusCode::CONFLICT, "{}", api.text());
            assert!(api.text().contains("case_closed"));
        })
        .await;
}
