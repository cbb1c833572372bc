//! The SECOS Word form read into the definition's answers: realistic fixtures filled in
//! different ways (typed, ticked with X, ✓, Yes or Word's check boxes, blank sections, an
//! extra row), and documents that must be refused.

mod support;

use haven_core::definition::condition::lookup;
use haven_email::docx::DocxLimits;
use haven_email::form::{FormReading, read_form};
use serde_json::{Value, json};
use support::paper::{Fill, ReferrerLayout, paper_form};
use support::{docx, referral_stage, secos, today, zip_of};

fn s(text: &str) -> String {
    text.to_string()
}

fn read(bytes: &[u8]) -> FormReading {
    let def = secos();
    match read_form(bytes, referral_stage(&def), today(), &DocxLimits::default()) {
        Ok(reading) => reading,
        Err(q) => panic!("quarantined: {q}"),
    }
}

fn answer<'a>(reading: &'a FormReading, key: &str) -> Option<&'a Value> {
    lookup(&reading.answers, key)
}

fn unread_keys(reading: &FormReading) -> Vec<&str> {
    reading.unread.iter().map(|u| u.key.as_str()).collect()
}

/// Everything read has the type the definition wants (validated by haven-core).
fn assert_valid(reading: &FormReading) {
    let def = secos();
    let keys: Vec<String> = def
        .questions()
        .map(|(_, _, q)| q.key.clone())
        .filter(|k| lookup(&reading.answers, k).is_some())
        .collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    if let Err(errors) = haven_core::answers::validate_only(&def, &keys, &reading.answers, today())
    {
        panic!(
            "read answers do not validate: {errors:?}\n{:#}",
            reading.answers
        );
    }
}

/// Typed in, ticks as "X", dates as 12/05/2012, the referrer's details as "Label: value".
pub fn typed() -> Fill {
    Fill {
        referrer_layout: ReferrerLayout::Inline,
        name: s("Jo Bloggs"),
        address: s("Acklam Grange School, Lodore Grove, Middlesbrough TS5 8PB"),
        phone: s("01642 000000"),
        email: s("jo.bloggs@acklam.school.example"),
        position_organisation: s("Designated Safeguarding Lead / Acklam Grange School"),
        date_completed: s("01/12/2026"),
        early_help: s("X"),
        single_assessment: s(""),
        other_assessment: s("CAMHS assessment"),
        assessment_date: s("14/11/2026"),
        aware: s("Y"),
        lone_work: s("N"),
        risk_factors: s("Older brother has a history of violence towards professionals."),
        yp_name: s("Alex Example"),
        yp_dob: s("12/05/2012"),
        yp_sex: s("F"),
        yp_ethnicity: s("White British"),
        yp_beliefs: s("None"),
        yp_language: s("English"),
        yp_address: s("3 Park Road, Middlesbrough TS5 6AB, mobile 07700 900123"),
        parent_name: s("Sam Example"),
        parent_dob: s("01/02/1985"),
        parent_sex: s("Female"),
        parent_ethnicity: s("White British"),
        parent_language: s("English"),
        relationship: s("Mother"),
        family_address: s("3 Park Road, Middlesbrough TS5 6AB, 07700 900000"),
        significant_others: s("Older brother (17), maternal grandmother"),
        disabilities: s("None known"),
        parental_responsibility: s("Mother"),
        lac_status: s("Not looked after"),
        plan: s("Child Protection Plan - current, since March 2026 (category: sexual abuse)"),
        social_worker: s("Yes - Pat Worker, Middlesbrough Children's Services, 01642 111111"),
        professionals: [
            s("School nurse, Acklam Grange, supporting YP with sexual health, consulted: yes"),
            s(""),
            s(""),
        ],
        mainstream: s("Yes"),
        mainstream_details: s("Acklam Grange School, full time, one fixed-term exclusion in 2025"),
        alternative: s("No"),
        alternative_details: s(""),
        neet: s("No"),
        engage: s("Yes"),
        additional: s("She has a new phone nobody bought her."),
        vulnerabilities: vec![(3, s("X")), (7, s("X"))],
        vulnerabilities_narrative: s("Parents separated last year; she says she feels worthless."),
        moderate: vec![(0, s("X")), (8, s("x"))],
        moderate_narrative: s("Missing overnight twice in November; second phone found."),
        significant: vec![(0, s("X"), s("")), (2, s(""), s("X")), (3, s("X"), s("X"))],
        third_party: s("Brother's associate is known to police; do not share with family."),
        strengths: s("Mum is engaged and wants help."),
        work_requested: s("One-to-one work on healthy relationships and online safety."),
        extra_rows: Vec::new(),
    }
}

