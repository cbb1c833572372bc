//! Email out: a real SMTP client (lettre) with implicit TLS or required STARTTLS, or, by
//! default, an outbox folder of sealed files for installations without a relay
//! ([`outbox`], read with `haven outbox list|show`).
//!
//! Emails to referrers and reporters never carry case content: only that something
//! changed and where to look (the follow-up page or a sign-in link). Staff are told the same
//! way that a case needs them (allocated to them, new information from the referrer), with
//! a link to its staff page behind sign-in. [`Notice`] is the one way an email is written,
//! so a template cannot slip an answer in.
//!
//! Sending is a durable job (`storage::jobs`, queue [`QUEUE`]): [`enqueue`] stores it,
//! [`run_worker`] sends it with retries and backoff, once across servers.
//!
//! Transport errors often quote the recipient (`550 <jo@school.org.uk>: no such user`):
//! every [`MailError`] is built through [`scrub_addresses`], so no address reaches
//! `jobs.last_error` or a log line.

pub mod outbox;

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::Clock;
use crate::config::{Settings, SmtpTls};
use crate::crypto::keyring::KeyRing;
use crate::storage::jobs::mail_job;
use crate::storage::{Storage, StorageError};
use outbox::Outbox;

/// The job queue emails go through.
pub const QUEUE: &str = crate::storage::jobs::MAIL_QUEUE;
/// The job kind of one email.
pub const KIND: &str = crate::storage::jobs::MAIL_KIND;
/// Attempts before an email is given up on (about a day with the backoff below).
pub const MAX_ATTEMPTS: i64 = 12;

/// Why an email could not be built or sent. The texts are scrubbed of addresses: build
/// them with [`MailError::address`] and friends, never the variants directly.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("bad address: {0}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("outbox: {0}")]
    Outbox(String),
}

impl MailError {
    fn address(e: impl std::fmt::Display) -> Self {
        MailError::Address(scrub_addresses(&e.to_string()))
    }
    fn build(e: impl std::fmt::Display) -> Self {
        MailError::Build(scrub_addresses(&e.to_string()))
    }
    fn smtp(e: impl std::fmt::Display) -> Self {
        MailError::Smtp(scrub_addresses(&e.to_string()))
    }
    fn outbox(e: impl std::fmt::Display) -> Self {
        MailError::Outbox(scrub_addresses(&e.to_string()))
    }
}

/// Anything shaped like an email address (`local@domain`, however quoted or bracketed).
static ADDRESS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"[^\s<>()\[\]{},;:"'@]+@[^\s<>()\[\]{},;:"'@]+"#).ok());

