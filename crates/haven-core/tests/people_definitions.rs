//! The `[people]` section of the built-in definitions: which answers identify the young
//! person, read from the sample referrals into a normalised identity.

use std::path::Path;

use haven_core::definition::load::parse_definition;
use serde_json::Value;

fn load(name: &str) -> haven_core::definition::ServiceDefinition {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services");
    let text = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
    parse_definition(name, &text).unwrap()
}

fn sample(name: &str) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services/samples");
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

#[test]
fn secos_sample_gives_name_date_postcode_and_phone() {
    let def = load("secos");
    let identity = def.identity(&sample("secos-referral.json")).unwrap();
    assert_eq!(identity.given, ["CHLOE"]);
    assert_eq!(identity.family.as_deref(), Some("MARSH"));
    assert_eq!(identity.date_of_birth.unwrap().to_string(), "2011-03-14");
    assert_eq!(identity.postcode.as_deref(), Some("TS99ZY"));
    assert_eq!(identity.phones, ["07700900456"]);
    assert!(!identity.blocking_keys().is_empty());
}

#[test]
fn cyber_choices_sample_gives_handles_and_preferred_name() {
    let def = load("cyber-choices");
    let identity = def
        .identity(&sample("cyber-choices-referral.json"))
        .unwrap();
    assert_eq!(identity.given, ["ETHAN", "ETH"]);
    assert_eq!(identity.postcode.as_deref(), Some("ME999ZZ"));
    assert_eq!(identity.handles, ["n1ghtbyte", "ereid-dev", "nightbyte_09"]);
}

#[test]
fn every_service_marks_identifying_questions() {
    for name in ["ceop", "cyber-choices", "secos"] {
        assert!(load(name).people.is_some(), "{name}");
    }
}

#[test]
fn an_unknown_or_mistyped_identifier_is_a_problem() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services");
    let text = std::fs::read_to_string(dir.join("secos.toml")).unwrap();
    let bad = text.replace(
        "\"young_person.address\" = \"address\"",
        "\"young_person.nope\" = \"address\"\n\"young_person.name2\" = \"nickname\"",
    );
    let err = parse_definition("secos.toml", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nickname") || err.contains("unknown variant"),
        "{err}"
    );
    let bad = text.replace(
        "\"young_person.address\" = \"address\"",
        "\"young_person.nope\" = \"address\"\n\"young_person.name\" = \"date_of_birth\"",
    );
    let bad = bad.replace("\"young_person.name\" = \"full_name\"\n", "");
    let err = parse_definition("secos.toml", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("names no question `young_person.nope`"),
        "{err}"
    );
    assert!(err.contains("not a date question"), "{err}");
}
