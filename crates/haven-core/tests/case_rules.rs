//! The case rules the server, the pages and the documents share, on the built-in
//! definitions: answers in words (one formatter for every reader), the third-party filter,
//! SLAs, the case facts on a given day, a young person's own report, and the checks on
//! typed casework input.

use chrono::NaiveDate;
use haven_core::answer_words::{STAFF, answer_in_words, answer_lines, date_in_words};
use haven_core::casework::{OnwardInput, check_onward, check_review};
use haven_core::definition::ServiceDefinition;
use haven_core::definition::load::parse_definition;
use haven_core::disclosure::without_third_party;
use haven_core::reporter::{SELF_REPORT, reported_by};
use haven_core::workflow::{
    CaseFactsInput, CaseRecord, CaseworkFacts, ChronologyFact, allocation_mode, case_facts,
    meets_sla, stages_received,
};
use serde_json::{Value, json};

fn load(id: &str) -> ServiceDefinition {
    let path = format!("{}/../../services/{id}.toml", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    parse_definition(&path, &source).unwrap_or_else(|e| panic!("{e}"))
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[test]
fn a_date_answer_reads_the_same_in_words_for_staff_pages_documents_and_the_public() {
    let ceop = load("ceop");
    let q = ceop.question("child.date_of_birth").unwrap();
    let value = json!("2012-05-12");
    assert_eq!(answer_in_words(q, &value, STAFF), "12 May 2012");
    assert_eq!(answer_lines(q, &value, "young_person"), ["12 May 2012"]);
    // Something that is not a date is shown as given, never dropped.
    assert_eq!(date_in_words("sometime in May"), "sometime in May");
    assert_eq!(date_in_words("2012-02-30"), "2012-02-30");
}

#[test]
fn choices_numbers_and_yes_no_read_as_their_labels() {
    let ceop = load("ceop");
    let danger = ceop.question("immediate_danger").unwrap();
    assert_eq!(answer_in_words(danger, &json!(false), STAFF), "No");
    let age = ceop.question("child.age").unwrap();
    assert_eq!(answer_in_words(age, &json!(14.0), STAFF), "14");
    let concerns = ceop.question("concerns").unwrap();
    let first = &concerns.options[0];
    let second = &concerns.options[1];
    assert_eq!(
        answer_in_words(concerns, &json!([first.key, second.key]), STAFF),
        format!("{}; {}", first.label, second.label)
    );
}

#[test]
fn third_party_answers_are_removed_and_everything_else_kept() {
    let secos = load("secos");
    let answers = json!({
        "third_party": { "information": "SECRET-3P", "rationale": "why" },
        "risk_factors": "SECRET-RISK",
        "young_person": { "first_name": "Chloe" }
    });
    let kept = without_third_party(&secos, "referral", &answers);
    let text = kept.to_string();
    assert!(!text.contains("SECRET-3P"), "{text}");
    assert!(!text.contains("SECRET-RISK"), "{text}");
    assert_eq!(kept["young_person"]["first_name"], "Chloe");
    // The original is untouched (the caller may still show it to those allowed).
    assert_eq!(answers["risk_factors"], "SECRET-RISK");
}

#[test]
fn sla_is_met_by_its_states_and_by_closing_only() {
    let cc = load("cyber-choices");
    assert!(meets_sla(&cc, "suitability_decided"));
    assert!(meets_sla(&cc, "closed"), "a closed case is never overdue");
    assert!(!meets_sla(&cc, "enquiry_received"));
    assert!(!meets_sla(&cc, "no_such_state"));
}

fn transition(to: &str, decision: &str) -> (String, Value) {
    (
        "transition".to_owned(),
        json!({ "to": to, "decision": decision }),
    )
}

#[test]
fn case_facts_read_the_given_day_decisions_stages_and_counts() {
    let answers = json!({ "young_person": { "first_name": "Sam" } });
    let stage = json!({ "stage": "referral" });
    let raw = [
        // A later decision on entering the same state replaces the earlier one.
        transition("allocation_decided", "individual_case_work"),
        transition("allocation_decided", "group_work"),
        ("stage_received".to_owned(), stage.clone()),
        // The same stage twice counts once.
        ("stage_received".to_owned(), stage),
    ];
    let chronology: Vec<ChronologyFact<'_>> = raw
        .iter()
        .map(|(kind, detail)| ChronologyFact {
            kind,
            to_status: detail.get("to").and_then(Value::as_str),
            detail: Some(detail),
        })
        .collect();
    assert_eq!(allocation_mode(&chronology).as_deref(), Some("group_work"));
    assert_eq!(
        stages_received("enquiry", &chronology),
        ["enquiry", "referral"]
    );
    let input = CaseFactsInput {
        record: CaseRecord {
            stage: "enquiry",
            answers: &answers,
            status: "in_intervention",
            eligible: Some(true),
            in_scope: None,
            urgent: false,
            suggested_band: Some("medium"),
            confirmed_band: None,
            assignee: Some("worker@team.example"),
        },
        chronology: &chronology,
        action_statuses: &["open", "done", "open", "not_required"],
        casework: CaseworkFacts {
            meetings: 2,
            goals: 1,
            ..Default::default()
        },
        onward_referrals: 3,
    };
    let facts = case_facts(&input, day("2027-03-01"));
    assert_eq!(facts["today"], "2027-03-01");
    assert_eq!(
        facts["answers"]["enquiry"]["young_person"]["first_name"],
        "Sam"
    );
    let case = &facts["case"];
    assert_eq!(case["status"], "in_intervention");
    assert_eq!(case["stages_received"], json!(["enquiry", "referral"]));
    assert_eq!(case["screening"]["confirmed"], false);
    assert_eq!(
        case["actions"],
        json!({ "total": 4, "open": 2, "done": 1, "waived": 0, "not_required": 1 })
    );
    assert_eq!(case["decisions"]["allocation_decided"], "group_work");
    assert_eq!(
        case["allocation"],
        json!({ "worker": "worker@team.example", "mode": "group_work" })
    );
    assert_eq!(case["meetings"], 2);
    assert_eq!(case["plan"]["goals"], 1);
    assert_eq!(case["onward_referrals"], 3);
    // Another day, other facts: the day is the caller's, never the machine's.
    assert_eq!(case_facts(&input, day("2030-01-01"))["today"], "2030-01-01");
}

#[test]
fn a_young_persons_own_report_says_so_and_carries_their_contact_wish() {
    let ceop = load("ceop");
    let answers = json!({
        "reporter": { "name": "Amy", "safe_contact": "Don't phone my mum. Text after 4pm." }
    });
    let own = reported_by(&ceop, "young_person", &answers);
    assert!(own.about_self);
    assert_eq!(own.words.as_deref(), Some(SELF_REPORT));
    assert_eq!(own.contact_wishes.len(), 1);
    assert_eq!(own.contact_wishes[0].key, "reporter.safe_contact");
    assert_eq!(
        own.contact_wishes[0].text,
        "Don't phone my mum. Text after 4pm."
    );
    let parent = reported_by(&ceop, "parent_carer", &answers);
    assert!(!parent.about_self);
    assert_eq!(parent.words, None);
    // A parent's safety note reaches the case too.
    assert_eq!(parent.contact_wishes.len(), 1);
    // No wish given, none listed (a blank answer is not a wish).
    let blank = json!({ "reporter": { "safe_contact": "  " } });
    assert!(
        reported_by(&ceop, "young_person", &blank)
            .contact_wishes
            .is_empty()
    );
}

#[test]
fn an_onward_referral_sent_in_the_future_or_without_a_reason_is_refused_by_field() {
    let secos = load("secos");
    let kind = &secos.onward_referrals[0];
    let basis = kind.lawful_bases[0].key.clone();
    let input = OnwardInput {
        kind: &kind.key,
        lawful_basis: &basis,
        consent_sought: Some(false),
        sent_on: Some("2027-03-02"),
        ..Default::default()
    };
    let errors = check_onward(&secos, &input, day("2027-03-01")).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
    assert_eq!(fields, ["consent_not_sought_reason", "sent_on"]);
    let fixed = OnwardInput {
        consent_not_sought_reason: Some(" would put her at risk "),
        sent_on: Some("2027-03-01"),
        ..input
    };
    let checked = check_onward(&secos, &fixed, day("2027-03-01")).unwrap();
    assert_eq!(
        checked.recipient, kind.recipient,
        "the kind's default recipient"
    );
    assert_eq!(
        checked.consent_reason.as_deref(),
        Some("would put her at risk")
    );
}

#[test]
fn a_review_names_each_bad_field() {
    let secos = load("secos");
    let errors =
        check_review(&secos, Some("2027-13-01"), Some(" "), Some("2027-01-01")).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["reviewed_on", "summary"]);
    let errors =
        check_review(&secos, Some("2027-02-01"), Some("ok"), Some("2027-01-01")).unwrap_err();
    assert_eq!(errors[0].0, "next_review_on");
    let ok = check_review(&secos, Some("2027-02-01"), Some(" ok "), None).unwrap();
    assert_eq!(ok.summary, "ok");
}
