//! `GET/POST /services/{service}/{stage}/check-answers`: every answer with change links,
//! then the submission, through the same use-case as `POST /api/v1/submissions`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::NaiveDate;
use haven_core::answers::FieldError;
use haven_core::definition::{ServiceDefinition, Stage, StageAccess};
use haven_pages::{StageRequest, london_today, nav, urls};
use serde_json::Value;

use super::draft::{self, Flash, Loaded, RESUME_EXPIRY, offers_save};
use super::question::attachment_ids;
use super::respond::{self, PageResult, Reply};
use super::session::FormSession;
use super::{action_of, parse_form};
use crate::crypto;
use crate::intake::{self, Channel, DraftFiles, IntakeError, Outcome, Submission};
use crate::web::AppState;
use crate::web::extract::ClientIp;

/// Where to send someone whose answers are not complete: the first page with a problem, or
/// check answers when there is none.
pub fn next_incomplete(
    def: &ServiceDefinition,
    stage: &Stage,
    audience: &str,
    answers: &Value,
    today: NaiveDate,
) -> String {
    nav::first_incomplete_page(stage, audience, answers, today).map_or_else(
        || urls::check_answers(&def.id, &stage.key),
        |p| urls::page(&def.id, &stage.key, &p.key),
    )
}

/// Check your answers (or the first page still to answer).
pub async fn show(
    State(state): State<AppState>,
    session: FormSession,
    Path((service, stage)): Path<(String, String)>,
) -> PageResult {
    let now = state.now();
    let today = london_today(now);
    let def = draft::service(&state, &service)?;
    let loaded = draft::load(&state, &session, def, now).await?;
    let stage = draft::reachable_stage(def, &stage, &loaded, now)?;
    let (Some(audience), answers) = loaded.stage(&stage.key) else {
        return Ok(Reply::redirect(urls::audience(&def.id, &stage.key)).with_session(&session));
    };
    if let Some(page) = nav::first_incomplete_page(stage, audience, &answers, today) {
        return Ok(Reply::redirect(urls::page(&def.id, &stage.key, &page.key)));
    }
    render(&state, &session, def, stage, audience, &answers, &[])
}

