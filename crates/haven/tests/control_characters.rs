//! Control characters in answers (issue 12, item 4): intake refuses C0 controls other than
//! tab, CR and LF, and U+FFFE/U+FFFF, with a 422 naming the field; bidi controls and
//! zero-width characters are kept. The document writers clean any character XML forbids, so
//! a value stored before intake refused it still makes a Word file that opens; property tests
//! check that `pdftotext` reads every PDF and LibreOffice converts every DOCX.
//!
//! `pdftotext` and `libreoffice` are installed by `.ci/run`; with `CI` set a missing tool
//! fails the test, otherwise it is skipped with a note (as in `tests/onward.rs`).

use crate::common;

use std::io::Read;
use std::process::Command;

use axum::http::StatusCode;
use common::staff::{Browser, account};
use common::{TestAppBuilder, sample};
use haven::access::Role;
use haven::documents::fill::{Block, CaseDocument};
use haven::documents::{self, Format};
use proptest::prelude::*;
use serde_json::json;

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

fn secos_with_risk_factors(text: &str) -> serde_json::Value {
    let mut answers = sample("secos-referral");
    answers["risk_factors"] = json!(text);
    json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers})
}

#[tokio::test]
async fn intake_refuses_control_characters_naming_the_field() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            for bad in [
                "BEFORE\u{0}AFTER",
                "escape \u{1b}[31m red",
                "bell\u{7}",
                "nonchar \u{FFFF}",
                "nonchar \u{FFFE}",
            ] {
                let response = app
                    .post_json("/api/v1/submissions", &secos_with_risk_factors(bad))
                    .await;
                assert_eq!(
                    response.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{:?}: {}",
                    app.engine,
                    response.text()
                );
                assert_eq!(response.error_fields(), vec!["risk_factors"]);
                assert!(
                    response.text().contains("control character"),
                    "{}",
                    response.text()
                );
            }
            // Inside a repeatable item's field, the path names the item.
            let mut body = secos_with_risk_factors("fine");
            body["answers"]["young_person"]["name"] = json!("Zoë\u{0}");
            let response = app.post_json("/api/v1/submissions", &body).await;
            assert_eq!(
                response.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                response.text()
            );
            assert_eq!(response.error_fields(), vec!["young_person.name"]);
        })
        .await;
}

#[tokio::test]
async fn tabs_newlines_bidi_and_zero_width_characters_are_kept() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let text = "line one\r\nline\ttwo \u{202E}evil\u{202C} \u{200B}zero\u{200D}width \u{2067}iso\u{2069} \u{FEFF}";
            let response = app
                .post_json("/api/v1/submissions", &secos_with_risk_factors(text))
                .await;
            assert_eq!(
                response.status,
                StatusCode::CREATED,
                "{:?}: {}",
                app.engine,
                response.text()
            );
        })
        .await;
}

#[tokio::test]
async fn staff_pages_isolate_answers_and_show_invisible_characters() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            // "gpj.exe" reversed by a right-to-left override reads as "exe.jpg".
            let text = "Sent file \u{202E}gpj.exe by Zo\u{200B}e <b>";
            let response = app
                .post_json("/api/v1/submissions", &secos_with_risk_factors(text))
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let reference = response.json()["reference"].as_str().unwrap().to_owned();
            let (id, _) = account(app, Role::Triage, Some("secos"), "a-password-for-tests").await;
            let mut staff = Browser::signed_in(app, &id).await;
            let summary = staff.get(app, &format!("/staff/cases/{reference}")).await;
            assert_eq!(summary.status, StatusCode::OK);
            assert!(!summary.text().contains('\u{202E}'), "nor on the summary");
            let page = staff
                .get(app, &format!("/staff/cases/{reference}/referral"))
                .await;
            assert_eq!(page.status, StatusCode::OK);
            let html = page.text();
            assert!(
                html.contains(
                    "<bdi dir=\"auto\">Sent file <span class=\"haven-invisible\" title=\"Invisible character: right-to-left override\">[U+202E]</span>gpj.exe by Zo<span class=\"haven-invisible\" title=\"Invisible character: zero-width space\">[U+200B]</span>e &lt;b&gt;</bdi>"
                ),
                "{html}"
            );
            assert!(
                !html.contains('\u{202E}'),
                "the override itself is nowhere on the page (lone-working banner included)"
            );
        })
        .await;
}

