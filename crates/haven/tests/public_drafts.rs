//! Answers between pages: save and come back (resume codes), expiry, rate limits, errors on
//! a page, and attachments accepted or refused.

use crate::common;
use crate::public_support;

use axum::http::StatusCode;
use common::{TestApp, TestAppBuilder};
use haven::web::RESUME_ATTEMPTS_PER_WINDOW;
use haven_core::definition::ServiceDefinition;
use haven_pages::naming;
use public_support::{Browser, File, PDF, PNG, sample, text_of_id};
use sqlx::Row;

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

/// The SECOS page holding the file questions.
fn assessments_url(def: &ServiceDefinition) -> String {
    let page = def
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
    haven_pages::urls::page("secos", "referral", &page.key)
}

/// A SECOS browser that chose "professional" and stands on the first page.
async fn secos_started(app: &TestApp) -> (Browser<'_>, String) {
    let mut b = Browser::new(app);
    let mut r = b.get("/services/secos/referral/who-are-you").await;
    if r.status == StatusCode::OK {
        r = b
            .post(
                "/services/secos/referral/who-are-you",
                &[(naming::AUDIENCE_FIELD.to_owned(), "professional".to_owned())],
            )
            .await;
    }
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let first = r.header("location").unwrap().to_owned();
    b.get(&first).await;
    (b, first)
}

async fn execute(app: &TestApp, sql: &'static str) {
    sqlx::query(sql).execute(app.storage.pool()).await.unwrap();
}

#[tokio::test]
async fn a_page_with_errors_is_shown_again_with_a_summary_linking_each_field() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (mut b, first) = secos_started(app).await;
            let refused = b
                .post(&first, &[("action".to_owned(), "continue".to_owned())])
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            let html = refused.text();
            assert!(html.contains("govuk-error-summary"), "{html}");
            assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<title>Error: "));
            // Each summary link points at a control on the page.
            for href in html
                .split("href=\"#")
                .skip(1)
                .map(|s| s.split('"').next().unwrap())
            {
                if href == "main-content" {
                    continue;
                }
                assert!(
                    html.contains(&format!("id=\"{href}\"")),
                    "link #{href} has no target"
                );
            }
        })
        .await;
}

#[tokio::test]
async fn save_and_come_back_restores_the_answers_in_another_browser() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (mut b, first) = secos_started(app).await;
            let answers = sample("secos-referral.json");
            let def = app.registry.get("secos").unwrap().clone();
            let page = def
                .stage("referral")
                .unwrap()
                .pages
                .iter()
                .find(|p| first.ends_with(&p.key))
                .unwrap()
                .clone();
            let today = haven_pages::london_today(chrono::Utc::now());
            let shown = haven_pages::nav::shown_questions(&page, "professional", &answers, today);
            let mut pairs = haven_pages::answers_to_form(shown.iter().copied(), &answers);
            pairs.push(("action".to_owned(), "save".to_owned()));
            let saved = b.post(&first, &pairs).await;
            assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
            assert_eq!(
                saved.header("location"),
                Some("/services/secos/referral/saved")
            );
            let page_html = b.get("/services/secos/referral/saved").await.text();
            let code = text_of_id(&page_html, "resume-code").expect("resume code shown");
            assert_eq!(
                code.chars().filter(char::is_ascii_alphanumeric).count(),
                20,
                "100 bits: {code}"
            );
            let expiry = (chrono::Utc::now() + chrono::Duration::days(28))
                .with_timezone(&chrono_tz::Europe::London)
                .format("%-d %B %Y")
                .to_string();
            assert!(
                page_html.contains(&expiry),
                "the expiry is stated: {expiry}"
            );
            assert_eq!(
                b.get("/services/secos/referral/saved").await.status,
                StatusCode::SEE_OTHER,
                "the code is shown once"
            );
            // Only a keyed hash of the code is stored, and the code is gone from the draft.
            let row = sqlx::query("SELECT resume_hash, answers FROM public_drafts")
                .fetch_one(app.storage.pool())
                .await
                .unwrap();
            let hash: String = row.try_get(0).unwrap();
            let doc = String::from_utf8_lossy(&row.try_get::<Vec<u8>, _>(1).unwrap()).into_owned();
            let bare: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
            assert!(!hash.contains(&bare) && !doc.contains(&code) && !doc.contains(&bare));

            // Another browser: a wrong code is refused clearly, the right one (in lower case,
            // without dashes) restores the answers.
            let mut other = Browser::new(app);
            other.get("/services/secos/resume").await;
            let wrong = other
                .post(
                    "/services/secos/resume",
                    &[(
                        naming::RESUME_CODE_FIELD.to_owned(),
                        "AAAA-BBBB-CCCC-DDDD-EEEE".to_owned(),
                    )],
                )
                .await;
            assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(wrong.text().contains("not recognised or has expired"));
            assert!(wrong.text().contains("href=\"#resume_code\""));
            let empty = other
                .post(
                    "/services/secos/resume",
                    &[(naming::RESUME_CODE_FIELD.to_owned(), String::new())],
                )
                .await;
            assert!(empty.text().contains("Enter your resume code"));
            let ok = other
                .post(
                    "/services/secos/resume",
                    &[(naming::RESUME_CODE_FIELD.to_owned(), bare.to_lowercase())],
                )
                .await;
            assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
            let back = other.get(&first).await.text();
            let name = answers["referrer"]["name"].as_str().unwrap();
            assert!(back.contains(name), "the saved answer is back");
            // The first browser's session no longer holds the draft.
            let gone = b.get(&first).await;
            assert_eq!(
                gone.status,
                StatusCode::SEE_OTHER,
                "redirected to choose who they are again"
            );
        })
        .await;
}

