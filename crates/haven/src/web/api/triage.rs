//! Triage on one referral: confirming or overriding the band, workflow transitions and the
//! chronology. Each write is checked against the service's rules by `haven-core`.

use axum::Json;
use axum::extract::{Path, State};
use chrono::NaiveDate;
use chrono::Utc;
use haven_core::calendar;
use haven_core::definition::ServiceDefinition;
use haven_core::workflow::{
    self, CaseFactsInput, CaseRecord, CaseworkFacts, ChronologyFact, RefusalKind, TransitionError,
    TransitionRequest, meets_sla,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::access::Staff;
use crate::policy::{Action, CaseScope, Decision};
use crate::storage::actions::{ActionRecord, BandAction};
use crate::storage::audit::AuditEntry;
use crate::storage::onward::OnwardReferral;
use crate::storage::plans::CaseworkCounts;
use crate::storage::referrals::Referral;
use crate::storage::timestamp;
use crate::storage::triage::{ChronologyEntry, StatusChange};
use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, StaffAuth};

/// The referral with this reference, with its service definition, if the access policy lets
/// the caller do `action` on it: 404 for a case of another team (so references cannot be
/// probed), 403 when the role may not.
pub async fn load(
    state: &AppState,
    staff: &Staff,
    reference: &str,
    action: Action,
) -> Result<(Referral, ServiceDefinition), ApiError> {
    let reference = reference.trim().to_ascii_uppercase();
    let referral = state
        .storage
        .find_referral(&reference)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let scope = CaseScope {
        service: &referral.service,
        team: &referral.team,
    };
    match state.staff.policy.decide(staff, action, Some(scope)) {
        Decision::Allow => {}
        Decision::NotFound => return Err(ApiError::not_found()),
        Decision::Forbidden => {
            return Err(ApiError::forbidden(format!(
                "The {} role may not {} on this service",
                staff.role,
                action.as_str().replace('_', " ")
            )));
        }
    }
    let def = state
        .registry
        .get(&referral.service)
        .cloned()
        .ok_or_else(|| ApiError::internal("referral of a service that is not loaded"))?;
    Ok((referral, def))
}

/// The stored screening with the confirmed band laid over it.
pub fn screening_view(referral: &Referral) -> Option<Value> {
    let mut screening = referral.screening.clone()?;
    if let Some(obj) = screening.as_object_mut() {
        obj.insert("confirmed_band".into(), json!(referral.confirmed_band));
    }
    Some(screening)
}

/// Everything the workflow and the case views read about one referral.
pub struct CaseFile {
    pub referral: Referral,
    pub def: ServiceDefinition,
    pub chronology: Vec<ChronologyEntry>,
    pub actions: Vec<ActionRecord>,
    /// What the confirmed band requires (empty until a band is confirmed).
    pub band_actions: Vec<BandAction>,
    /// Meetings and plan counts (`case.meetings`, `case.plan.*`).
    pub casework: CaseworkCounts,
    /// Onward referrals recorded on the case.
    pub onward: Vec<OnwardReferral>,
}

/// The referral with this reference, its chronology and its actions checklist (404 for a
/// referral of another team, as [`load`]).
pub async fn load_case(
    state: &AppState,
    staff: &Staff,
    reference: &str,
    action: Action,
) -> Result<CaseFile, ApiError> {
    let (referral, def) = load(state, staff, reference, action).await?;
    let chronology = state.storage.chronology(&referral.id).await?;
    let actions = state.storage.actions(&referral.id).await?;
    let band_actions = state.storage.band_actions(&referral.id).await?;
    let casework = state
        .storage
        .casework_counts(&referral.id, calendar::london_date(Utc::now()))
        .await?;
    let onward = state.storage.onward_referrals(&referral.id).await?;
    Ok(CaseFile {
        referral,
        def,
        chronology,
        actions,
        band_actions,
        casework,
        onward,
    })
}

/// A required action of the screening result with what has been done about it.
#[derive(Serialize, ToSchema)]
pub struct RequiredActionView {
    pub key: String,
    pub label: String,
    /// Why the screening requires it.
    pub reason: Option<String>,
    /// `open`, `done`, `waived`, or `not_required`: the screening suggested it, but the band a
    /// person confirmed does not require it (the reason is in the chronology,
    /// `action_not_required`). Actions the confirmed band adds are listed after the
    /// screening's (`screening.required_actions` keeps what the tool suggested at intake).
    pub status: String,
    /// Who marked it done or waived, and when (RFC 3339).
    pub by: Option<String>,
    pub at: Option<String>,
}

