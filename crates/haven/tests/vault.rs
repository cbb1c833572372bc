//! Encryption at rest: a child's name reaches no byte of the database, sealed values are
//! bound to their place, and master keys rotate while a server keeps running.

use crate::common;

use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use common::run::haven;
use common::scan::{assert_absent, checkpoint, contains, persisted, sqlite_files};
use common::{Engine, TestApp, TestAppBuilder, TestDb};
use haven::access::Role;
use haven::crypto::keyring::{KeyRing, KeyStatus};
use haven::storage::triage::StatusChange;
use haven::storage::{Storage, StorageError};
use serde_json::{Value, json};
use sqlx::Row;

const CHILD: &str = "Zephyrine Quillfeather";

/// The SECOS sample referral about a child called [`CHILD`] (first name alone too).
fn secos_referral_about_the_child() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../services/samples/secos-referral.json");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("Chloe Marsh", CHILD)
        .replace("Chloe", "Zephyrine")
        .replace("Marsh", "Quillfeather");
    let answers: Value = serde_json::from_str(&text).unwrap();
    json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers})
}

async fn submit_about_the_child(app: &TestApp) -> String {
    let response = app
        .post_json("/api/v1/submissions", &secos_referral_about_the_child())
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["reference"].as_str().unwrap().to_owned()
}

/// Free text in the chronology (a band override and a transition reason) naming the child.
async fn chronology_about_the_child(app: &TestApp, reference: &str) -> String {
    let referral = app.storage.find_referral(reference).await.unwrap().unwrap();
    app.storage
        .confirm_band(
            &referral.id,
            "high",
            &format!("{CHILD} disclosed more at school"),
            "user:test",
            Utc::now(),
            &Default::default(),
        )
        .await
        .unwrap();
    let moved = app
        .storage
        .change_status(&StatusChange {
            referral_id: &referral.id,
            from: &referral.status,
            to: "screening_confirmed",
            decision: Some("accept"),
            reason: Some(&format!("Spoke to {CHILD}'s mother")),
            actor: "user:test",
            at: Utc::now(),
            meets_sla: false,
        })
        .await
        .unwrap();
    assert!(moved);
    referral.id
}

#[tokio::test]
async fn a_childs_name_appears_nowhere_in_the_database() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = submit_about_the_child(app).await;
            chronology_about_the_child(app, &reference).await;

            // Not vacuous: staff read the name back through the API and the chronology.
            let (_, token) = app.staff(Role::Admin, None).await;
            let shown = app
                .get_with_token(&format!("/api/v1/referrals/{reference}"), &token)
                .await;
            assert_eq!(shown.status, StatusCode::OK, "{}", shown.text());
            assert_eq!(shown.json()["answers"]["young_person"]["name"], CHILD);
            let chronology = app
                .get_with_token(&format!("/api/v1/referrals/{reference}/chronology"), &token)
                .await;
            assert!(chronology.text().contains(CHILD), "{}", chronology.text());

            // Queue metadata stays clear and queryable.
            let row = sqlx::query("SELECT status, service FROM referrals WHERE reference = $1")
                .bind(&reference)
                .fetch_one(app.storage.pool())
                .await
                .unwrap();
            assert_eq!(row.get::<String, _>(0), "screening_confirmed");
            assert_eq!(row.get::<String, _>(1), "secos");
            // The person index (issue 16) is written, so the scans below cover its tables:
            // blind tokens and the sealed identity, never the name, date or postcode.
            let indexed: i64 = sqlx::query(
                "SELECT COUNT(*) FROM person_tokens t JOIN referrals r ON r.id = t.referral_id
                 WHERE r.reference = $1",
            )
            .bind(&reference)
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
            assert!(indexed > 0, "the person index holds the referral's tokens");

            let engine = format!("{:?}", app.engine);
            if app.engine == Engine::Sqlite {
                let before = sqlite_files(app);
                let wal = app
                    .db
                    .sqlite_file
                    .as_ref()
                    .map(|f| format!("{}-wal", f.display()));
                let wal_len = wal
                    .and_then(|w| std::fs::metadata(w).ok())
                    .map_or(0, |m| m.len());
                assert!(
                    wal_len > 0,
                    "the WAL holds the recent writes before a checkpoint"
                );
                assert!(
                    contains(&before, reference.as_bytes()),
                    "the scan sees the data"
                );
                assert!(contains(&before, b"hv2"), "and the sealed values");
                assert_absent(&before, CHILD, "the SQLite files before a checkpoint");
                assert_absent(&before, "Zephyrine", "the SQLite files before a checkpoint");
                assert_absent(
                    &before,
                    "Quillfeather",
                    "the SQLite files before a checkpoint",
                );
                checkpoint(app).await;
            }
            let after = persisted(app).await;
            assert!(
                contains(&after, reference.as_bytes()),
                "{engine}: the scan sees the data"
            );
            for secret in [
                CHILD,
                "Zephyrine",
                "Quillfeather",
                "Northfield Academy",
                "07700 900 456",
                "07700900456",
                "TS99ZY",
            ] {
                assert_absent(&after, secret, &engine);
            }
        })
        .await;
}

