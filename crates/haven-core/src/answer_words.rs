//! Answers in words: the one formatter every reader of an answer uses (the public "Check
//! your answers" page, the staff case pages, the family copy and the documents sent to other
//! organisations), so a date reads "12 May 2012" and an option reads as its label everywhere.

use chrono::NaiveDate;
use serde_json::Value;

use crate::definition::condition::{is_empty_answer, matrix_row_has_column};
use crate::definition::{Question, QuestionKind};

/// The audience whose wording staff pages and documents use: none, so every question and
/// option reads with its default label.
pub const STAFF: &str = "";

/// A date (`YYYY-MM-DD`) in words, "12 May 2012"; anything else as given.
pub fn date_in_words(text: &str) -> String {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_or_else(|_| text.to_owned(), day_in_words)
}

/// A day in words, "12 May 2012".
pub fn day_in_words(day: NaiveDate) -> String {
    day.format("%-d %B %Y").to_string()
}

/// A number as a person writes it: no `.0` on a whole number.
pub fn number_in_words(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        // Exact: integral and well inside i64's range.
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// An answer as lines of text, in `audience`'s wording. A repeatable question reads as its
/// number of entries (callers that show each entry use [`answer_in_words`] or the fields).
pub fn answer_lines(q: &Question, value: &Value, audience: &str) -> Vec<String> {
    let option = |key: &str| {
        q.option(key)
            .map_or_else(|| key.to_owned(), |o| o.label_for(audience).to_owned())
    };
    match q.kind {
        QuestionKind::Text | QuestionKind::Email | QuestionKind::Phone => {
            vec![scalar(value)]
        }
        QuestionKind::LongText => value.as_str().map_or_else(
            || vec![scalar(value)],
            |s| s.lines().map(str::to_owned).collect(),
        ),
        QuestionKind::Number => vec![
            value
                .as_f64()
                .map_or_else(|| scalar(value), number_in_words),
        ],
        QuestionKind::Date => vec![value.as_str().map_or_else(|| scalar(value), date_in_words)],
        QuestionKind::YesNo => vec![match value.as_bool() {
            Some(true) => "Yes".to_owned(),
            Some(false) => "No".to_owned(),
            None => scalar(value),
        }],
        QuestionKind::Choice => vec![value.as_str().map_or_else(|| scalar(value), option)],
        QuestionKind::MultipleChoice => value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(option)
            .collect(),
        QuestionKind::IndicatorMatrix => value
            .as_object()
            .into_iter()
            .flatten()
            .map(|(row, cell)| {
                let columns: Vec<&str> = q
                    .columns
                    .iter()
                    .filter(|c| matrix_row_has_column(cell, &c.key))
                    .map(|c| c.label_for(audience))
                    .collect();
                format!("{}: {}", option(row), columns.join(" and "))
            })
            .collect(),
        QuestionKind::File => {
            let count = match value {
                Value::Array(items) => items.len(),
                _ => 1,
            };
            vec![if count == 1 {
                "1 file attached".to_owned()
            } else {
                format!("{count} files attached")
            }]
        }
        QuestionKind::Repeatable => {
            let count = value.as_array().map_or(0, Vec::len);
            vec![format!("{count} entries")]
        }
    }
}

/// An answer as one piece of text (staff pages, the family copy, documents): the lines of
/// [`answer_lines`] joined ("; " between choices, a new line between lines of long text), and
/// each entry of a repeatable question written out ("Name: Sam, Age: 14 | Name: …").
pub fn answer_in_words(q: &Question, value: &Value, audience: &str) -> String {
    match q.kind {
        QuestionKind::Repeatable => value
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| {
                q.fields
                    .iter()
                    .filter_map(|f| {
                        let v = item
                            .get(&f.key)
                            .or_else(|| f.key.rsplit('.').next().and_then(|last| item.get(last)))
                            .filter(|v| !is_empty_answer(v))?;
                        Some(format!(
                            "{}: {}",
                            f.label_for(audience),
                            answer_in_words(f, v, audience)
                        ))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect::<Vec<_>>()
            .join(" | "),
        QuestionKind::LongText => answer_lines(q, value, audience).join("\n"),
        _ => answer_lines(q, value, audience).join("; "),
    }
}

/// A value of an unexpected type, as text rather than nothing (a person still sees it).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(true) => "Yes".to_owned(),
        Value::Bool(false) => "No".to_owned(),
        other => other.to_string(),
    }
}
