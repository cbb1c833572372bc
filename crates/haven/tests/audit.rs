//! The tamper-evident audit log: `haven audit verify` finds edited, deleted, reordered,
//! reinserted, forged and cut-off entries (an attacker with database access is simulated by
//! dropping the append-only triggers), and says when it was given the wrong key; two servers
//! appending at once keep one chain; what is audited (exports included); what is never
//! stored about reporters.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::run::haven;
use common::scan::{assert_absent, checkpoint, persisted};
use common::staff::{Browser, account};
use common::{Engine, TestApp, TestAppBuilder, each_engine, valid_submission};
use haven::access::Role;
use haven::crypto::sha256_hex;
use serde_json::json;
use sqlx::Row;

fn verify(app: &TestApp) -> (Option<i32>, String) {
    let out = haven(app, &["audit", "verify"], None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn assert_broken(app: &TestApp, seq: i64, why: &str) {
    let (code, text) = verify(app);
    assert_eq!(code, Some(1), "{:?}: {text}", app.engine);
    assert!(
        text.contains(&format!("at seq {seq}:")) && text.contains(why),
        "{:?}: expected seq {seq} ({why}), got: {text}",
        app.engine
    );
}

/// Six entries: four submissions, a staff account and its token.
async fn six_entries(app: &TestApp) {
    for _ in 0..4 {
        app.submit_demo().await;
    }
    app.staff(Role::Admin, None).await;
    let (code, text) = verify(app);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.starts_with("audit log intact: 6 entries, last seq 6"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "one line: {text}");
}

/// What an attacker with write access to the database can do first.
async fn drop_append_only_triggers(app: &TestApp) {
    let statements: &[&'static str] = match app.engine {
        Engine::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        Engine::Postgres => &[
            "DROP TRIGGER audit_log_append_only ON audit_log",
            "DROP TRIGGER audit_log_no_truncate ON audit_log",
        ],
    };
    for sql in statements {
        sqlx::query(*sql).execute(app.storage.pool()).await.unwrap();
    }
}

async fn exec(app: &TestApp, sql: &'static str) {
    sqlx::query(sql).execute(app.storage.pool()).await.unwrap();
}

#[tokio::test]
async fn the_triggers_refuse_changes_and_verify_passes_an_intact_log() {
    each_engine(async |app| {
        six_entries(app).await;
        let refused = sqlx::query("UPDATE audit_log SET actor = 'x' WHERE seq = 1")
            .execute(app.storage.pool())
            .await;
        assert!(refused.is_err(), "{:?}: UPDATE must be refused", app.engine);
        let refused = sqlx::query("DELETE FROM audit_log WHERE seq = 6")
            .execute(app.storage.pool())
            .await;
        assert!(refused.is_err(), "{:?}: DELETE must be refused", app.engine);
        let file = app.db.dir.path().join("audit.checkpoint");
        let saved = std::fs::read_to_string(&file).unwrap();
        assert!(saved.starts_with("6 "), "{saved}");
    })
    .await;
}

#[tokio::test]
async fn an_edited_entry_is_found() {
    each_engine(async |app| {
        six_entries(app).await;
        drop_append_only_triggers(app).await;
        exec(
            app,
            "UPDATE audit_log SET actor = 'user:someone-else' WHERE seq = 3",
        )
        .await;
        assert_broken(app, 3, "edited");
    })
    .await;
}

#[tokio::test]
async fn a_deleted_entry_is_found() {
    each_engine(async |app| {
        six_entries(app).await;
        drop_append_only_triggers(app).await;
        exec(app, "DELETE FROM audit_log WHERE seq = 3").await;
        assert_broken(app, 4, "missing");
    })
    .await;
}

#[tokio::test]
async fn reordered_entries_are_found() {
    each_engine(async |app| {
        six_entries(app).await;
        drop_append_only_triggers(app).await;
        exec(app, "UPDATE audit_log SET seq = -2 WHERE seq = 2").await;
        exec(app, "UPDATE audit_log SET seq = 2 WHERE seq = 3").await;
        exec(app, "UPDATE audit_log SET seq = 3 WHERE seq = -2").await;
        assert_broken(app, 2, "reordered");
    })
    .await;
}

#[tokio::test]
async fn a_reinserted_entry_is_found() {
    each_engine(async |app| {
        six_entries(app).await;
        drop_append_only_triggers(app).await;
        // Entry 2 taken out and put back at the end, hashes and all.
        exec(app, "UPDATE audit_log SET seq = 7 WHERE seq = 2").await;
        assert_broken(app, 3, "expected seq 2");
    })
    .await;
}

#[tokio::test]
async fn a_forged_entry_with_recomputed_sha256_hashes_is_found() {
    // Only entry 3 rewritten (its link to entry 4 then breaks too), and entry 3 with every
    // later entry relinked, as an attacker who knows the old, unkeyed hash function would.
    for relink in [false, true] {
        each_engine(async |app| {
            six_entries(app).await;
            drop_append_only_triggers(app).await;
            forge_from(app, 3, relink, Forgery::Sha256).await;
            assert_broken(app, 3, "unkeyed SHA-256");
        })
        .await;
    }
}

#[tokio::test]
async fn a_chain_relinked_under_a_guessed_key_is_found() {
    each_engine(async |app| {
        six_entries(app).await;
        drop_append_only_triggers(app).await;
        forge_from(app, 3, true, Forgery::HmacUnder([7; 32])).await;
        assert_broken(app, 3, "edited or forged");
    })
    .await;
}

#[tokio::test]
async fn a_cut_tail_is_found_by_the_checkpoint() {
    each_engine(async |app| {
        six_entries(app).await; // writes the checkpoint at seq 6
        drop_append_only_triggers(app).await;
        exec(app, "DELETE FROM audit_log WHERE seq = 6").await;
        assert_broken(app, 6, "truncated");
    })
    .await;
}

#[tokio::test]
async fn verifying_with_the_wrong_secret_key_says_so() {
    each_engine(async |app| {
        six_entries(app).await;
        let key_file = app.db.dir.path().join("secret.key");
        let right = std::fs::read_to_string(&key_file).unwrap();
        std::fs::write(&key_file, format!("{}\n", "17".repeat(32))).unwrap();
        let (code, text) = verify(app);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains("at seq 1:")
                && text.contains("secret key")
                && text.contains("is not the one"),
            "{:?}: {text}",
            app.engine
        );
        std::fs::remove_file(&key_file).unwrap();
        let (code, text) = verify(app);
        assert_eq!(code, Some(2), "no key at all is bad input: {text}");
        assert!(text.contains("no server secret key"), "{text}");
        assert!(!key_file.exists(), "verify must not make up a key");
        std::fs::write(&key_file, right).unwrap();
        assert_eq!(verify(app).0, Some(0));
    })
    .await;
}

#[tokio::test]
async fn two_servers_appending_at_once_keep_one_valid_chain() {
    each_engine(async |app| {
        let other = app.second_server().await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let storage = if i % 2 == 0 {
                app.storage.clone()
            } else {
                other.storage.clone()
            };
            tasks.push(tokio::spawn(async move {
                let entry = haven::storage::audit::AuditEntry::new(
                    chrono::Utc::now(),
                    "test",
                    "thing.done",
                    "thing",
                    &i.to_string(),
                );
                storage.append_audit(&entry).await
            }));
        }
        // And submissions through both servers' routers at the same time.
        let (a, b) = tokio::join!(app.submit_demo(), other.submit_demo());
        assert_ne!(a.0, b.0);
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(
            other.storage.verify_audit_chain().await.unwrap(),
            haven::storage::audit::ChainCheck::Intact { entries: 42 }
        );
        let (code, text) = verify(app);
        assert_eq!(code, Some(0), "{:?}: {text}", app.engine);
        assert!(text.starts_with("audit log intact: 42 entries"), "{text}");
        other.storage.close().await;
    })
    .await;
}

