//! What each reader of a case is given (issue 13): an onward recipient receives the
//! third-party questions its definition lists for it (the police: the CSE intelligence
//! details, and no other third-party information), read back from the PDF (pdftotext) and the
//! Word file (unzipped); the family copy shows only the definition's allow-list: nothing
//! that tips off a household, nothing third-party, not even whether it was answered.

use crate::common;

use std::io::Read;
use std::process::Command;

use axum::http::StatusCode;
use common::staff::{Browser, account};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use serde_json::{Value, json};

const INTELLIGENCE: &str = "silver hatchback, partial registration NX19";
const THIRD_PARTY_SHEET: &str = "grey car driven by a man in his twenties";
const LONE_WORKING: &str = "verbally aggressive to school staff";
const RISK_FACTORS: &str = "Police were called to the family home";

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

async fn secos_case(app: &TestApp) -> String {
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": sample("secos-referral")}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

fn have_pdftotext() -> bool {
    let found = Command::new("pdftotext").arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "pdftotext is needed in CI"
        );
        eprintln!("note: pdftotext is not installed; PDF text not checked");
    }
    found
}

fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

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
    text.replace("&apos;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn record(app: &TestApp, reference: &str, token: &str, body: Value) -> Value {
    let response = app
        .post_with_token(
            &format!("/api/v1/referrals/{reference}/onward-referrals"),
            token,
            &body,
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

/// The document's text in each format that can be read back here.
async fn texts(app: &TestApp, view: &Value, token: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for format in ["pdf", "docx"] {
        let path = view["documents"][format].as_str().unwrap();
        let response = app.get_with_token(path, token).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        if format == "pdf" {
            if have_pdftotext() {
                out.push(("pdf", pdf_text(&response.body)));
            }
        } else {
            out.push(("docx", docx_text(&response.body)));
        }
    }
    out
}

#[tokio::test]
async fn the_police_receive_the_intelligence_details_and_no_other_third_party_information() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let reference = secos_case(app).await;
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let police = record(
                app,
                &reference,
                &token,
                json!({
                    "kind": "police_intelligence",
                    "lawful_basis": "crime_prevention",
                    "consent_sought": true,
                    "sent_on": "2026-11-23",
                }),
            )
            .await;
            for (format, text) in texts(app, &police, &token).await {
                assert!(text.contains("Intelligence"), "{format}: {text}");
                assert!(
                    text.contains("What is the CSE intelligence?")
                        || text.contains("The intelligence"),
                    "{format}: {text}"
                );
                assert!(
                    text.contains(INTELLIGENCE),
                    "{format}: the intelligence: {text}"
                );
                for absent in [THIRD_PARTY_SHEET, LONE_WORKING, RISK_FACTORS, "Priya Shah"] {
                    assert!(!text.contains(absent), "{format} holds {absent:?}: {text}");
                }
            }
            let childrens = record(
                app,
                &reference,
                &token,
                json!({
                    "kind": "childrens_services_referral",
                    "lawful_basis": "public_task_safeguarding",
                    "consent_sought": true,
                    "sent_on": "2026-11-24",
                }),
            )
            .await;
            for (format, text) in texts(app, &childrens, &token).await {
                // A recipient with `third_party = true` has all of it.
                assert!(text.contains(THIRD_PARTY_SHEET), "{format}: {text}");
            }
        })
        .await;
}

#[tokio::test]
async fn the_family_copy_shows_only_the_allow_list() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let reference = secos_case(app).await;
            let (id, _) =
                account(app, Role::Caseworker, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &id).await;
            let page = browser
                .get(app, &format!("/staff/cases/{reference}/family"))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let html = page.text();
            // Allowed: the young person's own details, the family's strengths.
            for present in [
                "Chloe Marsh",
                "14 March 2011",
                "Grandmother is a protective adult Chloe trusts",
            ] {
                assert!(html.contains(present), "missing {present:?}");
            }
            // Never: anything third-party (not even its question), the CSE intelligence
            // question or its answer, the lone-working answers, risks, screening, the referrer.
            for absent in [
                INTELLIGENCE,
                THIRD_PARTY_SHEET,
                LONE_WORKING,
                RISK_FACTORS,
                "Do you hold any CSE intelligence?",
                "CSE intelligence",
                "What is the CSE intelligence?",
                // The referrer's request is a professional's free text that may name the concerns.
                "One-to-one CSE work with Chloe",
                "lone work",
                "What are the concerns about lone working?",
                "3rd Party",
                "Mum often does not know where Chloe is",
                "Priya Shah",
                "p.shah@northfield.example.org",
                "01632 960 123",
            ] {
                assert!(!html.contains(absent), "the family copy holds {absent:?}");
            }
        })
        .await;
}
