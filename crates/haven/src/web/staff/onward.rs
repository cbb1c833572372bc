//! The case file's onward referrals: the form that records one
//! (`POST /staff/cases/{reference}/onward-referrals`) and the document downloads
//! (`GET /staff/cases/{reference}/onward-referrals/{id}/documents/{pdf|docx}`, an export:
//! audited, attachment, never cached). Validation, recording and documents are
//! `cases::onward`, the same operations the API calls.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::case::{case_page, load};
use super::error::StaffError;
use super::session::SignedIn;
use crate::cases::onward::{OnwardRequest, people};
use crate::cases::{CaseError, CaseFile};
use crate::documents::Format;
use crate::policy::Action;
use crate::storage::referrals::Referral;
use crate::web::AppState;
use crate::web::download::download;

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
    let fields = match state
        .cases()
        .record_onward(&staff, &reference, &request, state.now())
        .await
    {
        Ok((case, _id)) => {
            return Ok(Redirect::to(&format!(
                "/staff/cases/{}#onward-referrals",
                case.referral.reference
            ))
            .into_response());
        }
        Err(CaseError::Invalid(fields)) => fields,
        Err(other) => return Err(other.into()),
    };
    let (referral, def) = load(&state, &staff, &reference, Action::ViewCase).await?;
    let kind = def.onward_kind(form.kind.trim()).map(|k| k.key.clone());
    let errors: Vec<(String, String)> = fields
        .into_iter()
        .map(|f| {
            let id = match &kind {
                Some(k) => format!("onward-{k}-{}", f.field.replace('_', "-")),
                None => "onward".to_owned(),
            };
            (id, f.message)
        })
        .collect();
    refuse(&state, &session, &referral, &def, &errors).await
}

async fn refuse(
    state: &AppState,
    session: &super::session::CurrentSession,
    referral: &Referral,
    def: &haven_core::definition::ServiceDefinition,
    errors: &[(String, String)],
) -> Result<Response, StaffError> {
    let entry = crate::storage::audit::AuditEntry::new(
        state.now(),
        session.staff().actor(),
        "referral.viewed",
        "referral",
        &referral.id,
    );
    state.storage.append_audit(&entry).await?;
    let borrowed: Vec<(&str, String)> = errors
        .iter()
        .map(|(f, m)| (f.as_str(), m.clone()))
        .collect();
    case_page(
        state,
        session,
        referral,
        def,
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
    let format = Format::parse(&format).ok_or(StaffError::NotFound)?;
    let made = state
        .cases()
        .onward_document(&session.staff(), &reference, &id, format, state.now())
        .await?;
    Ok(download(made))
}

/// `GET /staff/cases/{reference}/onward-referrals/{id}/exports/{export_id}`: a file handed
/// over before, byte for byte.
pub async fn export_copy(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, id, export_id)): Path<(String, String, String)>,
) -> Result<Response, StaffError> {
    let copy = state
        .cases()
        .onward_export_copy(&session.staff(), &reference, &id, &export_id, state.now())
        .await?;
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
    let people = people(&state.storage).await?;
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
