//! Street addresses (English, Welsh, or written all in lower case) and the names of schools,
//! colleges and universities, including schools named without a school word ("at Lord
//! Wandsworth", "moved up to Kendrick Girls") or by type and town ("a grammar school in
//! Ripon").

use std::sync::LazyLock;

use regex::Regex;

use super::contact::compile;
use super::lexicon;
use super::{FindingKind, Hit, schools};

/// A capitalised word of a place name ("Acacia", "St", "Mary's", "O'Neill"). Only "St."
/// keeps a full stop: any other full stop ends the sentence, and a name must not run on
/// over it ("…in Kent. School: secondary").
pub(crate) const CAP: &str = r"(?:St\.|\p{Lu}[\p{L}\p{M}'’\-]*)";

/// Every street type, for addresses with a house number: "3 Orchard Way".
const ANY_STREET: &str = r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Cres|Court|Ct|Gardens|Gdns|Grove|Place|Pl|Terrace|Tce|Park|Hill|Mews|Row|Square|Sq|Walk|View|Rise|Green|Parade|Vale|Boulevard|Estate|Wharf|Yard|Croft|Fields|Meadows?|Heights|Quay|Gate|End";

/// Street types that are addresses even without a number ("Elm Road"); "Way", "Park",
/// "Drive" and the like are too often something else ("Google Drive", "Hill Park College").
const STRONG_STREET: &str =
    r"Street|Road|Rd|Avenue|Ave|Lane|Close|Crescent|Gardens|Grove|Terrace|Mews";

static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?:(?i:flat|apartment|apt|unit)\s*\d+[a-zA-Z]?,?\s+)?\b\d{{1,4}}[a-zA-Z]?,?\s+(?:{CAP}\s+){{1,3}}(?:{ANY_STREET})\b"
    ))
});
static NAMED_STREET: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"\b((?:{CAP}\s+){{1,2}})(?:{STRONG_STREET})\b")));
/// "lives on Orchard Way", "staying at Kingsley Park".
static LIVES_ON: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"\b(?i:lives|living|lived|stays|staying|stayed|resides|address\s+is)\s+(?i:on|in|at)\s+(?:the\s+)?((?:{CAP}\s+){{1,2}}(?:{ANY_STREET}))\b"
    ))
});

/// Welsh streets put the street word first: "Heol y Nant", "Stryd Fawr", "7 Lôn Isaf".
static WELSH_STREET: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?:\b\d{{1,4}}[a-zA-Z]?,?\s+)?\b(?:Heol|Ffordd|Stryd|Stryt|L[oô]n|Cilgant|Rhodfa|Teras|Clos|Maes|Llwyn|Rhes|Allt|Sgwâr)(?:\s+(?:y|yr|'r))?\s+{CAP}(?:\s+{CAP})?"
    ))
});

/// The street words of [`WELSH_STREET`], for a cheap look before running it.
const WELSH_WORDS: &[&str] = &[
    "Heol", "Ffordd", "Stryd", "Stryt", "Lon", "Lôn", "Cilgant", "Rhodfa", "Teras", "Clos", "Maes",
    "Llwyn", "Rhes", "Allt", "Sgwâr",
];

/// A numbered address written in lower case: "8 orchard close", "flat 2 elm court".
static NUMBERED_LOWER: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?:\b(?:flat|apartment|apt|unit)\s*\d+[a-z]?,?\s+)?\b\d{1,4}[a-z]?,?\s+((?:[a-z][a-z'’\-]*\s+){1,3})(?:street|st|road|rd|lane|avenue|ave|close|drive|crescent|court|gardens|grove|terrace|place|way|mews|walk|rise|row|square|parade|hill|green|view|park|estate)\b",
    )
});

/// Words that cannot be part of a street's name in a lower-case address: "2 hours down the
/// road", "a 10 minute walk", "in 3 different ways".
#[rustfmt::skip]
const NOT_STREET_WORDS: &[&str] = &[
    "the", "a", "an", "of", "to", "on", "in", "at", "by", "for", "and", "or", "his", "her", "my", "our", "their",
    "your", "its", "down", "up", "along", "across", "round", "around", "from", "with", "into", "over", "minute",
    "minutes", "min", "mins", "hour", "hours", "hr", "hrs", "second", "seconds", "day", "days", "week", "weeks",
    "month", "months", "year", "years", "mile", "miles", "metre", "metres", "meter", "meters", "km", "yard",
    "yards", "foot", "feet", "times", "more", "very", "long", "short", "different", "other", "new", "old",
    "big", "small", "main", "same", "whole", "this", "that", "these", "those", "is", "was", "are", "were",
    "people", "boys", "girls", "kids", "friends", "lads", "pupils", "students", "lane", "road", "car", "cars",
];

/// School types: the last word of a school's name, with optional qualifiers before it.
const SCHOOL_TYPE: &str = r"(?:(?:Primary|Junior|Infant|Secondary|High|Grammar|Community|Catholic|Church\s+of\s+England|C\s+of\s+E|CofE|CE|RC|Free|Studio|Prep|Preparatory|Middle|Upper|Girls'?|Boys'?|Technical|Comprehensive|Sixth\s+Form|International)\s+)*(?:School|Academy|College|Primary|Grammar|Juniors|Junior|Infants|Comprehensive|High|UTC|PRU|Pupil\s+Referral\s+Unit|Alternative\s+Provision)";

static SCHOOL: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"\b((?:(?:{CAP}|of|the|and|&)\s+){{1,5}}?){SCHOOL_TYPE}\b"
    ))
});
static UNIVERSITY: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"\bUniversity\s+(?:College\s+)?of\s+(?:the\s+)?{CAP}(?:\s+{CAP}){{0,2}}|\b(?:{CAP}\s+){{1,3}}University\b"
    ))
});

