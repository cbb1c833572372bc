//! Form fields → typed answers: the inverse of [`crate::values::answers_to_form`], plus the
//! page's validation (GOV.UK-style messages for what the person typed, then
//! `haven_core::answers::validate` restricted to this page's questions).

use std::collections::BTreeSet;

use haven_core::answers::{FieldError, META_KEYS};
use haven_core::definition::condition::{is_empty_answer, lookup};
use haven_core::definition::{Question, QuestionKind};
use serde::Serialize;
use serde_json::{Map, Number, Value};

mod checks;

use crate::dates::{self, DateInput};
use crate::form::Form;
use crate::nav::{self, shown_questions};
use crate::{PageRequest, naming};

/// Which submit button was pressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FormAction {
    /// "Continue": save the page and go to the next one when there are no errors.
    Continue,
    /// "Save and come back later": store what is valid, show the resume code.
    Save,
    /// "Add another" on a repeatable question: show the page again with one more item.
    Add { question: String },
    /// "Remove" on item `index` of a repeatable question: show the page again without it.
    Remove { question: String, index: usize },
}

/// What a submitted question page means.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageInput {
    /// Flat object: question key → typed answer, `null` to remove an answer (see
    /// [`crate::nav::apply_patch`]). Answers the person typed wrongly are left out, so the
    /// answer stored before is kept; `anonymity_confirmed` appears when the page has
    /// anonymity-checked questions.
    pub answers_patch: Value,
    /// Problems, each naming the field (`young_person.date_of_birth`, `professionals[1].email`),
    /// GOV.UK-style messages, in page order, at most one per field. Empty for add/remove.
    pub errors: Vec<FieldError>,
    pub action: FormAction,
    /// Questions of this page that this submission made apply (their condition became true):
    /// the person has not seen them yet, so show the page again rather than go on.
    pub revealed: Vec<String>,
}

impl PageInput {
    /// Whether the person can go on to the next page (or check answers).
    pub fn can_continue(&self) -> bool {
        self.action == FormAction::Continue && self.errors.is_empty() && self.revealed.is_empty()
    }
}

/// A safety limit on repeatable items, whatever a form claims (a tampered `KEY-items`).
const MAX_ITEMS_HARD: usize = 100;

/// Parses a submitted question page. `request.answers` are the stage's answers before this
/// submission (for conditions and anonymity confirmations). The form is the urlencoded body;
/// for file questions the server has already replaced each uploaded file part `KEY` by the
/// stored attachment's id (and dropped empty file parts).
pub fn parse_page_form(request: &PageRequest<'_>, form: &[(String, String)]) -> PageInput {
    let form = Form::new(form);
    let PageRequest {
        stage,
        page,
        audience,
        answers,
        today,
        ..
    } = *request;
    let action = parse_action(form.first(naming::ACTION_FIELD), &page.questions);
    let before = shown_questions(page, audience, answers, today);
    let mut patch = Map::new();
    let mut errors = Vec::new();
    let mut kept_items: Vec<(String, Vec<usize>)> = Vec::new();
    for q in &before {
        let label = message_label(q.label_for(audience));
        if q.kind == QuestionKind::Repeatable {
            let (items, kept) = parse_items(q, &form, &action, audience, &mut errors);
            patch.insert(q.key.clone(), items);
            kept_items.push((q.key.clone(), kept));
        } else if let Some(value) = parse_value(q, &q.key, &form, &label, &mut errors) {
            patch.insert(q.key.clone(), value);
        }
    }
    // Answers to questions of this page the person is not asked any more are removed.
    for q in page
        .questions
        .iter()
        .filter(|q| !before.iter().any(|b| b.key == q.key))
    {
        if lookup(answers, &q.key).is_some() {
            patch.insert(q.key.clone(), Value::Null);
        }
    }
    if stage.anonymous {
        confirm_anonymity(&before, answers, &form, &mut patch);
    }
    let mut merged = answers.clone();
    nav::apply_patch(&mut merged, &Value::Object(patch.clone()));
    let after = shown_questions(page, audience, &merged, today);
    // A question this submission made apply was perhaps on the page already, revealed under
    // the option just chosen (JavaScript): what was typed into it is kept and checked. Left
    // blank (or never seen, without JavaScript), the page comes back with it shown.
    let mut revealed: Vec<String> = Vec::new();
    for q in after
        .iter()
        .filter(|q| !before.iter().any(|b| b.key == q.key))
    {
        let label = message_label(q.label_for(audience));
        if !crate::reveal::revealable(q.kind) {
            revealed.push(q.key.clone());
            continue;
        }
        let mut typed_errors = Vec::new();
        match parse_value(q, &q.key, &form, &label, &mut typed_errors) {
            Some(Value::Null) => revealed.push(q.key.clone()),
            Some(value) => {
                patch.insert(q.key.clone(), value);
            }
            None if typed_errors.is_empty() => revealed.push(q.key.clone()),
            None => errors.extend(typed_errors),
        }
    }
    nav::apply_patch(&mut merged, &Value::Object(patch.clone()));
    for q in before
        .iter()
        .filter(|q| !after.iter().any(|a| a.key == q.key))
    {
        patch.insert(q.key.clone(), Value::Null);
    }
    nav::apply_patch(&mut merged, &Value::Object(patch.clone()));
    let errors = match action {
        FormAction::Add { .. } | FormAction::Remove { .. } => Vec::new(),
        FormAction::Continue | FormAction::Save => {
            let checked: Vec<&Question> = after
                .iter()
                .copied()
                .filter(|q| !revealed.contains(&q.key))
                .collect();
            let mut all = errors;
            all.extend(checks::core_errors(request, &checked, &merged, &kept_items));
            checks::finish_errors(all, &checked, audience)
        }
    };
    PageInput {
        answers_patch: Value::Object(patch),
        errors,
        action,
        revealed,
    }
}

