//! A referral's answers laid out by the definition's pages and questions (their labels, not
//! keys, each answer in words by `haven_core::answer_words`), with third-party information
//! split out so that only roles allowed it see it and nothing prepared for the young person
//! or family ever contains it (`haven_core::disclosure`).

use haven_core::answer_words::{STAFF, answer_in_words};
use haven_core::definition::{DataClass, ServiceDefinition};
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
pub fn at<'a>(answers: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.')
        .try_fold(answers, |value, part| value.get(part))
        .filter(|v| !v.is_null())
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
                value: answer_in_words(q, value, STAFF),
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

#[cfg(test)]
mod tests {
    use super::*;
    use haven_core::disclosure::without_third_party;
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
