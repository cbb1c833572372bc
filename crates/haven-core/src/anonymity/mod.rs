//! The anonymity check: does a piece of free text identify a person?
//!
//! An anonymous enquiry (for example to Cyber Choices) must not identify the young person,
//! so its free text is checked before it is accepted. [`check`] looks for people's names,
//! email addresses, UK phone numbers, dates of birth, UK postcodes, street addresses,
//! online handles, school names and other identifiers (NHS and National Insurance numbers,
//! vehicle registrations, public IP addresses, workplaces, descriptions that single one
//! child out), and reports where each one is, both as UTF-8 byte offsets (`start`, `end`)
//! and as character offsets (`char_start`, `char_end`, counting Unicode scalar values), so
//! a client in any language can point at it: in "Siân" the two differ.
//!
//! It is a heuristic: names come from embedded lists of common UK first names and surnames
//! plus the contexts that make any capitalised word a name ("Mr X", "a boy called X", "his
//! friend X", "X's mum"); everything else from its shape. It errs towards flagging, because
//! the referrer can confirm that a finding is not about a person, while a missed name
//! cannot be taken back. Ordinary capitalised words (games, platforms, months, school years)
//! are listed in `data/anonymity/` so they are not flagged, as are tools named like people
//! (`tools.txt`, when the sentence is about tools), events ("Reading Festival") and the
//! characters of a film, series or game the text names (`works.txt`). `docs/anonymity-check.md`
//! lists the classes and how they are measured.

mod contact;
mod context;
mod dates;
mod handles;
mod lexicon;
mod names;
mod places;
mod schools;
mod tokens;

use serde::Serialize;

/// Text longer than this is only checked up to here; the rest is reported as one
/// [`FindingKind::Other`] finding ("too long to check"), so an oversized text is never
/// silently accepted. Free-text answers are a few paragraphs; this bounds the work on
/// pathological input.
pub const MAX_CHECKED_BYTES: usize = 64 * 1024;

/// The result of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnonymityReport {
    /// Whether anything identifying was found (`!findings.is_empty()`).
    pub identifying: bool,
    /// What was found, sorted by `start`, never overlapping.
    pub findings: Vec<Finding>,
}

/// One identifying detail in the checked text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of detail it looks like.
    pub kind: FindingKind,
    /// UTF-8 byte offset of its first character in the checked text.
    pub start: usize,
    /// UTF-8 byte offset just past its last character (exclusive).
    pub end: usize,
    /// The same start counted in characters (Unicode scalar values), for clients whose
    /// strings are not indexed by UTF-8 bytes.
    pub char_start: usize,
    /// The same end counted in characters (exclusive).
    pub char_end: usize,
}

/// What a detector reports: a kind and a byte range. Character offsets are added once, at
/// the end, after overlapping hits are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub kind: FindingKind,
    pub start: usize,
    pub end: usize,
}

/// The kinds of identifying detail (serialised in snake case: `date_of_birth`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A person's name.
    Name,
    /// An email address.
    Email,
    /// A UK telephone number.
    Phone,
    /// A date of birth (or a year or day of birth).
    DateOfBirth,
    /// A UK postcode.
    Postcode,
    /// A street address.
    Address,
    /// An online handle, username, gamertag or profile link.
    OnlineHandle,
    /// The name of a school, college or university.
    School,
    /// Another identifier: NHS or National Insurance number, vehicle registration, IP
    /// address (v4 or v6), a named workplace, a description that singles one child out, or
    /// text too long to check.
    Other,
}

impl FindingKind {
    /// Plain words for messages to the person filling in the form.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Name => "a person's name",
            Self::Email => "an email address",
            Self::Phone => "a phone number",
            Self::DateOfBirth => "a date of birth",
            Self::Postcode => "a postcode",
            Self::Address => "a street address",
            Self::OnlineHandle => "an online username or handle",
            Self::School => "the name of a school or college",
            Self::Other => "an identifying number or detail",
        }
    }

    /// When two findings overlap, the more specific kind names the merged finding: an
    /// email address that contains a name is an email address; a name inside "St Mary's
    /// Primary" is a school.
    fn specificity(self) -> u8 {
        match self {
            Self::Email => 9,
            Self::Phone => 8,
            Self::DateOfBirth => 7,
            Self::Postcode => 6,
            Self::OnlineHandle => 5,
            Self::School => 4,
            Self::Address => 3,
            Self::Name => 2,
            Self::Other => 1,
        }
    }
}

/// Checks `text` for details that could identify a person. Never panics; the work is
/// linear in the length of the text (capped at [`MAX_CHECKED_BYTES`]).
pub fn check(text: &str) -> AnonymityReport {
    let mut cut = text.len().min(MAX_CHECKED_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let checked = &text[..cut];

    let mut found = Vec::new();
    contact::find(checked, &mut found);
    dates::find(checked, &mut found);

    // Names, places and handles are words: skip any that lie wholly inside a known phrase
    // ("Call of Duty", "Khan Academy", "Google Drive").
    let tokens = tokens::tokenize(checked);
    let mut worded = Vec::new();
    names::find(checked, &tokens, &mut worded);
    places::find(checked, &mut worded);
    handles::find(checked, &tokens, &mut worded);
    context::find(checked, &mut worded);
    let masked = lexicon::masked_ranges(checked);
    worded.retain(|f| !masked.iter().any(|&(s, e)| s <= f.start && f.end <= e));
    found.extend(worded);

    if cut < text.len() {
        found.push(Hit {
            kind: FindingKind::Other,
            start: cut,
            end: text.len(),
        });
    }
    let findings = with_char_offsets(text, merge(found));
    AnonymityReport {
        identifying: !findings.is_empty(),
        findings,
    }
}

/// Adds character offsets to sorted, non-overlapping hits in one pass over `text`.
fn with_char_offsets(text: &str, hits: Vec<Hit>) -> Vec<Finding> {
    let mut chars = 0;
    let mut at = 0;
    let mut count_to = |byte: usize| {
        chars += text.get(at..byte).map_or(0, |s| s.chars().count());
        at = at.max(byte);
        chars
    };
    hits.into_iter()
        .map(|h| {
            let char_start = count_to(h.start);
            let char_end = count_to(h.end);
            Finding {
                kind: h.kind,
                start: h.start,
                end: h.end,
                char_start,
                char_end,
            }
        })
        .collect()
}

/// Sorts findings and merges overlapping ones into their union, named by the more specific
/// kind.
fn merge(mut found: Vec<Hit>) -> Vec<Hit> {
    found.retain(|f| f.start < f.end);
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut merged: Vec<Hit> = Vec::with_capacity(found.len());
    for f in found {
        match merged.last_mut() {
            Some(last) if f.start < last.end => {
                last.end = last.end.max(f.end);
                if f.kind.specificity() > last.kind.specificity() {
                    last.kind = f.kind;
                }
            }
            _ => merged.push(f),
        }
    }
    merged
}

#[cfg(test)]
mod tests;
