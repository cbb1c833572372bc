//! Casework rules, from a definition's `[casework]` section: which meetings are home visits,
//! what a meeting record must say, the lone-working concerns in a referral's answers, when a
//! plan action is overdue, and the outcome a case closes with. Pure: the caller passes the
//! answers, the day and the request, and records what these functions allow. The checks on
//! typed input (plan goals, actions, reviews, onward referrals) are in [`input`].

use chrono::{Days, NaiveDate, NaiveTime};
use serde_json::{Map, Value};

use crate::definition::condition::lookup;
use crate::definition::{DataClass, ServiceDefinition};

pub mod input;

pub use input::{
    CheckedOnward, CheckedReview, MAX_RECIPIENT, OnwardInput, check_onward, check_review, date,
    given, required_text,
};

/// Longest free text accepted in a casework record, in characters.
pub const MAX_TEXT: usize = 20_000;

/// One lone-working concern found in a referral's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoneWorkingConcern {
    /// The question the concern was given in (its label).
    pub question: String,
    /// The details given, if any.
    pub details: Option<String>,
    /// The details are third-party information (shown only to roles that may see it).
    pub third_party: bool,
}

/// The lone-working concerns of a whole case: those of every stage it has received, as
/// `(stage, answers)` (the first stage, then any sent later, such as Cyber Choices' detailed
/// referral through its emailed link).
pub fn case_lone_working_concerns<'a>(
    def: &ServiceDefinition,
    documents: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Vec<LoneWorkingConcern> {
    documents
        .into_iter()
        .flat_map(|(stage, answers)| lone_working_concerns(def, stage, answers))
        .collect()
}

/// The lone-working concerns of a referral whose answers (of `stage`) are `answers`: each
/// `[[casework.lone_working]]` of that stage whose yes/no question is answered yes or whose
/// details question is answered.
pub fn lone_working_concerns(
    def: &ServiceDefinition,
    stage: &str,
    answers: &Value,
) -> Vec<LoneWorkingConcern> {
    let Some(casework) = &def.casework else {
        return Vec::new();
    };
    let Some(stage_def) = def.stage(stage) else {
        return Vec::new();
    };
    casework
        .lone_working
        .iter()
        .filter(|l| l.stage == stage)
        .filter_map(|l| {
            let flagged = l
                .concerns
                .as_deref()
                .and_then(|k| lookup(answers, k))
                .and_then(Value::as_bool)
                == Some(true);
            let details = l
                .details
                .as_deref()
                .and_then(|k| lookup(answers, k))
                .and_then(Value::as_str)
                .map(|t| t.trim().to_owned());
            if !flagged && details.is_none() {
                return None;
            }
            let question = l
                .concerns
                .as_deref()
                .or(l.details.as_deref())
                .and_then(|k| stage_def.question(k))
                .map_or_else(|| "Lone working".to_owned(), |q| q.label.clone());
            let third_party = l
                .details
                .as_deref()
                .and_then(|k| stage_def.question(k))
                .is_some_and(|q| q.data_class == DataClass::ThirdParty);
            Some(LoneWorkingConcern {
                question,
                details,
                third_party,
            })
        })
        .collect()
}

/// A meeting as a worker asks to record it (every field optional, so that every problem can
/// be named at once).
#[derive(Debug, Clone, Default)]
pub struct MeetingInput<'a> {
    pub kind: Option<&'a str>,
    pub date: Option<&'a str>,
    pub time: Option<&'a str>,
    pub place: Option<&'a str>,
    pub place_details: Option<&'a str>,
    pub attendees: Option<&'a str>,
    pub informal: Option<bool>,
    pub notes: Option<&'a str>,
    pub lone_working_read: bool,
}

/// A meeting that may be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMeeting {
    pub kind: String,
    pub date: NaiveDate,
    /// `HH:MM`, UK time, as the worker gave it.
    pub time: String,
    pub place: String,
    pub place_details: Option<String>,
    pub attendees: String,
    pub informal: Option<bool>,
    pub notes: Option<String>,
    /// A home visit on a case with lone-working concerns: the worker confirmed reading them.
    pub home_visit: bool,
    pub lone_working_confirmed: bool,
}

/// A field the request got wrong: (field, message).
pub type FieldProblem = (String, String);