fn parse_action(value: Option<&str>, questions: &[Question]) -> FormAction {
    let value = value.unwrap_or_default().trim();
    let repeatable = |key: &str| {
        questions
            .iter()
            .any(|q| q.key == key && q.kind == QuestionKind::Repeatable)
    };
    if value == naming::action::SAVE {
        return FormAction::Save;
    }
    if let Some(key) = value.strip_prefix("add:")
        && repeatable(key)
    {
        return FormAction::Add {
            question: key.to_owned(),
        };
    }
    if let Some((key, index)) = value
        .strip_prefix("remove:")
        .and_then(|rest| rest.rsplit_once(':'))
        && repeatable(key)
        && let Ok(index) = index.parse::<usize>()
    {
        return FormAction::Remove {
            question: key.to_owned(),
            index,
        };
    }
    FormAction::Continue
}

/// A label as it reads inside a sentence: "What is their date of birth?" → "What is their date of birth".
pub(crate) fn message_label(label: &str) -> String {
    label
        .trim()
        .trim_end_matches(['?', ':', '.'])
        .trim()
        .to_owned()
}

/// One answer. `Some(Value::Null)` when left blank; `None` when what was typed is wrong
/// (an error is pushed, and the answer stored before is kept).
pub(crate) fn parse_value(
    q: &Question,
    base: &str,
    form: &Form<'_>,
    label: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let blank_to_null = |s: &str| {
        if s.is_empty() {
            Value::Null
        } else {
            Value::String(s.to_owned())
        }
    };
    match q.kind {
        QuestionKind::Text | QuestionKind::Email | QuestionKind::Phone | QuestionKind::Choice => {
            Some(blank_to_null(form.text(base)))
        }
        QuestionKind::LongText => {
            // Browsers send CRLF; the character count and the stored text count LF.
            let text = form.first(base).unwrap_or_default().replace("\r\n", "\n");
            Some(blank_to_null(text.trim()))
        }
        QuestionKind::Number => {
            let text: String = form
                .text(base)
                .chars()
                .filter(|c| *c != ',' && !c.is_whitespace())
                .collect();
            if text.is_empty() {
                return Some(Value::Null);
            }
            match text.parse::<f64>().ok().filter(|n| n.is_finite()) {
                Some(n) => Some(number_value(n)),
                None => {
                    errors.push(FieldError::new(base, format!("{label} must be a number")));
                    None
                }
            }
        }
        QuestionKind::Date => match dates::read(form, base, label) {
            DateInput::Empty => Some(Value::Null),
            DateInput::Date(date) => Some(Value::String(date.format("%Y-%m-%d").to_string())),
            DateInput::Invalid { message, .. } => {
                errors.push(FieldError::new(base, message));
                None
            }
        },
        QuestionKind::YesNo => match form.text(base) {
            "" => Some(Value::Null),
            "yes" => Some(Value::Bool(true)),
            "no" => Some(Value::Bool(false)),
            _ => {
                errors.push(FieldError::new(
                    base,
                    format!("Select yes or no for \u{201c}{label}\u{201d}"),
                ));
                None
            }
        },
        QuestionKind::MultipleChoice => {
            let mut seen = BTreeSet::new();
            let chosen: Vec<Value> = form
                .all(base)
                .into_iter()
                .filter(|v| seen.insert(*v))
                .map(|v| Value::String(v.to_owned()))
                .collect();
            Some(if chosen.is_empty() {
                Value::Null
            } else {
                Value::Array(chosen)
            })
        }
        QuestionKind::IndicatorMatrix => {
            let mut rows = Map::new();
            for row in &q.options {
                let name = naming::matrix_row(base, &row.key);
                let ticked: Vec<&str> = q
                    .columns
                    .iter()
                    .map(|c| c.key.as_str())
                    .filter(|c| form.has(&name, c))
                    .collect();
                let cell = match ticked.as_slice() {
                    [] => continue,
                    [one] => Value::String((*one).to_owned()),
                    several if several.len() == 2 && q.columns.len() == 2 => {
                        Value::String("both".to_owned())
                    }
                    several => Value::Array(
                        several
                            .iter()
                            .map(|c| Value::String((*c).to_owned()))
                            .collect(),
                    ),
                };
                rows.insert(row.key.clone(), cell);
            }
            Some(if rows.is_empty() {
                Value::Null
            } else {
                Value::Object(rows)
            })
        }
        QuestionKind::File => {
            let removed = form.all(&naming::file_remove(base));
            let current: Vec<String> = form
                .all(&naming::file_current(base))
                .into_iter()
                .filter(|id| !removed.contains(id))
                .map(str::to_owned)
                .collect();
            let new: Vec<String> = form.all(base).into_iter().map(str::to_owned).collect();
            if q.max_items.is_some() {
                let ids: Vec<Value> = current.into_iter().chain(new).map(Value::String).collect();
                Some(if ids.is_empty() {
                    Value::Null
                } else {
                    Value::Array(ids)
                })
            } else {
                Some(
                    new.into_iter()
                        .next()
                        .or_else(|| current.into_iter().next())
                        .map_or(Value::Null, Value::String),
                )
            }
        }
        // Repeatable questions are parsed by `parse_items`.
        QuestionKind::Repeatable => None,
    }
}