#[tokio::test]
async fn an_expired_resume_code_is_refused() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (mut b, first) = secos_started(app).await;
            b.post(&first, &[("action".to_owned(), "save".to_owned())])
                .await;
            let code = text_of_id(
                &b.get("/services/secos/referral/saved").await.text(),
                "resume-code",
            )
            .unwrap();
            execute(
                app,
                "UPDATE public_drafts SET resume_expires_at = '2000-01-01T00:00:00.000000Z'",
            )
            .await;
            let mut other = Browser::new(app);
            other.get("/services/secos/resume").await;
            let refused = other
                .post(
                    "/services/secos/resume",
                    &[(naming::RESUME_CODE_FIELD.to_owned(), code)],
                )
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(refused.text().contains("not recognised or has expired"));
        })
        .await;
}

#[tokio::test]
async fn resume_attempts_are_rate_limited() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let mut b = Browser::new(app);
            b.get("/services/secos/resume").await;
            let guess = [(
                naming::RESUME_CODE_FIELD.to_owned(),
                "AAAA-BBBB-CCCC-DDDD-EEEE".to_owned(),
            )];
            for _ in 0..RESUME_ATTEMPTS_PER_WINDOW {
                assert_eq!(
                    b.post("/services/secos/resume", &guess).await.status,
                    StatusCode::UNPROCESSABLE_ENTITY
                );
            }
            let limited = b.post("/services/secos/resume", &guess).await;
            assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
            assert!(limited.header("retry-after").is_some());
            assert!(limited.text().contains("Too many requests"));
        })
        .await;
}

#[tokio::test]
async fn an_idle_draft_expires_and_is_deleted() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (mut b, _) = secos_started(app).await;
            execute(
                app,
                "UPDATE public_drafts SET expires_at = '2000-01-01T00:00:00.000000Z'",
            )
            .await;
            // The expired draft is not used: the audience must be chosen again.
            let page = b.get("/services/secos/referral/check-answers").await;
            assert_eq!(
                page.header("location"),
                Some("/services/secos/referral/who-are-you")
            );
            // Another person's new draft deletes expired ones.
            let _ = secos_started(app).await;
            let n: i64 =
                sqlx::query("SELECT COUNT(*) FROM public_drafts WHERE expires_at < '2001-01-01'")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
            assert_eq!(n, 0, "expired drafts are deleted");
            assert_eq!(
                app.storage
                    .delete_expired_drafts(chrono::Utc::now())
                    .await
                    .unwrap(),
                0
            );
        })
        .await;
}

