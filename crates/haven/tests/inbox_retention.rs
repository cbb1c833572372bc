//! Retention of emails that never became a case (issue 15 under issue 17's schedule): an
//! email turned down is destroyed `[retention] inbox.months` after the decision, a
//! quarantined one that long after it arrived, one still waiting for a decision is kept. A
//! destroyed email leaves no trace of its content (a scan of the SQLite files and of every
//! PostgreSQL row), leaves the inbox, is audited without content, and the same message
//! delivered again is still a duplicate. On SQLite and PostgreSQL.

use crate::common;

use chrono::{Months, Utc};
use common::run::haven;
use common::scan::{assert_absent, checkpoint, persisted};
use common::{TestApp, TestAppBuilder};
use haven::cases::inbox_retention;
use haven::intake::uk_today;
use haven::intake_email::{IngestOutcome, IntakeSettings, ingest_message_with};
use haven::storage::email_intake::Rejection;
use sqlx::Row;

fn settings() -> IntakeSettings {
    IntakeSettings {
        authserv_id: None,
        public_url: "https://haven.example.org".to_owned(),
    }
}

/// A plain message to SECOS's intake address whose body names `sentinel`.
fn message(to: &str, sentinel: &str) -> Vec<u8> {
    let id = haven::crypto::new_id();
    format!(
        "From: Jo Bloggs <jo@school.example>\r\nTo: {to}\r\nSubject: About {sentinel}\r\n\
         Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{id}@school.example>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nI am worried about {sentinel}.\r\n"
    )
    .into_bytes()
}

async fn take_in(app: &TestApp, raw: &[u8]) -> (IngestOutcome, Option<String>) {
    let ingested = ingest_message_with(
        &app.storage,
        &app.registry,
        &app.key,
        raw,
        Utc::now(),
        "cli",
        &settings(),
    )
    .await
    .unwrap();
    (ingested.outcome, ingested.item_id)
}

#[tokio::test]
async fn emails_turned_down_or_quarantined_go_after_their_months_and_undecided_ones_stay() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let secos = "secos.project@secos.cjsm.net";
            let turned_down_raw = message(secos, "Philomena Ravensworth");
            let (_, turned_down) = take_in(app, &turned_down_raw).await;
            let turned_down = turned_down.unwrap();
            let (_, waiting) = take_in(app, &message(secos, "Augustin Thistlewood")).await;
            let waiting = waiting.unwrap();
            // Addressed to no service: quarantined, kept by the longest inbox rule.
            let (outcome, stray) = take_in(
                app,
                &message("nobody@elsewhere.example", "Cressida Fernhollow"),
            )
            .await;
            assert_eq!(outcome, IngestOutcome::Quarantined);
            let stray = stray.unwrap();
            app.storage
                .reject_email_intake(
                    &turned_down,
                    Rejection::NotAReferral,
                    "A question about a school trip",
                    "triage@secos.test",
                    Utc::now(),
                )
                .await
                .unwrap();

            // The plan: six months after the decision (SECOS's rule), six after arrival for
            // the stray one; the undecided email is not in it.
            let today = uk_today(Utc::now());
            let six_months = today.checked_add_months(Months::new(6)).unwrap();
            let plan = inbox_retention::plan(&app.storage, &app.registry)
                .await
                .unwrap();
            let due = |id: &str| plan.iter().find(|e| e.id == id).and_then(|e| e.due_on);
            assert_eq!(due(&turned_down), Some(six_months));
            assert_eq!(due(&stray), Some(six_months));
            assert!(
                plan.iter().all(|e| e.id != waiting),
                "undecided emails are kept"
            );

            // The dry run on the command line says the same, and changes nothing.
            let out = haven(app, &["retention", "plan", "--json"], None);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            let line: serde_json::Value = stdout
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .find(|l| l["email"] == serde_json::json!(turned_down))
                .expect("the turned-down email is in the plan");
            assert_eq!(line["state"], "scheduled");
            assert_eq!(line["due_on"], six_months.to_string());

            // Not yet due: nothing happens.
            let now = Utc::now();
            let gone = inbox_retention::run(&app.storage, &plan, today, now)
                .await
                .unwrap();
            assert_eq!(gone, 0);
            assert!(
                app.storage
                    .email_intake_item(&turned_down)
                    .await
                    .unwrap()
                    .is_some()
            );

            // Six months on: both go, the undecided one stays.
            let gone = inbox_retention::run(&app.storage, &plan, six_months, now)
                .await
                .unwrap();
            assert_eq!(gone, 2);
            assert!(
                app.storage
                    .email_intake_item(&turned_down)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(
                app.storage
                    .email_intake_item(&stray)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(
                app.storage
                    .email_intake_item(&waiting)
                    .await
                    .unwrap()
                    .is_some()
            );
            let listed: Vec<String> = app
                .storage
                .email_inbox(None, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect();
            assert_eq!(
                listed,
                vec![waiting.clone()],
                "only the undecided email is listed"
            );
            // A second run finds nothing left to do.
            let again = inbox_retention::run(&app.storage, &plan, six_months, now)
                .await
                .unwrap();
            assert_eq!(again, 0);

            // Audited without content: the email's random id, the rule and the day.
            let rows = sqlx::query(
                "SELECT record_id, reason FROM audit_log WHERE action = 'email_intake.destroyed' \
                 ORDER BY record_id",
            )
            .fetch_all(app.storage.pool())
            .await
            .unwrap();
            assert_eq!(rows.len(), 2);
            for row in &rows {
                let id: String = row.try_get(0).unwrap();
                assert!(id == turned_down || id == stray);
                let reason: String = row.try_get(1).unwrap();
                assert_eq!(reason, format!("rule:inbox due:{six_months}"));
            }

            // The same message delivered again is still a duplicate, never a new email.
            let (outcome, _) = take_in(app, &turned_down_raw).await;
            assert_eq!(outcome, IngestOutcome::Duplicate);

            // Rotating the master key skips the emptied values and leaves nothing behind.
            app.storage.keys().rotate().unwrap();
            let rotated = app.storage.rewrap_all(200).await.unwrap();
            assert!(rotated.failed.is_empty(), "{:?}", rotated.failed);
            let upgraded = app.storage.upgrade_all(200).await.unwrap();
            assert!(upgraded.failed.is_empty(), "{:?}", upgraded.failed);

            // Nothing of the destroyed emails anywhere; the undecided one is still there.
            checkpoint(app).await;
            let bytes = persisted(app).await;
            for secret in [
                "Philomena",
                "Ravensworth",
                "Cressida",
                "Fernhollow",
                "school trip",
            ] {
                assert_absent(
                    &bytes,
                    secret,
                    &format!("{:?} after destruction", app.engine),
                );
            }
        })
        .await;
}
