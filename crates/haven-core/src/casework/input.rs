//! Checks on what staff type into casework forms and the API (plan goals and actions,
//! reviews, onward referrals): required text, lengths, dates, and the rules between fields.
//! Each problem names its field (the API's field names; pages rename them to their ids).

use chrono::{Datelike, NaiveDate};

use super::{FieldProblem, MAX_TEXT, next_review};
use crate::definition::ServiceDefinition;
use crate::definition::onward::OnwardReferralKind;

/// Longest onward referral recipient, in characters.
pub const MAX_RECIPIENT: usize = 500;

/// Text given, trimmed; blank counts as not given.
pub fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// Trimmed text, required and at most [`MAX_TEXT`] characters; `what` completes "Enter …".
pub fn required_text(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    text: Option<&str>,
    what: &str,
) -> Option<String> {
    match given(text) {
        None => {
            problems.push((field.to_owned(), format!("Enter {what}")));
            None
        }
        Some(t) if t.chars().count() > MAX_TEXT => {
            problems.push((
                field.to_owned(),
                format!("Must be {MAX_TEXT} characters or fewer"),
            ));
            None
        }
        Some(t) => Some(t.to_owned()),
    }
}

/// A `YYYY-MM-DD` date between 2000 and 2100 (a typo such as 20277 is caught, not stored);
/// blank is `None` with no problem.
pub fn date(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    text: Option<&str>,
) -> Option<NaiveDate> {
    let text = given(text)?;
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) if (2000..=2100).contains(&d.year()) => Some(d),
        _ => {
            problems.push((
                field.to_owned(),
                "Enter a real date as YYYY-MM-DD (for example 2027-01-31)".to_owned(),
            ));
            None
        }
    }
}

/// A date from the three GOV.UK date inputs (day, month, year), for `field` (`what` names
/// it in the message: "the date sent from"). All blank is `None` with no problem; a missing
/// part, letters, or a day that does not exist is a problem naming the field, as the GOV.UK
/// date input pattern words it.
pub fn date_from_parts(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    what: &str,
    day: &str,
    month: &str,
    year: &str,
) -> Option<NaiveDate> {
    let (d, m, y) = (day.trim(), month.trim(), year.trim());
    if d.is_empty() && m.is_empty() && y.is_empty() {
        return None;
    }
    let missing: Vec<&str> = [("a day", d), ("a month", m), ("a year", y)]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(name, _)| *name)
        .collect();
    let mut problem = |message: String| {
        problems.push((field.to_owned(), message));
        None
    };
    if !missing.is_empty() {
        let text = match what.get(..1) {
            Some(first) => first.to_uppercase() + what.get(1..).unwrap_or_default(),
            None => String::new(),
        };
        return problem(format!("{text} must include {}", missing.join(" and ")));
    }
    let number = |v: &str| {
        (v.len() <= 4 && v.chars().all(|c| c.is_ascii_digit()))
            .then(|| v.parse::<u32>().ok())
            .flatten()
    };
    match (number(d), number(m), number(y)) {
        (Some(d), Some(m), Some(year)) if y.len() == 4 => {
            match i32::try_from(year)
                .ok()
                .and_then(|y| NaiveDate::from_ymd_opt(y, m, d))
            {
                Some(date) if (2000..=2100).contains(&date.year()) => Some(date),
                Some(_) => problem(format!("Enter {what} with a year between 2000 and 2100")),
                None => problem(format!(
                    "Enter {what} as a real date, for example 27 3 2026"
                )),
            }
        }
        (Some(_), Some(_), Some(_)) => problem(format!("The year of {what} must have 4 numbers")),
        _ => problem(format!("Enter {what} in numbers, for example 27 3 2026")),
    }
}

/// A checked plan review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedReview {
    pub reviewed_on: NaiveDate,
    pub summary: String,
    /// The next review: as given, or the definition's default interval after this one.
    pub next_review_on: Option<NaiveDate>,
}

/// A review's date, summary and next review date (`reviewed_on`, `summary`,
/// `next_review_on`), or every problem by field.
pub fn check_review(
    def: &ServiceDefinition,
    reviewed_on: Option<&str>,
    summary: Option<&str>,
    next_review_on: Option<&str>,
) -> Result<CheckedReview, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let reviewed = date(&mut problems, "reviewed_on", reviewed_on);
    if reviewed.is_none() && !problems.iter().any(|(f, _)| f == "reviewed_on") {
        problems.push((
            "reviewed_on".to_owned(),
            "Enter the date of the review".to_owned(),
        ));
    }
    let summary = required_text(&mut problems, "summary", summary, "a summary of the review");
    let next = date(&mut problems, "next_review_on", next_review_on);
    if let (Some(r), Some(n)) = (reviewed, next)
        && n < r
    {
        problems.push((
            "next_review_on".to_owned(),
            "The next review must be on or after this review".to_owned(),
        ));
    }
    match (reviewed, summary) {
        (Some(r), Some(s)) if problems.is_empty() => Ok(CheckedReview {
            reviewed_on: r,
            summary: s,
            next_review_on: next_review(def, r, next),
        }),
        _ => Err(problems),
    }
}

