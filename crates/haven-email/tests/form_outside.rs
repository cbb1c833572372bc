//! SECOS forms as people outside the project fill them in: the paper form's sections, but
//! laid out in their own way (labels in a row with the answers in the row below, several
//! "Label: answer" cells in a row, the answer in the cell under its label, section headings
//! over bare labels such as "Name"), worded a little differently, with any common UK date
//! style and any kind of tick. From each, at least the referrer's name and email, the young
//! person's name and date of birth, and every ticked screening indicator with its recency
//! column must be read (issue 15). Each is committed as a `.docx` in tests/fixtures
//! (`outside_*.docx`, also fuzz seeds), regenerated with `HAVEN_WRITE_FIXTURES=1`.

mod support;

use haven_core::definition::condition::lookup;
use haven_email::docx::DocxLimits;
use haven_email::form::{FormReading, read_form};
use serde_json::{Value, json};
use support::{Bl, docx, p, referral_stage, row, secos, today};

fn read_bytes(bytes: &[u8]) -> FormReading {
    let def = secos();
    match read_form(bytes, referral_stage(&def), today(), &DocxLimits::default()) {
        Ok(reading) => reading,
        Err(q) => panic!("quarantined: {q}"),
    }
}

/// Reads the committed fixture `tests/fixtures/{name}` (written from `blocks` with
/// `HAVEN_WRITE_FIXTURES=1`), checking it reads as `blocks` do.
fn read(name: &str, blocks: &[Bl]) -> FormReading {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let fresh = docx(blocks);
    if std::env::var_os("HAVEN_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, &fresh).expect("write fixture");
    }
    let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let reading = read_bytes(&committed);
    assert_eq!(
        reading,
        read_bytes(&fresh),
        "{name} reads as its blocks say"
    );
    reading
}

fn answer<'a>(reading: &'a FormReading, key: &str) -> Option<&'a Value> {
    lookup(&reading.answers, key)
}

/// The least every outside form must give.
fn assert_core(
    r: &FormReading,
    referrer: (&str, &str),
    young_person: (&str, &str),
    screening: &[(&str, Value)],
) {
    let ctx = || {
        format!(
            "{:#}\nunread: {:?}\nextra: {:?}",
            r.answers, r.unread, r.extra
        )
    };
    assert_eq!(
        answer(r, "referrer.name"),
        Some(&json!(referrer.0)),
        "{}",
        ctx()
    );
    assert_eq!(
        answer(r, "referrer.email"),
        Some(&json!(referrer.1)),
        "{}",
        ctx()
    );
    assert_eq!(
        answer(r, "young_person.name"),
        Some(&json!(young_person.0)),
        "{}",
        ctx()
    );
    assert_eq!(
        answer(r, "young_person.date_of_birth"),
        Some(&json!(young_person.1)),
        "{}",
        ctx()
    );
    for (key, want) in screening {
        assert_eq!(answer(r, key), Some(want), "{key}: {}", ctx());
    }
}

/// Labels across a row with the answers in the row below, under section headings.
#[test]
fn labels_in_a_row_and_answers_in_the_row_below() {
    let blocks = vec![
        p("SECOS Referral"),
        row(&["Referrer Details"]),
        row(&["Referrer's name", "Job title", "Agency / organisation"]),
        row(&["Jo Bloggs", "Teacher", "Acklam Grange School"]),
        row(&["Telephone no.", "E-mail address"]),
        row(&["01642 000000", "jo.bloggs@school.example"]),
        Bl::EndTable,
        row(&["Young Person's Details"]),
        row(&["Full name of young person", "D.O.B.", "Gender"]),
        row(&["Alex Example", "3rd March 2012", "F"]),
        Bl::EndTable,
        row(&[
            "Significant risk indicators",
            "Current (within the last 6 months)",
            "Historic (over 6 months ago)",
        ]),
        row(&["Periods of going missing (day or night)", "Y", ""]),
        row(&[
            "Unexplained amounts of money, expensive clothes or other items",
            "",
            "Yes",
        ]),
        row(&[
            "Groomed / abused via the internet & mobile technology",
            "☒",
            "☒",
        ]),
        row(&["Frequenting areas known for risky activities", "", ""]),
    ];
    let r = read("outside_rows_below.docx", &blocks);
    assert_core(
        &r,
        ("Jo Bloggs", "jo.bloggs@school.example"),
        ("Alex Example", "2012-03-03"),
        &[(
            "screening.significant",
            json!({
                "missing_episodes": "current",
                "unexplained_money_items": "prior",
                "online_grooming": "both",
            }),
        )],
    );
    assert_eq!(answer(&r, "referrer.phone"), Some(&json!("01642 000000")));
    assert_eq!(answer(&r, "young_person.sex"), Some(&json!("female")));
}

