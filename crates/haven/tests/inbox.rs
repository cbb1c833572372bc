//! The staff email inbox (issue 15): emailed referrals listed per team, opened (audited),
//! completed and converted into a referral exactly as a web referral (screening, due date,
//! required actions, a chronology sentence saying it came by email), or rejected with a
//! sealed reason; urgent messages alert the duty address; only verified senders of trusted
//! domains are acknowledged. On SQLite and PostgreSQL.

use crate::common;

use axum::http::StatusCode;
use chrono::Utc;
use common::staff::{Browser, account, csrf_of, location};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::intake_email::{IntakeSettings, ingest_message_with};
use haven::services::Registry;
use serde_json::Value;

const AUTHSERV: &str = "mx.haven.test";

fn settings() -> IntakeSettings {
    IntakeSettings {
        authserv_id: Some(AUTHSERV.to_owned()),
        public_url: "https://haven.example.org".to_owned(),
    }
}

/// The built-in services with SECOS trusting `school.example` and naming a duty address.
fn trusting_registry() -> (tempfile::TempDir, Registry) {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services/secos.toml"),
    )
    .unwrap();
    let marker = "intake_addresses = [\"secos.project@secos.cjsm.net\"]";
    assert!(source.contains(marker), "the SECOS definition changed");
    let source = source.replace(
        marker,
        &format!(
            "{marker}\ntrusted_sender_domains = [\"school.example\"]\nduty_email = \"secos-duty@example.org\""
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secos.toml"), source).unwrap();
    let registry = Registry::load(Some(dir.path())).unwrap();
    (dir, registry)
}

/// A message to SECOS's intake address from `from`, with the receiving server's results.
fn message(from: &str, subject: &str, auth: &str, body: &str) -> Vec<u8> {
    let id = haven::crypto::new_id();
    format!(
        "Authentication-Results: {auth}\r\nFrom: Jo Bloggs <{from}>\r\nTo: secos.project@secos.cjsm.net\r\n\
         Subject: {subject}\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{id}@school.example>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The same with a PDF attached (the SECOS risk assessment tool).
fn message_with_pdf(from: &str, subject: &str, auth: &str, body: &str) -> Vec<u8> {
    let id = haven::crypto::new_id();
    let pdf = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        common::SAMPLE_PDF,
    );
    format!(
        "Authentication-Results: {auth}\r\nFrom: Jo Bloggs <{from}>\r\nTo: secos.project@secos.cjsm.net\r\n\
         Subject: {subject}\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{id}@school.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
         --b\r\nContent-Type: application/pdf; name=\"risk tool.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"risk tool.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--b--\r\n"
    )
    .into_bytes()
}

const PASSED: &str = "mx.haven.test; spf=pass smtp.mailfrom=school.example; dkim=pass header.d=school.example; dmarc=pass header.from=school.example";
const FAILED: &str = "mx.haven.test; spf=fail smtp.mailfrom=school.example; dkim=none; dmarc=fail header.from=school.example";

async fn take_in(app: &TestApp, registry: &Registry, raw: &[u8]) -> String {
    let ingested = ingest_message_with(
        &app.storage,
        registry,
        &app.key,
        raw,
        Utc::now(),
        "cli",
        &settings(),
    )
    .await
    .unwrap();
    ingested.item_id.expect("stored")
}

/// Mail jobs waiting, as (to, subject, body).
async fn mails(app: &TestApp) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    while let Some(job) = app
        .storage
        .claim_job("email", Utc::now(), chrono::Duration::minutes(5))
        .await
        .unwrap()
    {
        let p = &job.payload;
        out.push((
            p["to"].as_str().unwrap_or_default().to_owned(),
            p["subject"].as_str().unwrap_or_default().to_owned(),
            p["body"].as_str().unwrap_or_default().to_owned(),
        ));
        app.storage.complete_job(&job.id, Utc::now()).await.unwrap();
    }
    out
}

async fn audit_actions(app: &TestApp) -> Vec<(String, Option<String>)> {
    use sqlx::Row;
    sqlx::query("SELECT action, record_id FROM audit_log ORDER BY seq")
        .fetch_all(app.storage.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<Option<String>, _>(1)))
        .collect()
}

