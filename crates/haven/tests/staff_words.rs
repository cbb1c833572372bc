//! Words for humans on the staff pages (issue 13): staff by their display names (the email
//! only for an account without one) in the chronology, the case summary and the queue; bands
//! in words, never their keys.

use crate::common;

use axum::http::StatusCode;
use common::staff::{Browser, account};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::storage::accounts::StaffDetails;
use serde_json::json;

async fn secos(app: &TestApp) -> String {
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": sample("secos-referral")}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

async fn named(app: &TestApp, role: Role, name: Option<&str>) -> (String, String) {
    let (id, email) = account(app, role, Some("secos"), "a-password-for-tests").await;
    if let Some(name) = name {
        let details = StaffDetails {
            display_name: Some(name),
            phone: None,
        };
        assert!(
            app.storage
                .set_staff_details(&id, details, "test", app.state.now())
                .await
                .unwrap()
        );
    }
    (id, email)
}

#[tokio::test]
async fn staff_are_named_by_their_display_names_and_bands_in_words() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = secos(app).await;
            let case = format!("/staff/cases/{reference}");
            let (triage_id, triage_email) = named(app, Role::Triage, Some("Tess Triage")).await;
            let (_, worker_email) = named(app, Role::Caseworker, Some("Cal Worker")).await;
            let (_, plain_email) = named(app, Role::Caseworker, None).await;
            let mut triage = Browser::signed_in(app, &triage_id).await;
            let csrf = triage.csrf(app, &case).await;

            // The allocation form lists workers by name (their email is what it sends).
            let form = triage.get(app, &format!("{case}/allocation")).await.text();
            assert!(
                form.contains(&format!("value=\"{worker_email}\"")),
                "{form}"
            );
            assert!(form.contains(">Cal Worker</option>"), "{form}");
            // No display name: the email stands in.
            assert!(form.contains(&format!(">{plain_email}</option>")), "{form}");

            let allocated = triage
                .post(
                    app,
                    &format!("{case}/allocation"),
                    &[("worker", worker_email.as_str()), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(
                allocated.status,
                StatusCode::SEE_OTHER,
                "{}",
                allocated.text()
            );

            let summary = triage.get(app, &case).await.text();
            assert!(summary.contains(">Cal Worker</dd>"), "{summary}");
            let chronology = triage.get(app, &format!("{case}/chronology")).await.text();
            assert!(
                chronology.contains("Allocated to Cal Worker"),
                "{chronology}"
            );
            assert!(
                chronology.contains("Tess Triage"),
                "the byline names who did it"
            );
            // (The header says whose session it is; the chronology itself names no email.)
            let timeline = chronology.split("id=\"main-content\"").nth(1).unwrap();
            assert!(
                !timeline.contains(&worker_email) && !timeline.contains(&triage_email),
                "{timeline}"
            );

            let queue = triage.get(app, "/staff/queue").await.text();
            assert!(queue.contains("Cal Worker"), "{queue}");
            // The queue's band column and band filter in words ("High", not `high`).
            let band = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap()
                .suggested_band
                .expect("the sample is screened into a band");
            let words = haven::web::staff::case::band_words(&band);
            assert!(queue.contains(&format!(">{words} (suggested)<")), "{queue}");
            assert!(
                queue.contains(&format!("value=\"{band}\">{words}</option>")),
                "{queue}"
            );
        })
        .await;
}

/// Every quoted snake_case word of the built-in definitions (keys of questions, options,
/// states, decisions, actions, onward referral kinds, lawful bases…): none may reach a
/// reader of an email or a document.
fn definition_keys() -> std::collections::BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services");
    let quoted = regex::Regex::new(r#""([a-z0-9]+(?:_[a-z0-9]+)+)""#).unwrap();
    let mut keys = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            keys.extend(quoted.captures_iter(&text).map(|c| c[1].to_owned()));
        }
    }
    assert!(keys.contains("immediate_danger"), "{keys:?}");
    keys
}

