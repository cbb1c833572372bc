//! Hostile uploads (issue 12, item 1): the count of attached files comes from storage, not
//! from the client's `KEY-current` fields; a draft's total bytes are capped; uploads per
//! client address are limited; a page without file questions refuses a large body before
//! reading it; a multipart post without the CSRF token is refused before its file is read;
//! files are stored in sealed chunks that cannot be reordered, dropped or cut short; the
//! space of purged drafts is given back (SQLite incremental auto-vacuum).

use crate::common;
use crate::public_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use common::{Engine, TestApp, TestAppBuilder};
use futures_util::StreamExt;
use haven_core::definition::ServiceDefinition;
use haven_pages::naming;
use public_support::{Browser, File, PDF};
use sqlx::Row;

const TOOL: &str = "assessments.risk_assessment_tool";
const DOCS: &str = "assessments.assessment_document";

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
        .find(|p| p.questions.iter().any(|q| q.key == TOOL))
        .unwrap();
    haven_pages::urls::page("secos", "referral", &page.key)
}

/// A SECOS browser that chose "professional", standing on the assessments page.
async fn on_assessments(app: &TestApp) -> (Browser<'_>, String) {
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
    let url = assessments_url(app.registry.get("secos").unwrap());
    b.get(&url).await;
    (b, url)
}

fn pdf(n: usize) -> File<'static> {
    File {
        field: DOCS,
        name: ["a.pdf", "b.pdf", "c.pdf", "d.pdf"][n % 4],
        content_type: "application/pdf",
        content: PDF,
    }
}

async fn stored_for(app: &TestApp, question: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM public_attachments WHERE question = $1")
        .bind(question)
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn leaving_out_the_current_files_cannot_attach_more_than_the_question_takes() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (mut b, url) = on_assessments(app).await;
            // Three files: the most this question takes.
            let r = b.post_multipart(&url, &[], &[pdf(0), pdf(1), pdf(2)]).await;
            assert_ne!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
            assert_eq!(stored_for(app, DOCS).await, 3);
            // A client that leaves out `KEY-current` and sends more, again and again.
            for round in 0..4 {
                let r = b.post_multipart(&url, &[], &[pdf(round)]).await;
                assert_eq!(
                    r.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{:?} round {round}: {}",
                    app.engine,
                    r.text()
                );
                assert!(
                    r.text().contains("You can attach up to 3 files"),
                    "{}",
                    r.text()
                );
                assert_eq!(stored_for(app, DOCS).await, 3, "round {round}");
            }
            // Leaving the list out altogether is answering "no files": the answer names none,
            // so none stay stored (what is stored is what the answers name).
            let r = b.post_multipart(&url, &[], &[]).await;
            assert_ne!(r.status, StatusCode::FORBIDDEN);
            assert_eq!(stored_for(app, DOCS).await, 0);
            // The one-file question: a new file replaces the old one, never adds to it.
            for name in ["one.pdf", "two.pdf", "three.pdf"] {
                let file = File {
                    field: TOOL,
                    name,
                    content_type: "application/pdf",
                    content: PDF,
                };
                b.post_multipart(&url, &[], &[file]).await;
                assert_eq!(stored_for(app, TOOL).await, 1, "{name}");
            }
            b.post_multipart(&url, &[], &[pdf(0), pdf(1), pdf(2)]).await;
            assert_eq!(stored_for(app, DOCS).await, 3);
            // Removing a file (ticked) makes room for another in the same post.
            let ids: Vec<String> =
                sqlx::query("SELECT id FROM public_attachments WHERE question = $1")
                    .bind(DOCS)
                    .fetch_all(app.storage.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get(0).unwrap())
                    .collect();
            let mut pairs: Vec<(String, String)> = ids
                .iter()
                .map(|id| (naming::file_current(DOCS), id.clone()))
                .collect();
            pairs.push((naming::file_remove(DOCS), ids[0].clone()));
            let r = b.post_multipart(&url, &pairs, &[pdf(3)]).await;
            assert!(!r.text().contains("You can attach up to"), "{}", r.text());
            assert_eq!(stored_for(app, DOCS).await, 3);
        })
        .await;
}

