//! `GET/POST /services/{service}/resume`: a resume code brings a saved draft back into this
//! browser. Attempts are rate limited per client address (codes have 100 random bits, the
//! limit keeps even a botnet's guessing pointless and the logs quiet).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use haven_pages::london_today;

use super::check_answers::{next_incomplete, resume_hash};
use super::draft::{self};
use super::parse_form;
use super::respond::{self, PageResult, Reply};
use super::session::FormSession;
use crate::web::AppState;
use crate::web::extract::ClientIp;

/// What a wrong or expired code is told.
const NOT_FOUND: &str = "That resume code is not recognised or has expired. Check the code and try again, or start again.";

/// The resume form.
pub async fn show(
    State(state): State<AppState>,
    session: FormSession,
    Path(service): Path<String>,
) -> PageResult {
    let def = draft::service(&state, &service)?;
    let ctx = respond::context(&state, &session);
    Ok(respond::rendered(
        StatusCode::OK,
        haven_pages::resume_page(&ctx, def, "", None),
    )?
    .with_session(&session))
}

/// Counts the attempt against the client's resume quota.
pub struct ResumeQuota(Result<(), u64>);

impl FromRequestParts<AppState> for ResumeQuota {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = ClientIp::from_request_parts(parts, state)
            .await
            .map_or(None, |c| c.0);
        Ok(ResumeQuota(
            state
                .resume_limiter
                .check(ip)
                .map_err(|l| l.retry_after_secs),
        ))
    }
}

/// Looks the code up and restores the draft into this session.
pub async fn submit(
    State(state): State<AppState>,
    mut session: FormSession,
    Path(service): Path<String>,
    quota: ResumeQuota,
    body: Result<Bytes, BytesRejection>,
) -> PageResult {
    let now = state.now();
    let def = draft::service(&state, &service)?;
    // A body over the limit (413) or cut short gets the HTML error page, not the API's JSON.
    let body = body.map_err(|e| respond::error(Some(def), e.status()))?;
    let form =
        parse_form(&body).ok_or_else(|| respond::error(Some(def), StatusCode::BAD_REQUEST))?;
    if !session.csrf_ok(&state.key, &form) {
        return Err(respond::error(Some(def), StatusCode::FORBIDDEN).with_session(&session));
    }
    if let Err(retry) = quota.0 {
        return Err(respond::too_many(Some(def), retry));
    }
    let ctx = respond::context(&state, &session);
    let typed = form
        .iter()
        .find(|(n, _)| n == haven_pages::naming::RESUME_CODE_FIELD)
        .map_or("", |(_, v)| v.as_str());
    let code = match haven_pages::parse_resume_form(&form) {
        Ok(code) => code,
        Err(e) => {
            let html = haven_pages::resume_page(&ctx, def, typed, Some(&e.message));
            return respond::rendered(StatusCode::UNPROCESSABLE_ENTITY, html);
        }
    };
    // The restored draft goes to a new session id (the answer sets it), never to the id the
    // browser came with, which someone may have planted on the device.
    session.rotate(&state.key);
    let _ = session.take_previous_hash();
    let found = state
        .storage
        .resume_draft(
            &resume_hash(&state.key, &code),
            &def.id,
            &session.hash(&state.key),
            now,
        )
        .await
        .map_err(|e| respond::storage_failed(Some(def), &e))?;
    if found.is_none() {
        let html = haven_pages::resume_page(&ctx, def, typed, Some(NOT_FOUND));
        return respond::rendered(StatusCode::UNPROCESSABLE_ENTITY, html);
    }
    let loaded = draft::load(&state, &session, def, now).await?;
    let today = london_today(now);
    // Back to the first stage that has answers: the first page still to answer, or check answers.
    let next = def
        .stages
        .iter()
        .find_map(|stage| {
            let (audience, answers) = loaded.stage(&stage.key);
            audience.map(|a| next_incomplete(def, stage, a, &answers, today))
        })
        .unwrap_or_else(|| haven_pages::urls::start(&def.id));
    Ok(Reply::redirect(next).with_session(&session))
}
