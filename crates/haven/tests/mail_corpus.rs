//! Email intake (issue 15) over a corpus of awkward messages: the hand-written corpus of
//! `haven-email` (`crates/haven-email/tests/corpus/`), the public corpus beside it
//! (`corpus/public/`: mail-parser's own 107 test messages) and odd cases generated here
//! (malformed MIME, deep nesting, odd charsets and encodings, a message past the size
//! limit, a huge attachment, HTML with scripts, NUL bytes, a reused Message-ID with other
//! content). Each becomes a draft or is quarantined with a reason in words, never a panic,
//! a hang or an error; and the Maildir poller takes them all exactly once. On SQLite and
//! PostgreSQL.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use common::TestAppBuilder;
use haven::auth::Clock;
use haven::intake_email::{IngestOutcome, Ingested, MESSAGE_ID_REUSED, ingest_message};
use haven::mail_sources::Intake;
use haven::mail_sources::maildir::MaildirSource;

const TO: &str = "SECOS Project <secos.project@secos.cjsm.net>";

fn head(subject: &str, id: &str, content_type: &str) -> String {
    format!(
        "From: Jo Bloggs <jo.bloggs@school.example>\r\nTo: {TO}\r\nSubject: {subject}\r\n\
         Date: Sun, 6 Dec 2026 09:58:12 +0000\r\nMessage-ID: <{id}@school.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
    )
}

/// Odd messages made here: (name, raw).
fn generated() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, raw: Vec<u8>| out.push((name.to_owned(), raw));

    // Multipart nested 40 deep (the limit is far less): refused, not recursed into.
    let mut nested = head("Nested", "nested-40", "multipart/mixed; boundary=\"b0\"");
    nested.push_str("\r\n");
    for level in 1..40 {
        nested.push_str(&format!(
            "--b{}\r\nContent-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n",
            level - 1
        ));
    }
    nested.push_str("--b39\r\nContent-Type: text/plain\r\n\r\ndeep\r\n");
    for level in (0..40).rev() {
        nested.push_str(&format!("--b{level}--\r\n"));
    }
    add("nested_40_deep", nested.into_bytes());

    // A boundary that never closes, and a part with no headers at all.
    add(
        "unclosed_boundary",
        format!(
            "{}\r\n--x\r\nContent-Type: text/plain\r\n\r\nstarts but never ends\r\n--x\r\n",
            head("Unclosed", "unclosed", "multipart/mixed; boundary=\"x\"")
        )
        .into_bytes(),
    );

    // Charsets nobody has, broken encodings, 8-bit bytes where 7-bit was promised.
    add(
        "bogus_charset_and_encoding",
        format!(
            "{}Content-Transfer-Encoding: base64\r\n\r\n!!!not base64 at all***\r\n",
            head(
                "=?x-klingon?B?SGVsbG8=?= =?utf-8?Q?caf=C3=A9?=",
                "bogus-charset",
                "text/plain; charset=x-klingon"
            )
        )
        .into_bytes(),
    );
    let mut latin = head("Latin-1 bytes", "raw-8bit", "text/plain").into_bytes();
    latin.extend_from_slice(b"\r\nCaf\xe9 cr\xe8me \xff\xfe\x00\x01 and a NUL above\r\n");
    add("raw_8bit_and_nul", latin);

    // HTML only, with scripts, styles, event handlers and a javascript: link.
    add(
        "html_scripts",
        format!(
            "{}\r\n<html><head><script>alert(document.cookie)</script><style>body{{}}</style>\
             </head><body onload=\"steal()\"><p>Concern about <b>A</b></p>\
             <a href=\"javascript:alert(1)\">x</a><img src=x onerror=alert(2)></body></html>\r\n",
            head("HTML", "html-scripts", "text/html; charset=utf-8")
        )
        .into_bytes(),
    );

    // One line of a megabyte, no line breaks at all.
    let mut long = head("Long line", "long-line", "text/plain").into_bytes();
    long.extend_from_slice(b"\r\n");
    long.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    add("one_megabyte_line", long);

    // No headers at all; headers only; an empty file.
    add("no_headers", b"just some text, no headers\r\n".to_vec());
    add(
        "headers_only_no_body",
        head("Headers only", "headers-only", "text/plain").into_bytes(),
    );
    add("empty", Vec::new());

    // Many attachments (more than an email may carry).
    let mut many = head(
        "Many",
        "many-attachments",
        "multipart/mixed; boundary=\"m\"",
    );
    many.push_str("\r\n--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n");
    for i in 0..60 {
        many.push_str(&format!(
            "--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; \
             filename=\"note{i}.txt\"\r\n\r\nnote {i}\r\n"
        ));
    }
    many.push_str("--m--\r\n");
    add("sixty_attachments", many.into_bytes());

    // An attachment past the size limit (12 MB of base64-encoded zeros).
    let mut huge = head("Huge", "huge-attachment", "multipart/mixed; boundary=\"h\"");
    huge.push_str(
        "\r\n--h\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--h\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"big.bin\"\r\n\r\n",
    );
    let line = "A".repeat(76) + "\r\n";
    for _ in 0..(12 * 1024 * 1024 / 57) {
        huge.push_str(&line);
    }
    huge.push_str("--h--\r\n");
    add("huge_attachment", huge.into_bytes());

    // A whole message past the limit of what an email may be.
    let mut past = head("Too big", "too-big", "text/plain").into_bytes();
    past.extend_from_slice(b"\r\n");
    past.extend(std::iter::repeat_n(b'x', 41 * 1024 * 1024));
    add("past_the_message_limit", past);

    out
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../haven-email/tests/corpus")
}