/// SECOS's sample answers without its file answers (an email's files are chosen from its
/// attachments).
fn secos_answers() -> Value {
    let mut answers = sample("secos-referral");
    if let Some(a) = answers
        .pointer_mut("/assessments")
        .and_then(Value::as_object_mut)
    {
        a.insert("risk_assessment_tool".into(), "email:0".into());
        a.remove("assessment_document");
        a.insert("not_attached_reason".into(), "Under way.".into());
    }
    answers
}

#[tokio::test]
async fn inbox_lists_the_teams_items_urgent_first_and_opening_is_audited() {
    let (_dir, registry) = trusting_registry();
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let plain = take_in(
                app,
                &registry,
                &message(
                    "jo@school.example",
                    "Referral for a pupil",
                    FAILED,
                    "Please see.",
                ),
            )
            .await;
            let urgent = take_in(
                app,
                &registry,
                &message(
                    "jo@school.example",
                    "URGENT child in immediate danger",
                    PASSED,
                    "Call 999 now.",
                ),
            )
            .await;
            // The urgent one alerted the duty address: no content, the inbox's link.
            let sent = mails(app).await;
            assert_eq!(sent.len(), 1, "{sent:?}");
            assert_eq!(sent[0].0, "secos-duty@example.org");
            assert!(sent[0].2.contains("https://haven.example.org/staff/inbox"));
            assert!(!sent[0].2.contains("999 now"), "no content in the alert");

            let (secos_user, _) = account(app, Role::Triage, Some("secos"), "pw").await;
            let mut browser = Browser::signed_in(app, &secos_user).await;
            let page = browser.get(app, "/staff/inbox").await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let html = page.text();
            let at_urgent = html.find(&format!("/staff/inbox/{urgent}")).unwrap();
            let at_plain = html.find(&format!("/staff/inbox/{plain}")).unwrap();
            assert!(at_urgent < at_plain, "urgent first");
            assert!(html.contains("Sender not verified"));
            // When Haven received it (today, in London), not the message's own Date header.
            let today = haven_core::answer_words::day_in_words(haven_core::calendar::london_date(
                Utc::now(),
            ));
            assert!(html.contains(&today), "received in words: {today}");
            assert!(
                html.contains("href=\"&#x2f;staff&#x2f;inbox\""),
                "linked in the navigation"
            );

            let before = audit_actions(app).await.len();
            let item = browser.get(app, &format!("/staff/inbox/{plain}")).await;
            assert_eq!(item.status, StatusCode::OK, "{}", item.text());
            assert!(item.text().contains("Please see."));
            let after = audit_actions(app).await;
            let opened: Vec<_> = after[before..]
                .iter()
                .filter(|(a, _)| a == "email_intake.opened")
                .collect();
            assert_eq!(opened.len(), 1);
            assert_eq!(opened[0].1.as_deref(), Some(plain.as_str()));

            // Another team's member: not in their inbox, and 404 on the item.
            let (ceop_user, _) = account(app, Role::Triage, Some("ceop"), "pw").await;
            let mut other = Browser::signed_in(app, &ceop_user).await;
            let list = other.get(app, "/staff/inbox").await;
            assert_eq!(list.status, StatusCode::OK);
            assert!(!list.text().contains(&plain));
            let item = other.get(app, &format!("/staff/inbox/{plain}")).await;
            assert_eq!(item.status, StatusCode::NOT_FOUND);
            // A role without the inbox: 403.
            let (auditor, _) = account(app, Role::Auditor, None, "pw").await;
            let mut auditor = Browser::signed_in(app, &auditor).await;
            assert_eq!(
                auditor.get(app, "/staff/inbox").await.status,
                StatusCode::FORBIDDEN
            );
        })
        .await;
}

