//! Answers → form fields: what a question page shows for answers already given. Parsing
//! ([`crate::parse`]) is the inverse, so `parse(to_form(answers)) == answers`.

use chrono::{Datelike, NaiveDate};
use haven_core::definition::condition::{is_empty_answer, lookup};
use haven_core::definition::{Question, QuestionKind};
use serde_json::Value;

use crate::naming;

/// The form fields that show `answers` for these questions (each under its own key).
pub fn answers_to_form<'q>(
    questions: impl IntoIterator<Item = &'q Question>,
    answers: &Value,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for q in questions {
        if let Some(value) = lookup(answers, &q.key) {
            question_to_form(q, &q.key, value, &mut out);
        }
    }
    out
}

/// One answer as form fields named from `base` (the question key, or `KEY[I].FIELD` inside
/// a repeatable item).
pub(crate) fn question_to_form(
    q: &Question,
    base: &str,
    value: &Value,
    out: &mut Vec<(String, String)>,
) {
    let mut push = |name: String, v: String| out.push((name, v));
    match q.kind {
        QuestionKind::Text
        | QuestionKind::LongText
        | QuestionKind::Email
        | QuestionKind::Phone
        | QuestionKind::Choice => {
            if let Some(s) = value.as_str() {
                push(base.to_owned(), s.to_owned());
            }
        }
        QuestionKind::Number => {
            if let Some(n) = value.as_f64() {
                push(base.to_owned(), format_number(n));
            }
        }
        QuestionKind::Date => {
            if let Some(date) = value
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            {
                push(naming::date_part(base, "day"), date.day().to_string());
                push(naming::date_part(base, "month"), date.month().to_string());
                push(naming::date_part(base, "year"), date.year().to_string());
            }
        }
        QuestionKind::YesNo => {
            if let Some(b) = value.as_bool() {
                push(base.to_owned(), if b { "yes" } else { "no" }.to_owned());
            }
        }
        QuestionKind::MultipleChoice => {
            for item in value.as_array().into_iter().flatten() {
                if let Some(s) = item.as_str() {
                    push(base.to_owned(), s.to_owned());
                }
            }
        }
        QuestionKind::IndicatorMatrix => {
            for (row, cell) in value.as_object().into_iter().flatten() {
                for column in &q.columns {
                    if haven_core::definition::condition::matrix_row_has_column(cell, &column.key) {
                        push(naming::matrix_row(base, row), column.key.clone());
                    }
                }
            }
        }
        QuestionKind::Repeatable => {
            let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
            push(naming::item_count(base), items.len().to_string());
            for (i, item) in items.iter().enumerate() {
                for f in &q.fields {
                    if let Some(v) = item.get(&f.key).filter(|v| !is_empty_answer(v)) {
                        question_to_form(f, &naming::item_field(base, i, &f.key), v, out);
                    }
                }
            }
        }
        QuestionKind::File => {
            let ids: Vec<&str> = match value {
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                other => other.as_str().into_iter().collect(),
            };
            for id in ids {
                push(naming::file_current(base), id.to_owned());
            }
        }
    }
}

/// Numbers as a person would type them: `12`, not `12.0`.
pub(crate) fn format_number(n: f64) -> String {
    haven_core::answer_words::number_in_words(n)
}
