//! `GET/POST /services/{service}/{stage}/pages/{page}`: one question page.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use haven_core::answers::FieldError;
use haven_core::definition::condition::lookup;
use haven_core::definition::{Page, QuestionKind, ServiceDefinition, Stage};
use haven_pages::{FormAction, PageRequest, PageState, QuestionFindings, nav, urls};
use serde_json::Value;

use super::draft::{self, Loaded, offers_save};
use super::receive::{self, Received};
use super::respond::{self, PageResult, Reply};
use super::session::FormSession;
use super::{check_answers, parse_form, uploads};
use crate::intake::IdentifyingAnswer;
use crate::web::AppState;
use crate::web::extract::ClientIp;

/// Where a question page's request is: the service, stage, page and the person's progress.
struct Here<'d> {
    def: &'d ServiceDefinition,
    stage: &'d Stage,
    page: &'d Page,
    audience: String,
}

/// Finds the page and who is answering; a stage without a chosen audience goes to "I am…".
fn locate<'d>(
    state: &'d AppState,
    service: &str,
    stage: &str,
    page: &str,
    loaded: Option<&Loaded>,
) -> Result<Here<'d>, Reply> {
    let def = draft::service(state, service)?;
    let stage = match loaded {
        Some(l) => draft::reachable_stage(def, stage, l, state.now())?,
        None => draft::public_stage(def, stage)?,
    };
    let page = stage
        .pages
        .iter()
        .find(|p| p.key == page)
        .ok_or_else(|| respond::error(Some(def), StatusCode::NOT_FOUND))?;
    let audience = loaded
        .and_then(|l| l.stage(&stage.key).0.map(str::to_owned))
        .ok_or_else(|| Reply::redirect(urls::audience(&def.id, &stage.key)))?;
    Ok(Here {
        def,
        stage,
        page,
        audience,
    })
}

/// Shows a question page with the answers so far.
pub async fn show(
    State(state): State<AppState>,
    session: FormSession,
    Path((service, stage, page)): Path<(String, String, String)>,
) -> PageResult {
    let now = state.now();
    let today = haven_pages::london_today(now);
    let def = draft::service(&state, &service)?;
    let loaded = draft::load(&state, &session, def, now).await?;
    let here = locate(&state, &service, &stage, &page, Some(&loaded))
        .map_err(|r| r.with_session(&session))?;
    let (_, answers) = loaded.stage(&here.stage.key);
    if !nav::page_applies(here.page, &here.audience, &answers, today) {
        return Ok(Reply::redirect(check_answers::next_incomplete(
            here.def,
            here.stage,
            &here.audience,
            &answers,
            today,
        )));
    }
    let request = PageRequest {
        def: here.def,
        stage: here.stage,
        page: here.page,
        audience: &here.audience,
        answers: &answers,
        today,
    };
    let findings = page_findings(&request);
    let names = attachment_names(&state, &loaded).await?;
    let page_state = PageState {
        findings: &findings,
        attachment_names: Some(&names),
        ..PageState::default()
    };
    let ctx = page_context(&state, &session, here.stage);
    let html = haven_pages::question_page(&ctx, &request, &page_state);
    Ok(respond::rendered(StatusCode::OK, html)?.with_session(&session))
}

