//! An IMAP folder as a source of email intake: async-imap over tokio, with rustls for TLS
//! (the ring provider and the Mozilla roots, as the SMTP client uses, plus `imap_ca_file`).
//!
//! One poll: SELECT the folder and read its UIDVALIDITY; search the messages not yet taken
//! (`UNSEEN`, or any UID above the highest recorded under this UIDVALIDITY; every message
//! when none is recorded); then for each, in UID order:
//! 1. skip it (only marking it done) if its UID is recorded (taken before a restart, or by
//!    another server; without MOVE, one already copied and flagged `\Deleted` is not copied
//!    again);
//! 2. fetch it without setting `\Seen` (`BODY.PEEK[]`, at most one byte more than a message
//!    may be: a larger one is quarantined for its size);
//! 3. store it and record its UID in one transaction (`ingest_message_marked`): the other
//!    server polling the same mailbox waits on the UID's primary key and then stores nothing;
//! 4. mark it done on the server: `\Seen`, or moved to `imap_move_to`: with `UID MOVE`
//!    where the server offers MOVE (RFC 6851), else `UID COPY`, then `UID STORE
//!    +FLAGS.SILENT (\Seen \Deleted)`, then `UID EXPUNGE` of that one UID where the server
//!    offers UIDPLUS (RFC 4315). Without UIDPLUS the message is left flagged `\Deleted` and
//!    `\Seen` for the server's own clean-up: a bare `EXPUNGE` would also remove messages
//!    other clients had flagged `\Deleted` but not yet expunged.
//!
//! A connection lost anywhere loses nothing: before 3 the message is still unrecorded and
//! is fetched again; after 3 it is recorded and only marked done again. (Without MOVE, a
//! connection lost between the COPY and the STORE leaves a second copy in `imap_move_to`
//! when the message is marked done again: the same window RFC 6851 describes.)
//!
//! Between polls the connection waits in IDLE where the server offers it (new mail is taken
//! at once), else sleeps `imap_poll_secs`.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use haven_email::message::Limits;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use zeroize::Zeroizing;

use super::{Intake, PollError, PollReport, log_poll, wait_or_stop};
use crate::config::{ImapTls, Settings};
use crate::intake_email::ingest_message_marked;
use crate::storage::mailbox_uids::MailboxUid;

/// How long connecting (TCP, TLS, greeting, sign-in) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one command may wait for the server before the connection is given up.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest wait in IDLE before looking again (servers drop IDLE after 30 minutes).
const MAX_IDLE: Duration = Duration::from_secs(25 * 60);
/// Longest wait before trying again after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// An IMAP folder to take messages from.
#[derive(Clone)]
pub struct ImapSource {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub username: String,
    password: Arc<Zeroizing<String>>,
    pub folder: String,
    pub move_to: Option<String>,
    /// Extra trusted certificate authorities (the `imap_ca_file`).
    extra_roots: Vec<CertificateDer<'static>>,
    pub poll_every: Duration,
    pub idle: bool,
}

// Hand-written so the password never reaches a log line.
impl std::fmt::Debug for ImapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSource")
            .field("source", &self.key())
            .field("tls", &self.tls)
            .field("password", &"<redacted>")
            .field("move_to", &self.move_to)
            .field("poll_every", &self.poll_every)
            .field("idle", &self.idle)
            .finish()
    }
}

/// Test hooks: called around each message (the Dovecot tests stop the server there).
#[derive(Clone, Default)]
pub struct Hooks {
    /// Before a message is fetched, with its UID.
    pub before_fetch: Option<Arc<dyn Fn(u32) + Send + Sync>>,
    /// After a message is stored (its UID recorded), before it is marked done.
    pub after_store: Option<Arc<dyn Fn(u32) + Send + Sync>>,
}

/// What the server offers that polling depends on (its CAPABILITY after sign-in).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offers {
    /// IDLE (RFC 2177): wait for new mail instead of sleeping.
    pub idle: bool,
    /// MOVE (RFC 6851): `UID MOVE` to `imap_move_to`.
    pub move_command: bool,
    /// UIDPLUS (RFC 4315): `UID EXPUNGE` of one message.
    pub uidplus: bool,
}

