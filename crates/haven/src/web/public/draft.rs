//! The draft document kept between pages (`public_drafts.answers`), and finding the
//! service and stage an address names.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use haven_core::definition::{ServiceDefinition, Stage, StageAccess};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::respond::{self, Reply};
use super::session::FormSession;
use crate::web::AppState;

/// How long a draft lives after its last change (unless saved with a resume code).
pub const IDLE_EXPIRY: Duration = Duration::hours(24);

/// How long a resume code of "save and come back later" works.
pub const RESUME_EXPIRY: Duration = Duration::days(28);

/// Everything one browser has typed into one service. Serialised whole into the one
/// `answers` column.
#[derive(Default, Serialize, Deserialize)]
pub struct DraftDoc {
    /// Per stage key: who they are and the stage's answers document.
    #[serde(default)]
    pub stages: BTreeMap<String, StageDraft>,
    /// A one-time message for the page after a redirect (the codes are shown once, then
    /// removed from the draft).
    #[serde(default)]
    pub flash: Option<Flash>,
    /// Per invited stage: the invitation whose link this browser opened (`invite.rs`). Only
    /// a draft holding a live grant reaches that stage's pages.
    #[serde(default)]
    pub invitations: BTreeMap<String, Grant>,
}

/// Access to one invited stage, given by opening its link.
#[derive(Clone, Serialize, Deserialize)]
pub struct Grant {
    pub invitation_id: String,
    pub referral_id: String,
    pub expires_at: DateTime<Utc>,
}

/// One stage's progress.
#[derive(Default, Serialize, Deserialize)]
pub struct StageDraft {
    pub audience: Option<String>,
    #[serde(default = "empty_object")]
    pub answers: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// What the page after a redirect shows once.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flash {
    Submitted {
        stage: String,
        reference: String,
        receipt_code: String,
        next_steps: Vec<String>,
        /// The stop page ("call 999 now") the answers went through: the confirmation
        /// repeats it. Absent in drafts stored before stop pages existed.
        #[serde(default)]
        stopped_at: Option<String>,
    },
    NotAccepted {
        stage: String,
        signposts: Vec<String>,
        reason: String,
    },
    Saved {
        stage: String,
        resume_code: String,
        expires_at: DateTime<Utc>,
    },
    /// A later stage was attached to the case `reference` (no new receipt code).
    Attached { stage: String, reference: String },
}

/// A draft as loaded for a request: its id once stored, and the document.
#[derive(Default)]
pub struct Loaded {
    pub id: Option<String>,
    pub doc: DraftDoc,
}

impl Loaded {
    /// The stage's progress, created empty when missing.
    pub fn stage_mut(&mut self, stage: &str) -> &mut StageDraft {
        self.doc.stages.entry(stage.to_owned()).or_default()
    }

    /// This draft's live grant to an invited stage.
    pub fn grant(&self, stage: &str, now: DateTime<Utc>) -> Option<&Grant> {
        self.doc
            .invitations
            .get(stage)
            .filter(|g| g.expires_at > now)
    }

    /// The stage's audience and answers (empty when nothing was stored yet).
    pub fn stage(&self, stage: &str) -> (Option<&str>, Value) {
        self.doc
            .stages
            .get(stage)
            .map_or((None, empty_object()), |s| {
                (s.audience.as_deref(), s.answers.clone())
            })
    }
}

/// The service an address names, or the 404 page.
pub fn service<'r>(state: &'r AppState, id: &str) -> Result<&'r ServiceDefinition, Reply> {
    state
        .registry
        .get(id)
        .ok_or_else(|| respond::error(None, StatusCode::NOT_FOUND))
}

/// The public stage an address names, or the 404 page (invited and staff stages are not
/// reachable from the public pages).
pub fn public_stage<'d>(def: &'d ServiceDefinition, key: &str) -> Result<&'d Stage, Reply> {
    def.stage(key)
        .filter(|s| s.access == StageAccess::Public)
        .ok_or_else(|| respond::error(Some(def), StatusCode::NOT_FOUND))
}

