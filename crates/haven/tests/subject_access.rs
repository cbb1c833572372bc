//! Subject access requests (issue 17): the statutory clock (one calendar month, the last day
//! of a shorter month, extendable by up to two with a reason), the export (the young
//! person's answers, notes and messages; third-party answers withheld unless released with a
//! reason; exemptions withheld with theirs), the PDF read back with `pdftotext`, linked cases
//! covered only when confirmed and the user's team's, the policy (another team's manager 404,
//! a role without the action 403) and the release audited without content.
//! Every test runs on SQLite and, with HAVEN_TEST_DATABASE_URL, on PostgreSQL.

use crate::common;

use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use common::staff::{Browser, account, location};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use haven::storage::casework::Direction;
use haven_core::subject_access::due_on;
use serde_json::{Value, json};
use sqlx::Row;

const CHILD: &str = "Ottoline Marchbanks";
const THIRD_PARTY: &str = "Thaddeus Quibbleworth drives the grey car";
const NOTE: &str = "Spoke to Ottoline's school about attendance.";
const MESSAGE: &str = "Thank you, we have your update.";

/// A SECOS referral about `name` whose 3rd Party Sheet holds [`THIRD_PARTY`]; its reference.
async fn secos_about(app: &TestApp, name: &str, dob: &str) -> String {
    let mut answers = sample("secos-referral");
    answers["young_person"]["name"] = json!(name);
    answers["young_person"]["date_of_birth"] = json!(dob);
    answers["third_party"]["information"] = json!(THIRD_PARTY);
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

async fn browser(app: &TestApp, role: Role, team: Option<&str>) -> Browser {
    let (id, _) = account(app, role, team, "a-password-for-tests").await;
    Browser::signed_in(app, &id).await
}

/// Opens a request from the case `reference` as `manager`; its page's path.
async fn open_request(app: &TestApp, manager: &mut Browser, reference: &str) -> String {
    let path = format!("/staff/cases/{reference}/subject-access");
    let csrf = manager.csrf(app, &path).await;
    let opened = manager
        .post(
            app,
            &path,
            &[
                ("csrf", &csrf),
                ("requester_name", "Morwenna Marchbanks"),
                ("relationship", "parent_or_carer"),
                ("identity_check", "photo_id"),
                ("identity_detail", "Passport seen at the office"),
                ("received_day", "31"),
                ("received_month", "1"),
                ("received_year", "2026"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text());
    location(&opened).to_owned()
}

fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // pdftotext breaks long lines: compare with single spaces.
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn due_one_calendar_month_later_or_the_last_day_of_a_shorter_month() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    assert_eq!(due_on(d(2026, 5, 5), 0), Some(d(2026, 6, 5)));
    assert_eq!(due_on(d(2026, 1, 31), 0), Some(d(2026, 2, 28)));
    assert_eq!(due_on(d(2028, 1, 31), 0), Some(d(2028, 2, 29)));
    assert_eq!(due_on(d(2026, 8, 31), 0), Some(d(2026, 9, 30)));
    assert_eq!(due_on(d(2026, 1, 31), 2), Some(d(2026, 4, 30)));
}

#[tokio::test]
async fn a_manager_opens_extends_and_releases_with_third_party_information_withheld() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = secos_about(app, CHILD, "2011-03-04").await;
            let id = app.id_of(&reference).await;
            let now = Utc::now();
            app.storage.add_note(&id, "test", NOTE, now).await.unwrap();
            app.storage
                .add_message(&id, Direction::ToReporter, "test", MESSAGE, now, None)
                .await
                .unwrap();
            let mut manager = browser(app, Role::Manager, Some("secos")).await;
            let summary = manager.get(app, &format!("/staff/cases/{reference}")).await;
            assert!(summary.text().contains("&#x2f;subject-access\""), "the case's menu links it");

            // Every missing field is named.
            let path = format!("/staff/cases/{reference}/subject-access");
            let csrf = manager.csrf(app, &path).await;
            let refused = manager.post(app, &path, &[("csrf", &csrf)]).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            for field in ["requester-name", "relationship", "identity-check", "identity-detail", "received-day"] {
                assert!(refused.text().contains(&format!("href=\"#{field}\"")), "{field}");
            }

            let page_path = open_request(app, &mut manager, &reference).await;
            let request_id = page_path.rsplit('/').next().unwrap().to_owned();
            // The requester's name is sealed: not in the row in the clear.
            let row = sqlx::query("SELECT requester, due_on FROM subject_access_requests WHERE id = $1")
                .bind(&request_id)
                .fetch_one(app.storage.pool())
                .await
                .unwrap();
            let sealed: Vec<u8> = row.get(0);
            assert!(sealed.starts_with(b"hv2"));
            assert!(!String::from_utf8_lossy(&sealed).contains("Morwenna"));
            assert_eq!(row.get::<String, _>(1), "2026-02-28", "31 January: due 28 February");

            let page = manager.get(app, &page_path).await;
            assert_eq!(page.status, StatusCode::OK);
            let html = page.text();
            assert!(html.contains("28 February 2026"), "{html}");
            assert!(html.contains("overdue"), "a request received in January 2026 is overdue");
            assert!(html.contains(CHILD), "the young person's answers are previewed");
            assert!(!html.contains("Thaddeus"), "third-party information is withheld");
            assert!(html.contains("Withheld"));

            // Extensions: a reason, at most two months in all.
            let extend = format!("{page_path}/extend");
            let no_reason = manager
                .post(app, &extend, &[("csrf", &csrf), ("months", "2"), ("reason", " ")])
                .await;
            assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(no_reason.text().contains("href=\"#reason\""));
            let done = manager
                .post(app, &extend, &[("csrf", &csrf), ("months", "2"), ("reason", "Five linked cases")])
                .await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
            let more = manager
                .post(app, &extend, &[("csrf", &csrf), ("months", "1"), ("reason", "Still more")])
                .await;
            assert!(
                more.status == StatusCode::UNPROCESSABLE_ENTITY || more.status == StatusCode::CONFLICT,
                "{}",
                more.status
            );
            let request = app.storage.subject_access(&request_id).await.unwrap().unwrap();
            assert_eq!(request.due_on, NaiveDate::from_ymd_opt(2026, 4, 30).unwrap());
            assert_eq!(request.extended_months, 2);
            assert_eq!(request.extension_reason.as_deref(), Some("Five linked cases"));

            // Nothing to download before the release.
            let early = manager.get(app, &format!("{page_path}/export/json")).await;
            assert_eq!(early.status, StatusCode::NOT_FOUND);
            let released = manager
                .post(app, &format!("{page_path}/release"), &[("csrf", &csrf)])
                .await;
            assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.text());
            let again = manager
                .post(app, &format!("{page_path}/release"), &[("csrf", &csrf)])
                .await;
            assert_eq!(again.status, StatusCode::CONFLICT);

            let json_file = manager.get(app, &format!("{page_path}/export/json")).await;
            assert_eq!(json_file.status, StatusCode::OK);
            assert!(json_file.header("content-disposition").unwrap().starts_with("attachment"));
            let text = json_file.text();
            let export: Value = json_file.json();
            assert!(text.contains(CHILD), "the young person's answers");
            assert!(text.contains(NOTE), "notes");
            assert!(text.contains(MESSAGE), "messages");
            assert!(!text.contains("Thaddeus"), "no third-party answer");
            let withheld = export["withheld"].as_array().unwrap();
            assert!(withheld.iter().any(|w| w["reason"].as_str().unwrap().contains("third-party")));

            let pdf = manager.get(app, &format!("{page_path}/export/pdf")).await;
            assert_eq!(pdf.status, StatusCode::OK);
            assert_eq!(pdf.header("content-type"), Some("application/pdf"));
            assert!(pdf.header("content-disposition").unwrap().starts_with("attachment"));
            let read = pdf_text(&pdf.body);
            assert!(read.contains(CHILD), "{read}");
            assert!(read.contains("Spoke to Ottoline"), "{read}");
            assert!(!read.contains("Thaddeus"), "{read}");
            assert!(read.contains("Information withheld and why"), "{read}");

            // Audited: who, which cases, how many withheld; no content.
            let rows = sqlx::query(
                "SELECT actor, reason FROM audit_log WHERE action = 'subject_access.released'",
            )
            .fetch_all(app.storage.pool())
            .await
            .unwrap();
            assert_eq!(rows.len(), 1);
            let reason: String = rows[0].get(1);
            assert!(rows[0].get::<String, _>(0).starts_with("user:"));
            assert!(reason.contains(&reference) && reason.contains("redactions:"), "{reason}");
            assert!(!reason.contains("Ottoline") && !reason.contains("Morwenna"), "{reason}");
            let exported: i64 = sqlx::query(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'case.exported' AND reason = 'subject_access' AND record_id = $1",
            )
            .bind(&id)
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
            assert_eq!(exported, 1);
            let page = manager.get(app, &page_path).await.text();
            assert!(page.contains("/export/pdf"), "{page}");
        })
        .await;
}

