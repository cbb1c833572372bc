//! The files attached to a case, at every stage: listing them for a member of staff and
//! handing one out as a download (audited, streamed a chunk at a time).
//!
//! Who may: staff who may open the case (`view_case`, which every role that sees the queue
//! has); a file answering a third-party question (`data_class = "third_party"`) also needs
//! `view_third_party`, and is left out of the list for anyone without it. A file's type is
//! the one sniffed from its content when it was received; [`download_type`] turns anything a
//! browser could render as a page (HTML, SVG, XML, script, text) into
//! `application/octet-stream`.

use chrono::{DateTime, Utc};
use haven_core::definition::{DataClass, Question, ServiceDefinition, Stage};
use serde::Serialize;
use utoipa::ToSchema;

use super::{CaseError, Cases};
use crate::access::Staff;
use crate::policy::Action;
use crate::storage::attachments::AttachmentReader;
use crate::storage::audit::AuditEntry;
use crate::storage::drafts::AttachmentInfo;
use crate::storage::referrals::Referral;

/// One attached file of a case, as staff see it listed (never its content).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentSummary {
    /// The attachment id (`att_…`), for the download route.
    pub id: String,
    /// The file name the sender gave (their words: it may name the child).
    pub filename: String,
    /// The type found in the content when it was received.
    pub media_type: String,
    /// The type in words ("PDF document", "JPEG image").
    pub type_words: String,
    pub size_bytes: i64,
    /// The size in words ("2.4 MB").
    pub size_words: String,
    /// The file question it answers.
    pub question: String,
    /// That question's label.
    pub question_label: String,
    /// The stage it was received at (`referral`, an invited stage, …).
    pub stage: String,
    pub stage_label: String,
    /// It answers a third-party question: never for the young person or family.
    pub third_party: bool,
}

/// A file being handed out: what to call it and its content, a piece at a time.
pub struct Download {
    pub summary: AttachmentSummary,
    /// The `Content-Type` to send ([`download_type`] of the sniffed type).
    pub content_type: &'static str,
    /// A file name safe for a `Content-Disposition` header (ASCII letters, digits, `.-_`).
    pub file_name: String,
    pub reader: AttachmentReader,
}

/// The files of `referral` that `staff` may open, in the order they were received, each
/// with its question and stage. [`CaseError::NotFound`] / [`CaseError::Forbidden`] as
/// [`Cases::find`] for staff who may not open the case.
pub async fn list(
    cases: &Cases<'_>,
    referral: &Referral,
    staff: &Staff,
) -> Result<Vec<AttachmentSummary>, CaseError> {
    cases.check(staff, referral, Action::ViewCase)?;
    let def = definition(cases, referral)?;
    let may_third_party = cases.may(staff, referral, Action::ViewThirdParty);
    let files = cases.storage.referral_attachments(&referral.id).await?;
    Ok(files
        .into_iter()
        .map(|info| summary(def, referral, info))
        .filter(|s| may_third_party || !s.third_party)
        .collect())
}

/// The file `attachment_id` of the case `reference`, opened for download by `staff`, with an
/// audit entry (`case.exported`, reason `attachment:<question>`) written before any byte is
/// sent. A file of another case, or a third-party file for staff without
/// `view_third_party`, is [`CaseError::NotFound`] / [`CaseError::Forbidden`].
pub async fn download(
    cases: &Cases<'_>,
    staff: &Staff,
    reference: &str,
    attachment_id: &str,
    now: DateTime<Utc>,
) -> Result<Download, CaseError> {
    let (referral, def) = cases.find(staff, reference, Action::ViewCase).await?;
    let info = cases
        .storage
        .referral_attachments(&referral.id)
        .await?
        .into_iter()
        .find(|f| f.id == attachment_id)
        .ok_or(CaseError::NotFound)?;
    let summary = summary(&def, &referral, info);
    if summary.third_party {
        cases.check(staff, &referral, Action::ViewThirdParty)?;
    }
    let entry = AuditEntry::export(
        now,
        staff.actor(),
        &referral.id,
        &format!("attachment:{}", summary.question),
    );
    cases.storage.append_audit(&entry).await?;
    let reader = cases.storage.open_attachment(&summary.id).await?;
    Ok(Download {
        content_type: download_type(&summary.media_type),
        file_name: safe_file_name(&referral.reference, &summary),
        summary,
        reader,
    })
}

fn definition<'d>(
    cases: &Cases<'d>,
    referral: &Referral,
) -> Result<&'d ServiceDefinition, CaseError> {
    cases
        .registry
        .get(&referral.service)
        .ok_or_else(|| CaseError::Internal("referral of a service that is not loaded".into()))
}

