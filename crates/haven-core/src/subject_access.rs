//! Subject access requests (issue 17): the statutory clock and the checks on what staff type
//! when they open, extend, refuse a request or decide on an item of its export.
//!
//! The clock (UK GDPR Art. 12(3), the ICO's guidance): a request is answered within one
//! calendar month of the day it was received, on "the corresponding calendar date" of the
//! next month, or the last day of that month when it has no such date (received 31 January:
//! due 28 February, or 29 February in a leap year). It may be extended by up to two further
//! months, with a reason. Pure: the day received and today are parameters.

use chrono::{Months, NaiveDate};

/// Most months a request may be extended by, in all.
pub const MAX_EXTENSION_MONTHS: u32 = 2;
/// Longest free text (a name, a reason), in characters.
pub const MAX_TEXT: usize = 2000;

/// Who asked, as the form offers it: `(key, words)`.
pub const RELATIONSHIPS: [(&str, &str); 3] = [
    ("young_person", "The young person"),
    ("parent_or_carer", "A parent or carer"),
    (
        "representative",
        "Someone acting for them (for example a solicitor or advocate)",
    ),
];

/// How the requester's identity was checked: `(key, words)`.
pub const IDENTITY_CHECKS: [(&str, &str); 4] = [
    ("photo_id", "Photo identification seen"),
    (
        "known_to_service",
        "Known to the service (verified in person or by a known contact)",
    ),
    (
        "documents",
        "Documents checked (for example a birth certificate or a court order)",
    ),
    (
        "authority",
        "Written authority from the young person checked",
    ),
];

/// The words for a relationship key (the key itself if unknown).
pub fn relationship_words(key: &str) -> &str {
    RELATIONSHIPS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, w)| w)
}

/// The words for an identity check key (the key itself if unknown).
pub fn identity_check_words(key: &str) -> &str {
    IDENTITY_CHECKS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, w)| w)
}

/// `day` plus `months` calendar months: the corresponding date, or the last day of the
/// month when there is none. `None` past the end of the calendar.
pub fn add_months(day: NaiveDate, months: u32) -> Option<NaiveDate> {
    // chrono clamps to the last day of the month, which is exactly the UK rule.
    day.checked_add_months(Months::new(months))
}

/// The day a request received on `received` must be answered by, extended by
/// `extended_months` (0 to [`MAX_EXTENSION_MONTHS`]).
pub fn due_on(received: NaiveDate, extended_months: u32) -> Option<NaiveDate> {
    add_months(received, 1 + extended_months.min(MAX_EXTENSION_MONTHS))
}

/// Whole days from `today` to `due` (negative once overdue).
pub fn days_left(due: NaiveDate, today: NaiveDate) -> i64 {
    (due - today).num_days()
}

/// "12 days left", "Due today", "3 days overdue".
pub fn days_left_words(due: NaiveDate, today: NaiveDate) -> String {
    match days_left(due, today) {
        0 => "Due today".to_owned(),
        1 => "1 day left".to_owned(),
        n if n > 1 => format!("{n} days left"),
        -1 => "1 day overdue".to_owned(),
        n => format!("{} days overdue", -n),
    }
}

/// One problem with a field: `(field, message)`.
pub type Problem = (String, String);

fn text(problems: &mut Vec<Problem>, field: &str, value: &str, what: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        problems.push((field.to_owned(), format!("Enter {what}")));
        return None;
    }
    if value.chars().count() > MAX_TEXT {
        problems.push((
            field.to_owned(),
            format!("Must be {MAX_TEXT} characters or fewer"),
        ));
        return None;
    }
    if let Some(c) = crate::answers::forbidden_character(value) {
        problems.push((
            field.to_owned(),
            format!("Must not contain the character U+{:04X}", u32::from(c)),
        ));
        return None;
    }
    Some(value.to_owned())
}

