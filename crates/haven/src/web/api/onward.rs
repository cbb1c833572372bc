//! Onward referrals of a case and their documents.
//!
//! - `GET  /api/v1/referrals/{reference}/onward-referrals`: the case's onward referrals and the
//!   kinds its service defines;
//! - `POST /api/v1/referrals/{reference}/onward-referrals`: record one (kind, recipient, lawful
//!   basis, consent sought or why not, date sent, notes); it marks the required action it
//!   fulfils done unless `mark_action_done` is false;
//! - `GET  /api/v1/referrals/{reference}/onward-referrals/{id}/documents/{format}`: the
//!   document (`pdf` or `docx`) from the kind's template, filled from the case with the
//!   recipient's exclusions applied. An export: audited, `Content-Disposition: attachment`.
//!
//! Validation and document making are shared with the staff pages (`web/staff/onward.rs`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use haven_core::calendar::london_date;
use haven_core::casework::{self, OnwardInput};
use haven_core::definition::OnwardReferralKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Staff;
use crate::documents::{self, FillInput, Format};
use crate::policy::Action;
use crate::storage::onward::{Export, NewExport, NewOnwardReferral, OnwardReferral};
use crate::web::AppState;
use crate::web::api::triage::{CaseFile, load_case};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, StaffAuth};

/// An onward referral to record.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OnwardRequest {
    /// One of the service's onward referral kinds (`vemt_referral`, `police_intelligence`, …).
    pub kind: String,
    /// Who it went to; the kind's default recipient when absent.
    #[serde(default)]
    pub recipient: Option<String>,
    /// Key of one of the kind's lawful bases.
    pub lawful_basis: String,
    /// Whether the young person's (or family's) consent was sought.
    pub consent_sought: Option<bool>,
    /// Why consent was not sought: required when `consent_sought` is false.
    #[serde(default)]
    pub consent_not_sought_reason: Option<String>,
    /// The date it was sent, `YYYY-MM-DD` (not in the future).
    pub sent_on: Option<String>,
    /// Notes (sealed; shown in the document's notes section).
    #[serde(default)]
    pub notes: Option<String>,
    /// Mark the required action this referral fulfils done (default true).
    #[serde(default)]
    pub mark_action_done: Option<bool>,
}

/// A checked request.
pub struct ValidOnward {
    pub kind: OnwardReferralKind,
    pub recipient: String,
    pub lawful_basis: String,
    pub consent_sought: bool,
    pub consent_reason: Option<String>,
    pub sent_on: NaiveDate,
    pub notes: Option<String>,
    /// The case's required action it fulfils (when the screening requires it).
    pub action_key: Option<String>,
    pub mark_action_done: bool,
}

/// Checks a request against the case's service definition
/// (`haven_core::casework::check_onward`); every problem by field.
pub fn validate(
    case: &CaseFile,
    request: &OnwardRequest,
    today: NaiveDate,
) -> Result<ValidOnward, Vec<(&'static str, String)>> {
    let input = OnwardInput {
        kind: &request.kind,
        recipient: request.recipient.as_deref(),
        lawful_basis: &request.lawful_basis,
        consent_sought: request.consent_sought,
        consent_not_sought_reason: request.consent_not_sought_reason.as_deref(),
        sent_on: request.sent_on.as_deref(),
        notes: request.notes.as_deref(),
    };
    let checked = casework::check_onward(&case.def, &input, today)?;
    let required = case.required_actions();
    let action_key = checked
        .kind
        .action
        .clone()
        .filter(|a| required.iter().any(|r| &r.key == a));
    Ok(ValidOnward {
        kind: checked.kind.clone(),
        recipient: checked.recipient,
        lawful_basis: checked.lawful_basis,
        consent_sought: checked.consent_sought,
        consent_reason: checked.consent_reason,
        sent_on: checked.sent_on,
        notes: checked.notes,
        action_key,
        mark_action_done: request.mark_action_done.unwrap_or(true),
    })
}

/// Records a checked onward referral by `staff`; its id.
pub async fn record(
    state: &AppState,
    staff: &Staff,
    case: &CaseFile,
    valid: &ValidOnward,
) -> Result<String, crate::storage::StorageError> {
    state
        .storage
        .record_onward_referral(&NewOnwardReferral {
            referral_id: &case.referral.id,
            kind: &valid.kind.key,
            action_key: valid.action_key.as_deref(),
            recipient: &valid.recipient,
            lawful_basis: &valid.lawful_basis,
            consent_sought: valid.consent_sought,
            consent_reason: valid.consent_reason.as_deref(),
            sent_on: valid.sent_on,
            notes: valid.notes.as_deref(),
            mark_action_done: valid.mark_action_done,
            actor: &staff.actor(),
            at: Utc::now(),
        })
        .await
}

