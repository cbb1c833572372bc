//! Reading GOV.UK's `bank-holidays.json` shape.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::Division;

/// Why a bank-holiday list could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("bank-holiday list is not valid JSON in GOV.UK's shape: {0}")]
    Json(String),
    #[error("bank-holiday list has no `{0}` division")]
    MissingDivision(&'static str),
    #[error("bank-holiday list division `{key}` says it is `{division}`")]
    DivisionMismatch { key: String, division: String },
    #[error("bank-holiday list division `{0}` has no events")]
    NoEvents(&'static str),
    #[error("bank-holiday list division `{division}` lists {date} twice")]
    Duplicate {
        division: &'static str,
        date: NaiveDate,
    },
}

/// One division's entry: `{"division": "...", "events": [...]}`.
#[derive(Debug, Deserialize)]
struct DivisionJson {
    division: String,
    events: Vec<EventJson>,
}

/// One event as GOV.UK publishes it. `notes` ("Substitute day" or "") and `bunting` are
/// read so the shape is checked, but the working-day rules do not need them.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // notes/bunting: part of the published shape, kept for completeness
struct EventJson {
    title: String,
    date: NaiveDate,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    bunting: bool,
}

/// A division's published holidays, sorted by date.
pub(crate) type Published = Vec<(NaiveDate, String)>;

/// Parses the GOV.UK JSON into sorted per-division lists, in [`Division::ALL`] order.
/// Every division must be present and non-empty: a missing one would otherwise silently
/// fall back to computed rules and lose one-off holidays.
pub(crate) fn parse(json: &str) -> Result<[Published; 3], CalendarError> {
    let mut raw: BTreeMap<String, DivisionJson> =
        serde_json::from_str(json).map_err(|e| CalendarError::Json(e.to_string()))?;
    let mut out: [Published; 3] = Default::default();
    for (slot, division) in out.iter_mut().zip(Division::ALL) {
        let key = division.key();
        let entry = raw.remove(key).ok_or(CalendarError::MissingDivision(key))?;
        if entry.division != key {
            return Err(CalendarError::DivisionMismatch {
                key: key.to_owned(),
                division: entry.division,
            });
        }
        if entry.events.is_empty() {
            return Err(CalendarError::NoEvents(key));
        }
        let mut events: Published = entry
            .events
            .into_iter()
            .map(|e| (e.date, e.title))
            .collect();
        events.sort();
        if let Some(w) = events.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(CalendarError::Duplicate {
                division: key,
                date: w[0].0,
            });
        }
        *slot = events;
    }
    Ok(out)
}