fn document_with(value: &str) -> CaseDocument {
    CaseDocument {
        title: format!("Referral {value}"),
        subtitle: Some(value.to_owned()),
        blocks: vec![
            Block::Heading(value.to_owned()),
            Block::Row {
                label: "Risk factors".to_owned(),
                value: value.to_owned(),
            },
            Block::Paragraph(format!("BEFORE {value} AFTER")),
        ],
    }
}

fn document_xml(docx: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut xml = String::new();
    archive
        .by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// No character XML 1.0 forbids, raw or as a character reference.
fn assert_xml_characters_ok(xml: &str) {
    if let Some(c) = xml
        .chars()
        .find(|&c| haven_core::answers::is_forbidden_character(c))
    {
        panic!("document.xml holds U+{:04X}", u32::from(c));
    }
    for reference in ["&#0;", "&#x0;", "&#x1B;", "&#xFFFF;"] {
        assert!(!xml.contains(reference), "document.xml holds {reference}");
    }
}

#[test]
fn a_stored_nul_still_makes_a_well_formed_word_document() {
    // A value stored before intake refused NUL (the VEMT document of the issue).
    let docx = documents::render(&document_with("BEFORE\u{0}AFTER"), Format::Docx).unwrap();
    let xml = document_xml(&docx);
    assert_xml_characters_ok(&xml);
    assert!(xml.contains("BEFORE\u{FFFD}AFTER"), "{xml}");
    let pdf = documents::render(&document_with("BEFORE\u{0}AFTER"), Format::Pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
}

/// Any text: printable characters, C0 controls, bidi and zero-width characters,
/// noncharacters and anything else Unicode holds.
fn any_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => any::<char>(),
            2 => (0u8..0x20).prop_map(char::from),
            1 => prop_oneof![
                Just('\u{202E}'),
                Just('\u{200B}'),
                Just('\u{2066}'),
                Just('\u{FEFF}'),
                Just('\u{FFFE}'),
                Just('\u{FFFF}'),
                Just(' '),
                Just('\n'),
            ],
        ],
        0..80,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Answers intake would accept (no forbidden character).
fn accepted_text() -> impl Strategy<Value = String> {
    any_text().prop_map(|s| {
        s.chars()
            .filter(|&c| !haven_core::answers::is_forbidden_character(c))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever is stored, the Word writer never writes a character XML forbids.
    #[test]
    fn docx_never_holds_an_xml_illegal_character(text in any_text()) {
        let docx = documents::render(&document_with(&text), Format::Docx).unwrap();
        assert_xml_characters_ok(&document_xml(&docx));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any accepted answer yields a PDF that `pdftotext` reads.
    #[test]
    fn pdftotext_reads_every_pdf(text in accepted_text()) {
        if !have("pdftotext") {
            return Ok(());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("document.pdf");
        std::fs::write(&path, documents::render(&document_with(&text), Format::Pdf).unwrap()).unwrap();
        let out = Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(&path).arg("-").output().unwrap();
        prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let read = String::from_utf8_lossy(&out.stdout);
        prop_assert!(read.contains("BEFORE") && read.contains("AFTER"), "{read}");
    }
}

proptest! {
    // LibreOffice takes a few seconds per file: a handful of cases.
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Any accepted answer yields a DOCX that LibreOffice converts.
    #[test]
    fn libreoffice_converts_every_docx(text in accepted_text()) {
        if !have("libreoffice") {
            return Ok(());
        }
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("document.docx");
        std::fs::write(&input, documents::render(&document_with(&text), Format::Docx).unwrap()).unwrap();
        let out_dir = dir.path().join("out");
        let profile = format!("-env:UserInstallation=file://{}", dir.path().join("profile").display());
        let out = Command::new("libreoffice")
            .args([profile.as_str(), "--headless", "--infilter=MS Word 2007 XML", "--convert-to", "pdf", "--outdir"])
            .arg(&out_dir)
            .arg(&input)
            .output()
            .unwrap();
        let converted = out_dir.join("document.pdf");
        prop_assert!(
            converted.is_file() && std::fs::metadata(&converted).unwrap().len() > 0,
            "LibreOffice did not convert the docx: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
