//! Onward referrals and their documents: recording one (lawful basis, consent, date, the
//! required action it fulfils), the PDF and Word documents with the recipient's exclusions
//! (converted back to text with `pdftotext` and by unzipping `word/document.xml`), LibreOffice
//! opening them, the staff page's form and downloads, and who may do what.
//!
//! `pdftotext` (poppler-utils) and `libreoffice` (libreoffice-writer-nogui) are installed by
//! `.ci/run`; with `CI` set a missing tool fails the test, otherwise it is skipped with a note.

use crate::common;

use std::io::Read;
use std::process::Command;

use axum::http::StatusCode;
use common::staff::{Browser, account, location};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use serde_json::{Value, json};
use sha2::Digest;
use sqlx::Row;

const YOUNG_PERSON: &str = "Zoë Ó'Brien";
const REFERRER: &str = "Priya Shah";
const THIRD_PARTY: &str = "grey car driven by a man in his twenties";

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

/// Whether `tool` runs; when it does not, fails under CI and skips (false) otherwise.
fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is needed by this test in CI (.ci/run installs it)"
        );
        eprintln!("note: {tool} is not installed; skipping this check");
    }
    found
}

/// A high-band SECOS referral with CSE intelligence (every onward action required), about
/// a young person with a non-ASCII name; its reference.
async fn secos_case(app: &TestApp) -> String {
    let mut answers = sample("secos-referral");
    answers["young_person"]["name"] = json!(YOUNG_PERSON);
    // The referrer's name also appears in free text, as it does in real referrals.
    answers["additional_information"] = json!(format!(
        "Please call {REFERRER} before visiting; school hours are best."
    ));
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
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

fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Joined into one line of single spaces: wrapping may break a phrase over lines.
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of `word/document.xml`, tags removed and entities decoded.
fn docx_text(bytes: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    for name in ["[Content_Types].xml", "_rels/.rels"] {
        assert!(
            archive.by_name(name).is_ok(),
            "{name} missing from the .docx"
        );
    }
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

async fn download(app: &TestApp, view: &Value, format: &str, token: &str) -> common::TestResponse {
    let path = view["documents"][format].as_str().unwrap();
    let response = app.get_with_token(path, token).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(
        response
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment; filename=\""),
        "{:?}",
        response.header("content-disposition")
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    response
}

#[tokio::test]
async fn police_intelligence_leaves_out_the_referrer_and_third_party_information_and_childrens_services_has_them()
 {
    builtins()
        .each_engine(async |app| {
            let reference = secos_case(app).await;
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let police = record(
                app,
                &reference,
                &token,
                json!({
                    "kind": "police_intelligence",
                    "lawful_basis": "crime_prevention",
                    "consent_sought": false,
                    "consent_not_sought_reason": "Seeking consent could alert the adult concerned.",
                    "sent_on": "2026-11-23",
                    "notes": "Grey car seen near the shopping centre on Friday evenings.",
                }),
            )
            .await;
            assert_eq!(police["action"], "police_intelligence");
            assert_eq!(police["consent_sought"], false);
            assert_eq!(police["sent_on"], "2026-11-23");
            assert!(
                police["lawful_basis_label"]
                    .as_str()
                    .unwrap()
                    .contains("Sch 1 para 10")
            );
            let childrens = record(
                app,
                &reference,
                &token,
                json!({
                    "kind": "childrens_services_referral",
                    "recipient": "Middlesbrough Children's Services front door",
                    "lawful_basis": "public_task_safeguarding",
                    "consent_sought": true,
                    "sent_on": "2026-11-24",
                }),
            )
            .await;
            assert_eq!(
                childrens["recipient"],
                "Middlesbrough Children's Services front door"
            );

            // Recording them marked their required actions done.
            let case = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await
                .json();
            let actions = case.to_string();
            for key in ["police_intelligence", "childrens_services_referral"] {
                let action = case["required_actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|a| a["key"] == key);
                assert_eq!(
                    action.map(|a| a["status"].clone()),
                    Some(json!("done")),
                    "{key}: {actions}"
                );
            }

            let have_pdftotext = have("pdftotext");
            let mut last_bytes = Vec::new();
            for format in ["pdf", "docx"] {
                let bytes = download(app, &police, format, &token).await.body;
                let text = if format == "pdf" {
                    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
                    if !have_pdftotext {
                        continue;
                    }
                    pdf_text(&bytes)
                } else {
                    docx_text(&bytes)
                };
                assert!(
                    text.contains("CSE intelligence sharing form"),
                    "{format}: {text}"
                );
                assert!(text.contains(&reference), "{format}: {text}");
                assert!(text.contains(YOUNG_PERSON), "{format}: {text}");
                assert!(text.contains("Sch 1 para 10"), "{format}: {text}");
                assert!(
                    text.contains("No: Seeking consent could alert the adult concerned."),
                    "{format}: {text}"
                );
                assert!(text.contains("23 November 2026"), "{format}: {text}");
                assert!(
                    text.contains("Grey car seen near the shopping centre"),
                    "{format}: {text}"
                );
                assert!(
                    text.contains("Missing episodes") || text.contains("going missing"),
                    "{format}: {text}"
                );
                // Never the referrer (not even quoted in free text), never third-party answers.
                for absent in [
                    REFERRER,
                    "Northfield Academy",
                    "p.shah@northfield.example.org",
                    "01632 960 123",
                    THIRD_PARTY,
                    "Police were called to the family home",
                ] {
                    assert!(!text.contains(absent), "{format} holds {absent:?}: {text}");
                }
                assert!(
                    text.contains("[withheld]"),
                    "{format}: the quoted referrer is withheld: {text}"
                );

                let bytes = download(app, &childrens, format, &token).await.body;
                last_bytes = bytes.to_vec();
                let text = if format == "pdf" {
                    pdf_text(&bytes)
                } else {
                    docx_text(&bytes)
                };
                assert!(
                    text.contains("Referral to Children's Services"),
                    "{format}: {text}"
                );
                assert!(text.contains(YOUNG_PERSON), "{format}: {text}");
                assert!(text.contains(REFERRER), "{format}: {text}");
                assert!(text.contains(THIRD_PARTY), "{format}: {text}");
                assert!(
                    text.contains("Middlesbrough Children's Services front door"),
                    "{format}: {text}"
                );
            }

            // Each download is an export: in the chronology and the audit log.
            let chronology = app
                .get_with_token(&format!("/api/v1/referrals/{reference}/chronology"), &token)
                .await
                .json();
            let exports = chronology
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "document_exported")
                .count();
            assert_eq!(exports, 4);
            // Each records the digest of the file that went out: here, the last download.
            let last = chronology
                .as_array()
                .unwrap()
                .iter()
                .rfind(|e| e["kind"] == "document_exported")
                .unwrap();
            assert_eq!(last["detail"]["format"], "docx");
            assert_eq!(last["detail"]["sha256"], hex::encode(sha2::Sha256::digest(&last_bytes)));
            let recorded = chronology
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "onward_referral_recorded")
                .count();
            assert_eq!(recorded, 2);
            let audited: i64 = sqlx::query(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'case.exported' AND reason LIKE 'onward_document:%'",
            )
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
            assert_eq!(audited, 4);

            // The case facts count them (the CEOP guard and others read it).
            let listed = app
                .get_with_token(
                    &format!("/api/v1/referrals/{reference}/onward-referrals"),
                    &token,
                )
                .await
                .json();
            assert_eq!(listed["onward_referrals"].as_array().unwrap().len(), 2);
            assert_eq!(listed["kinds"].as_array().unwrap().len(), 3);

            // Each file handed over is kept as it went out, and can be taken again, byte for
            // byte (itself an export, audited), even after the answers change.
            let childrens_listed = listed["onward_referrals"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["id"] == childrens["id"])
                .unwrap();
            let exports = childrens_listed["exports"].as_array().unwrap();
            assert_eq!(exports.len(), 2, "{childrens_listed}");
            assert_eq!(exports[1]["format"], "docx");
            assert_eq!(exports[1]["sha256"], last["detail"]["sha256"]);
            assert_eq!(last["detail"]["export"], exports[1]["id"]);
            let copy = app
                .get_with_token(exports[1]["download"].as_str().unwrap(), &token)
                .await;
            assert_eq!(copy.status, StatusCode::OK, "{}", copy.text());
            assert_eq!(copy.body.to_vec(), last_bytes, "the same bytes");
            assert!(copy.header("content-disposition").unwrap().starts_with("attachment; filename=\""));
            // Only under its own onward referral.
            let elsewhere = exports[1]["download"].as_str().unwrap().replace(
                childrens["id"].as_str().unwrap(),
                police["id"].as_str().unwrap(),
            );
            assert_eq!(app.get_with_token(&elsewhere, &token).await.status, StatusCode::NOT_FOUND);
            let copies: i64 = sqlx::query(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'case.exported' AND reason LIKE 'onward_document_copy:docx:sha256:%'",
            )
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
            assert_eq!(copies, 1);
            let stored = sqlx::query("SELECT content FROM onward_exports")
                .fetch_all(app.storage.pool())
                .await
                .unwrap();
            assert_eq!(stored.len(), 4);
            for row in stored {
                let value: Vec<u8> = row.try_get(0).unwrap();
                assert!(value.starts_with(b"hv2"), "a kept file is not sealed");
            }

            // Notes, recipient and reasons are sealed at rest.
            let rows = sqlx::query("SELECT recipient, consent_reason, notes FROM onward_referrals")
                .fetch_all(app.storage.pool())
                .await
                .unwrap();
            for row in rows {
                for i in 0..3 {
                    if let Some(value) = row.try_get::<Option<Vec<u8>>, _>(i).unwrap() {
                        assert!(value.starts_with(b"hv2"), "column {i} is not sealed");
                    }
                }
            }
        })
        .await;
}

#[tokio::test]
async fn generated_documents_open_in_libreoffice() {
    builtins()
        .each_engine(async |app| {
            // Slow (LibreOffice starts once per file): one engine is enough for the files.
            if app.engine != common::Engine::Sqlite || !have("libreoffice") {
                return;
            }
            let reference = secos_case(app).await;
            let (_, token) = app.staff(Role::Caseworker, Some("secos")).await;
            let vemt = record(
                app,
                &reference,
                &token,
                json!({"kind": "vemt_referral", "lawful_basis": "public_task_safeguarding", "consent_sought": true, "sent_on": "2026-11-23"}),
            )
            .await;
            let dir = tempfile::tempdir().unwrap();
            for format in ["pdf", "docx"] {
                let bytes = download(app, &vemt, format, &token).await.body;
                let input = dir.path().join(format!("vemt.{format}"));
                std::fs::write(&input, &bytes).unwrap();
                let out_dir = dir.path().join(format!("out-{format}"));
                let profile = format!("-env:UserInstallation=file://{}", dir.path().join("profile").display());
                // Writer imports the PDF (its PDF import filter) and converts the .docx to PDF.
                let (filter, convert_to) = if format == "pdf" {
                    ("--infilter=writer_pdf_import", "odt")
                } else {
                    ("--infilter=MS Word 2007 XML", "pdf")
                };
                let out = Command::new("libreoffice")
                    .args([profile.as_str(), "--headless", filter, "--convert-to", convert_to, "--outdir"])
                    .arg(&out_dir)
                    .arg(&input)
                    .output()
                    .unwrap();
                let converted = out_dir.join(format!("vemt.{convert_to}"));
                assert!(
                    converted.is_file() && std::fs::metadata(&converted).unwrap().len() > 0,
                    "LibreOffice did not open the {format}: {} {}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                if format == "docx" && have("pdftotext") {
                    let text = pdf_text(&std::fs::read(&converted).unwrap());
                    assert!(text.contains(YOUNG_PERSON) && text.contains("Referral to the VEMT panel"), "{text}");
                }
            }
        })
        .await;
}

#[tokio::test]
async fn a_bad_onward_referral_names_each_field() {
    builtins()
        .each_engine(async |app| {
            let reference = secos_case(app).await;
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let path = format!("/api/v1/referrals/{reference}/onward-referrals");
            let response = app
                .post_with_token(&path, &token, &json!({"kind": "police_intelligence", "lawful_basis": "because", "consent_sought": false, "sent_on": "2999-01-01"}))
                .await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text());
            assert_eq!(response.error_fields(), vec!["lawful_basis", "consent_not_sought_reason", "sent_on"]);
            let response = app
                .post_with_token(&path, &token, &json!({"kind": "tea", "lawful_basis": "x", "sent_on": "2026-02-30"}))
                .await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text());
            assert_eq!(response.error_fields(), vec!["kind", "consent_sought", "sent_on"]);
            // Wrong JSON types are named too, never a 500.
            let response = app
                .post_with_token(&path, &token, &json!({"kind": 7, "lawful_basis": "x"}))
                .await;
            assert!(response.status.is_client_error(), "{}", response.text());
            // Nothing was recorded, and an unknown document is a 404.
            let listed = app.get_with_token(&path, &token).await.json();
            assert_eq!(listed["onward_referrals"], json!([]));
            let response = app.get_with_token(&format!("{path}/nope/documents/pdf"), &token).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND);
        })
        .await;
}