/// Ticked with ✓ and Word check boxes; the referrer's labels and answers in two columns;
/// dates as "12th May 2012"; yes/no with the other answer struck through.
pub fn ticked_check() -> Fill {
    Fill {
        referrer_layout: ReferrerLayout::Columns,
        name: s("Priya Shah"),
        address: s("Youth Offending Service, 1 Civic Centre, Middlesbrough TS1 2QQ"),
        phone: s("01642 222222"),
        email: s("priya.shah@yos.gcsx.example"),
        position_organisation: s("YOS Officer, Middlesbrough Youth Offending Service"),
        date_completed: s("3rd December 2026"),
        early_help: s("[[ ]]"),
        single_assessment: s("[[x]]"),
        assessment_date: s("20 November 2026"),
        aware: s("~~Y~~/N"),
        lone_work: s("Y/~~N~~"),
        risk_factors: s("Dog at the address."),
        yp_name: s("Jordan Sample"),
        yp_dob: s("12th May 2012"),
        yp_sex: s("Male"),
        yp_ethnicity: s("Mixed White and Black Caribbean"),
        yp_language: s("English"),
        yp_address: s("Flat 2, 10 High Street, Stockton TS18 1AA"),
        parent_name: s("Chris Sample"),
        parent_dob: s("5th June 1980"),
        relationship: s("Father"),
        parental_responsibility: s("Father"),
        plan: s("Neither"),
        social_worker: s("No"),
        mainstream: s("Yes / ~~No~~"),
        mainstream_details: s("Stockton Sixth Form, part time"),
        alternative: s("~~Yes~~ / No"),
        neet: s("~~Yes~~ / No"),
        engage: s("Yes / ~~No~~"),
        vulnerabilities: vec![(9, s("✓")), (11, s("✔"))],
        vulnerabilities_narrative: s("Isolated since moving placement."),
        moderate: vec![(5, s("✓")), (6, s("✓")), (16, s("✓"))],
        moderate_narrative: s("Attended A&E intoxicated."),
        significant: vec![(1, s("✓"), s("")), (6, s(""), s("✓"))],
        strengths: s("Father attends every meeting."),
        work_requested: s("Group work."),
        ..Fill::default()
    }
}

/// Ticked with "Yes" and legacy form-field check boxes; whole sections blank; dates as
/// 12.05.12; a row someone added.
pub fn ticked_yes_blank_sections() -> Fill {
    Fill {
        referrer_layout: ReferrerLayout::Inline,
        name: s("Dr Morgan Lee"),
        address: s("Health Centre, Linthorpe Road"),
        phone: s("01642 333333"),
        email: s("morgan.lee@nhs.example"),
        position_organisation: s("GP"),
        date_completed: s("04.12.26"),
        early_help: s("{{x}}"),
        single_assessment: s("{{ }}"),
        yp_name: s("Casey Person"),
        yp_dob: s("12.05.12"),
        yp_sex: s("Not known"),
        // Legalities, education and the moderate indicators left blank.
        vulnerabilities: vec![(0, s("Yes")), (4, s("yes"))],
        vulnerabilities_narrative: s("Domestic abuse at home, reported by school."),
        significant: vec![(5, s("Yes"), s(""))],
        extra_rows: vec![(s("Name of school nurse"), s("Pat Nurse, 01642 444444"))],
        ..Fill::default()
    }
}

/// Wingdings box symbols in the grid, both columns for one row; ISO dates.
pub fn wingdings_both() -> Fill {
    Fill {
        name: s("Ali Khan"),
        email: s("ali.khan@police.example"),
        yp_name: s("Robin Test"),
        yp_dob: s("2011-09-30"),
        significant: vec![
            (0, s("<<x>>"), s("<<x>>")),
            (4, s("<< >>"), s("<<x>>")),
            (5, s("<< >>"), s("<< >>")),
        ],
        ..Fill::default()
    }
}

