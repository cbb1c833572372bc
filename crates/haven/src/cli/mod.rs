//! The `haven` command: one file per command group.
//!
//! Exit status: 0 success; 2 bad input, with a one-line reason on stderr naming the field,
//! file or line; 1 anything else.

mod admin;
mod audit;
mod checks;
mod config;
mod dev;
mod dev_latency;
mod dev_people;
mod keys;
mod lock;
mod log_writer;
mod mail;
mod match_bench;
mod migrate;
mod outbox;
mod people;
mod retention;
mod serve;
mod services;
mod stats;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat, Overrides, Settings};
use crate::crypto::keyring::{KeyRing, MASTER_KEY_ENV, MASTER_KEYS_FILE};
use crate::crypto::{KeyError, SecretKey};
use crate::services::{Registry, RegistryError};
use crate::storage::{Storage, ensure_data_dir};

/// Haven: safeguarding referral and case management.
#[derive(Debug, Parser)]
#[command(name = "haven", version, about)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    /// With no command, Haven serves (so `cargo run --release` starts it with the defaults).
    #[command(subcommand)]
    command: Option<Command>,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// Settings file (TOML); see `haven config example`.
    #[arg(long, global = true, value_name = "FILE", env = "HAVEN_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the SQLite database and the secret key [default: ./haven-data].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL, `sqlite://PATH` or `postgres://…` [default: SQLite in the data dir].
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Directory of extra service definitions (`*.toml`).
    #[arg(long, global = true, value_name = "DIR")]
    services_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server.
    Serve(serve::ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// The loaded service definitions.
    #[command(subcommand)]
    Services(services::ServicesCommand),
    /// Staff accounts and API tokens.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Settings.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Screening and scope of an answers document (JSON), storing nothing.
    Screen(checks::ScreenArgs),
    /// Service-level agreements: due dates in working days.
    #[command(subcommand)]
    Sla(checks::SlaCommand),
    /// The anonymity check of text read on standard input, as JSON.
    CheckAnonymity,
    /// Master keys for encryption at rest: list, rotate, prune.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The emails in the default outbox (sealed files): list, show.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Email intake: take in referrals that arrived by email.
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// Matching people (linked people, search): rebuild the index and fit its weights,
    /// benchmark the engine. (`haven people …` is the same.)
    #[command(subcommand, alias = "people")]
    Match(people::MatchCommand),
    /// Retention: what is due for destruction (plan), destroying it (run), legal holds.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Dashboards: fold new referrals into the daily counts, or rebuild them all.
    #[command(subcommand)]
    Stats(stats::StatsCommand),
    /// Benchmark tools (seeding, staff sessions); hidden.
    #[command(subcommand, hide = true)]
    Dev(dev::DevCommand),
}

/// A command's failure.
#[derive(Debug)]
pub enum CliError {
    /// Exit 2: the input is wrong; the message names the field, file or line.
    BadInput(String),
    /// Exit 1: anything else.
    Failed(anyhow::Error),
}

impl CliError {
    fn bad(message: impl Into<String>) -> Self {
        CliError::BadInput(message.into())
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::BadInput(e.to_string())
    }
}

impl From<RegistryError> for CliError {
    fn from(e: RegistryError) -> Self {
        // Broken definitions, duplicate ids and an unreadable --services-dir are all input.
        CliError::BadInput(e.to_string())
    }
}

impl From<KeyError> for CliError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::BadEnv
            | KeyError::BadFile(_)
            | KeyError::BadMasterEnv
            | KeyError::BadKeyRing { .. }
            | KeyError::KeyRingPermissions { .. }
            | KeyError::KeysFromEnv => CliError::BadInput(e.to_string()),
            KeyError::Io { .. } | KeyError::Random(_) | KeyError::KeyRingLocked { .. } => {
                CliError::Failed(e.into())
            }
        }
    }
}

impl From<crate::storage::StorageError> for CliError {
    fn from(e: crate::storage::StorageError) -> Self {
        CliError::Failed(e.into())
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::Failed(e)
    }
}

/// What commands share: the settings, and ways to open what they need.
pub(crate) struct Context {
    settings: Settings,
}

impl Context {
    /// The service registry (built-ins plus `services_dir`).
    fn registry(&self) -> Result<Registry, CliError> {
        Ok(Registry::load(self.settings.services_dir.as_deref())?)
    }

