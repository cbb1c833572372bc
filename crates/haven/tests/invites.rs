//! Feedback to referrers and the Cyber Choices detailed referral: every `notify_referrer`
//! transition queues an email with no case content, whose sending the chronology records;
//! "send the detailed referral form" emails a single-use, expiring link whose token is stored
//! only as a keyed hash; the form it opens attaches to the same case and moves the workflow.

use crate::common;
use crate::public_support;

use axum::http::StatusCode;
use haven::access::Role;
use haven::auth::Clock;
use haven::mail::outbox::{self, Outbox};
use haven::mail::{self, Mailer, Pass};
use haven_pages::naming;
use serde_json::{Value, json};
use sqlx::Row;

use common::staff::{Browser as StaffBrowser, account};
use common::{TestApp, TestAppBuilder};
use public_support::{Browser, sample, strong_after};

const FROM: &str = "Haven <haven@localhost>";
const TEAM: &str = "cyber-choices";

/// Words of the enquiry that must never appear in an email.
const CASE_WORDS: [&str; 5] = ["booter", "pupil", "laptop", "kent", "Ethan"];

fn outbox(app: &TestApp) -> std::path::PathBuf {
    app.db.dir.path().join("test-outbox")
}

/// Sends every queued email to the test outbox; returns their texts (and empties it).
async fn deliver(app: &TestApp) -> Vec<String> {
    let mailer = Mailer::outbox(outbox(app), app.storage.keys().clone());
    loop {
        match mail::work_once(&app.storage, &mailer, FROM, &Clock::default())
            .await
            .unwrap()
        {
            Pass::Idle => break,
            Pass::Sent => {}
            other => panic!("{:?}: an email was not sent: {other:?}", app.engine),
        }
    }
    read_and_empty(&Outbox::new(outbox(app), app.storage.keys().clone()))
}

/// The (sealed) outbox's emails as sent, opened with the master keys; deletes them.
fn read_and_empty(outbox: &Outbox) -> Vec<String> {
    let mut texts = Vec::new();
    for message in outbox.list().unwrap() {
        // Undo quoted-printable soft line breaks, should the transport choose them.
        texts.push(message.message.replace("=\r\n", "").replace("=\n", ""));
        let file = outbox
            .dir()
            .join(format!("{}{}", message.id, outbox::SUFFIX));
        std::fs::remove_file(file).unwrap();
    }
    texts
}

/// The invitation link's path (`/services/…/invitations/<token>`) and token in an email.
fn link_in(email: &str) -> (String, String) {
    let marker = "/services/cyber-choices/invitations/";
    let at = email.find(marker).expect("an invitation link") + marker.len();
    let token: String = email[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "a 256-bit token: {email}");
    (format!("{marker}{token}"), token)
}