#[test]
fn typed_form_reads_every_section() {
    let r = read(&docx(&paper_form(&typed())));
    assert_valid(&r);
    let a = |k: &str| answer(&r, k).cloned();
    assert_eq!(a("referrer.name"), Some(json!("Jo Bloggs")));
    assert_eq!(
        a("referrer.email"),
        Some(json!("jo.bloggs@acklam.school.example"))
    );
    assert_eq!(a("referrer.phone"), Some(json!("01642 000000")));
    assert_eq!(
        a("referrer.address"),
        Some(json!(
            "Acklam Grange School, Lodore Grove, Middlesbrough TS5 8PB"
        ))
    );
    assert_eq!(
        a("referrer.position"),
        Some(json!("Designated Safeguarding Lead"))
    );
    assert_eq!(
        a("referrer.organisation"),
        Some(json!("Acklam Grange School"))
    );
    assert_eq!(a("referrer.date_completed"), Some(json!("2026-12-01")));
    assert_eq!(
        a("assessments.completed"),
        Some(json!(["early_help", "other"]))
    );
    assert_eq!(
        a("assessments.other_details"),
        Some(json!("CAMHS assessment"))
    );
    assert_eq!(a("assessments.date_completed"), Some(json!("2026-11-14")));
    assert_eq!(a("aware_of_referral"), Some(json!(true)));
    assert_eq!(a("lone_working.concerns"), Some(json!(false)));
    assert_eq!(
        a("risk_factors"),
        Some(json!(
            "Older brother has a history of violence towards professionals."
        ))
    );
    assert_eq!(a("young_person.name"), Some(json!("Alex Example")));
    assert_eq!(a("young_person.date_of_birth"), Some(json!("2012-05-12")));
    assert_eq!(a("young_person.sex"), Some(json!("female")));
    assert_eq!(a("young_person.ethnicity"), Some(json!("White British")));
    assert_eq!(a("young_person.first_language"), Some(json!("English")));
    assert_eq!(
        a("young_person.address"),
        Some(json!(
            "3 Park Road, Middlesbrough TS5 6AB, mobile 07700 900123"
        ))
    );
    let parent = a("family_members").expect("a parent");
    assert_eq!(parent[0]["name"], json!("Sam Example"));
    assert_eq!(parent[0]["date_of_birth"], json!("1985-02-01"));
    assert_eq!(parent[0]["sex"], json!("female"));
    assert_eq!(parent[0]["relationship"], json!("Mother"));
    assert_eq!(parent.as_array().map(Vec::len), Some(1));
    assert_eq!(a("legal.parental_responsibility"), Some(json!("Mother")));
    assert_eq!(a("legal.cin_cp_plan"), Some(json!("child_protection")));
    assert!(
        a("legal.plan_details")
            .is_some_and(|v| v.as_str().is_some_and(|t| t.contains("March 2026")))
    );
    assert_eq!(a("legal.has_social_worker"), Some(json!(true)));
    assert!(
        a("legal.social_worker_details")
            .is_some_and(|v| v.as_str().is_some_and(|t| t.starts_with("Pat Worker")))
    );
    assert_eq!(a("education.mainstream"), Some(json!(true)));
    assert_eq!(
        a("education.mainstream_details"),
        Some(json!(
            "Acklam Grange School, full time, one fixed-term exclusion in 2025"
        ))
    );
    assert_eq!(a("education.alternative"), Some(json!(false)));
    assert_eq!(a("education.neet"), Some(json!(false)));
    assert_eq!(a("education.wants_to_engage"), Some(json!(true)));
    assert_eq!(
        a("additional_information"),
        Some(json!("She has a new phone nobody bought her."))
    );
    assert_eq!(
        a("screening.vulnerabilities"),
        Some(json!(["family_breakdown", "low_self_esteem"]))
    );
    assert_eq!(
        a("screening.vulnerabilities_narrative"),
        Some(json!(
            "Parents separated last year; she says she feels worthless."
        ))
    );
    assert_eq!(
        a("screening.moderate"),
        Some(json!(["whereabouts_unknown", "phone_concern"]))
    );
    assert_eq!(
        a("screening.moderate_narrative"),
        Some(json!(
            "Missing overnight twice in November; second phone found."
        ))
    );
    assert_eq!(
        a("screening.significant"),
        Some(json!({
            "missing_episodes": "current",
            "unknown_vehicles": "prior",
            "unexplained_money_items": "both",
        }))
    );
    assert!(a("third_party.information").is_some());
    assert_eq!(
        a("family_strengths"),
        Some(json!("Mum is engaged and wants help."))
    );
    assert_eq!(
        a("work_requested"),
        Some(json!(
            "One-to-one work on healthy relationships and online safety."
        ))
    );
    // Not on the paper form, or a file: listed for a person.
    let unread = unread_keys(&r);
    for key in [
        "screening.cse_intelligence",
        "assessments.risk_assessment_tool",
        "professionals",
    ] {
        assert!(
            unread.contains(&key),
            "{key} should be listed as unread: {unread:?}"
        );
    }
    for key in [
        "referrer.name",
        "young_person.date_of_birth",
        "screening.significant",
    ] {
        assert!(!unread.contains(&key), "{key} was read: {unread:?}");
    }
}

