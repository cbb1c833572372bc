//! The sealed format, version 2: binary columns, compression, per-case keys. Values written
//! by the previous format (`hv1:` text) keep opening, rotate and move to the new format;
//! destroying a case's key makes every sealed value of that case unreadable while other
//! cases open as before.

use crate::common;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::{Engine, TestApp, TestAppBuilder};
use haven::crypto::envelope::{self, Place};
use haven::storage::StorageError;
use haven::storage::referrals::NewReferral;
use haven::storage::triage::StatusChange;
use haven_core::calendar;
use haven_core::screening;
use serde_json::{Value, json};
use sqlx::Row;

const CHILD: &str = "Zephyrine Quillfeather";

/// The SECOS sample referral (with its two attached files) about a child called [`CHILD`].
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

/// Submits the referral; returns its reference and id.
async fn submit(app: &TestApp) -> (String, String) {
    let response = app
        .post_json("/api/v1/submissions", &secos_referral_about_the_child())
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let reference = response.json()["reference"].as_str().unwrap().to_owned();
    let referral = app
        .storage
        .find_referral(&reference)
        .await
        .unwrap()
        .unwrap();
    (reference, referral.id)
}

/// A note and a transition with a reason, both naming the child; returns the event id of
/// the transition.
async fn casework(app: &TestApp, referral_id: &str) -> i64 {
    app.storage
        .add_note(
            referral_id,
            "user:test",
            &format!("{CHILD} met her key worker"),
            Utc::now(),
        )
        .await
        .unwrap();
    let referral_status: String = sqlx::query("SELECT status FROM referrals WHERE id = $1")
        .bind(referral_id)
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .get(0);
    let moved = app
        .storage
        .change_status(&StatusChange {
            referral_id,
            from: &referral_status,
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
    sqlx::query("SELECT MAX(id) FROM referral_events WHERE referral_id = $1 AND reason IS NOT NULL")
        .bind(referral_id)
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .get(0)
}

/// Everything sealed of a case, opened: answers, screening, chronology, notes, files.
async fn open_everything(app: &TestApp, reference: &str) -> Result<Vec<String>, StorageError> {
    let referral = app
        .storage
        .find_referral(reference)
        .await?
        .expect("the referral is there");
    let mut seen = vec![
        referral.answers.to_string(),
        format!("{:?}", referral.screening),
    ];
    for entry in app.storage.chronology(&referral.id).await? {
        seen.push(format!("{:?} {:?}", entry.reason, entry.detail));
    }
    for note in app.storage.notes(&referral.id).await? {
        seen.push(note.body);
    }
    for file in app.storage.referral_attachments(&referral.id).await? {
        let content = app.storage.attachment_content(&file.id).await?;
        seen.push(format!("{} {}", file.filename, content.len()));
    }
    Ok(seen)
}

/// The stored bytes of one sealed column of one row.
async fn stored(app: &TestApp, table: &str, column: &str, id_column: &str, id: &str) -> Vec<u8> {
    let sql = format!("SELECT {column} FROM {table} WHERE CAST({id_column} AS TEXT) = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_owned())
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn sealed_columns_are_binary_compressed_and_under_the_case_key() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, id) = submit(app).await;
            let referral = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            let answers = stored(app, "referrals", "answers", "id", &id).await;
            assert!(answers.starts_with(b"hv2"), "the new format");
            assert!(
                !answers.windows(9).any(|w| w == b"Zephyrine"),
                "sealed, not plain"
            );
            let plain = referral.answers.to_string().len();
            assert!(
                answers.len() < plain,
                "compressed before sealing: {} bytes at rest for {plain} bytes of JSON",
                answers.len()
            );
            // Binary columns on both engines.
            let kind: String = match app.engine {
                Engine::Sqlite => {
                    sqlx::query("SELECT typeof(answers) FROM referrals WHERE id = $1")
                        .bind(&id)
                        .fetch_one(app.storage.pool())
                        .await
                        .unwrap()
                        .get(0)
                }
                Engine::Postgres => {
                    sqlx::query("SELECT pg_typeof(answers)::text FROM referrals WHERE id = $1")
                        .bind(&id)
                        .fetch_one(app.storage.pool())
                        .await
                        .unwrap()
                        .get(0)
                }
            };
            assert!(["blob", "bytea"].contains(&kind.as_str()), "{kind}");
            // One case key, kept in its own table.
            let keys: i64 = sqlx::query("SELECT COUNT(*) FROM case_keys WHERE referral_id = $1")
                .bind(&id)
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
            assert_eq!(keys, 1);
            // The files claimed by the case moved under its key too.
            let files = app.storage.referral_attachments(&id).await.unwrap();
            assert_eq!(files.len(), 2, "the sample's two files");
            for file in &files {
                for column in ["filename", "file_key"] {
                    let value = stored(app, "public_attachments", column, "id", &file.id).await;
                    // "hv2", mode 2 (case key), flags, the case id's length, the case id.
                    assert_eq!(&value[..4], b"hv2\x02", "{column}: under the case key");
                    assert_eq!(&value[6..6 + id.len()], id.as_bytes(), "{column}");
                }
            }
        })
        .await;
}