/// A Cyber Choices enquiry through the API; `(reference, receipt code)`.
async fn enquiry(app: &TestApp) -> (String, String) {
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({
                "service": "cyber-choices", "stage": "enquiry", "audience": "professional",
                "answers": sample("cyber-choices-enquiry.json"),
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    (
        body["reference"].as_str().unwrap().to_owned(),
        body["receipt_code"].as_str().unwrap().to_owned(),
    )
}

/// Makes a transition through the API; the answer (`{status, …}`).
async fn transition(app: &TestApp, token: &str, reference: &str, body: Value) -> Value {
    let response = app
        .post_with_token(
            &format!("/api/v1/referrals/{reference}/transitions"),
            token,
            &body,
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{:?} {body}: {}",
        app.engine,
        response.text()
    );
    response.json()
}

async fn chronology(app: &TestApp, token: &str, reference: &str) -> Vec<Value> {
    let response = app
        .get_with_token(&format!("/api/v1/referrals/{reference}/chronology"), token)
        .await;
    assert_eq!(response.status, StatusCode::OK);
    response.json().as_array().unwrap().clone()
}

fn kinds(entries: &[Value], kind: &str) -> Vec<Value> {
    entries
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

fn assert_no_case_content(email: &str, receipt: &str, engine: common::Engine) {
    for word in CASE_WORDS {
        assert!(
            !email.to_lowercase().contains(&word.to_lowercase()),
            "{engine:?}: `{word}` in {email}"
        );
    }
    assert!(
        !email.contains(receipt),
        "{engine:?}: receipt code in {email}"
    );
}

/// An enquiry, marked suitable (which sends the detailed form's link by itself):
/// `(reference, receipt, link, token)`.
async fn invited(app: &TestApp, token: &str) -> (String, String, String, String) {
    let (reference, receipt) = enquiry(app).await;
    let done = transition(
        app,
        token,
        &reference,
        json!({"to": "suitability_decided", "decision": "suitable"}),
    )
    .await;
    assert_eq!(done["status"], "detailed_form_requested", "{done}");
    let emails = deliver(app).await;
    assert_eq!(emails.len(), 1, "{:?}: only the link", app.engine);
    let (link, secret) = link_in(&emails[0]);
    (reference, receipt, link, secret)
}

#[tokio::test]
async fn each_notify_referrer_transition_emails_the_referrer_without_case_content() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (reference, receipt) = enquiry(app).await;

            // One click on "suitable": the case moves on to the detailed form by itself and
            // the referrer gets one email, the link (not a plain notice as well).
            let done = transition(app, &token, &reference, json!({"to": "suitability_decided", "decision": "suitable"})).await;
            assert_eq!(done["from"], "enquiry_received");
            assert_eq!(done["status"], "detailed_form_requested");
            assert_eq!(done["decision"], "suitable");
            assert_eq!(done["notify_referrer"], true);
            let emails = deliver(app).await;
            assert_eq!(emails.len(), 1, "{:?}", app.engine);
            let first = &emails[0];
            assert!(first.contains("To: safeguarding@example.org"), "{first}");
            let (first_link, _) = link_in(first);
            assert!(!first.contains("worried about what a young person"), "{first}");
            assert_no_case_content(first, &receipt, app.engine);
            let entries = chronology(app, &token, &reference).await;
            let moves: Vec<_> = kinds(&entries, "transition").iter().map(|e| e["to"].clone()).collect();
            assert_eq!(moves, [json!("suitability_decided"), json!("detailed_form_requested")], "in order");
            let sent = kinds(&entries, "notification_sent");
            assert_eq!(sent.len(), 1, "{entries:?}");
            assert_eq!(sent[0]["detail"]["to"], "s•••@example.org");
            assert_eq!(sent[0]["detail"]["message"], "invitation");
            assert_eq!(sent[0]["actor"], "system");
            assert!(sent[0]["at"].as_str().is_some());
            assert_eq!(kinds(&entries, "invitation_created").len(), 1);
            // The address itself is not in the chronology.
            assert!(!serde_json::to_string(&entries).unwrap().contains("safeguarding@"));

            // A new link, for one that was lost: it replaces the first, which stops working.
            let done = transition(app, &token, &reference, json!({"to": "detailed_form_requested"})).await;
            assert_eq!(done["status"], "detailed_form_requested");
            let emails = deliver(app).await;
            assert_eq!(emails.len(), 1, "only the new link");
            let (second_link, _) = link_in(&emails[0]);
            assert_ne!(first_link, second_link);
            assert_no_case_content(&emails[0], &receipt, app.engine);
            let entries = chronology(app, &token, &reference).await;
            let created = kinds(&entries, "invitation_created");
            assert_eq!(created.len(), 2);
            assert_eq!(created[1]["detail"]["superseded"], 1, "{created:?}");
            let mut b = Browser::new(app);
            let page = b.open_link(&first_link).await;
            assert_eq!(page.status, StatusCode::GONE, "{}", page.text());
            assert!(page.text().contains("expired"), "{}", page.text());

            // Closing (notify_referrer) tells the referrer that there is news, and where to
            // look, under the definition's neutral `email_name`.
            transition(app, &token, &reference, json!({"to": "closed", "decision": "withdrawn", "reason": "The school withdrew the enquiry."})).await;
            let emails = deliver(app).await;
            assert_eq!(emails.len(), 1, "{:?}", app.engine);
            let email = &emails[0];
            assert!(email.contains("http://127.0.0.1:8080/follow-up"), "{email}");
            assert!(email.contains("There is news about the referral"), "{email}");
            assert!(email.contains("Subject: Cyber Choices: an update"), "{email}");
            assert!(!email.contains("withdrew"), "no reason in the email");
            assert_no_case_content(email, &receipt, app.engine);
            let entries = chronology(app, &token, &reference).await;
            let sent = kinds(&entries, "notification_sent");
            assert_eq!(sent.len(), 3, "{entries:?}");
            assert_eq!(sent[2]["detail"]["message"], "update");
        })
        .await;
}