/// `text` with every email address in it masked (`jo@school.org.uk` → `j•••@school.org.uk`,
/// as [`mask_address`]): the one scrubbing of error texts before they are stored or logged.
pub fn scrub_addresses(text: &str) -> String {
    match ADDRESS.as_ref() {
        Some(pattern) => pattern
            .replace_all(text, |found: &regex::Captures<'_>| mask_address(&found[0]))
            .into_owned(),
        // The pattern is a constant that compiles; should it ever not, hide everything.
        None => "[error text withheld: it may hold an address]".to_owned(),
    }
}

/// One email to send: plain text, no case content (see the module doc).
#[derive(Clone, Serialize, Deserialize)]
pub struct Notice {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// `<id@haven>`, fixed when the job is made, so a resend after a crash is recognisable
    /// as the same message.
    pub message_id: String,
    /// The case this notice is about: once sent (or given up on) the case's chronology
    /// records what kind of message went to whom (masked) and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<NoticeAbout>,
}

/// What a case's chronology records about a notice.
#[derive(Clone, Serialize, Deserialize)]
pub struct NoticeAbout {
    pub referral_id: String,
    /// `update` (something changed) or `invitation` (a link to a form).
    pub message: String,
    /// The address with most of it hidden (`j•••@school.org.uk`).
    pub to_masked: String,
}

/// `jo@school.org.uk` → `j•••@school.org.uk`: enough for staff to recognise, no more.
pub fn mask_address(address: &str) -> String {
    match address.trim().rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

// Addresses are personal data: never in logs.
impl std::fmt::Debug for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notice")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Notice {
    /// A notice that something changed, pointing to `link` — the only shape of email Haven
    /// sends to people outside the team.
    pub fn something_changed(to: &str, service_name: &str, what: &str, link: &str) -> Self {
        let body = format!(
            "Hello,\n\n{what}\n\nTo see the details, go to:\n{link}\n\n\
             For your safety this email does not repeat anything from the referral.\n\n\
             {service_name}\n"
        );
        Self {
            to: to.to_owned(),
            subject: format!("{service_name}: an update"),
            body,
            message_id: format!("<{}@haven>", crate::crypto::new_id()),
            about: None,
        }
    }

    /// A link to a form the team asks the referrer to complete (`link` holds a single-use
    /// token; `follow_up` is where to ask for a new one). No case content either.
    pub fn invitation(
        to: &str,
        service_name: &str,
        link: &str,
        expires: &str,
        follow_up: &str,
    ) -> Self {
        let body = format!(
            "Hello,\n\nThank you for contacting us. We would like some more details: please \
             complete our referral form at this secure link:\n{link}\n\n\
             The link works once, in one browser, until {expires}. Do not forward this email. \
             If the link has expired or does not work, ask us for a new one from your \
             follow-up page:\n{follow_up}\n\n\
             For your safety this email does not repeat anything from the referral.\n\n\
             {service_name}\n"
        );
        Self {
            to: to.to_owned(),
            subject: format!("{service_name}: an update"),
            body,
            message_id: format!("<{}@haven>", crate::crypto::new_id()),
            about: None,
        }
    }

    /// A notice to a member of staff that a case needs them (`what`), pointing to its staff
    /// page (`link`, behind sign-in). No case content: a mailbox is not the case file.
    pub fn staff_alert(to: &str, service_name: &str, what: &str, link: &str) -> Self {
        let body = format!(
            "Hello,\n\n{what}\n\nSign in to see it:\n{link}\n\n\
             This email does not repeat anything from the case.\n\n{service_name}\n"
        );
        Self {
            to: to.to_owned(),
            subject: format!("{service_name}: a case needs you"),
            body,
            message_id: format!("<{}@haven>", crate::crypto::new_id()),
            about: None,
        }
    }

    /// An urgent referral for the service's duty address (`duty_email`): it came in just
    /// now and a child may be in immediate danger. Only the reference, the service, the word
    /// urgent and the case's staff page (`link`, behind sign-in).
    pub fn urgent_referral(to: &str, service_name: &str, reference: &str, link: &str) -> Self {
        let body = format!(
            "Hello,\n\nAn URGENT referral has just been received: the person who made it said a \
             child is in immediate danger. Please look at it now.\n\n\
             Reference: {reference}\n\nSign in to see it:\n{link}\n\n\
             This email does not repeat anything from the case.\n\n{service_name}\n"
        );
        Self {
            to: to.to_owned(),
            subject: format!("{service_name}: URGENT referral {reference}"),
            body,
            message_id: format!("<{}@haven>", crate::crypto::new_id()),
            about: None,
        }
    }

    /// An emailed referral that says it is urgent, for the service's duty address: only the
    /// service, the word urgent and the team's inbox (`link`, behind sign-in).
    pub fn urgent_email(to: &str, service_name: &str, link: &str) -> Self {
        let body = format!(
            "Hello,\n\nAn email that says it is URGENT has just arrived in the team's inbox: \
             a child may be in immediate danger. Please look at it now.\n\n\
             Sign in to see it:\n{link}\n\n\
             This email does not repeat anything from the message.\n\n{service_name}\n"
        );
        Self {
            to: to.to_owned(),
            subject: format!("{service_name}: URGENT email referral"),
            body,
            message_id: format!("<{}@haven>", crate::crypto::new_id()),
            about: None,
        }
    }

    /// The acknowledgement of an emailed referral, to a verified sender only: the reference
    /// it was given, nothing from the message.
    pub fn acknowledgement(to: &str, service_name: &str, reference: &str) -> Self {
        let body = format!(
            "Hello,\n\nThank you: we have received the referral you emailed to us. Its \
             reference is {reference}. Please quote it if you contact us about it.\n\n\
             For your safety this email does not repeat anything from the referral.\n\n\
             {service_name}\n"
        );
        Self {
            to: to.to_owned(),
            subject: format!("{service_name}: referral received (reference {reference})"),
            body,
            message_id: format!("<{}@haven>", crate::crypto::new_id()),
            about: None,
        }
    }

    /// The same notice naming the case's reference (subject and first line), so someone with
    /// several referrals knows which one has news. A reference is not case content: the
    /// referrer was given it on the confirmation page.
    pub fn for_case(mut self, reference: &str) -> Self {
        self.subject = format!("{} (reference {reference})", self.subject);
        self.body = match self.body.strip_prefix("Hello,\n\n") {
            Some(rest) => format!("Hello,\n\nReference: {reference}\n\n{rest}"),
            None => format!("Reference: {reference}\n\n{}", self.body),
        };
        self
    }

    /// The same notice, recorded in `referral_id`'s chronology once sent.
    pub fn about(mut self, referral_id: &str, message: &str) -> Self {
        self.about = Some(NoticeAbout {
            referral_id: referral_id.to_owned(),
            message: message.to_owned(),
            to_masked: mask_address(&self.to),
        });
        self
    }
}

/// Where emails go.
#[derive(Clone)]
pub enum Mailer {
    /// Sealed files in a folder (the embedded default).
    Outbox(Outbox),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Outbox(outbox) => f.debug_tuple("Outbox").field(outbox).finish(),
            Mailer::Smtp(_) => f.write_str("Smtp(..)"),
        }
    }
}

