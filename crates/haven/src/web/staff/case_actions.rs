//! The case file's forms: band confirmation or override, workflow steps, notes, allocation
//! and messages to the reporter. Each checks the CSRF token, then the policy (through
//! [`super::case::load`]), then its input; a refused input re-renders the case with the
//! error (422); success redirects back to the case (303).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::definition::ServiceDefinition;
use haven_core::workflow::{self, RefusalKind, TransitionRequest, meets_sla};
use serde::Deserialize;

use super::case::{case_page, load, load_file};
use super::error::StaffError;
use super::session::{CurrentSession, SignedIn};
use crate::policy::Action;
use crate::storage::actions::{ActionChange, ActionStatus};
use crate::storage::casework::Direction;
use crate::storage::referrals::Referral;
use crate::storage::triage::StatusChange;
use crate::web::AppState;
use crate::web::api::plans::is_team_worker;
use crate::web::api::triage::CaseFile;

/// Longest note or message accepted, in characters.
const MAX_TEXT: usize = 20_000;

/// Every case form's fields (each form sends the ones it has).
#[derive(Deserialize, Default)]
pub struct CaseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    band: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    worker: String,
    #[serde(default)]
    status: String,
    /// A closure outcome and closing summary (transitions into the closure state).
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    narrative: String,
}

fn back_to(referral: &Referral, anchor: &str) -> Response {
    Redirect::to(&format!("/staff/cases/{}#{anchor}", referral.reference)).into_response()
}

