//! Typed settings, layered: built-in defaults → an optional TOML file (`--config FILE` or
//! `HAVEN_CONFIG`) → `HAVEN_*` environment variables → command-line flags.
//!
//! Every knob is a field of [`Settings`] with a doc comment; `haven config example` prints
//! [`EXAMPLE`], a commented file with every default (a test keeps the two in step).
//!
//! Hand-written rather than `figment`/`config`: four layers over a dozen flat fields is a
//! short function, and it lets every error name the exact source (file line, variable or
//! flag) for the CLI's exit status 2.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The engine a database URL names: storage's to know, re-exported for the settings' users.
pub use haven_storage::config::{DatabaseKind, database_kind};

/// Every setting of the server and the CLI.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address and port `haven serve` listens on. Env: `HAVEN_BIND`.
    pub bind: SocketAddr,
    /// Directory for Haven's own files: the SQLite database (by default), the server
    /// secret key `secret.key`, the master key ring `master.keys` (unless
    /// `HAVEN_MASTER_KEY` is set) and the audit checkpoint `audit.checkpoint`. Created when
    /// missing (mode 0700). Env: `HAVEN_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`. When absent, an SQLite
    /// database `haven.db` under `data_dir`. Env: `HAVEN_DATABASE_URL`.
    pub database_url: Option<String>,
    /// Directory of extra service definitions (`*.toml`); one with a built-in's id replaces
    /// it. Env: `HAVEN_SERVICES_DIR`.
    pub services_dir: Option<PathBuf>,
    /// Most database connections kept open. Env: `HAVEN_MAX_CONNECTIONS`.
    pub max_connections: u32,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    /// Env: `HAVEN_BODY_LIMIT_BYTES`.
    pub body_limit_bytes: usize,
    /// Seconds a request may take before it is abandoned with 503.
    /// Env: `HAVEN_REQUEST_TIMEOUT_SECS`.
    pub request_timeout_secs: u64,
    /// Public submissions accepted from one client address per window; more get 429.
    /// Counts are kept in memory only (never stored). Env: `HAVEN_SUBMISSIONS_PER_WINDOW`.
    pub submissions_per_window: u32,
    /// Length of the rate-limit window in seconds. Env: `HAVEN_RATE_LIMIT_WINDOW_SECS`.
    pub rate_limit_window_secs: u64,
    /// Anonymity checks (`POST /api/v1/anonymity-check`, called by the public pages as a
    /// reporter types) accepted from one client address per window; more get 429. Counted
    /// apart from submissions, so checking never uses up the allowance to send.
    /// Env: `HAVEN_CHECKS_PER_WINDOW`.
    pub checks_per_window: u32,
    /// Take the client address from the last `X-Forwarded-For` entry (only behind a reverse
    /// proxy that sets it; otherwise clients could choose their own address).
    /// Env: `HAVEN_TRUST_FORWARDED_FOR`.
    pub trust_forwarded_for: bool,
    /// Whether the public form cookie carries `Secure` (sent over HTTPS only). When absent:
    /// on, unless `bind` is a loopback address (development on http://127.0.0.1). Behind a
    /// TLS-terminating proxy leave it on. Env: `HAVEN_COOKIE_SECURE`.
    pub cookie_secure: Option<bool>,
    /// Seconds a client has to send a request's headers, counted from when the connection
    /// is ready for a request: it closes connections that trickle their headers and idle
    /// keep-alive connections alike. Env: `HAVEN_HEADER_READ_TIMEOUT_SECS`.
    pub header_read_timeout_secs: u64,
    /// Most client connections open at once; further connections wait in the listen
    /// backlog until one closes. Env: `HAVEN_MAX_CLIENT_CONNECTIONS`.
    pub max_client_connections: usize,
    /// A separate address serving only `/metrics` (e.g. `127.0.0.1:9090`). When absent,
    /// metrics are not served at all unless `metrics_token` is set. Env: `HAVEN_METRICS_BIND`.
    pub metrics_bind: Option<SocketAddr>,
    /// When set, the public address also answers `/metrics` to requests carrying
    /// `Authorization: Bearer <token>` (404 otherwise). Read from the environment only
    /// (`HAVEN_METRICS_TOKEN`), like other secrets; never written to the config file.
    #[serde(skip)]
    pub metrics_token: Option<String>,
    /// Log format on stderr: `text` or `json`. Env: `HAVEN_LOG_FORMAT`. The level filter is
    /// `HAVEN_LOG` (e.g. `info`, `haven=debug`).
    pub log_format: LogFormat,
    /// The address people reach Haven at, for links in emails (`https://haven.example.org`).
    /// Env: `HAVEN_PUBLIC_URL`.
    pub public_url: String,
    /// Where "Exit this page" on the public pages leads, after the form session is ended:
    /// an everyday site that gives nothing away. Env: `HAVEN_EXIT_URL`.
    pub exit_url: String,
    /// The sender of Haven's emails. Env: `HAVEN_MAIL_FROM`.
    pub mail_from: String,
    /// SMTP relay host. When absent, emails are written to `<data_dir>/outbox/` as sealed
    /// files (read them with `haven outbox list|show`) instead of being sent.
    /// Env: `HAVEN_SMTP_HOST`.
    pub smtp_host: Option<String>,
    /// SMTP port [default: 465 for `tls`, 587 for `starttls`, 25 for `none`].
    /// Env: `HAVEN_SMTP_PORT`.
    pub smtp_port: Option<u16>,
    /// `tls` (implicit TLS), `starttls` (required upgrade) or `none` (plain, for a relay on
    /// the same machine only). Env: `HAVEN_SMTP_TLS`.
    pub smtp_tls: SmtpTls,
    /// SMTP user name; the password is read from `HAVEN_SMTP_PASSWORD` only.
    /// Env: `HAVEN_SMTP_USERNAME`.
    pub smtp_username: Option<String>,
    /// Days an email is kept in the outbox folder before the mail worker deletes it.
    /// Env: `HAVEN_OUTBOX_RETENTION_DAYS`.
    pub outbox_retention_days: u32,
    /// Most bytes of files one public draft may hold (every question together); an upload
    /// past it is refused and nothing of it kept. Env: `HAVEN_UPLOAD_BYTES_PER_DRAFT`.
    pub upload_bytes_per_draft: u64,
    /// Files one client address may upload per upload window (pages and API together);
    /// more get 429. Kept in memory only. Env: `HAVEN_UPLOADS_PER_WINDOW`.
    pub uploads_per_window: u32,
    /// Bytes of files one client address may upload per upload window; an upload that goes
    /// past it is stopped and dropped (429). Kept in memory only.
    /// Env: `HAVEN_UPLOAD_BYTES_PER_WINDOW`.
    pub upload_bytes_per_window: u64,
    /// Length of the upload window in seconds. Env: `HAVEN_UPLOAD_WINDOW_SECS`.
    pub upload_window_secs: u64,
    /// IMAP server of the intake mailbox (email intake, issue 15). When set, `haven serve`
    /// takes its messages in the background and `haven mail poll` once. The password is
    /// read from `HAVEN_IMAP_PASSWORD` or `imap_password_file`, never from this file.
    /// Env: `HAVEN_IMAP_HOST`.
    pub imap_host: Option<String>,
    /// IMAP port [default: 993 for `tls`, 143 for `none`]. Env: `HAVEN_IMAP_PORT`.
    pub imap_port: Option<u16>,
    /// `tls` (implicit TLS, certificates checked) or `none` (plain: only for a server on
    /// the loopback address). Env: `HAVEN_IMAP_TLS`.
    pub imap_tls: ImapTls,
    /// IMAP user name. Env: `HAVEN_IMAP_USERNAME`.
    pub imap_username: Option<String>,
    /// A file whose first line is the IMAP password (instead of `HAVEN_IMAP_PASSWORD`).
    /// Env: `HAVEN_IMAP_PASSWORD_FILE`.
    pub imap_password_file: Option<PathBuf>,
    /// The folder taken from. Env: `HAVEN_IMAP_FOLDER`.
    pub imap_folder: String,
    /// A folder each message is moved to once stored; when absent it is flagged `\Seen`
    /// and left. Env: `HAVEN_IMAP_MOVE_TO`.
    pub imap_move_to: Option<String>,
    /// Extra trusted certificate authorities (PEM) for the IMAP server, e.g. a private CA.
    /// Env: `HAVEN_IMAP_CA_FILE`.
    pub imap_ca_file: Option<PathBuf>,
    /// Seconds between polls when the server does not offer IDLE (or `imap_idle` is off),
    /// and the longest an IDLE waits before looking again. Env: `HAVEN_IMAP_POLL_SECS`.
    pub imap_poll_secs: u64,
    /// Wait with IDLE where the server offers it (new mail is taken at once).
    /// Env: `HAVEN_IMAP_IDLE`.
    pub imap_idle: bool,
    /// A Maildir folder (`new/`, `cur/`, `tmp/`) whose messages are taken in: each is moved
    /// from `new/` to `cur/` with the `S` flag once stored. Env: `HAVEN_MAILDIR`.
    pub maildir: Option<PathBuf>,
    /// Seconds between looks at the Maildir. Env: `HAVEN_MAILDIR_POLL_SECS`.
    pub maildir_poll_secs: u64,
    /// The authserv-id of the receiving mail server (`mx.example.org`): only its
    /// `Authentication-Results` header is believed when deciding whether an emailed
    /// referral's sender is verified (anyone can add such headers with other ids). When
    /// absent, no sender is verified and none gets an acknowledgement.
    /// Env: `HAVEN_MAIL_AUTHSERV_ID`.
    pub mail_authserv_id: Option<String>,
}