#[tokio::test]
async fn attachments_are_checked_by_content_and_refusals_name_the_field() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let def = app.registry.get("secos").unwrap().clone();
            let (mut b, _) = secos_started(app).await;
            let url = assessments_url(&def);
            b.get(&url).await;
            let field = "assessments.risk_assessment_tool";
            let post = async |b: &mut Browser<'_>, name: &str, content: &[u8]| {
                b.post_multipart(
                    &url,
                    &[("action".to_owned(), "continue".to_owned())],
                    &[File {
                        field,
                        name,
                        content_type: "application/pdf",
                        content,
                    }],
                )
                .await
            };
            // A PNG named .pdf, sent as application/pdf: refused by what it is.
            let refused = post(&mut b, "tool.pdf", PNG).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            let html = refused.text();
            assert!(html.contains("must be a PDF, DOCX, DOC or ODT"), "{html}");
            assert!(
                html.contains(&format!("href=\"#{field}\"")),
                "the summary links to the file field"
            );
            // Empty.
            let empty = post(&mut b, "tool.pdf", b"").await;
            assert!(empty.text().contains("is empty"), "{}", empty.text());
            // Too large.
            // (A PDF, so it passes the type check made on its first bytes.)
            let mut big = PDF.to_vec();
            big.resize(10 * 1024 * 1024 + 1, b'%');
            let large = post(&mut b, "tool.pdf", &big).await;
            assert!(
                large.text().contains("must be smaller than 10 MB"),
                "{}",
                large.text()
            );
            let n: i64 = sqlx::query("SELECT COUNT(*) FROM public_attachments")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(n, 0, "nothing refused was kept");
            // A real PDF is kept, under a sanitised name.
            let ok = post(&mut b, "C:\\Users\\me\\<risk>.pdf", PDF).await;
            // On to the next page (no assessment attached: why not); back on this page the
            // file is listed.
            assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
            let again = b.get(&url).await;
            assert!(!again.text().contains("must be a PDF"), "{}", again.text());
            assert!(
                again.text().contains("_risk_.pdf"),
                "the attached file is listed"
            );
            let row =
                sqlx::query("SELECT filename, media_type, file_key, id FROM public_attachments")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap();
            // The name and the file are sealed at rest; the sniffed type stays queryable.
            let stored_name = row.try_get::<Vec<u8>, _>(0).unwrap();
            assert!(
                stored_name.starts_with(b"hv2")
                    && !String::from_utf8_lossy(&stored_name).contains("risk")
            );
            assert!(row.try_get::<Vec<u8>, _>(2).unwrap().starts_with(b"hv2"));
            let chunks: Vec<Vec<u8>> = sqlx::query("SELECT data FROM public_attachment_chunks")
                .fetch_all(app.storage.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get(0).unwrap())
                .collect();
            assert!(
                !chunks.is_empty() && chunks.iter().all(|c| !c.windows(4).any(|w| w == b"%PDF"))
            );
            assert_eq!(row.try_get::<String, _>(1).unwrap(), "application/pdf");
            let id: String = row.try_get(3).unwrap();
            assert_eq!(&app.storage.attachment_content(&id).await.unwrap()[..], PDF);
        })
        .await;
}

#[tokio::test]
async fn another_sessions_attachment_id_is_ignored() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let def = app.registry.get("secos").unwrap().clone();
            let url = assessments_url(&def);
            let (mut owner, _) = secos_started(app).await;
            owner.get(&url).await;
            let field = "assessments.risk_assessment_tool";
            owner
                .post_multipart(
                    &url,
                    &[],
                    &[File {
                        field,
                        name: "mine.pdf",
                        content_type: "application/pdf",
                        content: PDF,
                    }],
                )
                .await;
            let id: String = sqlx::query("SELECT id FROM public_attachments")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            let (mut thief, _) = secos_started(app).await;
            thief.get(&url).await;
            let r = thief
                .post(&url, &[(naming::file_current(field), id.clone())])
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "the id is dropped, so the file is still missing"
            );
            assert!(!r.text().contains("mine.pdf"));
        })
        .await;
}

