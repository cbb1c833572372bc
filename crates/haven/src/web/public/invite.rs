//! `/services/{service}/invitations/{token}`: the single-use link the team emails for an
//! `invited` stage (Cyber Choices' detailed referral), and sending that stage.
//!
//! `GET` shows a page with a "Start the form" button and uses nothing (mail scanners fetch
//! links). The button's `POST` exchanges the token, once, for this browser's form session
//! (the page set its cookie, and a same-site POST carries a `SameSite=Strict` cookie even
//! when the link was clicked in webmail): the draft
//! gets a grant to the stage (`DraftDoc::invitations`) and the browser is redirected at once
//! to the stage's first page, a token-free address, so the token stays out of history and
//! `Referer` headers (which `Referrer-Policy: no-referrer` suppresses anyway). The stage then
//! runs through the ordinary public pages; check answers sends it with
//! [`send_invited`], which attaches it to the same case. A used, expired or unknown link
//! answers a page saying so and how to ask for a new one (410), never a 500.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use haven_core::answers::FieldError;
use haven_core::definition::{ServiceDefinition, Stage, StageAccess};
use haven_pages::{london_today, nav, urls};

use super::check_answers;
use super::draft::{self, Flash, Grant, Loaded};
use super::respond::{self, PageResult, Reply};
use super::session::FormSession;
use crate::intake::{self, IntakeError, InvitedError, Submission};
use crate::notify;
use crate::storage::invites::{Invitation, Opened};
use crate::web::AppState;

/// Why a link did not open.
enum Spent {
    Unknown,
    Used,
    Expired,
    /// The case was closed since the link was sent.
    Closed,
}

/// The page for a link that no longer works (410), saying how to ask for a new one.
fn spent(state: &AppState, session: &FormSession, def: &ServiceDefinition, why: &Spent) -> Reply {
    let first = match why {
        Spent::Unknown => {
            "This link does not work. Check that you copied the whole link from our email."
        }
        Spent::Used => {
            "This link has already been used. Each link works once, in the browser where it \
             was first opened. If you started the form in another browser, carry on there."
        }
        Spent::Expired => "This link has expired: links to our forms work for a limited time.",
        Spent::Closed => "This link no longer works because the referral has been closed.",
    };
    let message = format!(
        "{first}\n\nTo ask {} for a new link, check on your report with the receipt code you \
         were given when you first contacted us, and send us a message saying you need one.",
        def.name
    );
    let ctx = respond::context(state, session);
    let html =
        haven_pages::link_spent_page(&ctx, def, &message, ("Check on your report", "/follow-up"));
    match respond::rendered(StatusCode::GONE, html) {
        Ok(reply) | Err(reply) => reply,
    }
}

/// `GET` of an invitation link: a page saying what the form is, with a button that starts it
/// (a `POST` to the same address). Fetching the link uses nothing, so a mail scanner that
/// follows every link in an email cannot spend it. The same browser following its link again
/// goes straight back to its form.
pub async fn show(
    State(state): State<AppState>,
    mut session: FormSession,
    Path((service, token)): Path<(String, String)>,
) -> PageResult {
    let now = state.now();
    let def = draft::service(&state, &service)?;
    if !notify::is_invitation_token(&token) {
        return Err(spent(&state, &session, def, &Spent::Unknown));
    }
    let hash = notify::invitation_hash(&state.key, &token);
    let found = state
        .storage
        .find_invitation(&hash)
        .await
        .map_err(|e| respond::storage_failed(Some(def), &e))?
        .ok_or_else(|| spent(&state, &session, def, &Spent::Unknown))?;
    let mut loaded = draft::load(&state, &session, def, now).await?;
    if reopens(&state, &session, &loaded, &found, now) {
        return carry_on(&state, &mut session, def, &mut loaded, &found, now).await;
    }
    if found.opened_at.is_some() || found.used_at.is_some() {
        return Err(spent(&state, &session, def, &Spent::Used));
    }
    if found.expires_at <= now {
        return Err(spent(&state, &session, def, &Spent::Expired));
    }
    let stage = open_stage(&state, &session, def, &found).await?;
    let ctx = respond::context(&state, &session);
    let html = haven_pages::invitation_page(
        &ctx,
        def,
        &stage.label,
        &notify::expiry_text(found.expires_at),
        &notify::invitation_path(&def.id, &token),
    );
    match respond::rendered(StatusCode::OK, html) {
        Ok(reply) => Ok(reply.with_session(&session)),
        Err(reply) => Err(reply),
    }
}