/// How the IMAP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapTls {
    Tls,
    None,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    Tls,
    Starttls,
    None,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./haven-data"),
            database_url: None,
            services_dir: None,
            max_connections: 10,
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            submissions_per_window: 20,
            rate_limit_window_secs: 600,
            checks_per_window: 300,
            trust_forwarded_for: false,
            cookie_secure: None,
            header_read_timeout_secs: 10,
            max_client_connections: 1024,
            metrics_bind: None,
            metrics_token: None,
            log_format: LogFormat::Text,
            public_url: "http://127.0.0.1:8080".to_owned(),
            exit_url: "https://www.bbc.co.uk/weather".to_owned(),
            mail_from: "Haven <haven@localhost>".to_owned(),
            smtp_host: None,
            smtp_port: None,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            outbox_retention_days: 7,
            upload_bytes_per_draft: 40 * 1024 * 1024,
            uploads_per_window: 30,
            upload_bytes_per_window: 200 * 1024 * 1024,
            upload_window_secs: 3600,
            imap_host: None,
            imap_port: None,
            imap_tls: ImapTls::Tls,
            imap_username: None,
            imap_password_file: None,
            imap_folder: "INBOX".to_owned(),
            imap_move_to: None,
            imap_ca_file: None,
            imap_poll_secs: 60,
            imap_idle: true,
            maildir: None,
            maildir_poll_secs: 30,
            mail_authserv_id: None,
        }
    }
}