#[tokio::test]
async fn a_worker_hears_when_a_case_is_allocated_to_them_and_when_the_referrer_adds_to_it() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (_, worker) =
                account(app, Role::Caseworker, Some(TEAM), "a-password-for-tests").await;
            let (reference, receipt) = enquiry(app).await;
            deliver(app).await;
            let allocation = format!("/api/v1/referrals/{reference}/allocation");
            let response = app
                .post_with_token(&allocation, &token, &json!({ "worker": worker }))
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let emails = deliver(app).await;
            assert_eq!(emails.len(), 1, "{:?}", app.engine);
            let email = &emails[0];
            assert!(email.contains(&format!("To: {worker}")), "{email}");
            assert!(
                email.contains("Subject: Cyber Choices: a case needs you"),
                "{email}"
            );
            assert!(
                email.contains("A case has been allocated to you."),
                "{email}"
            );
            assert!(
                email.contains(&format!("http://127.0.0.1:8080/staff/cases/{reference}")),
                "{email}"
            );
            assert_no_case_content(email, &receipt, app.engine);
            // Saving the same allocation again tells nobody.
            app.post_with_token(&allocation, &token, &json!({ "worker": worker }))
                .await;
            assert!(deliver(app).await.is_empty());

            // The referrer adds information on the follow-up page: the worker is told to look.
            let added = app
                .send(
                    axum::http::Method::POST,
                    "/follow-up",
                    Some("application/x-www-form-urlencoded"),
                    format!(
                        "code={}&action=add&information=He+messaged+again+last+night.",
                        common::staff::encode(&receipt)
                    ),
                )
                .await;
            assert_eq!(added.status, StatusCode::OK, "{}", added.text());
            let emails = deliver(app).await;
            assert_eq!(emails.len(), 1);
            assert!(
                emails[0].contains(&format!("To: {worker}")),
                "{}",
                emails[0]
            );
            assert!(emails[0].contains("New information was added to a case allocated to you."));
            assert!(
                !emails[0].contains("messaged again"),
                "no case content: {}",
                emails[0]
            );
            let entries = chronology(app, &token, &reference).await;
            let sent: Vec<_> = kinds(&entries, "notification_sent")
                .iter()
                .map(|e| e["detail"]["message"].clone())
                .collect();
            assert_eq!(
                sent,
                [json!("allocated"), json!("new_information")],
                "{entries:?}"
            );
        })
        .await;
}

#[tokio::test]
async fn no_address_means_the_chronology_says_no_notification_was_possible() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (reference, _) = enquiry(app).await;
            let mut referral = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            referral
                .answers
                .as_object_mut()
                .unwrap()
                .remove("contact_email");
            let def = app.registry.get("cyber-choices").unwrap();
            let t = haven_core::workflow::transition_for(
                def,
                "enquiry_received",
                "suitability_decided",
                "triage",
            )
            .unwrap();
            haven::notify::after_transition(
                app.state.notify(),
                def,
                &referral,
                t,
                "test",
                chrono::Utc::now(),
            )
            .await
            .unwrap();
            assert!(deliver(app).await.is_empty());
            let entries = chronology(app, &token, &reference).await;
            let impossible = kinds(&entries, "notification_impossible");
            assert_eq!(impossible.len(), 1, "{entries:?}");

            // "Suitable" without an address: the link cannot go, so the case does not claim
            // the detailed form was sent; it waits at the decision, and the chronology says so.
            let suitable = haven::storage::triage::StatusChange {
                referral_id: &referral.id,
                from: "enquiry_received",
                to: "suitability_decided",
                decision: Some("suitable"),
                reason: None,
                actor: "user:test",
                at: chrono::Utc::now(),
                meets_sla: true,
            };
            let facts = json!({ "case": { "status": "enquiry_received", "decisions": {} } });
            let moved = haven::notify::change_status(
                app.state.notify(),
                def,
                &referral,
                &suitable,
                None,
                "triage",
                &facts,
            )
            .await
            .unwrap()
            .expect("moved");
            assert_eq!(moved.status, "suitability_decided");
            assert!(deliver(app).await.is_empty());
            let entries = chronology(app, &token, &reference).await;
            let impossible = kinds(&entries, "notification_impossible");
            assert_eq!(impossible.len(), 2, "{entries:?}");
            assert_eq!(impossible[1]["detail"]["message"], "invitation");
            assert!(
                app.storage
                    .invitations(&referral.id)
                    .await
                    .unwrap()
                    .is_empty()
            );
        })
        .await;
}

