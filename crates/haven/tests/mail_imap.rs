//! Email intake from an IMAP mailbox (issue 15), against a real server: Dovecot from Debian
//! (`dovecot-imapd`), started by each test on a loopback port with a throwaway configuration
//! in a temp dir (users from a static file, Maildir storage in the temp dir, TLS with a
//! certificate made here by rcgen). Messages are delivered with `doveadm save`, as a mail
//! server would. On SQLite and PostgreSQL.
//!
//! Without Dovecot installed the tests say so and pass (`.ci/run` installs it, so CI runs
//! them).

use crate::common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestAppBuilder;
use haven::auth::Clock;
use haven::config::{ImapTls, Settings};
use haven::mail_sources::imap::{Hooks, ImapSource};
use haven::mail_sources::{Intake, PollReport};
use sqlx::Row;

const USER: &str = "intake";
const PASSWORD: &str = "correct horse battery staple";
const FOLDER: &str = "Referrals";

/// A Dovecot of this test's own: its config, mail and sockets in a temp dir.
struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

fn dovecot_binary() -> Option<PathBuf> {
    ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn doveadm_binary() -> PathBuf {
    ["/usr/bin/doveadm", "/usr/local/bin/doveadm"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("doveadm"))
}

fn output(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Dovecot {
    /// A started Dovecot, or `None` (said on stderr) when it is not installed.
    fn start() -> Option<Self> {
        Self::start_with("")
    }

    /// A started Dovecot with `extra` appended to its configuration.
    fn start_with(extra: &str) -> Option<Self> {
        if dovecot_binary().is_none() {
            eprintln!(
                "SKIPPED: Dovecot is not installed (apt-get install dovecot-imapd); \
                 .ci/run installs it"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        // Dovecot never runs its login processes as root: as root, the Debian package's
        // own users serve; otherwise the current user does everything.
        let is_root = output("id", &["-u"]) == "0";
        let (internal, login, mail_user) = if is_root {
            (
                "dovecot".to_owned(),
                "dovenull".to_owned(),
                "dovecot".to_owned(),
            )
        } else {
            let me = output("id", &["-un"]);
            (me.clone(), me.clone(), me)
        };
        let uid = output("id", &["-u", &mail_user]);
        let gid = output("id", &["-g", &mail_user]);
        let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        std::fs::write(root.join("cert.pem"), key.cert.pem()).unwrap();
        std::fs::write(root.join("key.pem"), key.signing_key.serialize_pem()).unwrap();
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        for sub in ["mail", "home", "run", "state", "rawlog"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let r = root.display();
        let conf = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\ninstance_name = haven-test-{port}\n\
             protocols = imap\nlisten = 127.0.0.1\n\
             default_internal_user = {internal}\ndefault_internal_group = {internal}\n\
             default_login_user = {login}\nfirst_valid_uid = 1\n\
             log_path = {r}/dovecot.log\n\
             rawlog_dir = {r}/rawlog\n\
             ssl = required\nssl_cert = <{r}/cert.pem\nssl_key = <{r}/key.pem\n\
             auth_mechanisms = plain\n\
             mail_location = maildir:{r}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={r}/home/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = 0\n  }}\n\
               inet_listener imaps {{\n    address = 127.0.0.1\n    port = {port}\n    ssl = yes\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n{extra}\n"
        );
        std::fs::write(root.join("dovecot.conf"), conf).unwrap();
        if is_root {
            // The mail processes run as the package's user: let them in.
            Command::new("chmod").arg("755").arg(root).status().unwrap();
            Command::new("chown")
                .args(["-R", "dovecot:dovecot"])
                .arg(root.join("mail"))
                .arg(root.join("home"))
                .arg(root.join("rawlog"))
                .status()
                .unwrap();
        }
        let mut dovecot = Dovecot {
            dir,
            port,
            child: None,
        };
        dovecot.run();
        dovecot.doveadm(&["mailbox", "create", "-u", USER, FOLDER]);
        Some(dovecot)
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    /// Starts the server and waits until it accepts connections.
    fn run(&mut self) {
        let binary = dovecot_binary().unwrap();
        // A process group of its own, so `stop` can end it and every child it started.
        let child = Command::new(binary)
            .process_group(0)
            .arg("-F")
            .arg("-c")
            .arg(self.conf())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Dovecot did not start: {}",
                std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server as a crash would: every process of it killed at once (`dovecot
    /// stop` lets open IMAP sessions finish), so every connection is cut mid-conversation.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
        }
    }

    fn doveadm(&self, args: &[&str]) -> String {
        let out = Command::new(doveadm_binary())
            .arg("-c")
            .arg(self.conf())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "doveadm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Delivers a message into the folder, as the mail server would.
    fn deliver(&self, raw: &[u8]) {
        use std::io::Write;
        let mut child = Command::new(doveadm_binary())
            .arg("-c")
            .arg(self.conf())
            .args(["save", "-u", USER, "-m", FOLDER])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(raw).unwrap();
        assert!(child.wait().unwrap().success(), "doveadm save");
    }

    /// UIDs of the folder's messages without `\Seen`.
    fn unseen(&self) -> usize {
        self.doveadm(&["search", "-u", USER, "mailbox", FOLDER, "UNSEEN"])
            .lines()
            .count()
    }

    /// UIDs in `folder` matching a `doveadm search` query.
    fn uids(&self, folder: &str, query: &[&str]) -> Vec<u32> {
        let mut args = vec!["search", "-u", USER, "mailbox", folder];
        args.extend_from_slice(query);
        self.doveadm(&args)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
            .collect()
    }

    /// Every command the clients sent, one a line (Dovecot's rawlog of each session).
    fn commands(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let dir = self.dir.path().join("rawlog");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "in") {
                let text = std::fs::read_to_string(path).unwrap();
                // Each line is "<time> <tag> <command>": the time is dropped.
                lines.extend(
                    text.lines()
                        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest).to_owned()),
                );
            }
        }
        lines
    }

    /// The folder's UIDVALIDITY.
    fn uidvalidity(&self) -> String {
        self.doveadm(&[
            "-f",
            "flow",
            "mailbox",
            "status",
            "-u",
            USER,
            "uidvalidity",
            FOLDER,
        ])
        .trim()
        .to_owned()
    }

    /// The source Haven polls, as the settings would configure it.
    fn source(&self, poll_secs: u64) -> ImapSource {
        let settings = Settings {
            imap_host: Some("127.0.0.1".to_owned()),
            imap_port: Some(self.port),
            imap_tls: ImapTls::Tls,
            imap_username: Some(USER.to_owned()),
            imap_folder: FOLDER.to_owned(),
            imap_ca_file: Some(self.dir.path().join("cert.pem")),
            imap_poll_secs: poll_secs,
            ..Settings::default()
        };
        ImapSource::from_settings(&settings, Some(PASSWORD.to_owned()))
            .unwrap()
            .unwrap()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

/// A referral email to SECOS's intake address, unique by `n`.
fn referral(n: usize) -> Vec<u8> {
    format!(
        "From: \"Jo Bloggs\" <jo.bloggs@school.example>\r\n\
         To: SECOS Project <secos.project@secos.cjsm.net>\r\n\
         Subject: Referral {n}\r\n\
         Date: Sun, 6 Dec 2026 09:58:12 +0000\r\n\
         Message-ID: <referral-{n}@school.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello SECOS,\r\n\r\nPlease see my concerns about young person {n}.\r\n"
    )
    .into_bytes()
}

fn intake(app: &common::TestApp) -> Intake {
    Intake {
        storage: app.storage.clone(),
        registry: app.registry.clone(),
        secret: app.key.clone(),
        clock: Clock::default(),
        settings: Default::default(),
    }
}

async fn count(app: &common::TestApp, table: &str) -> i64 {
    // `table` is one of this file's constant names.
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

fn stored(report: &PollReport) -> usize {
    report.drafts + report.quarantined
}

#[tokio::test]
async fn delivered_messages_are_taken_once_and_marked_seen() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let Some(dovecot) = Dovecot::start() else {
                return;
            };
            let engine = format!("{:?}", app.engine);
            dovecot.deliver(&referral(1));
            dovecot.deliver(&referral(2));
            // Addressed to no service: set aside with a reason, still taken once.
            dovecot.deliver(
                b"From: someone@example.org\r\nTo: nobody@example.org\r\nSubject: hi\r\n\
                  Message-ID: <stray@example.org>\r\n\r\nNot for Haven.\r\n",
            );
            let source = dovecot.source(60);
            let intake = intake(app);
            let first = source.poll_once(&intake, &Hooks::default()).await.unwrap();
            assert_eq!(
                (first.drafts, first.quarantined, first.duplicates),
                (2, 1, 0),
                "{engine}: {first:?}"
            );
            assert!(first.source.starts_with("imap://intake@127.0.0.1:"));
            assert_eq!(count(app, "email_intake").await, 3, "{engine}");
            assert_eq!(count(app, "mailbox_uids").await, 3, "{engine}");
            assert_eq!(
                dovecot.unseen(),
                0,
                "{engine}: every taken message is \\Seen"
            );
            let again = source.poll_once(&intake, &Hooks::default()).await.unwrap();
            assert_eq!(stored(&again) + again.duplicates, 0, "{engine}: {again:?}");
            assert_eq!(count(app, "email_intake").await, 3, "{engine}");
            // A message marked unread again by a person is known by its UID.
            dovecot.doveadm(&[
                "flags", "remove", "-u", USER, "\\Seen", "mailbox", FOLDER, "UID", "1",
            ]);
            let third = source.poll_once(&intake, &Hooks::default()).await.unwrap();
            assert_eq!(stored(&third) + third.duplicates, 0, "{engine}: {third:?}");
            assert!(third.already_taken >= 1, "{engine}: {third:?}");
            assert_eq!(dovecot.unseen(), 0, "{engine}");
            // New mail later: only it is taken.
            dovecot.deliver(&referral(3));
            let fourth = source.poll_once(&intake, &Hooks::default()).await.unwrap();
            assert_eq!(fourth.drafts, 1, "{engine}: {fourth:?}");
            assert_eq!(count(app, "email_intake").await, 4, "{engine}");
        })
        .await;
}

#[tokio::test]
async fn a_server_stopped_mid_poll_loses_nothing_and_duplicates_nothing() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let Some(dovecot) = Dovecot::start() else {
                return;
            };
            let engine = format!("{:?}", app.engine);
            for n in 1..=6 {
                dovecot.deliver(&referral(n));
            }
            let source = dovecot.source(60);
            let intake = intake(app);
            let dovecot = Arc::new(Mutex::new(dovecot));

            // Stopped after message 2 is stored, before it is marked seen on the server.
            let d = dovecot.clone();
            let hooks = Hooks {
                after_store: Some(Arc::new(move |uid| {
                    if uid == 2 {
                        d.lock().unwrap().stop();
                    }
                })),
                ..Hooks::default()
            };
            let cut = source.poll_once(&intake, &hooks).await;
            assert!(cut.is_err(), "{engine}: the connection was cut: {cut:?}");
            assert_eq!(count(app, "email_intake").await, 2, "{engine}");
            dovecot.lock().unwrap().run();
            assert_eq!(
                dovecot.lock().unwrap().unseen(),
                5,
                "{engine}: 2 was never marked"
            );

            // Stopped while about to fetch message 4 (mid-message).
            let d = dovecot.clone();
            let hooks = Hooks {
                before_fetch: Some(Arc::new(move |uid| {
                    if uid == 4 {
                        d.lock().unwrap().stop();
                    }
                })),
                ..Hooks::default()
            };
            let cut = source.poll_once(&intake, &hooks).await;
            assert!(cut.is_err(), "{engine}: the connection was cut: {cut:?}");
            assert_eq!(
                count(app, "email_intake").await,
                3,
                "{engine}: 3 taken, 4 not"
            );
            dovecot.lock().unwrap().run();

            let done = source.poll_once(&intake, &Hooks::default()).await.unwrap();
            assert_eq!(done.drafts, 3, "{engine}: 4, 5 and 6: {done:?}");
            assert_eq!(done.duplicates, 0, "{engine}: {done:?}");
            assert_eq!(
                count(app, "email_intake").await,
                6,
                "{engine}: each exactly once"
            );
            assert_eq!(count(app, "mailbox_uids").await, 6, "{engine}");
            assert_eq!(dovecot.lock().unwrap().unseen(), 0, "{engine}");
        })
        .await;
}