/// The stage and question a file answers: the case's own stage first, then any other.
fn question_of<'d>(
    def: &'d ServiceDefinition,
    referral: &Referral,
    key: &str,
) -> Option<(&'d Stage, &'d Question)> {
    let own = def.stage(&referral.stage).into_iter();
    let others = def.stages.iter().filter(|s| s.key != referral.stage);
    own.chain(others)
        .find_map(|stage| stage.question(key).map(|q| (stage, q)))
}

pub(crate) fn summary(
    def: &ServiceDefinition,
    referral: &Referral,
    info: AttachmentInfo,
) -> AttachmentSummary {
    let found = question_of(def, referral, &info.question);
    // A question no longer in the definition: kept out of anything for the family, shown
    // only to staff who see third-party information (what it was cannot be known).
    let third_party = found.is_none_or(|(_, q)| q.data_class == DataClass::ThirdParty);
    AttachmentSummary {
        type_words: type_words(&info.media_type).to_owned(),
        size_words: size_words(info.size_bytes),
        question_label: found
            .map(|(_, q)| q.label.clone())
            .unwrap_or_else(|| "A question no longer asked".to_owned()),
        stage: found
            .map(|(s, _)| s.key.clone())
            .unwrap_or_else(|| referral.stage.clone()),
        stage_label: found.map(|(s, _)| s.label.clone()).unwrap_or_default(),
        third_party,
        id: info.id,
        filename: info.filename,
        media_type: info.media_type,
        size_bytes: info.size_bytes,
        question: info.question,
    }
}

/// The `Content-Type` a download is sent with: the sniffed type when no browser renders it
/// as a page or runs it, otherwise `application/octet-stream` (HTML, SVG, XML, text, script
/// and anything unknown).
pub fn download_type(media_type: &str) -> &'static str {
    const SAFE: &[&str] = &[
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/heif",
        "image/heic",
        "image/bmp",
        "image/tiff",
        "application/zip",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.oasis.opendocument.text",
        "application/rtf",
        "audio/mpeg",
        "audio/x-wav",
        "audio/mp4",
        "video/mp4",
        "video/quicktime",
    ];
    let media_type = media_type.trim().to_ascii_lowercase();
    SAFE.iter()
        .find(|safe| **safe == media_type)
        .copied()
        .unwrap_or("application/octet-stream")
}

/// A type in words for the case page.
pub fn type_words(media_type: &str) -> &'static str {
    match media_type {
        "application/pdf" => "PDF document",
        "image/png" => "PNG image",
        "image/jpeg" => "JPEG image",
        "image/gif" => "GIF image",
        "image/webp" => "WebP image",
        "image/heif" | "image/heic" => "HEIC image",
        "application/msword"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.oasis.opendocument.text"
        | "application/rtf" => "Word document",
        "application/vnd.ms-excel"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "Spreadsheet",
        "application/zip" => "ZIP archive",
        t if t.starts_with("audio/") => "Audio",
        t if t.starts_with("video/") => "Video",
        t if t.starts_with("image/") => "Image",
        _ => "File",
    }
}

/// A size in words: "820 bytes", "14 KB", "2.4 MB".
pub fn size_words(bytes: i64) -> String {
    let b = bytes.max(0);
    if b < 1024 {
        return format!("{b} bytes");
    }
    let kb = b as f64 / 1024.0;
    if kb < 1024.0 {
        return format!("{} KB", kb.round());
    }
    let mb = kb / 1024.0;
    format!("{:.1} MB", mb)
}

/// The download's file name: the case reference, the question and the sender's name kept to
/// ASCII letters, digits, `.`, `-` and `_` (header-safe; the sender's own name stays sealed
/// and is listed on the case page).
fn safe_file_name(reference: &str, summary: &AttachmentSummary) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut name = clean(&summary.filename)
        .trim_matches(|c| c == '.' || c == '_')
        .chars()
        .take(80)
        .collect::<String>();
    if name.is_empty() {
        name = "file".to_owned();
    }
    format!(
        "{}-{}-{}",
        clean(reference),
        clean(&summary.question).replace('.', "-"),
        name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_scripts_are_never_served_as_such() {
        for t in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/javascript",
            "text/plain",
            "",
            "TEXT/HTML",
        ] {
            assert_eq!(download_type(t), "application/octet-stream", "{t}");
        }
        assert_eq!(download_type("application/pdf"), "application/pdf");
        assert_eq!(download_type("image/png"), "image/png");
    }

    #[test]
    fn sizes_read_as_words() {
        assert_eq!(size_words(820), "820 bytes");
        assert_eq!(size_words(14 * 1024), "14 KB");
        assert_eq!(size_words(2_516_582), "2.4 MB");
    }
}