// Hand-written so a database URL with a password never reaches a log line.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field("services_dir", &self.services_dir)
            .field("max_connections", &self.max_connections)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("submissions_per_window", &self.submissions_per_window)
            .field("rate_limit_window_secs", &self.rate_limit_window_secs)
            .field("checks_per_window", &self.checks_per_window)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("cookie_secure", &self.cookie_secure)
            .field("header_read_timeout_secs", &self.header_read_timeout_secs)
            .field("max_client_connections", &self.max_client_connections)
            .field("metrics_bind", &self.metrics_bind)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .field("log_format", &self.log_format)
            .field("public_url", &self.public_url)
            .field("exit_url", &self.exit_url)
            .field("mail_from", &self.mail_from)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_tls", &self.smtp_tls)
            .field("smtp_username", &self.smtp_username)
            .field("outbox_retention_days", &self.outbox_retention_days)
            .field("upload_bytes_per_draft", &self.upload_bytes_per_draft)
            .field("uploads_per_window", &self.uploads_per_window)
            .field("upload_bytes_per_window", &self.upload_bytes_per_window)
            .field("upload_window_secs", &self.upload_window_secs)
            .field("imap_host", &self.imap_host)
            .field("imap_port", &self.imap_port)
            .field("imap_tls", &self.imap_tls)
            .field("imap_username", &self.imap_username)
            .field("imap_password_file", &self.imap_password_file)
            .field("imap_folder", &self.imap_folder)
            .field("imap_move_to", &self.imap_move_to)
            .field("imap_ca_file", &self.imap_ca_file)
            .field("imap_poll_secs", &self.imap_poll_secs)
            .field("imap_idle", &self.imap_idle)
            .field("maildir", &self.maildir)
            .field("maildir_poll_secs", &self.maildir_poll_secs)
            .field("mail_authserv_id", &self.mail_authserv_id)
            .finish()
    }
}