#[tokio::test]
async fn two_servers_polling_one_mailbox_take_each_message_once() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let Some(dovecot) = Dovecot::start() else {
                return;
            };
            let engine = format!("{:?}", app.engine);
            let messages = 24;
            for n in 1..=messages {
                dovecot.deliver(&referral(n));
            }
            let other = app.second_server().await;
            let (a, b) = (intake(app), intake(&other));
            let (sa, sb) = (dovecot.source(60), dovecot.source(60));
            let hooks = Hooks::default();
            let (ra, rb) = tokio::join!(sa.poll_once(&a, &hooks), sb.poll_once(&b, &hooks));
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            assert_eq!(
                stored(&ra) + stored(&rb),
                messages,
                "{engine}: every message stored by exactly one server: {ra:?} {rb:?}"
            );
            assert_eq!(ra.duplicates + rb.duplicates, 0, "{engine}: {ra:?} {rb:?}");
            assert_eq!(
                count(app, "email_intake").await,
                messages as i64,
                "{engine}"
            );
            assert_eq!(
                count(app, "mailbox_uids").await,
                messages as i64,
                "{engine}"
            );
            assert_eq!(dovecot.unseen(), 0, "{engine}");
            other.storage.close().await;
        })
        .await;
}

#[tokio::test]
async fn a_new_uidvalidity_reads_the_folder_again_without_duplicates() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let Some(dovecot) = Dovecot::start() else {
                return;
            };
            let engine = format!("{:?}", app.engine);
            dovecot.deliver(&referral(1));
            dovecot.deliver(&referral(2));
            let source = dovecot.source(60);
            let intake = intake(app);
            let first = source.poll_once(&intake, &Hooks::default()).await.unwrap();
            assert_eq!(first.drafts, 2, "{engine}: {first:?}");
            let before = dovecot.uidvalidity();
            // The folder is rebuilt (restored from a backup, say): new UIDVALIDITY, UIDs
            // from 1 again, the same messages unread again, and one new one.
            dovecot.doveadm(&["mailbox", "delete", "-u", USER, FOLDER]);
            dovecot.doveadm(&["mailbox", "create", "-u", USER, FOLDER]);
            assert_ne!(dovecot.uidvalidity(), before, "{engine}");
            dovecot.deliver(&referral(1));
            dovecot.deliver(&referral(2));
            dovecot.deliver(&referral(3));
            let again = source.poll_once(&intake, &Hooks::default()).await.unwrap();
            assert_eq!(
                (again.drafts, again.duplicates),
                (1, 2),
                "{engine}: the old two are recognised by content: {again:?}"
            );
            assert_eq!(count(app, "email_intake").await, 3, "{engine}");
            assert_eq!(dovecot.unseen(), 0, "{engine}");
        })
        .await;
}

