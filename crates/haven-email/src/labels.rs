//! Label text normalised for matching: what a form says next to a box against what the
//! definition calls the question.
//!
//! Lower-cased, accents and punctuation dropped, common form abbreviations and synonyms
//! spelt one way ("young person" and "child" → `yp`, "DOB" → `date of birth`, "tel." and
//! "mobile" → `phone`, "phone no." → `phone number`, "A & E" → `ae`, "gender" → `sex`,
//! "job title" → `position`, "agency" → `organisation`), plural markers such as "(s)"
//! dropped, and a few filler words ("please", "tick", "the") ignored. Both sides of a
//! comparison are normalised alike, so a synonym never hides a difference the definition
//! makes. Similarity is
//! on words: the Dice coefficient of the two word sets, raised when one label is the start
//! of the other (paper forms often run the help text on after the label).

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// "a&e", "a & e", "a and e", "a+e" (lower-cased).
static A_AND_E: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\ba\s*(?:&|\+|\band\b)\s*e\b").ok());

/// Words that say nothing about which question a label is.
const FILLER: &[&str] = &[
    "please", "tick", "the", "a", "an", "your", "any", "all", "that", "apply", "e", "g", "eg",
    "below", "s", "es", "if", "known",
];

/// The words of a label, normalised.
pub fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
        .replace(['\u{2019}', '\u{2018}', '`'], "'");
    // Possessives and plural markers before punctuation goes.
    let folded = folded
        .replace("'s ", " ")
        .replace("(s)", " ")
        .replace("(es)", " ")
        .replace("e-mail", "email");
    // "A&E", "A & E", "A and E", "A+E": one word (its letters alone are filler).
    let folded = match A_AND_E.as_ref() {
        Some(re) => re.replace_all(&folded, "ae").into_owned(),
        None => folded,
    };
    let split: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric() && c != '&')
        .filter(|w| !w.is_empty())
        .collect();
    // Initials written with dots ("D.O.B.") become one word.
    let mut raw: Vec<String> = Vec::with_capacity(split.len());
    let mut i = 0;
    while i < split.len() {
        let single = |w: &str| w.chars().count() == 1 && w.chars().all(char::is_alphabetic);
        if single(split[i]) && split.get(i + 1).is_some_and(|w| single(w)) {
            let mut joined = String::new();
            while i < split.len() && single(split[i]) {
                joined.push_str(split[i]);
                i += 1;
            }
            raw.push(joined);
        } else {
            raw.push(split[i].to_string());
            i += 1;
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let w = raw[i].as_str();
        let next = raw.get(i + 1).map(String::as_str);
        let (replacement, used): (&[&str], usize) = match (w, next) {
            ("young", Some("person" | "people" | "persons")) => (&["yp"], 2),
            ("child", Some("young")) => (&["child"], 1),
            ("yps", _) => (&["yp"], 1),
            ("dob", _) => (&["date", "of", "birth"], 1),
            ("tel" | "telephone" | "mobile", _) => (&["phone"], 1),
            ("child" | "children" | "childs", _) => (&["yp"], 1),
            ("gender", _) => (&["sex"], 1),
            ("job", Some("title" | "role")) => (&["position"], 2),
            ("agency" | "agencies", _) => (&["organisation"], 1),
            // "Phone no.", "Contact no.": a number, not the answer "no".
            ("no", _) if matches!(out.last().map(String::as_str), Some("phone" | "contact")) => {
                (&["number"], 1)
            }
            ("no", Some("no")) => (&["no"], 2),
            ("organization", _) => (&["organisation"], 1),
            ("&", _) => (&["and"], 1),
            _ => (&[], 0),
        };
        if used > 0 {
            out.extend(replacement.iter().map(|s| s.to_string()));
            i += used;
            continue;
        }
        if !FILLER.contains(&w) {
            out.push(w.to_string());
        }
        i += 1;
    }
    out
}

/// How alike two labels are, 0.0 to 1.0 (1.0: the same words).
///
/// `doc` is what the form says, `question` the definition's label: when the form's text
/// starts with all of the question's words (in order), the score is at least 0.9, more the
/// less extra text there is.
pub fn similarity(doc: &[String], question: &[String]) -> f64 {
    if doc.is_empty() || question.is_empty() {
        return 0.0;
    }
    let common = question
        .iter()
        .filter(|q| doc.iter().any(|d| same_word(d, q)))
        .count();
    let doc_common = doc
        .iter()
        .filter(|d| question.iter().any(|q| same_word(d, q)))
        .count();
    let dice = (common + doc_common) as f64 / (doc.len() + question.len()) as f64;
    let starts_with = |long: &[String], short: &[String]| {
        long.len() >= short.len() && long.iter().zip(short).all(|(l, s)| same_word(l, s))
    };
    if starts_with(doc, question) && (question.len() >= 2 || doc.len() <= 2) {
        // The form runs on after the question's words (help text, "(please tick)").
        let precision = question.len() as f64 / doc.len() as f64;
        dice.max(0.9 + 0.1 * precision)
    } else if starts_with(question, doc) {
        // The form shortens the question ("Relationship(s)" for "Relationship to the YP").
        let recall = doc.len() as f64 / question.len() as f64;
        dice.max(0.75 + 0.1 * recall)
    } else if doc.len() >= 4 && doc_common == doc.len() {
        // Every word of the form's (long enough) label is in the question's: the form cut
        // a long label short ("Relationship of concern with a controlling adult or young
        // person" for the screening tool's three-line indicator).
        let recall = doc.len() as f64 / question.len() as f64;
        dice.max(0.74 + 0.1 * recall)
    } else {
        dice
    }
}