impl Mailer {
    /// The outbox in `dir` sealing under `keys` (the test mailer).
    pub fn outbox(dir: impl Into<std::path::PathBuf>, keys: KeyRing) -> Self {
        Mailer::Outbox(Outbox::new(dir, keys))
    }

    /// The mailer the settings describe; `password` is `HAVEN_SMTP_PASSWORD`; `keys` seal
    /// the outbox's files (the master key ring).
    pub fn from_settings(
        settings: &Settings,
        password: Option<String>,
        keys: KeyRing,
    ) -> Result<Self, MailError> {
        let Some(host) = &settings.smtp_host else {
            return Ok(Mailer::Outbox(outbox_of(settings, keys)));
        };
        let builder = match settings.smtp_tls {
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(MailError::smtp)?
                .port(settings.smtp_port.unwrap_or(465)),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(MailError::smtp)?
                .port(settings.smtp_port.unwrap_or(587)),
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .port(settings.smtp_port.unwrap_or(25)),
        };
        let builder = builder.timeout(Some(Duration::from_secs(30)));
        let builder = match (&settings.smtp_username, password) {
            (Some(user), Some(password)) => {
                builder.credentials(Credentials::new(user.clone(), password))
            }
            _ => builder,
        };
        Ok(Mailer::Smtp(builder.build()))
    }

    /// Sends one email now (`now`: the date an outbox file records).
    pub async fn send(
        &self,
        from: &str,
        notice: &Notice,
        now: DateTime<Utc>,
    ) -> Result<(), MailError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::address(e))?;
        let to: Mailbox = notice
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::address(e))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(notice.subject.as_str())
            .message_id(Some(notice.message_id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(notice.body.clone())
            .map_err(MailError::build)?;
        match self {
            Mailer::Outbox(outbox) => {
                let outbox = outbox.clone();
                let (to, subject) = (notice.to.clone(), notice.subject.clone());
                tokio::task::spawn_blocking(move || {
                    outbox.write(&to, &subject, &message.formatted(), now)
                })
                .await
                .map_err(MailError::outbox)?
                .map(|_| ())
                .map_err(MailError::outbox)
            }
            Mailer::Smtp(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(MailError::smtp),
        }
    }

    /// The outbox, when emails go there (the retention job removes a destroyed case's).
    pub fn as_outbox(&self) -> Option<&Outbox> {
        match self {
            Mailer::Outbox(outbox) => Some(outbox),
            _ => None,
        }
    }

    /// Deletes outbox files past their retention (nothing for SMTP); returns how many.
    pub async fn prune_outbox(&self) -> Result<usize, MailError> {
        let Mailer::Outbox(outbox) = self else {
            return Ok(0);
        };
        let outbox = outbox.clone();
        tokio::task::spawn_blocking(move || outbox.prune(std::time::SystemTime::now()))
            .await
            .map_err(MailError::outbox)?
            .map_err(MailError::outbox)
    }
}

/// The default outbox of these settings: `<data_dir>/outbox`, kept `outbox_retention_days`.
pub fn outbox_of(settings: &Settings, keys: KeyRing) -> Outbox {
    Outbox::new(settings.data_dir.join("outbox"), keys).with_retention(Duration::from_secs(
        u64::from(settings.outbox_retention_days) * 24 * 3600,
    ))
}

/// Stores an email as a job at `now`; it is sent by [`run_worker`].
pub async fn enqueue(
    storage: &Storage,
    notice: &Notice,
    now: DateTime<Utc>,
) -> Result<String, StorageError> {
    let payload = json!(notice);
    storage.enqueue_job(&mail_job(&payload, now)).await
}

/// The wait before attempt `attempts + 1`: 30 s doubling, at most 4 h.
pub fn backoff(attempts: i64) -> chrono::Duration {
    let exponent = u32::try_from(attempts.clamp(1, 10) - 1).unwrap_or(0);
    chrono::Duration::seconds((30_i64 << exponent).min(4 * 3600))
}

/// What one pass of the worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Idle,
    Sent,
    Retrying,
    GaveUp,
}

