//! Conditions: the one small language a definition uses wherever something depends on an
//! answer (conditional questions, screening rules, workflow guards).
//!
//! Written inline in TOML, e.g. `{ question = "immediate_danger", equals = true }`,
//! `{ question = "concerns", only = ["bullying"] }`, `{ any = [ {…}, {…} ] }` or, in screening
//! rules, `{ band_at_least = "medium" }`.

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A test on the answers (and, inside screening and workflow, on facts already decided).
/// Exactly one test per condition: a question test (`question` with one operator), a fact
/// test, or a combinator (`all`, `any`, `not`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Dotted key of the question tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The answer equals this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// The answer equals one of these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<Value>>,
    /// A multiple choice (or indicator matrix) answer includes at least one of these options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<Vec<String>>,
    /// A multiple choice answer has at least one option and every chosen option is among these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
    /// The question has (true) or has not (false) been answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<bool>,
    /// An indicator matrix answer has a row ticked in at least one of these columns
    /// (restricted to the rows in `includes` when both are given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// The question is a date of birth and the person is at most this old on the day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_at_most: Option<u32>,
    /// The question is a date of birth and the person is at least this old on the day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_at_least: Option<u32>,
    /// A number answer is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// A number answer is at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    /// Every condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Condition>>,
    /// At least one condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Condition>>,
    /// The condition does not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Condition>>,
    /// Screening only: the band decided so far is at least this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band_at_least: Option<String>,
    /// Screening only: the eligibility decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible: Option<bool>,
    /// Screening only: the scope decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_scope: Option<bool>,
}

/// What a condition is evaluated against.
pub trait Facts {
    /// The answer at a dotted key, if answered (empty strings and empty arrays count as unanswered).
    fn answer(&self, key: &str) -> Option<&Value>;
    /// The day ages are counted on (the day of the referral).
    fn today(&self) -> NaiveDate;
    /// Position of the band decided so far in the service's band order.
    fn band_rank(&self) -> Option<usize> {
        None
    }
    /// Position of a named band in the service's band order.
    fn rank_of_band(&self, _band: &str) -> Option<usize> {
        None
    }
    fn eligible(&self) -> Option<bool> {
        None
    }
    fn in_scope(&self) -> Option<bool> {
        None
    }
}

/// Looks a dotted key up in an answers document, treating empty values as unanswered.
pub fn lookup<'a>(answers: &'a Value, key: &str) -> Option<&'a Value> {
    let mut current = answers;
    for part in key.split('.') {
        current = current.as_object()?.get(part)?;
    }
    if is_empty_answer(current) {
        None
    } else {
        Some(current)
    }
}

