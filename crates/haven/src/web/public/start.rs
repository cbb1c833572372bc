//! `GET /services/{service}`: the service's start page.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::draft::{self, offers_save};
use super::respond::{self, PageResult};
use super::session::FormSession;
use crate::web::AppState;

/// The start page ("Start now", and "continue a saved form" where saving is offered).
pub async fn show(
    State(state): State<AppState>,
    session: FormSession,
    Path(service): Path<String>,
) -> PageResult {
    let def = draft::service(&state, &service)?;
    let mut ctx = respond::context(&state, &session);
    ctx.save_and_return = def
        .stages
        .iter()
        .any(|s| s.access == haven_core::definition::StageAccess::Public && offers_save(s));
    respond::rendered(StatusCode::OK, haven_pages::start_page(&ctx, def))
}