#[tokio::test]
async fn another_teams_case_is_not_found_and_auditors_may_not_export() {
    builtins()
        .each_engine(async |app| {
            let reference = secos_case(app).await;
            let (_, token) = app.staff(Role::Triage, Some("secos")).await;
            let view = record(
                app,
                &reference,
                &token,
                json!({"kind": "police_intelligence", "lawful_basis": "crime_prevention", "consent_sought": true, "sent_on": "2026-11-23"}),
            )
            .await;
            let pdf = view["documents"]["pdf"].as_str().unwrap();
            let (_, other_team) = app.staff(Role::Triage, Some("ceop")).await;
            assert_eq!(app.get_with_token(pdf, &other_team).await.status, StatusCode::NOT_FOUND);
            let body = json!({"kind": "vemt_referral", "lawful_basis": "consent", "consent_sought": true, "sent_on": "2026-11-23"});
            let path = format!("/api/v1/referrals/{reference}/onward-referrals");
            assert_eq!(app.post_with_token(&path, &other_team, &body).await.status, StatusCode::NOT_FOUND);
            let (_, auditor) = app.staff(Role::Auditor, None).await;
            assert_eq!(app.get_with_token(pdf, &auditor).await.status, StatusCode::FORBIDDEN);
            assert_eq!(app.post_with_token(&path, &auditor, &body).await.status, StatusCode::FORBIDDEN);
            assert_eq!(app.get_with_token(&path, &auditor).await.status, StatusCode::OK);
            let (_, admin) = app.staff(Role::Admin, None).await;
            assert_eq!(app.get_with_token(pdf, &admin).await.status, StatusCode::FORBIDDEN);
            let exports: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = 'case.exported' AND reason LIKE 'onward_document:%'")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(exports, 0);
        })
        .await;
}

