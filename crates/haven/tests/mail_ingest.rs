//! Email intake (issue 15): messages taken in with `haven mail ingest` (and
//! `intake_email::ingest_message` behind it) become sealed intake items of the service whose
//! intake address received them, exactly once, on SQLite and PostgreSQL.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::Utc;
use common::scan::{assert_absent, checkpoint, persisted, sqlite_files};
use common::{Engine, TestAppBuilder, TestDb, each_database};
use haven::intake_email::{
    IngestOutcome, Ingested, MESSAGE_ID_REUSED, NOT_ADDRESSED, ingest_message,
};
use haven::storage::email_intake::IntakeOutcome;
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../haven-email/tests/corpus")
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join(name)).unwrap()
}

async fn ingest(app: &common::TestApp, raw: &[u8]) -> Ingested {
    ingest_message(
        &app.storage,
        &app.registry,
        &app.key,
        raw,
        Utc::now(),
        "cli",
    )
    .await
    .unwrap()
}

/// Corpus messages addressed to SECOS's intake address that are readable.
const SECOS_DRAFTS: &[&str] = &[
    "plain.eml",
    "alternative.eml",
    "base64_qp.eml",
    "docx_attachment.eml",
    "html_script.eml",
    "iso8859.eml",
    "urgent.eml",
    "utf8_subject.eml",
    "windows1252.eml",
];

#[tokio::test]
async fn secos_messages_become_sealed_drafts_of_secos_once() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let engine = format!("{:?}", app.engine);
            for name in SECOS_DRAFTS {
                let raw = corpus(name);
                let first = ingest(app, &raw).await;
                assert_eq!(
                    first.outcome,
                    IngestOutcome::Draft,
                    "{engine} {name}: {first:?}"
                );
                assert_eq!(first.reference, None);
                assert_eq!(first.reason, None);
                let id = first.item_id.clone().unwrap();
                let stored = app.storage.email_intake_item(&id).await.unwrap().unwrap();
                assert_eq!(stored.service.as_deref(), Some("secos"), "{name}");
                assert_eq!(stored.team.as_deref(), Some("secos"), "{name}");
                assert_eq!(stored.outcome, IntakeOutcome::Draft);
                assert_eq!(stored.status, "new");
                assert_eq!(stored.original, raw, "{name}: the original is kept whole");
                assert!(!stored.sender_verified, "{name}: no trusted list yet");
                let item = stored.item.unwrap();
                assert!(
                    item["text"].as_str().is_some_and(|t| !t.is_empty()),
                    "{name}"
                );

                // The very same file again: a duplicate, nothing more stored.
                let again = ingest(app, &raw).await;
                assert_eq!(again.outcome, IngestOutcome::Duplicate, "{engine} {name}");
                assert_eq!(
                    again.item_id,
                    Some(id),
                    "{name}: names the item already held"
                );
                assert_eq!(again.message_id, first.message_id);
            }
            assert_eq!(
                app.storage.email_intake_ids().await.unwrap().len(),
                SECOS_DRAFTS.len(),
                "{engine}: one item per message"
            );

            // The urgent one is flagged; the plain one is not.
            let urgent = ingest(app, &corpus("urgent.eml")).await;
            let urgent = app
                .storage
                .email_intake_item(&urgent.item_id.unwrap())
                .await
                .unwrap()
                .unwrap();
            assert!(urgent.urgent);
            let plain = ingest(app, &corpus("plain.eml")).await;
            let plain = app
                .storage
                .email_intake_item(&plain.item_id.unwrap())
                .await
                .unwrap()
                .unwrap();
            assert!(!plain.urgent);

            // An audit entry per message taken in.
            let audited: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'email_intake.received'",
            )
            .fetch_one(app.storage.pool())
            .await
            .unwrap();
            assert_eq!(audited as usize, SECOS_DRAFTS.len(), "{engine}");
        })
        .await;
}

#[tokio::test]
async fn redelivered_is_a_duplicate_and_a_reused_message_id_is_quarantined() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let a = ingest(app, &corpus("reused_id_a.eml")).await;
            assert_eq!(a.outcome, IngestOutcome::Draft, "{a:?}");
            // The same message delivered again (another Received header, CRLF): a duplicate.
            let again = ingest(app, &corpus("reused_id_a_redelivered.eml")).await;
            assert_eq!(again.outcome, IngestOutcome::Duplicate, "{again:?}");
            // Other content under the same Message-ID: kept, set aside, with a reason.
            let b = ingest(app, &corpus("reused_id_b.eml")).await;
            assert_eq!(b.outcome, IngestOutcome::Quarantined, "{b:?}");
            assert_eq!(b.reason.as_deref(), Some(MESSAGE_ID_REUSED));
            assert_eq!(
                b.message_id, a.message_id,
                "the same keyed hash is reported"
            );
            let stored = app
                .storage
                .email_intake_item(b.item_id.as_deref().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.outcome, IntakeOutcome::Quarantined);
            assert_eq!(stored.reason.as_deref(), Some(MESSAGE_ID_REUSED));
            assert_eq!(
                stored.message_id_hash, None,
                "the first message keeps the id"
            );
            // And b once more is a duplicate of the quarantined b, not a third item.
            let b_again = ingest(app, &corpus("reused_id_b.eml")).await;
            assert_eq!(b_again.outcome, IngestOutcome::Duplicate);
            assert_eq!(app.storage.email_intake_ids().await.unwrap().len(), 2);
        })
        .await;
}