#[test]
fn ticks_and_check_boxes_and_columns_layout() {
    let r = read(&docx(&paper_form(&ticked_check())));
    assert_valid(&r);
    let a = |k: &str| answer(&r, k).cloned();
    assert_eq!(a("referrer.name"), Some(json!("Priya Shah")));
    assert_eq!(
        a("referrer.email"),
        Some(json!("priya.shah@yos.gcsx.example"))
    );
    assert_eq!(a("referrer.phone"), Some(json!("01642 222222")));
    assert_eq!(a("referrer.date_completed"), Some(json!("2026-12-03")));
    assert_eq!(a("referrer.position"), Some(json!("YOS Officer")));
    assert_eq!(
        a("referrer.organisation"),
        Some(json!("Middlesbrough Youth Offending Service"))
    );
    assert_eq!(
        a("assessments.completed"),
        Some(json!(["single_assessment"]))
    );
    assert_eq!(a("assessments.date_completed"), Some(json!("2026-11-20")));
    assert_eq!(a("aware_of_referral"), Some(json!(false)));
    assert_eq!(a("lone_working.concerns"), Some(json!(true)));
    assert_eq!(a("young_person.name"), Some(json!("Jordan Sample")));
    assert_eq!(a("young_person.date_of_birth"), Some(json!("2012-05-12")));
    assert_eq!(a("young_person.sex"), Some(json!("male")));
    assert_eq!(
        a("family_members"),
        Some(json!([{
            "name": "Chris Sample", "date_of_birth": "1980-06-05", "relationship": "Father"
        }]))
    );
    assert_eq!(a("legal.cin_cp_plan"), Some(json!("none")));
    assert_eq!(a("legal.has_social_worker"), Some(json!(false)));
    assert_eq!(a("education.mainstream"), Some(json!(true)));
    assert_eq!(a("education.alternative"), Some(json!(false)));
    assert_eq!(a("education.neet"), Some(json!(false)));
    assert_eq!(a("education.wants_to_engage"), Some(json!(true)));
    assert_eq!(
        a("screening.vulnerabilities"),
        Some(json!(["isolated", "looked_after"]))
    );
    assert_eq!(
        a("screening.moderate"),
        Some(json!(["drug_misuse", "alcohol_misuse", "ae_attendance"]))
    );
    assert_eq!(
        a("screening.significant"),
        Some(json!({"controlling_relationship": "current", "hotels_taxis_fastfood": "prior"}))
    );
}

