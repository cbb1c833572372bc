//! What the work queue needs to know about the loaded services: which states are closed, and
//! each service's bands in the definition's order (synced to `service_bands` at start-up).

use crate::services::Registry;

/// `service:state` of every terminal state of every loaded service.
pub fn closed_states(registry: &Registry) -> Vec<String> {
    registry
        .definitions()
        .flat_map(|def| {
            def.workflow
                .iter()
                .flat_map(|w| w.states.iter())
                .filter(|s| s.terminal)
                .map(move |s| format!("{}:{}", def.id, s.key))
        })
        .collect()
}

/// Each loaded service's `bands` list (lowest first, as the definition writes it), for
/// [`crate::storage::Storage::sync_band_ranks`] at start-up: the queue orders by it.
pub fn band_orders(registry: &Registry) -> Vec<(String, Vec<String>)> {
    registry
        .definitions()
        .map(|def| {
            let bands = def
                .screening
                .as_ref()
                .map(|s| s.bands.clone())
                .unwrap_or_default();
            (def.id.clone(), bands)
        })
        .collect()
}

/// Who a queue row is about, in words: the young person's name and age, from the case's
/// answers (opened for the page's rows only, in one read: `QueueFilter::open_answers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YoungPerson {
    /// "Not given" when the form did not ask or they did not say (anonymous reports).
    pub name: String,
    /// "14", or "Not given".
    pub age: String,
}

/// The answer keys a young person's name is read from, first found wins.
const NAME_KEYS: [&str; 2] = ["young_person.name", "young_person.first_name"];
/// Their date of birth (the age is worked out on `today`).
const BIRTH_KEYS: [&str; 1] = ["young_person.date_of_birth"];
/// An age given directly.
const AGE_KEYS: [&str; 2] = ["young_person.age", "young_person_age"];

fn at<'v>(answers: &'v serde_json::Value, key: &str) -> Option<&'v serde_json::Value> {
    key.split('.')
        .try_fold(answers, |value, part| value.get(part))
}

/// The young person of a case, from its answers, on `today` (Europe/London).
pub fn young_person(answers: &serde_json::Value, today: chrono::NaiveDate) -> YoungPerson {
    let name = NAME_KEYS
        .iter()
        .filter_map(|k| at(answers, k).and_then(serde_json::Value::as_str))
        .map(str::trim)
        .find(|n| !n.is_empty())
        .map(|n| n.chars().take(80).collect::<String>());
    let from_birth = BIRTH_KEYS
        .iter()
        .filter_map(|k| at(answers, k).and_then(serde_json::Value::as_str))
        .filter_map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .find_map(|dob| haven_core::definition::condition::age_on(dob, today));
    let given = AGE_KEYS
        .iter()
        .filter_map(|k| at(answers, k).and_then(serde_json::Value::as_f64))
        .find(|a| a.is_finite() && *a >= 0.0 && *a < 150.0)
        .map(|a| a.trunc() as u32);
    YoungPerson {
        name: name.unwrap_or_else(|| "Not given".to_owned()),
        age: from_birth
            .or(given)
            .map_or_else(|| "Not given".to_owned(), |a| a.to_string()),
    }
}

/// How long a case has waited since it was received, in words: "waited 40 minutes",
/// "waited 3 hours", "waited 2 days".
pub fn waited_words(
    received: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let minutes = (now - received).num_minutes().max(0);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("waited 1 {unit}")
        } else {
            format!("waited {n} {unit}s")
        }
    };
    if minutes < 60 {
        plural(minutes.max(1), "minute")
    } else if minutes < 48 * 60 {
        plural(minutes / 60, "hour")
    } else {
        plural(minutes / (24 * 60), "day")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use serde_json::json;

    #[test]
    fn a_young_person_in_words() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 12).unwrap_or_default();
        let yp = young_person(
            &json!({"young_person": {"name": " Zoë ", "date_of_birth": "2011-05-13"}}),
            today,
        );
        assert_eq!(yp.name, "Zoë");
        assert_eq!(yp.age, "14");
        let anonymous = young_person(&json!({"young_person_age": 15}), today);
        assert_eq!(anonymous.name, "Not given");
        assert_eq!(anonymous.age, "15");
        assert_eq!(young_person(&json!({}), today).age, "Not given");
    }

    #[test]
    fn waiting_in_words() {
        let at = Utc.with_ymd_and_hms(2026, 5, 12, 9, 0, 0).unwrap();
        let later = |m| at + chrono::Duration::minutes(m);
        assert_eq!(waited_words(at, later(0)), "waited 1 minute");
        assert_eq!(waited_words(at, later(40)), "waited 40 minutes");
        assert_eq!(waited_words(at, later(190)), "waited 3 hours");
        assert_eq!(waited_words(at, later(60)), "waited 1 hour");
        assert_eq!(waited_words(at, later(3 * 24 * 60)), "waited 3 days");
    }
}
