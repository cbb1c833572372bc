//! The case file's onward referrals: the form that records one
//! (`POST /staff/cases/{reference}/onward-referrals`) and the document downloads
//! (`GET /staff/cases/{reference}/onward-referrals/{id}/documents/{pdf|docx}`, an export:
//! audited, attachment, never cached). Validation and documents are the API's
//! (`web/api/onward.rs`).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::calendar::london_date;
use serde::Deserialize;
use serde_json::{Value, json};

use super::case::{case_page, load_file};
use super::error::StaffError;
use super::session::SignedIn;
use crate::documents::Format;
use crate::policy::Action;
use crate::web::AppState;
use crate::web::api::onward::{
    DocumentFailure, OnwardRequest, download, make_document, people, record, stored_copy, validate,
};
use crate::web::api::triage::CaseFile;

/// The onward referral form's fields.
#[derive(Deserialize, Default)]
pub struct OnwardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    lawful_basis: String,
    /// `yes` or `no`.
    #[serde(default)]
    consent_sought: String,
    #[serde(default)]
    consent_not_sought_reason: String,
    #[serde(default)]
    sent_day: String,
    #[serde(default)]
    sent_month: String,
    #[serde(default)]
    sent_year: String,
    #[serde(default)]
    notes: String,
    /// A checkbox: present (`yes`) when ticked.
    #[serde(default)]
    mark_action_done: String,
}

/// The date from the three GOV.UK date inputs as `YYYY-MM-DD` (None when any is empty;
/// anything else is left for the date check to refuse).
fn date_text(form: &OnwardForm) -> Option<String> {
    let (d, m, y) = (
        form.sent_day.trim(),
        form.sent_month.trim(),
        form.sent_year.trim(),
    );
    if d.is_empty() || m.is_empty() || y.is_empty() {
        return None;
    }
    Some(format!("{y:0>4}-{m:0>2}-{d:0>2}"))
}

/// `POST /staff/cases/{reference}/onward-referrals`.
pub async fn create(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<OnwardForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    let case = load_file(&state, &staff, &reference, Action::RecordOnwardReferral).await?;
    let request = OnwardRequest {
        kind: form.kind.clone(),
        recipient: Some(form.recipient.clone()),
        lawful_basis: form.lawful_basis.clone(),
        consent_sought: match form.consent_sought.trim() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        consent_not_sought_reason: Some(form.consent_not_sought_reason.clone()),
        sent_on: date_text(&form),
        notes: Some(form.notes.clone()),
        mark_action_done: Some(form.mark_action_done.trim() == "yes"),
    };
    let today = london_date(state.staff.clock.now());
    let valid = match validate(&case, &request, today) {
        Ok(valid) => valid,
        Err(errors) => {
            let kind = case
                .def
                .onward_kind(form.kind.trim())
                .map(|k| k.key.clone());
            let errors: Vec<(String, String)> = errors
                .into_iter()
                .map(|(field, message)| {
                    let id = match &kind {
                        Some(k) => format!("onward-{k}-{}", field.replace('_', "-")),
                        None => "onward".to_owned(),
                    };
                    (id, message)
                })
                .collect();
            return refuse(&state, &session, case, &errors).await;
        }
    };
    record(&state, &staff, &case, &valid).await?;
    Ok(Redirect::to(&format!(
        "/staff/cases/{}#onward-referrals",
        case.referral.reference
    ))
    .into_response())
}

async fn refuse(
    state: &AppState,
    session: &super::session::CurrentSession,
    case: CaseFile,
    errors: &[(String, String)],
) -> Result<Response, StaffError> {
    let entry = crate::storage::audit::AuditEntry::new(
        state.staff.clock.now(),
        session.staff().actor(),
        "referral.viewed",
        "referral",
        &case.referral.id,
    );
    state.storage.append_audit(&entry).await?;
    let borrowed: Vec<(&str, String)> = errors
        .iter()
        .map(|(f, m)| (f.as_str(), m.clone()))
        .collect();
    case_page(
        state,
        session,
        &case.referral,
        &case.def,
        &borrowed,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `GET /staff/cases/{reference}/onward-referrals/{id}/documents/{format}`.
pub async fn document(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, id, format)): Path<(String, String, String)>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let case = load_file(&state, &staff, &reference, Action::ExportDocument).await?;
    let format = Format::parse(&format).ok_or(StaffError::NotFound)?;
    match make_document(&state, &staff, &case, &id, format).await {
        Ok(made) => Ok(download(made)),
        Err(DocumentFailure::NotFound) => Err(StaffError::NotFound),
        Err(DocumentFailure::Internal(e)) => Err(StaffError::Internal(e)),
    }
}