#[tokio::test]
async fn converting_makes_a_screened_case_and_acknowledges_only_verified_senders() {
    let (_dir, registry) = trusting_registry();
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let verified = take_in(
                app,
                &registry,
                &message_with_pdf("jo@school.example", "Referral", PASSED, "Form attached."),
            )
            .await;
            let unverified = take_in(
                app,
                &registry,
                &message_with_pdf(
                    "jo@school.example",
                    "Referral two",
                    FAILED,
                    "Form attached.",
                ),
            )
            .await;
            let stored = app
                .storage
                .email_intake_item(&verified)
                .await
                .unwrap()
                .unwrap();
            assert!(stored.sender_verified);
            let stored = app
                .storage
                .email_intake_item(&unverified)
                .await
                .unwrap()
                .unwrap();
            assert!(!stored.sender_verified);
            assert!(mails(app).await.is_empty(), "nothing on arrival");

            let (user, _) = account(app, Role::Triage, Some("secos"), "pw").await;
            let staff = haven::access::Staff {
                user_id: user.clone(),
                email: "t@example.org".into(),
                role: Role::Triage,
                team: Some("secos".into()),
            };
            let state = &app.state;
            let cases = state.cases();
            let now = Utc::now();
            // Nothing reaches the queue before a person converts it.
            let mut browser = Browser::signed_in(app, &user).await;
            let queue = browser.get(app, "/staff/queue").await;
            assert!(queue.text().contains("queue-empty"), "{}", queue.text());

            // Incomplete answers: 422 naming the questions, nothing stored.
            let err = haven::cases::inbox::convert(
                &cases,
                &staff,
                &verified,
                &serde_json::json!({}),
                now,
            )
            .await
            .unwrap_err();
            assert!(
                matches!(err, haven::cases::CaseError::Invalid(ref f) if !f.is_empty()),
                "{err:?}"
            );

            let converted =
                haven::cases::inbox::convert(&cases, &staff, &verified, &secos_answers(), now)
                    .await
                    .unwrap();
            assert!(converted.acknowledged);
            let referral = app
                .storage
                .find_referral(&converted.reference)
                .await
                .unwrap()
                .unwrap();
            assert!(referral.screening.is_some(), "screened");
            // SECOS sets no SLA: no due date, as for its web referrals.
            assert_eq!(referral.due_by, None);
            // The chosen attachment became the case's file for the question.
            let case_page = browser
                .get(
                    app,
                    &format!("/staff/cases/{}/documents", converted.reference),
                )
                .await;
            assert!(
                case_page.text().contains("risk tool.pdf"),
                "{}",
                case_page.text()
            );
            let events = app.storage.referral_events(&referral.id).await.unwrap();
            assert!(events.iter().any(|e| e.kind == "received_by_email"));
            let chronology = browser
                .get(
                    app,
                    &format!("/staff/cases/{}/chronology", converted.reference),
                )
                .await;
            assert!(
                chronology.text().contains("emailed to the team"),
                "{}",
                chronology.text()
            );
            let queue = browser.get(app, "/staff/queue").await;
            assert!(queue.text().contains(&converted.reference));
            let item = app
                .storage
                .email_intake_item(&verified)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(item.status, "converted");
            assert_eq!(item.referral_id.as_deref(), Some(referral.id.as_str()));
            // Converted once only.
            assert!(
                haven::cases::inbox::convert(&cases, &staff, &verified, &secos_answers(), now)
                    .await
                    .is_err()
            );
            // The acknowledgement: to the verified sender, the reference only.
            let sent = mails(app).await;
            let acks: Vec<_> = sent.iter().filter(|m| m.0 == "jo@school.example").collect();
            assert_eq!(acks.len(), 1, "{sent:?}");
            assert!(acks[0].2.contains(&converted.reference));
            assert!(!acks[0].2.contains("Form attached"));

            // The unverified sender's conversion sends them nothing.
            let second =
                haven::cases::inbox::convert(&cases, &staff, &unverified, &secos_answers(), now)
                    .await
                    .unwrap();
            assert!(!second.acknowledged);
            let sent = mails(app).await;
            assert!(sent.iter().all(|m| m.0 != "jo@school.example"), "{sent:?}");
        })
        .await;
}

