//! Answers in words, for "Check your answers": one summary list row per question (one per
//! item of a repeatable question), with a change link to the question's page.

use chrono::NaiveDate;
use haven_core::definition::condition::{is_empty_answer, lookup, matrix_row_has_column};
use haven_core::definition::{Question, QuestionKind};
use serde_json::{Value, json};

use crate::naming;
use crate::values::format_number;

/// Escapes text for HTML. Summary list values are lines joined by `<br>`, so they are
/// passed to the macro as HTML; every line goes through this first.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

/// Each line isolated (`<bdi dir="auto">`): a right-to-left override or a right-to-left
/// name in an answer cannot reorder the text around it.
fn lines_html(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("<bdi dir=\"auto\">{}</bdi>", escape_html(l)))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// The rows of one page's answers (`govukSummaryList` rows).
pub(crate) fn page_rows(
    questions: &[&Question],
    answers: &Value,
    audience: &str,
    page_url: &str,
) -> Vec<Value> {
    let mut rows = Vec::new();
    for q in questions {
        let label = q.label_for(audience);
        let value = lookup(answers, &q.key);
        if q.kind == QuestionKind::Repeatable {
            let items = value
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for (i, item) in items.iter().enumerate() {
                let lines: Vec<String> = q
                    .fields
                    .iter()
                    .filter_map(|f| {
                        let v = item.get(&f.key).filter(|v| !is_empty_answer(v))?;
                        Some(format!(
                            "{}: {}",
                            f.label_for(audience),
                            in_words(f, v, audience).join(", ")
                        ))
                    })
                    .collect();
                let anchor = q.fields.first().map_or_else(
                    || naming::add_button(&q.key),
                    |f| first_control(f, &naming::item_field(&q.key, i, &f.key)),
                );
                rows.push(row(
                    &format!("{label} (entry {})", i + 1),
                    &lines,
                    &format!("{page_url}#{anchor}"),
                    label,
                ));
            }
            if items.is_empty() {
                rows.push(row(
                    label,
                    &["Not provided".to_owned()],
                    &format!("{page_url}#{}", naming::add_button(&q.key)),
                    label,
                ));
            }
            continue;
        }
        let lines = value.map_or_else(
            || vec!["Not provided".to_owned()],
            |v| in_words(q, v, audience),
        );
        rows.push(row(
            label,
            &lines,
            &format!("{page_url}#{}", first_control(q, &q.key)),
            label,
        ));
    }
    rows
}

fn row(key: &str, lines: &[String], href: &str, hidden: &str) -> Value {
    json!({
        "key": { "text": key },
        "value": { "html": lines_html(lines) },
        "actions": { "items": [{ "href": href, "text": "Change", "visuallyHiddenText": hidden }] },
    })
}

/// The id of the control an error about `field` (`KEY` or `KEY[I].FIELD`) links to, when
/// the page is shown from the answers: the question's first control.
pub(crate) fn control_for_field(q: &Question, field: &str) -> String {
    match field.rsplit_once("].") {
        Some((_, sub)) => q
            .fields
            .iter()
            .find(|f| f.key == sub)
            .map_or_else(|| field.to_owned(), |f| first_control(f, field)),
        None => first_control(q, field),
    }
}

/// The id of the control a change link (or error link) goes to.
pub(crate) fn first_control(q: &Question, base: &str) -> String {
    match q.kind {
        QuestionKind::Date => naming::date_part(base, "day"),
        QuestionKind::Repeatable => q.fields.first().map_or_else(
            || naming::add_button(base),
            |f| first_control(f, &naming::item_field(base, 0, &f.key)),
        ),
        _ => base.to_owned(),
    }
}

/// An answer as lines of text.
pub(crate) fn in_words(q: &Question, value: &Value, audience: &str) -> Vec<String> {
    let option = |key: &str| {
        q.option(key)
            .map_or_else(|| key.to_owned(), |o| o.label_for(audience).to_owned())
    };
    match q.kind {
        QuestionKind::Text | QuestionKind::Email | QuestionKind::Phone => {
            vec![value.as_str().unwrap_or_default().to_owned()]
        }
        QuestionKind::LongText => value
            .as_str()
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
        QuestionKind::Number => vec![value.as_f64().map(format_number).unwrap_or_default()],
        QuestionKind::Date => vec![value.as_str().map_or_else(String::new, |s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_or_else(|_| s.to_owned(), |d| d.format("%-d %B %Y").to_string())
        })],
        QuestionKind::YesNo => vec![match value.as_bool() {
            Some(true) => "Yes".to_owned(),
            Some(false) => "No".to_owned(),
            None => String::new(),
        }],
        QuestionKind::Choice => vec![value.as_str().map(option).unwrap_or_default()],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/script&gt;"
        );
    }

    #[test]
    fn each_answer_line_is_isolated() {
        assert_eq!(
            lines_html(&["\u{202E}gpj.exe".to_owned(), "<b>".to_owned()]),
            "<bdi dir=\"auto\">\u{202E}gpj.exe</bdi><br><bdi dir=\"auto\">&lt;b&gt;</bdi>"
        );
    }
}
