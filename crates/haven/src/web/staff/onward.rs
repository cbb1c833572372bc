//! The case file's onward referrals: the form that records one of a kind
//! (`GET /staff/cases/{reference}/onward-referrals/new/{kind}`, posted to
//! `POST /staff/cases/{reference}/onward-referrals`; the list is the case's "Onward
//! referrals" page, `case.rs`) and the document downloads
//! (`GET /staff/cases/{reference}/onward-referrals/{id}/documents/{pdf|docx}`, an export:
//! audited, attachment, never cached). Validation, recording and documents are
//! `cases::onward`, the same operations the API calls.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::case::{frame, load_file};
use super::error::StaffError;
use super::render::page;
use super::session::{CurrentSession, SignedIn};
use crate::cases::onward::{OnwardRequest, people};
use crate::cases::{CaseError, CaseFile};
use crate::documents::Format;
use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::web::AppState;
use crate::web::download::download;

/// The onward referral form's fields.
#[derive(Deserialize, Serialize, Default)]
pub struct OnwardForm {
    #[serde(default, skip_serializing)]
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
        Ok((case, id)) => {
            return Ok(Redirect::to(&format!(
                "/staff/cases/{}/onward-referrals#onward-{id}",
                case.referral.reference
            ))
            .into_response());
        }
        Err(CaseError::Invalid(fields)) => fields,
        Err(other) => return Err(other.into()),
    };
    let errors: Vec<(String, String)> = fields
        .into_iter()
        .map(|f| {
            let id = match f.field.as_str() {
                "kind" => "onward".to_owned(),
                field => format!("onward-{}", field.replace('_', "-")),
            };
            (id, f.message)
        })
        .collect();
    let kind = form.kind.trim().to_owned();
    form_page(&state, &session, &reference, &kind, &errors, &form).await
}

/// `GET /staff/cases/{reference}/onward-referrals/new/{kind}`: the form recording one
/// onward referral of `kind`.
pub async fn new_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, kind)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    form_page(
        &state,
        &session,
        &reference,
        &kind,
        &[],
        &OnwardForm::default(),
    )
    .await
}

/// The form for an onward referral of `kind` under the case's identity bar, with `errors`
/// (422) and what was `entered`; 404 for a kind the service does not have.
async fn form_page(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
    kind: &str,
    errors: &[(String, String)],
    entered: &OnwardForm,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let case = load_file(state, &staff, reference, Action::RecordOnwardReferral).await?;
    let entry = AuditEntry::new(
        state.now(),
        staff.actor(),
        "referral.viewed",
        "referral",
        &case.referral.id,
    );
    state.storage.append_audit(&entry).await?;
    let section = section(state, &case, true, false, case.today).await?;
    let chosen = section
        .get("kinds")
        .and_then(Value::as_array)
        .and_then(|kinds| {
            kinds
                .iter()
                .find(|k| k.get("key").and_then(Value::as_str) == Some(kind))
        })
        .cloned();
    // A kind the service does not have: 404, or the refusal of a post that named one.
    if chosen.is_none() && errors.is_empty() {
        return Err(StaffError::NotFound);
    }
    let chosen = chosen.unwrap_or(Value::Null);
    let label = chosen
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or("an onward referral")
        .to_owned();
    let mut context = frame(state, session, &case, None).await?;
    let fresh = entered.kind.is_empty();
    let today = section.get("today").cloned().unwrap_or(Value::Null);
    context.insert(
        "title".to_owned(),
        json!(format!(
            "Record: {label} – case {}",
            case.referral.reference
        )),
    );
    context.insert("heading".to_owned(), json!(format!("Record: {label}")));
    context.insert("k".to_owned(), chosen);
    context.insert(
        "entered".to_owned(),
        if fresh {
            json!({
                "recipient": null, "sent_day": today.get("day"), "sent_month": today.get("month"),
                "sent_year": today.get("year"), "mark_action_done": "yes",
            })
        } else {
            json!(entered)
        },
    );
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
    Ok(page(status, "onward_form.html", Value::Object(context)))
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
                "recipient_kind": kind.map(|k| k.recipient_kind_words()),
                "shared": crate::cases::sharing::shared_words(&state.registry, &case.def, &o.kind),
                "pdf": format!("/staff/cases/{reference}/onward-referrals/{}/documents/pdf", o.id),
                "docx": format!("/staff/cases/{reference}/onward-referrals/{}/documents/docx", o.id),
                "exports": exports.iter().filter(|e| e.onward_referral_id == o.id).map(|e| json!({
                    "href": format!("/staff/cases/{reference}/onward-referrals/{}/exports/{}", o.id, e.id),
                    "format": if e.format == "pdf" { "PDF" } else { "Word" },
                    "file_name": crate::cases::sharing::file_name(reference, &o.kind, &e.format),
                    "sha256": e.sha256,
                    "sha256_short": e.sha256.get(..12).unwrap_or(&e.sha256),
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