impl CaseFile {
    /// The chronology as the pure case rules read it.
    fn chronology_facts(&self) -> Vec<ChronologyFact<'_>> {
        self.chronology
            .iter()
            .map(|e| ChronologyFact {
                kind: &e.kind,
                to_status: e.to_status.as_deref(),
                detail: e.detail.as_ref(),
            })
            .collect()
    }

    /// How the case is worked (`haven_core::workflow::allocation_mode`).
    pub fn allocation_mode(&self) -> Option<String> {
        workflow::allocation_mode(&self.chronology_facts())
    }

    /// The case facts document workflow guards read, on `today`
    /// (`haven_core::workflow::case_facts`).
    pub fn facts(&self, today: NaiveDate) -> Value {
        let referral = &self.referral;
        let actions = self.required_actions();
        let statuses: Vec<&str> = actions.iter().map(|a| a.status.as_str()).collect();
        let chronology = self.chronology_facts();
        let counts = &self.casework;
        let input = CaseFactsInput {
            record: CaseRecord {
                stage: &referral.stage,
                answers: &referral.answers,
                status: &referral.status,
                eligible: referral.eligible,
                in_scope: referral.in_scope,
                urgent: referral.urgent,
                suggested_band: referral.suggested_band.as_deref(),
                confirmed_band: referral.confirmed_band.as_deref(),
                assignee: referral.assignee.as_deref(),
            },
            chronology: &chronology,
            action_statuses: &statuses,
            casework: CaseworkFacts {
                meetings: counts.meetings,
                goals: counts.goals,
                actions: counts.actions,
                open_actions: counts.open_actions,
                overdue_actions: counts.overdue_actions,
                reviews: counts.reviews,
            },
            onward_referrals: self.onward.len(),
        };
        workflow::case_facts(&input, today)
    }
}

/// A band confirmation or override.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BandRequest {
    /// One of the service's bands.
    pub band: String,
    /// Why (required, kept in the chronology).
    pub reason: String,
}

/// The band after confirmation.
#[derive(Serialize, ToSchema)]
pub struct BandView {
    pub suggested_band: Option<String>,
    pub confirmed_band: String,
}

/// Confirms or overrides the suggested band (triage, manager or admin of the team).
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/screening",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = BandRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded", body = BandView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not confirm bands", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 422, description = "`reason` missing or `band` not one of the service's bands", body = ErrorBody)
    )
)]
pub async fn confirm_band(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<BandRequest>,
) -> Result<Json<BandView>, ApiError> {
    let case = load_case(&state, &staff, &reference, Action::ConfirmBand).await?;
    let bands = case
        .def
        .screening
        .as_ref()
        .map(|s| s.bands.as_slice())
        .unwrap_or_default();
    let mut errors = Vec::new();
    if !bands.contains(&request.band) {
        errors.push(("band", format!("Choose one of: {}", bands.join(", "))));
    }
    let reason = request.reason.trim();
    if reason.is_empty() {
        errors.push(("reason", "Give a reason for the band".to_owned()));
    }
    let actions = case.band_actions_for(&request.band);
    let (true, Some(actions)) = (errors.is_empty(), actions) else {
        return Err(ApiError::unprocessable(errors));
    };
    state
        .storage
        .confirm_band(
            &case.referral.id,
            &request.band,
            reason,
            &staff.actor(),
            Utc::now(),
            &actions,
        )
        .await?;
    Ok(Json(BandView {
        suggested_band: case.referral.suggested_band,
        confirmed_band: request.band,
    }))
}

/// The new status after a transition.
#[derive(Serialize, ToSchema)]
pub struct TransitionDone {
    pub reference: String,
    pub from: String,
    /// The state the case is in now. A transition the definition makes by itself straight
    /// after a decision (`on_decision`) is included: deciding a Cyber Choices enquiry
    /// `suitable` answers `detailed_form_requested`, the link already sent.
    pub status: String,
    pub decision: Option<String>,
    /// The referrer is told: an email saying only that there is news (the follow-up page),
    /// or, for a transition with `invite_stage`, one carrying a single-use link to that
    /// stage's form. Queued after the move; the chronology records `notification_sent`
    /// (or `_failed`, or `notification_impossible` when the answers hold no address).
    pub notify_referrer: bool,
}

