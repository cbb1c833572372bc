//! The pages after the form: confirmation, who can help instead, saved. Each shows what the
//! previous step left in the draft's flash; the codes are removed once shown.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use haven_pages::urls;

use super::draft::{self, Flash};
use super::respond::{self, PageResult, Reply};
use super::session::FormSession;
use crate::web::AppState;

/// What happens after a later stage (the detailed referral) is attached to a case.
const ATTACHED_NEXT_STEP: &str = "We have added this to your referral and will look at it \
    carefully before we get in touch. To check on your referral, use the receipt code you \
    were given when you first contacted us.";

/// The confirmation: reference, receipt code (shown once) and what happens next.
pub async fn confirmation(
    State(state): State<AppState>,
    session: FormSession,
    Path((service, stage)): Path<(String, String)>,
) -> PageResult {
    let now = state.now();
    let def = draft::service(&state, &service)?;
    let stage = draft::outcome_stage(def, &stage)?;
    let mut loaded = draft::load(&state, &session, def, now).await?;
    let (for_stage, reference, receipt_code, next_steps, stopped_at) = match loaded.doc.flash.take()
    {
        Some(Flash::Submitted {
            stage,
            reference,
            receipt_code,
            next_steps,
            stopped_at,
        }) => (stage, reference, receipt_code, next_steps, stopped_at),
        // A later stage of an existing case: no new receipt code.
        Some(Flash::Attached { stage, reference }) => (
            stage,
            reference,
            String::new(),
            vec![ATTACHED_NEXT_STEP.to_owned()],
            None,
        ),
        _ => return Ok(Reply::redirect(urls::start(&def.id))),
    };
    if for_stage != stage.key {
        return Ok(Reply::redirect(urls::start(&def.id)));
    }
    let ctx = respond::context(&state, &session);
    let stop = stopped_at
        .and_then(|key| stage.pages.iter().find(|p| p.key == key))
        .and_then(|p| p.stop.as_ref());
    let html = haven_pages::confirmation_page_after_stop(
        &ctx,
        def,
        stage,
        &reference,
        &receipt_code,
        &next_steps,
        stop,
    );
    let reply = respond::rendered(StatusCode::OK, html)?;
    // Shown once: the receipt code leaves the draft now.
    draft::store(&state, &session, def, &mut loaded, now).await?;
    Ok(reply)
}

/// Not accepted here (out of scope): who can help instead. Nothing was stored as a referral.
pub async fn other_help(
    State(state): State<AppState>,
    session: FormSession,
    Path((service, stage)): Path<(String, String)>,
) -> PageResult {
    let now = state.now();
    let def = draft::service(&state, &service)?;
    let stage = draft::outcome_stage(def, &stage)?;
    let loaded = draft::load(&state, &session, def, now).await?;
    let Some(Flash::NotAccepted {
        stage: for_stage,
        signposts,
        reason,
    }) = &loaded.doc.flash
    else {
        return Ok(Reply::redirect(urls::start(&def.id)));
    };
    if *for_stage != stage.key {
        return Ok(Reply::redirect(urls::start(&def.id)));
    }
    let ctx = respond::context(&state, &session);
    respond::rendered(
        StatusCode::OK,
        haven_pages::signpost_page(&ctx, def, stage, signposts, reason),
    )
}

/// After "save and come back later": the resume code (shown once) and its expiry.
pub async fn saved(
    State(state): State<AppState>,
    session: FormSession,
    Path((service, stage)): Path<(String, String)>,
) -> PageResult {
    let now = state.now();
    let def = draft::service(&state, &service)?;
    let stage = draft::outcome_stage(def, &stage)?;
    let mut loaded = draft::load(&state, &session, def, now).await?;
    let Some(Flash::Saved {
        stage: for_stage,
        resume_code,
        expires_at,
    }) = loaded.doc.flash.take()
    else {
        return Ok(Reply::redirect(urls::start(&def.id)));
    };
    if for_stage != stage.key {
        return Ok(Reply::redirect(urls::start(&def.id)));
    }
    let ctx = respond::context(&state, &session);
    let html = haven_pages::saved_page(&ctx, def, stage, &resume_code, expires_at);
    let reply = respond::rendered(StatusCode::OK, html)?;
    draft::store(&state, &session, def, &mut loaded, now).await?;
    Ok(reply)
}
