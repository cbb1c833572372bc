//! Checks that store nothing: the anonymity check of free text, as the API, the public
//! pages and `haven check anonymity` show it.

use haven_core::anonymity;
use serde::Serialize;
use utoipa::ToSchema;

/// What the anonymity check found.
#[derive(Serialize, ToSchema)]
pub struct AnonymityCheckResult {
    pub identifying: bool,
    pub findings: Vec<FindingView>,
}

/// One identifying detail.
#[derive(Serialize, ToSchema)]
pub struct FindingView {
    /// `name`, `email`, `phone`, `date_of_birth`, `postcode`, `address`, `online_handle`,
    /// `school` or `other`.
    pub kind: String,
    /// UTF-8 byte offset of the first byte.
    pub start: usize,
    /// UTF-8 byte offset just past the last byte.
    pub end: usize,
    /// Character (Unicode scalar value) offset of the first character.
    pub char_start: usize,
    /// Character offset just past the last character.
    pub char_end: usize,
}

/// The anonymity check as the API shows it.
pub fn anonymity_result(text: &str) -> AnonymityCheckResult {
    let report = anonymity::check(text);
    AnonymityCheckResult {
        identifying: report.identifying,
        findings: report
            .findings
            .iter()
            .map(|f| FindingView {
                kind: serde_json::to_value(f.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "other".to_owned()),
                start: f.start,
                end: f.end,
                char_start: f.char_start,
                char_end: f.char_end,
            })
            .collect(),
    }
}