#[tokio::test]
async fn a_draft_holds_no_more_bytes_than_the_cap() {
    // 150 KB per draft: two files of 100 KB do not fit together.
    builtins()
        .upload_limits(10_000, u64::MAX, 150 * 1024)
        .each_engine(async |app: &TestApp| {
            let (mut b, url) = on_assessments(app).await;
            let mut big = PDF.to_vec();
            big.resize(100 * 1024, b'%');
            let file = |name| File {
                field: DOCS,
                name,
                content_type: "application/pdf",
                content: &big,
            };
            let first = b.post_multipart(&url, &[], &[file("one.pdf")]).await;
            assert_eq!(stored_for(app, DOCS).await, 1, "{}", first.text());
            let ids: Vec<(String, String)> = sqlx::query("SELECT id FROM public_attachments")
                .fetch_all(app.storage.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (naming::file_current(DOCS), r.try_get(0).unwrap()))
                .collect();
            let second = b.post_multipart(&url, &ids, &[file("two.pdf")]).await;
            assert_eq!(
                second.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                second.text()
            );
            assert!(
                second.text().contains("more than 150 KB together"),
                "{}",
                second.text()
            );
            assert_eq!(
                stored_for(app, DOCS).await,
                1,
                "nothing of the refused file kept"
            );
            // Its chunks went too: only the first file's remain.
            let chunks: i64 =
                sqlx::query("SELECT COUNT(DISTINCT attachment_id) FROM public_attachment_chunks")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
            assert_eq!(chunks, 1);
        })
        .await;
}

#[tokio::test]
async fn uploads_per_address_are_limited() {
    builtins()
        .upload_limits(2, u64::MAX, u64::MAX)
        .each_engine(async |app: &TestApp| {
            let (mut b, url) = on_assessments(app).await;
            let r = b.post_multipart(&url, &[], &[pdf(0), pdf(1)]).await;
            assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS);
            let r = b.post_multipart(&url, &[], &[pdf(2)]).await;
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
            assert!(r.header("retry-after").is_some());
            assert_eq!(stored_for(app, DOCS).await, 2);
        })
        .await;
    // Bytes: 150 KB per address per window.
    builtins()
        .upload_limits(10_000, 150 * 1024, u64::MAX)
        .each_engine(async |app: &TestApp| {
            let (mut b, url) = on_assessments(app).await;
            let mut big = PDF.to_vec();
            big.resize(100 * 1024, b'%');
            let file = File {
                field: TOOL,
                name: "big.pdf",
                content_type: "application/pdf",
                content: &big,
            };
            b.post_multipart(&url, &[], &[file]).await;
            let file = File {
                field: TOOL,
                name: "big.pdf",
                content_type: "application/pdf",
                content: &big,
            };
            let r = b.post_multipart(&url, &[], &[file]).await;
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
            assert_eq!(stored_for(app, TOOL).await, 1);
        })
        .await;
}

/// A body of `total` bytes in 64 KiB pieces that counts how many bytes were read from it.
fn counted_body(prefix: Vec<u8>, total: usize, read: Arc<AtomicUsize>) -> Body {
    let mut pieces = vec![Bytes::from(prefix)];
    let piece = Bytes::from(vec![b'a'; 64 * 1024]);
    let mut sent = pieces[0].len();
    while sent < total {
        pieces.push(piece.clone());
        sent += piece.len();
    }
    let stream = futures_util::stream::iter(pieces.into_iter().map(Ok::<Bytes, std::io::Error>))
        .inspect(move |p| {
            if let Ok(p) = p {
                read.fetch_add(p.len(), Ordering::SeqCst);
            }
        });
    Body::from_stream(stream)
}