/// The database as an attacker with a copy would see it (SQLite: the files before and after
/// a checkpoint; PostgreSQL: every row), checked for `secret` in every encoding.
async fn assert_nowhere(app: &TestApp, secret: &str, when: &str) {
    let engine = format!("{:?} {when}", app.engine);
    if app.engine == Engine::Sqlite {
        assert_absent(&sqlite_files(app), secret, &engine);
        checkpoint(app).await;
    }
    assert_absent(&persisted(app).await, secret, &engine);
}

#[tokio::test]
async fn totp_secrets_appear_nowhere_in_the_database_and_rotate() {
    use common::staff::{Browser, account, code_now, csrf_of, secret_of};
    use haven::storage::sessions::SessionStage;
    use haven::web::staff::session::{SESSION_COOKIE, new_session_id, session_hash};
    TestAppBuilder::default()
        .each_engine(async |app| {
            let (user_id, email) =
                account(app, Role::Triage, Some("demo-team"), "a-password-for-tests").await;
            // A session that has reached enrolment, as after the first password change.
            let id = new_session_id();
            app.storage
                .create_session(
                    &session_hash(&id),
                    &user_id,
                    SessionStage::Enrol,
                    app.state.staff.clock.now(),
                )
                .await
                .unwrap();
            let mut browser = Browser {
                cookies: vec![(SESSION_COOKIE.to_owned(), id)],
            };
            let page = browser.get(app, "/staff/sign-in/set-up").await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let secret = secret_of(&page.text());
            assert!(secret.len() >= 26, "{secret}");
            // Pending: kept with the session, sealed.
            let pending: Vec<u8> =
                sqlx::query("SELECT pending_totp_secret FROM staff_sessions WHERE user_id = $1")
                    .bind(&user_id)
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .get(0);
            assert!(pending.starts_with(b"hv2"), "{pending:?}");
            assert_nowhere(app, &secret, "pending").await;
            // The same secret is shown again (it opens).
            let again = browser.get(app, "/staff/sign-in/set-up").await;
            assert_eq!(secret_of(&again.text()), secret);

            let csrf = csrf_of(&again.text());
            let done = browser
                .post(
                    app,
                    "/staff/sign-in/set-up",
                    &[("code", &code_now(app, &secret)), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(done.status, StatusCode::OK, "{}", done.text());
            let codes: Vec<String> = done
                .text()
                .split("<code>")
                .skip(1)
                .filter_map(|c| c.split("</code>").next().map(str::to_owned))
                .collect();
            assert_eq!(codes.len(), 10, "{}", done.text());
            let stored: Vec<u8> = sqlx::query("SELECT totp_secret FROM staff_users WHERE id = $1")
                .bind(&user_id)
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
            assert!(stored.starts_with(b"hv2"), "{stored:?}");
            assert_nowhere(app, &secret, "enrolled").await;
            for code in &codes {
                assert_nowhere(app, code, "recovery codes").await;
            }
            let login = app.storage.find_login(&email).await.unwrap().unwrap();
            assert_eq!(login.totp_secret.as_deref(), Some(secret.as_str()));

            // Rotation re-wraps it: the old key then wraps nothing, and the secret still opens.
            let rotator = other_process(&app.db).await;
            let old_key = rotator.keys().current().id().to_owned();
            rotator.keys().rotate().unwrap();
            let report = rotator.rewrap_all(10).await.unwrap();
            assert!(report.failed.is_empty(), "{report:?}");
            let usage = rotator.key_usage().await.unwrap();
            let old = usage.iter().find(|u| u.key_id == old_key).unwrap();
            assert_eq!(old.values, 0, "{usage:?}");
            let login = app.storage.find_login(&email).await.unwrap().unwrap();
            assert_eq!(login.totp_secret.as_deref(), Some(secret.as_str()));
            rotator.close().await;

            // A database from before these columns were sealed holds the secret in
            // plaintext: start-up seals it, so sign-in still works; sealed ones are left be.
            sqlx::query("UPDATE staff_users SET totp_secret = $1 WHERE id = $2")
                .bind(secret.as_bytes().to_vec())
                .bind(&user_id)
                .execute(app.storage.pool())
                .await
                .unwrap();
            let report = app.storage.seal_legacy_secrets().await.unwrap();
            assert_eq!(report.sealed_plaintext, 1, "{report:?}");
            assert_eq!(report.rewrapped, 0, "{report:?}");
            assert_nowhere(app, &secret, "after sealing the legacy secret").await;
            let login = app.storage.find_login(&email).await.unwrap().unwrap();
            assert_eq!(login.totp_secret.as_deref(), Some(secret.as_str()));
            let again = app.storage.seal_legacy_secrets().await.unwrap();
            assert_eq!(
                (again.sealed_plaintext, again.rewrapped),
                (0, 0),
                "{again:?}"
            );
        })
        .await;
}

#[tokio::test]
async fn a_value_moved_to_another_row_or_edited_does_not_open() {
    TestAppBuilder::default()
        .each_engine(async |app| {
            let (first, _) = app.submit_demo().await;
            let (second, _) = app.submit_demo().await;
            sqlx::query(
                "UPDATE referrals SET answers = (SELECT answers FROM referrals WHERE reference = $1)
                 WHERE reference = $2",
            )
            .bind(&first)
            .bind(&second)
            .execute(app.storage.pool())
            .await
            .unwrap();
            let err = app.storage.find_referral(&second).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    StorageError::Sealed {
                        table: "referrals",
                        column: "answers",
                        ..
                    }
                ),
                "{err}"
            );
            assert!(err.to_string().contains("altered, moved"), "{err}");
            // The first still opens; a flipped character does not.
            let stored: Vec<u8> = sqlx::query("SELECT answers FROM referrals WHERE reference = $1")
                .bind(&first)
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
            assert!(app.storage.find_referral(&first).await.unwrap().is_some());
            let mut edited = stored;
            let at = edited.len() - 5;
            edited[at] ^= 1;
            sqlx::query("UPDATE referrals SET answers = $1 WHERE reference = $2")
                .bind(edited)
                .bind(&first)
                .execute(app.storage.pool())
                .await
                .unwrap();
            assert!(matches!(
                app.storage.find_referral(&first).await,
                Err(StorageError::Sealed { .. })
            ));
            // And the API answers a generic 500, never the content or a panic.
            let (_, token) = app.staff(Role::Admin, None).await;
            let response = app
                .get_with_token(&format!("/api/v1/referrals/{first}"), &token)
                .await;
            assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert!(!response.text().contains("Alex"), "{}", response.text());
        })
        .await;
}