impl ImapSource {
    /// The source the settings configure, if any. The password is `password` (from
    /// `HAVEN_IMAP_PASSWORD`) or the first line of `imap_password_file`.
    pub fn from_settings(
        settings: &Settings,
        password: Option<String>,
    ) -> Result<Option<Self>, PollError> {
        let Some(host) = settings.imap_host.clone() else {
            return Ok(None);
        };
        let username = settings
            .imap_username
            .clone()
            .ok_or_else(|| PollError::Settings("imap_username: must be set".to_owned()))?;
        let password = match (
            password.filter(|p| !p.is_empty()),
            &settings.imap_password_file,
        ) {
            (Some(p), _) => Zeroizing::new(p),
            (None, Some(file)) => {
                let text = Zeroizing::new(std::fs::read_to_string(file).map_err(|e| {
                    PollError::Settings(format!(
                        "imap_password_file: {} could not be read: {e}",
                        file.display()
                    ))
                })?);
                Zeroizing::new(text.lines().next().unwrap_or_default().to_owned())
            }
            (None, None) => {
                return Err(PollError::Settings(
                    "imap_host is set but there is no password: set HAVEN_IMAP_PASSWORD or \
                     imap_password_file"
                        .to_owned(),
                ));
            }
        };
        let extra_roots = match &settings.imap_ca_file {
            Some(path) => read_roots(path)?,
            None => Vec::new(),
        };
        Ok(Some(Self {
            host,
            port: settings.imap_port(),
            tls: settings.imap_tls == ImapTls::Tls,
            username,
            password: Arc::new(password),
            folder: settings.imap_folder.clone(),
            move_to: settings.imap_move_to.clone(),
            extra_roots,
            poll_every: Duration::from_secs(settings.imap_poll_secs),
            idle: settings.imap_idle,
        }))
    }

    /// The source's key: in `mailbox_uids`, reports and logs (never the password).
    pub fn key(&self) -> String {
        format!(
            "imap://{}@{}:{}/{}",
            self.username, self.host, self.port, self.folder
        )
    }