/// Welsh and Irish school names start with the type: "Ysgol Gyfun Cwm Rhondda".
static YSGOL: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"\b(?:Ysgol|Scoil|Sgoil)(?:\s+{CAP}){{1,4}}")));

/// Addresses and schools in `text`.
pub(crate) fn find(text: &str, out: &mut Vec<Hit>) {
    // Cheap substring checks first: most texts have no Welsh street word, and a numbered
    // address needs a digit.
    let welsh = WELSH_WORDS.iter().any(|w| text.contains(w));
    let digits = text.bytes().any(|b| b.is_ascii_digit());
    for m in WELSH_STREET.find_iter(if welsh { text } else { "" }) {
        out.push(Hit {
            kind: FindingKind::Address,
            start: m.start(),
            end: m.end(),
        });
    }
    for caps in NUMBERED_LOWER.captures_iter(if digits { text } else { "" }) {
        let (Some(all), Some(words)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        if words
            .as_str()
            .split_whitespace()
            .all(|w| !NOT_STREET_WORDS.contains(&w))
        {
            out.push(Hit {
                kind: FindingKind::Address,
                start: all.start(),
                end: all.end(),
            });
        }
    }
    schools::find(text, out);
    for m in NUMBERED.find_iter(text) {
        out.push(Hit {
            kind: FindingKind::Address,
            start: m.start(),
            end: m.end(),
        });
    }
    for caps in NAMED_STREET.captures_iter(text) {
        let (Some(all), Some(words)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        if let Some(offset) = first_distinctive_word(words.as_str()) {
            out.push(Hit {
                kind: FindingKind::Address,
                start: all.start() + offset,
                end: all.end(),
            });
        }
    }
    for caps in LIVES_ON.captures_iter(text) {
        let Some(place) = caps.get(1) else { continue };
        if first_distinctive_word(place.as_str()).is_some() {
            out.push(Hit {
                kind: FindingKind::Address,
                start: place.start(),
                end: place.end(),
            });
        }
    }
    for caps in SCHOOL.captures_iter(text) {
        let (Some(all), Some(words)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        if let Some(offset) = first_distinctive_word(words.as_str()) {
            out.push(Hit {
                kind: FindingKind::School,
                start: all.start() + offset,
                end: all.end(),
            });
        }
    }
    for m in YSGOL.find_iter(text) {
        out.push(Hit {
            kind: FindingKind::School,
            start: m.start(),
            end: m.end(),
        });
    }
    for m in UNIVERSITY.find_iter(text) {
        // "University of X" names one place whatever X is; "X University" needs a real X.
        let of_form = m.as_str().starts_with("University");
        if let Some(offset) = if of_form {
            Some(0)
        } else {
            first_distinctive_word(m.as_str())
        } {
            out.push(Hit {
                kind: FindingKind::School,
                start: m.start() + offset,
                end: m.end(),
            });
        }
    }
}

/// The byte offset of the first word in `words` that is not generic (a connector like "of",
/// or a generic word like "Local", "High", "Head", "The"). Generic words
/// before it are trimmed from the finding; with no such word there is no finding, so
/// "Head of Sixth Form" and "the High Street" are not places.
pub(crate) fn first_distinctive_word(words: &str) -> Option<usize> {
    let mut offset = 0;
    for word in words.split_inclusive(char::is_whitespace) {
        let bare = word
            .trim()
            .trim_end_matches('.')
            .trim_end_matches("'s")
            .trim_end_matches("’s");
        let generic = bare.is_empty()
            || !bare.chars().next().is_some_and(char::is_uppercase)
            || lexicon::is_generic(bare)
            || matches!(bare, "University" | "College" | "School" | "Academy");
        if !generic {
            return Some(offset);
        }
        offset += word.len();
    }
    None
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
    fn street_addresses() {
        assert!(
            found("Lives at 14 Acacia Avenue, Reading")
                .contains(&(FindingKind::Address, "14 Acacia Avenue"))
        );
        assert!(
            found("is flat 3, 22 High Street, and")
                .contains(&(FindingKind::Address, "flat 3, 22 High Street"))
        );
        assert_eq!(
            found("near the shops on Elm Road with"),
            [(FindingKind::Address, "Elm Road")]
        );
        assert_eq!(
            found("He lives on Orchard Way now"),
            [(FindingKind::Address, "Orchard Way")]
        );
    }

    #[test]
    fn generic_places_are_not_addresses() {
        for text in [
            "in town on the High Street",
            "saved to Google Drive",
            "it was on Street View",
            "for 2 hours down the road",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn schools() {
        for (text, school) in [
            ("An ex-pupil of St Mary's Primary, now", "St Mary's Primary"),
            ("Oakwood Academy has had", "Oakwood Academy"),
            (
                "the DSL at Kingsway High School. One",
                "Kingsway High School",
            ),
            (
                "Student at Hill Park College (Level 3 IT)",
                "Hill Park College",
            ),
            ("She goes to Westfield Grammar and", "Westfield Grammar"),
            (
                "He is at Northgate Pupil Referral Unit now",
                "Northgate Pupil Referral Unit",
            ),
            (
                "at the University of Portsmouth studying",
                "University of Portsmouth",
            ),
        ] {
            assert!(
                found(text).contains(&(FindingKind::School, school)),
                "{text}: {:?}",
                found(text)
            );
        }
    }

    #[test]
    fn generic_school_words_are_not_schools() {
        for text in [
            "met the Head of Sixth Form",
            "Referred by the School Nurse.",
            "a local Academy",
            "in Year 10 at a Secondary School in Kent",
        ] {
            assert!(
                found(text).iter().all(|(k, _)| *k != FindingKind::School),
                "{text}: {:?}",
                found(text)
            );
        }
    }
}