async fn refuse(
    state: &AppState,
    session: &CurrentSession,
    referral: &Referral,
    def: &ServiceDefinition,
    field: &str,
    message: String,
) -> Result<Response, StaffError> {
    // The page shows the case again: that is a view like any other.
    let entry = crate::storage::audit::AuditEntry::new(
        state.staff.clock.now(),
        session.staff().actor(),
        "referral.viewed",
        "referral",
        &referral.id,
    );
    state.storage.append_audit(&entry).await?;
    case_page(
        state,
        session,
        referral,
        def,
        &[(field, message)],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// Checks the token and the policy; the case and its definition.
async fn begin(
    state: &AppState,
    session: &CurrentSession,
    form: &CaseForm,
    reference: &str,
    action: Action,
) -> Result<(Referral, ServiceDefinition), StaffError> {
    session.check_csrf(&form.csrf)?;
    load(state, &session.staff(), reference, action).await
}

fn text(value: &str, field: &str, what: &str) -> Result<String, (String, String)> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err((field.to_owned(), format!("Enter {what}")));
    }
    if trimmed.chars().count() > MAX_TEXT {
        return Err((
            field.to_owned(),
            format!("{what} must be {MAX_TEXT} characters or fewer"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// `POST /staff/cases/{reference}/band`: confirm (same band) or override (another band);
/// a reason is always required, and the suggested band is kept.
pub async fn band(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let case = load_file(&state, &session.staff(), &reference, Action::ConfirmBand).await?;
    let (referral, def) = (&case.referral, &case.def);
    let bands = def
        .screening
        .as_ref()
        .map(|s| s.bands.clone())
        .unwrap_or_default();
    // What the chosen band requires, recomputed from the definition (None: not a band).
    let Some(actions) = case.band_actions_for(&form.band) else {
        let message = format!("Choose a band: {}", bands.join(", "));
        return refuse(&state, &session, referral, def, "band", message).await;
    };
    let reason = match text(&form.reason, "band-reason", "a reason for the band") {
        Ok(r) => r,
        Err((f, m)) => return refuse(&state, &session, referral, def, &f, m).await,
    };
    let staff = session.staff();
    let now = state.staff.clock.now();
    state
        .storage
        .confirm_band(
            &referral.id,
            &form.band,
            &reason,
            &staff.actor(),
            now,
            &actions,
        )
        .await?;
    Ok(back_to(referral, "screening"))
}

/// `POST /staff/cases/{reference}/transitions`: one of the workflow's next steps, if the
/// policy and the workflow both let this role take it and its guards hold.
pub async fn transition(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    let case = load_file(&state, &staff, &reference, Action::Transition).await?;
    let facts = case.facts(haven_core::calendar::london_date(state.staff.clock.now()));
    let CaseFile { referral, def, .. } = case;
    let request = TransitionRequest {
        to: form.to.clone(),
        decision: Some(form.decision.clone()).filter(|d| !d.is_empty()),
        reason: Some(form.reason.clone()).filter(|r| !r.trim().is_empty()),
        fields: closure_fields(&form),
    };
    let outcome = match workflow::attempt(
        &def,
        &referral.status,
        staff.role.as_str(),
        &request,
        &facts,
    ) {
        Ok(outcome) => outcome,
        Err(e) if e.kind() == RefusalKind::NotPermitted => return Err(StaffError::Forbidden),
        Err(e) => {
            let field = format!("transition-{}", e.field().unwrap_or("to"));
            return refuse(&state, &session, &referral, &def, &field, e.to_string()).await;
        }
    };
    let closure = match haven_core::casework::closure_choice(&def, &outcome.to, &request.fields) {
        Ok(closure) => closure,
        Err(problems) => {
            let (field, message) = problems.into_iter().next().unwrap_or_default();
            let field = format!("transition-{}", field.trim_start_matches("fields."));
            return refuse(&state, &session, &referral, &def, &field, message).await;
        }
    };
    let now = state.staff.clock.now();
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
    if moved.is_none() {
        let message =
            "The case changed while you were working on it; check it and try again".to_owned();
        return refuse(&state, &session, &referral, &def, "transition-to", message).await;
    }
    Ok(back_to(&referral, "next-steps"))
}

/// The form's closure outcome and closing summary as transition fields.
fn closure_fields(form: &CaseForm) -> serde_json::Map<String, serde_json::Value> {
    let mut fields = serde_json::Map::new();
    for (key, value) in [("outcome", &form.outcome), ("narrative", &form.narrative)] {
        if !value.trim().is_empty() {
            fields.insert(key.to_owned(), serde_json::Value::String(value.clone()));
        }
    }
    fields
}

/// `POST /staff/cases/{reference}/notes`.
pub async fn note(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    let (referral, def) = begin(&state, &session, &form, &reference, Action::AddNote).await?;
    let body = match text(&form.body, "note-body", "the note") {
        Ok(b) => b,
        Err((f, m)) => return refuse(&state, &session, &referral, &def, &f, m).await,
    };
    let now = state.staff.clock.now();
    state
        .storage
        .add_note(&referral.id, &session.staff().actor(), &body, now)
        .await?;
    Ok(back_to(&referral, "notes"))
}

/// `POST /staff/cases/{reference}/allocation`: a member of the case's team, or nobody.
pub async fn allocate(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    let (referral, def) = begin(&state, &session, &form, &reference, Action::Allocate).await?;
    let worker = form.worker.trim().to_ascii_lowercase();
    let worker = if worker.is_empty() {
        None
    } else {
        if !is_team_worker(&state.storage, &referral.team, &worker).await? {
            let message = "Choose a member of the case's team".to_owned();
            return refuse(&state, &session, &referral, &def, "worker", message).await;
        }
        Some(worker)
    };
    let now = state.staff.clock.now();
    let alert = crate::notify::allocation_alert(
        state.notify(),
        &def,
        &referral,
        worker.as_deref(),
        &session.staff().email,
    );
    state
        .storage
        .allocate(
            &referral.id,
            worker.as_deref(),
            &session.staff().actor(),
            now,
            alert.as_ref(),
        )
        .await?;
    Ok(back_to(&referral, "allocation"))
}

/// `POST /staff/cases/{reference}/messages`: a message the reporter reads on the
/// follow-up page (without the author's name).
pub async fn message(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    let (referral, def) =
        begin(&state, &session, &form, &reference, Action::MessageReporter).await?;
    let body = match text(&form.body, "message-body", "the message") {
        Ok(b) => b,
        Err((f, m)) => return refuse(&state, &session, &referral, &def, &f, m).await,
    };
    let now = state.staff.clock.now();
    state
        .storage
        .add_message(
            &referral.id,
            Direction::ToReporter,
            &session.staff().actor(),
            &body,
            now,
            None,
        )
        .await?;
    Ok(back_to(&referral, "messages"))
}

/// `POST /staff/cases/{reference}/actions/{key}`: marks a required action done, waived
/// (reason required) or open again.
pub async fn required_action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, key)): Path<(String, String)>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    let case = load_file(&state, &staff, &reference, Action::CompleteAction).await?;
    if !case.required_actions().iter().any(|a| a.key == key) {
        return Err(StaffError::NotFound);
    }
    let CaseFile { referral, def, .. } = case;
    let field = format!("action-{key}");
    let Some(status) = ActionStatus::parse(form.status.trim()) else {
        let message = "Choose done, waived or open".to_owned();
        return refuse(&state, &session, &referral, &def, &field, message).await;
    };
    let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
    if status == ActionStatus::Waived && reason.is_none() {
        let message = "Give a reason for waiving this action".to_owned();
        return refuse(&state, &session, &referral, &def, &field, message).await;
    }
    state
        .storage
        .record_action(&ActionChange {
            referral_id: &referral.id,
            key: &key,
            status,
            reason,
            actor: &staff.actor(),
            at: state.staff.clock.now(),
        })
        .await?;
    Ok(back_to(&referral, "required-actions"))
}