#[tokio::test]
async fn unregistered_columns_are_refused() {
    let db = common::sqlite_db();
    let storage = Storage::connect(&db.url, 1, db.master_keys(), &db.secret_key())
        .await
        .unwrap();
    let err = storage.seal("notes", "body", "n1", b"x").unwrap_err();
    assert!(err.to_string().contains("SEALED_COLUMNS"), "{err}");
    storage.close().await;
}

/// Everything a referral holds that is sealed, as read back.
async fn read_everything(storage: &Storage, references: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for reference in references {
        let referral = storage.find_referral(reference).await.unwrap().unwrap();
        seen.push(referral.answers.to_string());
        seen.push(format!("{:?}", referral.screening));
        for entry in storage.chronology(&referral.id).await.unwrap() {
            seen.push(format!("{:?} {:?}", entry.reason, entry.detail));
        }
    }
    seen
}

/// A second process's view of the same database and key ring file (like `haven keys rotate`
/// run next to a server), checking the file only when it meets an unknown key.
async fn other_process(db: &TestDb) -> Storage {
    let keys = KeyRing::load_or_create(None, db.dir.path())
        .unwrap()
        .with_check_interval(Duration::from_secs(3600));
    Storage::connect(&db.url, 2, keys, &db.secret_key())
        .await
        .unwrap()
}

