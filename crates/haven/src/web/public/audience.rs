//! `GET/POST /services/{service}/{stage}/who-are-you`: "I am…", which picks the wording of
//! every later page.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use haven_core::definition::{ServiceDefinition, Stage};
use haven_pages::{london_today, nav, urls};
use serde_json::Value;

use super::draft::{self, Loaded};
use super::parse_form;
use super::respond::{self, PageResult, Reply};
use super::session::FormSession;
use crate::web::AppState;

/// The "I am…" page; a stage with one audience skips it.
pub async fn show(
    State(state): State<AppState>,
    mut session: FormSession,
    Path((service, stage)): Path<(String, String)>,
) -> PageResult {
    let now = state.now();
    let def = draft::service(&state, &service)?;
    let mut loaded = draft::load(&state, &session, def, now).await?;
    let stage = draft::reachable_stage(def, &stage, &loaded, now)?;
    if let [only] = stage.audiences.as_slice() {
        return choose_audience(&state, &mut session, def, stage, &mut loaded, only).await;
    }
    let ctx = respond::context(&state, &session);
    let (current, _) = loaded.stage(&stage.key);
    let html = haven_pages::audience_page(&ctx, def, stage, current, None);
    Ok(respond::rendered(StatusCode::OK, html)?.with_session(&session))
}

/// The chosen audience: stored, then on to the first page.
pub async fn choose(
    State(state): State<AppState>,
    mut session: FormSession,
    Path((service, stage)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> PageResult {
    let now = state.now();
    let def = draft::service(&state, &service)?;
    let mut loaded = draft::load(&state, &session, def, now).await?;
    let stage = draft::reachable_stage(def, &stage, &loaded, now)?;
    // A body over the limit (413) or cut short gets the HTML error page, not the API's JSON.
    let body = body.map_err(|e| respond::error(Some(def), e.status()))?;
    let form =
        parse_form(&body).ok_or_else(|| respond::error(Some(def), StatusCode::BAD_REQUEST))?;
    if !session.csrf_ok(&state.key, &form) {
        return Err(respond::error(Some(def), StatusCode::FORBIDDEN).with_session(&session));
    }
    match haven_pages::parse_audience_form(stage, &form) {
        Ok(audience) => {
            choose_audience(&state, &mut session, def, stage, &mut loaded, &audience).await
        }
        Err(e) => {
            let ctx = respond::context(&state, &session);
            let html = haven_pages::audience_page(&ctx, def, stage, None, Some(&e));
            respond::rendered(StatusCode::UNPROCESSABLE_ENTITY, html)
        }
    }
}

/// Stores the audience (answers that no longer apply to it are dropped) under a new session
/// id (see `session.rs`: choosing the audience starts the form, so an id planted before it
/// reaches nothing) and redirects to the stage's first page.
async fn choose_audience(
    state: &AppState,
    session: &mut FormSession,
    def: &ServiceDefinition,
    stage: &Stage,
    loaded: &mut Loaded,
    audience: &str,
) -> PageResult {
    let now = state.now();
    let today = london_today(now);
    let entry = loaded.stage_mut(&stage.key);
    entry.audience = Some(audience.to_owned());
    entry.answers = nav::prune_inapplicable(stage, audience, &entry.answers, today);
    let answers: Value = entry.answers.clone();
    draft::store_rotating(state, session, def, loaded, now).await?;
    let next = nav::first_page(stage, audience, &answers, today).map_or_else(
        || urls::check_answers(&def.id, &stage.key),
        |p| urls::page(&def.id, &stage.key, &p.key),
    );
    Ok(Reply::redirect(next).with_session(session))
}
