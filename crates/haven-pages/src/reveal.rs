//! Conditional questions shown under the answer they depend on (GOV.UK's conditional
//! reveal): a question whose definition `when` asks only for an option of another question
//! on the same page — `{ question = "lone_working.concerns", equals = true }`, `any_of`, or
//! `includes` for checkboxes — is rendered inside that option's conditional block. With
//! JavaScript, govuk-frontend shows it as soon as the option is chosen; without it, the
//! block stays hidden until the page is sent, and the page then comes back with the question
//! shown (`parse_page_form`'s `revealed`). A question revealed by several options is not
//! nested (a control has one id): it appears once the page is sent. The definition decides;
//! no question is named in code.

use haven_core::definition::{Question, QuestionKind};
use serde_json::{Map, Value};

use crate::values::answers_to_form;

/// Where a question is revealed: under these form values of the question `parent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reveal {
    pub parent: String,
    pub values: Vec<String>,
}

/// The kinds a revealed question may be (one control each; files need the whole page's
/// encoding and lists their own buttons, so they stay questions of their own).
pub(crate) fn revealable(kind: QuestionKind) -> bool {
    matches!(
        kind,
        QuestionKind::Text
            | QuestionKind::LongText
            | QuestionKind::Email
            | QuestionKind::Phone
            | QuestionKind::Number
            | QuestionKind::Date
    )
}

/// How `q` is revealed under another question of `page_questions`, if its condition is a
/// plain choice of that question (and nothing else).
pub(crate) fn reveal_of(q: &Question, page_questions: &[&Question]) -> Option<Reveal> {
    if !revealable(q.kind) {
        return None;
    }
    let condition = serde_json::to_value(q.when.as_ref()?).ok()?;
    let object = condition.as_object()?;
    let parent_key = object.get("question")?.as_str()?;
    let parent = page_questions
        .iter()
        .find(|p| p.key == parent_key && p.key != q.key)?;
    if !matches!(
        parent.kind,
        QuestionKind::YesNo | QuestionKind::Choice | QuestionKind::MultipleChoice
    ) || parent.when.is_some()
    {
        return None;
    }
    let wanted: Vec<Value> = match object.len() {
        2 => match (
            object.get("equals"),
            object.get("any_of"),
            object.get("includes"),
        ) {
            (Some(v), None, None) if parent.kind != QuestionKind::MultipleChoice => vec![v.clone()],
            (None, Some(Value::Array(vs)), None) if parent.kind != QuestionKind::MultipleChoice => {
                vs.clone()
            }
            (None, None, Some(Value::Array(vs))) if parent.kind == QuestionKind::MultipleChoice => {
                vs.clone()
            }
            _ => return None,
        },
        _ => return None,
    };
    let mut values = Vec::new();
    for v in wanted {
        // The option's form value, as the page writes it (`true` → `yes`).
        let answer = if parent.kind == QuestionKind::MultipleChoice {
            Value::Array(vec![v])
        } else {
            v
        };
        let mut doc = Map::new();
        insert_at(&mut doc, &parent.key, answer);
        let pairs = answers_to_form([*parent], &Value::Object(doc));
        values.extend(pairs.into_iter().map(|(_, value)| value));
    }
    // A control has one place on the page (one id): a question several options reveal is
    // asked after the page is sent instead, when it applies.
    (values.len() == 1).then(|| Reveal {
        parent: parent.key.clone(),
        values,
    })
}

/// Puts `value` at the dotted `key` of `doc`.
fn insert_at(doc: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            doc.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = doc
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = child {
                insert_at(map, rest, value);
            }
        }
    }
}