#[tokio::test]
async fn destroying_a_case_key_makes_every_value_of_that_case_unreadable_only() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (shredded, shredded_id) = submit(app).await;
            casework(app, &shredded_id).await;
            let (kept, kept_id) = submit(app).await;
            casework(app, &kept_id).await;
            let kept_before = open_everything(app, &kept).await.unwrap();
            assert!(open_everything(app, &shredded).await.is_ok());

            assert!(app.storage.destroy_case_key(&shredded).await.unwrap());
            // Every sealed value of the case: answers and screening (one read), the
            // chronology's reasons, notes, and its files.
            let err = app.storage.find_referral(&shredded).await.unwrap_err();
            assert!(matches!(err, StorageError::Sealed { .. }), "{err}");
            assert!(err.to_string().contains("not available"), "{err}");
            assert!(matches!(
                app.storage.chronology(&shredded_id).await,
                Err(StorageError::Sealed { .. })
            ));
            assert!(matches!(
                app.storage.notes(&shredded_id).await,
                Err(StorageError::Sealed { .. })
            ));
            assert!(matches!(
                app.storage.referral_attachments(&shredded_id).await,
                Err(StorageError::Sealed { .. })
            ));
            let files: Vec<String> =
                sqlx::query("SELECT id FROM public_attachments WHERE referral_id = $1")
                    .bind(&shredded_id)
                    .fetch_all(app.storage.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.get(0))
                    .collect();
            assert_eq!(files.len(), 2);
            for file in &files {
                assert!(matches!(
                    app.storage.attachment_content(file).await,
                    Err(StorageError::Sealed { .. })
                ));
            }
            // No new key is made for a destroyed case, so nothing new is sealed for it.
            assert!(
                app.storage
                    .add_note(&shredded_id, "user:test", "more", Utc::now())
                    .await
                    .is_err()
            );
            // The key row holds nothing; the other case opens exactly as before.
            let row = sqlx::query(
                "SELECT key_id, wrapped, destroyed_at FROM case_keys WHERE referral_id = $1",
            )
            .bind(&shredded_id)
            .fetch_one(app.storage.pool())
            .await
            .unwrap();
            assert!(row.get::<Option<String>, _>(0).is_none());
            assert!(row.get::<Option<Vec<u8>>, _>(1).is_none());
            assert!(row.get::<Option<String>, _>(2).is_some());
            assert_eq!(open_everything(app, &kept).await.unwrap(), kept_before);
            // Audited, without content.
            let audited: i64 = sqlx::query(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'case_key.destroyed' AND record_id = $1",
            )
            .bind(&shredded_id)
            .fetch_one(app.storage.pool())
            .await
            .unwrap()
            .get(0);
            assert_eq!(audited, 1);
            // Rotation and key counts skip the destroyed key and still cover the kept case.
            app.storage.keys().rotate().unwrap();
            let report = app.storage.rewrap_all(10).await.unwrap();
            assert!(report.failed.is_empty(), "{report:?}");
            assert_eq!(open_everything(app, &kept).await.unwrap(), kept_before);
        })
        .await;
}

