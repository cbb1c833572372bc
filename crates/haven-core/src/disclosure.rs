//! What may be disclosed to whom: answers without third-party information (for roles not
//! allowed it, and for anything prepared for the young person or family), and removing an
//! answer by its dotted key (for a recipient not allowed the referrer's identity).

use serde_json::Value;

use crate::definition::{DataClass, ServiceDefinition};

/// `answers` (of `stage`) without any answer to a question with `data_class = "third_party"`.
/// An unknown stage keeps every answer: there is no question to say what is third-party,
/// and callers only pass stages the case was received with.
pub fn without_third_party(def: &ServiceDefinition, stage: &str, answers: &Value) -> Value {
    without_third_party_but(def, stage, answers, |_| false)
}

/// `answers` (of `stage`) without the answers to third-party questions, except those for
/// which `keep(key)` holds (an onward recipient's `third_party_questions`).
pub fn without_third_party_but(
    def: &ServiceDefinition,
    stage: &str,
    answers: &Value,
    keep: impl Fn(&str) -> bool,
) -> Value {
    let mut answers = answers.clone();
    let Some(stage) = def.stage(stage) else {
        return answers;
    };
    for (_, q) in stage.questions() {
        if q.data_class == DataClass::ThirdParty && !keep(&q.key) {
            remove_answer(&mut answers, &q.key);
        }
    }
    answers
}

/// Only the answers of `stage` to the questions in `allowed` (the family copy's allow-list,
/// `[family_copy] questions`): every other answer is left out, and a third-party question is
/// never kept, even if listed (the definition check refuses that too). An unknown stage
/// keeps nothing.
pub fn only_allowed(
    def: &ServiceDefinition,
    stage: &str,
    answers: &Value,
    allowed: &[String],
) -> Value {
    let mut out = Value::Object(serde_json::Map::new());
    let Some(stage) = def.stage(stage) else {
        return out;
    };
    for (_, q) in stage.questions() {
        if q.data_class == DataClass::ThirdParty || !allowed.iter().any(|k| k == &q.key) {
            continue;
        }
        if let Some(value) = get_answer(answers, &q.key) {
            set_answer(&mut out, &q.key, value.clone());
        }
    }
    out
}

fn get_answer<'v>(answers: &'v Value, key: &str) -> Option<&'v Value> {
    key.split('.')
        .try_fold(answers, |value, part| value.get(part))
}

fn set_answer(out: &mut Value, key: &str, value: Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut at = out;
    for part in parts {
        let Value::Object(map) = at else { return };
        at = map
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    if let Value::Object(map) = at {
        map.insert(last.to_owned(), value);
    }
}

/// Removes the answer at a dotted key (`reporter.name`), if there is one.
pub fn remove_answer(answers: &mut Value, key: &str) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let parent = parts
        .iter()
        .try_fold(&mut *answers, |value, part| value.get_mut(*part));
    if let Some(Value::Object(map)) = parent {
        map.remove(last);
    }
}