pub(super) fn render(
    state: &AppState,
    session: &FormSession,
    def: &ServiceDefinition,
    stage: &Stage,
    audience: &str,
    answers: &Value,
    errors: &[FieldError],
) -> PageResult {
    let mut ctx = respond::context(state, session);
    ctx.save_and_return = offers_save(stage);
    let request = StageRequest {
        def,
        stage,
        audience,
        answers,
        today: london_today(state.now()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    respond::rendered(
        status,
        haven_pages::check_answers_page(&ctx, &request, errors),
    )
}

/// Counts the request against the client's submission quota (shared with the API).
pub struct Quota(Result<(), u64>);

impl FromRequestParts<AppState> for Quota {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = ClientIp::from_request_parts(parts, state)
            .await
            .map_or(None, |c| c.0);
        Ok(Quota(
            state.limiter.check(ip).map_err(|l| l.retry_after_secs),
        ))
    }
}

/// Sends the stage (or saves it for later).
pub async fn send(
    State(state): State<AppState>,
    session: FormSession,
    Path((service, stage)): Path<(String, String)>,
    quota: Quota,
    body: Result<Bytes, BytesRejection>,
) -> PageResult {
    let now = state.now();
    let today = london_today(now);
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
    let (Some(audience), answers) = loaded.stage(&stage.key) else {
        return Ok(Reply::redirect(urls::audience(&def.id, &stage.key)));
    };
    let audience = audience.to_owned();
    if action_of(&form) == haven_pages::naming::action::SAVE && offers_save(stage) {
        return save_for_later(&state, &session, def, stage, &mut loaded).await;
    }
    if let Err(retry) = quota.0 {
        return Err(respond::too_many(Some(def), retry));
    }
    let answers = nav::prune_inapplicable(stage, &audience, &answers, today);
    let submission = Submission {
        service: def.id.clone(),
        stage: stage.key.clone(),
        audience: audience.clone(),
        answers: answers.clone(),
        files: loaded.id.clone().map(|draft_id| DraftFiles {
            draft_id,
            keep: attachment_ids(stage, &answers),
        }),
    };
    if stage.access == StageAccess::Invited {
        let grant = loaded.grant(&stage.key, now).cloned();
        let Some(grant) = grant else {
            return Err(respond::error(Some(def), StatusCode::NOT_FOUND));
        };
        return super::invite::send_invited(
            &state,
            &session,
            def,
            stage,
            &mut loaded,
            &grant,
            submission,
            now,
        )
        .await;
    }
    let outcome = intake::submit(
        &state.storage,
        &state.registry,
        &state.key,
        Channel::Public,
        &submission,
        &state.options.public_url,
        now,
    )
    .await;
    match outcome {
        Ok(Outcome::Accepted(accepted)) => {
            loaded.doc.stages.remove(&stage.key);
            let stopped_at = nav::applicable_pages(stage, &audience, &answers, today)
                .into_iter()
                .find(|p| p.stop.is_some())
                .map(|p| p.key.clone());
            loaded.doc.flash = Some(Flash::Submitted {
                stage: stage.key.clone(),
                reference: accepted.reference,
                receipt_code: accepted.receipt_code,
                next_steps: accepted.next_steps,
                stopped_at,
            });
            draft::store(&state, &session, def, &mut loaded, now).await?;
            Ok(Reply::redirect(urls::confirmation(&def.id, &stage.key)))
        }
        Ok(Outcome::NotAccepted(not)) => {
            loaded.doc.flash = Some(Flash::NotAccepted {
                stage: stage.key.clone(),
                signposts: not.signposts.into_iter().map(|s| s.key).collect(),
                reason: not.reason,
            });
            draft::store(&state, &session, def, &mut loaded, now).await?;
            Ok(Reply::redirect(urls::other_help(&def.id, &stage.key)))
        }
        Err(IntakeError::Invalid(errors)) => {
            render(&state, &session, def, stage, &audience, &answers, &errors)
        }
        Err(IntakeError::Identifying(found)) => {
            let errors: Vec<FieldError> = found
                .iter()
                .map(|a| FieldError::new(&a.question, a.message()))
                .collect();
            render(&state, &session, def, stage, &audience, &answers, &errors)
        }
        Err(IntakeError::Storage(e)) => Err(respond::storage_failed(Some(def), &e)),
        Err(e @ IntakeError::NoFreeReference) => {
            tracing::error!(error = %e, "public submission failed");
            Err(respond::error(Some(def), StatusCode::INTERNAL_SERVER_ERROR))
        }
        Err(IntakeError::NotOpen(_)) => Err(respond::error(Some(def), StatusCode::FORBIDDEN)),
        Err(IntakeError::UnknownService(_) | IntakeError::Target(_)) => {
            Err(respond::error(Some(def), StatusCode::NOT_FOUND))
        }
    }
}

/// "Save and come back later": a resume code (100 random bits, stored only as a keyed hash)
/// valid for [`RESUME_EXPIRY`], shown once on the saved page.
pub async fn save_for_later(
    state: &AppState,
    session: &FormSession,
    def: &ServiceDefinition,
    stage: &Stage,
    loaded: &mut Loaded,
) -> PageResult {
    let now = state.now();
    let code = new_resume_code();
    let expires_at = now + RESUME_EXPIRY;
    loaded.doc.flash = Some(Flash::Saved {
        stage: stage.key.clone(),
        resume_code: code.clone(),
        expires_at,
    });
    let draft_id = draft::store(state, session, def, loaded, now).await?;
    state
        .storage
        .set_resume_code(&draft_id, &resume_hash(&state.key, &code), expires_at)
        .await
        .map_err(|e| respond::storage_failed(Some(def), &e))?;
    Ok(Reply::redirect(urls::saved(&def.id, &stage.key)))
}

/// A new resume code: 20 Crockford base32 symbols (100 bits) in groups of four.
fn new_resume_code() -> String {
    let symbols = crypto::random_symbols(20);
    symbols
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored form of a resume code (whatever its case, grouping or look-alike letters).
pub fn resume_hash(key: &crypto::SecretKey, code: &str) -> String {
    key.keyed_hash(format!("resume:{}", crypto::normalise_code(code)).as_bytes())
}