#[tokio::test]
async fn keys_rotate_while_a_server_runs_then_prune() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let mut references = Vec::new();
            for _ in 0..3 {
                let reference = submit_about_the_child(app).await;
                chronology_about_the_child(app, &reference).await;
                references.push(reference);
            }
            // A server that will not look at the key file's time for an hour: it must still
            // open values wrapped under a key it has never loaded.
            let server = other_process(&app.db).await;
            let before = read_everything(&server, &references).await;
            let old_key = server.keys().current().id().to_owned();

            let answers_before: Vec<Vec<u8>> =
                sqlx::query("SELECT answers FROM referrals ORDER BY id")
                    .fetch_all(app.storage.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.get(0))
                    .collect();
            let rotator = other_process(&app.db).await;
            let new_key = rotator.keys().rotate().unwrap();
            let report = rotator.rewrap_all(2).await.unwrap();
            // 3 referrals × their case key: answers, screening, the chronology's reasons and
            // details and the attached files are all sealed under it, so none of them changes.
            assert_eq!(report.rewrapped, 3, "{report:?}");
            let answers_after: Vec<Vec<u8>> =
                sqlx::query("SELECT answers FROM referrals ORDER BY id")
                    .fetch_all(app.storage.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.get(0))
                    .collect();
            assert_eq!(
                answers_before, answers_after,
                "content is never re-encrypted"
            );
            assert!(report.failed.is_empty(), "{report:?}");
            assert_eq!(report.sealed_plaintext, 0);

            assert_eq!(read_everything(&server, &references).await, before);
            assert_eq!(read_everything(&app.storage, &references).await, before);
            // The server has met the new key, so it now seals under it.
            assert_eq!(server.keys().current().id(), new_key);

            let usage = rotator.key_usage().await.unwrap();
            let old = usage.iter().find(|u| u.key_id == old_key).unwrap();
            assert_eq!((old.status, old.values), (KeyStatus::Retired, 0));
            let (removed, kept) = rotator.prune_keys().await.unwrap();
            assert_eq!(removed, vec![old_key.clone()]);
            assert!(kept.is_empty());
            let file = std::fs::read_to_string(app.db.dir.path().join("master.keys")).unwrap();
            assert!(!file.contains(&old_key), "{file}");

            // Read again after pruning, in a fresh process and in the running ones.
            let fresh = other_process(&app.db).await;
            assert_eq!(read_everything(&fresh, &references).await, before);
            assert_eq!(read_everything(&server, &references).await, before);
            let reference = submit_about_the_child(app).await;
            references.push(reference);
            assert_eq!(
                read_everything(&fresh, &references).await.len(),
                before.len() + 3
            );
            for storage in [server, rotator, fresh] {
                storage.close().await;
            }
        })
        .await;
}

