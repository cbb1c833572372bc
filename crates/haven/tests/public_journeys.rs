//! The public pages without JavaScript: a whole journey per service through plain GET/POST
//! with the form-session cookie, ending in the same submission use-case as the API.

use crate::common;
use crate::public_support;

use axum::http::StatusCode;
use common::{TestApp, TestAppBuilder};
use haven_pages::naming;
use public_support::{Browser, File, PDF, referral_count, sample, strong_after, text_of_id};
use serde_json::{Value, json};

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

/// Sends the stage from check answers and returns the confirmation page's
/// (reference, receipt code), checking the confirmation is shown only once.
async fn send_and_confirm(b: &mut Browser<'_>, service: &str, stage: &str) -> (String, String) {
    let check = haven_pages::urls::check_answers(service, stage);
    let sent = b
        .post(
            &check,
            &[(naming::ACTION_FIELD.to_owned(), "submit".to_owned())],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    let confirmation = haven_pages::urls::confirmation(service, stage);
    assert_eq!(sent.header("location"), Some(confirmation.as_str()));
    let page = b.get(&confirmation).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("What happens next") || html.contains("next"),
        "{html}"
    );
    let reference = strong_after(&html, "Your reference number").expect("reference shown");
    let receipt = text_of_id(&html, "receipt-code").expect("receipt code shown");
    let again = b.get(&confirmation).await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "the receipt code is shown once"
    );
    (reference, receipt)
}

#[tokio::test]
async fn ceop_report_by_a_parent_goes_through_every_page_and_is_stored() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let def = app.registry.get("ceop").unwrap().clone();
            let answers = sample("ceop-report-parent.json");
            let mut b = Browser::new(app);
            let start = b.get("/services/ceop").await;
            assert_eq!(start.status, StatusCode::OK);
            assert!(start.text().contains("Start now"));
            let audience = b.get("/services/ceop/report/who-are-you").await;
            assert!(audience.text().contains("Who are you?"));
            let check = b
                .fill_stage(&def, "report", "parent_carer", &answers, &[])
                .await;
            assert_eq!(check.status, StatusCode::OK, "{}", check.text());
            assert!(check.text().contains("Check your answers"));
            let (reference, receipt) = send_and_confirm(&mut b, "ceop", "report").await;
            assert!(
                reference.starts_with("CEOP-") || reference.contains('-'),
                "{reference}"
            );
            let stored = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .expect("stored");
            assert_eq!(stored.service, "ceop");
            assert_eq!(stored.audience, "parent_carer");
            assert_eq!(stored.answers["description"], answers["description"]);
            assert_eq!(
                app.key.receipt_hash(&receipt).len(),
                64,
                "the receipt code is a real code"
            );
            // Once shown, neither the code nor the answers are left in the draft.
            let drafts = sqlx::query("SELECT answers FROM public_drafts")
                .fetch_all(app.storage.pool())
                .await
                .unwrap();
            for row in &drafts {
                let doc: Vec<u8> = sqlx::Row::try_get(row, 0).unwrap();
                let doc = String::from_utf8_lossy(&doc);
                assert!(!doc.contains(&receipt), "the receipt code left the draft");
                assert!(!doc.contains(answers["description"].as_str().unwrap()));
            }
        })
        .await;
}

#[tokio::test]
async fn the_i_am_choice_changes_the_wording() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let mut young = Browser::new(app);
            young.get("/services/ceop/report/who-are-you").await;
            let r = young
                .post(
                    "/services/ceop/report/who-are-you",
                    &[(naming::AUDIENCE_FIELD.to_owned(), "young_person".to_owned())],
                )
                .await;
            let first = young.get(r.header("location").unwrap()).await.text();
            let mut parent = Browser::new(app);
            parent.get("/services/ceop/report/who-are-you").await;
            let r = parent
                .post(
                    "/services/ceop/report/who-are-you",
                    &[(naming::AUDIENCE_FIELD.to_owned(), "parent_carer".to_owned())],
                )
                .await;
            let other = parent.get(r.header("location").unwrap()).await.text();
            let h1 = |html: &str| {
                html.split("<h1")
                    .nth(1)
                    .unwrap_or_default()
                    .split("</h1>")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            };
            assert_ne!(h1(&first), h1(&other), "each audience gets its own words");
        })
        .await;
}