    /// The database, migrated. The data directory is created for the default SQLite file.
    async fn storage(&self) -> Result<Storage, CliError> {
        let url = self.settings.database_url();
        if self.settings.database_url.is_none() {
            self.data_dir()?;
        }
        let keys = self.master_keys()?;
        let secret = self.secret_key()?;
        let storage = Storage::connect(&url, self.settings.max_connections, keys, &secret)
            .await
            .map_err(|e| CliError::Failed(anyhow::anyhow!("could not open the database: {e}")))?;
        storage.migrate().await.map_err(|e| {
            CliError::Failed(anyhow::anyhow!("could not migrate the database: {e}"))
        })?;
        Ok(storage)
    }

    /// Creates the data directory when missing.
    fn data_dir(&self) -> Result<(), CliError> {
        ensure_data_dir(&self.settings.data_dir).map_err(|e| {
            CliError::Failed(anyhow::anyhow!(
                "could not create data directory {}: {e}",
                self.settings.data_dir.display()
            ))
        })
    }

    /// The server secret key (HAVEN_SECRET_KEY, or `<data_dir>/secret.key`).
    fn secret_key(&self) -> Result<SecretKey, CliError> {
        self.data_dir()?;
        let env = std::env::var("HAVEN_SECRET_KEY").ok();
        Ok(SecretKey::load_or_create(
            env.as_deref(),
            &self.settings.data_dir,
        )?)
    }

    /// The master keys that seal case content: `HAVEN_MASTER_KEY`, or the key ring file
    /// `<data_dir>/master.keys` (created on first run; refused if others may read it).
    fn master_keys(&self) -> Result<KeyRing, CliError> {
        self.data_dir()?;
        let env = std::env::var(MASTER_KEY_ENV).ok();
        let file = self.settings.data_dir.join(MASTER_KEYS_FILE);
        if env.is_some() && file.exists() {
            // Values sealed under the file's keys will not open with the variable's.
            tracing::warn!(
                path = %file.display(),
                "HAVEN_MASTER_KEY is set, so the key ring file is ignored"
            );
        }
        Ok(KeyRing::load_or_create(
            env.as_deref(),
            &self.settings.data_dir,
        )?)
    }
}

/// Runs the command line and returns the process exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log_writer::say(format_args!(
                "haven: could not start the async runtime: {e}"
            ));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::BadInput(reason)) => {
            log_writer::say(format_args!("haven: {reason}"));
            ExitCode::from(2)
        }
        Err(CliError::Failed(e)) => {
            log_writer::say(format_args!("haven: {e:#}"));
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(serve::ServeArgs::default()));
    let bind: Option<SocketAddr> = match &command {
        Command::Serve(args) => args.bind,
        _ => None,
    };
    let flags = Overrides {
        bind,
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
        services_dir: cli.global.services_dir.clone(),
    };
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let settings = Settings::load(cli.global.config.as_deref(), env, &flags)?;
    let serving = matches!(command, Command::Serve(_));
    init_logging(settings.log_format, if serving { "info" } else { "warn" });
    let ctx = Context { settings };
    match command {
        Command::Serve(_) => serve::run(&ctx).await,
        Command::Migrate => migrate::run(&ctx).await,
        Command::Services(cmd) => services::run(&ctx, cmd),
        Command::Admin(cmd) => admin::run(&ctx, cmd).await,
        Command::Config(cmd) => config::run(cmd),
        Command::Screen(args) => checks::screen(&ctx, &args),
        Command::Sla(cmd) => checks::sla(&ctx, &cmd),
        Command::CheckAnonymity => checks::check_anonymity(),
        Command::Keys(cmd) => keys::run(&ctx, cmd).await,
        Command::Audit(cmd) => audit::run(&ctx, cmd).await,
        Command::Outbox(cmd) => outbox::run(&ctx, cmd),
        Command::Mail(cmd) => mail::run(&ctx, cmd).await,
        Command::Match(cmd) => people::run(&ctx, cmd).await,
        Command::Retention(cmd) => retention::run(&ctx, cmd).await,
        Command::Stats(cmd) => stats::run(&ctx, cmd).await,
        Command::Dev(cmd) => dev::run(&ctx, cmd).await,
    }
}

/// Logs go to stderr; the filter is `HAVEN_LOG` (e.g. `info`, `haven=debug`). A stderr that
/// cannot be written (a full disk) loses log lines, never requests (`log_writer`).
fn init_logging(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_env("HAVEN_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},sqlx=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log_writer::Forgiving(std::io::stderr))
        .log_internal_errors(false);
    // A second initialisation (never in the binary) is harmless: keep the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