/// Takes a question page's answers (and files), then goes on, shows errors, or saves.
///
/// The body may be as large as the page's file questions allow ([`uploads::page_limit`]):
/// a page without file questions takes only the usual limit, and a `Content-Length` past
/// the limit is answered 413 before any of the body is read.
pub async fn submit(
    State(state): State<AppState>,
    session: FormSession,
    Path((service, stage, page)): Path<(String, String, String)>,
    ClientIp(ip): ClientIp,
    request: Request,
) -> PageResult {
    let now = state.now();
    let today = haven_pages::london_today(now);
    let def = draft::service(&state, &service)?;
    let mut loaded = draft::load(&state, &session, def, now).await?;
    let here = locate(&state, &service, &stage, &page, Some(&loaded))?;
    let limit = uploads::page_limit(here.stage, here.page, state.options.body_limit_bytes);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(respond::error(Some(def), StatusCode::PAYLOAD_TOO_LARGE));
    }
    // A body without a length (chunked) is cut off at the page's limit as it is read.
    let request = request.map(|body| uploads::paced(body, limit));
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let (_, answers) = loaded.stage(&here.stage.key);
    let shown = nav::shown_questions(here.page, &here.audience, &answers, today);
    let takes_files =
        !here.stage.uploads_forbidden && shown.iter().any(|q| q.kind == QuestionKind::File);
    let request_page = PageRequest {
        def: here.def,
        stage: here.stage,
        page: here.page,
        audience: &here.audience,
        answers: &answers,
        today,
    };
    let ctx = page_context(&state, &session, here.stage);

    let (mut form, stored) = if is_multipart {
        if !takes_files {
            return Err(uploads::refused(def));
        }
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| respond::error(Some(def), e.status()))?;
        let reading = receive::Page {
            def,
            session: &session,
            shown: &shown,
            ip,
            now,
        };
        match receive::receive(&state, &reading, &mut loaded, multipart).await? {
            Received::Done { form, stored } => (form, stored),
            Received::Refused { form, errors } => {
                let names = attachment_names(&state, &loaded).await?;
                return refused_page(&ctx, &request_page, &form, &errors, &names);
            }
        }
    } else {
        let body = Bytes::from_request(request, &state)
            .await
            .map_err(|e| respond::error(Some(def), e.status()))?;
        let form =
            parse_form(&body).ok_or_else(|| respond::error(Some(def), StatusCode::BAD_REQUEST))?;
        (form, Vec::new())
    };
    if !session.csrf_ok(&state.key, &form) {
        receive::discard_all(&state, &stored).await;
        return Err(respond::error(Some(def), StatusCode::FORBIDDEN).with_session(&session));
    }

    let mut attached = match &loaded.id {
        Some(id) => state
            .storage
            .draft_attachments(id)
            .await
            .map_err(|e| respond::storage_failed(Some(def), &e))?,
        None => BTreeMap::new(),
    };
    // What was attached before this post: counted from storage, never from the form.
    attached.retain(|id, _| !stored.iter().any(|s| s.id == *id));
    let kept = uploads::filter_current(&mut form, &shown, &attached);
    let names: BTreeMap<String, String> = attached
        .iter()
        .map(|(id, a)| (id.clone(), a.filename.clone()))
        .collect();
    let too_many = too_many_files(&shown, &kept, &stored);
    if !too_many.is_empty() {
        receive::discard_all(&state, &stored).await;
        return refused_page(&ctx, &request_page, &form, &too_many, &names);
    }
    for file in &stored {
        form.push((file.question.clone(), file.id.clone()));
    }
    let request = request_page;

    let input = haven_pages::parse_page_form(&request, &form);
    let mut new_answers = answers.clone();
    haven_pages::apply_patch(&mut new_answers, &input.answers_patch);
    loaded.stage_mut(&here.stage.key).answers = new_answers.clone();
    let draft_id = draft::store(&state, &session, def, &mut loaded, now).await?;
    prune_files(&state, def, &draft_id, &shown, &new_answers).await?;
    let request = PageRequest {
        answers: &new_answers,
        ..request
    };

    match input.action {
        FormAction::Save if offers_save(here.stage) => {
            return check_answers::save_for_later(&state, &session, def, here.stage, &mut loaded)
                .await;
        }
        FormAction::Add { .. } | FormAction::Remove { .. } => {
            let names = attachment_names(&state, &loaded).await?;
            let findings = page_findings(&request);
            let page_state = PageState {
                findings: &findings,
                attachment_names: Some(&names),
                ..PageState::default()
            };
            let html = haven_pages::question_page(&ctx, &request, &page_state);
            return respond::rendered(StatusCode::OK, html);
        }
        _ => {}
    }

    let mut errors = input.errors.clone();
    errors.extend(identifying_errors(&request, &errors));
    if errors.is_empty() && input.can_continue() {
        if refused_already(here.def, here.stage, here.page, &new_answers, today) {
            return refuse_early(&state, &session, &here, &mut loaded, &new_answers, now).await;
        }
        return Ok(Reply::redirect(haven_pages::next_url(&request)));
    }
    let names = attachment_names(&state, &loaded).await?;
    let findings = page_findings(&request);
    let shown_again = with_new_files_as_current(&form, &shown);
    let page_state = PageState {
        errors: &errors,
        submitted: Some(&shown_again),
        findings: &findings,
        attachment_names: Some(&names),
    };
    let status = if errors.is_empty() {
        StatusCode::OK // new questions revealed: shown, not an error
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    respond::rendered(
        status,
        haven_pages::question_page(&ctx, &request, &page_state),
    )
}

