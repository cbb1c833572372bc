//! Attachments posted with a question page (`multipart/form-data`): read with a per-file
//! size cap, type decided by sniffing the content (never the file name or the browser's
//! `Content-Type`), file names sanitised. Refusals are GOV.UK error messages naming the
//! question and why (type, size, empty, too many).

use std::collections::BTreeMap;

use axum::extract::Multipart;
use axum::http::StatusCode;
use haven_core::answers::FieldError;
use haven_core::definition::{Page, Question, QuestionKind, ServiceDefinition};
use haven_pages::naming;

use super::respond::{self, Reply};
use crate::services::Registry;

/// Size cap for a part that is not a known file question (refused anyway).
const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Longest file name kept (characters).
const MAX_NAME_CHARS: usize = 100;

/// A file part as received.
pub struct Upload {
    /// The form field (the question key).
    pub field: String,
    /// Sanitised file name.
    pub filename: String,
    pub content: Vec<u8>,
    /// More than the question's `max_bytes` was sent (reading stopped there).
    pub too_large: bool,
}

/// A checked upload, ready to store.
pub struct Accepted<'a> {
    pub upload: &'a Upload,
    pub media_type: &'static str,
}

/// The body limit of question-page posts: enough for the largest page of files of any loaded
/// service (each file question's `max_bytes` × `max_items`), plus the usual limit for the
/// rest of the form.
pub fn body_limit(registry: &Registry, base: usize) -> usize {
    let largest_page: u64 = registry
        .definitions()
        .flat_map(|d| d.stages.iter())
        .filter(|s| !s.uploads_forbidden)
        .flat_map(|s| s.pages.iter())
        .map(|p| {
            p.questions
                .iter()
                .filter(|q| q.kind == QuestionKind::File)
                .map(|q| {
                    q.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)
                        * u64::try_from(q.max_items.unwrap_or(1)).unwrap_or(1)
                })
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0);
    base.saturating_add(usize::try_from(largest_page).unwrap_or(usize::MAX))
}

/// Reads a multipart body: text fields as form pairs, file parts (with a file name) as
/// uploads. Empty file parts (no file chosen) are dropped. A body that breaks off or goes past
/// the route's limit is a 400/413 page.
pub async fn read(
    def: &ServiceDefinition,
    page: &Page,
    mut multipart: Multipart,
) -> Result<(Vec<(String, String)>, Vec<Upload>), Reply> {
    let mut form = Vec::new();
    let mut uploads = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(respond::error(Some(def), e.status())),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let Some(filename) = field.file_name().map(str::to_owned) else {
            let text = field
                .text()
                .await
                .map_err(|e| respond::error(Some(def), e.status()))?;
            form.push((name, text));
            continue;
        };
        let limit = page
            .questions
            .iter()
            .find(|q| q.key == name && q.kind == QuestionKind::File)
            .and_then(|q| q.max_bytes)
            .unwrap_or(DEFAULT_MAX_BYTES);
        let mut content = Vec::new();
        let mut too_large = false;
        let mut field = field;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if content.len() as u64 + chunk.len() as u64 > limit {
                        // Stop reading this file; the next field skips what is left of it.
                        too_large = true;
                        break;
                    }
                    content.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(respond::error(Some(def), e.status())),
            }
        }
        if filename.is_empty() && content.is_empty() && !too_large {
            continue; // the browser sends an empty part when no file was chosen
        }
        uploads.push(Upload {
            field: name,
            filename: sanitise_filename(&filename),
            content,
            too_large,
        });
    }
    Ok((form, uploads))
}

/// Checks each upload against its question: one of the page's file questions shown, not
/// empty, within `max_bytes`, a sniffed type in `allowed_types`, and no more than
/// `max_items` files with those already attached (`kept`: ids per question after removals).
pub fn check<'u>(
    shown: &[&Question],
    uploads: &'u [Upload],
    kept: &BTreeMap<String, usize>,
) -> Result<Vec<Accepted<'u>>, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut accepted = Vec::new();
    let mut new_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for upload in uploads {
        if errors.iter().any(|e| e.field == upload.field) {
            continue; // one message per field
        }
        let Some(q) = shown
            .iter()
            .find(|q| q.key == upload.field && q.kind == QuestionKind::File)
        else {
            errors.push(FieldError::new(
                &upload.field,
                "This question does not take a file",
            ));
            continue;
        };
        let label = &q.label;
        if upload.too_large {
            let limit = human_size(q.max_bytes.unwrap_or(DEFAULT_MAX_BYTES));
            errors.push(FieldError::new(
                &q.key,
                format!("The file for \u{201c}{label}\u{201d} must be smaller than {limit}"),
            ));
            continue;
        }
        if upload.content.is_empty() {
            errors.push(FieldError::new(
                &q.key,
                format!("The file for \u{201c}{label}\u{201d} is empty"),
            ));
            continue;
        }
        let sniffed = infer::get(&upload.content).map(|t| t.mime_type());
        let allowed =
            |mime: &str| q.allowed_types.is_empty() || q.allowed_types.iter().any(|a| a == mime);
        let Some(media_type) = sniffed.filter(|m| allowed(m)) else {
            errors.push(FieldError::new(
                &q.key,
                format!(
                    "The file for \u{201c}{label}\u{201d} must be a {}",
                    type_names(&q.allowed_types)
                ),
            ));
            continue;
        };
        let count = new_counts.entry(q.key.as_str()).or_insert(0);
        *count += 1;
        if let Some(max) = q.max_items {
            let total = kept.get(&q.key).copied().unwrap_or(0) + *count;
            if total > max {
                errors.push(FieldError::new(
                    &q.key,
                    format!("You can attach up to {max} files for \u{201c}{label}\u{201d}"),
                ));
                continue;
            }
        }
        accepted.push(Accepted { upload, media_type });
    }
    if errors.is_empty() {
        Ok(accepted)
    } else {
        Err(errors)
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
fn human_size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        format!("{} MB", bytes / MB)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// The ids of `KEY-current` the browser sent back, kept only if they are attachments of this
/// draft for that question (and not ticked for removal): the browser's word is never trusted.
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
        let count = form
            .iter()
            .filter(|(n, v)| *n == naming::file_current(&q.key) && !removed.contains(&v.as_str()))
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
