//! The HTTP interface: the JSON API of `spec/contract.md`, health and metrics.
//!
//! Each resource module exposes its handlers; [`routes`] lists every route once, through
//! `utoipa_axum::routes!`, so the router and the OpenAPI document are built from the same
//! list and cannot drift apart. [`router`] adds the middleware every response goes through.

pub mod api;
pub mod download;
pub mod error;
pub mod extract;
pub mod fault;
pub mod follow_up;
pub mod health;
pub mod middleware;
pub mod openapi;
pub mod public;
pub mod rate_limit;
pub mod server;
pub mod staff;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Settings;
use crate::crypto::SecretKey;
use crate::services::Registry;
use crate::storage::Storage;
use rate_limit::RateLimiter;

/// Resume-code attempts allowed per client address per [`RESUME_ATTEMPT_WINDOW`].
pub const RESUME_ATTEMPTS_PER_WINDOW: u32 = 10;
/// The window of [`RESUME_ATTEMPTS_PER_WINDOW`].
pub const RESUME_ATTEMPT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub storage: Storage,
    pub registry: Registry,
    pub key: Arc<SecretKey>,
    pub limiter: Arc<RateLimiter>,
    /// Anonymity checks per client address: their own, larger allowance (`checks_per_window`).
    pub check_limiter: Arc<RateLimiter>,
    /// Attempts at a resume code of "save and come back later", per client address.
    pub resume_limiter: Arc<RateLimiter>,
    pub metrics: PrometheusHandle,
    pub options: WebOptions,
    /// Staff sign-in: the access policy, attempt throttles and the clock.
    pub staff: Arc<staff::StaffRuntime>,
    /// Uploads per client address (count and bytes) and the per-draft byte cap.
    pub uploads: Arc<UploadLimits>,
}

/// What one client may upload (in memory only; addresses are never stored).
#[derive(Debug)]
pub struct UploadLimits {
    /// Files per client address per window.
    pub files: RateLimiter,
    /// Bytes per client address per window.
    pub bytes: RateLimiter,
    /// Most bytes of files one draft may hold.
    pub per_draft_bytes: u64,
}

/// The settings the web layer uses.
#[derive(Debug, Clone)]
pub struct WebOptions {
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
    pub trust_forwarded_for: bool,
    /// Where people reach Haven (links in emails): settings `public_url`.
    pub public_url: String,
    /// Where "Exit this page" leads after `/services/exit` ends the form session
    /// (settings `exit_url`).
    pub exit_url: String,
    /// The public form cookie's `Secure` attribute (settings `cookie_secure`).
    pub cookie_secure: bool,
    /// `/metrics` on the public router answers only the bearer token with this SHA-256
    /// (settings `metrics_token`; the hash, so this struct's `Debug` shows no secret);
    /// `None`: the public router does not serve it.
    pub metrics_token_hash: Option<String>,
}

impl AppState {
    /// State for a server with these settings.
    pub fn new(storage: Storage, registry: Registry, key: SecretKey, settings: &Settings) -> Self {
        let clock = storage.clock().clone();
        Self {
            storage,
            registry,
            key: Arc::new(key),
            limiter: Arc::new(RateLimiter::new(
                settings.submissions_per_window,
                settings.rate_limit_window(),
            )),
            check_limiter: Arc::new(RateLimiter::new(
                settings.checks_per_window,
                settings.rate_limit_window(),
            )),
            resume_limiter: Arc::new(RateLimiter::new(
                RESUME_ATTEMPTS_PER_WINDOW,
                RESUME_ATTEMPT_WINDOW,
            )),
            metrics: middleware::metrics_handle(),
            options: WebOptions {
                body_limit_bytes: settings.body_limit_bytes,
                request_timeout: settings.request_timeout(),
                trust_forwarded_for: settings.trust_forwarded_for,
                public_url: settings.public_url.clone(),
                exit_url: settings.exit_url.clone(),
                cookie_secure: settings.cookie_secure(),
                metrics_token_hash: settings
                    .metrics_token
                    .as_deref()
                    .map(|t| crate::crypto::sha256_hex(t.as_bytes())),
            },
            staff: Arc::new(staff::StaffRuntime::with_clock(clock)),
            uploads: Arc::new(UploadLimits {
                files: RateLimiter::new(settings.uploads_per_window, settings.upload_window()),
                bytes: RateLimiter::budget(
                    settings.upload_bytes_per_window,
                    settings.upload_window(),
                ),
                per_draft_bytes: settings.upload_bytes_per_draft,
            }),
        }
    }

    /// What [`crate::notify`] needs to queue a notification.
    pub fn notify(&self) -> crate::notify::Context<'_> {
        self.cases().notify()
    }

    /// The application layer every staff operation goes through (`crate::cases`).
    pub fn cases(&self) -> crate::cases::Cases<'_> {
        crate::cases::Cases {
            storage: &self.storage,
            registry: &self.registry,
            policy: &self.staff.policy,
            key: &self.key,
            public_url: &self.options.public_url,
        }
    }

    /// The time now, from the application's one clock (`staff.clock`, the storage's clock,
    /// which tests move forward). Handlers pass it down; nothing under `web/` reads the wall clock itself.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.staff.clock.now()
    }
}

/// Every route, each with its OpenAPI operation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(api::services::list))
        .routes(routes!(api::services::show))
        .routes(routes!(api::submissions::create))
        .routes(unlimited_body(routes!(api::attachments::upload)))
        .routes(routes!(api::queue::list))
        .routes(routes!(api::referrals::show))
        .routes(routes!(api::case_attachments::list))
        .routes(routes!(api::case_attachments::download))
        .routes(routes!(api::actions::record))
        .routes(routes!(api::actions::allocate))
        .routes(routes!(api::onward::list, api::onward::create))
        .routes(routes!(api::onward::document))
        .routes(routes!(api::onward::export_copy))
        .routes(routes!(api::checks::anonymity_check))
        .routes(routes!(api::checks::screen))
        .routes(routes!(api::triage::confirm_band))
        .routes(routes!(api::triage::transition))
        .routes(routes!(api::triage::chronology))
        .routes(routes!(api::meetings::list, api::meetings::record))
        .routes(routes!(api::plans::show))
        .routes(routes!(api::plans::add_goal))
        .routes(routes!(api::plans::add_action))
        .routes(routes!(api::plans::update_action))
        .routes(routes!(api::plans::add_review))
        .routes(routes!(api::follow_up::show))
        .routes(routes!(openapi::document))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
}

/// A route that sets its own body limit (it knows the limit only from the loaded services):
/// the router-wide one is lifted here.
fn unlimited_body(
    (schemas, paths, method): utoipa_axum::router::UtoipaMethodRouter<AppState>,
) -> utoipa_axum::router::UtoipaMethodRouter<AppState> {
    (
        schemas,
        paths,
        method.layer(axum::extract::DefaultBodyLimit::disable()),
    )
}

/// The OpenAPI document describing [`routes`].
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The complete application: routes, the public pages (HTML, not in the OpenAPI
/// document), the not-found fallback and middleware.
pub fn router(state: AppState) -> Router {
    let (router, document) = routes().split_for_parts();
    let router = router
        .merge(public::router(&state))
        .merge(staff::router())
        .fallback(|uri: axum::http::Uri| async move {
            if public::is_public_path(&uri) {
                public::not_found()
            } else {
                axum::response::IntoResponse::into_response(error::ApiError::NoRoute)
            }
        });
    // Storage faults answered anywhere reach the readiness flag (web::fault).
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        fault::note_write_faults,
    ));
    middleware::apply(router, &state, document).with_state(state)
}