/// The page again with the files refused (422); nothing of the post was kept.
fn refused_page(
    ctx: &haven_pages::PageContext,
    request: &PageRequest<'_>,
    form: &[(String, String)],
    errors: &[FieldError],
    names: &BTreeMap<String, String>,
) -> PageResult {
    let findings = page_findings(request);
    let page_state = PageState {
        errors,
        submitted: Some(form),
        findings: &findings,
        attachment_names: Some(names),
    };
    let html = haven_pages::question_page(ctx, request, &page_state);
    respond::rendered(StatusCode::UNPROCESSABLE_ENTITY, html)
}

/// An error for each file question that would hold more files than it takes: those kept
/// (stored, less those ticked for removal) plus those just sent. A question of one file
/// takes a new file in place of the old one.
fn too_many_files(
    shown: &[&haven_core::definition::Question],
    kept: &BTreeMap<String, usize>,
    stored: &[uploads::Stored],
) -> Vec<FieldError> {
    shown
        .iter()
        .filter(|q| q.kind == QuestionKind::File)
        .filter_map(|q| {
            let new = stored.iter().filter(|s| s.question == q.key).count();
            let total = match q.max_items {
                Some(_) => kept.get(&q.key).copied().unwrap_or(0) + new,
                None => new,
            };
            let max = uploads::max_items(q);
            (total > max).then(|| {
                FieldError::new(
                    &q.key,
                    format!(
                        "You can attach up to {max} files for \u{201c}{}\u{201d}",
                        q.label
                    ),
                )
            })
        })
        .collect()
}

/// Deletes the draft's files for this page's file questions that its answers no longer
/// name (removed, replaced, or left out of the form), so what is stored is what is attached.
async fn prune_files(
    state: &AppState,
    def: &ServiceDefinition,
    draft_id: &str,
    shown: &[&haven_core::definition::Question],
    answers: &Value,
) -> Result<(), Reply> {
    let questions: Vec<&str> = shown
        .iter()
        .filter(|q| q.kind == QuestionKind::File)
        .map(|q| q.key.as_str())
        .collect();
    if questions.is_empty() {
        return Ok(());
    }
    let keep: Vec<String> = questions
        .iter()
        .filter_map(|key| lookup(answers, key))
        .flat_map(|v| match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        })
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    state
        .storage
        .prune_draft_files(draft_id, &questions, &keep)
        .await
        .map_err(|e| respond::storage_failed(Some(def), &e))
}

/// The form as it is shown again: files just stored (`KEY` = their id) are listed as
/// already attached (`KEY-current`), so they are not asked for a second time.
fn with_new_files_as_current(
    form: &[(String, String)],
    shown: &[&haven_core::definition::Question],
) -> Vec<(String, String)> {
    form.iter()
        .map(|(name, value)| {
            let is_file = shown
                .iter()
                .any(|q| q.kind == QuestionKind::File && q.key == *name);
            if is_file {
                (haven_pages::naming::file_current(name), value.clone())
            } else {
                (name.clone(), value.clone())
            }
        })
        .collect()
}

/// The page context for a stage's pages.
fn page_context(
    state: &AppState,
    session: &FormSession,
    stage: &Stage,
) -> haven_pages::PageContext {
    let mut ctx = respond::context(state, session);
    ctx.save_and_return = offers_save(stage);
    ctx
}

