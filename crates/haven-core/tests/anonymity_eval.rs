//! Measures the anonymity check on labelled sets of realistic enquiry summaries
//! (`tests/data/anonymity_*.json`): about half identify someone (each labelled with the kinds
//! of detail they contain), half are properly anonymised but full of capitalised words that
//! are not names. Prints recall (overall and per kind) and the false-positive rate, and
//! holds them to the targets the enquiry form relies on, both on all splits pooled and on the
//! held-out split [`HELD_OUT`] alone (never used for tuning). Also times one check of a
//! 2,000-character text (printed only, never asserted). Also a property test that the
//! check never panics and returns well-formed offsets.

use std::collections::BTreeMap;

use haven_core::anonymity::{Finding, FindingKind, check};
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    id: String,
    identifying: bool,
    kinds: Vec<String>,
    text: String,
    /// "tuning": written before the detector and used while building it. "holdout-N":
    /// written later, measured once before any change it prompted (the numbers in the
    /// commit that added it are the honest estimate); later splits were not tuned on.
    /// "dev-3": written with holdout-3 for issue 14 and tuned on. "holdout-3": committed
    /// on its own before the detector was widened for issue 14, never tuned on.
    split: String,
}

fn kind_name(kind: FindingKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The split whose targets are asserted on their own: never looked at while tuning.
const HELD_OUT: &str = "holdout-3";

fn cases() -> Vec<Case> {
    [
        include_str!("data/anonymity_cases.json"),
        include_str!("data/anonymity_dev3.json"),
        include_str!("data/anonymity_holdout3.json"),
    ]
    .into_iter()
    .flat_map(|raw| serde_json::from_str::<Vec<Case>>(raw).unwrap())
    .collect()
}

/// Recall, false-positive rate and per-kind recall of the check on `cases`, printed with
/// every miss and false positive so a failure says what to look at.
fn evaluate(label: &str, cases: &[&Case]) -> (f64, f64) {
    let identifying: Vec<&Case> = cases.iter().copied().filter(|c| c.identifying).collect();
    let clean: Vec<&Case> = cases.iter().copied().filter(|c| !c.identifying).collect();
    let mut missed = Vec::new();
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for case in &identifying {
        let report = check(&case.text);
        if !report.identifying {
            missed.push(case.id.as_str());
        }
        let found: Vec<String> = report.findings.iter().map(|f| kind_name(f.kind)).collect();
        for kind in &case.kinds {
            let entry = per_kind.entry(kind.clone()).or_default();
            entry.1 += 1;
            if found.contains(kind) {
                entry.0 += 1;
            } else {
                println!(
                    "  [{label}] kind miss {} ({kind}): found {found:?} in {:?}",
                    case.id, case.text
                );
            }
        }
    }
    let mut false_positives = Vec::new();
    for case in &clean {
        let report = check(&case.text);
        if report.identifying {
            let what: Vec<String> = report
                .findings
                .iter()
                .map(|f: &Finding| {
                    format!("{}={:?}", kind_name(f.kind), &case.text[f.start..f.end])
                })
                .collect();
            println!(
                "  [{label}] false positive {}: {}",
                case.id,
                what.join(", ")
            );
            false_positives.push(case.id.as_str());
        }
    }
    let recall = 1.0 - missed.len() as f64 / identifying.len().max(1) as f64;
    let fpr = false_positives.len() as f64 / clean.len().max(1) as f64;
    println!(
        "[{label}] cases: {} ({} identifying, {} not)",
        cases.len(),
        identifying.len(),
        clean.len()
    );
    println!("[{label}] recall: {recall:.3} (missed: {missed:?})");
    println!("[{label}] false-positive rate: {fpr:.3} ({false_positives:?})");
    for (kind, (hit, total)) in &per_kind {
        println!(
            "[{label}]   recall[{kind}] = {hit}/{total} = {:.3}",
            *hit as f64 / *total as f64
        );
    }
    (recall, fpr)
}

#[test]
fn recall_and_false_positive_rate_on_the_labelled_set() {
    let cases = cases();
    let all: Vec<&Case> = cases.iter().collect();
    let identifying = all.iter().filter(|c| c.identifying).count();
    assert!(
        cases.len() >= 120
            && identifying * 3 >= cases.len()
            && (cases.len() - identifying) * 3 >= cases.len()
    );
    let mut splits: Vec<&str> = all.iter().map(|c| c.split.as_str()).collect();
    splits.sort_unstable();
    splits.dedup();
    for split in splits {
        let part: Vec<&Case> = all.iter().copied().filter(|c| c.split == split).collect();
        assert!(!part.is_empty(), "no {split} cases");
        evaluate(split, &part);
    }
    let (recall, fpr) = evaluate("all", &all);
    let held_out: Vec<&Case> = all
        .iter()
        .copied()
        .filter(|c| c.split == HELD_OUT)
        .collect();
    let (held_recall, held_fpr) = evaluate(&format!("{HELD_OUT} again"), &held_out);
    assert!(recall >= 0.95, "recall {recall:.3} below 0.95");
    assert!(fpr <= 0.10, "false-positive rate {fpr:.3} above 0.10");
    assert!(
        held_out.len() >= 60,
        "held-out split has {} texts",
        held_out.len()
    );
    assert!(
        held_recall >= 0.95,
        "{HELD_OUT} recall {held_recall:.3} below 0.95"
    );
    assert!(
        held_fpr <= 0.10,
        "{HELD_OUT} false-positive rate {held_fpr:.3} above 0.10"
    );
}

/// Prints how long one check of a 2,000-character enquiry takes (no assertion: timings
/// depend on the machine). `cargo test --release -p haven-core --test anonymity_eval --
/// --nocapture timing` for a figure worth quoting.
#[test]
fn timing_of_a_2000_character_text() {
    let mut text = String::new();
    for case in cases().iter().filter(|c| c.identifying) {
        if text.chars().count() >= 2000 {
            break;
        }
        text.push_str(&case.text);
        text.push(' ');
    }
    let text: String = text.chars().take(2000).collect();
    let _ = check(&text); // warm the lazily built word lists and patterns
    let runs = 50u32;
    let started = std::time::Instant::now();
    let mut findings = 0;
    for _ in 0..runs {
        findings += check(std::hint::black_box(&text)).findings.len();
    }
    let each = started.elapsed() / runs;
    println!(
        "[timing] one check of a {}-character text: {each:?} ({} findings)",
        text.chars().count(),
        findings / runs as usize
    );
}

fn well_formed(text: &str, findings: &[Finding]) -> Result<(), TestCaseError> {
    let mut previous_end = 0;
    for f in findings {
        prop_assert!(f.start < f.end, "empty finding {f:?}");
        prop_assert!(f.end <= text.len(), "out of range {f:?}");
        prop_assert!(
            text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
            "not on a char boundary {f:?}"
        );
        prop_assert!(f.start >= previous_end, "overlapping or unsorted {f:?}");
        prop_assert_eq!(
            f.char_start,
            text[..f.start].chars().count(),
            "char_start {:?}",
            f
        );
        prop_assert_eq!(
            f.char_end,
            text[..f.end].chars().count(),
            "char_end {:?}",
            f
        );
        previous_end = f.end;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_and_offsets_are_well_formed(text in any::<String>()) {
        let report = check(&text);
        prop_assert_eq!(report.identifying, !report.findings.is_empty());
        well_formed(&text, &report.findings)?;
    }

    /// Text built from the pieces the detectors look for (names, digits, '@', '#', titles,
    /// accents, emoji) exercises the matching paths far more than random Unicode does.
    #[test]
    fn never_panics_on_near_miss_text(parts in prop::collection::vec(prop::sample::select(vec![
        "Tyler", "Mr", "Mrs.", " ", "  ", ". ", ", ", "'s", "’s", "-", "_", "@", "#", "07700", "900123", "+44", "(0)",
        "12/03/2011", "born", "SW1A", "1AA", "Road", "14", "St", "Mary's", "Academy", "friend", "called", "é", "😀",
        "Zoë", "\n", "University of", "twitch.tv/", "xX", "Xx", "99", "Will", "May", "NHS", "943 476 5919", "1.2.3.4",
    ]), 0..40)) {
        let text: String = parts.concat();
        let report = check(&text);
        prop_assert_eq!(report.identifying, !report.findings.is_empty());
        well_formed(&text, &report.findings)?;
    }
}

#[test]
fn long_pathological_input_is_handled() {
    for text in [
        "a".repeat(200_000),
        "Tyler ".repeat(20_000),
        "0".repeat(100_000),
        "@_".repeat(50_000),
        "é😀".repeat(30_000),
    ] {
        let report = check(&text);
        for f in &report.findings {
            assert!(f.start < f.end && f.end <= text.len());
            assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        }
    }
}