/// `user:<id>` → email, for every staff account.
pub async fn people(
    state: &AppState,
) -> Result<HashMap<String, String>, crate::storage::StorageError> {
    Ok(state
        .storage
        .all_staff()
        .await?
        .into_iter()
        .map(|u| (format!("user:{}", u.id), u.email))
        .collect())
}

/// Why a document could not be made for a handler to answer.
pub enum DocumentFailure {
    /// No such onward referral on this case (or its kind is no longer defined).
    NotFound,
    Internal(String),
}

/// A generated document: file name and bytes.
pub struct MadeDocument {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub format: Format,
}

/// A document's download name: the reference and the kind key, ASCII letters, digits and
/// hyphens only.
fn document_file_name(reference: &str, kind: &str, format: Format) -> String {
    format!("{reference}-{}.{}", kind.replace('_', "-"), format.as_str())
}

/// Makes the document of onward referral `id` of the case in `format` (on a blocking
/// thread) and records the export (chronology + audit) before returning it.
pub async fn make_document(
    state: &AppState,
    staff: &Staff,
    case: &CaseFile,
    id: &str,
    format: Format,
) -> Result<MadeDocument, DocumentFailure> {
    let internal = |e: &dyn std::fmt::Display| DocumentFailure::Internal(e.to_string());
    let record = case
        .onward
        .iter()
        .find(|o| o.id == id)
        .ok_or(DocumentFailure::NotFound)?
        .clone();
    let kind = case
        .def
        .onward_kind(&record.kind)
        .cloned()
        .ok_or(DocumentFailure::NotFound)?;
    let template = state
        .registry
        .template(&case.def.id, &kind.key)
        .cloned()
        .ok_or(DocumentFailure::NotFound)?;
    let people = people(state).await.map_err(|e| internal(&e))?;
    let recorded_by = people
        .get(&record.actor)
        .cloned()
        .unwrap_or_else(|| record.actor.clone());
    let file_name = document_file_name(&case.referral.reference, &kind.key, format);
    let def = case.def.clone();
    let referral = case.referral.clone();
    let now = Utc::now();
    let bytes = tokio::task::spawn_blocking(move || {
        let document = documents::fill(&FillInput {
            def: &def,
            kind: &kind,
            template: &template,
            referral: &referral,
            recipient: &record.recipient,
            lawful_basis: &record.lawful_basis,
            consent_sought: record.consent_sought,
            consent_not_sought_reason: record.consent_reason.as_deref(),
            sent_on: record.sent_on,
            recorded_by: &recorded_by,
            notes: record.notes.as_deref(),
            today: now,
        })?;
        documents::render(&document, format)
    })
    .await
    .map_err(|e| internal(&e))?
    .map_err(|e| internal(&e))?;
    state
        .storage
        .record_document_export(
            &NewExport {
                referral_id: &case.referral.id,
                onward_referral_id: id,
                format: format.as_str(),
                content: &bytes,
            },
            &staff.actor(),
            now,
        )
        .await
        .map_err(|e| internal(&e))?;
    Ok(MadeDocument {
        file_name,
        bytes,
        format,
    })
}

/// A download response: attachment, never cached, never sniffed.
pub fn download(document: MadeDocument) -> Response {
    let mut response = (StatusCode::OK, document.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(document.format.content_type()),
    );
    // The file name is the reference and the kind key: ASCII letters, digits and hyphens.
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", document.file_name))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    } else {
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// One onward referral as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct OnwardView {
    pub id: String,
    pub kind: String,
    pub label: String,
    /// The required action it fulfils, if the screening requires one.
    pub action: Option<String>,
    pub recipient: String,
    pub recipient_kind: Option<String>,
    pub lawful_basis: String,
    pub lawful_basis_label: Option<String>,
    pub consent_sought: bool,
    pub consent_not_sought_reason: Option<String>,
    /// `YYYY-MM-DD`.
    pub sent_on: String,
    /// Email of whoever recorded it.
    pub recorded_by: String,
    pub notes: Option<String>,
    /// RFC 3339.
    pub recorded_at: String,
    /// Where to download its document as `pdf` and `docx` (made afresh from the case).
    pub documents: DocumentLinks,
    /// Every file handed over so far, oldest first: each download is kept as it went out.
    pub exports: Vec<ExportView>,
}