#[tokio::test]
async fn the_background_poller_takes_new_mail_at_once_with_idle_and_stops_on_shutdown() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let Some(dovecot) = Dovecot::start() else {
                return;
            };
            let engine = format!("{:?}", app.engine);
            // Polling every 10 minutes: only IDLE can bring the message in within the test.
            let source = dovecot.source(600);
            let (stop, shutdown) = tokio::sync::watch::channel(false);
            let task = tokio::spawn(source.run(intake(app), shutdown));
            // Let the first (empty) poll finish and IDLE begin.
            tokio::time::sleep(Duration::from_millis(500)).await;
            dovecot.deliver(&referral(7));
            let deadline = Instant::now() + Duration::from_secs(30);
            while count(app, "email_intake").await < 1 {
                assert!(
                    Instant::now() < deadline,
                    "{engine}: IDLE never woke the poller"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            stop.send(true).unwrap();
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the poller stops on shutdown")
                .unwrap();
            assert_eq!(count(app, "email_intake").await, 1, "{engine}");
            // Marked seen before or just after the item was visible: wait for it.
            let deadline = Instant::now() + Duration::from_secs(10);
            while dovecot.unseen() != 0 {
                assert!(Instant::now() < deadline, "{engine}: never marked seen");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
}

#[tokio::test]
async fn wrong_passwords_and_untrusted_certificates_are_refused_without_the_password() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let Some(dovecot) = Dovecot::start() else {
                return;
            };
            let intake = intake(app);
            let mut settings = Settings {
                imap_host: Some("127.0.0.1".to_owned()),
                imap_port: Some(dovecot.port),
                imap_username: Some(USER.to_owned()),
                imap_folder: FOLDER.to_owned(),
                imap_ca_file: Some(dovecot.dir.path().join("cert.pem")),
                ..Settings::default()
            };
            let wrong = ImapSource::from_settings(&settings, Some("hunter2-wrong".to_owned()))
                .unwrap()
                .unwrap();
            let err = wrong
                .poll_once(&intake, &Hooks::default())
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("refused the sign-in"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
            assert!(!format!("{wrong:?}").contains("hunter2"));
            // Without the CA file the self-signed certificate is not trusted.
            settings.imap_ca_file = None;
            let untrusted = ImapSource::from_settings(&settings, Some(PASSWORD.to_owned()))
                .unwrap()
                .unwrap();
            let err = untrusted
                .poll_once(&intake, &Hooks::default())
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("could not connect"), "{err}");
            assert_eq!(count(app, "email_intake").await, 0);
        })
        .await;
}

