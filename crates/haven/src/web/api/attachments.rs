//! `POST /api/v1/attachments`: a file for a file question of a public form, uploaded before
//! the submission that names it (`multipart/form-data`: `service`, then `question`, then the
//! file part `file`).
//!
//! The same checks and limits as the pages (`web/public/uploads.rs`): type sniffed from the
//! content, the question's `max_bytes`, the client address's files and bytes per window, the
//! body read a piece at a time into chunked sealed storage. The answer is the attachment id:
//! 128 random bits, shown only to the uploader, usable for [`UPLOAD_LIFETIME`] by one
//! submission of that service, for that question (`intake::check_files`); a submission naming
//! any other id gets a 422 naming the question. Unused uploads are deleted once expired.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use chrono::Duration;
use haven_core::definition::{Question, QuestionKind, ServiceDefinition, StageAccess};
use serde::Serialize;
use utoipa::ToSchema;

use crate::storage::attachments::Owner;
use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::ClientIp;
use crate::web::public::uploads::{self, Refusal};

/// How long an uploaded file can be named by a submission.
pub const UPLOAD_LIFETIME: Duration = Duration::hours(1);

/// A stored upload.
#[derive(Serialize, ToSchema)]
pub struct AttachmentUploaded {
    /// Put this id in the file question's answer (`att_…`). Keep it private: whoever holds it
    /// can name the file in a submission until it expires.
    pub id: String,
    pub service: String,
    /// The file question it was uploaded for.
    pub question: String,
    /// The type found in the content (not the name or the sender's `Content-Type`).
    pub media_type: String,
    pub size_bytes: u64,
    /// After this (RFC 3339, UTC), a submission can no longer name it.
    pub expires_at: String,
}

/// A body large enough for the largest file any public file question takes, plus the usual
/// limit for the other fields.
fn body_limit(state: &AppState) -> usize {
    let largest = state
        .registry
        .definitions()
        .flat_map(|d| d.stages.iter())
        .filter(|s| !s.uploads_forbidden)
        .flat_map(|s| s.pages.iter())
        .flat_map(|p| p.questions.iter())
        .filter(|q| q.kind == QuestionKind::File)
        .map(uploads::max_bytes)
        .max()
        .unwrap_or(0);
    state
        .options
        .body_limit_bytes
        .saturating_add(usize::try_from(largest).unwrap_or(usize::MAX))
}

/// The file question `key` of a public stage of `def` that takes files.
fn file_question<'d>(def: &'d ServiceDefinition, key: &str) -> Option<&'d Question> {
    def.stages
        .iter()
        .filter(|s| s.access == StageAccess::Public && !s.uploads_forbidden)
        .flat_map(|s| s.questions())
        .map(|(_, q)| q)
        .find(|q| q.key == key && q.kind == QuestionKind::File)
}

/// Uploads a file for a later submission.
#[utoipa::path(
    post,
    path = "/api/v1/attachments",
    tag = "submissions",
    request_body(content_type = "multipart/form-data", description = "Fields in this order: `service` (service id), `question` (the file question's key), `file` (the file, with a file name)"),
    responses(
        (status = 201, description = "Stored; name `id` in the file question's answer within an hour", body = AttachmentUploaded),
        (status = 400, description = "The body is not multipart form data, or broke off", body = ErrorBody),
        (status = 413, description = "The body is larger than any file question takes", body = ErrorBody),
        (status = 422, description = "Unknown service, not a file question, no file, or the file refused (type, size, empty), each field named", body = ErrorBody),
        (status = 429, description = "Too many uploads (files or bytes) from this address", body = ErrorBody)
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
) -> Result<(StatusCode, Json<AttachmentUploaded>), ApiError> {
    let limit = body_limit(&state);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(ApiError::PayloadTooLarge);
    }
    let request = request.map(|body| uploads::paced(body, limit));
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|e| ApiError::from_status(e.status()))?;
    let mut service: Option<String> = None;
    let mut question: Option<String> = None;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::from_status(e.status()))?
            .ok_or_else(|| {
                ApiError::unprocessable([("file", "Attach the file as the part `file`")])
            })?;
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_none() {
            let text = field
                .text()
                .await
                .map_err(|e| ApiError::from_status(e.status()))?;
            match name.as_str() {
                "service" => service = Some(text),
                "question" => question = Some(text),
                _ => {}
            }
            continue;
        }
        if name != "file" {
            return Err(ApiError::unprocessable([(
                name,
                "Not a field of this request: send the file as `file`",
            )]));
        }
        let service = service.ok_or_else(|| {
            ApiError::unprocessable([("service", "Send `service` before the file")])
        })?;
        let def = state.registry.get(&service).ok_or_else(|| {
            ApiError::unprocessable([("service", format!("There is no service `{service}`"))])
        })?;
        let key = question.ok_or_else(|| {
            ApiError::unprocessable([("question", "Send `question` before the file")])
        })?;
        let q = file_question(def, &key).ok_or_else(|| {
            ApiError::unprocessable([(
                "question",
                format!("`{key}` is not a question of `{service}` that takes a file"),
            )])
        })?;
        let expires_at = state.now() + UPLOAD_LIFETIME;
        let owner = Owner::Upload {
            service: &def.id,
            expires_at,
        };
        let room = state.uploads.per_draft_bytes;
        let stored = uploads::store_one(&state, field, q, owner, room, ip)
            .await
            .map_err(|refusal| match refusal {
                Refusal::Field(mut e) => {
                    e.field = "file".to_owned();
                    ApiError::Unprocessable(vec![e])
                }
                Refusal::TooMany(secs) => ApiError::TooManyRequests {
                    retry_after_secs: secs,
                },
                Refusal::Broken(status) => ApiError::from_status(status),
                Refusal::Storage(e) => e.into(),
            })?;
        return Ok((
            StatusCode::CREATED,
            Json(AttachmentUploaded {
                id: stored.id,
                service: def.id.clone(),
                question: q.key.clone(),
                media_type: stored.media_type.to_owned(),
                size_bytes: stored.size,
                expires_at: expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }),
        ));
    }
}