/// `POST` of an invitation link (the button of [`show`]): exchanges its token, once, for
/// this browser's form session and goes to the stage's first page.
pub async fn open(
    State(state): State<AppState>,
    session: FormSession,
    Path((service, token)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> PageResult {
    let now = state.now();
    let def = draft::service(&state, &service)?;
    if !notify::is_invitation_token(&token) {
        return Err(spent(&state, &session, def, &Spent::Unknown));
    }
    let body = body.map_err(|e| respond::error(Some(def), e.status()))?;
    let form = super::parse_form(&body)
        .ok_or_else(|| respond::error(Some(def), StatusCode::BAD_REQUEST))?;
    if !session.csrf_ok(&state.key, &form) {
        // A page from another browser session (or none): show the start page again.
        return Ok(Reply::redirect(notify::invitation_path(&def.id, &token)).with_session(&session));
    }
    let hash = notify::invitation_hash(&state.key, &token);
    let mut loaded = draft::load(&state, &session, def, now).await?;
    // The form the link opens gets a new session id (the link is bound to it), so an id
    // planted on the device before the link was opened never reaches what is typed; the
    // browser's drafts move to the new id when the draft is stored.
    let mut rotated = session.clone();
    rotated.rotate(&state.key);
    let opened = state
        .storage
        .open_invitation(&hash, &rotated.hash(&state.key), now)
        .await
        .map_err(|e| respond::storage_failed(Some(def), &e))?;
    let (mut session, invitation) = match opened {
        Opened::Now(invitation) => (rotated, invitation),
        // The same browser pressing the button again (even after its draft expired): carry
        // on with the form it opened, under the id it was given then. The link still works
        // nowhere else.
        Opened::AlreadyUsed(invitation) if reopens(&state, &session, &loaded, &invitation, now) => {
            (session, invitation)
        }
        Opened::AlreadyUsed(_) => return Err(spent(&state, &session, def, &Spent::Used)),
        Opened::Expired => return Err(spent(&state, &session, def, &Spent::Expired)),
        Opened::Unknown => return Err(spent(&state, &session, def, &Spent::Unknown)),
    };
    carry_on(&state, &mut session, def, &mut loaded, &invitation, now).await
}

/// Whether this browser opened `invitation` before and may carry on with its form.
fn reopens(
    state: &AppState,
    session: &FormSession,
    loaded: &Loaded,
    invitation: &Invitation,
    now: DateTime<Utc>,
) -> bool {
    invitation.reopens_for(&session.hash(&state.key), now)
        || (invitation.used_at.is_none()
            && loaded
                .grant(&invitation.stage, now)
                .is_some_and(|g| g.invitation_id == invitation.id))
}

/// The invited stage of a link whose case is still open (else the page saying why not).
async fn open_stage<'d>(
    state: &AppState,
    session: &FormSession,
    def: &'d ServiceDefinition,
    invitation: &Invitation,
) -> Result<&'d Stage, Reply> {
    let Some(stage) = def
        .stage(&invitation.stage)
        .filter(|s| s.access == StageAccess::Invited)
    else {
        return Err(spent(state, session, def, &Spent::Unknown));
    };
    let referral = state
        .storage
        .find_referral_by_id(&invitation.referral_id)
        .await
        .map_err(|e| respond::storage_failed(Some(def), &e))?;
    match referral {
        Some(r) if r.service == def.id => {
            if intake::is_closed(def, &r.status) {
                return Err(spent(state, session, def, &Spent::Closed));
            }
        }
        _ => return Err(spent(state, session, def, &Spent::Unknown)),
    }
    Ok(stage)
}