/// Chooses the audience and answers pages in the order given (each `(page, pairs)`),
/// returning the last answer.
async fn answer_pages(
    b: &mut Browser<'_>,
    service: &str,
    stage: &str,
    audience: &str,
    pages: &[(&str, Vec<(&str, &str)>)],
) -> common::TestResponse {
    let entry = haven_pages::urls::audience(service, stage);
    b.get(&entry).await;
    let mut last = b
        .post(
            &entry,
            &[(naming::AUDIENCE_FIELD.to_owned(), audience.to_owned())],
        )
        .await;
    for (page, pairs) in pages {
        let url = haven_pages::urls::page(service, stage, page);
        b.get(&url).await;
        let mut form: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        form.push((naming::ACTION_FIELD.to_owned(), "continue".to_owned()));
        last = b.post(&url, &form).await;
    }
    last
}

#[tokio::test]
async fn an_out_of_scope_ceop_report_is_told_who_can_help_before_any_details() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let mut b = Browser::new(app);
            let after_concerns = answer_pages(
                &mut b,
                "ceop",
                "report",
                "young_person",
                &[
                    ("danger", vec![("immediate_danger", "no")]),
                    (
                        "concerns",
                        vec![("concerns", "bullying"), ("concerns", "fake_account")],
                    ),
                ],
            )
            .await;
            // Straight after the concerns: no description, no name, no email asked.
            assert_eq!(
                after_concerns.header("location"),
                Some("/services/ceop/report/other-help")
            );
            let help = b.get("/services/ceop/report/other-help").await;
            assert_eq!(help.status, StatusCode::OK);
            let html = help.text();
            assert!(html.contains("Who can help"));
            assert!(!html.contains("Out of scope"), "plain words, not a label");
            assert!(
                html.contains("cannot take reports about bullying"),
                "{html}"
            );
            assert!(html.contains("fake accounts"), "{html}");
            assert!(!html.contains("hacked accounts"), "only the reasons chosen");
            assert!(
                html.contains("0808 800 5000"),
                "the NSPCC helpline is always offered"
            );
            assert_eq!(referral_count(app).await, 0, "nothing stored as a referral");
            let today = haven_core::calendar::london_date(chrono::Utc::now());
            assert_eq!(
                app.storage
                    .not_accepted_count(today, "ceop", "young_person", "bullying,fake_account")
                    .await
                    .unwrap(),
                1,
                "only the anonymous count is kept"
            );
        })
        .await;
}

#[tokio::test]
async fn a_ceop_report_about_an_adult_is_told_after_the_age() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let mut b = Browser::new(app);
            let after_concerns = answer_pages(
                &mut b,
                "ceop",
                "report",
                "parent_carer",
                &[
                    ("danger", vec![("immediate_danger", "no")]),
                    ("concerns", vec![("concerns", "sexual_chat")]),
                ],
            )
            .await;
            assert_eq!(
                after_concerns.header("location"),
                Some("/services/ceop/report/pages/child_age"),
                "in scope so far: the age decides"
            );
            b.get("/services/ceop/report/pages/child_age").await;
            let after_age = b
                .post(
                    "/services/ceop/report/pages/child_age",
                    &[
                        ("child.age".to_owned(), "19".to_owned()),
                        (naming::ACTION_FIELD.to_owned(), "continue".to_owned()),
                    ],
                )
                .await;
            assert_eq!(
                after_age.header("location"),
                Some("/services/ceop/report/other-help")
            );
            let html = b.get("/services/ceop/report/other-help").await.text();
            assert!(html.contains("18 or over"), "{html}");
            assert_eq!(referral_count(app).await, 0);
        })
        .await;
}