fn blank_to_none(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

fn long_text(problems: &mut Vec<FieldProblem>, field: &str, text: Option<&str>) -> Option<String> {
    let text = blank_to_none(text)?;
    if text.chars().count() > MAX_TEXT {
        problems.push((
            field.to_owned(),
            format!("Must be {MAX_TEXT} characters or fewer"),
        ));
        return None;
    }
    Some(text.to_owned())
}

/// Whether a meeting of `kind` at `place` is a home visit.
pub fn is_home_visit(def: &ServiceDefinition, kind: &str, place: &str) -> bool {
    def.casework.as_ref().is_some_and(|c| {
        c.meeting_kinds
            .iter()
            .any(|k| k.key == kind && k.home_visit)
            || c.meeting_places
                .iter()
                .any(|p| p.key == place && p.home_visit)
    })
}

/// Checks a meeting against the service's lists. `concerns` says whether the referral has
/// lone-working concerns: a home visit then needs `lone_working_read`.
pub fn check_meeting(
    def: &ServiceDefinition,
    input: &MeetingInput<'_>,
    concerns: bool,
) -> Result<CheckedMeeting, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let casework = def.casework.clone().unwrap_or_default();
    let kind = blank_to_none(input.kind);
    if !kind.is_some_and(|k| casework.meeting_kinds.iter().any(|o| o.key == k)) {
        let keys: Vec<&str> = casework
            .meeting_kinds
            .iter()
            .map(|o| o.key.as_str())
            .collect();
        problems.push((
            "kind".to_owned(),
            format!("Choose the kind of meeting: {}", keys.join(", ")),
        ));
    }
    let place = blank_to_none(input.place);
    if !place.is_some_and(|p| casework.meeting_places.iter().any(|o| o.key == p)) {
        let keys: Vec<&str> = casework
            .meeting_places
            .iter()
            .map(|o| o.key.as_str())
            .collect();
        problems.push((
            "place".to_owned(),
            format!("Choose where the meeting is: {}", keys.join(", ")),
        ));
    }
    let date = blank_to_none(input.date)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .filter(|d| (2000..=2100).contains(&chrono::Datelike::year(d)));
    if date.is_none() {
        problems.push((
            "date".to_owned(),
            "Enter the date of the meeting as a real date, YYYY-MM-DD".to_owned(),
        ));
    }
    let time = blank_to_none(input.time).and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok());
    if time.is_none() {
        problems.push((
            "time".to_owned(),
            "Enter the time of the meeting in 24-hour time, HH:MM (for example 14:30)".to_owned(),
        ));
    }
    let attendees = long_text(&mut problems, "attendees", input.attendees);
    if attendees.is_none() && !problems.iter().any(|(f, _)| f == "attendees") {
        problems.push((
            "attendees".to_owned(),
            "Enter who attended (or will attend) the meeting".to_owned(),
        ));
    }
    let place_details = long_text(&mut problems, "place_details", input.place_details);
    let notes = long_text(&mut problems, "notes", input.notes);
    match (&casework.informal_meetings, input.informal) {
        (Some(_), None) => problems.push((
            "informal".to_owned(),
            "Say whether the meeting is informal, with officers in plain clothes".to_owned(),
        )),
        (None, Some(_)) => problems.push((
            "informal".to_owned(),
            "This service does not record whether meetings are informal".to_owned(),
        )),
        _ => {}
    }
    let home_visit = match (kind, place) {
        (Some(k), Some(p)) => is_home_visit(def, k, p),
        _ => false,
    };
    if home_visit && concerns && !input.lone_working_read {
        problems.push((
            "lone_working_read".to_owned(),
            "Confirm you have read the lone-working concerns before recording a home visit"
                .to_owned(),
        ));
    }
    match (kind, place, date, time, attendees) {
        (Some(kind), Some(place), Some(date), Some(time), Some(attendees))
            if problems.is_empty() =>
        {
            Ok(CheckedMeeting {
                kind: kind.to_owned(),
                date,
                time: time.format("%H:%M").to_string(),
                place: place.to_owned(),
                place_details,
                attendees,
                informal: input.informal,
                notes,
                home_visit,
                lone_working_confirmed: home_visit && concerns && input.lone_working_read,
            })
        }
        _ => Err(problems),
    }
}

/// A plan action is overdue when it is not done and its due date is before `today`.
pub fn action_overdue(due_on: NaiveDate, done: bool, today: NaiveDate) -> bool {
    !done && due_on < today
}

/// The next review of a plan reviewed on `reviewed_on`: the date given, else the service's
/// `plan_review_days` later, else none.
pub fn next_review(
    def: &ServiceDefinition,
    reviewed_on: NaiveDate,
    given: Option<NaiveDate>,
) -> Option<NaiveDate> {
    given.or_else(|| {
        def.casework
            .as_ref()
            .and_then(|c| c.plan_review_days)
            .and_then(|days| reviewed_on.checked_add_days(Days::new(u64::from(days))))
    })
}

/// The outcome a case is closed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosureChoice {
    pub outcome: String,
    pub narrative: String,
}

/// The closure outcome carried by a transition to `to` in `fields.outcome` and
/// `fields.narrative`. `Ok(None)` when `to` is not the service's closure state or no outcome
/// was given (a guard decides whether one is required); an outcome not in the service's list,
/// or one without a narrative, is refused naming `fields.outcome` / `fields.narrative`.
pub fn closure_choice(
    def: &ServiceDefinition,
    to: &str,
    fields: &Map<String, Value>,
) -> Result<Option<ClosureChoice>, Vec<FieldProblem>> {
    let Some(closure) = def.casework.as_ref().and_then(|c| c.closure.as_ref()) else {
        return Ok(None);
    };
    if closure.state != to {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let outcome = match fields.get("outcome") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if closure.outcomes.iter().any(|o| o.key == s.trim()) => {
            Some(s.trim().to_owned())
        }
        Some(_) => {
            let keys: Vec<&str> = closure.outcomes.iter().map(|o| o.key.as_str()).collect();
            problems.push((
                "fields.outcome".to_owned(),
                format!("Choose one of the outcomes: {}", keys.join(", ")),
            ));
            None
        }
    };
    let narrative = match fields.get("narrative") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => long_text(&mut problems, "fields.narrative", Some(s.as_str())),
        Some(_) => {
            problems.push((
                "fields.narrative".to_owned(),
                "The closing summary must be text".to_owned(),
            ));
            None
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    match (outcome, narrative) {
        (Some(outcome), Some(narrative)) => Ok(Some(ClosureChoice { outcome, narrative })),
        (Some(_), None) => Err(vec![(
            "fields.narrative".to_owned(),
            "Write a closing summary: what the work achieved and what happens next".to_owned(),
        )]),
        (None, Some(_)) => Err(vec![(
            "fields.outcome".to_owned(),
            "Choose the outcome that goes with the closing summary".to_owned(),
        )]),
        (None, None) => Ok(None),
    }
}