/// Several "Label: answer" cells in one row; bare "Name" labels under section headings.
#[test]
fn label_and_answer_in_one_cell_several_to_a_row() {
    let blocks = vec![
        row(&["Section 1 – Referrer"]),
        row(&["Name: Priya Shah", "Email: priya.shah@yos.example"]),
        row(&["Tel: 01642 222222", "Date: 03.12.26"]),
        Bl::EndTable,
        row(&["Section 2 – Young person"]),
        row(&["Name: Jordan Sample", "DOB: 03.03.12"]),
        row(&["Ethnicity: White British", "First language: English"]),
        Bl::EndTable,
        row(&["Vulnerabilities", "Tick"]),
        row(&["Low self esteem", "x"]),
        row(&["Isolated from peers / social networks", "✓"]),
        row(&["Looked after child", ""]),
        Bl::EndTable,
        row(&["Moderate risk indicators", "Tick"]),
        row(&["Drug misuse", "✔"]),
        row(&["Alcohol misuse", "[[x]]"]),
        row(&["A & E attendance", "{{x}}"]),
        row(&["Unsafe use of the internet", "[[ ]]"]),
        Bl::EndTable,
        row(&["Significant risk indicators", "Current", "Prior"]),
        row(&["Periods of going missing day and/or night", "", "X"]),
    ];
    let r = read("outside_cells_with_colons.docx", &blocks);
    assert_core(
        &r,
        ("Priya Shah", "priya.shah@yos.example"),
        ("Jordan Sample", "2012-03-03"),
        &[
            (
                "screening.vulnerabilities",
                json!(["low_self_esteem", "isolated"]),
            ),
            (
                "screening.moderate",
                json!(["drug_misuse", "alcohol_misuse", "ae_attendance"]),
            ),
            (
                "screening.significant",
                json!({"missing_episodes": "prior"}),
            ),
        ],
    );
}

/// One column: each label in its own row (or paragraph) with the answer in the row below.
#[test]
fn answers_in_the_cell_below_their_labels() {
    let blocks = vec![
        row(&["Referrer contact details"]),
        row(&["Name of referrer:"]),
        row(&["Morgan Lee"]),
        row(&["Referrer email address:"]),
        row(&["morgan.lee@nhs.example"]),
        row(&["Name of young person:"]),
        row(&["Casey Person"]),
        row(&["Young person's date of birth:"]),
        row(&["March 3 2012"]),
        Bl::EndTable,
        row(&[
            "Significant Risk Indicators",
            "Current or within 6 months",
            "Prior to 6 months",
        ]),
        row(&[
            "Entering/leaving vehicles driven by unknown adults",
            "✓",
            "",
        ]),
        row(&[
            "Having unexplained contact with hotels, taxi firms or fast food outlets",
            "",
            "x",
        ]),
    ];
    let r = read("outside_cell_below.docx", &blocks);
    assert_core(
        &r,
        ("Morgan Lee", "morgan.lee@nhs.example"),
        ("Casey Person", "2012-03-03"),
        &[(
            "screening.significant",
            json!({"unknown_vehicles": "current", "hotels_taxis_fastfood": "prior"}),
        )],
    );
}

/// Paragraphs instead of tables: "Label – answer" lines, a date as 3/3/2012, the paper
/// form's grid with its columns in the other order.
#[test]
fn typed_lines_and_a_grid_with_its_columns_swapped() {
    let blocks = vec![
        p("REFERRER"),
        p("Referrer name - Dana Writer"),
        p("Contact email - dana.writer@council.example"),
        p(""),
        p("YOUNG PERSON"),
        p("Young person's name - Quinn Example"),
        p("Date of birth - 3/3/2012"),
        p(""),
        row(&[
            "Significant risk indicators",
            "Prior to 6 months (please tick)",
            "Current or within 6 months (please tick)",
        ]),
        row(&["Periods of going missing day and/or night", "✔", ""]),
        row(&["Frequenting areas known for risky activities", "", "Y"]),
    ];
    let r = read("outside_typed_lines.docx", &blocks);
    assert_core(
        &r,
        ("Dana Writer", "dana.writer@council.example"),
        ("Quinn Example", "2012-03-03"),
        &[(
            "screening.significant",
            json!({"missing_episodes": "prior", "risky_areas": "current"}),
        )],
    );
}