#[tokio::test]
async fn third_party_information_is_released_and_exemptions_withheld_only_with_a_reason() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = secos_about(app, CHILD, "2011-03-04").await;
            let id = app.id_of(&reference).await;
            app.storage
                .add_note(&id, "test", NOTE, Utc::now())
                .await
                .unwrap();
            let mut manager = browser(app, Role::Manager, Some("secos")).await;
            let page_path = open_request(app, &mut manager, &reference).await;
            let third = format!("{page_path}/items/{reference}~a~referral~third_party.information");
            let note = format!("{page_path}/items/{reference}~n~0");
            let csrf = manager.csrf(app, &third).await;
            let no_reason = manager
                .post(
                    app,
                    &third,
                    &[("csrf", &csrf), ("decision", "disclose"), ("reason", "")],
                )
                .await;
            assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
            let disclosed = manager
                .post(
                    app,
                    &third,
                    &[
                        ("csrf", &csrf),
                        ("decision", "disclose"),
                        ("reason", "The parent agreed in writing"),
                    ],
                )
                .await;
            assert_eq!(
                disclosed.status,
                StatusCode::SEE_OTHER,
                "{}",
                disclosed.text()
            );
            // Only third-party information is "released"; anything may be withheld.
            let refused = manager
                .post(
                    app,
                    &note,
                    &[("csrf", &csrf), ("decision", "disclose"), ("reason", "x")],
                )
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            let withheld = manager
                .post(
                    app,
                    &note,
                    &[
                        ("csrf", &csrf),
                        ("decision", "withhold"),
                        ("reason", "crime prevention (DPA 2018 Sch 2 para 2)"),
                    ],
                )
                .await;
            assert_eq!(
                withheld.status,
                StatusCode::SEE_OTHER,
                "{}",
                withheld.text()
            );
            let released = manager
                .post(app, &format!("{page_path}/release"), &[("csrf", &csrf)])
                .await;
            assert_eq!(released.status, StatusCode::SEE_OTHER);
            let export = manager.get(app, &format!("{page_path}/export/json")).await;
            let text = export.text();
            assert!(text.contains("Thaddeus"), "released with its reason");
            assert!(text.contains("The parent agreed in writing"));
            assert!(!text.contains(NOTE), "the exempt note is withheld");
            let record: Value = export.json();
            let exemption = record["withheld"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["exemption"] == json!(true))
                .unwrap();
            assert_eq!(
                exemption["reason"],
                "crime prevention (DPA 2018 Sch 2 para 2)"
            );
            assert_eq!(exemption["kind"], "note");
        })
        .await;
}

