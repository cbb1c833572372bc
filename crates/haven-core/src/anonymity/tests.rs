//! Behaviour of the whole check: one test per kind, offsets, merging, and what must not be
//! flagged.

use super::*;

/// The findings of `text` as (kind, exact slice).
fn found(text: &str) -> Vec<(FindingKind, &str)> {
    check(text)
        .findings
        .iter()
        .map(|f| (f.kind, &text[f.start..f.end]))
        .collect()
}

fn kinds(text: &str) -> Vec<FindingKind> {
    check(text).findings.iter().map(|f| f.kind).collect()
}

#[test]
fn names_anywhere_in_the_text() {
    use FindingKind::Name;
    assert_eq!(found("Tyler has been using a booter."), [(Name, "Tyler")]);
    assert_eq!(
        found("He told staff that his friend Kacper showed him."),
        [(Name, "Kacper")]
    );
    assert_eq!(
        found("Concerns raised by Mr Hargreaves (Head of Computing)."),
        [(Name, "Mr Hargreaves")]
    );
    assert_eq!(
        found("He and Oliver Bennett (Year 11) sell cheats."),
        [(Name, "Oliver Bennett")]
    );
    assert_eq!(found("Ryan's mum contacted us."), [(Name, "Ryan")]);
    assert_eq!(found("a man called Zoltan pays him"), [(Name, "Zoltan")]);
    assert_eq!(
        found("He says Will from another school gave it to him."),
        [(Name, "Will")]
    );
    assert_eq!(found("Grace told her Head of Year."), [(Name, "Grace")]);
    assert_eq!(
        found("Siobhán has been sharing a keylogger."),
        [(Name, "Siobhán")]
    );
    assert_eq!(
        found("Staff member Precious Nwosu reports"),
        [(Name, "Precious Nwosu")]
    );
}

#[test]
fn ordinary_capitalised_words_are_not_names() {
    for text in [
        "Year 10 pupil plays Minecraft, Roblox and Fortnite on his Xbox over the Wi-Fi.",
        "On Monday in May the Police spoke to Mum and Dad in England.",
        "Will be discussed at the next meeting. Mark scheme answers were taken.",
        "Grace period ended in June; over the Summer he played Destiny 2 and Monster Hunter.",
        "I think the School should know. He uses Discord and Telegram.",
        "He would jack up the prices and mark the accounts as sold.",
        "Child A and Child B (both aged 12) are in Year 7.",
        "He watched Mr Robot and learned on Khan Academy.",
        "He has a MacBook and McAfee antivirus.",
        "he plays on his xbox with mark and will, i think", // lower case: word-like names stay words
    ] {
        assert_eq!(found(text), [], "{text}");
    }
}

#[test]
fn each_contact_kind() {
    assert_eq!(
        kinds("write to jake.t2010@gmail.com please"),
        [FindingKind::Email]
    );
    assert_eq!(kinds("mobile +44 (0)7700 900 123"), [FindingKind::Phone]);
    assert_eq!(
        kinds("born 12/03/2011, in Year 9"),
        [FindingKind::DateOfBirth]
    );
    assert_eq!(kinds("near CR2 6XH"), [FindingKind::Postcode]);
    assert_eq!(
        kinds("at 14 Acacia Avenue with mum"),
        [FindingKind::Address]
    );
    assert_eq!(
        kinds("his gamertag is xX_Sniper_Xx"),
        [FindingKind::OnlineHandle]
    );
    assert_eq!(kinds("he attends Oakwood Academy"), [FindingKind::School]);
    assert_eq!(kinds("NHS number 943 476 5919"), [FindingKind::Other]);
}

#[test]
fn ages_and_generic_descriptions_are_not_identifying() {
    for text in [
        "A boy aged 14, a Year 10 pupil, plays Minecraft.",
        "She is 15 and lives with her nan in Kent.",
        "",
    ] {
        let report = check(text);
        assert!(!report.identifying, "{text}: {:?}", report.findings);
        assert!(report.findings.is_empty());
    }
}

#[test]
fn offsets_are_bytes_after_multibyte_text() {
    let text = "Café – call 07700 900123";
    let report = check(text);
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!(&text[f.start..f.end], "07700 900123");
    assert_eq!((f.start, f.end), (15, 27));

    let text = "😀😀 Zoë’s friend Kacper emailed kacper@example.com";
    let got = found(text);
    assert_eq!(
        got,
        [
            (FindingKind::Name, "Zoë"),
            (FindingKind::Name, "Kacper"),
            (FindingKind::Email, "kacper@example.com")
        ]
    );
}