/// The same word, or a form's abbreviation of it ("ass" for "assessment", three letters
/// at least).
pub fn same_word(doc: &str, question: &str) -> bool {
    if doc.as_bytes().first() != question.as_bytes().first() {
        return false;
    }
    doc == question
        || (doc.len() >= 3
            && question.len() > doc.len()
            && question.starts_with(doc)
            && doc.chars().all(char::is_alphabetic))
}

/// The words of `text` after a label whose words are `label`, when `text` starts with the
/// label's words: `"Name: Jo Bloggs"` after `name` → `"Jo Bloggs"`. Works on the original
/// text (keeping its case), so the value is returned as written.
pub fn after_label<'t>(text: &'t str, label: &[String]) -> Option<&'t str> {
    if label.is_empty() {
        return None;
    }
    // A colon ends the label when there is one.
    if let Some((head, tail)) = text.split_once(':') {
        if head.len() <= 600 && words(head) == label {
            return Some(tail.trim());
        }
    }
    // Otherwise the shortest prefix whose words are the label's.
    let mut ends: Vec<usize> = text
        .char_indices()
        .take(2000)
        .filter(|(_, c)| c.is_whitespace() || matches!(c, ':' | '-' | '\u{2013}' | '?' | ')'))
        .map(|(i, c)| i + c.len_utf8())
        .collect();
    ends.push(text.len());
    for end in ends {
        let Some(head) = text.get(..end) else {
            continue;
        };
        let head_words = words(head);
        if head_words.len() > label.len() {
            break;
        }
        if head_words == label {
            let tail = text.get(end..).unwrap_or_default();
            return Some(
                tail.trim_start_matches([':', '-', '\u{2013}', ' ', '\t'])
                    .trim(),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str) -> Vec<String> {
        words(text)
    }

    #[test]
    fn normalises_form_spellings() {
        assert_eq!(
            w("YPs address and contact details:"),
            w("YP's address and contact details")
        );
        assert_eq!(
            w("Does young person want to engage"),
            w("Does YP want to engage")
        );
        assert_eq!(w("Date of Birth(s):"), w("Date of birth"));
        assert_eq!(w("DOB"), w("Date of birth"));
        assert_eq!(w("E-mail"), w("Email"));
        assert_eq!(w("Tel."), w("Phone"));
        assert_eq!(w("Telephone no."), w("Phone number"));
        assert_eq!(w("Contact No:"), w("Contact number"));
        assert_eq!(w("A & E attendance"), w("A&E attendance"));
        assert_eq!(w("A and E attendance"), w("A&E attendance"));
        assert_eq!(w("Child's name"), w("Young person's name"));
        assert_eq!(w("Gender"), w("Sex"));
        assert_eq!(w("Job title"), w("Position"));
        assert_eq!(w("No"), vec!["no".to_string()]);
    }

    #[test]
    fn prefix_scores_high_and_exact_highest() {
        let q = w("Child in Need or Child Protection Plan?");
        let doc = w(
            "Child in Need or Child Protection Plan?  Please provide full details below and indicate whether current or historic.",
        );
        assert!(similarity(&doc, &q) >= 0.9);
        assert!((similarity(&q, &q) - 1.0).abs() < 1e-9);
        assert!(
            similarity(&w("Name of YP:"), &w("Name"))
                < similarity(&w("Name of YP:"), &w("Name of YP"))
        );
        assert!(similarity(&w("Ethnicity"), &w("First language")) < 0.1);
        // A long label cut short still matches; a short one inside a long one does not.
        let indicator = w(
            "Relationship of concern with a controlling adult (male or female) or young person, which might involve physical and/or emotional abuse and/or gang activity",
        );
        assert!(
            similarity(
                &w("Relationship of concern with a controlling adult or young person"),
                &indicator
            ) >= 0.74
        );
        assert!(similarity(&w("Controlling adult"), &indicator) < 0.72);
    }

    #[test]
    fn finds_the_value_after_a_label() {
        assert_eq!(
            after_label("Name: Jo Bloggs", &w("Name")),
            Some("Jo Bloggs")
        );
        assert_eq!(after_label("Name Jo Bloggs", &w("Name")), Some("Jo Bloggs"));
        assert_eq!(
            after_label("Phone Number 01642 000000", &w("Phone number")),
            Some("01642 000000")
        );
        assert_eq!(
            after_label("Email - jo@school.example", &w("Email")),
            Some("jo@school.example")
        );
        assert_eq!(after_label("Address", &w("Email")), None);
    }
}