/// Anonymity findings of every checked free-text answer shown on the page (anonymous stages
/// only), confirmed or not, so the text is shown marked next to its confirmation.
fn page_findings(request: &PageRequest<'_>) -> Vec<QuestionFindings> {
    if !request.stage.anonymous {
        return Vec::new();
    }
    nav::shown_questions(
        request.page,
        request.audience,
        request.answers,
        request.today,
    )
    .into_iter()
    .filter(|q| q.checks_anonymity())
    .filter_map(|q| {
        let text = lookup(request.answers, &q.key)?.as_str()?;
        let report = haven_core::anonymity::check(text);
        let findings: Vec<haven_pages::Finding> = report
            .findings
            .iter()
            .map(|f| haven_pages::Finding {
                kind: serde_json::to_value(f.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "other".to_owned()),
                start: f.start,
                end: f.end,
            })
            .collect();
        (!findings.is_empty()).then(|| QuestionFindings {
            question: q.key.clone(),
            text: text.to_owned(),
            findings,
        })
    })
    .collect()
}

/// On an anonymous stage: an error for each of the page's free-text answers that may
/// identify someone and is not confirmed as anonymous (the same check as on submission).
fn identifying_errors(request: &PageRequest<'_>, already: &[FieldError]) -> Vec<FieldError> {
    let on_page: Vec<&str> = request
        .page
        .questions
        .iter()
        .map(|q| q.key.as_str())
        .collect();
    haven_core::answers::anonymity_texts(request.stage, request.answers)
        .into_iter()
        .filter(|(key, _)| on_page.contains(key) && !already.iter().any(|e| e.field == *key))
        .filter_map(|(key, text)| {
            let report = haven_core::anonymity::check(text);
            report.identifying.then(|| {
                let found = IdentifyingAnswer {
                    question: key.to_owned(),
                    findings: report.findings,
                };
                FieldError::new(key, found.message())
            })
        })
        .collect()
}

/// Names of the draft's attached files, by id.
async fn attachment_names(
    state: &AppState,
    loaded: &Loaded,
) -> Result<BTreeMap<String, String>, Reply> {
    let Some(id) = &loaded.id else {
        return Ok(BTreeMap::new());
    };
    let attached = state
        .storage
        .draft_attachments(id)
        .await
        .map_err(|e| respond::storage_failed(None, &e))?;
    Ok(attached
        .into_iter()
        .map(|(id, a)| (id, a.filename))
        .collect())
}

/// The answer ids of every file question of a stage (to move with the referral).
pub fn attachment_ids(stage: &Stage, answers: &Value) -> Vec<String> {
    stage
        .questions()
        .filter(|(_, q)| q.kind == QuestionKind::File)
        .filter_map(|(_, q)| lookup(answers, &q.key))
        .flat_map(|v| match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        })
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Whether the answers up to this page already put the report out of a refusing service's
/// scope: the questions of this page and the pages before it are settled (asked, answered
/// or not), those after it still to come.
fn refused_already(
    def: &ServiceDefinition,
    stage: &Stage,
    page: &Page,
    answers: &Value,
    today: chrono::NaiveDate,
) -> bool {
    let asked: Vec<&str> = stage
        .pages
        .iter()
        .take_while(|p| p.key != page.key)
        .chain(std::iter::once(page))
        .flat_map(|p| p.questions.iter().map(|q| q.key.as_str()))
        .collect();
    haven_core::screening::refused_already(def, answers, today, &|key| asked.contains(&key))
}

/// Tells the person who can help instead, straight away: the stage's answers are dropped
/// from the draft and only the anonymous count is kept (as for a refused submission).
async fn refuse_early(
    state: &AppState,
    session: &FormSession,
    here: &Here<'_>,
    loaded: &mut Loaded,
    answers: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> PageResult {
    let refused =
        crate::intake::refuse_early(&state.storage, here.def, &here.audience, answers, now)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "an early refusal could not be counted");
                respond::error(Some(here.def), StatusCode::INTERNAL_SERVER_ERROR)
            })?;
    loaded.doc.stages.remove(&here.stage.key);
    loaded.doc.flash = Some(draft::Flash::NotAccepted {
        stage: here.stage.key.clone(),
        signposts: refused.signposts.into_iter().map(|s| s.key).collect(),
        reason: refused.reason,
    });
    draft::store(state, session, here.def, loaded, now).await?;
    Ok(Reply::redirect(urls::other_help(
        &here.def.id,
        &here.stage.key,
    )))
}