/// How [`forge_from`] recomputes hashes.
#[derive(Clone, Copy)]
enum Forgery {
    /// The plain SHA-256 chain of old.
    Sha256,
    /// HMAC-SHA256 under a key that is not the server's.
    HmacUnder([u8; 32]),
}

/// Rewrites entry `seq` (another actor) with a recomputed hash, and with `relink` every
/// later entry too, keeping each entry's `key_id` as it was.
async fn forge_from(app: &TestApp, seq: i64, relink: bool, forgery: Forgery) {
    use hmac::Mac as _;
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, record_type, record_id, reason, prev_hash
         FROM audit_log WHERE seq >= $1 ORDER BY seq",
    )
    .bind(seq)
    .fetch_all(app.storage.pool())
    .await
    .unwrap();
    let mut prev: Option<String> = None;
    for (i, row) in rows.iter().enumerate() {
        if i > 0 && !relink {
            break;
        }
        let s: i64 = row.get(0);
        let actor: String = if i == 0 {
            "user:someone-else".into()
        } else {
            row.get(2)
        };
        let prev_hash = prev.clone().unwrap_or_else(|| row.get(7));
        let canonical = json!([
            s,
            row.get::<String, _>(1),
            actor,
            row.get::<String, _>(3),
            row.get::<String, _>(4),
            row.get::<Option<String>, _>(5),
            row.get::<Option<String>, _>(6)
        ])
        .to_string();
        let hash = match forgery {
            Forgery::Sha256 => sha256_hex(format!("{prev_hash}{canonical}").as_bytes()),
            Forgery::HmacUnder(key) => {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
                mac.update(prev_hash.as_bytes());
                mac.update(canonical.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
        };
        sqlx::query("UPDATE audit_log SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(&actor)
            .bind(&prev_hash)
            .bind(&hash)
            .bind(s)
            .execute(app.storage.pool())
            .await
            .unwrap();
        prev = Some(hash);
    }
}

async fn actions(app: &TestApp, actor: &str) -> Vec<String> {
    sqlx::query("SELECT action FROM audit_log WHERE actor = $1 ORDER BY seq")
        .bind(actor)
        .fetch_all(app.storage.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn reads_screening_and_permission_changes_are_audited() {
    each_engine(async |app| {
        let (reference, _) = app.submit_demo().await;
        let (user, token) = app.staff(Role::Admin, None).await;
        let actor = format!("user:{user}");
        for path in [
            format!("/api/v1/referrals/{reference}"),
            format!("/api/v1/referrals/{reference}/chronology"),
        ] {
            assert_eq!(
                app.get_with_token(&path, &token).await.status,
                StatusCode::OK
            );
        }
        let screen = app
            .request(
                Request::post("/api/v1/screen")
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(Body::from(
                        json!({"service": "demo", "answers": valid_submission()["answers"]})
                            .to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        assert_eq!(screen.status, StatusCode::OK, "{}", screen.text());
        assert_eq!(
            actions(app, &actor).await,
            [
                "referral.viewed",
                "referral.chronology_viewed",
                "screening.run"
            ]
        );

        // Permission changes made with the command line.
        let out = haven(
            app,
            &[
                "admin",
                "create-user",
                "--email",
                "cpa@example.org",
                "--role",
                "admin",
            ],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = haven(
            app,
            &["admin", "create-token", "--email", "cpa@example.org"],
            None,
        );
        assert_eq!(out.status.code(), Some(0));
        let new_token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let out = haven(
            app,
            &["admin", "revoke-token"],
            Some(&format!("{new_token}\n")),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = haven(
            app,
            &["admin", "revoke-token"],
            Some(&format!("{new_token}\n")),
        );
        assert_eq!(out.status.code(), Some(2), "a revoked token is not live");
        assert_eq!(
            actions(app, "cli").await,
            ["user.created", "token.created", "token.revoked"]
        );
        assert_eq!(verify(app).0, Some(0));
    })
    .await;
}

#[tokio::test]
async fn every_export_of_case_data_is_audited_with_what_was_exported() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let response = app
                .post_json(
                    "/api/v1/submissions",
                    &json!({"service": "secos", "stage": "referral", "audience": "professional",
                            "answers": common::sample("secos-referral")}),
                )
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let reference = response.json()["reference"].as_str().unwrap().to_owned();
            let referral = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            let (user, _) = account(app, Role::Triage, Some("secos"), "a-password-for-tests").await;
            let mut browser = Browser::signed_in(app, &user).await;
            let family = browser
                .get(app, &format!("/staff/cases/{reference}/family"))
                .await;
            assert_eq!(family.status, StatusCode::OK);
            // Someone of another team is refused (404), and nothing is exported.
            let (outsider, _) =
                account(app, Role::Triage, Some("ceop"), "a-password-for-tests").await;
            let mut other = Browser::signed_in(app, &outsider).await;
            let refused = other
                .get(app, &format!("/staff/cases/{reference}/family"))
                .await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND);
            let rows = sqlx::query(
                "SELECT actor, record_type, record_id, reason FROM audit_log
                 WHERE action = 'case.exported' ORDER BY seq",
            )
            .fetch_all(app.storage.pool())
            .await
            .unwrap();
            let exports: Vec<(String, String, String, String)> = rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect();
            assert_eq!(
                exports,
                [(
                    format!("user:{user}"),
                    "referral".to_owned(),
                    referral.id.clone(),
                    "family_copy".to_owned()
                )],
                "{:?}",
                app.engine
            );
            assert_eq!(verify(app).0, Some(0));
        })
        .await;
}

#[tokio::test]
async fn reporter_addresses_and_user_agents_are_never_stored() {
    const ADDRESS: &str = "203.0.113.77";
    const AGENT: &str = "HavenProbe/9.9 (Quixotic-Wombat)";
    TestAppBuilder::default()
        .trust_forwarded_for()
        .each_engine(async |app| {
            let response = app
                .request(
                    Request::post("/api/v1/submissions")
                        .header("content-type", "application/json")
                        .header("x-forwarded-for", ADDRESS)
                        .header("x-real-ip", ADDRESS)
                        .header("user-agent", AGENT)
                        .body(Body::from(valid_submission().to_string()))
                        .unwrap(),
                )
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let engine = format!("{:?}", app.engine);
            let before = persisted(app).await;
            checkpoint(app).await;
            let after = persisted(app).await;
            for bytes in [before, after] {
                assert_absent(&bytes, ADDRESS, &engine);
                assert_absent(&bytes, "Quixotic-Wombat", &engine);
                assert_absent(&bytes, "HavenProbe", &engine);
            }
        })
        .await;
}