#[tokio::test]
async fn a_page_without_file_questions_refuses_a_large_body_before_reading_it() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (b, _) = on_assessments(app).await;
            let mut young = Browser::new(app);
            young.get("/services/ceop/report/who-are-you").await;
            let chosen = young
                .post(
                    "/services/ceop/report/who-are-you",
                    &[(naming::AUDIENCE_FIELD.to_owned(), "young_person".to_owned())],
                )
                .await;
            assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.text());
            // The first SECOS page (no file question) and a CEOP page (uploads forbidden).
            let def = app.registry.get("secos").unwrap();
            let first = &def.stage("referral").unwrap().pages[0];
            assert!(
                first
                    .questions
                    .iter()
                    .all(|q| q.key != TOOL && q.key != DOCS)
            );
            let secos_first = haven_pages::urls::page("secos", "referral", &first.key);
            let ceop = app.registry.get("ceop").unwrap();
            let ceop_first = haven_pages::urls::page(
                "ceop",
                "report",
                &ceop.stage("report").unwrap().pages[0].key,
            );
            for (path, cookie) in [(secos_first, &b.cookie), (ceop_first, &young.cookie)] {
                let read = Arc::new(AtomicUsize::new(0));
                let total = 2 * 1024 * 1024;
                let mut request = Request::builder()
                    .method(Method::POST)
                    .uri(&path)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::CONTENT_LENGTH, total.to_string());
                if let Some(cookie) = cookie {
                    request = request.header(header::COOKIE, cookie);
                }
                let body = counted_body(b"csrf_token=x&".to_vec(), total, read.clone());
                let response = app.request(request.body(body).unwrap()).await;
                assert_eq!(
                    response.status,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "{:?} {path}: {}",
                    app.engine,
                    response.text()
                );
                assert_eq!(
                    read.load(Ordering::SeqCst),
                    0,
                    "{path}: nothing of the body read"
                );
                // Without a length, reading stops at the small limit.
                let read = Arc::new(AtomicUsize::new(0));
                let mut request = Request::builder()
                    .method(Method::POST)
                    .uri(&path)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                if let Some(cookie) = cookie {
                    request = request.header(header::COOKIE, cookie);
                }
                let body = counted_body(b"csrf_token=x&".to_vec(), total, read.clone());
                let response = app.request(request.body(body).unwrap()).await;
                assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
                assert!(read.load(Ordering::SeqCst) <= 1024 * 1024 + 128 * 1024);
            }
        })
        .await;
}

#[tokio::test]
async fn a_multipart_post_without_the_csrf_token_is_refused_before_its_file_is_read() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (b, url) = on_assessments(app).await;
            let boundary = "----hostile-boundary";
            let head = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\nnot-the-token\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"{DOCS}\"; filename=\"big.pdf\"\r\n\
                 Content-Type: application/pdf\r\n\r\n%PDF-1.4\n",
                naming::CSRF_FIELD
            );
            let read = Arc::new(AtomicUsize::new(0));
            // 8 MiB of file that never ends properly: only a server that reads it all notices.
            let body = counted_body(head.into_bytes(), 8 * 1024 * 1024, read.clone());
            let response = app
                .request(
                    Request::builder()
                        .method(Method::POST)
                        .uri(&url)
                        .header(header::COOKIE, b.cookie.clone().unwrap())
                        .header(
                            header::CONTENT_TYPE,
                            format!("multipart/form-data; boundary={boundary}"),
                        )
                        .body(body)
                        .unwrap(),
                )
                .await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.text());
            assert!(
                read.load(Ordering::SeqCst) <= 256 * 1024,
                "{} bytes read",
                read.load(Ordering::SeqCst)
            );
            assert_eq!(count(app, "public_attachments").await, 0);
            assert_eq!(count(app, "public_attachment_chunks").await, 0);
        })
        .await;
}

#[tokio::test]
async fn chunks_cannot_be_reordered_dropped_or_cut_off() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (mut b, url) = on_assessments(app).await;
            // 200 KB: four chunks of 64 KiB (the last shorter).
            let mut content = PDF.to_vec();
            content.extend((0..200 * 1024).map(|i| (i % 251) as u8));
            let file = File {
                field: TOOL,
                name: "tool.pdf",
                content_type: "application/pdf",
                content: &content,
            };
            b.post_multipart(&url, &[], &[file]).await;
            let id: String = sqlx::query("SELECT id FROM public_attachments")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(count(app, "public_attachment_chunks").await, 4);
            // Read back a chunk at a time, whole.
            let mut pieces = 0;
            let mut back = Vec::new();
            app.storage
                .read_attachment(&id, |p| {
                    pieces += 1;
                    back.extend_from_slice(p);
                })
                .await
                .unwrap();
            assert_eq!((pieces, back == content), (4, true));
            let pool = app.storage.pool();
            let exec = async |sql: &str| {
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(pool)
                    .await
                    .unwrap();
            };
            // Swap two chunks' data.
            exec("UPDATE public_attachment_chunks SET seq = 99 WHERE seq = 1").await;
            exec("UPDATE public_attachment_chunks SET seq = 1 WHERE seq = 2").await;
            exec("UPDATE public_attachment_chunks SET seq = 2 WHERE seq = 99").await;
            assert!(
                app.storage.attachment_content(&id).await.is_err(),
                "reordered"
            );
            exec("UPDATE public_attachment_chunks SET seq = 99 WHERE seq = 1").await;
            exec("UPDATE public_attachment_chunks SET seq = 1 WHERE seq = 2").await;
            exec("UPDATE public_attachment_chunks SET seq = 2 WHERE seq = 99").await;
            assert!(
                app.storage.attachment_content(&id).await.is_ok(),
                "put back"
            );
            // Cut off the last chunk, even marking the one before as last.
            exec("DELETE FROM public_attachment_chunks WHERE seq = 3").await;
            assert!(
                app.storage.attachment_content(&id).await.is_err(),
                "cut off"
            );
            exec("UPDATE public_attachment_chunks SET last = 1 WHERE seq = 2").await;
            assert!(
                app.storage.attachment_content(&id).await.is_err(),
                "forged last"
            );
            // A dropped middle chunk.
            exec("DELETE FROM public_attachment_chunks WHERE seq = 1").await;
            assert!(
                app.storage.attachment_content(&id).await.is_err(),
                "dropped"
            );
        })
        .await;
}

