//! Stop pages: a page without questions that tells the person to do something now (call
//! 999) before they may carry on with the form, and that the confirmation repeats.
//!
//! Which answers lead to a stop page is the service's rule, so it lives in the definition
//! (the page's `when`), never in code.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a stop page says, besides the page's `title` and `description`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopPage {
    /// The number to call now ("999"): shown large, as a `tel:` link.
    pub call: String,
    /// The link's words ("Call 999 now").
    pub call_label: String,
    /// What to tell them when they answer, one point each.
    #[serde(default)]
    pub tell_them: Vec<String>,
    /// The button that carries on with the form ("Carry on with the report").
    pub carry_on: String,
    /// Repeated on the confirmation page of a report that went through this page.
    pub confirmation: String,
}

/// Problems with a stop page (as reasons, without the line).
pub fn problems(
    page_key: &str,
    stop: &StopPage,
    has_questions: bool,
    has_when: bool,
) -> Vec<String> {
    let mut found = Vec::new();
    if has_questions {
        found.push(format!(
            "page `{page_key}` is a stop page: it cannot ask questions"
        ));
    }
    if !has_when {
        found.push(format!(
            "stop page `{page_key}` needs a `when`: it must stop only the reports it is for"
        ));
    }
    let digits: String = stop.call.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() < 3 || !digits.chars().all(|c| c.is_ascii_digit()) {
        found.push(format!(
            "stop page `{page_key}`: `call` must be a phone number, such as \"999\""
        ));
    }
    for (what, text) in [
        ("call_label", &stop.call_label),
        ("carry_on", &stop.carry_on),
        ("confirmation", &stop.confirmation),
    ] {
        if text.trim().is_empty() {
            found.push(format!("stop page `{page_key}`: `{what}` is empty"));
        }
    }
    found
}
