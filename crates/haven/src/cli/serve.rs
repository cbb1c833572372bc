//! `haven serve`: run the web server until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::{CliError, Context};
use crate::config::{DatabaseKind, database_kind};
use crate::web::server::ConnectionLimits;
use crate::web::{AppState, router};

#[derive(Debug, Default, Args)]
pub(super) struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
}

/// How often the audit sequencer looks for pending entries when the last round was not full.
const AUDIT_SEQUENCER_PERIOD: Duration = Duration::from_millis(200);

pub(super) async fn run(ctx: &Context) -> Result<(), CliError> {
    // Definitions first: a broken one must stop start-up before anything else happens.
    let registry = ctx.registry()?;
    if registry.is_empty() {
        tracing::warn!("no service definitions are loaded");
    }
    // One server per SQLite data directory, held until the process ends (cli/lock.rs).
    let _data_dir_lock = match database_kind(&ctx.settings.database_url()) {
        Some(DatabaseKind::Sqlite) => {
            ctx.data_dir()?;
            Some(super::lock::lock_data_dir(&ctx.settings.data_dir)?)
        }
        _ => None,
    };
    let key = ctx.secret_key()?;
    let storage = ctx.storage().await?;
    // The queue orders by each service's bands and leaves out its terminal states: record
    // them and correct stale rows.
    crate::cases::queue::sync_queue_rules(&storage, &registry, storage.clock().now()).await?;
    storage.optimize_queue_plans().await?;
    let legacy = storage.seal_legacy_secrets().await?;
    if legacy.sealed_plaintext > 0 {
        tracing::info!(
            sealed = legacy.sealed_plaintext,
            "sealed second-factor secrets kept in plaintext by an older version"
        );
    }
    for failure in &legacy.failed {
        tracing::error!(failure = %failure, "a second-factor secret could not be opened");
    }
    if storage.count_users().await? == 0 {
        super::log_writer::say(format_args!(
            "No staff accounts yet. Create the first administrator with:\n    \
             haven admin create-user --email you@example.org --role admin"
        ));
    }
    let settings = &ctx.settings;
    if let Some(warning) = public_url_warning(settings) {
        tracing::warn!(public_url = %settings.public_url, address = %settings.bind, "{warning}");
    }
    // Young person summaries missing from referrals stored before them (the queue reads
    // those rows' answers meanwhile): filled in beside serving, a batch at a time.
    let summaries = {
        let (storage, registry) = (storage.clone(), registry.clone());
        tokio::spawn(async move {
            match crate::cases::queue::fill_person_summaries(&storage, &registry).await {
                Ok((0, 0)) => {}
                Ok((filled, failed)) => tracing::info!(
                    filled,
                    failed,
                    "young person summaries filled in for the queue"
                ),
                Err(e) => tracing::error!(error = %e, "filling in young person summaries"),
            }
            // Likewise the concerns the dashboards count, for referrals stored before them.
            match crate::cases::stats::fill_concerns(&storage, &registry).await {
                Ok((0, 0)) => {}
                Ok((filled, failed)) => {
                    tracing::info!(filled, failed, "concerns filled in for the dashboards")
                }
                Err(e) => tracing::error!(error = %e, "filling in concerns for the dashboards"),
            }
        })
    };
    let state = AppState::new(storage.clone(), registry, key, settings);
    let metrics = state.metrics.clone();
    // The Prometheus recorder needs periodic upkeep to bound histogram memory.
    let upkeep = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            metrics.run_upkeep();
        }
    });
    let mailer = crate::mail::Mailer::from_settings(
        settings,
        std::env::var("HAVEN_SMTP_PASSWORD").ok(),
        storage.keys().clone(),
    )
    .map_err(|e| CliError::BadInput(format!("smtp_host: {e}")))?;
    tracing::info!(mailer = ?mailer, "email");
    let retention_job = tokio::spawn(super::retention::daily(
        storage.clone(),
        state.registry.clone(),
        (*state.key).clone(),
        mailer.as_outbox().cloned(),
        state.staff.clock.clone(),
    ));
    // The dashboards' daily counts, folded every minute (issue 17).
    let stats_folder = tokio::spawn(crate::cases::stats::run_folder(
        storage.clone(),
        state.registry.clone(),
        state.staff.clock.clone(),
    ));
    // The "known elsewhere" alert: new index records matched against other teams' cases in
    // the background, so intake never waits for it (issue 16).
    let matcher = tokio::spawn(crate::cases::people::run_matcher(
        storage.clone(),
        state.registry.clone(),
        state.staff.clock.clone(),
    ));
    let mail_worker = tokio::spawn(crate::mail::run_worker(
        storage.clone(),
        mailer,
        settings.mail_from.clone(),
        Duration::from_secs(2),
        state.staff.clock.clone(),
    ));
    // Email intake from the configured mailboxes, until shutdown.
    let mail_sources =
        crate::mail_sources::sources(settings, std::env::var("HAVEN_IMAP_PASSWORD").ok())
            .map_err(|e| CliError::BadInput(e.to_string()))?;
    let (stop_intake, intake_shutdown) = tokio::sync::watch::channel(false);
    let intake = crate::mail_sources::Intake {
        storage: storage.clone(),
        registry: state.registry.clone(),
        secret: ctx.secret_key()?,
        clock: state.staff.clock.clone(),
        settings: crate::intake_email::IntakeSettings::from_settings(settings),
    };
    for source in &mail_sources {
        tracing::info!(source = %source.key(), "email intake from a mailbox");
    }
    let intake_tasks = crate::mail_sources::spawn(&intake, mail_sources, &intake_shutdown);
    // PostgreSQL: link the audit entries writers leave unsequenced (issue 18). Safe with
    // several servers: one sequences at a time, the others skip the round.
    let sequencer = storage.spawn_audit_sequencer(AUDIT_SEQUENCER_PERIOD);
    let metrics_server = start_metrics_server(settings, &state).await?;
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("could not listen on {}", settings.bind))?;
    tracing::info!(address = %settings.bind, "listening on http://{}", settings.bind);
    crate::web::server::serve(
        listener,
        app,
        connection_limits(settings),
        shutdown_signal(),
    )
    .await;
    if let Some(task) = metrics_server {
        task.abort();
    }
    upkeep.abort();
    mail_worker.abort();
    // Pollers stop between polls; one cut off mid-message loses nothing (stored first,
    // marked done after: the next start finds it again and knows it).
    let _ = stop_intake.send(true);
    for task in intake_tasks {
        if tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .is_err()
        {
            tracing::warn!("an email intake task did not stop in time");
        }
    }
    if let Some(task) = sequencer {
        task.abort();
        // What this server's last requests wrote, linked before it goes.
        if let Err(e) = storage.sequence_audit().await {
            tracing::warn!(error = %e, "could not sequence the last audit entries");
        }
    }
    summaries.abort();
    retention_job.abort();
    stats_folder.abort();
    matcher.abort();
    storage.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The connection limits of the settings.
