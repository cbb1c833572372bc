//! Who a case is about, in words: the young person's name and age, read from the questions
//! the service's definition names (`young_person_name`, `young_person_date_of_birth`,
//! `young_person_age`), so the staff case page's identity bar and the queue's rows agree and
//! no question key is written in code.

use chrono::NaiveDate;
use serde_json::Value;

use crate::answer_words::{STAFF, answer_in_words};
use crate::definition::condition::{age_on, lookup};
use crate::definition::{DataClass, ServiceDefinition};

/// The young person of a case as staff see them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YoungPerson {
    /// Their name as answered, or `None` when no named question was answered (anonymous
    /// reports).
    pub name: Option<String>,
    /// Their age today, from the first date of birth answered.
    pub age_today: Option<u32>,
    /// Their age when reported, in words, when no date of birth is known.
    pub age_reported: Option<String>,
}

impl YoungPerson {
    /// "Age 14", "Age 14 when referred", or `None`.
    pub fn age_words(&self) -> Option<String> {
        self.age_today
            .map(|years| format!("Age {years}"))
            .or_else(|| {
                self.age_reported
                    .as_ref()
                    .map(|words| format!("Age {words} when referred"))
            })
    }
}

/// The first of `keys` answered in `documents` (searched in the order given, each document
/// for every key before the next document), as words and as the raw value. A third-party
/// question is skipped unless `may_third_party`.
fn first_answer(
    def: &ServiceDefinition,
    keys: &[String],
    documents: &[&Value],
    may_third_party: bool,
) -> Option<(String, Value)> {
    for answers in documents {
        for key in keys {
            let Some((_, _, question)) = def.questions().find(|(_, _, q)| &q.key == key) else {
                continue;
            };
            if !may_third_party && question.data_class == DataClass::ThirdParty {
                continue;
            }
            if let Some(value) = lookup(answers, key) {
                let words = answer_in_words(question, value, STAFF);
                if !words.trim().is_empty() {
                    return Some((words, value.clone()));
                }
            }
        }
    }
    None
}

/// The young person of a case on `today` (Europe/London), from its answer documents, most
/// authoritative first (the latest stage received, then the referral).
pub fn young_person(
    def: &ServiceDefinition,
    documents: &[&Value],
    today: NaiveDate,
    may_third_party: bool,
) -> YoungPerson {
    let name = first_answer(def, &def.young_person_name, documents, may_third_party)
        .map(|(words, _)| words.chars().take(80).collect());
    let age_today = first_answer(
        def,
        &def.young_person_date_of_birth,
        documents,
        may_third_party,
    )
    .and_then(|(_, v)| {
        v.as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    })
    .and_then(|dob| age_on(dob, today));
    let age_reported = if age_today.is_some() {
        None
    } else {
        first_answer(def, &def.young_person_age, documents, may_third_party).map(|(w, _)| w)
    };
    YoungPerson {
        name,
        age_today,
        age_reported,
    }
}
