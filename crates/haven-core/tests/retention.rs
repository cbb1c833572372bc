//! The retention schedule of each built-in definition, and when a case is due.

use chrono::NaiveDate;
use haven_core::definition::ServiceDefinition;
use haven_core::definition::load::parse_definition;
use haven_core::retention::{CaseRetentionFacts, Due};

fn load(id: &str) -> ServiceDefinition {
    let path = format!("{}/../../services/{id}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("definition file");
    parse_definition(&path, &text).expect("a valid definition")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

fn closed(decision: &str, on: NaiveDate) -> CaseRetentionFacts {
    CaseRetentionFacts {
        status: "closed".into(),
        closed: true,
        closed_on: Some(on),
        decision: Some(decision.into()),
        ..Default::default()
    }
}

#[test]
fn not_accepted_goes_two_years_after_closure() {
    let def = load("cyber-choices");
    let retention = def.retention.as_ref().expect("[retention]");
    let due = retention.due(&closed("not_suitable", day(2024, 2, 29)));
    assert_eq!(
        due,
        Due::On {
            rule: "not_accepted".into(),
            on: day(2026, 2, 28)
        }
    );
    assert!(!due.is_due(day(2026, 2, 27)));
    assert!(due.is_due(day(2026, 2, 28)));
}

#[test]
fn after_intervention_is_kept_until_the_25th_birthday_or_six_years() {
    let def = load("cyber-choices");
    let retention = def.retention.as_ref().expect("[retention]");
    let mut facts = closed("intervention_completed", day(2020, 5, 1));
    facts.date_of_birth = Some(day(2005, 7, 9));
    assert_eq!(
        retention.due(&facts),
        Due::On {
            rule: "after_intervention".into(),
            on: day(2030, 7, 9)
        }
    );
    // An older young person: six years after closure is later than the birthday.
    facts.date_of_birth = Some(day(1998, 1, 1));
    assert_eq!(
        retention.due(&facts).clone(),
        Due::On {
            rule: "after_intervention".into(),
            on: day(2026, 5, 1)
        }
    );
    // No date of birth, age 14 when the case came in on 3 March 2019: turns 25 by 3 March 2030.
    facts.date_of_birth = None;
    facts.age_reported = Some((14, day(2019, 3, 3)));
    assert_eq!(
        retention.due(&facts),
        Due::On {
            rule: "after_intervention".into(),
            on: day(2030, 3, 3)
        }
    );
}

#[test]
fn open_and_held_cases_are_never_due() {
    let def = load("secos");
    let retention = def.retention.as_ref().expect("[retention]");
    let open = CaseRetentionFacts {
        status: "received".into(),
        ..Default::default()
    };
    assert_eq!(retention.due(&open), Due::Open);
    let mut held = closed("withdrawn", day(2010, 1, 1));
    held.held = true;
    let due = retention.due(&held);
    assert_eq!(
        due,
        Due::Held {
            rule: "not_accepted".into(),
            on: Some(day(2012, 1, 1))
        }
    );
    assert!(!due.is_due(day(2030, 1, 1)));
}

#[test]
fn a_rule_naming_an_unknown_decision_or_no_term_is_refused() {
    let path = format!("{}/../../services/ceop.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("definition file");
    let broken = text.replace(
        "decisions = [\"threshold_not_met\", \"no_contact\", \"duplicate\"]\nyears_after_closure = 2",
        "decisions = [\"nope\"]",
    );
    assert_ne!(broken, text);
    let err = parse_definition("ceop.toml", &broken).expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("names no workflow decision `nope`"), "{text}");
    assert!(
        text.contains("needs `years_after_closure` or `until_age`"),
        "{text}"
    );
}

#[test]
fn an_email_that_never_became_a_case_is_kept_its_months_after_the_decision_or_arrival() {
    use haven_core::retention::{InboxItemFacts, InboxRetention};
    let rule = InboxRetention {
        label: "Emails turned down or quarantined: 6 months".to_owned(),
        months: 6,
    };
    assert_eq!(rule.due_on(InboxItemFacts::Undecided), None);
    assert_eq!(
        rule.due_on(InboxItemFacts::DecidedOn(day(2026, 3, 2))),
        Some(day(2026, 9, 2))
    );
    // The end of a longer month becomes the end of the shorter one.
    assert_eq!(
        rule.due_on(InboxItemFacts::QuarantinedOn(day(2026, 8, 31))),
        Some(day(2027, 2, 28))
    );
}

#[test]
fn only_what_decides_the_rule_is_asked_for() {
    let def = load("secos");
    let retention = def.retention.as_ref().expect("[retention]");
    // SECOS's first rule names decisions: the closing decision is needed.
    assert!(retention.needs_decision("closed", None));
    // Withdrawn: two years after closure, no birthday needed.
    assert!(!retention.needs_birth(&closed("withdrawn", day(2024, 1, 1))));
    // After case work: until the 25th birthday, so the date of birth is needed.
    assert!(retention.needs_birth(&closed("intervention_completed", day(2024, 1, 1))));
    // An open case needs nothing.
    let mut open = closed("withdrawn", day(2024, 1, 1));
    open.closed = false;
    open.closed_on = None;
    assert!(!retention.needs_birth(&open));
    // A schedule whose rules name no decisions never needs one.
    let plain: haven_core::retention::Retention =
        toml::from_str("default = { years_after_closure = 3 }").expect("a schedule");
    assert!(!plain.needs_decision("closed", None));
    assert!(!plain.needs_birth(&closed("withdrawn", day(2024, 1, 1))));
}