#[tokio::test]
async fn not_suitable_sends_news_by_smtp_and_shows_the_reason_on_the_follow_up_page() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let port = smtp::free_port();
    let Some(_server) = smtp::start_aiosmtpd(port, &maildir) else {
        return;
    };
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (reference, receipt) = enquiry(app).await;
            let reason = "Zelphorine: this is better handled by the school's own online safety lessons.";
            transition(app, &token, &reference, json!({"to": "suitability_decided", "decision": "not_suitable", "reason": reason})).await;

            let settings = haven::config::Settings {
                smtp_host: Some("127.0.0.1".to_owned()),
                smtp_port: Some(port),
                smtp_tls: haven::config::SmtpTls::None,
                ..haven::config::Settings::default()
            };
            let mailer = Mailer::from_settings(&settings, None, app.storage.keys().clone()).unwrap();
            assert_eq!(mail::work_once(&app.storage, &mailer, FROM, &Clock::default()).await.unwrap(), Pass::Sent);
            let mut received = String::new();
            for _ in 0..100 {
                received = smtp::maildir_text(&maildir);
                if received.contains(&reference) || received.contains("Subject:") {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let received = received.replace("=\r\n", "").replace("=\n", "");
            assert!(received.contains("To: safeguarding@example.org"), "{received}");
            assert!(received.contains("/follow-up"), "{received}");
            assert!(!received.contains("Zelphorine"), "the reason is not in the email");
            assert_no_case_content(&received, &receipt, app.engine);
            smtp::empty(&maildir);

            let entries = chronology(app, &token, &reference).await;
            assert_eq!(kinds(&entries, "notification_sent").len(), 1);

            // The follow-up API and page show the decision and its reason, in plain words.
            let view = app
                .request(
                    axum::http::Request::get("/api/v1/follow-up")
                        .header("x-receipt-code", &receipt)
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await;
            assert_eq!(view.status, StatusCode::OK, "{}", view.text());
            let view = view.json();
            assert_eq!(view["decisions"][0]["decision"], "Not suitable");
            assert_eq!(view["decisions"][0]["reason"], reason);
            let page = app
                .send(
                    axum::http::Method::POST,
                    "/follow-up",
                    Some("application/x-www-form-urlencoded"),
                    format!("code={}", common::staff::encode(&receipt)),
                )
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let html = page.text();
            assert!(html.contains("Our decision"), "{html}");
            assert!(html.contains("Zelphorine: this is better handled by the school&#x27;s own online safety lessons."), "{html}");
        })
        .await;
}

