//! A young person reporting about themselves to CEOP (issue 14, item 4): the case (API and
//! staff page) and every document say it was reported by the young person themselves, with
//! their name where the child's name goes, and their contact wish ("do not phone my mum")
//! reaches the case summary and the documents whose recipients may have the reporter's
//! details. Answers read in words on the staff page: a date as "12 May 2012".

use crate::common;

use std::io::Read;

use axum::http::StatusCode;
use common::staff::{Browser, account};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use serde_json::{Value, json};

const SELF_REPORT: &str = "Reported by the young person themselves";
const CONTACT_WISH: &str = "Please do not phone my mum, text me after 4pm";

/// A CEOP report by a young person about themselves; its reference.
async fn own_report(app: &TestApp) -> String {
    let mut answers = sample("ceop-report-parent");
    answers["description"] = json!(
        "Someone on a gaming app who said he was 15 asked me for photos and now says he will send the one I sent to my friends."
    );
    answers["child"] = json!({
        "age": 14,
        "date_of_birth": "2012-05-12",
        "location": "Leeds",
        "online_names": "amyxo_draws",
    });
    answers["reporter"] = json!({
        "name": "Amy",
        "phone": "07700 900 333",
        "safe_contact": CONTACT_WISH,
    });
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "ceop", "stage": "report", "audience": "young_person", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

/// The text of a .docx's `word/document.xml`, tags removed and entities decoded.
fn docx_text(bytes: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    archive
        .by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in xml.chars() {
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
    let text = text
        .replace("&apos;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_young_persons_own_report_says_so_and_keeps_their_contact_wish() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = own_report(app).await;
            let (_, token) = app.staff(Role::Triage, Some("ceop")).await;

            // The API's case.
            let case = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await;
            assert_eq!(case.status, StatusCode::OK, "{}", case.text());
            let case = case.json();
            assert_eq!(case["reported_by"]["about_self"], true, "{case}");
            assert_eq!(case["reported_by"]["words"], SELF_REPORT);
            let wishes: Vec<&Value> = case["reported_by"]["contact_wishes"]
                .as_array()
                .unwrap()
                .iter()
                .collect();
            assert_eq!(wishes.len(), 1, "{case}");
            assert_eq!(wishes[0]["text"], CONTACT_WISH);

            // The staff case page.
            let (user_id, _) =
                account(app, Role::Triage, Some("ceop"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &user_id).await;
            let summary = browser
                .get(app, &format!("/staff/cases/{reference}"))
                .await
                .text();
            assert!(summary.contains(SELF_REPORT), "{summary}");
            assert!(summary.contains(CONTACT_WISH), "{summary}");
            let page = browser
                .get(app, &format!("/staff/cases/{reference}/referral"))
                .await
                .text();
            assert!(page.contains(SELF_REPORT), "{page}");
            assert!(page.contains(CONTACT_WISH), "{page}");
            // A date answer in words, as on the public pages.
            assert!(page.contains("12 May 2012"), "{page}");
            assert!(!page.contains("2012-05-12"), "{page}");

            // Every document: the police's and children's social care's.
            for (kind, basis) in [
                ("police_child_protection_unit", "crime_prevention"),
                ("childrens_social_care", "public_task_safeguarding"),
            ] {
                let response = app
                    .post_with_token(
                        &format!("/api/v1/referrals/{reference}/onward-referrals"),
                        &token,
                        &json!({
                            "kind": kind,
                            "lawful_basis": basis,
                            "consent_sought": true,
                            "sent_on": "2026-11-23",
                        }),
                    )
                    .await;
                assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
                let view = response.json();
                let path = view["documents"]["docx"].as_str().unwrap();
                let document = app.get_with_token(path, &token).await;
                assert_eq!(document.status, StatusCode::OK, "{}", document.text());
                let text = docx_text(&document.body);
                assert!(text.contains(&format!("{SELF_REPORT}.")), "{kind}: {text}");
                assert!(text.contains(CONTACT_WISH), "{kind}: {text}");
                // The child's name is the reporter's: not "Name Not given".
                assert!(text.contains("Name Amy"), "{kind}: {text}");
                assert!(text.contains("12 May 2012"), "{kind}: {text}");
            }
        })
        .await;
}

#[tokio::test]
async fn a_parents_report_is_not_called_a_self_report_but_keeps_the_contact_wish() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let response = app
                .post_json(
                    "/api/v1/submissions",
                    &json!({"service": "ceop", "stage": "report", "audience": "parent_carer", "answers": sample("ceop-report-parent")}),
                )
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let reference = response.json()["reference"].as_str().unwrap().to_owned();
            let (_, token) = app.staff(Role::Triage, Some("ceop")).await;
            let case = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await
                .json();
            assert_eq!(case["reported_by"]["about_self"], false, "{case}");
            assert_eq!(case["reported_by"]["words"], Value::Null);
            assert!(
                case["reported_by"]["contact_wishes"][0]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("Any time after 4pm"),
                "{case}"
            );
            assert!(!case.to_string().contains(SELF_REPORT));
        })
        .await;
}