#[tokio::test]
async fn ceop_refuses_any_upload() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let mut b = Browser::new(app);
            b.get("/services/ceop/report/who-are-you").await;
            let r = b
                .post(
                    "/services/ceop/report/who-are-you",
                    &[(naming::AUDIENCE_FIELD.to_owned(), "young_person".to_owned())],
                )
                .await;
            let first = r.header("location").unwrap().to_owned();
            b.get(&first).await;
            let refused = b
                .post_multipart(
                    &first,
                    &[],
                    &[File {
                        field: "description",
                        name: "photo.png",
                        content_type: "image/png",
                        content: PNG,
                    }],
                )
                .await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST);
            assert!(refused.text().contains("does not take files"));
            let n: i64 = sqlx::query("SELECT COUNT(*) FROM public_attachments")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(n, 0);
        })
        .await;
}

async fn draft_count(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM public_drafts")
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn exit_this_page_ends_the_form_session_and_discards_the_unsaved_draft() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let mut b = Browser::new(app);
            b.get("/services/ceop/report/who-are-you").await;
            b.post(
                "/services/ceop/report/who-are-you",
                &[(naming::AUDIENCE_FIELD.to_owned(), "young_person".to_owned())],
            )
            .await;
            let danger = "/services/ceop/report/pages/danger";
            let page = b.get(danger).await.text();
            assert!(
                page.contains("href=\"&#x2f;services&#x2f;exit\""),
                "the exit control ends the session on the server, with or without JavaScript"
            );
            b.post(
                danger,
                &[
                    ("immediate_danger".to_owned(), "no".to_owned()),
                    (naming::ACTION_FIELD.to_owned(), "continue".to_owned()),
                ],
            )
            .await;
            assert_eq!(draft_count(app).await, 1);
            let cookie_before_exit = b.cookie.clone();

            let left = b.get("/services/exit").await;
            assert_eq!(left.status, StatusCode::SEE_OTHER);
            assert_eq!(
                left.header("location"),
                Some(app.state.options.exit_url.as_str())
            );
            let cleared = left.header("set-cookie").unwrap_or_default();
            assert!(cleared.starts_with("haven_form=;") && cleared.contains("Max-Age=0"));
            assert_eq!(left.header("cache-control"), Some("no-store"));
            assert_eq!(draft_count(app).await, 0, "the unsaved draft is discarded");

            // Back, even with the old cookie still in the browser: no answers.
            b.cookie = cookie_before_exit;
            let again = b.get(danger).await;
            assert_eq!(
                again.status,
                StatusCode::SEE_OTHER,
                "the session is gone: back to choosing who they are"
            );
        })
        .await;
}

#[tokio::test]
async fn exit_keeps_a_draft_saved_with_a_resume_code_for_that_code_only() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (mut b, first) = secos_started(app).await;
            let saved = b
                .post(&first, &[("action".to_owned(), "save".to_owned())])
                .await;
            assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
            let html = b.get("/services/secos/referral/saved").await.text();
            let code = text_of_id(&html, "resume-code").expect("resume code shown");
            let cookie_before_exit = b.cookie.clone();
            b.get("/services/exit").await;
            assert_eq!(draft_count(app).await, 1, "the saved draft is kept");
            b.cookie = cookie_before_exit;
            assert_eq!(
                b.get(&first).await.status,
                StatusCode::SEE_OTHER,
                "the ended session no longer reaches it"
            );
            let mut other = Browser::new(app);
            other.get("/services/secos/resume").await;
            let resumed = other
                .post(
                    "/services/secos/resume",
                    &[(naming::RESUME_CODE_FIELD.to_owned(), code)],
                )
                .await;
            assert_eq!(
                resumed.status,
                StatusCode::SEE_OTHER,
                "the code still works"
            );
        })
        .await;
}