/// Dovecot's own capabilities, less MOVE, and less UIDPLUS unless `uidplus`.
fn capabilities_without_move(uidplus: bool) -> String {
    format!(
        "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ \
         NAMESPACE UNSELECT CHILDREN{}\n",
        if uidplus { " UIDPLUS" } else { "" }
    )
}

/// With `imap_move_to`: `UID MOVE` where the server offers MOVE; else `UID COPY`, the
/// message flagged `\Deleted` and `\Seen`, and `UID EXPUNGE` of that UID only where the
/// server offers UIDPLUS. Never a bare `EXPUNGE`: a message another client flagged
/// `\Deleted` (and has not expunged) stays.
#[tokio::test]
async fn taken_messages_are_moved_with_or_without_the_move_command() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let engine = format!("{:?}", app.engine);
            for (i, (name, extra)) in [
                ("MOVE", String::new()),
                ("UIDPLUS without MOVE", capabilities_without_move(true)),
                ("neither MOVE nor UIDPLUS", capabilities_without_move(false)),
                // Capability names are case-insensitive.
                (
                    "UIDPLUS without MOVE, in lower case",
                    "imap_capability = IMAP4rev1 idle uidplus\n".to_owned(),
                ),
            ]
            .into_iter()
            .enumerate()
            {
                let Some(dovecot) = Dovecot::start_with(&extra) else {
                    return;
                };
                // Messages unlike the other servers' (the database is shared).
                let n = 10 * i;
                let case = format!("{engine}, {name}");
                dovecot.doveadm(&["mailbox", "create", "-u", USER, "Done"]);
                dovecot.deliver(&referral(n + 1));
                dovecot.deliver(&referral(n + 2));
                let mut source = dovecot.source(60);
                source.move_to = Some("Done".to_owned());
                let intake = intake(app);
                let dovecot = Arc::new(Mutex::new(dovecot));
                // While the poll runs, another client flags a message of its own \Deleted
                // (and has not expunged it yet).
                let d = dovecot.clone();
                let hooks = Hooks {
                    before_fetch: Some(Arc::new(move |uid| {
                        if uid == 2 {
                            let d = d.lock().unwrap();
                            d.deliver(&referral(n + 3));
                            d.doveadm(&[
                                "flags",
                                "add",
                                "-u",
                                USER,
                                "\\Deleted",
                                "mailbox",
                                FOLDER,
                                "UID",
                                "3",
                            ]);
                        }
                    })),
                    ..Hooks::default()
                };
                let first = source.poll_once(&intake, &hooks).await.unwrap();
                assert_eq!(first.drafts, 2, "{case}: {first:?}");
                {
                    let dovecot = dovecot.lock().unwrap();
                    assert_eq!(dovecot.uids("Done", &["ALL"]).len(), 2, "{case}");
                    let commands = dovecot.commands();
                    let sent = |verb: &str| commands.iter().any(|l| l.contains(verb));
                    let bare_expunge = commands.iter().any(|l| {
                        l.split_whitespace()
                            .nth(1)
                            .is_some_and(|w| w.eq_ignore_ascii_case("EXPUNGE"))
                    });
                    assert!(!bare_expunge, "{case}: {commands:?}");
                    let left = dovecot.uids(FOLDER, &["ALL"]);
                    match name {
                        "MOVE" => {
                            assert!(sent("UID MOVE 1 \"Done\""), "{case}: {commands:?}");
                            assert!(!sent("UID COPY"), "{case}: {commands:?}");
                            assert_eq!(left, vec![3], "{case}: moved; the other client's stays");
                        }
                        n if n.starts_with("UIDPLUS without MOVE") => {
                            assert!(!sent("MOVE"), "{case}: {commands:?}");
                            assert!(sent("UID COPY 1 \"Done\""), "{case}: {commands:?}");
                            assert!(sent("UID EXPUNGE 1"), "{case}: {commands:?}");
                            assert!(sent("UID EXPUNGE 2"), "{case}: {commands:?}");
                            assert_eq!(left, vec![3], "{case}: expunged by UID only");
                        }
                        _ => {
                            assert!(!sent("MOVE"), "{case}: {commands:?}");
                            assert!(!sent("EXPUNGE"), "{case}: {commands:?}");
                            assert!(sent("UID COPY 2 \"Done\""), "{case}: {commands:?}");
                            assert_eq!(left, vec![1, 2, 3], "{case}: nothing expunged");
                            assert_eq!(
                                dovecot.uids(FOLDER, &["DELETED", "SEEN"]),
                                vec![1, 2],
                                "{case}: left flagged \\Deleted and \\Seen"
                            );
                        }
                    }
                }
                if name == "neither MOVE nor UIDPLUS" {
                    // A person marks a taken (copied, flagged \Deleted) message unread.
                    dovecot.lock().unwrap().doveadm(&[
                        "flags", "remove", "-u", USER, "\\Seen", "mailbox", FOLDER, "UID", "1",
                    ]);
                }
                // The other client's message was still there (it was never Haven's to
                // delete): Haven takes it next time, and copies nothing twice.
                let again = source.poll_once(&intake, &Hooks::default()).await.unwrap();
                assert_eq!(
                    (again.drafts, again.duplicates),
                    (1, 0),
                    "{case}: {again:?}"
                );
                {
                    let dovecot = dovecot.lock().unwrap();
                    assert_eq!(dovecot.uids("Done", &["ALL"]).len(), 3, "{case}");
                    let copies = dovecot
                        .commands()
                        .iter()
                        .filter(|l| l.contains("UID COPY 1 "))
                        .count();
                    assert!(copies <= 1, "{case}: copied {copies} times");
                    if name == "neither MOVE nor UIDPLUS" {
                        assert_eq!(
                            dovecot.uids(FOLDER, &["UNSEEN"]),
                            Vec::<u32>::new(),
                            "{case}"
                        );
                    }
                }
                let total = 3 * (i as i64 + 1);
                assert_eq!(count(app, "email_intake").await, total, "{case}");
            }
        })
        .await;
}