/// A file handed over for an onward referral.
#[derive(Serialize, ToSchema)]
pub struct ExportView {
    pub id: String,
    /// `pdf` or `docx`.
    pub format: String,
    /// Hex SHA-256 of the file (also in the audit log).
    pub sha256: String,
    /// Email of whoever downloaded it.
    pub taken_by: String,
    /// RFC 3339.
    pub taken_at: String,
    /// Where to download the same bytes again (audited).
    pub download: String,
}

/// Download links of one onward referral's document.
#[derive(Serialize, ToSchema)]
pub struct DocumentLinks {
    pub pdf: String,
    pub docx: String,
}

/// An onward referral kind the service defines.
#[derive(Serialize, ToSchema)]
pub struct OnwardKindView {
    pub key: String,
    pub label: String,
    pub action: Option<String>,
    pub recipient: String,
    pub recipient_kind: String,
    pub referrer_identity: bool,
    pub third_party: bool,
    pub lawful_bases: Vec<LawfulBasisView>,
}

#[derive(Serialize, ToSchema)]
pub struct LawfulBasisView {
    pub key: String,
    pub label: String,
}

/// The case's onward referrals and the kinds its service defines.
#[derive(Serialize, ToSchema)]
pub struct OnwardList {
    pub onward_referrals: Vec<OnwardView>,
    pub kinds: Vec<OnwardKindView>,
}

pub fn view(
    case: &CaseFile,
    record: &OnwardReferral,
    exports: &[Export],
    people: &HashMap<String, String>,
) -> OnwardView {
    let kind = case.def.onward_kind(&record.kind);
    let base = format!(
        "/api/v1/referrals/{}/onward-referrals/{}/documents",
        case.referral.reference, record.id
    );
    OnwardView {
        id: record.id.clone(),
        kind: record.kind.clone(),
        label: kind.map_or_else(|| record.kind.clone(), |k| k.label.clone()),
        action: record.action_key.clone(),
        recipient: record.recipient.clone(),
        recipient_kind: kind.map(|k| k.recipient_kind.clone()),
        lawful_basis: record.lawful_basis.clone(),
        lawful_basis_label: kind
            .and_then(|k| k.lawful_basis(&record.lawful_basis))
            .map(|b| b.label.clone()),
        consent_sought: record.consent_sought,
        consent_not_sought_reason: record.consent_reason.clone(),
        sent_on: record.sent_on.format("%Y-%m-%d").to_string(),
        recorded_by: people
            .get(&record.actor)
            .cloned()
            .unwrap_or_else(|| record.actor.clone()),
        notes: record.notes.clone(),
        recorded_at: crate::storage::timestamp(record.created_at),
        documents: DocumentLinks {
            pdf: format!("{base}/pdf"),
            docx: format!("{base}/docx"),
        },
        exports: exports
            .iter()
            .filter(|e| e.onward_referral_id == record.id)
            .map(|e| ExportView {
                id: e.id.clone(),
                format: e.format.clone(),
                sha256: e.sha256.clone(),
                taken_by: people
                    .get(&e.created_by)
                    .cloned()
                    .unwrap_or_else(|| e.created_by.clone()),
                taken_at: crate::storage::timestamp(e.created_at),
                download: format!(
                    "/api/v1/referrals/{}/onward-referrals/{}/exports/{}",
                    case.referral.reference, record.id, e.id
                ),
            })
            .collect(),
    }
}