fn connection_limits(settings: &crate::config::Settings) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: settings.header_read_timeout(),
        max_connections: settings.max_client_connections,
    }
}

/// Why the links Haven writes (emails, the confirmation page) may point nowhere: the public
/// address is still the loopback default while the server listens beyond loopback.
fn public_url_warning(settings: &crate::config::Settings) -> Option<&'static str> {
    let default = crate::config::Settings::default();
    (settings.public_url == default.public_url && !settings.bind.ip().is_loopback()).then_some(
        "HAVEN_PUBLIC_URL is not set: links in emails and on the confirmation page point to \
         http://127.0.0.1:8080, which people cannot reach; set it to the https:// address \
         people use",
    )
}

/// Serves `/metrics` alone on settings `metrics_bind`, when set.
async fn start_metrics_server(
    settings: &crate::config::Settings,
    state: &AppState,
) -> Result<Option<tokio::task::JoinHandle<()>>, CliError> {
    let Some(address) = settings.metrics_bind else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("could not listen on {address} (metrics_bind)"))?;
    tracing::info!(address = %address, "metrics on http://{address}/metrics");
    let app = crate::web::health::internal_router(state.clone());
    let limits = connection_limits(settings);
    Ok(Some(tokio::spawn(crate::web::server::serve(
        listener,
        app,
        limits,
        std::future::pending::<()>(),
    ))))
}

/// Resolves on Ctrl-C or SIGTERM; requests in flight then finish before the server exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn an_unset_public_address_is_warned_about_only_beyond_loopback() {
        let mut settings = Settings::default();
        assert_eq!(
            public_url_warning(&settings),
            None,
            "loopback: a developer's server"
        );
        settings.bind = "0.0.0.0:8080".parse().unwrap();
        let warning = public_url_warning(&settings).unwrap();
        assert!(warning.contains("HAVEN_PUBLIC_URL"), "{warning}");
        settings.public_url = "https://haven.example.org".to_owned();
        assert_eq!(public_url_warning(&settings), None);
    }
}