#[tokio::test]
async fn answers_given_in_the_old_page_order_resume_at_the_first_unanswered_page() {
    builtins()
        .each_engine(async |app: &TestApp| {
            // Cyber Choices used to ask "About you" and the young person before the concern:
            // a draft answered that far carries on at the concern, nothing asked twice.
            let mut b = Browser::new(app);
            answer_pages(
                &mut b,
                "cyber-choices",
                "enquiry",
                "professional",
                &[
                    ("risk", vec![("immediate_risk", "no")]),
                    (
                        "about_you",
                        vec![
                            ("referrer_role", "school_dsl"),
                            ("contact_email", "dsl@school.example"),
                        ],
                    ),
                    (
                        "young_person",
                        vec![("young_person_age", "14"), ("area", "kent")],
                    ),
                ],
            )
            .await;
            let resumed = b.get("/services/cyber-choices/enquiry/check-answers").await;
            assert_eq!(
                resumed.header("location"),
                Some("/services/cyber-choices/enquiry/pages/concern")
            );
            let about = b
                .get("/services/cyber-choices/enquiry/pages/about_you")
                .await;
            assert!(about.text().contains("dsl@school.example"), "kept");
        })
        .await;
}

#[tokio::test]
async fn cyber_choices_enquiry_flags_identifying_text_until_confirmed() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let def = app.registry.get("cyber-choices").unwrap().clone();
            let mut answers = sample("cyber-choices-enquiry.json");
            answers["summary"] = json!("Sam Smith in Year 10 has been paying for a booter service to knock other players offline.");
            let mut b = Browser::new(app);
            // The page with the summary refuses it, naming what looks identifying.
            let stage = def.stage("enquiry").unwrap();
            let summary_page = stage.pages.iter().find(|p| p.questions.iter().any(|q| q.key == "summary")).unwrap();
            let url = haven_pages::urls::page("cyber-choices", "enquiry", &summary_page.key);
            b.get("/services/cyber-choices/enquiry/who-are-you").await;
            b.post("/services/cyber-choices/enquiry/who-are-you", &[(naming::AUDIENCE_FIELD.to_owned(), "professional".to_owned())]).await;
            b.get(&url).await;
            let today = haven_pages::london_today(chrono::Utc::now());
            let shown = haven_pages::nav::shown_questions(summary_page, "professional", &answers, today);
            let pairs = haven_pages::answers_to_form(shown.iter().copied(), &answers);
            let refused = b.post(&url, &pairs).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text());
            let html = refused.text();
            assert!(html.contains("This may identify someone"), "{html}");
            assert!(html.contains("<mark"), "the finding is marked in the text");
            assert!(html.contains("href=\"#summary\""), "the error summary links to the field");
            // Confirmed as not a person's details: accepted, and the confirmation recorded.
            let mut confirmed = pairs.clone();
            confirmed.push((naming::ANONYMITY_CONFIRMED.to_owned(), "summary".to_owned()));
            let ok = b.post(&url, &confirmed).await;
            assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
            answers["anonymity_confirmed"] = json!(["summary"]);
            let check = b.fill_stage(&def, "enquiry", "professional", &answers, &[]).await;
            assert_eq!(check.status, StatusCode::OK, "{}", check.text());
            let (reference, _) = send_and_confirm(&mut b, "cyber-choices", "enquiry").await;
            let stored = app.storage.find_referral(&reference).await.unwrap().unwrap();
            assert_eq!(stored.answers["anonymity_confirmed"], json!(["summary"]));
            assert_eq!(stored.answers["summary"], answers["summary"]);
        })
        .await;
}

#[tokio::test]
async fn secos_referral_with_attachments_is_stored_with_its_files() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let def = app.registry.get("secos").unwrap().clone();
            let answers = sample("secos-referral.json");
            let files = [
                File {
                    field: "assessments.risk_assessment_tool",
                    name: "risk tool.pdf",
                    content_type: "application/pdf",
                    content: PDF,
                },
                File {
                    field: "assessments.assessment_document",
                    name: "../early help.pdf",
                    content_type: "application/pdf",
                    content: PDF,
                },
            ];
            let mut b = Browser::new(app);
            let check = b
                .fill_stage(&def, "referral", "professional", &answers, &files)
                .await;
            assert_eq!(check.status, StatusCode::OK, "{}", check.text());
            assert!(check.text().contains("1 file attached"));
            let assessments = def
                .stage("referral")
                .unwrap()
                .pages
                .iter()
                .find(|p| {
                    p.questions
                        .iter()
                        .any(|q| q.key == "assessments.risk_assessment_tool")
                })
                .unwrap();
            let page = b
                .get(&haven_pages::urls::page(
                    "secos",
                    "referral",
                    &assessments.key,
                ))
                .await
                .text();
            assert!(
                page.contains("risk tool.pdf") && page.contains("early help.pdf"),
                "file names shown, sanitised"
            );
            let (reference, _) = send_and_confirm(&mut b, "secos", "referral").await;
            let stored = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            let files = app.storage.referral_attachments(&stored.id).await.unwrap();
            let mut names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, ["early help.pdf", "risk tool.pdf"]);
            assert!(files.iter().all(|f| f.media_type == "application/pdf"));
            let ids: Vec<Value> = files.iter().map(|f| json!(f.id)).collect();
            let tool = &stored.answers["assessments"]["risk_assessment_tool"];
            assert!(
                ids.contains(tool),
                "the answer names the stored file: {tool}"
            );
            // The family members and professionals came through as lists.
            assert_eq!(stored.answers["family_members"], answers["family_members"]);
        })
        .await;
}