#[test]
fn overlapping_findings_merge_into_the_more_specific_kind() {
    // "Mary" is a name, but inside a school's name it is the school.
    assert_eq!(
        found("He went to St Mary's Primary."),
        [(FindingKind::School, "St Mary's Primary")]
    );
    // "Victoria" in a street is the street.
    assert_eq!(
        found("He lives at 12 Victoria Road."),
        [(FindingKind::Address, "12 Victoria Road")]
    );
    // A name inside an email address is the address.
    assert_eq!(kinds("mail Tyler.Smith@gmail.com"), [FindingKind::Email]);
}

#[test]
fn findings_are_sorted_and_identifying_matches() {
    let text = "Teagan (15) lives at 3 Orchard Way, TN23 4HP. Mum's mobile is 07700 900654.";
    let report = check(text);
    assert!(report.identifying);
    let got: Vec<FindingKind> = report.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        got,
        [
            FindingKind::Name,
            FindingKind::Address,
            FindingKind::Postcode,
            FindingKind::Phone
        ]
    );
}

#[test]
fn overlong_text_is_checked_up_to_the_cap_and_the_rest_flagged() {
    let mut text = "a".repeat(MAX_CHECKED_BYTES - 1);
    text.push('é'); // straddles the cap
    text.push_str(" more text");
    let report = check(&text);
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!(f.kind, FindingKind::Other);
    assert_eq!(f.end, text.len());
    assert!(text.is_char_boundary(f.start));
}

#[test]
fn kinds_serialise_in_snake_case_and_describe_themselves() {
    let json = serde_json::to_string(&check("DOB 04-11-2009")).unwrap_or_default();
    assert_eq!(
        json,
        r#"{"identifying":true,"findings":[{"kind":"date_of_birth","start":4,"end":14,"char_start":4,"char_end":14}]}"#
    );
    assert_eq!(FindingKind::Name.describe(), "a person's name");
    assert_eq!(FindingKind::Email.describe(), "an email address");
}

#[test]
fn findings_carry_character_offsets_as_well_as_bytes() {
    // "â" is two bytes, "😀" four: byte and character offsets part company after each.
    let text = "Siân 😀 says Zoë's mum is on 07700 900654.";
    let report = check(text);
    let chars: Vec<char> = text.chars().collect();
    assert!(report.findings.len() >= 2, "{:?}", report.findings);
    for f in &report.findings {
        let by_chars: String = chars[f.char_start..f.char_end].iter().collect();
        assert_eq!(by_chars, &text[f.start..f.end], "{f:?}");
    }
    let phone = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Phone);
    assert_eq!(
        phone.map(|f| (f.start, f.char_start)),
        Some((33, 28)),
        "{:?}",
        report.findings
    );
}

#[test]
fn new_classes_of_identifying_detail() {
    use FindingKind::{Address, Name, Other, Postcode};
    assert_eq!(
        found("The logs show 2a00:23c6:1f0e:9a01::42 as the source."),
        [(Other, "2a00:23c6:1f0e:9a01::42")]
    );
    for text in [
        "Localhost is ::1 and fe80::1 is link-local; 2001:db8::5 is documentation.",
        "Meet at 10:30:00 tomorrow.",
    ] {
        assert_eq!(found(text), [], "{text}");
    }
    assert_eq!(found("They live in NE12 now."), [(Postcode, "NE12")]);
    assert_eq!(found("the LS6 area of town"), [(Postcode, "LS6")]);
    for text in [
        "They drove up the M6 and along the A1.",
        "He is in S4 this year.",
        "He was in the M25 traffic for hours.",
    ] {
        assert_eq!(found(text), [], "{text}");
    }
    assert_eq!(
        found("She lives on Heol Tywod with her gran."),
        [(Address, "Heol Tywod")]
    );
    assert_eq!(
        found("im at 8 orchard close with my nan"),
        [(Address, "8 orchard close")]
    );
    for text in [
        "it is 2 hours down the road",
        "a 10 minute walk from school",
        "in 3 different ways",
    ] {
        assert_eq!(found(text), [], "{text}");
    }
    // Short forms of names are names.
    assert_eq!(found("He hangs about with Gazza."), [(Name, "Gazza")]);
}

#[test]
fn tools_events_and_characters_are_not_people() {
    for text in [
        "He ran Hashcat and Jenkins on the school laptop.",
        "She asked Alexa to read the messages.",
        "He watches Breaking Bad and copies Jesse all the time.",
        "They went to Leeds Festival and Notting Hill Carnival.",
        "He plays GTA and talks about Franklin and Lamar.",
    ] {
        assert_eq!(found(text), [], "{text}");
    }
    // The same names with evidence of a person, or without the work or tools, still count.
    assert_eq!(
        found("Mr Jenkins saw it happen."),
        [(FindingKind::Name, "Mr Jenkins")]
    );
    assert_eq!(
        found("His friend Jesse showed him."),
        [(FindingKind::Name, "Jesse")]
    );
    assert_eq!(
        found("He watches Breaking Bad with his brother Jesse."),
        [(FindingKind::Name, "Jesse")]
    );
}