#[tokio::test]
async fn haven_keys_rotate_list_and_prune_from_the_command_line() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = submit_about_the_child(app).await;
            chronology_about_the_child(app, &reference).await;
            let references = [reference];
            let before = read_everything(&app.storage, &references).await;
            let old = app.storage.keys().current().id().to_owned();

            let out = haven(
                app,
                &["keys", "rotate", "--grace-secs", "0", "--batch", "1"],
                None,
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            // The case's key: the referral, its chronology and its attached files are all
            // sealed under it.
            assert!(stderr.contains("Re-wrapped 1 values"), "{stderr}");
            // The running app (checking the file on every seal here) moved to the new key.
            let new = app.storage.keys().current().id().to_owned();
            assert_ne!(new, old);
            assert_eq!(read_everything(&app.storage, &references).await, before);

            let out = haven(app, &["keys", "list"], None);
            let listed = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                listed.contains(&format!("{new} current 1 values")),
                "{listed}"
            );
            assert!(
                listed.contains(&format!("{old} retired 0 values")),
                "{listed}"
            );
            assert!(!listed.to_lowercase().contains(&"0".repeat(64)), "ids only");

            let out = haven(app, &["keys", "prune"], None);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            assert!(
                stderr.contains(&format!("Removed retired key {old}")),
                "{stderr}"
            );
            // On PostgreSQL entries are linked (given their `seq`) by the sequencer.
            app.storage.sequence_audit().await.unwrap();
            let audited: Vec<(String, String)> = sqlx::query(
                "SELECT action, record_id FROM audit_log WHERE record_type = 'master_key' ORDER BY seq",
            )
            .fetch_all(app.storage.pool())
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
            assert_eq!(
                audited,
                [("keys.rotated".to_owned(), new.clone()), ("keys.pruned".to_owned(), old.clone())]
            );
            assert_eq!(read_everything(&app.storage, &references).await, before);
        })
        .await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_key_file_others_may_read_is_refused_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestAppBuilder::default().build(common::sqlite_db()).await;
    let file = app.db.dir.path().join("master.keys");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = haven(&app, &["migrate"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    app.storage.close().await;
}

#[tokio::test]
async fn rotation_loses_no_write_made_while_it_runs() {
    TestAppBuilder::default()
        .each_engine(async |app| {
            let mut references = Vec::new();
            for _ in 0..8 {
                references.push(app.submit_demo().await.0);
            }
            let target = app
                .storage
                .find_referral(&references[0])
                .await
                .unwrap()
                .unwrap()
                .id;
            // A server that keeps sealing under the old key for a while (it has not looked
            // at the key file yet), rewriting one referral's answers again and again.
            let lagging = other_process(&app.db).await;
            let rotator = other_process(&app.db).await;
            let old_key = rotator.keys().current().id().to_owned();
            rotator.keys().rotate().unwrap();
            let writer = async {
                for n in 0..30 {
                    let sealed = lagging
                        .seal_json("referrals", "answers", &target, &json!({ "n": n }))
                        .unwrap();
                    sqlx::query("UPDATE referrals SET answers = $1 WHERE id = $2")
                        .bind(sealed)
                        .bind(&target)
                        .execute(lagging.pool())
                        .await
                        .unwrap();
                    tokio::task::yield_now().await;
                }
            };
            let submitter = async {
                let mut more = Vec::new();
                for _ in 0..4 {
                    more.push(app.submit_demo().await.0);
                }
                more
            };
            let (report, (), more) = tokio::join!(rotator.rewrap_all(1), writer, submitter);
            let report = report.unwrap();
            assert!(report.failed.is_empty(), "{report:?}");
            eprintln!("{:?}: {report:?}", app.engine);
            references.extend(more);

            // The last write survived; everything opens; a second pass leaves nothing
            // under the old key.
            let stored: Vec<u8> = sqlx::query("SELECT answers FROM referrals WHERE id = $1")
                .bind(&target)
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
            assert_eq!(
                app.storage
                    .open_json("referrals", "answers", &target, &stored)
                    .unwrap(),
                json!({ "n": 29 })
            );
            rotator.rewrap_all(100).await.unwrap();
            for reference in &references {
                assert!(
                    app.storage
                        .find_referral(reference)
                        .await
                        .unwrap()
                        .is_some()
                );
            }
            let usage = rotator.key_usage().await.unwrap();
            let old = usage.iter().find(|u| u.key_id == old_key).unwrap();
            assert_eq!(old.values, 0, "{usage:?}");
            for storage in [lagging, rotator] {
                storage.close().await;
            }
        })
        .await;
}
