//! `GET /services/exit`: "Exit this page". Ends the form session on the server (its unsaved
//! drafts and their files are deleted; a draft saved with a resume code stays reachable by
//! that code only), clears the cookie, then sends the browser to the exit site (settings
//! `exit_url`). With JavaScript, `haven.js` goes here with `location.replace`, so the page
//! left is not even in the history; without, the link itself comes here, and Back then finds
//! a session that no longer exists.
//!
//! A GET with an effect: it must work as a plain link, and it can only ever end the
//! session of the browser that follows it (the `SameSite=Strict` cookie is not sent from
//! another site), which is what the link is for.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::session::{COOKIE, FormSession};
use crate::web::AppState;

/// Where the public pages' "Exit this page" points.
pub const PATH: &str = "/services/exit";

/// Ends the session and leaves for the exit site. The person is on their way out whatever
/// happens: a storage failure is logged (without content) and the redirect still goes.
pub async fn leave(State(state): State<AppState>, session: FormSession) -> Response {
    if !session.is_new {
        if let Err(e) = state
            .storage
            .end_form_session(&session.hash(&state.key), state.now())
            .await
        {
            tracing::error!(error = %e, "exit this page: the form session could not be ended");
        }
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&state.options.exit_url) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let secure = if state.options.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    if let Ok(clear) = HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/services; Max-Age=0; HttpOnly; SameSite=Strict{secure}"
    )) {
        headers.insert(header::SET_COOKIE, clear);
    }
    response
}