#[tokio::test]
async fn the_link_opens_the_detailed_form_once_and_it_attaches_to_the_same_case() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (reference, receipt, link, secret) = invited(app, &token).await;

            // Only a keyed hash of the token is stored, anywhere.
            let stored: String = sqlx::query("SELECT token_hash FROM invitations")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_ne!(stored, secret);
            common::scan::checkpoint(app).await;
            common::scan::assert_absent(
                &common::scan::persisted(app).await,
                &secret,
                "the database",
            );

            // The detailed form is not reachable without the link.
            let mut stranger = Browser::new(app);
            let refused = stranger
                .get("/services/cyber-choices/referral/who-are-you")
                .await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND);

            // Opening the link: a session cookie and a redirect to a token-free address.
            let mut referrer = Browser::new(app);
            let opened = referrer.open_link(&link).await;
            assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text());
            let location = opened.header("location").unwrap().to_owned();
            assert!(
                location.starts_with("/services/cyber-choices/referral/"),
                "{location}"
            );
            assert!(!location.contains(&secret));
            assert!(referrer.cookie.is_some(), "a form session");

            // A second use (another browser) is refused with a clear page.
            let again = stranger.open_link(&link).await;
            assert_eq!(again.status, StatusCode::GONE, "{}", again.text());
            assert!(again.text().contains("already been used"));
            assert!(again.text().contains("Check on your report"));

            // The browser that opened it may follow it again, even once its draft is gone.
            sqlx::query("DELETE FROM public_drafts")
                .execute(app.storage.pool())
                .await
                .unwrap();
            let reopened = referrer.open_link(&link).await;
            assert_eq!(
                reopened.status,
                StatusCode::SEE_OTHER,
                "{}",
                reopened.text()
            );
            assert_eq!(reopened.header("location"), Some(location.as_str()));

            // The detailed form through the ordinary public pages.
            let def = app.registry.get("cyber-choices").unwrap().clone();
            let answers = sample("cyber-choices-referral.json");
            let check = referrer
                .fill_stage(&def, "referral", "professional", &answers, &[])
                .await;
            assert_eq!(check.status, StatusCode::OK, "{}", check.text());
            let sent = referrer
                .post(
                    "/services/cyber-choices/referral/check-answers",
                    &[(naming::ACTION_FIELD.to_owned(), "submit".to_owned())],
                )
                .await;
            assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
            let confirmation = referrer
                .get("/services/cyber-choices/referral/confirmation")
                .await;
            assert_eq!(confirmation.status, StatusCode::OK);
            let html = confirmation.text();
            assert_eq!(
                strong_after(&html, "Your reference number").as_deref(),
                Some(reference.as_str())
            );
            assert!(!html.contains("receipt-code"), "no new receipt code");

            // Same case: the stage is attached, the workflow moved on, the chronology says so.
            let referral = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(referral.status, "referral_received");
            let stages = app.storage.referral_stages(&referral.id).await.unwrap();
            assert_eq!(stages.len(), 1);
            assert_eq!(stages[0].stage, "referral");
            assert_eq!(stages[0].answers["young_person"]["name"], "Ethan Reid");
            let entries = chronology(app, &token, &reference).await;
            assert_eq!(kinds(&entries, "stage_received").len(), 1);
            let moved: Vec<Value> = kinds(&entries, "transition")
                .into_iter()
                .filter(|e| e["to"] == "referral_received")
                .collect();
            assert_eq!(moved.len(), 1, "{entries:?}");
            assert_eq!(moved[0]["actor"], "public");
            let count: i64 = sqlx::query("SELECT COUNT(*) FROM referrals")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(count, 1, "no second case");

            // The API shows the stage on the case, third-party answers only to roles allowed them.
            let api = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await;
            assert_eq!(api.status, StatusCode::OK);
            let api = api.json();
            assert_eq!(api["later_stages"][0]["stage"], "referral");
            assert_eq!(
                api["later_stages"][0]["answers"]["young_person"]["name"],
                "Ethan Reid"
            );

            // The answers are sealed at rest.
            common::scan::checkpoint(app).await;
            common::scan::assert_absent(
                &common::scan::persisted(app).await,
                "Ethan Reid",
                "the database",
            );

            // Neither the session nor the link can send it again.
            let resend = referrer
                .get("/services/cyber-choices/referral/check-answers")
                .await;
            assert_eq!(resend.status, StatusCode::NOT_FOUND);
            let reopened = referrer.open_link(&link).await;
            assert_eq!(reopened.status, StatusCode::GONE);

            // Staff see both stages on the case.
            let (user, _) = account(
                app,
                Role::Triage,
                Some(TEAM),
                "correct horse battery staple 1",
            )
            .await;
            let mut staff = StaffBrowser::signed_in(app, &user).await;
            let page = staff.get(app, &format!("/staff/cases/{reference}")).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            // The summary, the referral's stages and the chronology.
            let mut html = page.text();
            for tab in ["referral", "chronology"] {
                html.push_str(
                    &staff
                        .get(app, &format!("/staff/cases/{reference}/{tab}"))
                        .await
                        .text(),
                );
            }
            assert!(html.contains("id=\"stage-referral\""), "{html}");
            assert!(html.contains("Ethan Reid"));
            assert!(html.contains("Detailed referral received"));
            assert!(html.contains("The referrer opened the link"));
            assert!(html.contains("Email sent to s•••@example.org"));

            // The follow-up page shows the new status, and the receipt code still works.
            let view = app
                .request(
                    axum::http::Request::get("/api/v1/follow-up")
                        .header("x-receipt-code", &receipt)
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await;
            assert_eq!(view.json()["status"], "We have received your referral form");

            // The detailed form's lone-working answer is the case's: a home visit needs it read.
            let meetings = format!("/api/v1/referrals/{reference}/meetings");
            let listed = app.get_with_token(&meetings, &token).await.json();
            let concerns = listed["lone_working_concerns"].as_array().unwrap();
            assert!(
                concerns.iter().any(|c| c["details"]
                    .as_str()
                    .is_some_and(|d| d.contains("each parent separately"))),
                "{listed}"
            );
            let visit = json!({"kind": "home_visit", "date": "2027-01-12", "time": "10:00",
                "place": "home", "attendees": "Ethan, his mother, two officers", "informal": true});
            let response = app.post_with_token(&meetings, &token, &visit).await;
            assert_eq!(
                response.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                response.text()
            );
            assert_eq!(response.error_fields(), ["lone_working_read"]);
        })
        .await;
}

#[tokio::test]
async fn expired_and_unknown_links_show_a_clear_page() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (reference, _, link, _) = invited(app, &token).await;

            let mut b = Browser::new(app);
            for bad in [
                "/services/cyber-choices/invitations/not-a-token".to_owned(),
                format!("/services/cyber-choices/invitations/{}", "0".repeat(64)),
            ] {
                let page = b.get(&bad).await;
                assert_eq!(page.status, StatusCode::GONE, "{bad}");
                assert!(page.text().contains("This link does not work"));
            }

            // 15 days later (the link works for 14).
            app.state.staff.clock.advance(chrono::TimeDelta::days(15));
            let page = b.open_link(&link).await;
            assert_eq!(page.status, StatusCode::GONE);
            assert!(page.text().contains("expired"), "{}", page.text());
            assert!(page.text().contains("Check on your report"));
            let referral = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(referral.status, "detailed_form_requested");
            let invitations = app.storage.invitations(&referral.id).await.unwrap();
            assert!(
                invitations[0].opened_at.is_none(),
                "an expired link opens nothing"
            );
        })
        .await;
}