#[tokio::test]
async fn hv1_values_from_the_previous_format_open_rotate_and_upgrade() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, id) = submit(app).await;
            let event_id = casework(app, &id).await;
            let before = open_everything(app, &reference).await.unwrap();
            let referral = app.storage.find_referral(&reference).await.unwrap().unwrap();
            let note_id: String = sqlx::query("SELECT id FROM case_notes WHERE referral_id = $1")
                .bind(&id)
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
            let note = app.storage.notes(&id).await.unwrap().remove(0).body;
            let reason = app
                .storage
                .chronology(&id)
                .await
                .unwrap()
                .into_iter()
                .find_map(|e| e.reason)
                .unwrap();

            // Rewrite them exactly as the previous code wrote them (`hv1:` text, its own
            // data key per value), kept as bytes by the migration; the case had no case key.
            let master = app.storage.keys().current();
            let event_id = event_id.to_string();
            let old_values: [(&str, &str, &str, &str, Vec<u8>); 4] = [
                ("referrals", "answers", "id", id.as_str(), referral.answers.to_string().into_bytes()),
                (
                    "referrals",
                    "screening",
                    "id",
                    id.as_str(),
                    referral.screening.as_ref().unwrap().to_string().into_bytes(),
                ),
                ("case_notes", "body", "id", note_id.as_str(), note.clone().into_bytes()),
                ("referral_events", "reason", "id", event_id.as_str(), reason.clone().into_bytes()),
            ];
            for (table, column, id_column, row_id, plain) in &old_values {
                let place = Place {
                    table,
                    column,
                    id: row_id,
                };
                let hv1 = envelope::seal(&master, place, plain).unwrap();
                assert!(hv1.starts_with(&format!("hv1:{}:", master.id())));
                let sql = format!(
                    "UPDATE {table} SET {column} = $1 WHERE CAST({id_column} AS TEXT) = $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(hv1.into_bytes())
                    .bind(row_id.to_string())
                    .execute(app.storage.pool())
                    .await
                    .unwrap();
            }
            // A row from before compact screening names no rules: its sealed result is read.
            sqlx::query("UPDATE referrals SET screening_rules_id = NULL WHERE id = $1")
                .bind(&id)
                .execute(app.storage.pool())
                .await
                .unwrap();
            // The detail of the other events stays hv2 under the case key: drop the key's
            // row only for a case whose values are all hv1, so keep the key here; a case
            // with no key at all is covered below.
            assert_eq!(open_everything(app, &reference).await.unwrap(), before);
            let usage = app.storage.key_usage().await.unwrap();
            let under_current = usage
                .iter()
                .find(|u| u.key_id == master.id())
                .unwrap()
                .values;
            assert!(under_current >= 5, "4 hv1 values and the case key: {usage:?}");

            // Rotation re-wraps hv1 values in place (they stay hv1, under the new key).
            let new_id = app.storage.keys().rotate().unwrap();
            let report = app.storage.rewrap_all(2).await.unwrap();
            assert!(report.failed.is_empty(), "{report:?}");
            assert!(report.rewrapped >= 5, "{report:?}");
            let answers = stored(app, "referrals", "answers", "id", &id).await;
            assert!(
                answers.starts_with(format!("hv1:{new_id}:").as_bytes()),
                "{}",
                String::from_utf8_lossy(&answers[..20])
            );
            assert_eq!(open_everything(app, &reference).await.unwrap(), before);
            let (removed, kept) = app.storage.prune_keys().await.unwrap();
            assert_eq!(removed, [master.id().to_owned()], "{kept:?}");

            // Upgrade re-seals them in the new format under the case key.
            let report = app.storage.upgrade_all(3).await.unwrap();
            assert!(report.failed.is_empty(), "{report:?}");
            assert_eq!(report.upgraded, 4, "{report:?}");
            for (table, column, id_column, row_id, _) in &old_values {
                let value = stored(app, table, column, id_column, row_id).await;
                assert!(value.starts_with(b"hv2\x02"), "{table}.{column}");
            }
            assert_eq!(open_everything(app, &reference).await.unwrap(), before);
            let again = app.storage.upgrade_all(3).await.unwrap();
            assert_eq!(again.upgraded, 0, "{again:?}");

            // A case from before case keys: every value hv1 and no key row. It opens, upgrade
            // makes its key, and destroying that key then shreds it.
            let (old_case, old_id) = submit(app).await;
            let old_referral = app.storage.find_referral(&old_case).await.unwrap().unwrap();
            let master = app.storage.keys().current();
            for (column, plain) in [
                ("answers", old_referral.answers.to_string()),
                ("screening", old_referral.screening.as_ref().unwrap().to_string()),
            ] {
                let place = Place {
                    table: "referrals",
                    column,
                    id: &old_id,
                };
                let hv1 = envelope::seal(&master, place, plain.as_bytes()).unwrap();
                let sql = format!("UPDATE referrals SET {column} = $1 WHERE id = $2");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(hv1.into_bytes())
                    .bind(&old_id)
                    .execute(app.storage.pool())
                    .await
                    .unwrap();
            }
            for table in ["referral_events", "public_attachment_chunks", "public_attachments"] {
                let sql = match table {
                    "public_attachment_chunks" => "DELETE FROM public_attachment_chunks WHERE attachment_id IN (SELECT id FROM public_attachments WHERE referral_id = $1)",
                    "public_attachments" => "DELETE FROM public_attachments WHERE referral_id = $1",
                    _ => "UPDATE referral_events SET detail = NULL, reason = NULL WHERE referral_id = $1",
                };
                sqlx::query(sql)
                    .bind(&old_id)
                    .execute(app.storage.pool())
                    .await
                    .unwrap();
            }
            sqlx::query("DELETE FROM case_keys WHERE referral_id = $1")
                .bind(&old_id)
                .execute(app.storage.pool())
                .await
                .unwrap();
            sqlx::query("UPDATE referrals SET screening_rules_id = NULL WHERE id = $1")
                .bind(&old_id)
                .execute(app.storage.pool())
                .await
                .unwrap();
            let opened = app.storage.find_referral(&old_case).await.unwrap().unwrap();
            assert_eq!(opened.answers, old_referral.answers);
            assert_eq!(opened.screening, old_referral.screening);
            let report = app.storage.upgrade_all(100).await.unwrap();
            assert_eq!(report.upgraded, 2, "{report:?}");
            let opened = app.storage.find_referral(&old_case).await.unwrap().unwrap();
            assert_eq!(opened.answers, old_referral.answers);
            assert!(app.storage.destroy_case_key(&old_case).await.unwrap());
            assert!(app.storage.find_referral(&old_case).await.is_err());
            assert_eq!(open_everything(app, &reference).await.unwrap(), before);
        })
        .await;
}

