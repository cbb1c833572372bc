//! Properties of screening that must hold for every answers document: adding an indicator
//! never lowers the band, the band is always one of the service's, and no document (however
//! malformed) makes screening panic.

use std::sync::LazyLock;

use chrono::{Days, NaiveDate};
use haven_core::definition::load::parse_definition;
use haven_core::definition::{QuestionKind, ServiceDefinition};
use haven_core::screening::screen;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A small SECOS-like tool written inline, so the properties do not depend on the built-in
/// file's wording (they run on the built-in too, below).
const SECOS_LIKE: &str = r#"
id = "secos-like"
name = "SECOS-like"
version = 1
summary = "Test."
team = "t"
reference_prefix = "SL"

[[audiences]]
key = "professional"
label = "Professional"

[[signposts]]
key = "vemt"
label = "VEMT"
contact = "x"

[[stages]]
key = "referral"
label = "Referral"
access = "public"
audiences = ["professional"]

[[stages.pages]]
key = "yp"
title = "Young person"

[[stages.pages.questions]]
key = "young_person.date_of_birth"
type = "date"
label = "Date of birth"
not_future = true

[[stages.pages]]
key = "screen"
title = "Screening"

[[stages.pages.questions]]
key = "screening.vulnerabilities"
type = "multiple_choice"
label = "Vulnerabilities"
options = [{ key = "v1", label = "V1" }, { key = "v2", label = "V2" }, { key = "v3", label = "V3" }]

[[stages.pages.questions]]
key = "screening.vulnerabilities_narrative"
type = "long_text"
label = "Narrative"
required_when = { question = "screening.vulnerabilities", answered = true }

[[stages.pages.questions]]
key = "screening.moderate"
type = "multiple_choice"
label = "Moderate"
options = [{ key = "m1", label = "M1" }, { key = "m2", label = "M2" }, { key = "m3", label = "M3" }]

[[stages.pages.questions]]
key = "screening.moderate_narrative"
type = "long_text"
label = "Narrative"
required_when = { question = "screening.moderate", answered = true }

[[stages.pages.questions]]
key = "screening.significant"
type = "indicator_matrix"
label = "Significant"
columns = [{ key = "current", label = "Current" }, { key = "prior", label = "Prior" }]
options = [{ key = "s1", label = "S1" }, { key = "s2", label = "S2" }, { key = "s3", label = "S3" }]

[[stages.pages.questions]]
key = "screening.cse_intelligence"
type = "yes_no"
label = "Intelligence?"

[screening]
version = "t1"
bands = ["none", "low", "medium", "high"]

[screening.eligibility]
when = { any = [
  { question = "screening.vulnerabilities", answered = true },
  { question = "screening.moderate", answered = true },
  { question = "screening.significant", answered = true },
] }
indicators = ["screening.vulnerabilities", "screening.moderate", "screening.significant"]
not_eligible_reason = "Nothing ticked."

[[screening.band_rules]]
band = "high"
question = "screening.significant"
columns = ["current"]
reason = "current"

[[screening.band_rules]]
band = "medium"
question = "screening.moderate"
reason = "moderate"

[[screening.band_rules]]
band = "medium"
question = "screening.significant"
columns = ["prior"]
only_columns = true
reason = "prior only"

[[screening.band_rules]]
band = "low"
question = "screening.vulnerabilities"
reason = "vulnerabilities"

[[screening.band_rules]]
band = "high"
question = "screening.significant"
when = { question = "young_person.date_of_birth", age_at_most = 13 }
reason = "age floor"

[[screening.actions]]
key = "vemt_referral"
label = "VEMT"
reason = "r"
when = { band_at_least = "medium" }

[[screening.signpost_rules]]
when = { band_at_least = "medium" }
signposts = ["vemt"]
"#;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// Parsed once: the properties run hundreds of cases each.
fn definitions() -> &'static [ServiceDefinition] {
    static DEFS: LazyLock<Vec<ServiceDefinition>> = LazyLock::new(load_definitions);
    &DEFS
}

fn load_definitions() -> Vec<ServiceDefinition> {
    let mut defs = vec![parse_definition("secos-like.toml", SECOS_LIKE).unwrap()];
    for file in [
        "secos.toml",
        "ceop.toml",
        "cyber-choices.toml",
        "examples/weighted-cse-tool.toml",
    ] {
        let path = format!("{}/../../services/{file}", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        defs.push(parse_definition(file, &source).unwrap_or_else(|e| panic!("{e}")));
    }
    defs
}

/// The definitions that screen with the SECOS tool's three sections (rules or weights).
fn secos_defs() -> impl Iterator<Item = &'static ServiceDefinition> {
    definitions()
        .iter()
        .filter(|d| d.question("screening.significant").is_some())
}

/// The indicators of one SECOS-like definition: (section, option keys).
fn indicator_keys(def: &ServiceDefinition) -> [(String, Vec<String>); 3] {
    ["vulnerabilities", "moderate", "significant"].map(|section| {
        let key = format!("screening.{section}");
        let options = def
            .question(&key)
            .map(|q| q.options.iter().map(|o| o.key.clone()).collect())
            .unwrap_or_default();
        (section.to_owned(), options)
    })
}

/// One tick: a section (0 vulnerabilities, 1 moderate, 2 significant), an option index,
/// and for the matrix the columns (1 current, 2 prior, 3 both).
type Tick = (usize, usize, u8);

fn tick() -> impl Strategy<Value = Tick> {
    (0usize..3, 0usize..32, 1u8..4)
}

