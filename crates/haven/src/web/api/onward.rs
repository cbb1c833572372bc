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
//! Validation, recording and document making are `cases::onward`, shared with the staff
//! pages (`web/staff/onward.rs`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use crate::cases::CaseFile;
pub use crate::cases::onward::OnwardRequest;
use crate::cases::onward::people;
use crate::documents::Format;
use crate::policy::Action;
use crate::storage::onward::{Export, OnwardReferral};
use crate::web::AppState;
use crate::web::download::download;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{ApiJson, StaffAuth};

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
    let now = state.now();
    let case = state
        .cases()
        .open(&staff, &reference, Action::ViewCase, now)
        .await?;
    let entry = crate::storage::audit::AuditEntry::new(
        now,
        staff.actor(),
        "referral.onward_referrals_viewed",
        "referral",
        &case.referral.id,
    );
    state.storage.append_audit(&entry).await?;
    let people = people(&state.storage).await?;
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
    let (updated, id) = state
        .cases()
        .record_onward(&staff, &reference, &request, state.now())
        .await?;
    let people = people(&state.storage).await?;
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
    let format = Format::parse(&format).ok_or_else(ApiError::not_found)?;
    let made = state
        .cases()
        .onward_document(&staff, &reference, &id, format, state.now())
        .await?;
    Ok(download(made))
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
    let copy = state
        .cases()
        .onward_export_copy(&staff, &reference, &id, &export_id, state.now())
        .await?;
    Ok(download(copy))
}
