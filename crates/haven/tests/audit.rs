//! The tamper-evident audit log: `haven audit verify` finds edited, deleted, reordered,
//! reinserted and cut-off entries (an attacker with database access is simulated by dropping
//! the append-only triggers); what is audited; what is never stored about reporters.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::run::haven;
use common::scan::{assert_absent, checkpoint, persisted};
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
async fn a_replaced_entry_with_a_correct_hash_is_found_by_the_next_link() {
    each_engine(async |app| {
        six_entries(app).await;
        drop_append_only_triggers(app).await;
        forge_from(app, 3, false).await;
        assert_broken(app, 4, "prev_hash");
    })
    .await;
}

#[tokio::test]
async fn a_recomputed_chain_or_a_cut_tail_is_found_by_the_checkpoint() {
    each_engine(async |app| {
        six_entries(app).await; // writes the checkpoint at seq 6
        drop_append_only_triggers(app).await;
        exec(app, "DELETE FROM audit_log WHERE seq = 6").await;
        assert_broken(app, 6, "truncated");
    })
    .await;
    each_engine(async |app| {
        six_entries(app).await;
        drop_append_only_triggers(app).await;
        forge_from(app, 3, true).await;
        let (code, text) = verify(app);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains("rewritten at or before seq 6"), "{text}");
    })
    .await;
}

/// Rewrites entry `seq` (another actor) with a correctly recomputed hash, and with
/// `relink` every later entry too, as an attacker who knows the hash function would.
async fn forge_from(app: &TestApp, seq: i64, relink: bool) {
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
        let hash = sha256_hex(format!("{prev_hash}{canonical}").as_bytes());
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