/// `text` (`what` names it) has no definition key, no ISO date and no guard.
fn assert_words(text: &str, what: &str, keys: &std::collections::BTreeSet<String>) {
    let snake = regex::Regex::new(r"\b[a-z]+(?:_[a-z]+)+\b").unwrap();
    let leaked: Vec<&str> = snake
        .find_iter(text)
        .map(|m| m.as_str())
        .filter(|w| keys.contains(*w))
        .collect();
    assert!(leaked.is_empty(), "{what}: keys {leaked:?} in\n{text}");
    let iso = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").unwrap();
    assert!(!iso.is_match(text), "{what}: an ISO date in\n{text}");
    // A workflow guard by name ("guard", "guards"; "guardian" is a word people use).
    let guard = regex::Regex::new(r"(?i)\bguards?\b").unwrap();
    assert!(!guard.is_match(text), "{what}: a guard named in\n{text}");
}

/// An email's words: its subject and body (what its reader sees).
fn email_words(notice: &serde_json::Value) -> String {
    format!(
        "{}\n{}",
        notice["subject"].as_str().unwrap(),
        notice["body"].as_str().unwrap()
    )
}

/// The text of a page, tags left out.
fn page_text(html: &str) -> String {
    let main = html.split("id=\"main-content\"").nth(1).unwrap_or(html);
    let mut text = String::new();
    let mut in_tag = false;
    for c in main.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The text of a Word document's body.
fn docx_text(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    archive
        .by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    page_text(&xml)
}

/// The text of a PDF (`pdftotext`), or `None` where it is not installed.
fn pdf_text(bytes: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&path)
        .arg("-")
        .output()
        .ok()?;
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

#[tokio::test]
async fn every_email_and_document_of_every_service_speaks_words_not_keys_or_iso_dates() {
    let keys = definition_keys();
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let submissions = [
                ("secos", "referral", "professional", sample("secos-referral")),
                ("ceop", "report", "parent_carer", sample("ceop-report-parent")),
                ("cyber-choices", "enquiry", "professional", sample("cyber-choices-enquiry")),
            ];
            let now = app.state.now();
            for (service, stage, audience, answers) in submissions {
                let response = app
                    .post_json(
                        "/api/v1/submissions",
                        &json!({"service": service, "stage": stage, "audience": audience, "answers": answers}),
                    )
                    .await;
                assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
                let reference = response.json()["reference"].as_str().unwrap().to_owned();
                let def = app.registry.get(service).unwrap().clone();
                let mut referral = app.storage.find_referral(&reference).await.unwrap().unwrap();
                let cases = app.state.cases();
                let ctx = cases.notify();
                let mut emails: Vec<(String, serde_json::Value)> = Vec::new();

                // To the duty address, the verified sender, the allocated worker.
                if let Some(n) = haven::notify::urgent_alert("https://haven.example.org", &def, &referral.id, &reference, true) {
                    emails.push(("urgent referral".into(), json!(n)));
                }
                if let Some(n) = haven::notify::urgent_email_alert("https://haven.example.org", &def) {
                    emails.push(("urgent email".into(), json!(n)));
                }
                emails.push((
                    "acknowledgement".into(),
                    haven::notify::email_acknowledgement("sender@example.org", &def, &reference),
                ));
                let allocated = haven::notify::allocation_alert(ctx, &def, &referral, Some("worker@example.org"), "manager@example.org")
                    .expect("an allocation alert");
                emails.push(("allocated".into(), allocated));
                referral.assignee = Some("worker@example.org".to_owned());
                emails.push((
                    "new information".into(),
                    haven::notify::new_information_alert(ctx, &def, &referral).expect("a new information alert"),
                ));
                // To the referrer: a message waits; and what each transition tells them
                // (news, or a link to a form).
                emails.push((
                    "message".into(),
                    haven::notify::message_alert(ctx, &def, &referral).await.unwrap().expect("the sample has an address"),
                ));
                for t in def.workflow.iter().flat_map(|w| w.transitions.iter()) {
                    match haven::notify::plan(ctx, &def, &referral, t, now).await.unwrap() {
                        haven::notify::Planned::Email(v) => emails.push((format!("to {}", t.to), v)),
                        haven::notify::Planned::Invitation { payload, .. } => {
                            emails.push((format!("invitation to {}", t.to), payload))
                        }
                        haven::notify::Planned::Nothing => {}
                        haven::notify::Planned::Impossible(d) => panic!("{service} {}: {d}", t.to),
                    }
                }
                assert!(emails.len() >= 7, "{service}: {}", emails.len());
                for (what, notice) in &emails {
                    assert_words(&email_words(notice), &format!("{service} email {what}"), &keys);
                }

                // The family copy.
                let (manager_id, _) = account(app, Role::Manager, Some(&def.team), "a-password-for-tests").await;
                let mut manager = Browser::signed_in(app, &manager_id).await;
                let family = manager.get(app, &format!("/staff/cases/{reference}/family")).await;
                assert_eq!(family.status, StatusCode::OK, "{service} family copy");
                assert_words(&page_text(&family.text()), &format!("{service} family copy"), &keys);

                // Each onward referral's documents, PDF and Word.
                let (_, token) = app.staff(Role::Triage, Some(&def.team)).await;
                for kind in &def.onward_referrals {
                    let body = json!({
                        "kind": kind.key,
                        "recipient": "Northfield front door",
                        "lawful_basis": kind.lawful_bases[0].key,
                        "consent_sought": false,
                        "consent_not_sought_reason": "It could alert the adult concerned.",
                        "sent_on": "2026-11-24",
                        "notes": "Seen near the shopping centre.",
                    });
                    let recorded = app
                        .post_with_token(&format!("/api/v1/referrals/{reference}/onward-referrals"), &token, &body)
                        .await;
                    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text());
                    let view = recorded.json();
                    for format in ["docx", "pdf"] {
                        let path = view["documents"][format].as_str().unwrap();
                        let file = app.get_with_token(path, &token).await;
                        assert_eq!(file.status, StatusCode::OK, "{path}");
                        let text = if format == "docx" {
                            docx_text(&file.body)
                        } else {
                            match pdf_text(&file.body) {
                                Some(text) => text,
                                None => continue,
                            }
                        };
                        assert!(text.contains(&reference), "{service} {}: {text}", kind.key);
                        assert_words(&text, &format!("{service} {} {format}", kind.key), &keys);
                    }
                }
            }
        })
        .await;
}