/// Null, blank strings, empty arrays and empty objects are "not answered".
pub fn is_empty_answer(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Whole years between a date of birth and a day.
pub fn age_on(date_of_birth: NaiveDate, day: NaiveDate) -> Option<u32> {
    if day < date_of_birth {
        return None;
    }
    let mut years = day.year() - date_of_birth.year();
    if (day.month(), day.day()) < (date_of_birth.month(), date_of_birth.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

/// The rows of an indicator matrix answer ticked in a column: `"both"` ticks every column.
pub fn matrix_row_has_column(cell: &Value, column: &str) -> bool {
    match cell {
        Value::String(s) => s == column || s == "both",
        Value::Array(cols) => cols.iter().any(|c| c.as_str() == Some(column)),
        _ => false,
    }
}

impl Condition {
    /// Evaluates the condition on answers still being given, in three values: `Some` when
    /// the answer is already certain, `None` when it may still change. A question test is
    /// certain only when `settled(key)` (the question has been asked already, answered or
    /// not); a screening fact (band, eligibility, scope) is never certain here. `all` is
    /// false as soon as one part is, `any` true as soon as one part is (Kleene logic), so a
    /// service can say "we cannot take this" straight after the answer that decides it.
    pub fn decided(&self, facts: &dyn Facts, settled: &dyn Fn(&str) -> bool) -> Option<bool> {
        if let Some(all) = &self.all {
            let mut unknown = false;
            for c in all {
                match c.decided(facts, settled) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            return (!unknown).then_some(true);
        }
        if let Some(any) = &self.any {
            let mut unknown = false;
            for c in any {
                match c.decided(facts, settled) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            return (!unknown).then_some(false);
        }
        if let Some(not) = &self.not {
            return not.decided(facts, settled).map(|v| !v);
        }
        match &self.question {
            Some(key) if settled(key) => Some(self.holds(facts)),
            _ => None,
        }
    }

    /// Evaluates the condition. Unanswered questions make question tests false
    /// (except `answered = false`).
    pub fn holds(&self, facts: &dyn Facts) -> bool {
        if let Some(all) = &self.all {
            return all.iter().all(|c| c.holds(facts));
        }
        if let Some(any) = &self.any {
            return any.iter().any(|c| c.holds(facts));
        }
        if let Some(not) = &self.not {
            return !not.holds(facts);
        }
        if let Some(band) = &self.band_at_least {
            return match (facts.band_rank(), facts.rank_of_band(band)) {
                (Some(have), Some(want)) => have >= want,
                _ => false,
            };
        }
        if let Some(eligible) = self.eligible {
            return facts.eligible() == Some(eligible);
        }
        if let Some(in_scope) = self.in_scope {
            return facts.in_scope() == Some(in_scope);
        }
        let Some(key) = &self.question else {
            return false;
        };
        let answer = facts.answer(key);
        if let Some(answered) = self.answered {
            return answer.is_some() == answered;
        }
        let Some(answer) = answer else {
            return false;
        };
        if let Some(expected) = &self.equals {
            return values_equal(answer, expected);
        }
        if let Some(options) = &self.any_of {
            return options.iter().any(|o| values_equal(answer, o));
        }
        if let Some(columns) = &self.columns {
            let Some(rows) = answer.as_object() else {
                return false;
            };
            return rows.iter().any(|(row, cell)| {
                self.includes
                    .as_ref()
                    .is_none_or(|wanted| wanted.iter().any(|w| w == row))
                    && columns.iter().any(|c| matrix_row_has_column(cell, c))
            });
        }
        if let Some(wanted) = &self.includes {
            return chosen(answer).iter().any(|c| wanted.iter().any(|w| w == c));
        }
        if let Some(allowed) = &self.only {
            let chosen = chosen(answer);
            return !chosen.is_empty() && chosen.iter().all(|c| allowed.iter().any(|a| a == c));
        }
        if self.age_at_most.is_some() || self.age_at_least.is_some() {
            let Some(age) = answer
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                .and_then(|dob| age_on(dob, facts.today()))
            else {
                return false;
            };
            return self.age_at_most.is_none_or(|max| age <= max)
                && self.age_at_least.is_none_or(|min| age >= min);
        }
        if self.at_least.is_some() || self.at_most.is_some() {
            let Some(n) = answer.as_f64() else {
                return false;
            };
            return self.at_least.is_none_or(|min| n >= min)
                && self.at_most.is_none_or(|max| n <= max);
        }
        false
    }

    /// Every question key this condition reads, for load-time checks.
    pub fn questions(&self) -> Vec<&str> {
        let mut keys = Vec::new();
        self.collect_questions(&mut keys);
        keys
    }

    fn collect_questions<'a>(&'a self, keys: &mut Vec<&'a str>) {
        if let Some(q) = &self.question {
            keys.push(q);
        }
        for c in self.all.iter().chain(self.any.iter()).flatten() {
            c.collect_questions(keys);
        }
        if let Some(not) = &self.not {
            not.collect_questions(keys);
        }
    }

    /// Checks the condition is well formed: one test, with what that test needs.
    /// `facts_allowed` is true inside screening and workflow, where band/eligible/in_scope exist.
    pub fn check_shape(&self, facts_allowed: bool) -> Result<(), String> {
        let combinators = [self.all.is_some(), self.any.is_some(), self.not.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        let facts = [
            self.band_at_least.is_some(),
            self.eligible.is_some(),
            self.in_scope.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        let operators = [
            self.equals.is_some(),
            self.any_of.is_some(),
            self.includes.is_some() && self.columns.is_none(),
            self.only.is_some(),
            self.answered.is_some(),
            self.columns.is_some(),
            self.age_at_most.is_some() || self.age_at_least.is_some(),
            self.at_least.is_some() || self.at_most.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        let kinds = combinators + facts + usize::from(self.question.is_some() || operators > 0);
        if kinds != 1 || combinators > 1 || facts > 1 {
            return Err(
                "a condition must be exactly one test: a question with one operator, \
                        one of band_at_least/eligible/in_scope, or one of all/any/not"
                    .into(),
            );
        }
        if facts > 0 && !facts_allowed {
            return Err("band_at_least, eligible and in_scope can only be used in screening rules and workflow guards".into());
        }
        if self.question.is_some() != (operators > 0) {
            return Err(if self.question.is_some() {
                "a question test needs one operator (equals, any_of, includes, only, answered, columns, age_at_most/age_at_least, at_least/at_most)".into()
            } else {
                "an operator needs `question` naming the question it tests".into()
            });
        }
        if operators > 1 {
            return Err("a question test takes one operator (use `all` to combine tests)".into());
        }
        for c in self.all.iter().chain(self.any.iter()).flatten() {
            c.check_shape(facts_allowed)?;
        }
        if let Some(not) = &self.not {
            not.check_shape(facts_allowed)?;
        }
        Ok(())
    }
}

/// Options chosen in a multiple choice answer, a single choice answer, or matrix rows.
fn chosen(answer: &Value) -> Vec<&str> {
    match answer {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        Value::Object(rows) => rows.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Numbers compare by value (TOML `1` and JSON `1.0` are equal).
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() < f64::EPSILON,
        _ => a == b,
    }
}

/// Facts that are just an answers document and a day (for conditional questions).
pub struct AnswerFacts<'a> {
    pub answers: &'a Value,
    pub today: NaiveDate,
}

impl Facts for AnswerFacts<'_> {
    fn answer(&self, key: &str) -> Option<&Value> {
        lookup(self.answers, key)
    }
    fn today(&self) -> NaiveDate {
        self.today
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(answers: &Value) -> AnswerFacts<'_> {
        AnswerFacts {
            answers,
            today: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default(),
        }
    }

    fn cond(toml_src: &str) -> Condition {
        toml::from_str::<std::collections::BTreeMap<String, Condition>>(toml_src)
            .map(|mut m| m.remove("c").unwrap_or_default())
            .unwrap_or_default()
    }

    #[test]
    fn only_needs_every_choice_in_the_set() {
        let c = cond(r#"c = { question = "b", only = ["cyberbullying", "online_fraud"] }"#);
        assert!(c.holds(&facts(&json!({"b": ["cyberbullying"]}))));
        assert!(!c.holds(&facts(&json!({"b": ["cyberbullying", "phishing"]}))));
        assert!(!c.holds(&facts(&json!({"b": []}))));
    }

    #[test]
    fn matrix_columns_treat_both_as_every_column() {
        let c = cond(r#"c = { question = "s", columns = ["current"] }"#);
        assert!(c.holds(&facts(&json!({"s": {"a": "both"}}))));
        assert!(c.holds(&facts(&json!({"s": {"a": "prior", "b": "current"}}))));
        assert!(!c.holds(&facts(&json!({"s": {"a": "prior"}}))));
    }

    #[test]
    fn ages_count_whole_years_on_the_day() {
        let c = cond(r#"c = { question = "dob", age_at_most = 13 }"#);
        assert!(c.holds(&facts(&json!({"dob": "2012-11-23"}))));
        assert!(!c.holds(&facts(&json!({"dob": "2012-11-22"}))));
        assert!(!c.holds(&facts(&json!({}))));
    }

    #[test]
    fn unanswered_is_false_except_for_answered_false() {
        let c = cond(r#"c = { not = { question = "x", answered = true } }"#);
        assert!(c.holds(&facts(&json!({"x": "  "}))));
        let c = cond(r#"c = { question = "x", equals = true }"#);
        assert!(!c.holds(&facts(&json!({}))));
    }

    #[test]
    fn shape_check_refuses_two_tests_in_one_condition() {
        let c = cond(r#"c = { question = "x", equals = true, answered = true }"#);
        assert!(c.check_shape(false).is_err());
        let c = cond(r#"c = { band_at_least = "high" }"#);
        assert!(c.check_shape(false).is_err());
        assert!(c.check_shape(true).is_ok());
    }
}