#[tokio::test]
async fn linked_cases_are_covered_only_when_confirmed_and_the_teams_own() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let first = secos_about(app, CHILD, "2011-03-04").await;
            let confirmed = secos_about(app, "Ottoline Marchbank", "2011-03-04").await;
            let rejected = secos_about(app, "Ottilie Marchbanks", "2011-03-04").await;
            let unlinked = secos_about(app, "Ottoline Marchbanks", "2011-04-03").await;
            let ceop = app
                .post_json(
                    "/api/v1/submissions",
                    &json!({"service": "ceop", "stage": "report", "audience": "parent_carer", "answers": sample("ceop-report-parent")}),
                )
                .await;
            let (first_id, now) = (app.id_of(&first).await, Utc::now());
            for (other, confirm) in [(&confirmed, true), (&rejected, false)] {
                let other_id = app.id_of(other).await;
                app.storage
                    .decide_person_link(&first_id, &other_id, confirm, "test", now)
                    .await
                    .unwrap();
            }
            // A confirmed link to another team's case is never covered.
            assert_eq!(ceop.status, StatusCode::CREATED, "{}", ceop.text());
            let ceop_reference = ceop.json()["reference"].as_str().map(str::to_owned);
            if let Some(ceop_reference) = &ceop_reference {
                let ceop_id = app.id_of(ceop_reference).await;
                app.storage
                    .decide_person_link(&first_id, &ceop_id, true, "test", now)
                    .await
                    .unwrap();
            }
            let mut manager = browser(app, Role::Manager, Some("secos")).await;
            let form = manager.get(app, &format!("/staff/cases/{first}/subject-access")).await;
            assert_eq!(form.status, StatusCode::OK);
            let html = form.text();
            let covered = html
                .split("id=\"covered\"")
                .nth(1)
                .and_then(|rest| rest.split("</ul>").next())
                .unwrap()
                .to_owned();
            assert!(covered.contains(&first) && covered.contains(&confirmed), "{covered}");
            assert!(!covered.contains(&rejected) && !covered.contains(&unlinked), "{covered}");
            if let Some(ceop_reference) = &ceop_reference {
                assert!(!covered.contains(ceop_reference), "{covered}");
            }
            let page_path = open_request(app, &mut manager, &first).await;
            let page = manager.get(app, &page_path).await.text();
            assert!(page.contains(&format!("id=\"case-{confirmed}\"")), "{page}");
            let list = manager.get(app, "/staff/subject-access").await.text();
            assert!(list.contains("and 1 linked case"), "{list}");
        })
        .await;
}

