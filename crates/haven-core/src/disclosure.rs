//! What may be disclosed to whom: answers without third-party information (for roles not
//! allowed it, and for anything prepared for the young person or family), and removing an
//! answer by its dotted key (for a recipient not allowed the referrer's identity).

use serde_json::Value;

use crate::definition::{DataClass, ServiceDefinition};

/// `answers` (of `stage`) without any answer to a question with `data_class = "third_party"`.
/// An unknown stage keeps every answer: there is no question to say what is third-party,
/// and callers only pass stages the case was received with.
pub fn without_third_party(def: &ServiceDefinition, stage: &str, answers: &Value) -> Value {
    let mut answers = answers.clone();
    let Some(stage) = def.stage(stage) else {
        return answers;
    };
    for (_, q) in stage.questions() {
        if q.data_class == DataClass::ThirdParty {
            remove_answer(&mut answers, &q.key);
        }
    }
    answers
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
