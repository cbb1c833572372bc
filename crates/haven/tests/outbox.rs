//! Plaintext outside the database: the default outbox seals every email (mode 0600, opened
//! only with the master keys by `haven outbox list|show`), deletes files past their
//! retention, and transport errors are scrubbed of addresses before they are stored in
//! `jobs.last_error` or logged.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::Utc;
use haven::auth::Clock;
use haven::config::{Settings, SmtpTls};
use haven::mail::outbox::{Outbox, SUFFIX};
use haven::mail::{self, Mailer, Notice, Pass};
use serde_json::Value;

use common::run::haven;
use common::scan::{assert_absent, checkpoint, persisted};

const FROM: &str = "Haven <haven@localhost>";
/// A recipient and a link token that must never be readable anywhere under the data dir.
const SENTINEL_ADDRESS: &str = "quillon-sentinel@example.org";
const SENTINEL_TOKEN: &str = "c0ffee5e771ce1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081929";

fn settings(app: &common::TestApp) -> Settings {
    Settings {
        data_dir: app.db.dir.path().to_owned(),
        ..Settings::default()
    }
}

#[tokio::test]
async fn an_email_in_the_default_outbox_leaves_no_address_or_link_in_any_file() {
    common::each_engine(async |app| {
        let mailer =
            Mailer::from_settings(&settings(app), None, app.storage.keys().clone()).unwrap();
        let link =
            format!("http://127.0.0.1:8080/services/cyber-choices/invitations/{SENTINEL_TOKEN}");
        let notice = Notice::invitation(
            SENTINEL_ADDRESS,
            "Cyber Choices",
            &link,
            "6 December 2026",
            "http://127.0.0.1:8080/follow-up",
        );
        mail::enqueue(&app.storage, &notice, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            mail::work_once(&app.storage, &mailer, FROM, &Clock::default())
                .await
                .unwrap(),
            Pass::Sent
        );

        // The file is there, owner-only, in an owner-only folder.
        let dir = app.db.dir.path().join("outbox");
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(files.len(), 1, "{:?}", app.engine);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = files[0].metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{:?}: outbox file mode {mode:o}", app.engine);
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{:?}: outbox folder mode {mode:o}", app.engine);
        }
        assert!(files[0].file_name().to_string_lossy().ends_with(SUFFIX));

        // Nothing under the data dir (nor in the PostgreSQL rows) shows the address or link.
        checkpoint(app).await;
        let everything = persisted(app).await;
        let place = format!("{:?}: the data dir", app.engine);
        assert_absent(&everything, SENTINEL_ADDRESS, &place);
        assert_absent(&everything, SENTINEL_TOKEN, &place);
        assert_absent(&everything, "quillon-sentinel", &place);

        // With the master keys, the public reader gives the whole message back.
        let messages = Outbox::new(&dir, app.storage.keys().clone())
            .list()
            .unwrap();
        assert_eq!(messages.len(), 1);
        let text = messages[0].message.replace("=\r\n", "");
        assert!(text.contains(&format!("To: {SENTINEL_ADDRESS}")), "{text}");
        assert!(text.contains(SENTINEL_TOKEN), "{text}");
    })
    .await;
}