/// A setting that could not be read: `origin` names the file and line, variable or flag.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct ConfigError {
    pub origin: String,
    pub reason: String,
}

/// Values given on the command line (the last layer). `None` leaves the layer below.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub bind: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub services_dir: Option<PathBuf>,
}

impl Settings {
    /// Builds the settings from every layer. `env` is the process environment (passed in so
    /// tests need not change the real one).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut settings = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        for (name, value) in env {
            if let Some(key) = name.strip_prefix("HAVEN_") {
                let key = key.to_ascii_lowercase();
                // Not settings of this struct: read where they are used.
                if matches!(
                    key.as_str(),
                    "config"
                        | "log"
                        | "secret_key"
                        | "master_key"
                        | "smtp_password"
                        | "imap_password"
                ) {
                    continue;
                }
                settings.set(&key, &value).map_err(|reason| ConfigError {
                    origin: name.clone(),
                    reason,
                })?;
            }
        }
        if let Some(bind) = flags.bind {
            settings.bind = bind;
        }
        if let Some(dir) = &flags.data_dir {
            settings.data_dir.clone_from(dir);
        }
        if let Some(url) = &flags.database_url {
            settings.database_url = Some(url.clone());
        }
        if let Some(dir) = &flags.services_dir {
            settings.services_dir = Some(dir.clone());
        }
        settings.check()?;
        Ok(settings)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: path.display().to_string(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(1, |span| {
                text.get(..span.start)
                    .map_or(1, |before| before.matches('\n').count() + 1)
            });
            ConfigError {
                origin: format!("{}:{line}", path.display()),
                reason: e.message().trim().to_owned(),
            }
        })
    }

    /// Sets one field from text (an environment variable).
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        fn parse<T: std::str::FromStr>(value: &str, what: &str) -> Result<T, String> {
            value.trim().parse().map_err(|_| format!("must be {what}"))
        }
        match key {
            "bind" => self.bind = parse(value, "an address and port, like 127.0.0.1:8080")?,
            "data_dir" => self.data_dir = PathBuf::from(value),
            "database_url" => self.database_url = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "services_dir" => {
                self.services_dir = Some(PathBuf::from(value)).filter(|v| !v.as_os_str().is_empty())
            }
            "max_connections" => self.max_connections = parse(value, "a whole number")?,
            "body_limit_bytes" => self.body_limit_bytes = parse(value, "a number of bytes")?,
            "request_timeout_secs" => {
                self.request_timeout_secs = parse(value, "a number of seconds")?
            }
            "submissions_per_window" => {
                self.submissions_per_window = parse(value, "a whole number")?
            }
            "rate_limit_window_secs" => {
                self.rate_limit_window_secs = parse(value, "a number of seconds")?
            }
            "trust_forwarded_for" => self.trust_forwarded_for = parse(value, "true or false")?,
            "checks_per_window" => self.checks_per_window = parse(value, "a whole number")?,
            "cookie_secure" => {
                self.cookie_secure = match value.trim() {
                    "" => None,
                    other => Some(parse(other, "true or false")?),
                }
            }
            "header_read_timeout_secs" => {
                self.header_read_timeout_secs = parse(value, "a number of seconds")?
            }
            "max_client_connections" => {
                self.max_client_connections = parse(value, "a whole number")?
            }
            "metrics_bind" => {
                self.metrics_bind = match value.trim() {
                    "" => None,
                    other => Some(parse(other, "an address and port, like 127.0.0.1:9090")?),
                }
            }
            "metrics_token" => {
                self.metrics_token = Some(value.trim().to_owned()).filter(|v| !v.is_empty())
            }
            "log_format" => {
                self.log_format = match value.trim() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => return Err("must be `text` or `json`".to_owned()),
                }
            }
            "public_url" => self.public_url = value.trim().trim_end_matches('/').to_owned(),
            "exit_url" => self.exit_url = value.trim().to_owned(),
            "mail_from" => self.mail_from = value.trim().to_owned(),
            "smtp_host" => self.smtp_host = Some(value.trim().to_owned()).filter(|v| !v.is_empty()),
            "smtp_port" => self.smtp_port = Some(parse(value, "a port number")?),
            "smtp_tls" => {
                self.smtp_tls = match value.trim() {
                    "tls" => SmtpTls::Tls,
                    "starttls" => SmtpTls::Starttls,
                    "none" => SmtpTls::None,
                    _ => return Err("must be `tls`, `starttls` or `none`".to_owned()),
                }
            }
            "smtp_username" => {
                self.smtp_username = Some(value.trim().to_owned()).filter(|v| !v.is_empty())
            }
            "outbox_retention_days" => {
                self.outbox_retention_days = parse(value, "a whole number of days")?
            }
            "upload_bytes_per_draft" => {
                self.upload_bytes_per_draft = parse(value, "a number of bytes")?
            }
            "uploads_per_window" => self.uploads_per_window = parse(value, "a whole number")?,
            "upload_bytes_per_window" => {
                self.upload_bytes_per_window = parse(value, "a number of bytes")?
            }
            "upload_window_secs" => self.upload_window_secs = parse(value, "a number of seconds")?,
            "imap_host" => self.imap_host = Some(value.trim().to_owned()).filter(|v| !v.is_empty()),
            "imap_port" => self.imap_port = Some(parse(value, "a port number")?),
            "imap_tls" => {
                self.imap_tls = match value.trim() {
                    "tls" => ImapTls::Tls,
                    "none" => ImapTls::None,
                    _ => return Err("must be `tls` or `none`".to_owned()),
                }
            }
            "imap_username" => {
                self.imap_username = Some(value.trim().to_owned()).filter(|v| !v.is_empty())
            }
            "imap_password_file" => {
                self.imap_password_file =
                    Some(PathBuf::from(value)).filter(|v| !v.as_os_str().is_empty())
            }
            "imap_folder" => self.imap_folder = value.trim().to_owned(),
            "imap_move_to" => {
                self.imap_move_to = Some(value.trim().to_owned()).filter(|v| !v.is_empty())
            }
            "imap_ca_file" => {
                self.imap_ca_file = Some(PathBuf::from(value)).filter(|v| !v.as_os_str().is_empty())
            }
            "imap_poll_secs" => self.imap_poll_secs = parse(value, "a number of seconds")?,
            "imap_idle" => self.imap_idle = parse(value, "true or false")?,
            "maildir" => {
                self.maildir = Some(PathBuf::from(value)).filter(|v| !v.as_os_str().is_empty())
            }
            "maildir_poll_secs" => self.maildir_poll_secs = parse(value, "a number of seconds")?,
            "mail_authserv_id" => {
                self.mail_authserv_id = Some(value.trim().to_owned()).filter(|v| !v.is_empty())
            }
            // Unknown HAVEN_* variables are ignored: other tools may share the prefix.
            _ => {}
        }
        Ok(())
    }

    fn check(&self) -> Result<(), ConfigError> {
        let fail = |origin: &str, reason: &str| {
            Err(ConfigError {
                origin: origin.to_owned(),
                reason: reason.to_owned(),
            })
        };
        if self.max_connections == 0 {
            return fail("max_connections", "must be at least 1");
        }
        if self.outbox_retention_days == 0 {
            return fail("outbox_retention_days", "must be at least 1");
        }
        if self.body_limit_bytes < 1024 {
            return fail("body_limit_bytes", "must be at least 1024");
        }
        if self.header_read_timeout_secs == 0 {
            return fail("header_read_timeout_secs", "must be at least 1 second");
        }
        if self.max_client_connections == 0 {
            return fail("max_client_connections", "must be at least 1");
        }
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.len() < 16 || t.contains(char::is_whitespace))
        {
            return fail(
                "HAVEN_METRICS_TOKEN",
                "must be at least 16 characters with no spaces",
            );
        }
        if self.request_timeout_secs == 0 || self.rate_limit_window_secs == 0 {
            return fail(
                "request_timeout_secs",
                "timeouts and windows must be at least 1 second",
            );
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return fail("public_url", "must start with http:// or https://");
        }
        if !(self.exit_url.starts_with("http://") || self.exit_url.starts_with("https://")) {
            return fail("exit_url", "must start with http:// or https://");
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return fail(
                "mail_from",
                "must be an email address, optionally with a name: `Haven <haven@example.org>`",
            );
        }
        if self.upload_window_secs == 0 {
            return fail("upload_window_secs", "must be at least 1 second");
        }
        if let Some(reason) = self.imap_problem() {
            return fail(reason.0, reason.1);
        }
        if self.maildir_poll_secs == 0 {
            return fail("maildir_poll_secs", "must be at least 1 second");
        }
        if let Some(url) = &self.database_url
            && database_kind(url).is_none()
        {
            return fail(
                "database_url",
                "must start with sqlite: or postgres:// (or postgresql://)",
            );
        }
        Ok(())
    }

    /// What is wrong with the IMAP settings, naming the setting.
    fn imap_problem(&self) -> Option<(&'static str, &'static str)> {
        let host = self.imap_host.as_deref()?;
        if self.imap_username.is_none() {
            return Some(("imap_username", "must be set when imap_host is"));
        }
        if self.imap_folder.trim().is_empty() {
            return Some(("imap_folder", "must name a folder, like INBOX"));
        }
        if self.imap_poll_secs == 0 {
            return Some(("imap_poll_secs", "must be at least 1 second"));
        }
        let loopback = host == "localhost"
            || host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.imap_tls == ImapTls::None && !loopback {
            return Some((
                "imap_tls",
                "may be `none` only for a server on the loopback address (127.0.0.1, ::1 or \
                 localhost): the password and the messages would cross the network in the clear",
            ));
        }
        None
    }

    /// The IMAP port in use: the configured one, or the usual one for `imap_tls`.
    pub fn imap_port(&self) -> u16 {
        self.imap_port.unwrap_or(match self.imap_tls {
            ImapTls::Tls => 993,
            ImapTls::None => 143,
        })
    }

    /// The database URL in use: the configured one, or SQLite under the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => sqlite_url(&self.data_dir.join("haven.db")),
        }
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Whether cookies carry `Secure`: the setting, or on unless `bind` is loopback.
    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure
            .unwrap_or_else(|| !self.bind.ip().is_loopback())
    }

    /// The header read timeout.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }

    /// The rate-limit window.
    pub fn rate_limit_window(&self) -> Duration {
        Duration::from_secs(self.rate_limit_window_secs)
    }

    /// The upload window.
    pub fn upload_window(&self) -> Duration {
        Duration::from_secs(self.upload_window_secs)
    }
}

