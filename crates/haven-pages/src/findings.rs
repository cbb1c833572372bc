//! Showing the anonymity check's findings (Cyber Choices enquiry): the text with what looks
//! identifying marked and named in words (never by colour alone), and a checkbox to confirm
//! a finding is not a person's details.

use serde::{Deserialize, Serialize};

/// One finding of `POST /api/v1/anonymity-check` (`spec/contract.md`): a kind and UTF-8
/// byte offsets into the text checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: String,
    pub start: usize,
    pub end: usize,
}

/// The findings in one question's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionFindings {
    /// The question key (`summary`).
    pub question: String,
    /// The text that was checked (the offsets point into it).
    pub text: String,
    pub findings: Vec<Finding>,
}

/// What a finding kind is, in words.
pub fn kind_in_words(kind: &str) -> &'static str {
    match kind {
        "name" => "a name",
        "email" => "an email address",
        "phone" => "a phone number",
        "date_of_birth" => "a date of birth",
        "postcode" => "a postcode",
        "address" => "an address",
        "online_handle" => "an online username or handle",
        "school" => "a school",
        _ => "something that may identify someone",
    }
}

/// A piece of the checked text: plain, or a finding with its kind in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    pub kind: Option<&'static str>,
}

/// Splits a text at its findings. Findings that overlap an earlier one, fall outside the
/// text or off a character boundary are left unmarked rather than trusted (offsets come
/// from elsewhere).
pub fn segments(text: &str, findings: &[Finding]) -> Vec<Segment> {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| (f.start, f.end));
    let mut out = Vec::new();
    let mut at = 0;
    for f in sorted {
        let valid = f.start >= at
            && f.start < f.end
            && f.end <= text.len()
            && text.is_char_boundary(f.start)
            && text.is_char_boundary(f.end);
        if !valid {
            continue;
        }
        if let Some(plain) = text.get(at..f.start).filter(|s| !s.is_empty()) {
            out.push(Segment {
                text: plain.to_owned(),
                kind: None,
            });
        }
        if let Some(found) = text.get(f.start..f.end) {
            out.push(Segment {
                text: found.to_owned(),
                kind: Some(kind_in_words(&f.kind)),
            });
        }
        at = f.end;
    }
    if let Some(rest) = text.get(at..).filter(|s| !s.is_empty()) {
        out.push(Segment {
            text: rest.to_owned(),
            kind: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: &str, start: usize, end: usize) -> Finding {
        Finding {
            kind: kind.to_owned(),
            start,
            end,
        }
    }

    #[test]
    fn findings_are_marked_and_named() {
        let text = "Zoë’s friend Sam rang 07700 900982";
        let sam = text.find("Sam").unwrap_or_default();
        let phone = text.find("07700").unwrap_or_default();
        let got = segments(
            text,
            &[
                finding("phone", phone, text.len()),
                finding("name", sam, sam + 3),
            ],
        );
        let marked: Vec<(&str, Option<&str>)> =
            got.iter().map(|s| (s.text.as_str(), s.kind)).collect();
        assert_eq!(
            marked,
            vec![
                ("Zoë’s friend ", None),
                ("Sam", Some("a name")),
                (" rang ", None),
                ("07700 900982", Some("a phone number")),
            ]
        );
    }

    #[test]
    fn bad_offsets_are_ignored_not_trusted() {
        let text = "Zoë";
        // 3 is inside the two-byte ë; 99 is past the end; 1..1 is empty.
        let got = segments(
            text,
            &[
                finding("name", 0, 3),
                finding("name", 1, 99),
                finding("name", 1, 1),
            ],
        );
        assert_eq!(
            got,
            vec![Segment {
                text: "Zoë".to_owned(),
                kind: None
            }]
        );
    }
}