    /// Connects, signs in and asks what the server offers.
    async fn connect(&self) -> Result<(Session<Conn>, Offers), PollError> {
        let connecting = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(PollError::connect)?;
            let conn = if self.tls {
                let mut roots = rustls::RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                for cert in &self.extra_roots {
                    roots.add(cert.clone()).map_err(|e| {
                        PollError::Settings(format!("imap_ca_file: a certificate is refused: {e}"))
                    })?;
                }
                let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(PollError::connect)?
                .with_root_certificates(roots)
                .with_no_client_auth();
                let name = ServerName::try_from(self.host.clone()).map_err(|_| {
                    PollError::Settings("imap_host: not a host name or address".to_owned())
                })?;
                let tls = TlsConnector::from(Arc::new(config))
                    .connect(name, tcp)
                    .await
                    .map_err(PollError::connect)?;
                Conn::Tls(Box::new(tls))
            } else {
                Conn::Plain(tcp)
            };
            let mut client = Client::new(conn);
            match client.read_response().await {
                Ok(Some(_greeting)) => {}
                Ok(None) => return Err(PollError::connect("the server closed the connection")),
                Err(e) => return Err(PollError::connect(e)),
            }
            let mut session = client
                .login(&self.username, self.password.as_str())
                .await
                // The error is the server's answer; it never holds the password.
                .map_err(|(e, _)| PollError::Login(crate::mail::scrub_addresses(&e.to_string())))?;
            // Asked after signing in: servers may offer more to a signed-in client.
            let capabilities = session.capabilities().await.map_err(PollError::imap)?;
            // Capability names are case-insensitive (RFC 3501 §7.2.1).
            let offered = |name: &str| {
                capabilities.iter().any(|c| {
                    matches!(c, async_imap::types::Capability::Atom(a) if a.eq_ignore_ascii_case(name))
                })
            };
            let offers = Offers {
                idle: offered("IDLE"),
                move_command: offered("MOVE"),
                uidplus: offered("UIDPLUS"),
            };
            Ok::<_, PollError>((session, offers))
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| PollError::connect("no answer in time"))?
    }

    /// Connects, takes what is waiting, signs out.
    pub async fn poll_once(&self, intake: &Intake, hooks: &Hooks) -> Result<PollReport, PollError> {
        let (mut session, offers) = self.connect().await?;
        let report = self
            .take_waiting(&mut session, offers, intake, hooks)
            .await?;
        // Signing out politely is not needed for anything: a failure here changes nothing.
        let _ = timed(session.logout()).await;
        Ok(report)
    }

    /// SELECTs the folder and takes every message not yet taken (see the module docs).
    async fn take_waiting(
        &self,
        session: &mut Session<Conn>,
        offers: Offers,
        intake: &Intake,
        hooks: &Hooks,
    ) -> Result<PollReport, PollError> {
        let key = self.key();
        let mut report = PollReport::new(&key);
        let mailbox = timed(session.select(&self.folder)).await?;
        let uidvalidity = mailbox
            .uid_validity
            .ok_or_else(|| PollError::imap("the server gave the folder no UIDVALIDITY"))?;
        let highest = intake
            .storage
            .mailbox_highest_uid(&key, uidvalidity)
            .await?;
        let query = match highest {
            Some(h) => format!("OR UNSEEN UID {}:*", h.saturating_add(1)),
            // Nothing recorded under this UIDVALIDITY (a new folder, or one the server
            // renumbered): every message; the content hashes recognise those already held.
            None => "ALL".to_owned(),
        };
        let mut uids: Vec<u32> = timed(session.uid_search(&query))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        drain_unsolicited(session);
        let limit = Limits::default().max_message_bytes + 1;
        for uid in uids {
            let mark = MailboxUid {
                mailbox: &key,
                uidvalidity,
                uid,
            };
            if intake.storage.mailbox_uid_taken(&mark).await? {
                self.mark_done_again(session, offers, uid).await?;
                report.already_taken += 1;
                continue;
            }
            if let Some(hook) = &hooks.before_fetch {
                hook(uid);
            }
            let raw = fetch(session, uid, limit).await?;
            let Some(raw) = raw else {
                // Expunged since the search (another client): nothing to take.
                continue;
            };
            let ingested = ingest_message_marked(
                &intake.storage,
                &intake.registry,
                &intake.secret,
                &raw,
                intake.clock.now(),
                "system",
                Some(&mark),
                &intake.settings,
            )
            .await?;
            match ingested {
                Some(ingested) => report.count(&ingested),
                None => report.already_taken += 1,
            }
            if let Some(hook) = &hooks.after_store {
                hook(uid);
            }
            self.mark_done(session, offers, uid).await?;
            drain_unsolicited(session);
        }
        Ok(report)
    }

    /// Marks a stored message done on the server: moved to `imap_move_to`, or `\Seen`
    /// (see the module docs for servers without MOVE).
    async fn mark_done(
        &self,
        session: &mut Session<Conn>,
        offers: Offers,
        uid: u32,
    ) -> Result<(), PollError> {
        let uid_set = uid.to_string();
        let Some(folder) = &self.move_to else {
            return add_flags(session, &uid_set, "\\Seen").await;
        };
        if offers.move_command {
            return timed(session.uid_mv(&uid_set, folder)).await;
        }
        timed(session.uid_copy(&uid_set, folder)).await?;
        // `\Seen` too: should the expunge never happen, the next search passes it by.
        add_flags(session, &uid_set, "\\Seen \\Deleted").await?;
        if offers.uidplus {
            expunge_uid(session, &uid_set).await?;
        }
        Ok(())
    }

    /// Marks done a message taken before (by a poll cut short, another server, or a person
    /// marking it unread): without MOVE, one already copied and flagged `\Deleted` is not
    /// copied to `imap_move_to` a second time, only flagged `\Seen` (and expunged by its UID
    /// where UIDPLUS is offered).
    async fn mark_done_again(
        &self,
        session: &mut Session<Conn>,
        offers: Offers,
        uid: u32,
    ) -> Result<(), PollError> {
        if self.move_to.is_none() || offers.move_command || !flagged_deleted(session, uid).await? {
            return self.mark_done(session, offers, uid).await;
        }
        let uid_set = uid.to_string();
        add_flags(session, &uid_set, "\\Seen").await?;
        if offers.uidplus {
            expunge_uid(session, &uid_set).await?;
        }
        Ok(())
    }

    /// Runs until `shutdown`: poll, then wait in IDLE (or sleep), again; after a failure,
    /// waits (longer each time, at most five minutes) and connects again.
    pub async fn run(self, intake: Intake, mut shutdown: watch::Receiver<bool>) {
        let hooks = Hooks::default();
        let mut backoff = Duration::from_secs(5);
        loop {
            let result = self.session_loop(&intake, &hooks, &mut shutdown).await;
            match result {
                Ok(()) => return,
                Err(e) => {
                    log_poll(&Err(e));
                    if wait_or_stop(backoff, &mut shutdown).await {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// One connection's life: poll, wait, poll… `Ok` only at shutdown.
    async fn session_loop(
        &self,
        intake: &Intake,
        hooks: &Hooks,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), PollError> {
        let (mut session, offers) = self.connect().await?;
        let idle = self.idle && offers.idle;
        loop {
            let report = self.take_waiting(&mut session, offers, intake, hooks).await;
            log_poll(&report);
            report?;
            if *shutdown.borrow() {
                return Ok(());
            }
            if idle {
                let wait = self.poll_every.min(MAX_IDLE);
                let mut handle = session.idle();
                timed(handle.init()).await?;
                let stop = {
                    let (waiting, _interrupt) = handle.wait_with_timeout(wait);
                    tokio::select! {
                        result = waiting => { result.map_err(PollError::imap)?; false }
                        changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
                    }
                };
                if stop {
                    // The connection is simply dropped: nothing is half done in IDLE.
                    return Ok(());
                }
                session = timed(handle.done()).await?;
            } else if wait_or_stop(self.poll_every, shutdown).await {
                let _ = timed(session.logout()).await;
                return Ok(());
            }
        }
    }
}

/// One message's bytes (at most `limit`), read without setting `\Seen`; `None` when the
/// UID is gone.
async fn fetch(
    session: &mut Session<Conn>,
    uid: u32,
    limit: usize,
) -> Result<Option<Vec<u8>>, PollError> {
    let fetching = async {
        let stream = session
            .uid_fetch(uid.to_string(), format!("(UID BODY.PEEK[]<0.{limit}>)"))
            .await?;
        let fetches: Vec<_> = stream.try_collect().await?;
        Ok::<_, async_imap::error::Error>(
            fetches
                .iter()
                .filter(|f| f.uid == Some(uid))
                .find_map(|f| f.body().map(<[u8]>::to_vec)),
        )
    };
    timed(fetching).await
}

/// Whether the message is flagged `\Deleted` (`false` when it is gone).
async fn flagged_deleted(session: &mut Session<Conn>, uid: u32) -> Result<bool, PollError> {
    let fetching = async {
        let stream = session.uid_fetch(uid.to_string(), "(UID FLAGS)").await?;
        let fetches: Vec<_> = stream.try_collect().await?;
        Ok::<_, async_imap::error::Error>(fetches.iter().filter(|f| f.uid == Some(uid)).any(|f| {
            f.flags()
                .any(|flag| flag == async_imap::types::Flag::Deleted)
        }))
    };
    timed(fetching).await
}

/// `UID EXPUNGE` of these UIDs only (UIDPLUS): never a bare EXPUNGE, which would also remove
/// messages other clients flagged `\Deleted`.
async fn expunge_uid(session: &mut Session<Conn>, uid_set: &str) -> Result<(), PollError> {
    let expunged = async {
        let stream = session.uid_expunge(uid_set).await?;
        stream.try_collect::<Vec<_>>().await?;
        Ok::<_, async_imap::error::Error>(())
    };
    timed(expunged).await
}

/// `UID STORE … +FLAGS.SILENT (flags)`.
async fn add_flags(
    session: &mut Session<Conn>,
    uid_set: &str,
    flags: &str,
) -> Result<(), PollError> {
    let storing = async {
        let stream = session
            .uid_store(uid_set, format!("+FLAGS.SILENT ({flags})"))
            .await?;
        stream.try_collect::<Vec<_>>().await?;
        Ok::<_, async_imap::error::Error>(())
    };
    timed(storing).await
}

/// Unsolicited responses (EXISTS, EXPUNGE…) are not needed: the next search sees them.
fn drain_unsolicited(session: &mut Session<Conn>) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}

/// A command with [`COMMAND_TIMEOUT`], its error as a [`PollError`].
async fn timed<T, E: std::fmt::Display>(
    command: impl Future<Output = Result<T, E>>,
) -> Result<T, PollError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, command).await {
        Ok(result) => result.map_err(PollError::imap),
        Err(_) => Err(PollError::imap("the server did not answer in time")),
    }
}

/// The certificates of a PEM file.
fn read_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, PollError> {
    let bad =
        |reason: String| PollError::Settings(format!("imap_ca_file: {}: {reason}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(bad("holds no certificate".to_owned()));
    }
    Ok(certs)
}

/// The connection: plain TCP (loopback only, by the settings' check) or TLS.
#[derive(Debug)]
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