/// An SQLite URL for a file, created when missing. Characters that mean something in a URL
/// are percent-encoded so any path works.
pub fn sqlite_url(path: &Path) -> String {
    let mut encoded = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3F"),
            '#' => encoded.push_str("%23"),
            other => encoded.push(other),
        }
    }
    format!("sqlite://{encoded}?mode=rwc")
}

/// A commented configuration file with every setting at its default.
pub const EXAMPLE: &str = r#"# haven.toml: Haven's settings. Every line is optional; shown here with its default.
# Precedence: this file < HAVEN_* environment variables < command-line flags.
# The server secret key is never read from this file: set HAVEN_SECRET_KEY (64 hex
# characters) or let Haven create <data_dir>/secret.key. Several instances sharing one
# PostgreSQL database must share the same key.
# Nor are the master keys that seal case content: set HAVEN_MASTER_KEY (64 hex characters;
# several comma-separated, the first current) or let Haven create <data_dir>/master.keys
# (mode 0600; `haven keys rotate` manages it). Instances sharing a database share the keys.

# Address and port `haven serve` listens on.              (HAVEN_BIND, --bind)
bind = "127.0.0.1:8080"

# Directory for the SQLite database, secret.key, master.keys and audit.checkpoint.
#                                                          (HAVEN_DATA_DIR, --data-dir)
data_dir = "./haven-data"