#[tokio::test]
async fn rejecting_needs_a_reason_kept_sealed_and_another_team_cannot() {
    let (_dir, registry) = trusting_registry();
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let id = take_in(
                app,
                &registry,
                &message("jo@school.example", "Question", FAILED, "What do you do?"),
            )
            .await;
            let (other, _) = account(app, Role::Triage, Some("ceop"), "pw").await;
            let mut other = Browser::signed_in(app, &other).await;
            let csrf = other.csrf(app, "/staff/inbox").await;
            let refused = other
                .post(
                    app,
                    &format!("/staff/inbox/{id}/reject"),
                    &[("csrf", &csrf), ("how", "not_a_referral"), ("reason", "x")],
                )
                .await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND);
            let (caseworker, _) = account(app, Role::Caseworker, Some("secos"), "pw").await;
            let mut caseworker = Browser::signed_in(app, &caseworker).await;
            let csrf = caseworker.csrf(app, "/staff/inbox").await;
            let refused = caseworker
                .post(
                    app,
                    &format!("/staff/inbox/{id}/reject"),
                    &[("csrf", &csrf), ("how", "not_a_referral"), ("reason", "x")],
                )
                .await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);

            let (user, _) = account(app, Role::Triage, Some("secos"), "pw").await;
            let mut browser = Browser::signed_in(app, &user).await;
            let form = browser.get(app, &format!("/staff/inbox/{id}/reject")).await;
            assert_eq!(form.status, StatusCode::OK, "{}", form.text());
            let csrf = csrf_of(&form.text());
            let missing = browser
                .post(
                    app,
                    &format!("/staff/inbox/{id}/reject"),
                    &[("csrf", &csrf), ("how", "not_a_referral"), ("reason", " ")],
                )
                .await;
            assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(missing.text().contains("Enter why"));
            let done = browser
                .post(
                    app,
                    &format!("/staff/inbox/{id}/reject"),
                    &[
                        ("csrf", &csrf),
                        ("how", "not_a_referral"),
                        ("reason", "SEALED-REASON a general question"),
                    ],
                )
                .await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
            assert_eq!(location(&done), "/staff/inbox");
            let item = app.storage.email_intake_item(&id).await.unwrap().unwrap();
            assert_eq!(item.status, "rejected");
            assert_eq!(item.rejected_as.as_deref(), Some("not_a_referral"));
            assert_eq!(
                item.decision_reason.as_deref(),
                Some("SEALED-REASON a general question")
            );
            let list = browser.get(app, "/staff/inbox").await;
            assert!(list.text().contains("Not a referral"));
            assert!(
                audit_actions(app)
                    .await
                    .iter()
                    .any(|(a, r)| a == "email_intake.rejected" && r.as_deref() == Some(&id))
            );
            // Sealed at rest: the reason is nowhere in the database files in clear.
            common::scan::checkpoint(app).await;
            let bytes = common::scan::persisted(app).await;
            assert!(
                !bytes
                    .windows(b"SEALED-REASON".len())
                    .any(|w| w == b"SEALED-REASON"),
                "the reason is stored in clear"
            );
        })
        .await;
}

#[tokio::test]
async fn the_completion_form_uses_the_definitions_questions_and_saves_answers() {
    let (_dir, registry) = trusting_registry();
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let id = take_in(
                app,
                &registry,
                &message("jo@school.example", "Referral", PASSED, "See form."),
            )
            .await;
            let (user, _) = account(app, Role::Triage, Some("secos"), "pw").await;
            let mut browser = Browser::signed_in(app, &user).await;
            let form = browser
                .get(app, &format!("/staff/inbox/{id}/complete"))
                .await;
            assert_eq!(form.status, StatusCode::OK, "{}", form.text());
            let html = form.text();
            // The definition's own fields (names are question keys).
            assert!(html.contains("name=\"referrer.name\""), "{html}");
            let csrf = csrf_of(&html);
            let saved = browser
                .post(
                    app,
                    &format!("/staff/inbox/{id}/complete"),
                    &[
                        ("csrf", &csrf),
                        ("referrer.name", "Jo Bloggs"),
                        ("inbox_action", "save"),
                    ],
                )
                .await;
            assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
            let item = app.storage.email_intake_item(&id).await.unwrap().unwrap();
            assert_eq!(
                item.answers
                    .as_ref()
                    .and_then(|a| a.pointer("/referrer/name")),
                Some(&Value::from("Jo Bloggs"))
            );
            // Converting incomplete answers: the page again, 422, with the problems listed.
            let convert = browser
                .post(
                    app,
                    &format!("/staff/inbox/{id}/complete"),
                    &[
                        ("csrf", &csrf),
                        ("referrer.name", "Jo Bloggs"),
                        ("inbox_action", "convert"),
                    ],
                )
                .await;
            assert_eq!(convert.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(convert.text().contains("govuk-error-summary"));
            let item = app.storage.email_intake_item(&id).await.unwrap().unwrap();
            assert_eq!(item.status, "new", "nothing converted");
        })
        .await;
}