#[tokio::test]
async fn the_case_page_records_an_onward_referral_and_offers_its_documents() {
    builtins()
        .each_engine(async |app| {
            let reference = secos_case(app).await;
            let (user_id, _) =
                account(app, Role::Triage, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &user_id).await;
            let case = format!("/staff/cases/{reference}");
            let csrf = browser.csrf(app, &case).await;
            let onward = format!("{case}/onward-referrals");
            let page = browser.get(app, &onward).await.text();
            assert!(page.contains("id=\"onward-referrals\""), "{page}");
            assert!(
                page.contains("Record: CSE intelligence shared with the Police"),
                "{page}"
            );
            assert!(
                page.contains(&format!("{onward}/new/police_intelligence")),
                "{page}"
            );
            assert_eq!(page.matches("<form").count(), 1, "a read view");
            let form = browser
                .get(app, &format!("{onward}/new/police_intelligence"))
                .await;
            assert_eq!(form.status, StatusCode::OK);
            assert!(form.text().contains(&format!("action=\"{onward}\"")));
            let post = format!("{case}/onward-referrals");
            // Missing lawful basis and consent: the page again, each field in the summary.
            let response = browser
                .post(
                    app,
                    &post,
                    &[
                        ("csrf", &csrf),
                        ("kind", "police_intelligence"),
                        ("sent_day", "23"),
                        ("sent_month", "11"),
                        ("sent_year", "2026"),
                    ],
                )
                .await;
            assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
            let page = response.text();
            assert!(page.contains("govuk-error-summary"), "{page}");
            assert!(page.contains("href=\"#onward-lawful-basis\""), "{page}");
            assert!(page.contains("href=\"#onward-consent-sought\""), "{page}");
            // Without the CSRF token: refused.
            let response = browser
                .post(app, &post, &[("kind", "police_intelligence")])
                .await;
            assert_eq!(response.status, StatusCode::FORBIDDEN);
            let response = browser
                .post(
                    app,
                    &post,
                    &[
                        ("csrf", &csrf),
                        ("kind", "police_intelligence"),
                        ("recipient", "Cleveland Police <intelligence unit>"),
                        ("lawful_basis", "crime_prevention"),
                        ("consent_sought", "no"),
                        ("consent_not_sought_reason", "It could alert the adult."),
                        ("sent_day", "23"),
                        ("sent_month", "11"),
                        ("sent_year", "2026"),
                        ("notes", ""),
                        ("mark_action_done", "yes"),
                    ],
                )
                .await;
            assert_eq!(
                response.status,
                StatusCode::SEE_OTHER,
                "{}",
                response.text()
            );
            assert!(location(&response).starts_with(&format!("{onward}#onward-")));
            let page = browser.get(app, &onward).await.text();
            assert!(
                page.contains("Cleveland Police &lt;intelligence unit&gt;"),
                "escaped: {page}"
            );
            assert!(page.contains("23 November 2026"), "{page}");
            let link = page
                .split("href=\"")
                .filter_map(|s| s.split('"').next())
                .find(|href| href.ends_with("/documents/docx"))
                .unwrap()
                .to_owned();
            let response = browser.get(app, &link).await;
            assert_eq!(response.status, StatusCode::OK);
            assert!(
                response
                    .header("content-disposition")
                    .unwrap()
                    .starts_with("attachment")
            );
            assert_eq!(response.header("cache-control"), Some("no-store"));
            let text = docx_text(&response.body);
            assert!(
                text.contains("Cleveland Police <intelligence unit>"),
                "{text}"
            );
            assert!(!text.contains(REFERRER), "{text}");
            let screening = browser.get(app, &format!("{case}/screening")).await.text();
            assert!(
                screening.contains("id=\"action-status-police_intelligence\">Done"),
                "{screening}"
            );
        })
        .await;
}

