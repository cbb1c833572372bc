//! The case file's forms: band confirmation or override, workflow steps, notes, allocation
//! and messages to the reporter. Each checks the CSRF token, then the policy (through
//! [`super::case::load`]), then its input; a refused input re-renders the case with the
//! error (422); success redirects back to the case (303).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::workflow::TransitionRequest;
use serde::Deserialize;

use super::case::{case_page, load};
use super::error::StaffError;
use super::session::{CurrentSession, SignedIn};
use crate::cases::CaseError;
use crate::policy::Action;
use crate::storage::referrals::Referral;
use crate::web::AppState;

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

fn back_to(reference: &str, anchor: &str) -> Response {
    Redirect::to(&format!("/staff/cases/{reference}#{anchor}")).into_response()
}

/// The answer to a case form: back to the case's `anchor` when the operation was done; the
/// case again with the form's errors (422) when the input was refused, each field named by
/// the form's id (`field_id` maps the operation's field names); any other refusal as the
/// error page.
async fn answer<T>(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
    result: Result<T, CaseError>,
    anchor: &str,
    field_id: impl Fn(&str) -> String,
) -> Result<Response, StaffError> {
    let problems = match result {
        Ok(_) => return Ok(back_to(&reference.trim().to_ascii_uppercase(), anchor)),
        Err(CaseError::Invalid(fields)) => fields
            .into_iter()
            .map(|f| (field_id(&f.field), f.message))
            .collect::<Vec<_>>(),
        Err(CaseError::Conflict { message, .. }) => vec![(field_id("to"), message)],
        Err(other) => return Err(other.into()),
    };
    let staff = session.staff();
    // The page shows the case again: that is a view like any other.
    let (referral, def) = load(state, &staff, reference, Action::ViewCase).await?;
    refuse(state, session, &referral, &def, &problems).await
}

async fn refuse(
    state: &AppState,
    session: &CurrentSession,
    referral: &Referral,
    def: &haven_core::definition::ServiceDefinition,
    problems: &[(String, String)],
) -> Result<Response, StaffError> {
    let entry = crate::storage::audit::AuditEntry::new(
        state.now(),
        session.staff().actor(),
        "referral.viewed",
        "referral",
        &referral.id,
    );
    state.storage.append_audit(&entry).await?;
    let problems: Vec<(&str, String)> = problems
        .iter()
        .map(|(f, m)| (f.as_str(), m.clone()))
        .collect();
    case_page(
        state,
        session,
        referral,
        def,
        &problems,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
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
    let result = state
        .cases()
        .confirm_band(
            &session.staff(),
            &reference,
            &form.band,
            &form.reason,
            state.now(),
        )
        .await;
    answer(&state, &session, &reference, result, "screening", |f| {
        match f {
            "reason" => "band-reason",
            _ => "band",
        }
        .to_owned()
    })
    .await
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
    let request = TransitionRequest {
        to: form.to.clone(),
        decision: Some(form.decision.clone()).filter(|d| !d.is_empty()),
        reason: Some(form.reason.clone()).filter(|r| !r.trim().is_empty()),
        fields: closure_fields(&form),
    };
    let result = state
        .cases()
        .transition(&session.staff(), &reference, request, state.now())
        .await;
    answer(&state, &session, &reference, result, "next-steps", |f| {
        format!("transition-{}", f.trim_start_matches("fields."))
    })
    .await
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
    session.check_csrf(&form.csrf)?;
    let result = state
        .cases()
        .add_note(&session.staff(), &reference, &form.body, state.now())
        .await;
    answer(&state, &session, &reference, result, "notes", |_| {
        "note-body".to_owned()
    })
    .await
}

/// `POST /staff/cases/{reference}/allocation`: a member of the case's team, or nobody.
pub async fn allocate(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let worker = Some(form.worker.trim()).filter(|w| !w.is_empty());
    let result = state
        .cases()
        .allocate(&session.staff(), &reference, worker, state.now())
        .await;
    answer(&state, &session, &reference, result, "allocation", |_| {
        "worker".to_owned()
    })
    .await
}

/// `POST /staff/cases/{reference}/messages`: a message the reporter reads on the
/// follow-up page (without the author's name).
pub async fn message(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let result = state
        .cases()
        .message_reporter(&session.staff(), &reference, &form.body, state.now())
        .await;
    answer(&state, &session, &reference, result, "messages", |_| {
        "message-body".to_owned()
    })
    .await
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
    let result = state
        .cases()
        .record_action(
            &session.staff(),
            &reference,
            &key,
            &form.status,
            Some(form.reason.as_str()),
            state.now(),
        )
        .await;
    let field = format!("action-{key}");
    answer(
        &state,
        &session,
        &reference,
        result,
        "required-actions",
        |_| field.clone(),
    )
    .await
}
