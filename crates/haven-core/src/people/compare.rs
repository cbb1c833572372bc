//! Comparison levels: how closely two identities agree on each field.
//!
//! Each field has a few ordered levels, 0 being "different" and the highest "the same". A
//! field either record lacks has no level (it counts neither for nor against a match).

use chrono::Datelike;
use rapidfuzz::distance::jaro_winkler as jw;
use serde::{Deserialize, Serialize};

use super::Identity;
use super::normalise::{
    canonical_given_str, phonetic, postcode, transposed, uk_district_and_sector,
};

/// The fields compared, in the order of [`Comparison::levels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    GivenName,
    FamilyName,
    DateOfBirth,
    Postcode,
    Address,
    School,
    Contact,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::GivenName,
        Field::FamilyName,
        Field::DateOfBirth,
        Field::Postcode,
        Field::Address,
        Field::School,
        Field::Contact,
    ];

    /// The field in words, for staff.
    pub fn label(self) -> &'static str {
        match self {
            Field::GivenName => "First name",
            Field::FamilyName => "Last name",
            Field::DateOfBirth => "Date of birth",
            Field::Postcode => "Postcode",
            Field::Address => "Address",
            Field::School => "School",
            Field::Contact => "Phone, email or online handle",
        }
    }

    /// How many levels the field has (level 0 is "different").
    pub fn levels(self) -> usize {
        match self {
            Field::GivenName | Field::FamilyName | Field::DateOfBirth | Field::Postcode => 4,
            Field::Address => 4,
            Field::School | Field::Contact => 2,
        }
    }

    /// A level in words, for the explanation staff see.
    pub fn level_label(self, level: u8) -> &'static str {
        match (self, level) {
            (_, 0) => "different",
            (Field::GivenName | Field::FamilyName, 1) => {
                "sounds alike or spelt a little differently"
            }
            (Field::GivenName | Field::FamilyName, 2) => "spelt almost the same",
            (Field::GivenName, 3) => "the same (or a short form of it)",
            (Field::DateOfBirth, 1) => "one of day, month or year different",
            (Field::DateOfBirth, 2) => "day and month swapped",
            (Field::Postcode, 1) => "same district or one character different",
            (Field::Postcode, 2) => "same sector",
            (Field::Address, 1) => "partly similar",
            (Field::Address, 2) => "very similar",
            _ => "the same",
        }
    }
}

/// The level of each field (`None`: missing on either side), in [`Field::ALL`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub levels: [Option<u8>; 7],
}

impl Comparison {
    pub fn level(&self, field: Field) -> Option<u8> {
        self.levels[field as usize]
    }
}

/// Compares two identities field by field. Given and family names written the other way
/// round count as agreeing when that agrees better.
pub fn compare(a: &Identity, b: &Identity) -> Comparison {
    let mut levels = [None; 7];
    let given_a = a.given.first().map(String::as_str);
    let given_b = b.given.first().map(String::as_str);
    let mut given = both(given_a, given_b, |x, y| {
        given_level(x, y, &a.given, &b.given)
    });
    let mut family = both(a.family.as_deref(), b.family.as_deref(), name_level);
    // Swapped given and family names (a common data-entry slip).
    let straight = given.unwrap_or(0) + family.unwrap_or(0);
    if straight < 4 {
        let g = both(given_a, b.family.as_deref(), name_level);
        let f = both(a.family.as_deref(), given_b, name_level);
        if g.unwrap_or(0) + f.unwrap_or(0) > straight + 1 {
            // The lower level as the given name's, so the comparison stays symmetric.
            given = g.min(f).or(g).or(f);
            family = g.max(f);
        }
    }
    levels[Field::GivenName as usize] = given;
    levels[Field::FamilyName as usize] = family;
    levels[Field::DateOfBirth as usize] = match (a.date_of_birth, b.date_of_birth) {
        (Some(x), Some(y)) => Some(if x == y {
            3
        } else if transposed(x) == Some(y) {
            2
        } else {
            let same = u8::from(x.year() == y.year())
                + u8::from(x.month() == y.month())
                + u8::from(x.day() == y.day());
            u8::from(same == 2)
        }),
        _ => None,
    };
    levels[Field::Postcode as usize] =
        both(a.postcode.as_deref(), b.postcode.as_deref(), |x, y| {
            postcode_level(x, y)
        });
    levels[Field::Address as usize] =
        both(a.address.as_deref(), b.address.as_deref(), address_level);
    levels[Field::School as usize] = both(a.school.as_deref(), b.school.as_deref(), |x, y| {
        u8::from(x == y || jaro_winkler_at_least(x, y, 0.92).is_some())
    });
    let has_a = !(a.phones.is_empty() && a.emails.is_empty() && a.handles.is_empty());
    let has_b = !(b.phones.is_empty() && b.emails.is_empty() && b.handles.is_empty());
    levels[Field::Contact as usize] = (has_a && has_b).then(|| {
        let shared = a.phones.iter().any(|p| b.phones.contains(p))
            || a.emails.iter().any(|e| b.emails.contains(e))
            || a.handles.iter().any(|h| b.handles.contains(h));
        u8::from(shared)
    });
    Comparison { levels }
}

