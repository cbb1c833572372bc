//! The case facts document as [`Facts`] for guards, with the transition being attempted laid
//! over it (so a guard can read `transition.decision` or `transition.fields.*` without the
//! whole case document being copied).

use chrono::NaiveDate;
use serde_json::Value;

use crate::definition::ServiceDefinition;
use crate::definition::condition::{Facts, lookup};

/// A case facts document (`answers.*`, `case.*`, `transition.*`) read by workflow guards.
///
/// Fact tests read the case's screening: `band_at_least` compares the confirmed band (the
/// suggested one until a person confirms), `eligible` and `in_scope` the screening's values.
/// Age tests count on `today`: the document's top-level `"today"` (`YYYY-MM-DD`) when given;
/// without it they never hold (a guard cannot silently use the wrong day).
pub struct CaseFacts<'a> {
    doc: &'a Value,
    /// `{"transition": {...}}` when a transition is being attempted: looked up instead of
    /// the document's own `transition`.
    transition: Option<&'a Value>,
    bands: &'a [String],
    today: NaiveDate,
}

impl<'a> CaseFacts<'a> {
    /// Facts of a case document, with band ranks from the service's screening bands.
    pub fn new(def: &'a ServiceDefinition, doc: &'a Value) -> Self {
        let today = doc
            .get("today")
            .and_then(Value::as_str)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .unwrap_or(NaiveDate::MIN);
        Self {
            doc,
            transition: None,
            bands: def.screening.as_ref().map_or(&[], |s| s.bands.as_slice()),
            today,
        }
    }

    /// The same facts with `transition.*` read from `overlay` (an object with a `transition` key).
    pub fn with_transition(mut self, overlay: &'a Value) -> Self {
        self.transition = Some(overlay);
        self
    }

    fn screening(&self, field: &str) -> Option<&'a Value> {
        self.doc.get("case")?.get("screening")?.get(field)
    }
}

impl Facts for CaseFacts<'_> {
    fn answer(&self, key: &str) -> Option<&Value> {
        match self.transition {
            Some(overlay) if key == "transition" || key.starts_with("transition.") => {
                lookup(overlay, key)
            }
            _ => lookup(self.doc, key),
        }
    }

    fn today(&self) -> NaiveDate {
        self.today
    }

    fn band_rank(&self) -> Option<usize> {
        let band = self
            .screening("confirmed_band")
            .and_then(Value::as_str)
            .or_else(|| self.screening("suggested_band").and_then(Value::as_str))?;
        self.rank_of_band(band)
    }

    fn rank_of_band(&self, band: &str) -> Option<usize> {
        self.bands.iter().position(|b| b == band)
    }

    fn eligible(&self) -> Option<bool> {
        self.screening("eligible").and_then(Value::as_bool)
    }

    fn in_scope(&self) -> Option<bool> {
        self.screening("in_scope").and_then(Value::as_bool)
    }
}