#[test]
fn yes_ticks_legacy_boxes_blank_sections_and_an_extra_row() {
    let r = read(&docx(&paper_form(&ticked_yes_blank_sections())));
    assert_valid(&r);
    let a = |k: &str| answer(&r, k).cloned();
    assert_eq!(a("referrer.name"), Some(json!("Dr Morgan Lee")));
    assert_eq!(a("referrer.email"), Some(json!("morgan.lee@nhs.example")));
    assert_eq!(a("referrer.date_completed"), Some(json!("2026-12-04")));
    assert_eq!(a("assessments.completed"), Some(json!(["early_help"])));
    assert_eq!(a("young_person.name"), Some(json!("Casey Person")));
    assert_eq!(a("young_person.date_of_birth"), Some(json!("2012-05-12")));
    assert_eq!(a("young_person.sex"), Some(json!("not_known")));
    assert_eq!(
        a("screening.vulnerabilities"),
        Some(json!(["emotional_neglect", "family_domestic_abuse"]))
    );
    assert_eq!(a("screening.moderate"), None);
    assert_eq!(
        a("screening.significant"),
        Some(json!({"online_grooming": "current"}))
    );
    // Blank sections are listed, with the reason.
    let unread: Vec<(&str, &str)> = r
        .unread
        .iter()
        .map(|u| (u.key.as_str(), u.reason.as_str()))
        .collect();
    for key in [
        "legal.parental_responsibility",
        "education.mainstream",
        "young_person.ethnicity",
        "family_strengths",
    ] {
        assert!(
            unread
                .iter()
                .any(|(k, reason)| *k == key && *reason == "Left blank"),
            "{key} should be listed as left blank: {unread:?}"
        );
    }
    // The moderate section was on the form with nothing ticked: an answer, not a gap.
    assert!(!unread.iter().any(|(k, _)| *k == "screening.moderate"));
    assert_eq!(
        r.extra,
        vec![(
            "Name of school nurse".to_string(),
            "Pat Nurse, 01642 444444".to_string()
        )]
    );
}

#[test]
fn wingdings_boxes_and_both_columns() {
    let r = read(&docx(&paper_form(&wingdings_both())));
    assert_valid(&r);
    assert_eq!(answer(&r, "referrer.name"), Some(&json!("Ali Khan")));
    assert_eq!(
        answer(&r, "referrer.email"),
        Some(&json!("ali.khan@police.example"))
    );
    assert_eq!(answer(&r, "young_person.name"), Some(&json!("Robin Test")));
    assert_eq!(
        answer(&r, "young_person.date_of_birth"),
        Some(&json!("2011-09-30"))
    );
    assert_eq!(
        answer(&r, "screening.significant"),
        Some(&json!({"missing_episodes": "both", "risky_areas": "prior"}))
    );
}

#[test]
fn unreadable_values_are_listed_with_the_reason() {
    let mut fill = typed();
    fill.yp_dob = s("sometime in 2012");
    fill.aware = s("Y/N");
    fill.email = s("ask the school office");
    let r = read(&docx(&paper_form(&fill)));
    let reason = |key: &str| {
        r.unread
            .iter()
            .find(|u| u.key == key)
            .map(|u| u.reason.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        reason("young_person.date_of_birth"),
        "Could not read \u{201c}sometime in 2012\u{201d} as a date"
    );
    assert_eq!(
        reason("aware_of_referral"),
        "Both Yes and No are left on the form"
    );
    assert_eq!(
        reason("referrer.email"),
        "No email address in \u{201c}ask the school office\u{201d}"
    );
    assert_eq!(
        answer(&r, "young_person.name"),
        Some(&json!("Alex Example"))
    );
}

/// Someone else's layout of the same form: labels reworded, rows in a different order, a
/// single table of label and answer cells.
#[test]
fn matches_by_meaning_not_layout() {
    use support::{Bl, row};
    let blocks: Vec<Bl> = vec![
        row(&["SECOS REFERRAL FORM"]),
        row(&["Young person's name", "Taylor Doe"]),
        row(&["Young person's D.O.B.", "12 May 2012"]),
        row(&["Referrer name:", "Kim Referrer"]),
        row(&["Referrer e-mail address:", "kim@school.example"]),
        row(&["Telephone", "01642 555555"]),
        row(&[
            "Periods of going missing (day and/or night)",
            "Current",
            "☒",
        ]),
    ];
    let r = read(&docx(&blocks));
    assert_eq!(answer(&r, "young_person.name"), Some(&json!("Taylor Doe")));
    assert_eq!(
        answer(&r, "young_person.date_of_birth"),
        Some(&json!("2012-05-12"))
    );
    assert_eq!(answer(&r, "referrer.name"), Some(&json!("Kim Referrer")));
    assert_eq!(
        answer(&r, "referrer.email"),
        Some(&json!("kim@school.example"))
    );
    assert_eq!(answer(&r, "referrer.phone"), Some(&json!("01642 555555")));
}

#[test]
fn committed_fixtures_read_the_same() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (file, fill) in [
        ("secos_typed.docx", typed()),
        ("secos_ticked_check.docx", ticked_check()),
        ("secos_yes_blank_sections.docx", ticked_yes_blank_sections()),
        ("secos_wingdings_both.docx", wingdings_both()),
    ] {
        let path = dir.join(file);
        let fresh = docx(&paper_form(&fill));
        if std::env::var_os("HAVEN_WRITE_FIXTURES").is_some() {
            std::fs::write(&path, &fresh).expect("write fixture");
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            read(&committed),
            read(&fresh),
            "{file} reads as its generator says"
        );
    }
}

