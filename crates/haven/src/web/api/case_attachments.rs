//! A case's attached files (every stage): the list and one file's download. The operations
//! are `cases::attachments`; a third-party question's file needs `view_third_party`, every
//! download is audited (`case.exported`, `attachment:<question>`).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use crate::cases::attachments::{self, AttachmentSummary};
use crate::policy::Action;
use crate::web::AppState;
use crate::web::download;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::StaffAuth;

/// The files of a case this user may open.
#[derive(Serialize, ToSchema)]
pub struct AttachmentList {
    pub attachments: Vec<AttachmentSummary>,
}

/// The case's attached files, at every stage (third-party ones only for roles that see
/// third-party information).
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}/attachments",
    tag = "referrals",
    params(("reference" = String, Path, description = "Case reference")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The files, in the order received", body = AttachmentList),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not open cases", body = ErrorBody),
        (status = 404, description = "No such referral for this user", body = ErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path(reference): Path<String>,
) -> Result<Json<AttachmentList>, ApiError> {
    let cases = state.cases();
    let (referral, _) = cases.find(&staff, &reference, Action::ViewCase).await?;
    Ok(Json(AttachmentList {
        attachments: attachments::list(&cases, &referral, &staff).await?,
    }))
}

/// One attached file, as a download (an export: audited). Never rendered inline: HTML, SVG
/// and other types a browser would render are sent as `application/octet-stream`.
#[utoipa::path(
    get,
    path = "/api/v1/referrals/{reference}/attachments/{attachment_id}",
    tag = "referrals",
    params(
        ("reference" = String, Path, description = "Case reference"),
        ("attachment_id" = String, Path, description = "The attachment's id (`att_…`, from the list)")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file, as an attachment, with the type sniffed from its content when received", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 403, description = "This role may not open the case, or the file answers a third-party question and this role may not see third-party information", body = ErrorBody),
        (status = 404, description = "No such referral for this user, or no such file on it", body = ErrorBody)
    )
)]
pub async fn download(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Path((reference, attachment_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let file = attachments::download(
        &state.cases(),
        &staff,
        &reference,
        &attachment_id,
        state.now(),
    )
    .await?;
    Ok(download::attachment(state.storage.clone(), file))
}
