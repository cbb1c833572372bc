//! A referral's answers laid out by the definition's pages and questions (their labels, not
//! keys), with third-party information split out so that only roles allowed it see it and
//! nothing prepared for the young person or family ever contains it.

use haven_core::definition::{DataClass, Question, QuestionKind, ServiceDefinition};
use serde::Serialize;
use serde_json::Value;

/// One question and its answer in words.
#[derive(Debug, Serialize)]
pub struct AnswerRow {
    pub label: String,
    pub value: String,
}

/// One page of the form.
#[derive(Debug, Serialize)]
pub struct Section {
    pub title: String,
    pub rows: Vec<AnswerRow>,
}

/// The answers by section, ordinary and third-party apart.
#[derive(Debug, Serialize, Default)]
pub struct LaidOut {
    pub sections: Vec<Section>,
    /// Questions with `data_class = "third_party"` that have an answer.
    pub third_party: Vec<AnswerRow>,
}

/// The value at a dotted key (`young_person.name`).
fn at<'a>(answers: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.')
        .try_fold(answers, |value, part| value.get(part))
        .filter(|v| !v.is_null())
}

fn option_label(q: &Question, key: &str) -> String {
    q.options
        .iter()
        .find(|o| o.key == key)
        .map_or_else(|| key.to_owned(), |o| o.label.clone())
}

fn column_label(q: &Question, key: &str) -> String {
    if key == "both" {
        return q
            .columns
            .iter()
            .map(|c| c.label.clone())
            .collect::<Vec<_>>()
            .join(" and ");
    }
    q.columns
        .iter()
        .find(|c| c.key == key)
        .map_or_else(|| key.to_owned(), |c| c.label.clone())
}

/// An answer in words (labels for option keys).
pub fn words(q: &Question, value: &Value) -> String {
    match (q.kind, value) {
        (QuestionKind::YesNo, Value::Bool(b)) => if *b { "Yes" } else { "No" }.to_owned(),
        (QuestionKind::Choice, Value::String(s)) => option_label(q, s),
        (QuestionKind::MultipleChoice, Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|k| option_label(q, k))
            .collect::<Vec<_>>()
            .join("; "),
        (QuestionKind::IndicatorMatrix, Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}: {}",
                    option_label(q, k),
                    column_label(q, v.as_str().unwrap_or_default())
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        (QuestionKind::Repeatable, Value::Array(items)) => items
            .iter()
            .map(|item| {
                q.fields
                    .iter()
                    .filter_map(|f| {
                        let v = at(item, &f.key)
                            .or_else(|| f.key.rsplit('.').next().and_then(|last| item.get(last)))?;
                        Some(format!("{}: {}", f.label, words(f, v)))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect::<Vec<_>>()
            .join(" | "),
        (QuestionKind::File, _) => "Attached file".to_owned(),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Number(n)) => n.to_string(),
        (_, Value::Bool(b)) => if *b { "Yes" } else { "No" }.to_owned(),
        (_, other) => other.to_string(),
    }
}

/// Lays out the answers of `stage` (`answers` is that stage's document).
pub fn lay_out(def: &ServiceDefinition, stage: &str, answers: &Value) -> LaidOut {
    let mut out = LaidOut::default();
    let Some(stage) = def.stage(stage) else {
        return out;
    };
    for page in &stage.pages {
        let mut rows = Vec::new();
        for q in &page.questions {
            let Some(value) = at(answers, &q.key) else {
                continue;
            };
            let row = AnswerRow {
                label: q.label.clone(),
                value: words(q, value),
            };
            if q.data_class == DataClass::ThirdParty {
                out.third_party.push(row);
            } else {
                rows.push(row);
            }
        }
        if !rows.is_empty() {
            out.sections.push(Section {
                title: page.title.clone(),
                rows,
            });
        }
    }
    out
}

/// `answers` without any third-party question's answer (for roles not allowed it, and for
/// anything prepared for the young person or family).
pub fn without_third_party(def: &ServiceDefinition, stage: &str, answers: &Value) -> Value {
    let mut answers = answers.clone();
    let Some(stage) = def.stage(stage) else {
        return answers;
    };
    for (_, q) in stage.questions() {
        if q.data_class != DataClass::ThirdParty {
            continue;
        }
        let mut parts: Vec<&str> = q.key.split('.').collect();
        let Some(last) = parts.pop() else { continue };
        let parent = parts
            .iter()
            .try_fold(&mut answers, |value, part| value.get_mut(*part));
        if let Some(Value::Object(map)) = parent {
            map.remove(last);
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secos_third_party_answers_are_split_out_and_removable() {
        let registry = crate::services::Registry::load(None).unwrap();
        let def = registry.get("secos").unwrap();
        let answers = json!({
            "third_party": { "information": "SECRET-3P", "rationale": "why" },
            "young_person": { "first_name": "Chloe" }
        });
        let laid = lay_out(def, "referral", &answers);
        let shown = serde_json::to_string(&laid.sections).unwrap();
        assert!(!shown.contains("SECRET-3P"));
        assert!(
            serde_json::to_string(&laid.third_party)
                .unwrap()
                .contains("SECRET-3P")
        );
        let stripped = without_third_party(def, "referral", &answers);
        assert!(!stripped.to_string().contains("SECRET-3P"));
    }
}