/// An onward referral as typed (API fields; absent and blank are the same).
#[derive(Debug, Clone, Copy, Default)]
pub struct OnwardInput<'a> {
    /// One of the definition's onward referral kinds.
    pub kind: &'a str,
    /// Who it went to; the kind's default recipient when not given.
    pub recipient: Option<&'a str>,
    pub lawful_basis: &'a str,
    pub consent_sought: Option<bool>,
    pub consent_not_sought_reason: Option<&'a str>,
    /// `YYYY-MM-DD`.
    pub sent_on: Option<&'a str>,
    pub notes: Option<&'a str>,
}

/// A checked onward referral.
#[derive(Debug, Clone)]
pub struct CheckedOnward<'d> {
    pub kind: &'d OnwardReferralKind,
    pub recipient: String,
    pub lawful_basis: String,
    pub consent_sought: bool,
    /// Why consent was not sought (only when it was not).
    pub consent_reason: Option<String>,
    pub sent_on: NaiveDate,
    pub notes: Option<String>,
}

fn too_long(text: Option<&str>, max: usize) -> bool {
    text.is_some_and(|t| t.chars().count() > max)
}

/// Checks an onward referral against the definition on `today` (it cannot have been sent in
/// the future); every problem by field.
pub fn check_onward<'d>(
    def: &'d ServiceDefinition,
    input: &OnwardInput<'_>,
    today: NaiveDate,
) -> Result<CheckedOnward<'d>, Vec<(&'static str, String)>> {
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let kind = def.onward_kind(input.kind.trim());
    if kind.is_none() {
        let keys: Vec<&str> = def
            .onward_referrals
            .iter()
            .map(|k| k.key.as_str())
            .collect();
        errors.push((
            "kind",
            if keys.is_empty() {
                "This service has no onward referrals".to_owned()
            } else {
                format!("Choose the kind of onward referral: {}", keys.join(", "))
            },
        ));
    }
    let recipient = given(input.recipient)
        .map(str::to_owned)
        .or_else(|| kind.map(|k| k.recipient.clone()))
        .unwrap_or_default();
    if too_long(Some(&recipient), MAX_RECIPIENT) {
        errors.push((
            "recipient",
            format!("The recipient must be {MAX_RECIPIENT} characters or fewer"),
        ));
    }
    let lawful_basis = input.lawful_basis.trim().to_owned();
    if let Some(kind) = kind
        && kind.lawful_basis(&lawful_basis).is_none()
    {
        errors.push((
            "lawful_basis",
            "Choose the lawful basis for sharing".to_owned(),
        ));
    }
    let reason = given(input.consent_not_sought_reason);
    match input.consent_sought {
        None => errors.push((
            "consent_sought",
            "Say whether consent was sought".to_owned(),
        )),
        Some(false) if reason.is_none() => errors.push((
            "consent_not_sought_reason",
            "Say why consent was not sought".to_owned(),
        )),
        _ => {}
    }
    if too_long(reason, MAX_TEXT) {
        errors.push((
            "consent_not_sought_reason",
            format!("The reason must be {MAX_TEXT} characters or fewer"),
        ));
    }
    let sent_on = match given(input.sent_on) {
        None => {
            errors.push(("sent_on", "Enter the date it was sent".to_owned()));
            None
        }
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) if date > today => {
                errors.push((
                    "sent_on",
                    "The date sent must be today or in the past".to_owned(),
                ));
                None
            }
            Ok(date) => Some(date),
            Err(_) => {
                errors.push(("sent_on", "The date sent must be a real date".to_owned()));
                None
            }
        },
    };
    let notes = given(input.notes);
    if too_long(notes, MAX_TEXT) {
        errors.push((
            "notes",
            format!("Notes must be {MAX_TEXT} characters or fewer"),
        ));
    }
    let (Some(kind), Some(sent_on), true) = (kind, sent_on, errors.is_empty()) else {
        return Err(errors);
    };
    let consent_sought = input.consent_sought.unwrap_or(false);
    Ok(CheckedOnward {
        kind,
        recipient,
        lawful_basis,
        consent_sought,
        consent_reason: (!consent_sought)
            .then(|| reason.map(str::to_owned))
            .flatten(),
        sent_on,
        notes: notes.map(str::to_owned),
    })
}

#[cfg(test)]
mod date_parts_tests {
    use super::date_from_parts;
    use chrono::NaiveDate;

    fn check(d: &str, m: &str, y: &str) -> (Option<NaiveDate>, Vec<String>) {
        let mut problems = Vec::new();
        let date = date_from_parts(&mut problems, "sent_from", "the date sent from", d, m, y);
        (
            date,
            problems
                .into_iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect(),
        )
    }

    #[test]
    fn dates_from_three_inputs_and_their_problems_by_field() {
        assert_eq!(check("", " ", ""), (None, vec![]));
        assert_eq!(
            check("7", "3", "2026").0,
            NaiveDate::from_ymd_opt(2026, 3, 7)
        );
        assert_eq!(
            check("31", "2", "2026").1,
            ["sent_from: Enter the date sent from as a real date, for example 27 3 2026"]
        );
        assert_eq!(
            check("1", "", "").1,
            ["sent_from: The date sent from must include a month and a year"]
        );
        assert_eq!(
            check("x", "2", "2026").1,
            ["sent_from: Enter the date sent from in numbers, for example 27 3 2026"]
        );
        assert_eq!(
            check("1", "2", "26").1,
            ["sent_from: The year of the date sent from must have 4 numbers"]
        );
        assert_eq!(
            check("1", "2", "1999").1,
            ["sent_from: Enter the date sent from with a year between 2000 and 2100"]
        );
    }
}