/// A workflow transition request: `{to, decision?, reason?, fields?}`. Closing a case with an
/// outcome: `fields: {"outcome": "<one of casework.closure.outcomes>", "narrative": "…"}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    pub to: String,
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

fn transition_error(e: &TransitionError) -> ApiError {
    let message = e.to_string();
    match (e.kind(), e.field()) {
        (RefusalKind::BadRequest, Some(field)) => ApiError::unprocessable([(field, message)]),
        (RefusalKind::NotPermitted, _) => ApiError::forbidden(message),
        (RefusalKind::UnknownTarget, _) => ApiError::unprocessable([("to", message)]),
        _ => ApiError::Conflict {
            code: e.code().to_owned(),
            message,
        },
    }
}

/// Moves a referral to another workflow state, if the caller's role and the guards allow.
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/transitions",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = TransitionBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Moved", body = TransitionDone),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not make this transition", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 409, description = "Not from this state, a guard failed (`guard_failed`, the message names the guard, e.g. `closure_outcome_recorded`), or another change got there first", body = ErrorBody),
        (status = 422, description = "Unknown state, decision or reason missing; into the service's closure state, `fields.outcome` not one of its `casework.closure.outcomes` or `fields.narrative` (the closing summary) missing", body = ErrorBody)
    )
)]
pub async fn transition(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(body): ApiJson<TransitionBody>,
) -> Result<Json<TransitionDone>, ApiError> {
    let case = load_case(&state, &staff, &reference, Action::Transition).await?;
    let facts = case.facts(calendar::london_date(Utc::now()));
    let CaseFile { referral, def, .. } = case;
    let request = TransitionRequest {
        to: body.to,
        decision: body.decision,
        reason: body.reason,
        fields: body.fields,
    };
    let outcome = workflow::attempt(
        &def,
        &referral.status,
        staff.role.as_str(),
        &request,
        &facts,
    )
    .map_err(|e| transition_error(&e))?;
    let closure = super::plans::closure_of(&def, &outcome.to, &request.fields)?;
    let now = Utc::now();
    let moved = crate::notify::change_status(
        state.notify(),
        &def,
        &referral,
        &StatusChange {
            referral_id: &referral.id,
            from: &outcome.from,
            to: &outcome.to,
            decision: outcome.decision.as_deref(),
            reason: outcome.reason.as_deref(),
            actor: &staff.actor(),
            at: now,
            meets_sla: meets_sla(&def, &outcome.to),
        },
        closure.as_ref(),
        staff.role.as_str(),
        &facts,
    )
    .await?;
    let Some(moved) = moved else {
        return Err(ApiError::Conflict {
            code: "status_changed".to_owned(),
            message: "The case changed while you were working on it; reload and try again"
                .to_owned(),
        });
    };
    Ok(Json(TransitionDone {
        reference: referral.reference,
        from: outcome.from,
        status: moved.status,
        decision: outcome.decision,
        notify_referrer: moved.notified,
    }))
}

/// One chronology entry.
#[derive(Serialize, ToSchema)]
pub struct ChronologyView {
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    /// `received`, `transition`, `band_confirmed`, `invitation_created`, `invitation_opened`,
    /// `stage_received`, `notification_sent`, `notification_failed`,
    /// `notification_impossible` (detail `{message, to}`: the kind of message and the
    /// masked address), …
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<Value>,
}

impl From<ChronologyEntry> for ChronologyView {
    fn from(e: ChronologyEntry) -> Self {
        Self {
            at: timestamp(e.at),
            actor: e.actor,
            kind: e.kind,
            from: e.from_status,
            to: e.to_status,
            reason: e.reason,
            detail: e.detail,
        }
    }
}

/// The chronology of a referral, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}/chronology",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chronology", body = [ChronologyView]),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody)
    )
)]
pub async fn chronology(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
) -> Result<Json<Vec<ChronologyView>>, ApiError> {
    let (referral, _def) = load(&state, &staff, &reference, Action::ViewCase).await?;
    let entries = state.storage.chronology(&referral.id).await?;
    // Audited before anything is returned: reading case history is reading case data.
    let entry = AuditEntry::new(
        Utc::now(),
        staff.actor(),
        "referral.chronology_viewed",
        "referral",
        &referral.id,
    );
    state.storage.append_audit(&entry).await?;
    Ok(Json(
        entries.into_iter().map(ChronologyView::from).collect(),
    ))
}