# Database URL; when absent, SQLite at <data_dir>/haven.db. (HAVEN_DATABASE_URL, --database-url)
# database_url = "postgres://haven@localhost/haven"

# Extra service definitions (*.toml); same id replaces a built-in.
#                                                          (HAVEN_SERVICES_DIR, --services-dir)
# services_dir = "./services"

# Most database connections kept open.                     (HAVEN_MAX_CONNECTIONS)
max_connections = 10

# Largest request body accepted, in bytes (413 beyond).    (HAVEN_BODY_LIMIT_BYTES)
body_limit_bytes = 1048576

# Seconds before a request is abandoned with 503.          (HAVEN_REQUEST_TIMEOUT_SECS)
request_timeout_secs = 30

# Public submissions per client address per window (429 beyond), kept in memory only.
#                                                          (HAVEN_SUBMISSIONS_PER_WINDOW)
submissions_per_window = 20

# Length of that window in seconds.                        (HAVEN_RATE_LIMIT_WINDOW_SECS)
rate_limit_window_secs = 600

# Anonymity checks per client address per window (429 beyond), counted apart from
# submissions.                                             (HAVEN_CHECKS_PER_WINDOW)
checks_per_window = 300

# Use the last X-Forwarded-For entry as the client address (only behind a proxy that sets it).
#                                                          (HAVEN_TRUST_FORWARDED_FOR)
trust_forwarded_for = false

