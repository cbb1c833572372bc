//! Reading a GOV.UK date input (day, month, year) with the Design System's error messages:
//! "Date of birth must include a month", "Date of birth must be a real date",
//! "Year must include 4 numbers".

use chrono::NaiveDate;

use crate::form::Form;
use crate::naming;

/// What a date input holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DateInput {
    /// Nothing typed in any part.
    Empty,
    Date(NaiveDate),
    /// Something is wrong; `parts` says which of day, month, year to highlight.
    Invalid {
        message: String,
        parts: [bool; 3],
    },
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Months may be typed as numbers, names or three-letter abbreviations ("3", "March", "mar").
fn month_number(text: &str) -> Option<u32> {
    if let Ok(n) = text.parse::<u32>() {
        return (1..=12).contains(&n).then_some(n);
    }
    let lower = text.to_lowercase();
    let position = MONTHS.iter().position(|m| {
        *m == lower || (lower.len() >= 3 && m.starts_with(lower.as_str()) && lower.len() <= m.len())
    })?;
    u32::try_from(position + 1).ok()
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Reads the three parts named from `base`. `label` names the date in messages.
pub(crate) fn read(form: &Form<'_>, base: &str, label: &str) -> DateInput {
    let raw: Vec<&str> = naming::DATE_PARTS
        .iter()
        .map(|part| form.text(&naming::date_part(base, part)))
        .collect();
    let [day, month, year] = [raw[0], raw[1], raw[2]];
    if raw.iter().all(|p| p.is_empty()) {
        return DateInput::Empty;
    }
    let missing = [day.is_empty(), month.is_empty(), year.is_empty()];
    if missing.iter().any(|m| *m) {
        let names: Vec<&str> = naming::DATE_PARTS
            .iter()
            .zip(missing)
            .filter(|(_, m)| *m)
            .map(|(p, _)| *p)
            .collect();
        return DateInput::Invalid {
            message: format!("{label} must include a {}", names.join(" and ")),
            parts: missing,
        };
    }
    let day_number = all_digits(day)
        .then(|| day.parse::<u32>().ok())
        .flatten()
        .filter(|d| (1..=31).contains(d));
    let month_value = month_number(month);
    if day_number.is_none() || month_value.is_none() {
        return DateInput::Invalid {
            message: format!("{label} must be a real date"),
            parts: [day_number.is_none(), month_value.is_none(), false],
        };
    }
    if !(all_digits(year) && year.len() == 4) {
        return DateInput::Invalid {
            message: "Year must include 4 numbers".to_owned(),
            parts: [false, false, true],
        };
    }
    let date = match (year.parse::<i32>().ok(), month_value, day_number) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y, m, d),
        _ => None,
    };
    match date {
        Some(date) => DateInput::Date(date),
        None => DateInput::Invalid {
            message: format!("{label} must be a real date"),
            parts: [true, true, true],
        },
    }
}

/// Which parts to highlight for an error on this date: the parts in error when the form
/// shows them, otherwise all three (an error about the whole date, like "in the past").
pub(crate) fn parts_in_error(form: &Form<'_>, base: &str) -> [bool; 3] {
    match read(form, base, "") {
        DateInput::Invalid { parts, .. } => parts,
        _ => [true, true, true],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(d: &str, m: &str, y: &str) -> DateInput {
        let pairs = vec![
            ("dob-day".to_owned(), d.to_owned()),
            ("dob-month".to_owned(), m.to_owned()),
            ("dob-year".to_owned(), y.to_owned()),
        ];
        read(&Form::new(&pairs), "dob", "Date of birth")
    }

    fn message(input: DateInput) -> String {
        match input {
            DateInput::Invalid { message, .. } => message,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn missing_parts_are_named() {
        assert_eq!(
            message(date("3", "", "2010")),
            "Date of birth must include a month"
        );
        assert_eq!(
            message(date("", "", "2010")),
            "Date of birth must include a day and month"
        );
        assert_eq!(
            message(date("3", "4", "")),
            "Date of birth must include a year"
        );
    }

    #[test]
    fn impossible_dates_are_not_real() {
        assert_eq!(
            message(date("30", "2", "2010")),
            "Date of birth must be a real date"
        );
        assert_eq!(
            message(date("x", "2", "2010")),
            "Date of birth must be a real date"
        );
        assert_eq!(
            message(date("3", "13", "2010")),
            "Date of birth must be a real date"
        );
        assert_eq!(message(date("3", "4", "10")), "Year must include 4 numbers");
    }

    #[test]
    fn months_may_be_words() {
        let want = NaiveDate::from_ymd_opt(2010, 3, 5).map(DateInput::Date);
        assert_eq!(Some(date("5", "March", "2010")), want);
        assert_eq!(Some(date("05", "mar", "2010")), want);
        assert_eq!(Some(date(" 5 ", "03", "2010")), want);
        assert_eq!(date("", "", ""), DateInput::Empty);
    }
}