#[tokio::test]
async fn fetching_the_link_spends_nothing_only_its_button_does() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (reference, receipt, link, _) = invited(app, &token).await;

            // A mail scanner fetching every link in the email, twice.
            let mut scanner = Browser::new(app);
            for _ in 0..2 {
                let page = scanner.get(&link).await;
                assert_eq!(page.status, StatusCode::OK, "{}", page.text());
                let html = page.text();
                assert!(html.contains("Start the form"), "{html}");
                // The button posts back to the link itself (its slashes HTML-escaped).
                assert!(
                    html.contains(&format!("action=\"{}\"", link.replace('/', "&#x2f;"))),
                    "{html}"
                );
                assert!(html.contains("The link works until"), "{html}");
                assert_eq!(page.header("cache-control"), Some("no-store"));
                assert_no_case_content(&html, &receipt, app.engine);
            }
            let referral = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            let invitations = app.storage.invitations(&referral.id).await.unwrap();
            assert!(
                invitations[0].opened_at.is_none(),
                "{:?}: nothing spent",
                app.engine
            );
            assert!(
                kinds(
                    &chronology(app, &token, &reference).await,
                    "invitation_opened"
                )
                .is_empty()
            );

            // A button press without the page's token only shows the page again.
            let mut forged = Browser::new(app);
            let refused = forged.post_raw(&link, &[]).await;
            assert_eq!(refused.status, StatusCode::SEE_OTHER);
            assert_eq!(refused.header("location"), Some(link.as_str()));

            // The referrer's press opens the form; the scanner's later press cannot.
            let mut referrer = Browser::new(app);
            let opened = referrer.open_link(&link).await;
            assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text());
            let late = scanner.post(&link, &[]).await;
            assert_eq!(late.status, StatusCode::GONE);
            assert!(late.text().contains("already been used"));
            // The referrer's own browser fetching the link again goes back to its form.
            let again = referrer.get(&link).await;
            assert_eq!(again.status, StatusCode::SEE_OTHER);
        })
        .await;
}

#[tokio::test]
async fn the_detailed_form_can_be_saved_and_finished_in_another_browser() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (reference, _, link, _) = invited(app, &token).await;
            let mut first = Browser::new(app);
            let opened = first.open_link(&link).await;
            let page_url = opened.header("location").unwrap().to_owned();
            assert!(first.get(&page_url).await.status == StatusCode::OK);
            let def = app.registry.get("cyber-choices").unwrap().clone();
            let answers = sample("cyber-choices-referral.json");
            let page = def
                .stage("referral")
                .unwrap()
                .pages
                .iter()
                .find(|p| page_url.ends_with(&p.key))
                .unwrap()
                .clone();
            let today = haven_pages::london_today(chrono::Utc::now());
            let shown = haven_pages::nav::shown_questions(&page, "professional", &answers, today);
            let mut pairs = haven_pages::answers_to_form(shown.iter().copied(), &answers);
            pairs.push((naming::ACTION_FIELD.to_owned(), "save".to_owned()));
            let saved = first.post(&page_url, &pairs).await;
            assert_eq!(
                saved.header("location"),
                Some("/services/cyber-choices/referral/saved")
            );
            let html = first
                .get("/services/cyber-choices/referral/saved")
                .await
                .text();
            let code = public_support::text_of_id(&html, "resume-code").expect("a resume code");

            // Another browser resumes with the code and finishes the form.
            let mut other = Browser::new(app);
            other.get("/services/cyber-choices/resume").await;
            let resumed = other
                .post(
                    "/services/cyber-choices/resume",
                    &[(naming::RESUME_CODE_FIELD.to_owned(), code.clone())],
                )
                .await;
            assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.text());
            let next = resumed.header("location").unwrap();
            assert!(
                next.starts_with("/services/cyber-choices/referral/"),
                "{next}"
            );
            let check = other
                .fill_stage(&def, "referral", "professional", &answers, &[])
                .await;
            assert_eq!(check.status, StatusCode::OK, "{}", check.text());
            let sent = other
                .post(
                    "/services/cyber-choices/referral/check-answers",
                    &[(naming::ACTION_FIELD.to_owned(), "submit".to_owned())],
                )
                .await;
            assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
            let referral = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(referral.status, "referral_received");
            assert_eq!(
                app.storage
                    .referral_stages(&referral.id)
                    .await
                    .unwrap()
                    .len(),
                1
            );
        })
        .await;
}

