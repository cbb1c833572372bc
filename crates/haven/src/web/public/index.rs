//! `GET /`: the services Haven runs, each linking to its start page.

use axum::extract::State;
use axum::http::StatusCode;

use super::respond::{self, PageResult};
use super::session::FormSession;
use crate::web::AppState;

/// The index page.
pub async fn show(State(state): State<AppState>, session: FormSession) -> PageResult {
    let defs: Vec<_> = state.registry.definitions().collect();
    let ctx = respond::context(&state, &session);
    // No form here, so no cookie is set: the session starts on the first form page.
    respond::rendered(StatusCode::OK, haven_pages::index_page(&ctx, &defs))
}