#[tokio::test]
async fn a_template_override_replaces_the_built_in_and_a_leaky_template_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates/secos");
    std::fs::create_dir_all(&templates).unwrap();
    let source = include_str!("../../../services/templates/secos/police_intelligence.toml")
        .replace(
            "title = \"CSE intelligence sharing form\"",
            "title = \"Local intelligence form\"",
        );
    std::fs::write(templates.join("police_intelligence.toml"), &source).unwrap();
    let registry = haven::services::Registry::load(Some(dir.path())).unwrap();
    assert_eq!(
        registry
            .template("secos", "police_intelligence")
            .map(|t| t.title.as_str()),
        Some("Local intelligence form")
    );
    // A police template that asks for a third-party answer or the referrer is refused, with
    // the file and line.
    let leaky = source.replace(
        "  { label = \"Name\", answer = \"young_person.name\" },",
        "  { label = \"Name\", answer = \"young_person.name\" },\n  { label = \"Source\", answer = \"referrer.name\" },\n  { label = \"3P\", answer = \"third_party.information\" },",
    );
    std::fs::write(templates.join("police_intelligence.toml"), &leaky).unwrap();
    let error = haven::services::Registry::load(Some(dir.path()))
        .unwrap_err()
        .to_string();
    let line = leaky
        .lines()
        .position(|l| l.contains("referrer.name"))
        .unwrap()
        + 1;
    assert!(
        error.contains(&format!(
            "police_intelligence.toml:{line}: question `referrer.name` identifies the referrer"
        )),
        "{error}"
    );
    assert!(
        error.contains("question `third_party.information` is third-party information"),
        "{error}"
    );
    // A template that does not compile is refused too.
    std::fs::write(
        templates.join("police_intelligence.toml"),
        source.replace("{{ case.reference }}", "{{ case.reference "),
    )
    .unwrap();
    let error = haven::services::Registry::load(Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("police_intelligence.toml:") && error.contains("does not compile"),
        "{error}"
    );
}