/// A request as staff opened it, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub requester_name: String,
    pub relationship: String,
    pub identity_check: String,
    pub identity_detail: String,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
}

impl std::fmt::Debug for NewRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRequest")
            .field("relationship", &self.relationship)
            .field("received_on", &self.received_on)
            .finish_non_exhaustive()
    }
}

/// What the form sent.
#[derive(Debug, Clone, Default)]
pub struct RequestInput<'a> {
    pub requester_name: &'a str,
    pub relationship: &'a str,
    pub identity_check: &'a str,
    pub identity_detail: &'a str,
    pub received_day: &'a str,
    pub received_month: &'a str,
    pub received_year: &'a str,
}

/// Checks a new request (fields `requester_name`, `relationship`, `identity_check`,
/// `identity_detail`, `received`): the day received is a real date, not after `today`.
pub fn check_request(
    input: &RequestInput<'_>,
    today: NaiveDate,
) -> Result<NewRequest, Vec<Problem>> {
    let mut problems = Vec::new();
    let name = text(
        &mut problems,
        "requester_name",
        input.requester_name,
        "the name of the person who asked",
    );
    let relationship = RELATIONSHIPS
        .iter()
        .find(|(k, _)| *k == input.relationship)
        .map(|(k, _)| (*k).to_owned());
    if relationship.is_none() {
        problems.push((
            "relationship".to_owned(),
            "Select who asked for the information".to_owned(),
        ));
    }
    let check = IDENTITY_CHECKS
        .iter()
        .find(|(k, _)| *k == input.identity_check)
        .map(|(k, _)| (*k).to_owned());
    if check.is_none() {
        problems.push((
            "identity_check".to_owned(),
            "Select how their identity was checked".to_owned(),
        ));
    }
    let detail = text(
        &mut problems,
        "identity_detail",
        input.identity_detail,
        "what was seen or checked",
    );
    let received = received_day(input, today, &mut problems);
    match (name, relationship, check, detail, received) {
        (Some(name), Some(relationship), Some(check), Some(detail), Some(received))
            if problems.is_empty() =>
        {
            let Some(due) = due_on(received, 0) else {
                return Err(vec![(
                    "received".to_owned(),
                    "Enter a real date".to_owned(),
                )]);
            };
            Ok(NewRequest {
                requester_name: name,
                relationship,
                identity_check: check,
                identity_detail: detail,
                received_on: received,
                due_on: due,
            })
        }
        _ => Err(problems),
    }
}

fn received_day(
    input: &RequestInput<'_>,
    today: NaiveDate,
    problems: &mut Vec<Problem>,
) -> Option<NaiveDate> {
    let parts = [
        input.received_day.trim(),
        input.received_month.trim(),
        input.received_year.trim(),
    ];
    if parts.iter().all(|p| p.is_empty()) {
        problems.push((
            "received".to_owned(),
            "Enter the date the request was received".to_owned(),
        ));
        return None;
    }
    let number = |p: &str| p.parse::<u32>().ok();
    let day = match (number(parts[0]), number(parts[1]), number(parts[2])) {
        (Some(d), Some(m), Some(y)) if (2000..=2100).contains(&y) => i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, m, d)),
        _ => None,
    };
    match day {
        None => {
            problems.push((
                "received".to_owned(),
                "The date received must be a real date, for example 27 3 2026".to_owned(),
            ));
            None
        }
        Some(d) if d > today => {
            problems.push((
                "received".to_owned(),
                "The date received must be today or in the past".to_owned(),
            ));
            None
        }
        Some(d) => Some(d),
    }
}