/// Every corpus file and generated message: (name, raw).
fn all_messages() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let mut out: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(p).unwrap(),
            )
        })
        .collect();
    out.extend(generated());
    out
}

/// Takes in one message as `haven mail ingest` does; a hang (over a minute) or an error
/// fails the test, naming the engine and the message.
async fn ingest_within_a_minute(
    app: &common::TestApp,
    engine: &str,
    name: &str,
    raw: &[u8],
) -> Ingested {
    tokio::time::timeout(
        Duration::from_secs(60),
        ingest_message(
            &app.storage,
            &app.registry,
            &app.key,
            raw,
            Utc::now(),
            "cli",
        ),
    )
    .await
    .unwrap_or_else(|_| panic!("{engine} {name}: hung"))
    .unwrap_or_else(|e| panic!("{engine} {name}: {e}"))
}

#[tokio::test]
async fn every_odd_message_is_a_draft_or_quarantined_with_a_reason() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let engine = format!("{:?}", app.engine);
            let mut quarantined = 0;
            for (name, raw) in all_messages() {
                let ingested = ingest_within_a_minute(app, &engine, &name, &raw).await;
                match ingested.outcome {
                    IngestOutcome::Draft => assert_eq!(ingested.reason, None, "{name}"),
                    IngestOutcome::Quarantined => {
                        quarantined += 1;
                        let reason = ingested.reason.clone().unwrap_or_default();
                        assert!(
                            reason.len() > 10 && !reason.contains('_'),
                            "{engine} {name}: a reason in words: {reason:?}"
                        );
                    }
                    // The corpus holds one message delivered twice on purpose. And the
                    // content hash (haven-email) reads only From/To/Cc/Subject/Date and the
                    // body after the blank line, so an empty file counts as the same content
                    // as `no_headers` (no blank line: no header it reads, no body): a weak
                    // spot reported to the lead, kept visible here.
                    IngestOutcome::Duplicate => assert!(
                        name.contains("redelivered") || name == "empty",
                        "{engine} {name}: duplicate?"
                    ),
                }
                if name.starts_with("past_the_message_limit") || name == "huge_attachment" {
                    assert_eq!(
                        ingested.outcome,
                        IngestOutcome::Quarantined,
                        "{engine} {name}: {ingested:?}"
                    );
                }
            }
            assert!(quarantined >= 5, "{engine}: {quarantined}");
            // A Message-ID reused with other content: set aside, the first keeps it.
            let first = head("Reuse", "reused-here", "text/plain") + "\r\nfirst\r\n";
            let second = head("Reuse", "reused-here", "text/plain") + "\r\nsecond, other\r\n";
            let a = ingest_message(
                &app.storage,
                &app.registry,
                &app.key,
                first.as_bytes(),
                Utc::now(),
                "cli",
            )
            .await
            .unwrap();
            let b = ingest_message(
                &app.storage,
                &app.registry,
                &app.key,
                second.as_bytes(),
                Utc::now(),
                "cli",
            )
            .await
            .unwrap();
            assert_eq!(a.outcome, IngestOutcome::Draft, "{engine}");
            assert_eq!(b.outcome, IngestOutcome::Quarantined, "{engine}");
            assert_eq!(b.reason.as_deref(), Some(MESSAGE_ID_REUSED), "{engine}");
        })
        .await;
}

