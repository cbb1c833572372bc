//! The public pages in the browser: every address of [`haven_pages::urls`], the index `/`
//! and the assets. Plain HTML forms with server-side validation and Post/Redirect/Get, so
//! everything works without JavaScript.
//!
//! One module per action; each handler reads the form session ([`session`]), loads the
//! session's draft of the service ([`draft`]), renders with `haven_pages` and answers with a
//! [`respond::Reply`]. The last step submits through [`crate::intake::submit`], the same
//! use-case as `POST /api/v1/submissions`. These routes are not in the OpenAPI document.
//!
//! Rendering a page is CPU-only template work on data already in memory and the anonymity
//! check is one pass over the text, so both run on the async runtime (not `spawn_blocking`);
//! nothing here waits on I/O other than through sqlx.

pub mod assets;
pub mod audience;
pub mod check_answers;
mod draft;
pub mod exit;
pub mod index;
pub mod invite;
pub mod outcomes;
pub mod question;
mod receive;
mod respond;
pub mod resume;
mod session;
pub mod start;
pub(crate) mod uploads;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;

pub use draft::{IDLE_EXPIRY, RESUME_EXPIRY};
pub use session::COOKIE;

use super::AppState;

/// The public pages' routes. Gzip for pages and assets (`Accept-Encoding` permitting).
///
/// Compressing pages that hold a CSRF token invites BREACH only when a response also reflects
/// attacker-chosen input; these pages reflect only the session's own answers, and the
/// `SameSite=Strict` cookie keeps cross-site requests out of the session.
pub fn router(state: &AppState) -> Router<AppState> {
    let upload_limit = uploads::body_limit(&state.registry, state.options.body_limit_bytes);
    Router::new()
        .route("/", get(index::show))
        .route("/assets/{*path}", get(assets::serve))
        .route(exit::PATH, get(exit::leave))
        .route("/services/{service}", get(start::show))
        .route(
            "/services/{service}/resume",
            get(resume::show).post(resume::submit),
        )
        .route(
            "/services/{service}/{stage}/who-are-you",
            get(audience::show).post(audience::choose),
        )
        .route(
            "/services/{service}/{stage}/pages/{page}",
            get(question::show)
                .post(question::submit)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/services/{service}/{stage}/check-answers",
            get(check_answers::show).post(check_answers::send),
        )
        .route(
            "/services/{service}/{stage}/confirmation",
            get(outcomes::confirmation),
        )
        .route(
            "/services/{service}/{stage}/other-help",
            get(outcomes::other_help),
        )
        .route("/services/{service}/{stage}/saved", get(outcomes::saved))
        .route(
            "/services/{service}/invitations/{token}",
            get(invite::show).post(invite::open),
        )
        .layer(CompressionLayer::new())
}

/// Whether an unrouted address is a public page's (answered with the HTML 404 page rather
/// than the API's JSON error).
pub fn is_public_path(uri: &Uri) -> bool {
    let path = uri.path();
    path == "/" || path.starts_with("/services/") || path.starts_with("/assets/")
}

/// The HTML 404 page for unrouted public addresses.
pub fn not_found() -> Response {
    respond::error(None, StatusCode::NOT_FOUND).into_response()
}

/// Reads an `application/x-www-form-urlencoded` body (`None` when it is not one).
fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_bytes(body).ok()
}

/// The `action` button pressed.
fn action_of(form: &[(String, String)]) -> &str {
    form.iter()
        .rev()
        .find(|(name, _)| name == haven_pages::naming::ACTION_FIELD)
        .map_or("", |(_, value)| value.as_str())
}