/// Claims and sends at most one email, at the time `clock` says.
pub async fn work_once(
    storage: &Storage,
    mailer: &Mailer,
    from: &str,
    clock: &Clock,
) -> Result<Pass, StorageError> {
    let now = clock.now();
    // The lease outlasts the SMTP timeout, so a slow send is not claimed twice.
    let Some(job) = storage
        .claim_job(QUEUE, now, chrono::Duration::minutes(5))
        .await?
    else {
        return Ok(Pass::Idle);
    };
    let notice: Notice = match serde_json::from_value(job.payload.clone()) {
        Ok(n) => n,
        Err(e) => {
            let error = scrub_addresses(&format!("unreadable payload: {e}"));
            storage.fail_job(&job.id, &error, None, now).await?;
            return Ok(Pass::GaveUp);
        }
    };
    match mailer.send(from, &notice, now).await {
        Ok(()) => {
            // Read again: sending may take as long as the SMTP timeout.
            let done = clock.now();
            storage.complete_job(&job.id, done).await?;
            record(storage, &notice, "notification_sent", done).await?;
            Ok(Pass::Sent)
        }
        Err(e) => {
            let error = e.to_string();
            let permanent = matches!(e, MailError::Address(_) | MailError::Build(_));
            if permanent || job.attempts >= MAX_ATTEMPTS {
                tracing::error!(job = %job.id, error = %error, "gave up on an email");
                let done = clock.now();
                storage.fail_job(&job.id, &error, None, done).await?;
                record(storage, &notice, "notification_failed", done).await?;
                Ok(Pass::GaveUp)
            } else {
                tracing::warn!(job = %job.id, attempt = job.attempts, error = %error, "email failed; will retry");
                let done = clock.now();
                let retry_at = done + backoff(job.attempts);
                storage
                    .fail_job(&job.id, &error, Some(retry_at), done)
                    .await?;
                Ok(Pass::Retrying)
            }
        }
    }
}

/// Records in the case's chronology what became of a notice about a case.
async fn record(
    storage: &Storage,
    notice: &Notice,
    kind: &str,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    let Some(about) = &notice.about else {
        return Ok(());
    };
    let detail = json!({ "message": about.message, "to": about.to_masked });
    storage
        .record_notification(&about.referral_id, kind, detail, at)
        .await
}

/// How often the worker deletes outbox files past their retention.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Sends queued emails until the process ends: drains the queue, then polls every
/// `idle_poll`. Hourly (and at start) it deletes outbox files past their retention. Times
/// come from `clock` (the server's).
pub async fn run_worker(
    storage: Storage,
    mailer: Mailer,
    from: String,
    idle_poll: Duration,
    clock: Clock,
) {
    let mut pruned_at: Option<std::time::Instant> = None;
    loop {
        if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned_at = Some(std::time::Instant::now());
            match mailer.prune_outbox().await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "deleted outbox files past their retention"),
                Err(e) => tracing::error!(error = %e, "could not delete old outbox files"),
            }
        }
        match work_once(&storage, &mailer, &from, &clock).await {
            Ok(Pass::Idle) => tokio::time::sleep(idle_poll).await,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "email worker could not reach the database");
                tokio::time::sleep(idle_poll).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_error_texts_are_masked_wherever_they_stand() {
        let text = "permanent error (550): 5.1.1 <jo.bloggs@school.org.uk>: Recipient address \
                    rejected; also \"ann+x@example.org\", (b@c.d) and mail to x@y.example.";
        let scrubbed = scrub_addresses(text);
        for secret in ["jo.bloggs", "ann+x", "b@c.d", "x@y"] {
            assert!(!scrubbed.contains(secret), "{secret} in {scrubbed}");
        }
        assert!(scrubbed.contains("<j•••@school.org.uk>"), "{scrubbed}");
        assert!(scrubbed.contains("permanent error (550)"), "{scrubbed}");
        assert_eq!(scrub_addresses("no address here"), "no address here");
        // Scrubbing twice changes nothing more.
        assert_eq!(scrub_addresses(&scrubbed), scrubbed);
    }
}