/// The API tokens page says whose team a token is scoped to by the team's name and when it
/// was last used in words; a token used again within the minute is not written again (an API
/// request only reads).
#[tokio::test]
async fn the_tokens_page_names_the_team_and_the_last_use_in_words() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (admin_id, _) = account(app, Role::Admin, None, "a-password-for-tests").await;
            let (triage_id, _) = named(app, Role::Triage, None).await;
            let token = haven::crypto::new_api_token();
            app.storage
                .create_token(&haven::storage::tokens::NewApiToken {
                    id: haven::crypto::new_id(),
                    user_id: &triage_id,
                    name: "Case system sync",
                    token_hash: haven::crypto::token_hash(&token),
                    actor: "test",
                })
                .await
                .unwrap();
            let last_used = async || {
                app.storage.list_tokens().await.unwrap()[0]
                    .last_used_at
                    .clone()
            };
            assert_eq!(last_used().await, None);
            let used = app.get_with_token("/api/v1/referrals", &token).await;
            assert_eq!(used.status, StatusCode::OK);
            let first = last_used().await.expect("the first use is recorded");
            assert_eq!(
                app.get_with_token("/api/v1/referrals", &token).await.status,
                StatusCode::OK
            );
            assert_eq!(last_used().await.as_deref(), Some(first.as_str()));

            let mut admin = Browser::signed_in(app, &admin_id).await;
            let page = admin.get(app, "/staff/admin/tokens").await.text();
            assert!(page.contains("Triage officer (SECOS team)"), "{page}");
            assert!(!page.contains("(secos)"), "{page}");
            assert!(page.contains("Last used (to the minute)"), "{page}");
            assert!(!page.contains(&first), "the stored time shown raw: {page}");
        })
        .await;
}