#[tokio::test]
async fn files_stored_whole_before_chunking_still_open_and_rotation_rewraps_file_keys() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let (mut b, url) = on_assessments(app).await;
            b.post_multipart(&url, &[], &[pdf(0)]).await;
            let draft: String = sqlx::query("SELECT draft_id FROM public_attachments")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            // The old format: one sealed value in `content`.
            app.storage
                .add_attachment(&haven::storage::drafts::NewAttachment {
                    id: "att_00000000000000000000000000000001".to_owned(),
                    draft_id: &draft,
                    question: TOOL,
                    filename: "old.pdf",
                    media_type: "application/pdf",
                    content: PDF,
                })
                .await
                .unwrap();
            let old = app
                .storage
                .attachment_content("att_00000000000000000000000000000001")
                .await
                .unwrap();
            assert_eq!(&old[..], PDF);
            // Rotation re-wraps the chunked file's key and leaves its chunks alone.
            let chunks_before: Vec<Vec<u8>> =
                sqlx::query("SELECT data FROM public_attachment_chunks")
                    .fetch_all(app.storage.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get(0).unwrap())
                    .collect();
            let key_before: Vec<u8> =
                sqlx::query("SELECT file_key FROM public_attachments WHERE file_key IS NOT NULL")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
            let new_id = app.storage.keys().rotate().unwrap();
            let report = app.storage.rewrap_all(100).await.unwrap();
            assert!(report.failed.is_empty(), "{:?}", report.failed);
            let key_after: Vec<u8> =
                sqlx::query("SELECT file_key FROM public_attachments WHERE file_key IS NOT NULL")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
            assert_ne!(key_before, key_after);
            // A draft's file: its key is its own ("hv2", mode 1), wrapped under the new key.
            assert!(key_after.starts_with(b"hv2\x01"), "{key_after:?}");
            assert_eq!(&key_after[6..6 + new_id.len()], new_id.as_bytes());
            let chunks_after: Vec<Vec<u8>> =
                sqlx::query("SELECT data FROM public_attachment_chunks")
                    .fetch_all(app.storage.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get(0).unwrap())
                    .collect();
            assert_eq!(chunks_before, chunks_after);
            let id: String =
                sqlx::query("SELECT id FROM public_attachments WHERE file_key IS NOT NULL")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
            assert_eq!(&app.storage.attachment_content(&id).await.unwrap()[..], PDF);
        })
        .await;
}

#[tokio::test]
async fn purging_expired_drafts_gives_the_space_back_on_sqlite() {
    builtins()
        .each_engine(async |app: &TestApp| {
            if app.engine != Engine::Sqlite {
                return; // PostgreSQL's autovacuum reuses the space itself
            }
            let pragma = async |name: &str| -> i64 {
                sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap()
            };
            assert_eq!(
                pragma("auto_vacuum").await,
                2,
                "incremental auto-vacuum is on"
            );
            let (mut b, url) = on_assessments(app).await;
            let mut big = PDF.to_vec();
            big.resize(2 * 1024 * 1024, b'%');
            let file = File {
                field: TOOL,
                name: "big.pdf",
                content_type: "application/pdf",
                content: &big,
            };
            b.post_multipart(&url, &[], &[file]).await;
            let full = pragma("page_count").await;
            sqlx::query("UPDATE public_drafts SET expires_at = '2000-01-01T00:00:00.000000Z'")
                .execute(app.storage.pool())
                .await
                .unwrap();
            app.storage
                .delete_expired_drafts(chrono::Utc::now())
                .await
                .unwrap();
            assert_eq!(count(app, "public_attachment_chunks").await, 0);
            assert_eq!(
                pragma("freelist_count").await,
                0,
                "no free pages left in the file"
            );
            assert!(pragma("page_count").await < full / 2, "the file shrank");
        })
        .await;
}