/// Jaro–Winkler similarity (prefix weight 0.1, boosted above 0.7, as Winkler and Splink
/// define it), by `rapidfuzz`'s bit-parallel implementation: comparing is most of fitting the
/// matcher, and this is about twice as fast as `strsim`'s with the same results.
pub fn jaro_winkler(x: &str, y: &str) -> f64 {
    if x.is_ascii() && y.is_ascii() {
        jw::similarity(x.bytes(), y.bytes())
    } else {
        jw::similarity(x.chars(), y.chars())
    }
}

/// The Jaro–Winkler similarity when it is at least `cutoff`; the cutoff lets the comparison
/// stop early once it cannot be reached.
fn jaro_winkler_at_least(x: &str, y: &str, cutoff: f64) -> Option<f64> {
    let args = jw::Args::default().score_cutoff(cutoff);
    if x.is_ascii() && y.is_ascii() {
        jw::similarity_with_args(x.bytes(), y.bytes(), &args)
    } else {
        jw::similarity_with_args(x.chars(), y.chars(), &args)
    }
}

fn both(a: Option<&str>, b: Option<&str>, level: impl Fn(&str, &str) -> u8) -> Option<u8> {
    match (a, b) {
        (Some(x), Some(y)) if !x.is_empty() && !y.is_empty() => Some(level(x, y)),
        _ => None,
    }
}

fn given_level(x: &str, y: &str, all_a: &[String], all_b: &[String]) -> u8 {
    if canonical_given_str(x) == canonical_given_str(y) {
        return 3;
    }
    let direct = name_level(x, y);
    // A first name that is the other's middle name ("Mary Jane" and "Jane").
    let other = all_a.iter().any(|g| all_b.contains(g));
    if other { direct.max(2) } else { direct }
}

/// Names: the same, almost the same spelling (Jaro–Winkler ≥ 0.88), sounding alike (a
/// shared Double Metaphone code) or Jaro–Winkler ≥ 0.8, or different.
pub fn name_level(x: &str, y: &str) -> u8 {
    if x == y {
        return 3;
    }
    match jaro_winkler_at_least(x, y, 0.8) {
        Some(s) if s >= 0.88 => return 2,
        Some(_) => return 1,
        None => {}
    }
    let px = phonetic(x);
    let py = phonetic(y);
    u8::from(px.iter().any(|c| py.contains(c)))
}

