//! Attachments (`multipart/form-data` file parts), from the question pages and from
//! `POST /api/v1/attachments`: streamed a piece at a time into chunked sealed storage
//! (`storage/attachments.rs`), never held whole in memory. Type decided by sniffing the first
//! bytes (never the file name or the browser's `Content-Type`), file names sanitised, and
//! reading stops as soon as a cap is passed: the question's `max_bytes`, the draft's total,
//! the client address's files and bytes per window. Refusals name the question and why.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::extract::multipart::Field;
use axum::http::StatusCode;
use haven_core::answers::FieldError;
use haven_core::definition::{Page, Question, QuestionKind, ServiceDefinition, Stage};
use haven_pages::naming;

use super::respond::{self, Reply};
use crate::services::Registry;
use crate::storage::StorageError;
use crate::storage::attachments::{NewFile, Owner};
use crate::web::AppState;

/// Size cap for a part that is not a known file question (refused anyway).
const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Longest file name kept (characters).
const MAX_NAME_CHARS: usize = 100;

/// Bytes read before the type is sniffed: enough for `infer` to tell a DOCX from another
/// ZIP (it looks past the first entries), one sealed chunk's worth.
const SNIFF_LEN: usize = crate::crypto::stream::CHUNK_LEN;

/// The biggest body any question page may need: the largest page of files of any loaded
/// service (each file question's `max_bytes` × `max_items`) plus the usual limit. The route's
/// ceiling; each page then applies its own [`page_limit`].
pub fn body_limit(registry: &Registry, base: usize) -> usize {
    registry
        .definitions()
        .flat_map(|d| d.stages.iter())
        .flat_map(|s| s.pages.iter().map(move |p| page_limit(s, p, base)))
        .max()
        .unwrap_or(base)
}

/// The body limit of one question page: the usual limit, plus `max_bytes` × `max_items` of
/// each of its file questions when its stage takes files.
pub fn page_limit(stage: &Stage, page: &Page, base: usize) -> usize {
    if stage.uploads_forbidden {
        return base;
    }
    let files: u64 = page
        .questions
        .iter()
        .filter(|q| q.kind == QuestionKind::File)
        .map(|q| max_bytes(q).saturating_mul(u64::try_from(max_items(q)).unwrap_or(1)))
        .sum();
    base.saturating_add(usize::try_from(files).unwrap_or(usize::MAX))
}

/// `body` cut off at `limit` bytes (413 past it) and handed out one frame per poll.
///
/// The multipart parser (multer) reads every frame that is ready before it parses, so a
/// fast client could make it buffer far more than the part being read; yielding after each
/// frame keeps what it holds to about one frame, and lets a refusal (no CSRF token, a cap
/// passed) stop the reading at once. Hand-written: no crate offers this pacing.
pub fn paced(body: Body, limit: usize) -> Body {
    Body::new(OneFrameAtATime {
        inner: http_body_util::Limited::new(body, limit),
        yielded: false,
    })
}

struct OneFrameAtATime<B> {
    inner: B,
    /// A frame was just given: the next poll says "not ready yet" (and wakes at once).
    yielded: bool,
}

impl<B: HttpBody + Unpin> HttpBody for OneFrameAtATime<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.yielded {
            this.yielded = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(Some(_))) {
            this.yielded = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The largest file a question takes.
pub fn max_bytes(q: &Question) -> u64 {
    q.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)
}

/// How many files a question takes (one unless `max_items` says more).
pub fn max_items(q: &Question) -> usize {
    q.max_items.unwrap_or(1)
}

/// Why one file was not stored. Whatever was stored of it has been deleted.
#[derive(Debug)]
pub enum Refusal {
    /// Shown against the question: wrong type, empty, too large, over the draft's total.
    Field(FieldError),
    /// The client address used up its uploads for now: 429, retry after this many seconds.
    TooMany(u64),
    /// The body broke off or went past the page's limit (400/413).
    Broken(StatusCode),
    Storage(StorageError),
}

/// A file stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub question: String,
    pub id: String,
    pub size: u64,
    /// The sniffed type.
    pub media_type: &'static str,
}