/// Grants this browser's draft the invitation's stage and goes to its first page.
async fn carry_on(
    state: &AppState,
    session: &mut FormSession,
    def: &ServiceDefinition,
    loaded: &mut Loaded,
    invitation: &Invitation,
    now: DateTime<Utc>,
) -> PageResult {
    let stage = open_stage(state, session, def, invitation).await?;
    grant(
        loaded,
        stage,
        &invitation.id,
        &invitation.referral_id,
        &invitation.audience,
        invitation.expires_at,
    );
    draft::store_moving(state, session, def, loaded, now).await?;
    let (audience, answers) = loaded.stage(&stage.key);
    let today = london_today(now);
    let next = match audience {
        Some(audience) => nav::first_page(stage, audience, &answers, today).map_or_else(
            || urls::check_answers(&def.id, &stage.key),
            |p| urls::page(&def.id, &stage.key, &p.key),
        ),
        None => urls::audience(&def.id, &stage.key),
    };
    Ok(Reply::redirect(next).with_session(session))
}

/// Gives the draft the stage, answered as the enquiry's audience when the stage has it.
fn grant(
    loaded: &mut Loaded,
    stage: &Stage,
    invitation_id: &str,
    referral_id: &str,
    audience: &str,
    expires_at: DateTime<Utc>,
) {
    loaded.doc.invitations.insert(
        stage.key.clone(),
        Grant {
            invitation_id: invitation_id.to_owned(),
            referral_id: referral_id.to_owned(),
            expires_at,
        },
    );
    let entry = loaded.stage_mut(&stage.key);
    if entry.audience.is_none() && stage.allows_audience(audience) {
        entry.audience = Some(audience.to_owned());
    }
}

/// Check answers of an invited stage: attaches the answers to the invitation's case.
#[allow(clippy::too_many_arguments)]
pub async fn send_invited(
    state: &AppState,
    session: &FormSession,
    def: &ServiceDefinition,
    stage: &Stage,
    loaded: &mut Loaded,
    grant: &Grant,
    submission: Submission,
    now: DateTime<Utc>,
) -> PageResult {
    let outcome = intake::submit_invited(
        &state.storage,
        &state.registry,
        &grant.invitation_id,
        &submission,
        now,
    )
    .await;
    match outcome {
        Ok(attached) => {
            if let Some((from, to)) = &attached.moved
                && let Ok(Some(referral)) = state.storage.find_referral(&attached.reference).await
                && let Some(t) = def.workflow.as_ref().and_then(|w| {
                    w.transitions.iter().find(|t| {
                        &t.to == to
                            && t.from.iter().any(|f| f == from)
                            && t.on_stage_received.as_deref() == Some(stage.key.as_str())
                    })
                })
                && let Err(e) =
                    notify::after_transition(state.notify(), def, &referral, t, "public", now).await
            {
                tracing::error!(error = %e, "could not queue the referrer's notification");
            }
            loaded.doc.stages.remove(&stage.key);
            loaded.doc.invitations.remove(&stage.key);
            loaded.doc.flash = Some(Flash::Attached {
                stage: stage.key.clone(),
                reference: attached.reference,
            });
            draft::store(state, session, def, loaded, now).await?;
            Ok(Reply::redirect(urls::confirmation(&def.id, &stage.key)))
        }
        Err(InvitedError::Spent) => {
            loaded.doc.invitations.remove(&stage.key);
            draft::store(state, session, def, loaded, now).await?;
            Err(spent(state, session, def, &Spent::Used))
        }
        Err(InvitedError::Intake(IntakeError::Invalid(errors))) => check_answers::render(
            state,
            session,
            def,
            stage,
            &submission.audience,
            &submission.answers,
            &errors,
        ),
        Err(InvitedError::Intake(IntakeError::Identifying(found))) => {
            let errors: Vec<FieldError> = found
                .iter()
                .map(|a| FieldError::new(&a.question, a.message()))
                .collect();
            check_answers::render(
                state,
                session,
                def,
                stage,
                &submission.audience,
                &submission.answers,
                &errors,
            )
        }
        Err(InvitedError::Intake(IntakeError::Storage(e))) => {
            Err(respond::storage_failed(Some(def), &e))
        }
        Err(InvitedError::Intake(IntakeError::NotOpen(_))) => {
            Err(respond::error(Some(def), StatusCode::FORBIDDEN))
        }
        Err(InvitedError::Intake(e)) => {
            tracing::warn!(error = %e, "an invited stage was refused");
            Err(respond::error(Some(def), StatusCode::NOT_FOUND))
        }
    }
}