#[tokio::test]
async fn haven_outbox_lists_masked_and_shows_the_whole_message() {
    common::each_engine(async |app| {
        let mailer =
            Mailer::from_settings(&settings(app), None, app.storage.keys().clone()).unwrap();
        for to in ["first@example.org", SENTINEL_ADDRESS, SENTINEL_ADDRESS] {
            let notice = Notice::something_changed(
                to,
                "SECOS",
                "There is news.",
                &format!("http://h/follow-up/{to}"),
            );
            mailer.send(FROM, &notice, Utc::now()).await.unwrap();
        }

        let out = haven(app, &["outbox", "list"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list = String::from_utf8(out.stdout).unwrap();
        assert_eq!(list.lines().count(), 3, "{list}");
        assert!(list.contains("q•••@example.org"), "{list}");
        assert!(list.contains("SECOS: an update"), "{list}");
        assert!(
            !list.contains("quillon"),
            "the list masks addresses: {list}"
        );

        let out = haven(app, &["outbox", "list", "--json"], None);
        assert!(out.status.success());
        let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 3);
        let id = rows[0]["id"].as_str().unwrap();
        assert_eq!(rows[0]["to"], "f•••@example.org");

        let out = haven(app, &["outbox", "show", id], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = String::from_utf8(out.stdout).unwrap();
        assert!(shown.contains("To: first@example.org"), "{shown}");
        assert!(shown.contains("Subject: SECOS: an update"), "{shown}");

        let out = haven(
            app,
            &["outbox", "show", "--latest-to", SENTINEL_ADDRESS],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = String::from_utf8(out.stdout).unwrap();
        assert!(
            shown.contains(&format!("To: {SENTINEL_ADDRESS}")),
            "{shown}"
        );

        // A bad id is bad input (exit 2), never a path outside the outbox.
        let out = haven(app, &["outbox", "show", "../master.keys"], None);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("ID"),
            "names the argument"
        );
        let out = haven(
            app,
            &["outbox", "show", "--latest-to", "nobody@example.org"],
            None,
        );
        assert_eq!(out.status.code(), Some(2));
    })
    .await;
}

#[tokio::test]
async fn the_worker_deletes_outbox_files_past_their_retention() {
    let db = common::sqlite_db();
    let settings = Settings {
        data_dir: db.dir.path().to_owned(),
        outbox_retention_days: 7,
        ..Settings::default()
    };
    let mailer = Mailer::from_settings(&settings, None, db.master_keys()).unwrap();
    let outbox = mail::outbox_of(&settings, db.master_keys());
    let old = outbox
        .write(
            "old@example.org",
            "old",
            b"Subject: old\r\n\r\nold",
            Utc::now(),
        )
        .unwrap();
    let new = outbox
        .write(
            "new@example.org",
            "new",
            b"Subject: new\r\n\r\nnew",
            Utc::now(),
        )
        .unwrap();
    let eight_days_ago = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(outbox.dir().join(format!("{old}{SUFFIX}")))
        .unwrap()
        .set_modified(eight_days_ago)
        .unwrap();

    assert_eq!(mailer.prune_outbox().await.unwrap(), 1);
    assert_eq!(outbox.ids().unwrap(), vec![new]);
    assert_eq!(mailer.prune_outbox().await.unwrap(), 0);
}

/// Log lines written while a test runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A relay on loopback that refuses every recipient, quoting the address back (as real
/// relays do: `550 5.1.1 <jo@school.org.uk>: Recipient address rejected`).
fn refusing_relay() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut writer = stream.try_clone().unwrap();
            let reader = BufReader::new(stream);
            let _ = writer.write_all(b"220 relay.test ESMTP\r\n");
            for line in reader.lines() {
                let Ok(line) = line else { break };
                let upper = line.to_ascii_uppercase();
                let reply = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    "250 relay.test\r\n".to_owned()
                } else if upper.starts_with("RCPT TO:") {
                    let address = line[8..].trim().to_owned();
                    format!(
                        "550 5.1.1 {address}: Recipient address rejected: user unknown in {address}\r\n"
                    )
                } else if upper.starts_with("QUIT") {
                    let _ = writer.write_all(b"221 bye\r\n");
                    break;
                } else {
                    "250 OK\r\n".to_owned()
                };
                if writer.write_all(reply.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    port
}

#[tokio::test]
async fn smtp_errors_are_stored_and_logged_without_the_address() {
    let port = refusing_relay();
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    common::each_engine(async |app| {
        let settings = Settings {
            smtp_host: Some("127.0.0.1".to_owned()),
            smtp_port: Some(port),
            smtp_tls: SmtpTls::None,
            ..Settings::default()
        };
        let mailer = Mailer::from_settings(&settings, None, app.storage.keys().clone()).unwrap();
        let notice =
            Notice::something_changed(SENTINEL_ADDRESS, "SECOS", "News.", "http://h/follow-up");
        mail::enqueue(&app.storage, &notice, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            mail::work_once(&app.storage, &mailer, FROM, &Clock::default())
                .await
                .unwrap(),
            Pass::Retrying
        );
        let error: String = sqlx::query_scalar("SELECT last_error FROM jobs")
            .fetch_one(app.storage.pool())
            .await
            .unwrap();
        assert!(
            error.contains("q•••@example.org"),
            "{:?}: {error}",
            app.engine
        );
        assert!(!error.contains("quillon"), "{:?}: {error}", app.engine);
        checkpoint(app).await;
        assert_absent(
            &persisted(app).await,
            SENTINEL_ADDRESS,
            &format!("{:?}", app.engine),
        );
    })
    .await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("will retry"),
        "the failure was logged: {logs}"
    );
    assert!(!logs.contains("quillon"), "no address in the logs: {logs}");
}

#[tokio::test]
async fn rotating_and_pruning_the_master_keys_keeps_outbox_emails_readable() {
    common::each_engine(async |app| {
        let mailer =
            Mailer::from_settings(&settings(app), None, app.storage.keys().clone()).unwrap();
        let notice = Notice::something_changed("kept@example.org", "SECOS", "News.", "http://h/f");
        mailer.send(FROM, &notice, Utc::now()).await.unwrap();
        let outbox = mail::outbox_of(&settings(app), app.storage.keys().clone());
        let id = outbox.ids().unwrap().remove(0);
        let file = outbox.dir().join(format!("{id}{SUFFIX}"));
        let before = std::fs::read_to_string(&file).unwrap();

        let out = haven(app, &["keys", "rotate", "--grace-secs", "0"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = haven(app, &["keys", "prune"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Removed retired key"),
            "the old key went: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let after = std::fs::read_to_string(&file).unwrap();
        assert_ne!(
            before.split(':').nth(1),
            after.split(':').nth(1),
            "a new key id"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let out = haven(app, &["outbox", "show", &id], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("To: kept@example.org"));
    })
    .await;
}