/// Label and answer pairs across one row, an answer on the lines under its label in the
/// same cell, ticks as boxes written before the indicator, Word check boxes in the grid.
#[test]
fn pairs_across_a_row_boxes_before_labels_and_check_boxes_in_the_grid() {
    let blocks = vec![
        row(&["Referrer", "", "", ""]),
        row(&[
            "Name",
            "Sam O\u{2019}Neil",
            "E-mail",
            "sam.oneil@hospital.example",
        ]),
        row(&[
            "Telephone",
            "01642 777777",
            "Organisation",
            "James Cook Hospital",
        ]),
        Bl::EndTable,
        row(&[
            "Child\u{2019}s name:\nRiley Smith",
            "Child\u{2019}s DOB:\n03/03/2012",
        ]),
        Bl::EndTable,
        row(&["Vulnerabilities (tick all that apply)"]),
        row(&["\u{2612} Breakdown of family relationships"]),
        row(&["\u{2610} Low self-esteem"]),
        row(&["[[x]] Looked after child"]),
        Bl::EndTable,
        row(&[
            "Significant Risk Indicators",
            "Current or within 6 months",
            "Prior to 6 months",
        ]),
        row(&[
            "Periods of going missing day and/or night",
            "[[x]]",
            "[[ ]]",
        ]),
        row(&[
            "Relationship of concern with a controlling adult or young person",
            "{{ }}",
            "{{x}}",
        ]),
        row(&[
            "Groomed/abused via the internet and mobile technology",
            "No",
            "Yes",
        ]),
    ];
    let r = read("outside_pairs_and_boxes.docx", &blocks);
    assert_core(
        &r,
        ("Sam O\u{2019}Neil", "sam.oneil@hospital.example"),
        ("Riley Smith", "2012-03-03"),
        &[
            (
                "screening.vulnerabilities",
                json!(["family_breakdown", "looked_after"]),
            ),
            (
                "screening.significant",
                json!({
                    "missing_episodes": "current",
                    "controlling_relationship": "prior",
                    "online_grooming": "prior",
                }),
            ),
        ],
    );
    assert_eq!(answer(&r, "referrer.phone"), Some(&json!("01642 777777")));
}

/// Two labels on one line ("Name: … D.O.B: …"), the grid's columns named in other words
/// and in the other order, a date with a weekday.
#[test]
fn two_labels_on_a_line_and_recency_columns_in_other_words() {
    let blocks = vec![
        p("Referrer contact details"),
        p("Name: Chris Worker\tEmail: chris.worker@council.example"),
        p(""),
        p("Family Composition"),
        p("Name of YP: Jamie Doe      D.O.B: Saturday 3rd March 2012"),
        p(""),
        row(&[
            "Significant Risk Indicators",
            "Historic (more than 6 months ago)",
            "Recent (in the last 6 months)",
        ]),
        row(&["Periods of going missing day and/or night", "", "X"]),
        row(&["Frequenting areas known for risky activities", "X", ""]),
    ];
    let r = read("outside_two_labels_a_line.docx", &blocks);
    assert_core(
        &r,
        ("Chris Worker", "chris.worker@council.example"),
        ("Jamie Doe", "2012-03-03"),
        &[(
            "screening.significant",
            json!({"missing_episodes": "current", "risky_areas": "prior"}),
        )],
    );
}

/// Bare labels ("Name", "Address", "Date of Birth") in each section under its heading, the
/// parent's after the young person's; the tick column before the indicators.
#[test]
fn bare_labels_in_each_section_and_ticks_before_the_indicators() {
    let blocks = vec![
        row(&["Referrer contact details"]),
        row(&["Name", "Jo Bloggs"]),
        row(&["Address", "1 School Lane"]),
        row(&["Phone Number", "01642 000000"]),
        row(&["Email", "jo@school.example"]),
        Bl::EndTable,
        row(&["Young person"]),
        row(&["Name", "Alex Example"]),
        row(&["Date of Birth", "03/03/2012 (age 14)"]),
        row(&["Gender", "Male"]),
        row(&["Address", "2 Park Road"]),
        Bl::EndTable,
        row(&["Parent/Carer details"]),
        row(&["Name", "Sam Example"]),
        row(&["Date of Birth", "01/02/1985"]),
        Bl::EndTable,
        row(&["Tick", "Vulnerabilities"]),
        row(&["X", "Low self-esteem"]),
        row(&["", "Looked after child"]),
        row(&["\u{2713}", "History of sexual abuse"]),
    ];
    let r = read("outside_sections_ticks_first.docx", &blocks);
    assert_core(
        &r,
        ("Jo Bloggs", "jo@school.example"),
        ("Alex Example", "2012-03-03"),
        &[(
            "screening.vulnerabilities",
            json!(["low_self_esteem", "history_sexual_abuse"]),
        )],
    );
    assert_eq!(
        answer(&r, "referrer.address"),
        Some(&json!("1 School Lane"))
    );
    assert_eq!(
        answer(&r, "young_person.address"),
        Some(&json!("2 Park Road"))
    );
    assert_eq!(answer(&r, "young_person.sex"), Some(&json!("male")));
    assert_eq!(
        answer(&r, "family_members"),
        Some(&json!([{"name": "Sam Example", "date_of_birth": "1985-02-01"}]))
    );
    assert!(r.extra.is_empty(), "{:?}", r.extra);
}