/// What intake computed for the referral: its screening on the day it was received.
fn screened_at_intake(app: &TestApp, answers: &Value, received_at: DateTime<Utc>) -> Value {
    let def = app.registry.get("secos").unwrap();
    let result = screening::screen(def, answers, calendar::london_date(received_at)).unwrap();
    serde_json::to_value(result).unwrap()
}

#[tokio::test]
async fn screening_is_stored_as_the_rules_that_made_it_and_read_back_exactly() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let (reference, id) = submit(app).await;
            let referral = app
                .storage
                .find_referral(&reference)
                .await
                .unwrap()
                .unwrap();
            let shown = screened_at_intake(app, &referral.answers, referral.received_at);
            assert!(
                !shown["reasons"].as_array().unwrap().is_empty(),
                "the sample has reasons: {shown}"
            );
            assert_eq!(referral.screening.as_ref(), Some(&shown));

            // At rest: no sealed copy of the result, only the rules that rebuild it.
            let row = sqlx::query(
                "SELECT r.screening, r.screening_rules_id, s.service, s.rules_version
                 FROM referrals r JOIN screening_rules s ON s.id = r.screening_rules_id
                 WHERE r.id = $1",
            )
            .bind(&id)
            .fetch_one(app.storage.pool())
            .await
            .unwrap();
            assert!(
                row.get::<Option<Vec<u8>>, _>(0).is_none(),
                "no sealed result"
            );
            let rules_id: i64 = row.get(1);
            assert_eq!(row.get::<String, _>(2), "secos");
            assert_eq!(
                Some(row.get::<String, _>(3)),
                shown["rules_version"].as_str().map(str::to_owned)
            );
            // A new SQLite database has 8 KiB pages (rows of ~1.5 KB fill them well).
            if app.engine == Engine::Sqlite {
                let page_size: i64 = sqlx::query("PRAGMA page_size")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(page_size, 8192);
            }
            // One row per definition, however many referrals it screened.
            submit(app).await;
            let rows: i64 = sqlx::query("SELECT COUNT(*) FROM screening_rules")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
            assert_eq!(rows, 1);

            // Another server (nothing remembered) reads the same words from the database.
            let other = app.db.open_storage(2).await;
            let again = other.find_referral(&reference).await.unwrap().unwrap();
            assert_eq!(again.screening.as_ref(), Some(&shown));

            // The definition changes later (new wording, same rules version; a restarted
            // server): a new row, and the case still shows what intake showed.
            let mut edited = app.registry.get("secos").unwrap().clone();
            for rule in &mut edited.screening.as_mut().unwrap().band_rules {
                rule.reason = format!("{} (reworded)", rule.reason);
            }
            let today = calendar::london_date(referral.received_at);
            let reworded = screening::screen(&edited, &referral.answers, today).unwrap();
            assert_ne!(
                serde_json::to_value(reworded).unwrap(),
                shown,
                "the edit shows"
            );
            let restarted = app.db.open_storage(2).await;
            let edited_id = restarted
                .screening_rules_id(&edited)
                .await
                .unwrap()
                .unwrap();
            assert_ne!(edited_id, rules_id);
            let after = restarted.find_referral(&reference).await.unwrap().unwrap();
            assert_eq!(after.screening.as_ref(), Some(&shown));

            // A result the rules would not rebuild exactly is kept whole, sealed.
            let answers = referral.answers.clone();
            let odd = json!({"urgent": true, "reasons": [], "explanation": ["Written by hand"]});
            let new = NewReferral {
                id: haven::crypto::new_id(),
                reference: "SEC-ODDS-0001".to_owned(),
                service: "secos",
                stage: "referral",
                audience: "professional",
                status: "new",
                team: &referral.team,
                received_at: Utc::now(),
                urgent: true,
                suggested_band: None,
                in_scope: None,
                eligible: None,
                rules_version: None,
                due_by: None,
                answers: &answers,
                person: None,
                screening: Some(&odd),
                screening_rules: Some(rules_id),
                receipt_hash: haven::crypto::new_id(),
                actor: "public",
                files: None,
                uploads: &[],
                alert: None,
                identity: None,
                concerns: None,
            };
            app.storage.create_referral(&new).await.unwrap();
            let stored_odd = app
                .storage
                .find_referral("SEC-ODDS-0001")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored_odd.screening.as_ref(), Some(&odd));
            let kept = stored(app, "referrals", "screening", "id", &new.id).await;
            assert!(kept.starts_with(b"hv2"), "sealed in full");
        })
        .await;
}
