//! Mailbox sources of email intake (issue 15): an IMAP folder ([`imap`]) and a Maildir
//! ([`maildir`]), configured in the settings (`imap_*`, `maildir*`). `haven serve` runs each
//! configured source as a background task ([`spawn`]) until shutdown; `haven mail poll`
//! takes what is waiting once.
//!
//! Every message goes through the one intake operation (`intake_email::ingest_message`,
//! or `ingest_message_marked` with its IMAP UID), so the sources only fetch, store and then
//! mark a message done on its server or folder: stored first, marked after. A source that
//! stops between the two finds the message again and the stored record (the UID, or the
//! keyed content hash) says it was taken.
//!
//! Errors never quote a password, and addresses in a server's error texts are masked
//! (`mail::scrub_addresses`).

pub mod imap;
pub mod maildir;

use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::auth::Clock;
use crate::config::Settings;
use crate::crypto::SecretKey;
use crate::intake_email::{IngestOutcome, Ingested};
use crate::services::Registry;
use crate::storage::{Storage, StorageError};

/// What a source needs to take messages in.
#[derive(Clone)]
pub struct Intake {
    pub storage: Storage,
    pub registry: Registry,
    pub secret: SecretKey,
    pub clock: Clock,
    /// Sender verification and the duty alert's link (`mail_authserv_id`, `public_url`).
    pub settings: crate::intake_email::IntakeSettings,
}

/// What one poll of a source did: one JSON line of `haven mail poll`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollReport {
    /// The source (`imap://USER@HOST:PORT/FOLDER` or `maildir:PATH`).
    pub source: String,
    /// New items waiting in an inbox.
    pub drafts: usize,
    /// Set aside with a reason.
    pub quarantined: usize,
    /// The same content was already held: nothing stored.
    pub duplicates: usize,
    /// Already taken (by this server before a restart, or by another server): skipped.
    pub already_taken: usize,
}

impl PollReport {
    fn new(source: &str) -> Self {
        Self {
            source: source.to_owned(),
            ..Self::default()
        }
    }

    fn count(&mut self, ingested: &Ingested) {
        match ingested.outcome {
            IngestOutcome::Draft => self.drafts += 1,
            IngestOutcome::Quarantined => self.quarantined += 1,
            IngestOutcome::Duplicate => self.duplicates += 1,
        }
    }

    /// Messages stored or recognised in this poll.
    pub fn total(&self) -> usize {
        self.drafts + self.quarantined + self.duplicates + self.already_taken
    }
}

/// Why a poll failed. The texts never hold a password; addresses are masked.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The settings cannot work (a password missing, a CA file unreadable).
    #[error("{0}")]
    Settings(String),
    /// The server could not be reached or its certificate was refused.
    #[error("could not connect to the IMAP server: {0}")]
    Connect(String),
    /// The server refused the user name or password.
    #[error("the IMAP server refused the sign-in: {0}")]
    Login(String),
    /// The conversation with the server failed (it stopped, or answered nonsense).
    #[error("IMAP: {0}")]
    Imap(String),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl PollError {
    fn imap(e: impl std::fmt::Display) -> Self {
        PollError::Imap(crate::mail::scrub_addresses(&e.to_string()))
    }
    fn connect(e: impl std::fmt::Display) -> Self {
        PollError::Connect(crate::mail::scrub_addresses(&e.to_string()))
    }
}

/// A configured source.
#[derive(Debug, Clone)]
pub enum Source {
    Imap(Box<imap::ImapSource>),
    Maildir(maildir::MaildirSource),
}

impl Source {
    /// The source's name in reports and logs.
    pub fn key(&self) -> String {
        match self {
            Source::Imap(s) => s.key(),
            Source::Maildir(s) => s.key(),
        }
    }

    /// Takes in what is waiting, once.
    pub async fn poll_once(&self, intake: &Intake) -> Result<PollReport, PollError> {
        match self {
            Source::Imap(s) => s.poll_once(intake, &imap::Hooks::default()).await,
            Source::Maildir(s) => s.poll_once(intake).await,
        }
    }
}

/// The sources the settings configure. `imap_password` is `HAVEN_IMAP_PASSWORD` (read
/// by the caller from the environment); `imap_password_file` is read here.
pub fn sources(
    settings: &Settings,
    imap_password: Option<String>,
) -> Result<Vec<Source>, PollError> {
    let mut sources = Vec::new();
    if let Some(source) = imap::ImapSource::from_settings(settings, imap_password)? {
        sources.push(Source::Imap(Box::new(source)));
    }
    if let Some(dir) = &settings.maildir {
        sources.push(Source::Maildir(maildir::MaildirSource::new(
            dir.clone(),
            Duration::from_secs(settings.maildir_poll_secs),
        )));
    }
    Ok(sources)
}

/// Runs every source in the background until `shutdown` turns true (or its sender is
/// dropped). A failing source logs why and tries again later; it never stops the server.
pub fn spawn(
    intake: &Intake,
    sources: Vec<Source>,
    shutdown: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    sources
        .into_iter()
        .map(|source| {
            let intake = intake.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                match source {
                    Source::Imap(s) => (*s).run(intake, shutdown).await,
                    Source::Maildir(s) => s.run(intake, shutdown).await,
                }
            })
        })
        .collect()
}

/// Waits `for_` or until shutdown; `true` when shutting down.
async fn wait_or_stop(for_: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(for_) => *shutdown.borrow(),
        changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
    }
}

/// Logs a poll's outcome (counts only: never a subject, address or Message-ID).
fn log_poll(result: &Result<PollReport, PollError>) {
    match result {
        Ok(report) if report.total() > 0 => tracing::info!(
            source = %report.source,
            drafts = report.drafts,
            quarantined = report.quarantined,
            duplicates = report.duplicates,
            already_taken = report.already_taken,
            "email intake"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "email intake: the mailbox could not be read"),
    }
}