#[tokio::test]
async fn unreadable_and_unaddressed_messages_are_quarantined_with_a_reason() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            for (name, words) in [
                ("malformed_boundary.eml", "boundary"),
                ("smime_encrypted.eml", "encrypted (S/MIME)"),
                ("pgp_encrypted.eml", "encrypted (PGP)"),
                ("unknown_charset.eml", "x-klingon-9"),
                ("headers_only.eml", "no text or attachments"),
            ] {
                let out = ingest(app, &corpus(name)).await;
                assert_eq!(out.outcome, IngestOutcome::Quarantined, "{name}: {out:?}");
                let reason = out.reason.clone().unwrap_or_default();
                assert!(reason.contains(words), "{name}: {reason}");
                let stored = app
                    .storage
                    .email_intake_item(out.item_id.as_deref().unwrap())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(stored.reason.as_deref(), Some(reason.as_str()));
                assert_eq!(stored.original, corpus(name), "{name}: kept for evidence");
            }
            // Readable, but to no service's intake address.
            let raw = b"From: someone@else.example\r\nTo: manager@council.example\r\n\
                Subject: Hello\r\nMessage-ID: <x-1@else.example>\r\n\r\nNot for SECOS.\r\n";
            let out = ingest(app, raw).await;
            assert_eq!(out.outcome, IngestOutcome::Quarantined);
            assert_eq!(out.reason.as_deref(), Some(NOT_ADDRESSED));
            let stored = app
                .storage
                .email_intake_item(out.item_id.as_deref().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.service, None);
            // Garbage never fails the command.
            let junk = ingest(app, b"\x00\x01\x02 binary junk").await;
            assert_eq!(junk.outcome, IngestOutcome::Quarantined);
        })
        .await;
}

#[tokio::test]
async fn nothing_of_a_message_is_plaintext_at_rest() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let engine = format!("{:?}", app.engine);
            for name in ["plain.eml", "urgent.eml", "reused_id_a.eml"] {
                ingest(app, &corpus(name)).await;
            }
            ingest(app, &corpus("reused_id_b.eml")).await;
            let secrets = [
                // Subjects, text, sender and the plain Message-IDs.
                "Referral for a young person",
                "going missing at night",
                "jo.bloggs@school.example",
                "Jo Bloggs",
                "referral-0001@school.example",
                "reused@school.example",
                "young person B",
            ];
            if app.engine == Engine::Sqlite {
                for secret in secrets {
                    assert_absent(&sqlite_files(app), secret, &engine);
                }
                checkpoint(app).await;
            }
            let at_rest = persisted(app).await;
            for secret in secrets {
                assert_absent(&at_rest, secret, &engine);
            }
        })
        .await;
}

// ---- the command ------------------------------------------------------------------------

fn haven_on(db: &TestDb, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haven"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HAVEN_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HAVEN_DATA_DIR", db.dir.path())
        .env("NO_COLOR", "1")
        .args(args)
        .args(["--database-url", &db.url]);
    cmd.output().unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn haven_mail_ingest_prints_one_json_line_per_message() {
    for db in each_database().await {
        let engine = format!("{:?}", db.engine);
        // A Maildir (new/ and cur/; tmp/ is never read) and a single .eml file.
        let maildir = db.dir.path().join("Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        std::fs::write(maildir.join("new/1.host"), corpus("plain.eml")).unwrap();
        std::fs::write(
            maildir.join("cur/2.host:2,S"),
            corpus("malformed_boundary.eml"),
        )
        .unwrap();
        std::fs::write(maildir.join("tmp/3.host"), corpus("urgent.eml")).unwrap();
        let single = corpus_dir().join("plain.eml");

        let out = haven_on(
            &db,
            &[
                "mail",
                "ingest",
                maildir.to_str().unwrap(),
                single.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{engine}: {out:?}");
        let results = lines(&out);
        assert_eq!(results.len(), 3, "{engine}: {results:?}");
        assert_eq!(results[0]["outcome"], "draft");
        assert_eq!(results[0]["reference"], Value::Null);
        assert!(results[0].get("reason").is_none());
        let id = results[0]["message_id"].as_str().unwrap();
        assert!(
            id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert_eq!(results[1]["outcome"], "quarantined");
        assert!(results[1]["reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert_eq!(results[2]["outcome"], "duplicate");
        assert_eq!(results[2]["message_id"], results[0]["message_id"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("referral-0001"),
            "never the plain Message-ID"
        );

        // A folder of .eml files: the corpus (every message read or quarantined, none fails).
        let out = haven_on(&db, &["mail", "ingest", corpus_dir().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{engine}: {out:?}");
        let results = lines(&out);
        assert!(results.len() > 10);
        for r in &results {
            let outcome = r["outcome"].as_str().unwrap();
            assert!(
                ["draft", "duplicate", "quarantined"].contains(&outcome),
                "{r}"
            );
            assert_eq!(r.get("reason").is_some(), outcome == "quarantined", "{r}");
        }

        // Misuse: a path that is not there, or holds no messages: exit 2, nothing taken.
        let before = lines(&haven_on(
            &db,
            &["mail", "ingest", single.to_str().unwrap()],
        ));
        assert_eq!(before[0]["outcome"], "duplicate");
        let missing = db.dir.path().join("no-such-folder");
        let out = haven_on(
            &db,
            &[
                "mail",
                "ingest",
                single.to_str().unwrap(),
                missing.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{engine}: {out:?}");
        assert!(out.stdout.is_empty(), "nothing taken when a path is wrong");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no-such-folder: no such file or folder"),
            "{stderr}"
        );
        let empty = db.dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let out = haven_on(&db, &["mail", "ingest", empty.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{engine}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("not an .eml file, a Maildir folder"),
            "{stderr}"
        );
        let out = haven_on(&db, &["mail", "ingest"]);
        assert_eq!(out.status.code(), Some(2), "{engine}: no path is misuse");
    }
}