/// Stores a number as an integer when it is one (`12`, not `12.0`), so answers compare equal.
fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        Value::from(n as i64)
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// The items of a repeatable question, after the add/remove action; on continue/save, items
/// left wholly blank are dropped. Returns the items and, for each kept item, its index in
/// the form (to point errors at the right item).
fn parse_items(
    q: &Question,
    form: &Form<'_>,
    action: &FormAction,
    audience: &str,
    errors: &mut Vec<FieldError>,
) -> (Value, Vec<usize>) {
    let count = form
        .text(&naming::item_count(&q.key))
        .parse::<usize>()
        .unwrap_or(0)
        .min(q.max_items.unwrap_or(MAX_ITEMS_HARD).min(MAX_ITEMS_HARD));
    let mut items: Vec<(usize, Map<String, Value>)> = Vec::new();
    for i in 0..count {
        let mut item = Map::new();
        for f in &q.fields {
            let base = naming::item_field(&q.key, i, &f.key);
            let label = message_label(f.label_for(audience));
            if let Some(value) = parse_value(f, &base, form, &label, errors)
                && !is_empty_answer(&value)
            {
                item.insert(f.key.clone(), value);
            }
        }
        items.push((i, item));
    }
    match action {
        FormAction::Add { question } if *question == q.key => {
            if items.len() < q.max_items.unwrap_or(MAX_ITEMS_HARD).min(MAX_ITEMS_HARD) {
                items.push((items.len(), Map::new()));
            }
        }
        FormAction::Remove { question, index } if *question == q.key => {
            if *index < items.len() {
                items.remove(*index);
            }
        }
        FormAction::Add { .. } | FormAction::Remove { .. } => {}
        FormAction::Continue | FormAction::Save => {
            // A blank item has no error of its own: an error typed into it keeps it.
            let with_errors: BTreeSet<usize> = (0..count)
                .filter(|i| {
                    let prefix = format!("{}[{i}].", q.key);
                    errors.iter().any(|e| e.field.starts_with(&prefix))
                })
                .collect();
            items.retain(|(i, item)| !item.is_empty() || with_errors.contains(i));
        }
    }
    let kept = items.iter().map(|(i, _)| *i).collect();
    let values: Vec<Value> = items
        .into_iter()
        .map(|(_, item)| Value::Object(item))
        .collect();
    (
        if values.is_empty() {
            Value::Null
        } else {
            Value::Array(values)
        },
        kept,
    )
}

/// Records which anonymity findings the person confirmed are not about a person. A
/// confirmation counts only for the text it was given for: if the text changed in this
/// submission, it is dropped and the new text is checked again.
fn confirm_anonymity(
    shown: &[&Question],
    answers: &Value,
    form: &Form<'_>,
    patch: &mut Map<String, Value>,
) {
    let checked: Vec<&str> = shown
        .iter()
        .filter(|q| q.checks_anonymity())
        .map(|q| q.key.as_str())
        .collect();
    if checked.is_empty() {
        return;
    }
    let meta = META_KEYS[0];
    let mut confirmed: Vec<String> = answers
        .get(meta)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|k| !checked.contains(k))
        .map(str::to_owned)
        .collect();
    for key in checked {
        let unchanged = patch
            .get(key)
            .is_some_and(|new| Some(new) == lookup(answers, key));
        if unchanged && form.has(naming::ANONYMITY_CONFIRMED, key) {
            confirmed.push(key.to_owned());
        }
    }
    let value = if confirmed.is_empty() {
        Value::Null
    } else {
        Value::Array(confirmed.into_iter().map(Value::String).collect())
    };
    patch.insert(meta.to_owned(), value);
}
