//! Validating an answers document against a service's stage and audience.
//!
//! Every problem is reported together, each naming the question key (`young_person.name`,
//! `professionals[1].email`), so a form or an integration can fix everything in one go.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::definition::condition::{AnswerFacts, lookup};
use crate::definition::{Question, QuestionKind, ServiceDefinition, Stage};

/// Answer keys that are not questions but that the intake itself records.
/// `anonymity_confirmed` lists the questions whose anonymity findings the referrer
/// confirmed are not about a person.
pub const META_KEYS: [&str; 1] = ["anonymity_confirmed"];

/// One problem with one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a submission is not valid for its service at all (before any answer is read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("this service has no stage `{0}`")]
    UnknownStage(String),
    #[error("this service has no audience `{0}`")]
    UnknownAudience(String),
    #[error("stage `{stage}` is not open to audience `{audience}`")]
    AudienceNotAllowed { stage: String, audience: String },
}

/// Default length limits, generous enough for a full narrative, small enough to refuse abuse.
const TEXT_MAX: usize = 500;
const LONG_TEXT_MAX: usize = 20_000;

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").ok());

/// Whether `text` is an email address Haven can send to: a dot in the domain (the old,
/// light check) and the rule of the mailer, lettre's `Address` parsing (a valid local part,
/// and a valid domain or IP literal). lettre checks with the `email_address` crate, which
/// this pure core uses directly rather than depend on the mailer; without this, an address
/// like `a@example.org'--` was accepted here and then silently dropped when mail was sent.
pub fn is_email_address(text: &str) -> bool {
    let text = text.trim();
    if text.len() > 254 || !EMAIL.as_ref().is_some_and(|r| r.is_match(text)) {
        return false;
    }
    let Some((user, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let ip_literal = domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    email_address::EmailAddress::is_valid_local_part(user)
        && (email_address::EmailAddress::is_valid_domain(domain) || ip_literal)
}

// UK numbers (01…, 02…, 03…, 07…, 08…) or international (+ and 7 to 15 digits),
// allowing spaces, hyphens, dots and brackets between digits.
static PHONE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(\+\d[\d\s().-]{6,20}|0[\d\s().-]{9,16})$").ok());
static ATTACHMENT_ID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^att_[0-9a-z]{16,40}$").ok());

/// Finds the stage and checks the audience may use it.
pub fn target<'d>(
    def: &'d ServiceDefinition,
    stage: &str,
    audience: &str,
) -> Result<&'d Stage, TargetError> {
    let found = def
        .stage(stage)
        .ok_or_else(|| TargetError::UnknownStage(stage.to_owned()))?;
    if def.audience(audience).is_none() {
        return Err(TargetError::UnknownAudience(audience.to_owned()));
    }
    if !found.allows_audience(audience) {
        return Err(TargetError::AudienceNotAllowed {
            stage: stage.to_owned(),
            audience: audience.to_owned(),
        });
    }
    Ok(found)
}