#[test]
fn plain_imap_is_refused_beyond_loopback() {
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let flags = haven::config::Overrides::default();
    let err = Settings::load(
        None,
        env(&[
            ("HAVEN_IMAP_HOST", "mail.example.org"),
            ("HAVEN_IMAP_USERNAME", "intake"),
            ("HAVEN_IMAP_TLS", "none"),
        ]),
        &flags,
    )
    .unwrap_err();
    assert_eq!(err.origin, "imap_tls");
    let ok = Settings::load(
        None,
        env(&[
            ("HAVEN_IMAP_HOST", "127.0.0.1"),
            ("HAVEN_IMAP_USERNAME", "intake"),
            ("HAVEN_IMAP_TLS", "none"),
        ]),
        &flags,
    )
    .unwrap();
    assert_eq!(ok.imap_port(), 143);
    let err = Settings::load(
        None,
        env(&[("HAVEN_IMAP_HOST", "mail.example.org")]),
        &flags,
    )
    .unwrap_err();
    assert_eq!(err.origin, "imap_username");
    // No password anywhere: refused at start-up, naming where to put it.
    let settings = Settings {
        imap_host: Some("mail.example.org".to_owned()),
        imap_username: Some("intake".to_owned()),
        ..Settings::default()
    };
    let err = ImapSource::from_settings(&settings, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("HAVEN_IMAP_PASSWORD"), "{err}");
}
