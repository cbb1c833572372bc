//! Details that identify by their context rather than their shape: a parent's workplace
//! ("works at Marsh Valley Joinery"), a nickname given in quotes ("they call him 'Beanpole'"),
//! initials with a form group ("JT in 9B"), and descriptions that single one child out ("the
//! only girl in Year 9 with a hearing aid", "the boy whose mum runs the chip shop").

use std::sync::LazyLock;

use regex::Regex;

use super::contact::compile;
use super::lexicon;
use super::{FindingKind, Hit};

/// A capitalised word of an organisation's name ("Marsh", "Parkside", "B&Q", "Co-op").
const ORG_WORD: &str = r"(?:\p{Lu}[\p{L}\p{M}'’&\-]*)";

/// "works at Marsh Valley Joinery", "a receptionist at Elm Tree Surgery", "his job at the
/// Royal Berkshire". The organisation is captured.
static WORKPLACE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?-u:\b)(?i:works|worked|working|work|job|jobs|employed|shifts?|receptionist|nurse|cleaner|manager|carer|assistant|mechanic|driver|chef|cook|porter|waitress|waiter|apprentice|apprenticeship|volunteers|volunteering|placement|director|owner|secretary|administrator|technician)\s+(?i:at|for|with)\s+(?:the\s+)?({ORG_WORD}(?:\s+(?:&\s+|and\s+|of\s+)?{ORG_WORD}){{0,3}})"
    ))
});

/// A nickname in quotes after naming words: "they call him 'Beanpole'", "known as “Dozer”",
/// "nicknamed 'Bones'". Unquoted, the nickname must be capitalised: "they call him Tiny".
static NICKNAME: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r#"(?i:(?-u:\b)call(?:s|ed|ing)?\s+(?:him|her|them|me|himself|herself|themselves)|(?-u:\b)they\s+call|(?-u:\b)known\s+as|(?-u:\b)nicknamed|(?-u:\b)nick\s?name\s+(?:is|was|of)|(?-u:\b)goes\s+by(?:\s+the\s+name)?)\s+(?:(['"“‘])([\p{L}][\p{L}'’\-]{1,20}(?:\s[\p{L}][\p{L}'’\-]{1,20})?)['"”’]|(\p{Lu}[\p{Ll}'’\-]{1,20})(?-u:\b))"#,
    )
});

/// Naming words that make an unquoted capitalised word a nickname on their own ("known as
/// X" is left to the name check, which asks for a person noun; bare "called 'X'" is not a
/// cue at all: "an app called 'Wizz'").
fn unquoted_ok(cue: &str) -> bool {
    let cue = cue.to_lowercase();
    cue.starts_with("call") && !cue.starts_with("called ") && cue != "called"
        || cue.starts_with("they")
        || cue.starts_with("nick")
}

/// Initials with a form group or year: "JT in 9B", "J.T. from 10X", "(L.S., 7C)", "AB 11R".
static INITIALS_FORM: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?:\b(\p{Lu}{2,3})\b|((?:\b\p{Lu}\.\s?){2,3}))\s*[,(]?\s*(?:(?:in|from|of)\s+)?(?:[Yy](?:ea)?r\s*\d{1,2}\b|\d{1,2}\s?\p{Lu}{1,2}\b|\d{1,2}/[\p{L}\d]{1,3}\b)",
    )
});

/// Capital-letter abbreviations that go with a form group without being anyone's initials:
/// subjects ("PE in 9B"), roles ("the TA in 10X"), "YP" (young person), devices.
#[rustfmt::skip]
const NOT_INITIALS: &[&str] = &[
    "PE", "RE", "IT", "DT", "ICT", "TA", "TAS", "LSA", "SEN", "DSL", "HOY", "SLT", "YP", "CYP", "RSE", "EAL", "FSM",
    "PP", "KS", "GCSE", "CP", "CIN", "LAC", "GP", "MFL", "CS", "PC", "AM", "PM", "OK", "TV", "HD", "VR", "AI", "UK",
    "US", "ID", "DM", "DMS", "ALL", "AND", "THE", "FOR", "NOT", "BUT", "SEND", "ASD", "GTA", "PS", "CEO", "HR",
    "NHS", "YOT", "MP", "AS", "IN", "ON", "AT", "OF", "TO", "HT", "DHT", "AHT", "HOD", "SSO", "SSW", "EWO",
    "SW", "DP", "VPN", "YR", "EHC", "ASC", "OT", "SALT", "SLC", "PRU", "AP",
];