#[tokio::test]
async fn a_move_that_loses_a_race_sends_nothing() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (reference, _) = enquiry(app).await;
            // The page a triager opened before someone else closed the enquiry.
            let referral = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            let facts_then = json!({ "case": { "status": "enquiry_received", "decisions": {} } });
            transition(
                app,
                &token,
                &reference,
                json!({"to": "closed", "decision": "withdrawn", "reason": "Withdrawn."}),
            )
            .await;
            deliver(app).await;
            // "Suitable" from that stale page: the case is no longer where it was, so neither
            // the decision, nor the detailed form's move, nor its link is stored.
            let def = app.registry.get("cyber-choices").unwrap();
            let stale = haven::storage::triage::StatusChange {
                referral_id: &referral.id,
                from: "enquiry_received",
                to: "suitability_decided",
                decision: Some("suitable"),
                reason: None,
                actor: "user:test",
                at: chrono::Utc::now(),
                meets_sla: true,
            };
            let moved = haven::notify::change_status(
                app.state.notify(),
                def,
                &referral,
                &stale,
                None,
                "triage",
                &facts_then,
            )
            .await
            .unwrap();
            assert_eq!(moved, None);
            assert!(deliver(app).await.is_empty(), "no email");
            assert!(
                app.storage
                    .invitations(&referral.id)
                    .await
                    .unwrap()
                    .is_empty()
            );
            let after = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(after.status, "closed");
        })
        .await;
}

#[tokio::test]
async fn a_link_to_a_closed_case_no_longer_works() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (reference, _, link, _) = invited(app, &token).await;
            transition(app, &token, &reference, json!({"to": "closed", "decision": "withdrawn", "reason": "Withdrawn by the school."})).await;
            let mut b = Browser::new(app);
            let page = b.open_link(&link).await;
            assert_eq!(page.status, StatusCode::GONE, "{}", page.text());
            assert!(page.text().contains("has been closed"));
            let refused = b.get("/services/cyber-choices/referral/who-are-you").await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND);
        })
        .await;
}

/// aiosmtpd, as in `tests/email.rs`.
mod smtp {
    use std::net::TcpListener;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    pub fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    pub struct Killed(Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    pub fn start_aiosmtpd(port: u16, maildir: &Path) -> Option<Killed> {
        let installed = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(std::env::var_os("CI").is_none(), "CI must install aiosmtpd");
            eprintln!("SMTP test skipped: python3 -m aiosmtpd is not installed");
            return None;
        }
        let child = Killed(
            Command::new("python3")
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(maildir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(child);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    pub fn maildir_text(maildir: &Path) -> String {
        let mut text = String::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
                for entry in entries.flatten() {
                    text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
                }
            }
        }
        text
    }

    pub fn empty(maildir: &Path) {
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
                for entry in entries.flatten() {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

#[tokio::test]
async fn opening_the_link_gives_the_form_a_new_session_id_and_the_old_one_reaches_nothing() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let (_, _, link, _) = invited(app, &token).await;
            let mut referrer = Browser::new(app);
            let page = referrer.get(&link).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            // The id the start page gave (or one planted on the device before the link
            // was opened).
            let before = referrer
                .cookie
                .clone()
                .expect("the start page sets a cookie");
            let opened = referrer.post(&link, &[]).await;
            assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text());
            let after = referrer.cookie.clone().expect("a cookie after opening");
            assert_ne!(
                before, after,
                "{:?}: a new id once the link opens",
                app.engine
            );
            let first_page = opened.header("location").unwrap().to_owned();
            let form = referrer.get(&first_page).await;
            assert_eq!(form.status, StatusCode::OK, "{}", form.text());

            // The old id no longer reaches the granted form (nor is the link its to reopen).
            let mut planted = Browser::new(app);
            planted.cookie = Some(before);
            let stale = planted.get(&first_page).await;
            assert_ne!(
                stale.status,
                StatusCode::OK,
                "{:?}: the old id reaches nothing: {}",
                app.engine,
                stale.text()
            );
            let again = planted.get(&link).await;
            assert_ne!(again.status, StatusCode::SEE_OTHER);
        })
        .await;
}

