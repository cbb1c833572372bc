//! The page's validation after parsing: `haven_core::answers::validate` restricted to the
//! questions shown, errors mapped back to the form, one per field, as sentences.

use std::collections::BTreeSet;

use haven_core::answers::FieldError;
use haven_core::definition::Question;
use serde_json::Value;

use super::message_label;
use crate::PageRequest;
use crate::nav::question_key_of_field;

/// `haven_core::answers::validate` on a one-page copy of the stage holding only the
/// questions shown, errors kept for those questions, item indices mapped back to the form's.
pub(super) fn core_errors(
    request: &PageRequest<'_>,
    shown: &[&Question],
    merged: &Value,
    kept_items: &[(String, Vec<usize>)],
) -> Vec<FieldError> {
    let mut page = request.page.clone();
    page.when = None;
    page.questions = shown.iter().map(|q| (*q).clone()).collect();
    let mut stage = request.stage.clone();
    stage.pages = vec![page];
    let Err(errors) =
        haven_core::answers::validate(&stage, request.audience, merged, request.today)
    else {
        return Vec::new();
    };
    errors
        .into_iter()
        .filter(|e| {
            shown
                .iter()
                .any(|q| q.key == question_key_of_field(&e.field))
        })
        .map(|e| FieldError::new(form_index(&e.field, kept_items), e.message))
        .collect()
}

/// `professionals[0].email` in the compacted answers → the same item's index in the form.
fn form_index(field: &str, kept_items: &[(String, Vec<usize>)]) -> String {
    let key = question_key_of_field(field);
    let Some((_, kept)) = kept_items.iter().find(|(k, _)| k == key) else {
        return field.to_owned();
    };
    let rest = &field[key.len()..];
    let Some((index, tail)) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) else {
        return field.to_owned();
    };
    match index.parse::<usize>().ok().and_then(|i| kept.get(i)) {
        Some(form_i) => format!("{key}[{form_i}]{tail}"),
        None => field.to_owned(),
    }
}

/// One error per field, in the order the questions are shown, with core's terse messages
/// ("Must be 25 or less") made into sentences ("Age must be 25 or less").
pub(super) fn finish_errors(
    errors: Vec<FieldError>,
    shown: &[&Question],
    audience: &str,
) -> Vec<FieldError> {
    let mut seen = BTreeSet::new();
    let mut unique: Vec<FieldError> = errors
        .into_iter()
        .filter(|e| seen.insert(e.field.clone()))
        .map(|e| {
            let label = label_of_field(&e.field, shown, audience);
            FieldError::new(e.field, sentence(&e.message, &label))
        })
        .collect();
    let order = |field: &str| {
        shown
            .iter()
            .position(|q| q.key == question_key_of_field(field))
            .unwrap_or(usize::MAX)
    };
    unique.sort_by_key(|e| order(&e.field));
    unique
}

fn label_of_field(field: &str, shown: &[&Question], audience: &str) -> String {
    let key = question_key_of_field(field);
    let Some(q) = shown.iter().find(|q| q.key == key) else {
        return String::new();
    };
    match field.rsplit_once("].") {
        Some((_, sub)) => q
            .fields
            .iter()
            .find(|f| f.key == sub)
            .map_or_else(String::new, |f| message_label(f.label_for(audience))),
        None => message_label(q.label_for(audience)),
    }
}

pub(crate) fn sentence(message: &str, label: &str) -> String {
    match message.strip_prefix("Must ") {
        Some(rest) if !label.is_empty() => format!("{label} must {rest}"),
        _ => message.to_owned(),
    }
}