#[tokio::test]
async fn another_teams_manager_gets_404_and_roles_without_the_action_403() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = secos_about(app, CHILD, "2011-03-04").await;
            let mut manager = browser(app, Role::Manager, Some("secos")).await;
            let page_path = open_request(app, &mut manager, &reference).await;
            let list = manager.get(app, "/staff/subject-access").await;
            assert_eq!(list.status, StatusCode::OK);
            assert!(list.text().contains(&page_path), "listed for the team");
            assert!(
                list.text().contains("Subject access</a>")
                    || list.text().contains(">Subject access<")
            );

            let mut other = browser(app, Role::Manager, Some("ceop")).await;
            let form = other
                .get(app, &format!("/staff/cases/{reference}/subject-access"))
                .await;
            assert_eq!(form.status, StatusCode::NOT_FOUND);
            assert_eq!(
                other.get(app, &page_path).await.status,
                StatusCode::NOT_FOUND
            );
            let csrf = other.csrf(app, "/staff/subject-access").await;
            let post = other
                .post(app, &format!("{page_path}/release"), &[("csrf", &csrf)])
                .await;
            assert_eq!(post.status, StatusCode::NOT_FOUND);
            assert!(
                !other
                    .get(app, "/staff/subject-access")
                    .await
                    .text()
                    .contains(&page_path)
            );

            for role in [Role::Caseworker, Role::Triage] {
                let mut worker = browser(app, role, Some("secos")).await;
                assert_eq!(
                    worker
                        .get(app, &format!("/staff/cases/{reference}/subject-access"))
                        .await
                        .status,
                    StatusCode::FORBIDDEN
                );
                assert_eq!(
                    worker.get(app, &page_path).await.status,
                    StatusCode::FORBIDDEN
                );
                assert_eq!(
                    worker.get(app, "/staff/subject-access").await.status,
                    StatusCode::FORBIDDEN
                );
                let summary = worker
                    .get(app, &format!("/staff/cases/{reference}"))
                    .await
                    .text();
                assert!(!summary.contains("subject-access"));
            }
            let mut admin = browser(app, Role::Admin, None).await;
            assert_eq!(
                admin.get(app, &page_path).await.status,
                StatusCode::FORBIDDEN
            );
        })
        .await;
}