/// Streams one file part into storage for `q`: at most one chunk plus the sniffing prefix in
/// memory, reading stopped at the first cap passed (`room`: bytes its draft may still take).
pub async fn store_one(
    state: &AppState,
    mut field: Field<'_>,
    q: &Question,
    owner: Owner<'_>,
    room: u64,
    ip: Option<IpAddr>,
) -> Result<Stored, Refusal> {
    let label = &q.label;
    let limit = max_bytes(q);
    state
        .uploads
        .files
        .take(ip, 1)
        .map_err(|l| Refusal::TooMany(l.retry_after_secs))?;
    let filename = sanitise_filename(field.file_name().unwrap_or_default());
    let too_large = || {
        Refusal::Field(FieldError::new(
            &q.key,
            format!(
                "The file for \u{201c}{label}\u{201d} must be smaller than {}",
                human_size(limit)
            ),
        ))
    };
    let over_draft = || {
        Refusal::Field(FieldError::new(
            &q.key,
            format!(
                "The files attached to this form come to more than {} together: remove a file \
                 or choose a smaller one for \u{201c}{label}\u{201d}",
                human_size(state.uploads.per_draft_bytes)
            ),
        ))
    };
    // Each piece is checked against every cap before it is kept anywhere.
    let mut size: u64 = 0;
    let mut admit = |len: usize| -> Result<(), Refusal> {
        size = size.saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
        if size > limit {
            return Err(too_large());
        }
        if size > room {
            return Err(over_draft());
        }
        state
            .uploads
            .bytes
            .take(ip, u64::try_from(len).unwrap_or(u64::MAX))
            .map_err(|l| Refusal::TooMany(l.retry_after_secs))
    };
    let mut prefix = zeroize::Zeroizing::new(Vec::new());
    let mut ended = false;
    while prefix.len() < SNIFF_LEN {
        match field.chunk().await {
            Ok(Some(piece)) => {
                admit(piece.len())?;
                prefix.extend_from_slice(&piece);
            }
            Ok(None) => {
                ended = true;
                break;
            }
            Err(e) => return Err(Refusal::Broken(e.status())),
        }
    }
    if prefix.is_empty() {
        return Err(Refusal::Field(FieldError::new(
            &q.key,
            format!("The file for \u{201c}{label}\u{201d} is empty"),
        )));
    }
    let allowed =
        |mime: &str| q.allowed_types.is_empty() || q.allowed_types.iter().any(|a| a == mime);
    let Some(media_type) = infer::get(&prefix[..])
        .map(|t| t.mime_type())
        .filter(|m| allowed(m))
    else {
        return Err(Refusal::Field(FieldError::new(
            &q.key,
            format!(
                "The file for \u{201c}{label}\u{201d} must be a {}",
                type_names(&q.allowed_types)
            ),
        )));
    };
    let id = format!("att_{}", crate::crypto::new_id());
    let mut writer = state
        .storage
        .begin_file(&NewFile {
            id: id.clone(),
            owner,
            question: &q.key,
            filename: &filename,
            media_type,
        })
        .await
        .map_err(Refusal::Storage)?;
    let streamed: Result<(), Refusal> = async {
        state
            .storage
            .write_file(&mut writer, &prefix[..])
            .await
            .map_err(Refusal::Storage)?;
        // The prefix is in storage now: wipe it and give its memory back.
        zeroize::Zeroize::zeroize(&mut *prefix);
        prefix.shrink_to_fit();
        while !ended {
            match field.chunk().await {
                Ok(Some(piece)) => {
                    admit(piece.len())?;
                    state
                        .storage
                        .write_file(&mut writer, &piece)
                        .await
                        .map_err(Refusal::Storage)?;
                }
                Ok(None) => ended = true,
                Err(e) => return Err(Refusal::Broken(e.status())),
            }
        }
        Ok::<(), Refusal>(())
    }
    .await;
    if let Err(refusal) = streamed {
        discard(state, &id).await;
        return Err(refusal);
    }
    match state.storage.finish_file(writer).await {
        Ok(size) => Ok(Stored {
            question: q.key.clone(),
            id,
            size,
            media_type,
        }),
        Err(e) => {
            discard(state, &id).await;
            Err(Refusal::Storage(e))
        }
    }
}