# Whether the public form cookie carries Secure (HTTPS only). Unset: on unless `bind` is a
# loopback address.                                        (HAVEN_COOKIE_SECURE)
# cookie_secure = true

# Seconds a client has to send a request's headers, counted from when the connection is
# ready for one (closes slow senders and idle keep-alive connections).
#                                                          (HAVEN_HEADER_READ_TIMEOUT_SECS)
header_read_timeout_secs = 10

# Most client connections open at once; more wait in the listen backlog.
#                                                          (HAVEN_MAX_CLIENT_CONNECTIONS)
max_client_connections = 1024

# A separate address serving only /metrics. Unset: /metrics is not served, unless
# HAVEN_METRICS_TOKEN (environment only) is set: then the main address answers /metrics
# to `Authorization: Bearer <token>`.                      (HAVEN_METRICS_BIND)
# metrics_bind = "127.0.0.1:9090"

# Log format on stderr: "text" or "json". Level filter: HAVEN_LOG (e.g. "info").
#                                                          (HAVEN_LOG_FORMAT)
log_format = "text"

# The address people reach Haven at, for links in emails.  (HAVEN_PUBLIC_URL)
public_url = "http://127.0.0.1:8080"

# Where "Exit this page" leads once the form session is ended: an everyday site.
#                                                          (HAVEN_EXIT_URL)
exit_url = "https://www.bbc.co.uk/weather"

# The sender of Haven's emails.                            (HAVEN_MAIL_FROM)
mail_from = "Haven <haven@localhost>"

# SMTP relay; without one, emails go to <data_dir>/outbox/ as sealed files (haven outbox list).
# The password is read from HAVEN_SMTP_PASSWORD only.      (HAVEN_SMTP_HOST, HAVEN_SMTP_PORT,
#                                                           HAVEN_SMTP_TLS, HAVEN_SMTP_USERNAME)
# smtp_host = "smtp.example.org"
# smtp_port = 587
# "tls" (implicit, port 465), "starttls" (required upgrade, 587) or "none" (loopback relays).
smtp_tls = "starttls"
# smtp_username = "haven"