/// Addresses: the same; very similar (at least 80% of the words agree, a word agreeing when
/// it is the same or, not being a number, spelt almost the same, Jaro–Winkler ≥ 0.88; or
/// the whole Jaro–Winkler ≥ 0.92); partly similar (half the words, or ≥ 0.8); different.
pub fn address_level(x: &str, y: &str) -> u8 {
    if x == y {
        return 3;
    }
    let (wx, wy): (Vec<&str>, Vec<&str>) = (x.split(' ').collect(), y.split(' ').collect());
    let (short, long) = if wx.len() <= wy.len() {
        (&wx, &wy)
    } else {
        (&wy, &wx)
    };
    let agreeing = short
        .iter()
        .filter(|w| {
            long.iter().any(|v| {
                v == *w
                    || (!w.bytes().all(|b| b.is_ascii_digit())
                        && !v.bytes().all(|b| b.is_ascii_digit())
                        && jaro_winkler_at_least(w, v, 0.88).is_some())
            })
        })
        .count();
    let share = agreeing as f64 / long.len().max(1) as f64;
    let s = jaro_winkler(x, y);
    if share >= 0.8 || s >= 0.92 {
        2
    } else if share >= 0.5 || s >= 0.8 {
        1
    } else {
        0
    }
}

/// Postcodes: the same; the same sector; the same district (or, for non-UK codes, one
/// character different); different.
pub fn postcode_level(x: &str, y: &str) -> u8 {
    if x == y {
        return 3;
    }
    // The identities' postcodes are stored normalised: compared in place when both are UK.
    if let (Some((dx, sx)), Some((dy, sy))) = (uk_district_and_sector(x), uk_district_and_sector(y))
    {
        return if sx == sy { 2 } else { u8::from(dx == dy) };
    }
    match (postcode(x), postcode(y)) {
        (Some(px), Some(py)) if px.sector.is_some() && py.sector.is_some() => {
            if px.sector == py.sector {
                2
            } else {
                u8::from(px.district == py.district)
            }
        }
        _ => {
            u8::from(rapidfuzz::distance::damerau_levenshtein::distance(x.chars(), y.chars()) <= 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::IdentifierKind;

    fn person(name: &str, dob: &str, postcode: &str) -> Identity {
        let mut p = Identity::default();
        p.add(IdentifierKind::FullName, name);
        p.add(IdentifierKind::DateOfBirth, dob);
        p.add(IdentifierKind::Postcode, postcode);
        p
    }

    #[test]
    fn postcodes_by_sector_district_or_one_character() {
        // Stored normalised (compared in place) or as typed (normalised first): the same.
        for (x, y) in [("TS56AB", "TS56XY"), ("ts5 6ab", "TS5 6XY")] {
            assert_eq!(postcode_level(x, y), 2, "{x} / {y}");
        }
        assert_eq!(postcode_level("TS56AB", "TS51AB"), 1);
        assert_eq!(postcode_level("TS56AB", "TS66AB"), 0);
        assert_eq!(postcode_level("6021", "6012"), 1, "two digits swapped");
        assert_eq!(postcode_level("6021", "6190"), 0);
        assert_eq!(postcode_level("6021", "6022"), 1, "one digit different");
    }

    #[test]
    fn levels_of_each_field() {
        let a = person("William Smith", "2011-03-07", "TS5 6AB");
        let b = person("Bill Smyth", "2011-07-03", "TS5 6XY");
        let c = compare(&a, &b);
        assert_eq!(c.level(Field::GivenName), Some(3));
        assert_eq!(c.level(Field::FamilyName), Some(2));
        assert_eq!(c.level(Field::DateOfBirth), Some(2));
        assert_eq!(c.level(Field::Postcode), Some(2));
        assert_eq!(c.level(Field::Address), None);
        let d = person("Smith William", "2011-03-08", "TS6 1AA");
        let c = compare(&a, &d);
        assert_eq!(c.level(Field::GivenName), Some(3), "swapped names");
        assert_eq!(c.level(Field::DateOfBirth), Some(1));
        assert_eq!(c.level(Field::Postcode), Some(0));
        assert_eq!(postcode_level("TS56AB", "TS51ZZ"), 1);
        assert_eq!(postcode_level("2615", "2616"), 1);
        assert_eq!(name_level("KATHRYN", "CATHERINE"), 1);
        assert_eq!(name_level("JONES", "PATEL"), 0);
    }
}