/// Validates a whole answers document for one stage and audience, on a given day
/// (for `not_future` dates). Returns every problem found.
pub fn validate(
    stage: &Stage,
    audience: &str,
    answers: &Value,
    today: NaiveDate,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(object) = answers.as_object() else {
        return Err(vec![FieldError::new(
            "answers",
            "Answers must be a JSON object",
        )]);
    };
    let asked: Vec<&Question> = stage
        .pages
        .iter()
        .filter(|p| p.shown_to(audience))
        .flat_map(|p| {
            let page_applies = p
                .when
                .as_ref()
                .is_none_or(|c| c.holds(&AnswerFacts { answers, today }));
            p.questions.iter().filter(move |_| page_applies)
        })
        .filter(|q| q.asked_of(audience))
        .collect();
    let all_keys: BTreeSet<&str> = stage.questions().map(|(_, q)| q.key.as_str()).collect();
    check_unknown_keys(object, "", &all_keys, stage.anonymous, &mut errors);
    let facts = AnswerFacts { answers, today };
    for q in asked {
        if q.when.as_ref().is_some_and(|c| !c.holds(&facts)) {
            continue;
        }
        let required = q.required || q.required_when.as_ref().is_some_and(|c| c.holds(&facts));
        match lookup(answers, &q.key) {
            None if required => errors.push(FieldError::new(&q.key, missing_message(q, audience))),
            None => {}
            Some(value) => check_value(q, &q.key, value, today, &mut errors),
        }
    }
    if let Some(confirmed) = object.get("anonymity_confirmed") {
        check_anonymity_confirmations(stage, confirmed, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Validates only the named questions (for `haven screen`, which reads a few answers).
/// Unknown keys and missing answers to other questions are ignored.
pub fn validate_only(
    def: &ServiceDefinition,
    keys: &[&str],
    answers: &Value,
    today: NaiveDate,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if !answers.is_object() {
        return Err(vec![FieldError::new(
            "answers",
            "Answers must be a JSON object",
        )]);
    }
    for key in keys {
        if let (Some(q), Some(value)) = (def.question(key), lookup(answers, key)) {
            check_value(q, key, value, today, &mut errors);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn missing_message(q: &Question, audience: &str) -> String {
    let label = q.label_for(audience).trim_end_matches(['?', ':']);
    match q.kind {
        QuestionKind::Choice | QuestionKind::YesNo => {
            format!("Select an answer for \u{201c}{label}\u{201d}")
        }
        QuestionKind::MultipleChoice | QuestionKind::IndicatorMatrix => {
            format!("Select at least one option for \u{201c}{label}\u{201d}")
        }
        QuestionKind::File => format!("Attach a file for \u{201c}{label}\u{201d}"),
        QuestionKind::Repeatable => format!("Add at least one entry for \u{201c}{label}\u{201d}"),
        _ => format!("Enter \u{201c}{label}\u{201d}"),
    }
}

fn check_unknown_keys(
    object: &Map<String, Value>,
    prefix: &str,
    keys: &BTreeSet<&str>,
    anonymous: bool,
    errors: &mut Vec<FieldError>,
) {
    for (name, value) in object {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if prefix.is_empty() && anonymous && META_KEYS.contains(&name.as_str()) {
            continue;
        }
        if keys.contains(path.as_str()) {
            continue;
        }
        let is_group = keys.iter().any(|k| {
            k.len() > path.len()
                && k.starts_with(path.as_str())
                && k.as_bytes().get(path.len()) == Some(&b'.')
        });
        match value.as_object() {
            Some(inner) if is_group => check_unknown_keys(inner, &path, keys, anonymous, errors),
            _ if is_group => errors.push(FieldError::new(&path, "Must be an object of answers")),
            _ => errors.push(FieldError::new(&path, "Not a question of this form")),
        }
    }
}

fn check_value(
    q: &Question,
    field: &str,
    value: &Value,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) {
    if let Some(bad) = value.as_str().and_then(forbidden_character) {
        errors.push(FieldError::new(
            field,
            format!(
                "Must not contain the invisible control character U+{:04X}: remove it and type \
                 the text again",
                u32::from(bad)
            ),
        ));
        return;
    }
    let mut fail = |message: String| errors.push(FieldError::new(field, message));
    match q.kind {
        QuestionKind::Text | QuestionKind::LongText => match value.as_str() {
            Some(s) => {
                let max = q.max_length.unwrap_or(if q.kind == QuestionKind::Text {
                    TEXT_MAX
                } else {
                    LONG_TEXT_MAX
                });
                if s.chars().count() > max {
                    fail(format!("Must be {max} characters or fewer"));
                }
            }
            None => fail("Must be text".into()),
        },
        QuestionKind::Email => match value.as_str() {
            Some(s) if is_email_address(s) => {}
            Some(_) => {
                fail("Enter an email address in the correct format, like name@example.com".into())
            }
            None => fail("Must be text".into()),
        },
        QuestionKind::Phone => match value.as_str() {
            Some(s) if PHONE.as_ref().is_some_and(|r| r.is_match(s.trim())) => {}
            Some(_) => fail(
                "Enter a phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192"
                    .into(),
            ),
            None => fail("Must be text".into()),
        },
        QuestionKind::Date => match value
            .as_str()
            .map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        {
            Some(Ok(date)) if q.not_future && date > today => {
                fail("Must be today or in the past".into())
            }
            Some(Ok(_)) => {}
            _ => fail("Must be a real date written YYYY-MM-DD".into()),
        },
        QuestionKind::Number => match value.as_f64() {
            Some(n) => {
                if let Some(min) = q.min.filter(|min| n < *min) {
                    fail(format!("Must be {min} or more"));
                } else if let Some(max) = q.max.filter(|max| n > *max) {
                    fail(format!("Must be {max} or less"));
                }
            }
            None => fail("Must be a number".into()),
        },
        QuestionKind::YesNo => {
            if !value.is_boolean() {
                fail("Must be true or false".into());
            }
        }
        QuestionKind::Choice => match value.as_str() {
            Some(s) if q.option(s).is_some() => {}
            _ => fail(format!("Must be one of: {}", option_keys(q))),
        },
        QuestionKind::MultipleChoice => match value.as_array() {
            Some(items) => {
                let mut seen = BTreeSet::new();
                for item in items {
                    match item.as_str() {
                        Some(s) if q.option(s).is_some() => {
                            if !seen.insert(s) {
                                fail(format!("`{s}` is chosen twice"));
                            }
                        }
                        _ => fail(format!("Each choice must be one of: {}", option_keys(q))),
                    }
                }
                check_item_count(q, items.len(), &mut fail);
            }
            None => fail("Must be a list of choices".into()),
        },
        QuestionKind::IndicatorMatrix => match value.as_object() {
            Some(rows) => {
                let columns: Vec<&str> = q.columns.iter().map(|c| c.key.as_str()).collect();
                for (row, cell) in rows {
                    if q.option(row).is_none() {
                        fail(format!("`{row}` is not an indicator of this question"));
                        continue;
                    }
                    let ok = match cell {
                        Value::String(s) => {
                            columns.contains(&s.as_str()) || (s == "both" && columns.len() == 2)
                        }
                        Value::Array(cols) => {
                            !cols.is_empty()
                                && cols
                                    .iter()
                                    .all(|c| c.as_str().is_some_and(|c| columns.contains(&c)))
                        }
                        _ => false,
                    };
                    if !ok {
                        let both = if columns.len() == 2 { ", both" } else { "" };
                        fail(format!(
                            "`{row}` must be one of: {}{both}",
                            columns.join(", ")
                        ));
                    }
                }
            }
            None => fail("Must be an object of indicator: column".into()),
        },
        QuestionKind::Repeatable => match value.as_array() {
            Some(items) => {
                check_item_count(q, items.len(), &mut fail);
                for (i, item) in items.iter().enumerate() {
                    check_repeatable_item(q, field, i, item, today, errors);
                }
            }
            None => fail("Must be a list".into()),
        },
        QuestionKind::File => {
            let ids: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            if ids.iter().any(|id| {
                !id.as_str()
                    .is_some_and(|s| ATTACHMENT_ID.as_ref().is_some_and(|r| r.is_match(s)))
            }) {
                fail("Must be the id of an uploaded attachment".into());
            }
            check_item_count(q, ids.len(), &mut fail);
            if ids.len() > 1 && q.max_items.is_none() {
                fail("Only one file can be attached here".into());
            }
        }
    }
}

/// The first character of `text` that no document may hold: C0 controls other than tab, line
/// feed and carriage return (XML 1.0 forbids them, so a Word document holding one will not
/// open), and the noncharacters U+FFFE and U+FFFF. Bidi controls and zero-width characters
/// are allowed: they occur in real names and languages (staff pages show them marked).
pub fn forbidden_character(text: &str) -> Option<char> {
    text.chars().find(|&c| is_forbidden_character(c))
}

/// Whether `c` is refused in answers (see [`forbidden_character`]).
pub fn is_forbidden_character(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

fn check_repeatable_item(
    q: &Question,
    field: &str,
    index: usize,
    item: &Value,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) {
    let item_field = format!("{field}[{index}]");
    let Some(object) = item.as_object() else {
        errors.push(FieldError::new(item_field, "Must be an object of answers"));
        return;
    };
    for name in object.keys() {
        if !q.fields.iter().any(|f| &f.key == name) {
            errors.push(FieldError::new(
                format!("{item_field}.{name}"),
                "Not a question of this form",
            ));
        }
    }
    for f in &q.fields {
        let sub = format!("{item_field}.{}", f.key);
        match object
            .get(&f.key)
            .filter(|v| !crate::definition::condition::is_empty_answer(v))
        {
            None if f.required => errors.push(FieldError::new(&sub, missing_message(f, ""))),
            None => {}
            Some(v) => check_value(f, &sub, v, today, errors),
        }
    }
}

fn check_item_count(q: &Question, count: usize, fail: &mut impl FnMut(String)) {
    if let Some(min) = q.min_items.filter(|min| count < *min) {
        fail(format!("Give at least {min}"));
    }
    if let Some(max) = q.max_items.filter(|max| count > *max) {
        fail(format!("Give at most {max}"));
    }
}

fn check_anonymity_confirmations(stage: &Stage, confirmed: &Value, errors: &mut Vec<FieldError>) {
    let Some(items) = confirmed.as_array() else {
        errors.push(FieldError::new(
            "anonymity_confirmed",
            "Must be a list of question keys",
        ));
        return;
    };
    for item in items {
        let ok = item
            .as_str()
            .and_then(|k| stage.question(k))
            .is_some_and(Question::checks_anonymity);
        if !ok {
            errors.push(FieldError::new(
                "anonymity_confirmed",
                format!("{item} is not a free-text question of this form"),
            ));
        }
    }
}

fn option_keys(q: &Question) -> String {
    q.options
        .iter()
        .map(|o| o.key.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The free-text answers of an anonymous stage that must go through the anonymity check,
/// minus those the referrer confirmed: `(question key, text)`.
pub fn anonymity_texts<'a>(stage: &'a Stage, answers: &'a Value) -> Vec<(&'a str, &'a str)> {
    if !stage.anonymous {
        return Vec::new();
    }
    let confirmed: Vec<&str> = answers
        .get("anonymity_confirmed")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    stage
        .questions()
        .map(|(_, q)| q)
        .filter(|q| q.checks_anonymity() && !confirmed.contains(&q.key.as_str()))
        .filter_map(|q| {
            lookup(answers, &q.key)
                .and_then(Value::as_str)
                .map(|text| (q.key.as_str(), text))
        })
        .collect()
}

#[cfg(test)]
mod email_tests {
    use super::is_email_address;

    #[test]
    fn email_addresses_follow_the_mailers_rule() {
        for ok in [
            "name@example.com",
            "o'brien@example.org",
            "first.last+tag@sub.example.co.uk",
            " padded@example.org ",
        ] {
            assert!(is_email_address(ok), "{ok}");
        }
        for bad in [
            "a@example.org'--",
            "a@exa mple.org",
            "a@@example.org",
            "@example.org",
            "a@example",
            "a..b@example.org",
            "a@-example.org",
        ] {
            assert!(!is_email_address(bad), "{bad}");
        }
    }
}