/// Builds a valid SECOS screening document from ticks, merging columns of a repeated row.
fn document(
    def: &ServiceDefinition,
    ticks: &[Tick],
    age_days: Option<u64>,
    intelligence: bool,
) -> Value {
    let sections = indicator_keys(def);
    let mut lists: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut matrix: Vec<(String, u8)> = Vec::new();
    for &(section, option, columns) in ticks {
        let options = &sections[section].1;
        let key = options[option % options.len()].clone();
        if section < 2 {
            if !lists[section].contains(&key) {
                lists[section].push(key);
            }
        } else if let Some(row) = matrix.iter_mut().find(|(k, _)| *k == key) {
            row.1 |= columns;
        } else {
            matrix.push((key, columns));
        }
    }
    let mut screening = Map::new();
    if !ticks.is_empty() {
        // Every narrative the definition has (per section, or one for the tool).
        for (_, _, q) in def.questions() {
            if let Some(name) = q
                .key
                .strip_prefix("screening.")
                .filter(|_| q.kind == QuestionKind::LongText)
            {
                screening.insert(name.into(), json!("A narrative."));
            }
        }
    }
    for (i, section) in ["vulnerabilities", "moderate"].iter().enumerate() {
        if !lists[i].is_empty() {
            screening.insert((*section).into(), json!(lists[i]));
        }
    }
    if !matrix.is_empty() {
        let rows: Map<String, Value> = matrix
            .into_iter()
            .map(|(k, c)| {
                (
                    k,
                    json!(match c {
                        1 => "current",
                        2 => "prior",
                        _ => "both",
                    }),
                )
            })
            .collect();
        screening.insert("significant".into(), Value::Object(rows));
    }
    screening.insert("cse_intelligence".into(), json!(intelligence));
    let mut doc = json!({ "screening": screening });
    if let Some(days) = age_days {
        let dob = today().checked_sub_days(Days::new(days)).unwrap();
        doc["young_person"] = json!({ "date_of_birth": dob.format("%Y-%m-%d").to_string() });
    }
    doc
}

fn band_rank(def: &ServiceDefinition, doc: &Value) -> usize {
    let result = screen(def, doc, today()).unwrap_or_else(|e| panic!("{doc}: {e:?}"));
    let band = result
        .suggested_band
        .expect("a SECOS-like service always suggests a band");
    let bands = &def.screening.as_ref().unwrap().bands;
    bands.iter().position(|b| *b == band).unwrap()
}

/// Any JSON at all: wrong types, deep nesting, keys the definitions use and keys they don't.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("screening".to_owned()),
        Just("vulnerabilities".to_owned()),
        Just("moderate".to_owned()),
        Just("significant".to_owned()),
        Just("moderate_narrative".to_owned()),
        Just("cse_intelligence".to_owned()),
        Just("young_person".to_owned()),
        Just("date_of_birth".to_owned()),
        Just("concerns".to_owned()),
        Just("child".to_owned()),
        Just("age".to_owned()),
        Just("immediate_danger".to_owned()),
        Just("behaviours".to_owned()),
        Just("young_person_age".to_owned()),
        Just("online_grooming".to_owned()),
        "[a-z_]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("current".to_owned()),
            Just("prior".to_owned()),
            Just("both".to_owned()),
            Just("2012-11-23".to_owned()),
            Just("bullying".to_owned()),
            Just("drug_misuse".to_owned()),
            ".{0,20}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn adding_an_indicator_never_lowers_the_band(
        ticks in prop::collection::vec(tick(), 0..10),
        extra in tick(),
        age_days in prop::option::of(0u64..(30 * 366)),
        intelligence in any::<bool>(),
    ) {
        for def in secos_defs() {
            let before = band_rank(def, &document(def, &ticks, age_days, intelligence));
            let mut more = ticks.clone();
            more.push(extra);
            let after = band_rank(def, &document(def, &more, age_days, intelligence));
            prop_assert!(after >= before, "{}: {ticks:?} + {extra:?}: {before} -> {after}", def.id);
        }
    }

    #[test]
    fn the_band_is_always_one_of_the_services_bands(
        ticks in prop::collection::vec(tick(), 0..10),
        age_days in prop::option::of(0u64..(30 * 366)),
        intelligence in any::<bool>(),
    ) {
        for def in secos_defs() {
            let result = screen(def, &document(def, &ticks, age_days, intelligence), today()).unwrap();
            let bands = &def.screening.as_ref().unwrap().bands;
            prop_assert!(result.suggested_band.as_ref().is_some_and(|b| bands.contains(b)));
            prop_assert_eq!(result.eligible, Some(!ticks.is_empty()));
            prop_assert_eq!(result.confirmed_band, None);
        }
    }

    #[test]
    fn screening_never_panics_on_any_json(doc in any_json()) {
        for def in definitions() {
            if let Ok(result) = screen(def, &doc, today()) {
                let bands = &def.screening.as_ref().map(|s| s.bands.clone()).unwrap_or_default();
                match &result.suggested_band {
                    Some(b) => prop_assert!(bands.contains(b)),
                    None => prop_assert!(bands.is_empty()),
                }
            }
        }
    }

    #[test]
    fn screening_never_panics_on_wrong_types_where_answers_are_read(
        screening in prop::collection::btree_map(
            prop_oneof![Just("vulnerabilities"), Just("moderate"), Just("significant"), Just("moderate_narrative"), Just("cse_intelligence")],
            any_json(), 0..5),
        young_person in any_json(),
        concerns in any_json(),
        child in any_json(),
    ) {
        let doc = json!({
            "screening": screening,
            "young_person": young_person,
            "concerns": concerns,
            "child": child,
            "immediate_danger": concerns.clone(),
            "behaviours": child.clone(),
        });
        for def in definitions() {
            let _ = screen(def, &doc, today());
        }
    }
}
