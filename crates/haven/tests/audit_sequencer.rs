//! Issue 18: the audit log's writers do not serialise on PostgreSQL. Writers leave entries
//! unsequenced and a sequencer links them in batches (storage `audit_sequencer`). These
//! tests hold it to what `haven audit verify` proved before: concurrent writers on two
//! servers lose and duplicate nothing; two sequencers at once make one chain; a crash
//! between writing and sequencing loses nothing; an entry tampered with while pending is
//! found (and never linked); an existing chain and checkpoint keep verifying after the
//! upgrade. Every test runs on SQLite (one writer, entries linked at once) and PostgreSQL.

use crate::common;

use chrono::Utc;
use common::run::haven;
use common::{Engine, TestApp, each_database, each_engine};
use haven::storage::audit::{AuditEntry, ChainCheck, ChainProblem};
use sqlx::Row;

fn entry(i: usize) -> AuditEntry {
    AuditEntry::new(Utc::now(), "test", "thing.done", "thing", &i.to_string())
}

fn verify(app: &TestApp) -> (Option<i32>, String) {
    let out = haven(app, &["audit", "verify"], None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .get(0)
}

/// Every seq from 1 to `n` once, and every record id `0..n` once.
async fn assert_one_chain_of(app: &TestApp, n: usize) {
    let rows = sqlx::query("SELECT seq, record_id FROM audit_log ORDER BY seq")
        .fetch_all(app.storage.pool())
        .await
        .unwrap();
    let seqs: Vec<Option<i64>> = rows.iter().map(|r| r.get(0)).collect();
    let expected: Vec<Option<i64>> = (1..=n as i64).map(Some).collect();
    assert_eq!(seqs, expected, "{:?}", app.engine);
    let mut ids: Vec<usize> = rows
        .iter()
        .map(|r| r.get::<String, _>(1).parse().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..n).collect::<Vec<_>>(), "{:?}", app.engine);
}

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