/// The stage an address names, if this draft may use it: public stages always, an invited
/// stage only with a live grant (`invitations`); otherwise the 404 page.
pub fn reachable_stage<'d>(
    def: &'d ServiceDefinition,
    key: &str,
    loaded: &Loaded,
    now: DateTime<Utc>,
) -> Result<&'d Stage, Reply> {
    def.stage(key)
        .filter(|s| match s.access {
            StageAccess::Public => true,
            StageAccess::Invited => loaded.grant(&s.key, now).is_some(),
            StageAccess::Staff => false,
        })
        .ok_or_else(|| respond::error(Some(def), StatusCode::NOT_FOUND))
}

/// A stage the pages after the form may name (public or invited: what they show comes from
/// the draft's one-time flash, which only a submission from this draft leaves).
pub fn outcome_stage<'d>(def: &'d ServiceDefinition, key: &str) -> Result<&'d Stage, Reply> {
    def.stage(key)
        .filter(|s| s.access != StageAccess::Staff)
        .ok_or_else(|| respond::error(Some(def), StatusCode::NOT_FOUND))
}

/// Loads this session's draft of the service (empty when there is none).
pub async fn load(
    state: &AppState,
    session: &FormSession,
    def: &ServiceDefinition,
    now: DateTime<Utc>,
) -> Result<Loaded, Reply> {
    if session.is_new {
        return Ok(Loaded::default());
    }
    let found = state
        .storage
        .find_draft(&session.hash(&state.key), &def.id, now)
        .await
        .map_err(|e| respond::storage_failed(Some(def), &e))?;
    let Some(draft) = found else {
        return Ok(Loaded::default());
    };
    let doc = serde_json::from_value(draft.answers).unwrap_or_else(|e| {
        // A draft written by an older version: start again rather than fail every page.
        tracing::warn!(error = %e, "a public draft could not be read; starting afresh");
        DraftDoc::default()
    });
    Ok(Loaded {
        id: Some(draft.id),
        doc,
    })
}

/// Stores the draft document; returns the draft id.
pub async fn store(
    state: &AppState,
    session: &FormSession,
    def: &ServiceDefinition,
    loaded: &mut Loaded,
    now: DateTime<Utc>,
) -> Result<String, Reply> {
    store_under(state, &session.hash(&state.key), None, def, loaded, now).await
}

/// Stores the draft document under a new session id (the answer must carry the session's
/// cookie: `Reply::with_session`). Used when a draft is created and when the audience is
/// chosen, so an id planted on the device before the form was started (session fixation)
/// never reaches what is typed; every draft of the old id moves to the new one in the same
/// transaction, and the old id reaches nothing. Returns the draft id.
pub async fn store_rotating(
    state: &AppState,
    session: &mut FormSession,
    def: &ServiceDefinition,
    loaded: &mut Loaded,
    now: DateTime<Utc>,
) -> Result<String, Reply> {
    session.rotate(&state.key);
    store_moving(state, session, def, loaded, now).await
}

/// Stores the draft document under the session's id, first moving the drafts of the id it
/// had before [`FormSession::rotate`] (when it was rotated in this request). Returns the
/// draft id.
pub async fn store_moving(
    state: &AppState,
    session: &mut FormSession,
    def: &ServiceDefinition,
    loaded: &mut Loaded,
    now: DateTime<Utc>,
) -> Result<String, Reply> {
    let previous = session.take_previous_hash();
    store_under(
        state,
        &session.hash(&state.key),
        previous.as_deref(),
        def,
        loaded,
        now,
    )
    .await
}

async fn store_under(
    state: &AppState,
    session_hash: &str,
    previous_hash: Option<&str>,
    def: &ServiceDefinition,
    loaded: &mut Loaded,
    now: DateTime<Utc>,
) -> Result<String, Reply> {
    let doc = serde_json::to_value(&loaded.doc).map_err(|e| {
        tracing::error!(error = %e, "a public draft could not be serialised");
        respond::error(Some(def), StatusCode::INTERNAL_SERVER_ERROR)
    })?;
    let id = state
        .storage
        .store_draft(session_hash, previous_hash, &def.id, &doc, now, IDLE_EXPIRY)
        .await
        .map_err(|e| respond::storage_failed(Some(def), &e))?;
    loaded.id = Some(id.clone());
    Ok(id)
}

/// Whether a stage offers "save and come back later": long forms by professionals. Not an
/// anonymous stage (nothing to come back to that could not be typed again) and not one that
/// forbids uploads (CEOP: often a child on a shared device, where a saved report is a risk).
pub fn offers_save(stage: &Stage) -> bool {
    !stage.anonymous && !stage.uploads_forbidden
}