fn list_of(case: &CaseFile, exports: &[Export], people: &HashMap<String, String>) -> OnwardList {
    OnwardList {
        onward_referrals: case
            .onward
            .iter()
            .map(|o| view(case, o, exports, people))
            .collect(),
        kinds: case
            .def
            .onward_referrals
            .iter()
            .map(|k| OnwardKindView {
                key: k.key.clone(),
                label: k.label.clone(),
                action: k.action.clone(),
                recipient: k.recipient.clone(),
                recipient_kind: k.recipient_kind.clone(),
                referrer_identity: k.referrer_identity,
                third_party: k.third_party,
                lawful_bases: k
                    .lawful_bases
                    .iter()
                    .map(|b| LawfulBasisView {
                        key: b.key.clone(),
                        label: b.label.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The case's onward referrals (anyone who may view the case).
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}/onward-referrals",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case's onward referrals and the kinds its service defines", body = OnwardList),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
) -> Result<Json<OnwardList>, ApiError> {
    let case = load_case(&state, &staff, &reference, Action::ViewCase).await?;
    let entry = crate::storage::audit::AuditEntry::new(
        Utc::now(),
        staff.actor(),
        "referral.onward_referrals_viewed",
        "referral",
        &case.referral.id,
    );
    state.storage.append_audit(&entry).await?;
    let people = people(&state).await?;
    let exports = state.storage.onward_exports(&case.referral.id).await?;
    Ok(Json(list_of(&case, &exports, &people)))
}

/// Records an onward referral (triage, caseworkers, managers of the team).
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{reference}/onward-referrals",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    request_body = OnwardRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded; the required action it fulfils is marked done unless `mark_action_done` is false", body = OnwardView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not record onward referrals", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody),
        (status = 422, description = "Each bad field named: `kind`, `recipient`, `lawful_basis`, `consent_sought`, `consent_not_sought_reason`, `sent_on`, `notes`", body = ErrorBody)
    )
)]
pub async fn create(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<OnwardRequest>,
) -> Result<(StatusCode, Json<OnwardView>), ApiError> {
    let case = load_case(&state, &staff, &reference, Action::RecordOnwardReferral).await?;
    let valid =
        validate(&case, &request, london_date(Utc::now())).map_err(ApiError::unprocessable)?;
    let id = record(&state, &staff, &case, &valid).await?;
    let updated = load_case(&state, &staff, &reference, Action::ViewCase).await?;
    let people = people(&state).await?;
    let record = updated
        .onward
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| ApiError::internal("recorded onward referral not found"))?;
    Ok((
        StatusCode::CREATED,
        Json(view(&updated, record, &[], &people)),
    ))
}

/// The document of an onward referral, as `pdf` or `docx` (an export: audited).
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}/onward-referrals/{id}/documents/{format}",
    tag = "referrals",
    params(
        ("reference" = String, Path, description = "Case reference"),
        ("id" = String, Path, description = "Onward referral id"),
        ("format" = String, Path, description = "`pdf` or `docx`")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document, as an attachment (`application/pdf` or the Word media type)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not export documents", body = ErrorBody),
        (status = 404, description = "No such referral or onward referral for this user, or an unknown format", body = ErrorBody)
    )
)]
pub async fn document(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path((reference, id, format)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let case = load_case(&state, &staff, &reference, Action::ExportDocument).await?;
    let format = Format::parse(&format).ok_or_else(ApiError::not_found)?;
    match make_document(&state, &staff, &case, &id, format).await {
        Ok(made) => Ok(download(made)),
        Err(DocumentFailure::NotFound) => Err(ApiError::not_found()),
        Err(DocumentFailure::Internal(e)) => Err(ApiError::internal(e)),
    }
}

/// A file handed over before, byte for byte as it went out (reading it again is an export
/// too: audited, in the chronology).
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}/onward-referrals/{id}/exports/{export_id}",
    tag = "referrals",
    params(
        ("reference" = String, Path, description = "Case reference"),
        ("id" = String, Path, description = "Onward referral id"),
        ("export_id" = String, Path, description = "The export's id (from `exports` of the onward referral)")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file, as an attachment", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not export documents", body = ErrorBody),
        (status = 404, description = "No such referral, onward referral or export for this user", body = ErrorBody)
    )
)]
pub async fn export_copy(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path((reference, id, export_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let case = load_case(&state, &staff, &reference, Action::ExportDocument).await?;
    let copy = stored_copy(&state, &staff, &case, &id, &export_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(download(copy))
}

/// The stored file `export_id` of onward referral `id` of the case, recorded as taken again.
pub async fn stored_copy(
    state: &AppState,
    staff: &Staff,
    case: &CaseFile,
    id: &str,
    export_id: &str,
) -> Result<Option<MadeDocument>, crate::storage::StorageError> {
    let Some(record) = case.onward.iter().find(|o| o.id == id) else {
        return Ok(None);
    };
    let taken = state
        .storage
        .take_export_copy(&case.referral.id, id, export_id, &staff.actor(), Utc::now())
        .await?;
    let Some((export, content)) = taken else {
        return Ok(None);
    };
    let Some(format) = Format::parse(&export.format) else {
        return Ok(None);
    };
    Ok(Some(MadeDocument {
        file_name: document_file_name(&case.referral.reference, &record.kind, format),
        bytes: content.to_vec(),
        format,
    }))
}
