//! Attributes derived from a question: `autocomplete` tokens, and what a file input accepts.

use haven_core::definition::Question;
use serde_json::{Value, json};

/// `autocomplete` only for the person's own details (WCAG 1.3.5): questions about the
/// reporter or referrer. A child's email must not be filled in with the reporter's.
pub(super) fn autocomplete(key: &str, token: &str) -> Value {
    if is_own_details(key) {
        Value::String(token.to_owned())
    } else {
        Value::Null
    }
}

pub(super) fn name_autocomplete(key: &str) -> Value {
    if is_own_details(key) && key.ends_with(".name") {
        json!("name")
    } else {
        Value::Null
    }
}

fn is_own_details(key: &str) -> bool {
    key.starts_with("reporter.") || key.starts_with("referrer.") || key.starts_with("contact_")
}

/// Media types plus file extensions for the `accept` attribute (some browsers' pickers
/// only filter by extension).
pub(super) fn accept_entries(media_type: &str) -> Vec<String> {
    let extensions: &[&str] = match media_type {
        "application/pdf" => &[".pdf"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => &[".docx"],
        "application/msword" => &[".doc"],
        "application/vnd.oasis.opendocument.text" => &[".odt"],
        "text/plain" => &[".txt"],
        "image/png" => &[".png"],
        "image/jpeg" => &[".jpg", ".jpeg"],
        _ => &[],
    };
    std::iter::once(media_type.to_owned())
        .chain(extensions.iter().map(|e| (*e).to_owned()))
        .collect()
}

/// "Files must be PDF or DOCX, up to 10 MB."
pub(super) fn file_limits(q: &Question) -> String {
    let names: Vec<String> = q
        .allowed_types
        .iter()
        .map(|t| {
            accept_entries(t)
                .get(1)
                .map_or_else(|| t.clone(), |e| e.trim_start_matches('.').to_uppercase())
        })
        .collect();
    let size = q.max_bytes.map(|b| {
        if b >= 1_048_576 {
            format!(", up to {} MB", b / 1_048_576)
        } else {
            format!(", up to {} KB", b.div_ceil(1024))
        }
    });
    format!(
        "Files must be {}{}.",
        join_or(&names),
        size.unwrap_or_default()
    )
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