#[tokio::test]
async fn concurrent_writers_on_two_servers_while_both_sequence_lose_and_duplicate_nothing() {
    each_engine(async |app| {
        let other = app.second_server().await;
        // Both servers' background sequencers, as two `haven serve` would run them.
        let sequencers: Vec<_> = [&app.storage, &other.storage]
            .into_iter()
            .filter_map(|s| s.spawn_audit_sequencer(std::time::Duration::from_millis(1)))
            .collect();
        let mut tasks = Vec::new();
        for i in 0..120 {
            let storage = if i % 2 == 0 {
                app.storage.clone()
            } else {
                other.storage.clone()
            };
            tasks.push(tokio::spawn(async move {
                storage.append_audit(&entry(i)).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        for task in sequencers {
            task.abort();
        }
        assert_eq!(
            other.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 120 }
        );
        assert_eq!(
            count(app, "SELECT COUNT(*) FROM audit_log WHERE seq IS NULL").await,
            0
        );
        assert_one_chain_of(app, 120).await;
        let (code, text) = verify(app);
        assert_eq!(code, Some(0), "{:?}: {text}", app.engine);
        assert!(text.starts_with("audit log intact: 120 entries"), "{text}");
        other.storage.close().await;
    })
    .await;
}

#[tokio::test]
async fn writers_leave_entries_pending_on_postgres_and_two_sequencers_at_once_make_one_chain() {
    each_engine(async |app| {
        let other = app.second_server().await;
        for i in 0..250 {
            app.storage.append_audit(&entry(i)).await.unwrap();
        }
        let pending = count(app, "SELECT COUNT(*) FROM audit_log WHERE seq IS NULL").await;
        match app.engine {
            // No lock taken, nothing linked yet: the sequencer's work.
            Engine::Postgres => assert_eq!(pending, 250),
            // One writer at a time: linked at once.
            Engine::Sqlite => assert_eq!(pending, 0),
        }
        // Both servers sequencing at once, waiting and skipping, while more is written.
        let a = app.storage.clone();
        let b = other.storage.clone();
        let c = other.storage.clone();
        let writer = app.storage.clone();
        let (ra, rb, rc, rw) = tokio::join!(
            async move { a.sequence_audit().await },
            async move { b.sequence_audit().await },
            async move {
                let mut done = 0;
                for _ in 0..20 {
                    done += c.sequence_audit_round(false, 0).await?.0.sequenced;
                }
                Ok::<u64, haven::storage::StorageError>(done)
            },
            async move {
                for i in 250..300 {
                    writer.append_audit(&entry(i)).await?;
                }
                Ok::<(), haven::storage::StorageError>(())
            }
        );
        let sequenced = ra.unwrap().sequenced + rb.unwrap().sequenced + rc.unwrap();
        rw.unwrap();
        let rest = app.storage.sequence_audit().await.unwrap().sequenced;
        if app.engine == Engine::Postgres {
            assert_eq!(sequenced + rest, 300, "each entry sequenced exactly once");
        }
        assert_one_chain_of(app, 300).await;
        assert_eq!(
            app.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 300 }
        );
        other.storage.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_crash_between_writing_and_sequencing_loses_nothing() {
    each_engine(async |app| {
        // A server writes and dies before any sequencer runs.
        let doomed = app.second_server().await;
        for i in 0..30 {
            doomed.storage.append_audit(&entry(i)).await.unwrap();
        }
        doomed.storage.close().await;
        drop(doomed);
        // Another server's sequencer (or `haven audit verify`) picks the entries up.
        let (code, text) = verify(app);
        assert_eq!(code, Some(0), "{:?}: {text}", app.engine);
        assert!(text.starts_with("audit log intact: 30 entries"), "{text}");
        assert_one_chain_of(app, 30).await;
    })
    .await;
}

#[tokio::test]
async fn an_entry_edited_or_forged_while_pending_is_found_and_never_linked() {
    each_engine(async |app| {
        if app.engine == Engine::Sqlite {
            return; // SQLite links entries as they are written: nothing is ever pending.
        }
        for i in 0..4 {
            app.storage.append_audit(&entry(i)).await.unwrap();
        }
        assert_eq!(verify(app).0, Some(0));
        for i in 4..8 {
            app.storage.append_audit(&entry(i)).await.unwrap();
        }
        drop_append_only_triggers(app).await;
        // The third pending entry edited: another actor.
        sqlx::query(
            "UPDATE audit_log SET actor = 'user:someone-else' WHERE id =
               (SELECT id FROM audit_log WHERE seq IS NULL ORDER BY id OFFSET 2 LIMIT 1)",
        )
        .execute(app.storage.pool())
        .await
        .unwrap();
        let edited: i64 = count(
            app,
            "SELECT id FROM audit_log WHERE actor = 'user:someone-else'",
        )
        .await;
        let (code, text) = verify(app);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains(&format!("at pending entry {edited}"))
                && text.contains("edited or forged before it was sequenced"),
            "{text}"
        );
        // The good ones were linked; the edited one was not.
        assert_eq!(
            count(app, "SELECT COUNT(*) FROM audit_log WHERE seq IS NOT NULL").await,
            7
        );
        assert_eq!(
            app.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::BrokenPending {
                id: edited,
                problem: ChainProblem::BadMac
            }
        );

        // A row slipped in by someone without the key: no MAC, or a made-up one.
        let forged = sqlx::query(
            "INSERT INTO audit_log (at, actor, action, record_type, record_id, key_id, entry_mac)
             SELECT at, 'user:forger', action, record_type, record_id, key_id, repeat('ab', 32)
             FROM audit_log WHERE seq = 1 RETURNING id",
        )
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .get::<i64, _>(0);
        assert!(forged > edited);
        let sequenced = app.storage.sequence_audit().await.unwrap();
        assert_eq!(sequenced.sequenced, 0);
        assert_eq!(sequenced.refused, [edited, forged]);
        // Sequenced entries tampered with are still found by the chain (first problem wins).
        sqlx::query("UPDATE audit_log SET reason = 'changed' WHERE seq = 6")
            .execute(app.storage.pool())
            .await
            .unwrap();
        let (code, text) = verify(app);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains("at seq 6:") && text.contains("edited"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_entry_from_a_server_with_another_key_is_named_as_such() {
    each_engine(async |app| {
        if app.engine == Engine::Sqlite {
            return;
        }
        app.storage.append_audit(&entry(0)).await.unwrap();
        // A server started with another secret key.
        let other_key = haven::crypto::SecretKey::from_hex(&"17".repeat(32)).unwrap();
        let stranger =
            haven::storage::Storage::connect(&app.db.url, 2, app.db.master_keys(), &other_key)
                .await
                .unwrap();
        stranger.append_audit(&entry(1)).await.unwrap();
        stranger.close().await;
        let check = app.storage.verify_audit_chain().await.unwrap();
        assert!(
            matches!(
                check,
                ChainCheck::BrokenPending {
                    problem: ChainProblem::WrongKey { .. },
                    ..
                }
            ),
            "{check:?}"
        );
    })
    .await;
}

/// The migrations before issue 18's.
async fn migrate_before_the_sequencer(url: &str, engine: Engine) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        });
    let mut migrator = sqlx::migrate::Migrator::new(dir).await.unwrap();
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version < 20250101000031)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    migrator.run(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn an_existing_chain_and_checkpoint_keep_verifying_after_the_upgrade() {
    use hmac::Mac as _;
    for db in each_database().await {
        let engine = db.engine;
        migrate_before_the_sequencer(&db.url, engine).await;
        // Five entries as the servers before issue 18 wrote them: seq chosen by the writer,
        // linked at once under the audit key.
        let key = db.secret_key().derive(b"haven audit chain v1");
        let key_id = haven::storage::audit::AuditKey::derive(&db.secret_key())
            .id()
            .to_owned();
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&db.url)
            .await
            .unwrap();
        let mut prev = "0".repeat(64);
        for seq in 1..=5_i64 {
            let at = "2026-11-02T09:00:00Z";
            let canonical = serde_json::json!([
                seq,
                at,
                "cli",
                "user.created",
                "staff_user",
                format!("u{seq}"),
                null
            ])
            .to_string();
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
            mac.update(prev.as_bytes());
            mac.update(canonical.as_bytes());
            let hash = hex::encode(mac.finalize().into_bytes());
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor, action, record_type, record_id, reason, prev_hash, hash, key_id)
                 VALUES ($1, $2, 'cli', 'user.created', 'staff_user', $3, NULL, $4, $5, $6)",
            )
            .bind(seq)
            .bind(at)
            .bind(format!("u{seq}"))
            .bind(&prev)
            .bind(&hash)
            .bind(&key_id)
            .execute(&pool)
            .await
            .unwrap();
            prev = hash;
        }
        pool.close().await;
        // The checkpoint an operator's `haven audit verify` left.
        std::fs::write(
            db.dir.path().join("audit.checkpoint"),
            format!("5 {prev}\n"),
        )
        .unwrap();

        // The upgrade: the new migration, then new writers.
        let app = common::TestAppBuilder::default().build(db).await;
        for i in 0..3 {
            app.storage.append_audit(&entry(i)).await.unwrap();
        }
        app.submit_demo().await;
        let (code, text) = verify(&app);
        assert_eq!(code, Some(0), "{engine:?}: {text}");
        assert!(
            text.starts_with("audit log intact: 9 entries, last seq 9"),
            "{text}"
        );
        assert_eq!(
            app.storage.audit_hash_at(5).await.unwrap().as_deref(),
            Some(prev.as_str()),
            "the old entries are untouched"
        );
        let linked: String = sqlx::query("SELECT prev_hash FROM audit_log WHERE seq = 6")
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            linked, prev,
            "{engine:?}: the new log continues from the old head"
        );
        app.storage.close().await;
    }
}