/// Checks an extension of `months` more (field `months`) with its `reason` (field
/// `reason`), given the months already added: at most [`MAX_EXTENSION_MONTHS`] in all.
pub fn check_extension(
    already: u32,
    months: &str,
    reason: &str,
) -> Result<(u32, String), Vec<Problem>> {
    let mut problems = Vec::new();
    let left = MAX_EXTENSION_MONTHS.saturating_sub(already);
    let months = match months.trim().parse::<u32>() {
        Ok(m) if (1..=left).contains(&m) => Some(m),
        _ if left == 0 => {
            problems.push((
                "months".to_owned(),
                format!("This request has already been extended by {MAX_EXTENSION_MONTHS} months, the most allowed"),
            ));
            None
        }
        _ => {
            problems.push((
                "months".to_owned(),
                if left == 1 {
                    "Select 1 month: it may be extended by 2 months at most in all".to_owned()
                } else {
                    "Select 1 or 2 months".to_owned()
                },
            ));
            None
        }
    };
    let reason = text(&mut problems, "reason", reason, "why more time is needed");
    match (months, reason) {
        (Some(m), Some(r)) if problems.is_empty() => Ok((m, r)),
        _ => Err(problems),
    }
}

/// Checks a reason (field `reason`): required, at most [`MAX_TEXT`] characters.
pub fn check_reason(reason: &str, what: &str) -> Result<String, Vec<Problem>> {
    let mut problems = Vec::new();
    match text(&mut problems, "reason", reason, what) {
        Some(r) => Ok(r),
        None => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn due_on_the_corresponding_date_or_the_last_day_of_the_month() {
        assert_eq!(due_on(d(2026, 5, 5), 0), Some(d(2026, 6, 5)));
        assert_eq!(due_on(d(2026, 1, 31), 0), Some(d(2026, 2, 28)));
        assert_eq!(due_on(d(2028, 1, 31), 0), Some(d(2028, 2, 29)));
        assert_eq!(due_on(d(2026, 3, 31), 0), Some(d(2026, 4, 30)));
        assert_eq!(due_on(d(2026, 12, 15), 0), Some(d(2027, 1, 15)));
        assert_eq!(due_on(d(2026, 1, 31), 2), Some(d(2026, 4, 30)));
        assert_eq!(due_on(d(2026, 1, 31), 9), Some(d(2026, 4, 30)), "capped");
    }

    #[test]
    fn extensions_need_a_reason_and_stop_at_two_months() {
        assert!(check_extension(0, "2", "Complex: five linked cases").is_ok());
        assert_eq!(check_extension(0, "2", " ").unwrap_err()[0].0, "reason");
        assert_eq!(check_extension(1, "2", "More").unwrap_err()[0].0, "months");
        assert_eq!(check_extension(2, "1", "More").unwrap_err()[0].0, "months");
        assert_eq!(check_extension(0, "3", "More").unwrap_err()[0].0, "months");
        assert_eq!(
            check_extension(1, "1", "More").unwrap(),
            (1, "More".to_owned())
        );
    }

    #[test]
    fn days_left_in_words() {
        let due = d(2026, 6, 5);
        assert_eq!(days_left_words(due, d(2026, 5, 24)), "12 days left");
        assert_eq!(days_left_words(due, d(2026, 6, 5)), "Due today");
        assert_eq!(days_left_words(due, d(2026, 6, 8)), "3 days overdue");
    }

    #[test]
    fn a_request_names_each_missing_field() {
        let today = d(2026, 5, 5);
        let problems = check_request(&RequestInput::default(), today).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "requester_name",
                "relationship",
                "identity_check",
                "identity_detail",
                "received"
            ]
        );
        let input = RequestInput {
            requester_name: "Sam",
            relationship: "parent_or_carer",
            identity_check: "photo_id",
            identity_detail: "Passport",
            received_day: "31",
            received_month: "1",
            received_year: "2026",
        };
        let ok = check_request(&input, today).unwrap();
        assert_eq!(ok.due_on, d(2026, 2, 28));
        let future = RequestInput {
            received_month: "6",
            received_day: "1",
            ..input
        };
        assert_eq!(check_request(&future, today).unwrap_err()[0].0, "received");
    }
}