/// The public corpus (mail-parser's own test messages, `tests/corpus/public` of
/// haven-email), each with the `Delivered-To` a receiving server adds: (name, raw).
fn public_messages() -> Vec<(String, Vec<u8>)> {
    let root = corpus_dir().join("public");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "eml") {
                let mut raw = b"Delivered-To: secos.project@secos.cjsm.net\r\n".to_vec();
                raw.extend(std::fs::read(&path).unwrap());
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                out.push((name, raw));
            }
        }
    }
    out.sort();
    out
}

/// Every public test message is taken in: a draft of SECOS, or quarantined with a reason in
/// words; never an error, a panic or a hang.
#[tokio::test]
async fn the_public_corpus_becomes_drafts_or_is_quarantined_with_a_reason() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let engine = format!("{:?}", app.engine);
            let messages = public_messages();
            assert!(messages.len() >= 100, "{}", messages.len());
            let (mut drafts, mut quarantined, mut duplicates) = (0, 0, 0);
            let mut earlier: Vec<Vec<u8>> = Vec::new();
            for (name, raw) in messages {
                // The corpus holds the same bytes twice (malformed/009 and 011).
                let seen_before = earlier.contains(&raw);
                earlier.push(raw.clone());
                let ingested = ingest_within_a_minute(app, &engine, &name, &raw).await;
                match ingested.outcome {
                    IngestOutcome::Draft => drafts += 1,
                    IngestOutcome::Quarantined => {
                        quarantined += 1;
                        let reason = ingested.reason.clone().unwrap_or_default();
                        assert!(
                            reason.len() > 10 && !reason.contains('_'),
                            "{engine} {name}: a reason in words: {reason:?}"
                        );
                    }
                    IngestOutcome::Duplicate => duplicates += 1,
                }
                assert_eq!(
                    ingested.outcome == IngestOutcome::Duplicate,
                    seen_before,
                    "{engine} {name}: a duplicate exactly when the same bytes came before"
                );
            }
            eprintln!(
                "{engine}: public corpus: {drafts} drafts, {quarantined} quarantined, \
                 {duplicates} duplicates"
            );
            assert!(drafts >= 50, "{engine}: {drafts} drafts");
        })
        .await;
}