/// A SECOS referral about [`CHILD`] with two files: the risk tool (the young person's) and
/// an assessment that answers a third-party question; (reference, tool bytes, third-party
/// bytes).
async fn secos_with_files(app: &TestApp) -> (String, Vec<u8>, Vec<u8>) {
    let mut tool = common::SAMPLE_PDF.to_vec();
    tool.extend_from_slice(b"% the young person's risk tool, Ottoline");
    tool.extend((0..200_000u32).map(|i| (i % 251) as u8));
    let mut other = common::SAMPLE_PDF.to_vec();
    other.extend_from_slice(b"% about Thaddeus, a third party");
    let tool_id = app
        .upload(
            "secos",
            "assessments.risk_assessment_tool",
            "Risk tool Zoë.pdf",
            &tool,
        )
        .await;
    let other_id = app
        .upload(
            "secos",
            "assessments.assessment_document",
            "Assessment.pdf",
            &other,
        )
        .await;
    let mut answers = sample("secos-referral");
    answers["young_person"]["name"] = json!(CHILD);
    answers["assessments"]["risk_assessment_tool"] = json!(tool_id);
    answers["assessments"]["assessment_document"] = json!(other_id);
    let response = app
        .post_json(
            "/api/v1/submissions",
            &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let reference = response.json()["reference"].as_str().unwrap().to_owned();
    // The second file answers a third-party question (as a service may define one).
    sqlx::query("UPDATE public_attachments SET question = 'lone_working.details' WHERE id = $1")
        .bind(&other_id)
        .execute(app.storage.pool())
        .await
        .unwrap();
    (reference, tool, other)
}

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut out = Vec::new();
            entry.read_to_end(&mut out).unwrap();
            (entry.name().to_owned(), out)
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn the_release_bundle_holds_the_files_and_withholds_third_party_ones() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, tool, other) = secos_with_files(app).await;
            let id = app.id_of(&reference).await;
            // A document made for Children's Services (which receives third-party
            // information and who reported): withheld by default, as it holds both.
            let onward = app
                .storage
                .record_onward_referral(&haven::storage::onward::NewOnwardReferral {
                    referral_id: &id,
                    kind: "childrens_services_referral",
                    action_key: None,
                    recipient: "Children's Services front door",
                    lawful_basis: "public_task_safeguarding",
                    consent_sought: true,
                    consent_reason: None,
                    sent_on: Utc::now().date_naive(),
                    notes: None,
                    mark_action_done: false,
                    actor: "test",
                    at: Utc::now(),
                })
                .await
                .unwrap();
            let onward_bytes = b"%PDF-1.4 the onward document naming Thaddeus".to_vec();
            app.storage
                .record_document_export(
                    &haven::storage::onward::NewExport {
                        referral_id: &id,
                        onward_referral_id: &onward,
                        format: "pdf",
                        content: &onward_bytes,
                    },
                    "test",
                    Utc::now(),
                )
                .await
                .unwrap();

            let mut manager = browser(app, Role::Manager, Some("secos")).await;
            let page_path = open_request(app, &mut manager, &reference).await;
            let html = manager.get(app, &page_path).await.text();
            assert!(html.contains("Risk tool Zo"), "the file is listed in the preview");
            let csrf = manager.csrf(app, &page_path).await;
            let released = manager
                .post(app, &format!("{page_path}/release"), &[("csrf", &csrf)])
                .await;
            assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.text());
            let page = manager.get(app, &page_path).await.text();
            assert!(page.contains("/export/zip"), "{page}");

            let bundle = manager.get(app, &format!("{page_path}/export/zip")).await;
            assert_eq!(bundle.status, StatusCode::OK);
            assert_eq!(bundle.header("content-type"), Some("application/zip"));
            let disposition = bundle.header("content-disposition").unwrap();
            assert!(disposition.starts_with("attachment; filename=\"subject-access-"), "{disposition}");
            assert!(disposition.ends_with(".zip\""), "{disposition}");
            assert_eq!(bundle.header("x-content-type-options"), Some("nosniff"));
            let entries = unzip(&bundle.body);
            let names: Vec<&String> = entries.keys().collect();
            assert!(entries.contains_key("README.txt"), "{names:?}");
            let pdf = entries.iter().find(|(n, _)| n.ends_with(".pdf") && !n.starts_with("files/"));
            assert!(pdf.is_some_and(|(_, b)| b.starts_with(b"%PDF")), "{names:?}");
            let (_, json_bytes) = entries
                .iter()
                .find(|(n, _)| n.ends_with(".json"))
                .expect("the JSON is in the bundle");
            let record: Value = serde_json::from_slice(json_bytes).unwrap();

            // The young person's file, byte for byte; nothing of the third party's.
            let files: Vec<(&String, &Vec<u8>)> =
                entries.iter().filter(|(n, _)| n.starts_with("files/")).collect();
            assert_eq!(files.len(), 1, "{names:?}");
            assert_eq!(files[0].1, &tool, "the file's own bytes");
            assert!(files[0].0.starts_with(&format!("files/{reference}/01-Risk_tool_Zo")), "{names:?}");
            for bytes in entries.values() {
                assert!(bytes != &other && bytes != &onward_bytes, "nothing withheld is bundled");
                assert!(!String::from_utf8_lossy(bytes).contains("Thaddeus"), "no third party");
            }
            for name in entries.keys() {
                assert!(!name.contains(".."), "{name}");
            }

            // The JSON names each file: name, type, size, SHA-256 and where it is.
            let documents = record["cases"][0]["documents"].as_array().unwrap();
            assert_eq!(documents.len(), 1, "{documents:?}");
            let d = &documents[0];
            assert_eq!(d["file_name"], "Risk tool Zoë.pdf");
            assert_eq!(d["media_type"], "application/pdf");
            assert_eq!(d["size_bytes"], json!(tool.len()));
            assert_eq!(d["sha256"], json!(sha256_hex(&tool)));
            assert_eq!(&d["path"], &json!(files[0].0));
            assert!(d.get("source").is_none(), "where Haven keeps it is not theirs");
            let withheld = record["withheld"].as_array().unwrap();
            let kinds: Vec<(&str, &str)> = withheld
                .iter()
                .map(|w| (w["kind"].as_str().unwrap(), w["where"].as_str().unwrap()))
                .collect();
            assert!(
                kinds.iter().filter(|(k, _)| *k == "document").count() == 2,
                "the third-party file and the onward document are withheld: {kinds:?}"
            );
            assert!(kinds.contains(&("document", "Onward referral documents")), "{kinds:?}");

            // Audited without content: the format and how many files.
            let reasons: Vec<String> = sqlx::query(
                "SELECT reason FROM audit_log WHERE action = 'subject_access.downloaded' ORDER BY seq",
            )
            .fetch_all(app.storage.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
            assert_eq!(reasons, vec!["zip files:1".to_owned()]);
        })
        .await;
}