/// `GET /staff/cases/{reference}/onward-referrals/{id}/exports/{export_id}`: a file handed
/// over before, byte for byte.
pub async fn export_copy(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, id, export_id)): Path<(String, String, String)>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let case = load_file(&state, &staff, &reference, Action::ExportDocument).await?;
    let copy = stored_copy(&state, &staff, &case, &id, &export_id)
        .await?
        .ok_or(StaffError::NotFound)?;
    Ok(download(copy))
}

/// The case page's "Onward referrals" section.
pub async fn section(
    state: &AppState,
    case: &CaseFile,
    may_record: bool,
    may_export: bool,
    today: chrono::NaiveDate,
) -> Result<Value, StaffError> {
    let people = people(state).await?;
    let exports = state.storage.onward_exports(&case.referral.id).await?;
    let required = case.required_actions();
    let reference = &case.referral.reference;
    let records: Vec<Value> = case
        .onward
        .iter()
        .map(|o| {
            let kind = case.def.onward_kind(&o.kind);
            json!({
                "id": o.id,
                "label": kind.map_or(o.kind.as_str(), |k| k.label.as_str()),
                "recipient": o.recipient,
                "lawful_basis": kind.and_then(|k| k.lawful_basis(&o.lawful_basis)).map_or(o.lawful_basis.as_str(), |b| b.label.as_str()),
                "consent": if o.consent_sought { "Yes".to_owned() } else { format!("No: {}", o.consent_reason.as_deref().unwrap_or_default()) },
                "sent_on": o.sent_on.format("%-d %B %Y").to_string(),
                "by": people.get(&o.actor).cloned().unwrap_or_else(|| o.actor.clone()),
                "notes": o.notes,
                "pdf": format!("/staff/cases/{reference}/onward-referrals/{}/documents/pdf", o.id),
                "docx": format!("/staff/cases/{reference}/onward-referrals/{}/documents/docx", o.id),
                "exports": exports.iter().filter(|e| e.onward_referral_id == o.id).map(|e| json!({
                    "href": format!("/staff/cases/{reference}/onward-referrals/{}/exports/{}", o.id, e.id),
                    "format": if e.format == "pdf" { "PDF" } else { "Word" },
                    "sha256": e.sha256.get(..16).unwrap_or(&e.sha256),
                    "by": people.get(&e.created_by).cloned().unwrap_or_else(|| e.created_by.clone()),
                    "at": e.created_at.with_timezone(&chrono_tz::Europe::London).format("%-d %B %Y, %H:%M").to_string(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let kinds: Vec<Value> = case
        .def
        .onward_referrals
        .iter()
        .map(|k| {
            let required_action = k
                .action
                .as_ref()
                .and_then(|a| required.iter().find(|r| &r.key == a));
            json!({
                "key": k.key,
                "label": k.label,
                "recipient": k.recipient,
                "referrer_identity": k.referrer_identity,
                "third_party": k.third_party,
                "lawful_bases": k.lawful_bases.iter().map(|b| json!({"key": b.key, "label": b.label})).collect::<Vec<_>>(),
                "required": required_action.is_some(),
                "action_status": required_action.map(|r| r.status.clone()),
            })
        })
        .collect();
    Ok(json!({
        "records": records,
        "kinds": kinds,
        "may_record": may_record,
        "may_export": may_export,
        "today": { "day": today.format("%-d").to_string(), "month": today.format("%-m").to_string(), "year": today.format("%Y").to_string() },
    }))
}