/// A referral through the API with these answers; `(reference, receipt code)`.
async fn submitted(app: &TestApp, service: &str, stage: &str, answers: Value) -> (String, String) {
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({ "service": service, "stage": stage, "audience": "professional", "answers": answers }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    (
        body["reference"].as_str().unwrap().to_owned(),
        body["receipt_code"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn an_urgent_enquiry_emails_the_duty_address_at_once_and_a_calm_one_does_not() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            // Not urgent: nobody is emailed.
            enquiry(app).await;
            assert!(deliver(app).await.is_empty(), "{:?}", app.engine);

            let mut answers = sample("cyber-choices-enquiry.json");
            answers["immediate_risk"] = json!(true);
            let (reference, receipt) = submitted(app, "cyber-choices", "enquiry", answers).await;
            let emails = deliver(app).await;
            assert_eq!(
                emails.len(),
                1,
                "{:?}: one email, to the duty address",
                app.engine
            );
            let email = &emails[0];
            assert!(
                email.contains("To: cyber-choices-duty@example.org"),
                "{email}"
            );
            assert!(
                email.contains(&format!(
                    "Subject: Cyber Choices: URGENT referral {reference}"
                )),
                "{email}"
            );
            assert!(
                email.contains(&format!("http://127.0.0.1:8080/staff/cases/{reference}")),
                "{email}"
            );
            assert!(!email.contains("safeguarding@example.org"), "{email}");
            assert_no_case_content(email, &receipt, app.engine);
            let (_, token) = app.staff(Role::Triage, Some(TEAM)).await;
            let entries = chronology(app, &token, &reference).await;
            let sent = kinds(&entries, "notification_sent");
            assert_eq!(sent.len(), 1, "{entries:?}");
            assert_eq!(sent[0]["detail"]["message"], "urgent_duty");
        })
        .await;
}

#[tokio::test]
async fn a_staff_message_emails_the_reporter_that_one_waits_naming_the_reference_only() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, receipt) = enquiry(app).await;
            deliver(app).await;
            let (id, _) = account(app, Role::Triage, Some(TEAM), "a-password-for-tests").await;
            let mut staff = StaffBrowser::signed_in(app, &id).await;
            let case = format!("/staff/cases/{reference}");
            let csrf = staff.csrf(app, &case).await;
            let sent = staff
                .post(
                    app,
                    &format!("{case}/messages"),
                    &[
                        ("body", "Please ring Mrs Booter on Tuesday."),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
            let emails = deliver(app).await;
            assert_eq!(emails.len(), 1, "{:?}", app.engine);
            let email = &emails[0];
            assert!(email.contains("To: safeguarding@example.org"), "{email}");
            assert!(email.contains("We have sent you a message"), "{email}");
            assert!(
                email.contains(&format!("Reference: {reference}")),
                "{email}"
            );
            assert!(
                email.contains(&format!("(reference {reference})")),
                "subject: {email}"
            );
            assert!(email.contains("http://127.0.0.1:8080/follow-up"), "{email}");
            assert!(!email.contains("ring"), "no message text: {email}");
            assert_no_case_content(email, &receipt, app.engine);
        })
        .await;
}

#[tokio::test]
async fn allocating_a_secos_case_tells_the_referrer_once_and_the_worker_once() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, receipt) =
                submitted(app, "secos", "referral", sample("secos-referral.json")).await;
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let (_, worker) =
                account(app, Role::Caseworker, Some("secos"), "a-password-for-tests").await;
            let case = format!("/api/v1/referrals/{reference}");
            let view = app.get_with_token(&case, &token).await.json();
            let band = view["screening"]["suggested_band"].clone();
            let r = app
                .post_with_token(
                    &format!("{case}/screening"),
                    &token,
                    &json!({"band": band, "reason": "Agree"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            transition(
                app,
                &token,
                &reference,
                json!({"to": "screening_confirmed"}),
            )
            .await;
            let view = app.get_with_token(&case, &token).await.json();
            for action in view["required_actions"].as_array().unwrap() {
                let key = action["key"].as_str().unwrap();
                let r = app
                    .post_with_token(
                        &format!("{case}/actions/{key}"),
                        &token,
                        &json!({"status": "done"}),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            }
            transition(
                app,
                &token,
                &reference,
                json!({"to": "onward_actions_done"}),
            )
            .await;
            deliver(app).await;

            transition(
                app,
                &token,
                &reference,
                json!({"to": "allocation_decided", "decision": "individual_case_work"}),
            )
            .await;
            let r = app
                .post_with_token(
                    &format!("{case}/allocation"),
                    &token,
                    &json!({ "worker": worker }),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            transition(app, &token, &reference, json!({"to": "allocated"})).await;
            let emails = deliver(app).await;
            let to_referrer: Vec<_> = emails
                .iter()
                .filter(|e| e.contains("To: p.shah@northfield.example.org"))
                .collect();
            let to_worker: Vec<_> = emails
                .iter()
                .filter(|e| e.contains(&format!("To: {worker}")))
                .collect();
            assert_eq!(to_referrer.len(), 1, "{:?}: {emails:?}", app.engine);
            assert_eq!(to_worker.len(), 1, "{:?}: {emails:?}", app.engine);
            assert_eq!(emails.len(), 2, "{emails:?}");
            for email in &emails {
                assert!(
                    email.contains(&format!("(reference {reference})")),
                    "{email}"
                );
                assert!(!email.contains(&receipt), "{email}");
            }
        })
        .await;
}