# Days an email stays in the outbox folder before it is deleted.
#                                                          (HAVEN_OUTBOX_RETENTION_DAYS)
outbox_retention_days = 7
# Most bytes of files one public draft may hold.           (HAVEN_UPLOAD_BYTES_PER_DRAFT)
upload_bytes_per_draft = 41943040

# Files and bytes one client address may upload per upload window (429 beyond), in memory
# only.                      (HAVEN_UPLOADS_PER_WINDOW, HAVEN_UPLOAD_BYTES_PER_WINDOW)
uploads_per_window = 30
upload_bytes_per_window = 209715200

# Length of that window in seconds.                        (HAVEN_UPLOAD_WINDOW_SECS)
upload_window_secs = 3600

# Email intake from an IMAP mailbox: `haven serve` takes new messages in the background
# (IDLE where offered, else every imap_poll_secs); `haven mail poll` once. The password is
# read from HAVEN_IMAP_PASSWORD or the first line of imap_password_file, never from here.
#            (HAVEN_IMAP_HOST, HAVEN_IMAP_PORT, HAVEN_IMAP_TLS, HAVEN_IMAP_USERNAME,
#             HAVEN_IMAP_PASSWORD_FILE, HAVEN_IMAP_FOLDER, HAVEN_IMAP_MOVE_TO,
#             HAVEN_IMAP_CA_FILE, HAVEN_IMAP_POLL_SECS, HAVEN_IMAP_IDLE)
# imap_host = "mail.example.org"
# imap_port = 993
# "tls" (implicit TLS, port 993) or "none" (plain, a server on the loopback address only).
imap_tls = "tls"
# imap_username = "referrals@example.org"
# imap_password_file = "/run/secrets/imap-password"
imap_folder = "INBOX"
# Move each stored message to this folder; unset: flag it \Seen and leave it.
# imap_move_to = "Taken"
# imap_ca_file = "/etc/haven/imap-ca.pem"
imap_poll_secs = 60
imap_idle = true

# Email intake from a Maildir: new/ → cur/ with the S flag once stored.
#                                          (HAVEN_MAILDIR, HAVEN_MAILDIR_POLL_SECS)
# maildir = "/var/mail/referrals"
maildir_poll_secs = 30
# The receiving mail server's authserv-id: only its Authentication-Results header decides
# whether an emailed referral's sender is verified (and acknowledged). Unset: nobody is.
#                                                          (HAVEN_MAIL_AUTHSERV_ID)
# mail_authserv_id = "mx.example.org"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_example_file_is_exactly_the_defaults() {
        let parsed: Settings = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(parsed, Settings::default());
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("haven.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:1\"\ndata_dir = \"/from-file\"\nmax_connections = 3\n",
        )
        .unwrap();
        let flags = Overrides {
            data_dir: Some(PathBuf::from("/from-flag")),
            ..Overrides::default()
        };
        let s = Settings::load(
            Some(&file),
            env(&[("HAVEN_BIND", "0.0.0.0:2"), ("HAVEN_DATA_DIR", "/from-env")]),
            &flags,
        )
        .unwrap();
        assert_eq!(s.bind, SocketAddr::from(([0, 0, 0, 0], 2)));
        assert_eq!(s.data_dir, PathBuf::from("/from-flag"));
        assert_eq!(s.max_connections, 3);
    }

    #[test]
    fn errors_name_their_source() {
        let err = Settings::load(None, env(&[("HAVEN_BIND", "nope")]), &Overrides::default())
            .unwrap_err();
        assert_eq!(err.origin, "HAVEN_BIND");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("haven.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:1\"\nbogus = 1\n").unwrap();
        let err = Settings::load(Some(&file), env(&[]), &Overrides::default()).unwrap_err();
        assert!(err.origin.ends_with("haven.toml:2"), "{err}");
        let err = Settings::load(
            None,
            env(&[("HAVEN_DATABASE_URL", "mysql://x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(err.origin, "database_url");
    }

    #[test]
    fn debug_never_shows_the_database_url() {
        let s = Settings {
            database_url: Some("postgres://u:hunter2@h/db".into()),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_dir() {
        let s = Settings::default();
        assert_eq!(s.database_url(), "sqlite://./haven-data/haven.db?mode=rwc");
    }
}