/// Descriptions that fit one child in a school: "the only girl in Year 9 with …", "the
/// tallest boy in Year 10", "the boy whose mum runs the chip shop", "the Year 10 girl who
/// won the national …". Indefinite ("a boy whose parents …") or set off by a comma ("the
/// boy, whose family …") they describe, without singling out.
static SINGLED_OUT: LazyLock<Regex> = LazyLock::new(|| {
    const CHILD: &str =
        r"(?:boy|girl|child|kid|pupil|student|lad|lass|young\s+person|teenager|twins?)";
    // "the only child at home" means no brothers or sisters, not one child in a school.
    const ONLY_CHILD: &str = r"(?:boy|girl|pupil|student|lad|lass|young\s+person|teenager|twins?)";
    compile(&format!(
        r"(?i)(?-u:\b)the\s+(?:only\s+(?:[a-z]+\s+){{0,2}}?{ONLY_CHILD}(?-u:\b)[^.;!?\n]{{0,60}}?(?-u:\b)(?:with|who|whose|in|at|to|from)(?-u:\b)[^.;!?\n]{{0,60}}|(?:tallest|shortest|smallest|biggest|youngest|oldest|cleverest|brightest)\s+{CHILD}\s+in\s+(?:(?:year|yr)\s*\d{{1,2}}|the\s+(?:school|year|class|form)|(?:his|her|their)\s+(?:year|class|form|school))|{CHILD}\s+whose\s+(?:mum|dad|mother|father|parents?|step(?:mum|dad)|brother|sister|nan|gran|grandma|grandad|family|uncle|aunt(?:ie)?|carers?)\s+(?:runs|owns|is\s+the|was\s+the|works\s+at|teaches|manages|drives\s+the|has\s+the|was\s+on|is\s+on|played|plays)(?-u:\b)[^.;!?\n]{{0,50}}|(?:(?:year|yr)\s*\d{{1,2}}\s+)?{CHILD}\s+who\s+(?:won|captains|captained|represented|starred|appeared|came\s+(?:first|top)|plays\s+for|was\s+on\s+(?:tv|the\s+news|telly)|was\s+in\s+the\s+(?:news|paper))(?-u:\b)[^.;!?\n]{{0,50}})"
    ))
});

