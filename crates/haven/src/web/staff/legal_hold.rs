//! A case's legal hold (issue 17): `GET /staff/cases/{reference}/legal-hold` shows it and
//! the form, `POST` places it (or changes its reason), `POST …/legal-hold/lift` lifts it.
//! The operations are `cases::retention` (`Cases::place_legal_hold`, `lift_legal_hold`).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::case::{frame, load_file, when};
use super::error::StaffError;
use super::render::page;
use super::session::{CurrentSession, SignedIn};
use crate::cases::CaseError;
use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::web::AppState;

/// The hold form.
#[derive(Debug, Default, Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn show(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
    errors: &[(String, String)],
    entered: &str,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let case = load_file(state, &staff, reference, Action::LegalHold).await?;
    let view = state.cases().legal_hold(&staff, reference).await?;
    let entry = AuditEntry::new(
        state.now(),
        staff.actor(),
        "referral.viewed",
        "referral",
        &case.referral.id,
    );
    state.storage.append_audit(&entry).await?;
    let mut context = frame(state, session, &case, None).await?;
    let hold = view
        .hold
        .map(|h| json!({ "reason": h.reason, "placed_at": when(h.placed_at) }));
    let title = format!("Legal hold – case {}", view.reference);
    context.insert("title".to_owned(), json!(title));
    context.insert("hold".to_owned(), json!(hold));
    context.insert("entered".to_owned(), json!(entered));
    context.insert(
        "errors".to_owned(),
        json!(
            errors
                .iter()
                .map(|(field, text)| json!({ "field": field, "text": text }))
                .collect::<Vec<_>>()
        ),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(page(status, "legal_hold.html", Value::Object(context)))
}

/// `GET /staff/cases/{reference}/legal-hold`.
pub async fn form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, StaffError> {
    show(&state, &session, &reference, &[], "").await
}

/// `POST /staff/cases/{reference}/legal-hold`: place the hold, or change its reason.
pub async fn place(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<HoldForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let result = state
        .cases()
        .place_legal_hold(&session.staff(), &reference, &form.reason, state.now())
        .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/staff/cases/{}/legal-hold",
            reference.trim().to_ascii_uppercase()
        ))
        .into_response()),
        Err(CaseError::Invalid(fields)) => {
            let errors: Vec<(String, String)> = fields
                .into_iter()
                .map(|f| ("hold-reason".to_owned(), f.message))
                .collect();
            show(&state, &session, &reference, &errors, &form.reason).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /staff/cases/{reference}/legal-hold/lift`.
pub async fn lift(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<HoldForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    match state
        .cases()
        .lift_legal_hold(&session.staff(), &reference, state.now())
        .await
    {
        // Lifted, or already lifted by someone else: the page says which it is now.
        Ok(()) | Err(CaseError::Conflict { .. }) => Ok(Redirect::to(&format!(
            "/staff/cases/{}/legal-hold",
            reference.trim().to_ascii_uppercase()
        ))
        .into_response()),
        Err(other) => Err(other.into()),
    }
}