fn refused(bytes: &[u8]) -> String {
    let def = secos();
    match read_form(bytes, referral_stage(&def), today(), &DocxLimits::default()) {
        Ok(_) => panic!("should have been refused"),
        Err(q) => q.reason,
    }
}

#[test]
fn macro_enabled_encrypted_and_bombs_are_refused() {
    let xml = support::document_xml(&paper_form(&typed()));
    // A macro project inside.
    let with_macros = zip_of(&[
        ("[Content_Types].xml", support::CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", support::RELS.as_bytes()),
        ("word/document.xml", xml.as_bytes()),
        ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro"),
    ]);
    assert!(refused(&with_macros).contains("macros"));
    // A .docm content type without the binary.
    let docm_types = support::CONTENT_TYPES.replace(
        "wordprocessingml.document.main+xml",
        "wordprocessingml.document.main+xml\"/><Override PartName=\"/word/x.xml\" ContentType=\"application/vnd.ms-word.document.macroEnabled.main+xml",
    );
    let docm = zip_of(&[
        ("[Content_Types].xml", docm_types.as_bytes()),
        ("_rels/.rels", support::RELS.as_bytes()),
        ("word/document.xml", xml.as_bytes()),
    ]);
    assert!(refused(&docm).contains("macros"));
    // Password-protected Word files are OLE compound files.
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.extend_from_slice(&[0u8; 504]);
    assert!(refused(&ole).contains("encrypted"));
    // A zip bomb: 60 MB of zeros as the document (compresses to a few KB).
    let zeros = vec![0u8; 60 * 1024 * 1024];
    let bomb = zip_of(&[
        ("[Content_Types].xml", support::CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", support::RELS.as_bytes()),
        ("word/document.xml", &zeros),
    ]);
    assert!(
        bomb.len() < 1024 * 1024,
        "the bomb is small: {}",
        bomb.len()
    );
    assert!(refused(&bomb).contains("zip bomb"));
    // Not a document at all, and a damaged one.
    assert!(refused(b"just some text").contains("not a Word"));
    let mut cut = docx(&paper_form(&typed()));
    cut.truncate(cut.len() / 2);
    assert!(refused(&cut).contains("damaged"));
    // XML with its own entities (billion laughs) is never expanded.
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE w [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><w:document xmlns:w=\"x\"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>";
    let lol = zip_of(&[
        ("[Content_Types].xml", support::CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", support::RELS.as_bytes()),
        ("word/document.xml", laughs.as_bytes()),
    ]);
    assert!(refused(&lol).contains("entities"));
}

/// Big documents are read in bounded work: many rows, long cells, one huge paragraph.
#[test]
fn big_documents_are_read_in_bounded_work() {
    use support::{Bl, p, row};
    let long = "word ".repeat(20_000);
    let mut blocks: Vec<Bl> = vec![p(&long), row(&[&long, &long])];
    for _ in 0..3000 {
        blocks.push(row(&[
            "Name of YP:",
            "Alex Example is a long answer written here",
        ]));
    }
    let started = std::time::Instant::now();
    let r = read(&docx(&blocks));
    assert_eq!(
        answer(&r, "young_person.name"),
        Some(&json!("Alex Example is a long answer written here"))
    );
    eprintln!("read in {:?}", started.elapsed());
}

/// The referrer's answers beside the labels but not line for line (a two-line address), and
/// untouched Word content controls showing their prompt.
#[test]
fn answers_beside_labels_placed_by_what_they_look_like_and_prompts_are_blank() {
    use support::{Bl, row};
    let blocks: Vec<Bl> = vec![
        row(&["Referrer contact details "]),
        row(&[
            "Name\n\nAddress\nPhone Number\n\nEmail ",
            "Jo Bloggs\nAcklam Grange School\nLodore Grove, TS5 8PB\n01642 000000\njo@school.example",
        ]),
        row(&["Name of YP:", "[[?]]"]),
        row(&["Date of Birth:", "Click or tap to enter a date."]),
        row(&["Ethnicity:", "White British"]),
    ];
    let r = read(&docx(&blocks));
    assert_eq!(answer(&r, "referrer.name"), Some(&json!("Jo Bloggs")));
    assert_eq!(
        answer(&r, "referrer.email"),
        Some(&json!("jo@school.example"))
    );
    assert_eq!(answer(&r, "referrer.phone"), Some(&json!("01642 000000")));
    assert_eq!(
        answer(&r, "referrer.address"),
        Some(&json!("Acklam Grange School\nLodore Grove, TS5 8PB"))
    );
    assert_eq!(answer(&r, "young_person.name"), None);
    assert_eq!(answer(&r, "young_person.date_of_birth"), None);
    assert_eq!(
        answer(&r, "young_person.ethnicity"),
        Some(&json!("White British"))
    );
    let reason = |key: &str| {
        r.unread
            .iter()
            .find(|u| u.key == key)
            .map(|u| u.reason.as_str())
    };
    assert_eq!(reason("young_person.name"), Some("Left blank"));
    assert_eq!(reason("young_person.date_of_birth"), Some("Left blank"));
}

/// Answers typed after the label in the same cell, after a tab or spaces, in any case.
#[test]
fn answers_after_a_tab_or_spaces() {
    use support::{Bl, row};
    let blocks: Vec<Bl> = vec![
        row(&["Name of YP:\tsam smith"]),
        row(&["Date of Birth\t1st March 2011"]),
        row(&["Ethnicity      white british"]),
    ];
    let r = read(&docx(&blocks));
    assert_eq!(answer(&r, "young_person.name"), Some(&json!("sam smith")));
    assert_eq!(
        answer(&r, "young_person.ethnicity"),
        Some(&json!("white british"))
    );
    assert_eq!(
        answer(&r, "young_person.date_of_birth"),
        Some(&json!("2011-03-01"))
    );
}

/// A form written by another writer (docx-rs, as Haven's own documents are): its table
/// properties, run properties and package layout read the same.
#[test]
fn a_form_written_by_docx_rs() {
    use docx_rs::{Docx, Paragraph, Run, Table, TableCell, TableRow};
    let cell = |text: &str| {
        TableCell::new().add_paragraph(Paragraph::new().add_run(Run::new().add_text(text)))
    };
    let bold = |text: &str| {
        TableCell::new().add_paragraph(Paragraph::new().add_run(Run::new().add_text(text).bold()))
    };
    let doc = Docx::new()
        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("SECOS  Referral").bold()))
        .add_table(Table::new(vec![
            TableRow::new(vec![bold("Referrer contact details ")]),
            TableRow::new(vec![
                bold("Name\nAddress\nPhone Number\nEmail "),
                cell("Dana Writer"),
            ]),
            TableRow::new(vec![bold("Email"), cell("dana.writer@council.example")]),
            TableRow::new(vec![bold("Name of YP:"), cell("Quinn Example")]),
            TableRow::new(vec![bold("Date of Birth:"), cell("7th January 2013")]),
        ]))
        .add_table(Table::new(vec![
            TableRow::new(vec![
                bold("Significant Risk Indicators"),
                bold("Current or within 6 months (please tick)"),
                bold("Prior to 6 months (please tick)"),
            ]),
            TableRow::new(vec![
                cell("Frequenting areas known for risky activities "),
                cell(""),
                cell("X"),
            ]),
            TableRow::new(vec![
                cell("Groomed/abused via the internet and mobile technology"),
                cell("\u{2714}"),
                cell(""),
            ]),
        ]));
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut out).expect("docx-rs writes");
    let bytes = out.into_inner();
    assert_eq!(
        infer::get(&bytes).map(|t| t.mime_type()),
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    );
    let r = read(&bytes);
    assert_eq!(
        answer(&r, "referrer.email"),
        Some(&json!("dana.writer@council.example"))
    );
    assert_eq!(
        answer(&r, "young_person.name"),
        Some(&json!("Quinn Example"))
    );
    assert_eq!(
        answer(&r, "young_person.date_of_birth"),
        Some(&json!("2013-01-07"))
    );
    assert_eq!(
        answer(&r, "screening.significant"),
        Some(&json!({"risky_areas": "prior", "online_grooming": "current"}))
    );
}
