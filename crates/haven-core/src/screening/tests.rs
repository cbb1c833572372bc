//! Evaluation without validation: the rules must treat anything unexpected as "not ticked"
//! and never panic, so a gap in validation can never become a crash.

use chrono::NaiveDate;
use proptest::prelude::*;
use serde_json::{Map, Value};

use super::evaluate;
use crate::definition::ServiceDefinition;
use crate::definition::load::parse_definition;

fn builtins() -> Vec<ServiceDefinition> {
    [
        (
            "secos.toml",
            include_str!("../../../../services/secos.toml"),
        ),
        ("ceop.toml", include_str!("../../../../services/ceop.toml")),
        (
            "cyber-choices.toml",
            include_str!("../../../../services/cyber-choices.toml"),
        ),
        (
            "weighted-cse-tool.toml",
            include_str!("../../../../services/examples/weighted-cse-tool.toml"),
        ),
    ]
    .into_iter()
    .map(|(file, source)| parse_definition(file, source).unwrap())
    .collect()
}

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("current"),
            Just("prior"),
            Just("both"),
            Just("online_grooming"),
            Just("bullying"),
            Just("cyberbullying"),
            Just("2012-11-23"),
            Just("0000-01-01"),
            Just(""),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("online_grooming"),
                    Just("missing_episodes"),
                    Just("current"),
                    Just("x")
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// Puts a value at a dotted key, creating the objects on the way.
fn put(doc: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        Some((head, rest)) => {
            let entry = doc.entry(head).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                put(inner, rest, value);
            }
        }
        None => {
            doc.insert(key.to_owned(), value);
        }
    }
}

proptest! {
    #[test]
    fn evaluation_never_panics_on_unvalidated_answers(values in prop::collection::vec(any_value(), 16)) {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        for def in builtins() {
            let Some(rules) = &def.screening else { continue };
            let mut doc = Map::new();
            for (key, value) in super::validation::read_keys(rules).into_iter().zip(values.iter().cycle()) {
                put(&mut doc, key, value.clone());
            }
            let result = evaluate(&def, rules, &Value::Object(doc), today);
            if let Some(band) = &result.suggested_band {
                prop_assert!(rules.bands.contains(band));
            }
        }
    }
}

fn secos() -> ServiceDefinition {
    builtins().into_iter().find(|d| d.id == "secos").unwrap()
}

fn keys(actions: &[super::ActionDue]) -> Vec<&str> {
    actions.iter().map(|a| a.key.as_str()).collect()
}

#[test]
fn the_confirmed_band_decides_the_band_actions() {
    let def = secos();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let answers = serde_json::json!({});
    let high = super::required_actions(&def, &answers, today, "high").unwrap();
    assert_eq!(
        keys(&high),
        ["vemt_referral", "childrens_services_referral"]
    );
    let medium = super::required_actions(&def, &answers, today, "medium").unwrap();
    assert_eq!(keys(&medium), ["vemt_referral"]);
    let low = super::required_actions(&def, &answers, today, "low").unwrap();
    assert!(low.is_empty());
    // Labels and reasons come from the definition.
    assert_eq!(high[1].label, "Refer to Children's Services");
    assert!(super::required_actions(&def, &answers, today, "extreme").is_none());
}

#[test]
fn actions_that_do_not_read_the_band_stay_whatever_the_band() {
    let def = secos();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let mut doc = Map::new();
    put(&mut doc, "screening.cse_intelligence", Value::Bool(true));
    let answers = Value::Object(doc);
    for band in ["none", "low", "medium", "high"] {
        let actions = super::required_actions(&def, &answers, today, band).unwrap();
        assert!(keys(&actions).contains(&"police_intelligence"), "{band}");
    }
}

#[test]
fn a_change_of_band_adds_and_drops_actions() {
    let def = secos();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let answers = serde_json::json!({});
    let high = super::required_actions(&def, &answers, today, "high").unwrap();
    let low = super::required_actions(&def, &answers, today, "low").unwrap();
    // medium → high: Children's Services is added, nothing dropped.
    let up = super::actions_change(&["vemt_referral"], &high);
    assert_eq!(keys(&up.added), ["childrens_services_referral"]);
    assert!(up.no_longer_required.is_empty());
    // high → low: both band actions are no longer required.
    let down = super::actions_change(&["vemt_referral", "childrens_services_referral"], &low);
    assert!(down.added.is_empty());
    assert_eq!(
        down.no_longer_required,
        ["vemt_referral", "childrens_services_referral"]
    );
    // The same band again changes nothing.
    let same = super::actions_change(&["vemt_referral", "childrens_services_referral"], &high);
    assert_eq!(same, super::ActionsChange::default());
}
