//! `GET /staff/cases/{reference}/attachments/{attachment_id}`: one attached file of a case
//! as a download (session sign-in; the operation, its checks and its audit entry are
//! `cases::attachments::download`). The case page lists the files with
//! `cases::attachments::list` and links here.

use axum::extract::{Path, State};
use axum::response::Response;

use super::error::StaffError;
use super::session::SignedIn;
use crate::cases::attachments;
use crate::web::AppState;
use crate::web::download;

/// The download.
pub async fn download(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, attachment_id)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    let file = attachments::download(
        &state.cases(),
        &session.staff(),
        &reference,
        &attachment_id,
        state.now(),
    )
    .await?;
    Ok(download::attachment(state.storage.clone(), file))
}