fn write_maildir(dir: &Path, messages: &[(String, Vec<u8>)]) {
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for (i, (_, raw)) in messages.iter().enumerate() {
        std::fs::write(
            dir.join("new").join(format!("{i:05}.M{i}P1.haven-test")),
            raw,
        )
        .unwrap();
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_maildir_poller_takes_each_message_once_and_marks_it_seen() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let engine = format!("{:?}", app.engine);
            let messages: Vec<_> = all_messages()
                .into_iter()
                .filter(|(name, _)| name != "past_the_message_limit")
                .collect();
            let maildir = tempfile::tempdir().unwrap();
            write_maildir(maildir.path(), &messages);
            // A message still being written is never taken.
            std::fs::write(maildir.path().join("tmp/partial.haven-test"), b"From: x").unwrap();
            let intake = Intake {
                storage: app.storage.clone(),
                registry: app.registry.clone(),
                secret: app.key.clone(),
                clock: Clock::default(),
                settings: Default::default(),
            };
            let source = MaildirSource::new(maildir.path().to_owned(), Duration::from_secs(30));
            let report = source.poll_once(&intake).await.unwrap();
            assert_eq!(report.total(), messages.len(), "{engine}: {report:?}");
            assert!(files(&maildir.path().join("new")).is_empty(), "{engine}");
            let cur = files(&maildir.path().join("cur"));
            assert_eq!(cur.len(), messages.len(), "{engine}");
            assert!(cur.iter().all(|n| n.ends_with(":2,S")), "{engine}: {cur:?}");
            assert_eq!(files(&maildir.path().join("tmp")), ["partial.haven-test"]);
            let held = app.storage.email_intake_ids().await.unwrap().len();
            // Again: nothing waits.
            let again = source.poll_once(&intake).await.unwrap();
            assert_eq!(again.total(), 0, "{engine}: {again:?}");
            // A restart between storing and moving: the file is back in new/, and its
            // content is recognised.
            let back = maildir.path().join("new").join("00000.M0P1.haven-test");
            std::fs::rename(maildir.path().join("cur").join(&cur[0]), &back).unwrap();
            let after_restart = source.poll_once(&intake).await.unwrap();
            assert_eq!(after_restart.duplicates, 1, "{engine}: {after_restart:?}");
            assert_eq!(after_restart.total(), 1, "{engine}");
            assert_eq!(
                app.storage.email_intake_ids().await.unwrap().len(),
                held,
                "{engine}"
            );
        })
        .await;
}

/// Two servers polling one Maildir at once: each message stored exactly once (the second to
/// store it is told "duplicate"; the second to move it finds it gone), every one moved to
/// `cur/`.
#[tokio::test]
async fn two_servers_polling_one_maildir_store_each_message_once() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let engine = format!("{:?}", app.engine);
            let messages: Vec<(String, Vec<u8>)> = (0..30)
                .map(|n| {
                    let raw = head(&format!("Referral {n}"), &format!("two-{n}"), "text/plain")
                        + &format!("\r\nConcerns about young person {n}.\r\n");
                    (format!("two_{n}"), raw.into_bytes())
                })
                .collect();
            let maildir = tempfile::tempdir().unwrap();
            write_maildir(maildir.path(), &messages);
            let other = app.second_server().await;
            let intake_of = |a: &common::TestApp| Intake {
                storage: a.storage.clone(),
                registry: a.registry.clone(),
                secret: a.key.clone(),
                clock: Clock::default(),
                settings: Default::default(),
            };
            let (a, b) = (intake_of(app), intake_of(&other));
            let source = MaildirSource::new(maildir.path().to_owned(), Duration::from_secs(30));
            let (ra, rb) = tokio::join!(source.poll_once(&a), source.poll_once(&b));
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            assert_eq!(
                ra.drafts + rb.drafts,
                messages.len(),
                "{engine}: each stored by exactly one server: {ra:?} {rb:?}"
            );
            let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_intake")
                .fetch_one(app.storage.pool())
                .await
                .unwrap();
            assert_eq!(stored, messages.len() as i64, "{engine}");
            assert!(files(&maildir.path().join("new")).is_empty(), "{engine}");
            assert_eq!(
                files(&maildir.path().join("cur")).len(),
                messages.len(),
                "{engine}"
            );
            other.storage.close().await;
        })
        .await;
}
