//! Who made a report, in words for the case summary and documents: a young person reporting
//! about themselves (an audience with `about_self`) is said to be so, so nobody reads "About
//! the child … Name: Not given" and looks for a child other than the reporter; and the
//! reporter's contact wishes (the definition's `contact_wishes` questions) travel with it.

use serde::Serialize;
use serde_json::Value;

use crate::answer_words::{STAFF, answer_in_words};
use crate::definition::ServiceDefinition;
use crate::definition::condition::lookup;

/// What the case summary and every document say about a young person's own report.
pub const SELF_REPORT: &str = "Reported by the young person themselves";

/// One contact wish or safety note the reporter gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactWish {
    /// The question's key (`reporter.safe_contact`).
    pub key: String,
    /// The question, in staff wording.
    pub label: String,
    /// The reporter's answer, in words.
    pub text: String,
}

/// Who reported, as the case summary shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReportedBy {
    /// The reporter is the young person the report is about.
    pub about_self: bool,
    /// [`SELF_REPORT`] when `about_self`; nothing otherwise (the answers name the reporter).
    pub words: Option<String>,
    /// The reporter's contact wishes and safety notes, in the definition's order.
    pub contact_wishes: Vec<ContactWish>,
}

/// Whether people of `audience` report about themselves.
pub fn reports_about_self(def: &ServiceDefinition, audience: &str) -> bool {
    def.audiences
        .iter()
        .any(|a| a.key == audience && a.about_self)
}

/// The contact wishes answered in `answers` (a stage's answers document, already filtered
/// for whoever will read them: a removed answer is not a wish to pass on).
pub fn contact_wishes(def: &ServiceDefinition, answers: &Value) -> Vec<ContactWish> {
    def.contact_wishes
        .iter()
        .filter_map(|key| {
            let q = def.question(key)?;
            let value = lookup(answers, key)?;
            Some(ContactWish {
                key: key.clone(),
                label: q.label.clone(),
                text: answer_in_words(q, value, STAFF),
            })
        })
        .filter(|w| !w.text.trim().is_empty())
        .collect()
}

/// Who reported a case received from `audience`, with the contact wishes in `answers`.
pub fn reported_by(def: &ServiceDefinition, audience: &str, answers: &Value) -> ReportedBy {
    let about_self = reports_about_self(def, audience);
    ReportedBy {
        about_self,
        words: about_self.then(|| SELF_REPORT.to_owned()),
        contact_wishes: contact_wishes(def, answers),
    }
}
