//! Who a case is about, in words: the young person's name and age, read from the questions
//! the service's definition names (`young_person_name`, `young_person_date_of_birth`,
//! `young_person_age`), so the staff case page's identity bar and the queue's rows agree and
//! no question key is written in code.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
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

/// What the queue needs to name a case's young person, kept apart from the answers (sealed
/// with the case's key in `referrals.person`) so that listing a page of cases opens this
/// small value and not every row's whole answers: the name in words, the date of birth, and
/// the age as reported when no date of birth was given. Never from a third-party question.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_reported: Option<String>,
}

impl PersonSummary {
    /// The summary of `documents` (most authoritative first), as [`young_person`] reads them.
    pub fn of(def: &ServiceDefinition, documents: &[&Value], may_third_party: bool) -> Self {
        let name = first_answer(def, &def.young_person_name, documents, may_third_party)
            .map(|(words, _)| words.chars().take(80).collect());
        let date_of_birth = first_answer(
            def,
            &def.young_person_date_of_birth,
            documents,
            may_third_party,
        )
        .and_then(|(_, v)| {
            v.as_str()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        });
        let age_reported =
            first_answer(def, &def.young_person_age, documents, may_third_party).map(|(w, _)| w);
        Self {
            name,
            date_of_birth,
            age_reported,
        }
    }

    /// The young person on `today` (Europe/London).
    pub fn on(&self, today: NaiveDate) -> YoungPerson {
        let age_today = self.date_of_birth.and_then(|dob| age_on(dob, today));
        YoungPerson {
            name: self.name.clone(),
            age_today,
            age_reported: if age_today.is_some() {
                None
            } else {
                self.age_reported.clone()
            },
        }
    }

    /// The summary of a referral's answers as the queue stores it (no third-party question).
    pub fn of_referral(def: &ServiceDefinition, answers: &Value) -> Self {
        Self::of(def, &[answers], false)
    }

    /// The stored form (a small JSON object).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The stored form read back; `None` when it is not a summary.
    pub fn from_json(value: &Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }
}

/// The young person of a case on `today` (Europe/London), from its answer documents, most
/// authoritative first (the latest stage received, then the referral).
pub fn young_person(
    def: &ServiceDefinition,
    documents: &[&Value],
    today: NaiveDate,
    may_third_party: bool,
) -> YoungPerson {
    PersonSummary::of(def, documents, may_third_party).on(today)
}