/// Everything this module finds in `text`.
pub(crate) fn find(text: &str, out: &mut Vec<Hit>) {
    for caps in WORKPLACE.captures_iter(text) {
        let Some(org) = caps.get(1) else { continue };
        let name = org.as_str();
        let generic = name.split_whitespace().all(|w| {
            let w = w.trim_end_matches("'s").trim_end_matches("’s");
            lexicon::is_generic(w) || lexicon::is_place(w)
        });
        if !generic && !lexicon::is_big_employer(name) {
            out.push(Hit {
                kind: FindingKind::Other,
                start: org.start(),
                end: org.end(),
            });
        }
    }
    // The patterns below are costly on long text; a cheap look for their key words first
    // skips them on most texts.
    let lower = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let nicknames = has(&["call", "known", "nick", "goes by", "named"]);
    let singled = has(&["only", "whose", "est ", " who "]);
    for caps in NICKNAME.captures_iter(if nicknames { text } else { "" }) {
        let Some(cue) = caps.get(0) else { continue };
        let (nick, quoted) = match (caps.get(2), caps.get(3)) {
            (Some(q), _) => (q, true),
            (None, Some(bare)) => (bare, false),
            _ => continue,
        };
        let cue_words = &text[cue.start()..nick.start()];
        let cue_words = cue_words.trim_end_matches(['\'', '"', '“', '‘', ' ']);
        if nick
            .as_str()
            .chars()
            .any(|c| c.is_ascii_digit() || c == '_')
        {
            continue; // shaped like a handle: the handle check has it
        }
        let capitalised = nick.as_str().chars().next().is_some_and(char::is_uppercase);
        let ok = if quoted {
            capitalised || unquoted_ok(cue_words) || cue_words.to_lowercase().contains("known")
        } else {
            unquoted_ok(cue_words)
        };
        if ok && !lexicon::is_not_name(nick.as_str()) {
            out.push(Hit {
                kind: FindingKind::Name,
                start: nick.start(),
                end: nick.end(),
            });
        }
    }
    let digits = text.bytes().any(|b| b.is_ascii_digit());
    for caps in INITIALS_FORM.captures_iter(if digits { text } else { "" }) {
        let Some(all) = caps.get(0) else { continue };
        if let Some(letters) = caps.get(1)
            && NOT_INITIALS.contains(&letters.as_str())
        {
            continue;
        }
        out.push(Hit {
            kind: FindingKind::Name,
            start: all.start(),
            end: all.end(),
        });
    }
    for m in SINGLED_OUT.find_iter(if singled { text } else { "" }) {
        out.push(Hit {
            kind: FindingKind::Other,
            start: m.start(),
            end: m.as_str().trim_end().len() + m.start(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(FindingKind, &str)> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter()
            .map(|f| (f.kind, &text[f.start..f.end]))
            .collect()
    }

    #[test]
    fn workplaces_unless_national() {
        assert_eq!(
            found("Her dad works at Marsh Valley Joinery in town."),
            [(FindingKind::Other, "Marsh Valley Joinery")]
        );
        assert_eq!(
            found("Mum is a cleaner at the Grange Hotel."),
            [(FindingKind::Other, "Grange Hotel")]
        );
        for text in [
            "His brother works at Tesco.",
            "Mum works for the NHS and dad works at a garage.",
            "She works in London.",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn nicknames_in_quotes_or_after_call_him() {
        assert_eq!(
            found("the others call him 'Beanpole' all the time"),
            [(FindingKind::Name, "Beanpole")]
        );
        assert_eq!(
            found("a lad known as “Dozer” got him into it"),
            [(FindingKind::Name, "Dozer")]
        );
        assert_eq!(found("they call her Titch"), [(FindingKind::Name, "Titch")]);
        for text in [
            "He called it 'harmless fun'.",
            "a group called 'the crew'",
            "known as a troublemaker",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn initials_with_a_form_group() {
        for (text, want) in [
            ("RW in 8D has been", "RW in 8D"),
            ("P.D. from 11Y said", "P.D. from 11Y"),
            ("a pupil (L.S., 7C) shared", "L.S., 7C"),
            ("MK, year 10, was seen", "MK, year 10"),
        ] {
            assert_eq!(found(text), [(FindingKind::Name, want)], "{text}");
        }
        for text in [
            "PE in 9B was cancelled",
            "The YP in 10X",
            "The TA in 7C noticed",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn descriptions_that_single_out_one_child() {
        for text in [
            "It is the only boy in Year 8 with a prosthetic leg.",
            "the youngest girl in the school has",
            "the lad whose dad owns the taxi firm near the park",
            "the Year 10 girl who represented England at netball",
        ] {
            assert!(
                found(text).iter().any(|(k, _)| *k == FindingKind::Other),
                "{text}: {:?}",
                found(text)
            );
        }
        for text in [
            "He is a boy whose parents work nights.",
            "The boy, whose family moved here, is 14.",
            "He is not the only one doing it.",
            "He is the only child at home now.",
            "The Year 10 pupil who disclosed this is 15.",
            "A girl in Year 9 told staff.",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }
}