#[tokio::test]
async fn immediate_danger_stops_the_form_with_call_999_and_the_confirmation_repeats_it() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let def = app.registry.get("ceop").unwrap().clone();
            let mut answers = sample("ceop-report-parent.json");
            answers["immediate_danger"] = json!(true);
            let mut b = Browser::new(app);
            b.get("/services/ceop/report/who-are-you").await;
            b.post(
                "/services/ceop/report/who-are-you",
                &[(naming::AUDIENCE_FIELD.to_owned(), "parent_carer".to_owned())],
            )
            .await;
            let danger = "/services/ceop/report/pages/danger";
            b.get(danger).await;
            let said_yes = b
                .post(
                    danger,
                    &[
                        ("immediate_danger".to_owned(), "yes".to_owned()),
                        (naming::ACTION_FIELD.to_owned(), "continue".to_owned()),
                    ],
                )
                .await;
            // The stop page comes first, before "What has happened?".
            let stop = "/services/ceop/report/pages/call_999";
            assert_eq!(said_yes.header("location"), Some(stop));
            let page = b.get(stop).await;
            assert_eq!(page.status, StatusCode::OK);
            let html = page.text();
            assert!(html.contains("href=\"tel:999\""), "{html}");
            assert!(html.contains("What to tell them"), "{html}");
            assert!(html.contains("carry on with the report"), "{html}");
            // Carrying on goes to the report.
            let carried_on = b
                .post(
                    stop,
                    &[(naming::ACTION_FIELD.to_owned(), "continue".to_owned())],
                )
                .await;
            assert_eq!(carried_on.status, StatusCode::SEE_OTHER);
            assert_ne!(carried_on.header("location"), Some(stop));
            // The stop page asks nothing, so check answers does not list it.
            let check = b
                .fill_stage(&def, "report", "parent_carer", &answers, &[])
                .await;
            assert!(!check.text().contains("Call 999 now</h2>"));
            let sent = b
                .post(
                    "/services/ceop/report/check-answers",
                    &[(naming::ACTION_FIELD.to_owned(), "submit".to_owned())],
                )
                .await;
            let confirmation = b.get(sent.header("location").unwrap()).await.text();
            let at = confirmation
                .find("id=\"call-now\"")
                .expect("call 999 repeated");
            let call_now = confirmation[at..]
                .split("</div>")
                .next()
                .unwrap_or_default();
            assert!(call_now.contains("call 999 now"), "{call_now}");
            assert!(confirmation.contains("href=\"tel:999\""));
        })
        .await;
}

#[tokio::test]
async fn a_report_without_danger_never_sees_the_stop_page() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let def = app.registry.get("ceop").unwrap().clone();
            let answers = sample("ceop-report-parent.json");
            let mut b = Browser::new(app);
            b.fill_stage(&def, "report", "parent_carer", &answers, &[])
                .await;
            let sent = b
                .post(
                    "/services/ceop/report/check-answers",
                    &[(naming::ACTION_FIELD.to_owned(), "submit".to_owned())],
                )
                .await;
            let confirmation = b.get(sent.header("location").unwrap()).await.text();
            assert!(!confirmation.contains("id=\"call-now\""));
            let stop = b.get("/services/ceop/report/pages/call_999").await;
            assert_eq!(
                stop.status,
                StatusCode::SEE_OTHER,
                "the stop page does not apply"
            );
        })
        .await;
}
