//! Which pages and questions apply to a person, given their audience and answers so far, and
//! the order they go through them in.
//!
//! Conditions (`when`) are evaluated on the stage's answers on a given day (ages are counted
//! on that day), exactly as `haven_core::answers::validate` evaluates them, so a page the
//! person never sees is never required.

use chrono::NaiveDate;
use haven_core::definition::condition::AnswerFacts;
use haven_core::definition::{Page, Question, Stage};
use serde_json::{Map, Value};

/// The questions of a page asked of this audience whose condition holds for these answers.
pub fn shown_questions<'p>(
    page: &'p Page,
    audience: &str,
    answers: &Value,
    today: NaiveDate,
) -> Vec<&'p Question> {
    let facts = AnswerFacts { answers, today };
    page.questions
        .iter()
        .filter(|q| q.asked_of(audience))
        .filter(|q| q.when.as_ref().is_none_or(|c| c.holds(&facts)))
        .collect()
}

/// Whether a page applies: shown to the audience, its condition holds, and it asks at least
/// one question (or it is a stop page, which asks none).
pub fn page_applies(page: &Page, audience: &str, answers: &Value, today: NaiveDate) -> bool {
    page.shown_to(audience)
        && page
            .when
            .as_ref()
            .is_none_or(|c| c.holds(&AnswerFacts { answers, today }))
        && (page.stop.is_some() || !shown_questions(page, audience, answers, today).is_empty())
}

/// The pages this person goes through, in order.
pub fn applicable_pages<'s>(
    stage: &'s Stage,
    audience: &str,
    answers: &Value,
    today: NaiveDate,
) -> Vec<&'s Page> {
    stage
        .pages
        .iter()
        .filter(|p| page_applies(p, audience, answers, today))
        .collect()
}

/// The first page of the stage for this person.
pub fn first_page<'s>(
    stage: &'s Stage,
    audience: &str,
    answers: &Value,
    today: NaiveDate,
) -> Option<&'s Page> {
    stage
        .pages
        .iter()
        .find(|p| page_applies(p, audience, answers, today))
}

/// The page after `current` (by key), or `None` when the next step is checking answers.
/// Works even when `current` itself no longer applies (its answers changed a condition).
pub fn next_page<'s>(
    stage: &'s Stage,
    audience: &str,
    answers: &Value,
    current: &str,
    today: NaiveDate,
) -> Option<&'s Page> {
    let position = stage.pages.iter().position(|p| p.key == current)?;
    stage.pages[position + 1..]
        .iter()
        .find(|p| page_applies(p, audience, answers, today))
}

/// The page before `current`, or `None` when it is the first (go back to the start).
pub fn previous_page<'s>(
    stage: &'s Stage,
    audience: &str,
    answers: &Value,
    current: &str,
    today: NaiveDate,
) -> Option<&'s Page> {
    let position = stage.pages.iter().position(|p| p.key == current)?;
    stage.pages[..position]
        .iter()
        .rev()
        .find(|p| page_applies(p, audience, answers, today))
}

/// The page asking the question an error names (`professionals[1].email` → the page of
/// `professionals`), so a submission refused with field errors can send the person there.
pub fn page_of_field<'s>(stage: &'s Stage, field: &str) -> Option<&'s Page> {
    let key = question_key_of_field(field);
    stage
        .pages
        .iter()
        .find(|p| p.questions.iter().any(|q| q.key == key))
}

/// The question key an error field belongs to: `professionals[1].email` → `professionals`.
pub fn question_key_of_field(field: &str) -> &str {
    field.split('[').next().unwrap_or(field)
}

/// The first page with a required question still unanswered (or any page at all with a
/// problem, by `validate`'s errors): where "resume" takes someone back to. `None` when every
/// applicable page is complete.
pub fn first_incomplete_page<'s>(
    stage: &'s Stage,
    audience: &str,
    answers: &Value,
    today: NaiveDate,
) -> Option<&'s Page> {
    let errors = haven_core::answers::validate(stage, audience, answers, today).err()?;
    applicable_pages(stage, audience, answers, today)
        .into_iter()
        .find(|p| {
            errors.iter().any(|e| {
                p.questions
                    .iter()
                    .any(|q| q.key == question_key_of_field(&e.field))
            })
        })
}

/// The answers without those to questions that no longer apply (a page or question whose
/// condition became false, or not asked of this audience), so that a submission carries only
/// what the person was asked. Repeated until nothing changes, because removing an answer can
/// turn another condition off.
pub fn prune_inapplicable(
    stage: &Stage,
    audience: &str,
    answers: &Value,
    today: NaiveDate,
) -> Value {
    let mut current = answers.clone();
    for _ in 0..=stage.questions().count() {
        let keep: Vec<&str> = applicable_pages(stage, audience, &current, today)
            .into_iter()
            .flat_map(|p| shown_questions(p, audience, &current, today))
            .map(|q| q.key.as_str())
            .collect();
        let mut next = Value::Object(Map::new());
        for key in keep {
            if let Some(value) = haven_core::definition::condition::lookup(&current, key) {
                set_path(&mut next, key, value.clone());
            }
        }
        if let Some(confirmed) = current.get(haven_core::answers::META_KEYS[0]) {
            if let Some(map) = next.as_object_mut() {
                map.insert(
                    haven_core::answers::META_KEYS[0].to_owned(),
                    confirmed.clone(),
                );
            }
        }
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// Sets a dotted path in a JSON object, creating objects on the way (a non-object in the way
/// is replaced: answers are always objects down to the question).
pub(crate) fn set_path(root: &mut Value, key: &str, value: Value) {
    let mut node = root;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Some(map) = node.as_object_mut() else {
            return;
        };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        node = map
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Applies a page's answers patch to the stage's answers. The patch is flat: each key is a
/// whole question key (`young_person.date_of_birth`) and its value replaces that answer
/// whole (an indicator matrix or a repeatable list is never merged item by item); `null`
/// removes the answer, and any group object it leaves empty.
pub fn apply_patch(answers: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        return;
    };
    if !answers.is_object() {
        *answers = Value::Object(Map::new());
    }
    for (key, value) in patch {
        if value.is_null() {
            remove_path(answers, key);
        } else {
            set_path(answers, key, value.clone());
        }
    }
}

/// Removes a dotted path and any object it leaves empty.
fn remove_path(root: &mut Value, key: &str) {
    fn walk(node: &mut Value, parts: &[&str]) {
        let Some(map) = node.as_object_mut() else {
            return;
        };
        match parts {
            [] => {}
            [last] => {
                map.remove(*last);
            }
            [first, rest @ ..] => {
                if let Some(child) = map.get_mut(*first) {
                    walk(child, rest);
                    if child.as_object().is_some_and(Map::is_empty) {
                        map.remove(*first);
                    }
                }
            }
        }
    }
    let parts: Vec<&str> = key.split('.').collect();
    walk(root, &parts);
}
