//! The JSON Schema of the definition format (`schemas/service-definition.schema.json`) is
//! generated from the Rust types, so it can never drift from what the loader accepts.
//! Regenerate it with `HAVEN_BLESS=1 cargo test -p haven-core --test definition_schema`.

use haven_core::definition::ServiceDefinition;

const SCHEMA_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../schemas/service-definition.schema.json"
);

fn generated() -> String {
    let mut schema = schemars::schema_for!(ServiceDefinition);
    schema.insert(
        "$id".into(),
        "https://haven.invalid/schemas/service-definition.schema.json".into(),
    );
    schema.insert(
        "description".into(),
        "A Haven service definition (one TOML file per service). Generated from crates/haven-core/src/definition; do not edit by hand.".into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serialises");
    text.push('\n');
    text
}

#[test]
fn committed_schema_matches_the_types() {
    let generated = generated();
    if std::env::var_os("HAVEN_BLESS").is_some() {
        std::fs::write(SCHEMA_PATH, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(SCHEMA_PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/service-definition.schema.json is out of date: run HAVEN_BLESS=1 cargo test -p haven-core --test definition_schema"
    );
}

#[test]
fn schema_names_every_question_type() {
    let generated = generated();
    for kind in [
        "short_text",
        "long_text",
        "email",
        "phone",
        "date",
        "number",
        "yes_no",
        "choice",
        "multiple_choice",
        "indicator_matrix",
        "repeatable",
        "file",
    ] {
        let kind = if kind == "short_text" { "text" } else { kind };
        assert!(
            generated.contains(&format!("\"{kind}\"")),
            "{kind} missing from schema"
        );
    }
}