/// Deletes a file stored (or half-stored) by this request; a failure is logged, and the file
/// goes with its draft (or, uploaded through the API, when it expires).
pub async fn discard(state: &AppState, id: &str) {
    if let Err(e) = state.storage.discard_attachment(id).await {
        tracing::warn!(error = %e, "a refused upload could not be deleted yet");
    }
}

/// Keeps the last path component, letters, digits, spaces and `.-_()`, at most 100
/// characters, never starting with a dot; "attachment" when nothing is left.
pub fn sanitise_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut name: String = trimmed.chars().take(MAX_NAME_CHARS).collect();
    if name.is_empty() {
        name = "attachment".to_owned();
    }
    name
}

/// "PDF, DOCX, DOC or ODT" for the allowed media types.
fn type_names(types: &[String]) -> String {
    let names: Vec<&str> = types
        .iter()
        .map(|t| match t.as_str() {
            "application/pdf" => "PDF",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "DOCX",
            "application/msword" => "DOC",
            "application/vnd.oasis.opendocument.text" => "ODT",
            "image/png" => "PNG",
            "image/jpeg" => "JPG",
            other => other,
        })
        .collect();
    match names.as_slice() {
        [] => "supported file".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// "10 MB" for a byte count.
pub fn human_size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        format!("{} MB", bytes / MB)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// Drops the `KEY-current` ids the browser sent back that are not files of this draft for
/// that question (the browser's word is never trusted), and returns, per file question shown,
/// how many files stay attached: those stored for it (`attached`, never the browser's
/// `KEY-current` list, which a client can leave out) less those ticked for removal.
pub fn filter_current(
    form: &mut Vec<(String, String)>,
    shown: &[&Question],
    attached: &BTreeMap<String, crate::storage::drafts::AttachmentInfo>,
) -> BTreeMap<String, usize> {
    let mut kept: BTreeMap<String, usize> = BTreeMap::new();
    let files: Vec<&Question> = shown
        .iter()
        .copied()
        .filter(|q| q.kind == QuestionKind::File)
        .collect();
    form.retain(|(name, value)| {
        let Some(q) = files.iter().find(|q| naming::file_current(&q.key) == *name) else {
            return true;
        };
        attached.get(value).is_some_and(|a| a.question == q.key)
    });
    for q in files {
        let removed: Vec<&str> = form
            .iter()
            .filter(|(n, _)| *n == naming::file_remove(&q.key))
            .map(|(_, v)| v.as_str())
            .collect();
        let count = attached
            .iter()
            .filter(|(id, a)| a.question == q.key && !removed.contains(&id.as_str()))
            .count();
        kept.insert(q.key.clone(), count);
    }
    kept
}

/// The 400 page for files posted where none are taken (CEOP, or a page without a file
/// question).
pub fn refused(def: &ServiceDefinition) -> Reply {
    respond::error_with(
        Some(def),
        StatusCode::BAD_REQUEST,
        "This form does not take files. Nothing you attached was kept. Go back and continue \
         without attaching anything.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_odd_characters() {
        assert_eq!(
            sanitise_filename("C:\\Users\\jo\\risk tool.pdf"),
            "risk tool.pdf"
        );
        assert_eq!(sanitise_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_filename("<script>.pdf"), "_script_.pdf");
        assert_eq!(sanitise_filename(".hidden"), "hidden");
        assert_eq!(sanitise_filename(""), "attachment");
        assert_eq!(sanitise_filename(&"a".repeat(300)).len(), MAX_NAME_CHARS);
    }

    #[test]
    fn allowed_types_read_as_words() {
        let types = [
            "application/pdf".to_owned(),
            "application/msword".to_owned(),
            "application/vnd.oasis.opendocument.text".to_owned(),
        ];
        assert_eq!(type_names(&types), "PDF, DOC or ODT");
        assert_eq!(human_size(10_485_760), "10 MB");
    }
}
