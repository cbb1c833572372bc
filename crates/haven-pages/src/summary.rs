//! Answers in words, for "Check your answers": one summary list row per question (one per
//! item of a repeatable question), with a change link to the question's page.

use haven_core::answer_words::answer_lines;
use haven_core::definition::condition::{is_empty_answer, lookup};
use haven_core::definition::{Question, QuestionKind};
use serde_json::{Value, json};

use crate::naming;

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

/// An answer as lines of text (`haven_core::answer_words`, the one formatter staff pages
/// and documents use too).
pub(crate) fn in_words(q: &Question, value: &Value, audience: &str) -> Vec<String> {
    answer_lines(q, value, audience)
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
