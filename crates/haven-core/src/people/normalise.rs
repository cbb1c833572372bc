//! Normalising identifying values before they are compared or turned into blind tokens:
//! case, accents, punctuation, titles, nicknames and diminutives, dates (with the day and
//! month possibly swapped), UK postcodes (spacing, sector, district), phone numbers, email
//! addresses and online handles. Pure: no I/O.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use rphonetic::DoubleMetaphone;

/// Words dropped from names ("Mr", "Miss", "Dr").
const TITLES: &[&str] = &["MR", "MRS", "MS", "MISS", "MX", "DR", "MASTER"];

/// Upper-case ASCII words of `text`: accents folded (`deunicode`), apostrophes dropped
/// (O'Brien is OBRIEN), every other non-alphanumeric character a separator.
pub fn words(text: &str) -> Vec<String> {
    let ascii = deunicode::deunicode(text).to_uppercase();
    let mut out = Vec::new();
    let mut word = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else if c == '\'' || c == '`' {
            continue;
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The words of a name, without titles.
pub fn name_words(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| !TITLES.contains(&w.as_str()))
        .collect()
}

/// A name written in one piece ("Jane Mary Smith", "SMITH, Jane"): its given names and its
/// family name. With a comma the family name comes first. One word is a given name only.
pub fn split_full_name(text: &str) -> (Vec<String>, Option<String>) {
    if let Some((family, given)) = text.split_once(',') {
        let family = name_words(family);
        let given = name_words(given);
        if !family.is_empty() && !given.is_empty() {
            return (given, Some(family.join("")));
        }
    }
    let mut all = name_words(text);
    if all.len() < 2 {
        return (all, None);
    }
    let family = all.pop();
    (all, family)
}

fn nickname_table() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for line in include_str!("nicknames.txt").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((canonical, nicks)) = line.split_once(':') else {
                continue;
            };
            let canonical = canonical.trim().to_owned();
            table
                .entry(canonical.clone())
                .or_insert_with(|| canonical.clone());
            for nick in nicks.split(',') {
                let nick = nick.trim();
                if !nick.is_empty() {
                    table
                        .entry(nick.to_owned())
                        .or_insert_with(|| canonical.clone());
                }
            }
        }
        table
    })
}

/// The canonical form of a normalised given name: "BILL" is "WILLIAM"; a name not in the
/// table is itself.
pub fn canonical_given(name: &str) -> String {
    canonical_given_str(name).to_owned()
}

/// [`canonical_given`] without allocating, for comparisons (run millions of times by
/// `haven match fit` and the bench).
pub fn canonical_given_str(name: &str) -> &str {
    nickname_table().get(name).map_or(name, String::as_str)
}

/// Double Metaphone codes of a normalised name (primary, and alternate when different).
pub fn phonetic(name: &str) -> Vec<String> {
    if name.is_empty() {
        return Vec::new();
    }
    let encoder = DoubleMetaphone::default();
    let result = encoder.double_metaphone(name);
    let primary = result.primary();
    let alternate = result.alternate();
    let mut codes = Vec::with_capacity(2);
    if !primary.is_empty() {
        codes.push(primary.clone());
    }
    if !alternate.is_empty() && alternate != primary {
        codes.push(alternate);
    }
    codes
}

/// A date of birth as written: ISO (`2012-05-04`), compact (`20120504`) or UK (`4/5/2012`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y%m%d"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%d-%m-%Y"))
        .ok()
}

/// The date with day and month swapped, when that is a date and a different one.
pub fn transposed(date: NaiveDate) -> Option<NaiveDate> {
    if date.day() == date.month() || date.day() > 12 {
        return None;
    }
    NaiveDate::from_ymd_opt(date.year(), date.day(), date.month())
}

/// The same date whichever of day and month came first: the smaller of the two orders, for
/// a blocking key that a transposed date still meets.
pub fn date_unordered(date: NaiveDate) -> String {
    let (a, b) = (date.month().min(date.day()), date.month().max(date.day()));
    format!("{:04}{a:02}{b:02}", date.year())
}

/// A postcode without spaces, upper case. UK postcodes also give their sector ("TS1 3") and
/// district ("TS1"); any other code (an Australian "2615") only itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postcode {
    pub full: String,
    pub sector: Option<String>,
    pub district: Option<String>,
}

/// Normalises a postcode; `None` when nothing alphanumeric is left.
pub fn postcode(text: &str) -> Option<Postcode> {
    let full: String = deunicode::deunicode(text)
        .to_uppercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if full.is_empty() {
        return None;
    }
    if is_uk_postcode(&full) {
        let (outward, inward) = full.split_at(full.len() - 3);
        let sector = format!("{outward} {}", &inward[..1]);
        return Some(Postcode {
            sector: Some(sector),
            district: Some(outward.to_owned()),
            full,
        });
    }
    Some(Postcode {
        full,
        sector: None,
        district: None,
    })
}

/// A normalised UK postcode ([`Postcode::full`]: capitals and digits, no space) as its
/// district (the outward code) and sector (the outward code and the inward code's digit),
/// borrowed; `None` for anything else.
pub fn uk_district_and_sector(compact: &str) -> Option<(&str, &str)> {
    let normalised = compact
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    (normalised && is_uk_postcode(compact))
        .then(|| (&compact[..compact.len() - 3], &compact[..compact.len() - 2]))
}

/// A UK postcode without its space: an outward code of 2 to 4 characters starting with a
/// letter, then a digit and two letters.
fn is_uk_postcode(compact: &str) -> bool {
    let bytes = compact.as_bytes();
    if !(5..=7).contains(&bytes.len()) || !bytes[0].is_ascii_alphabetic() {
        return false;
    }
    let inward = &bytes[bytes.len() - 3..];
    let outward = &bytes[..bytes.len() - 3];
    inward[0].is_ascii_digit()
        && inward[1].is_ascii_alphabetic()
        && inward[2].is_ascii_alphabetic()
        && outward.iter().any(u8::is_ascii_digit)
}

/// The last UK postcode written in a free-text address, normalised.
pub fn postcode_in(address: &str) -> Option<Postcode> {
    let words = words(address);
    // A postcode is written as one word ("TS13AB") or two ("TS1 3AB").
    let mut found = None;
    for (i, word) in words.iter().enumerate() {
        if is_uk_postcode(word) {
            found = postcode(word);
        } else if let Some(next) = words.get(i + 1) {
            let joined = format!("{word}{next}");
            if next.len() == 3 && is_uk_postcode(&joined) {
                found = postcode(&joined);
            }
        }
    }
    found
}

/// An address as words for comparison, without its postcode.
pub fn address(text: &str) -> Option<String> {
    let postcode = postcode_in(text);
    let mut kept: Vec<String> = words(text);
    if let Some(pc) = postcode {
        let compact = pc.full;
        let n = kept.len();
        if n >= 1 && kept[n - 1] == compact {
            kept.pop();
        } else if n >= 2 && format!("{}{}", kept[n - 2], kept[n - 1]) == compact {
            kept.truncate(n - 2);
        }
    }
    let joined = kept.join(" ");
    (!joined.is_empty()).then_some(joined)
}

/// A phone number as its digits, a UK `+44`/`0044` prefix written as `0`.
pub fn phone(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let digits = if let Some(rest) = digits.strip_prefix("0044") {
        format!("0{rest}")
    } else if text.trim_start().starts_with('+') && digits.starts_with("44") {
        format!("0{}", &digits[2..])
    } else {
        digits
    };
    (digits.len() >= 6).then_some(digits)
}

/// An email address, trimmed and lower case.
pub fn email(text: &str) -> Option<String> {
    let text = text.trim().to_lowercase();
    (text.contains('@') && text.len() > 2).then_some(text)
}

/// An online handle, lower case without a leading `@` or spaces.
pub fn handle(text: &str) -> Option<String> {
    let text: String = deunicode::deunicode(text.trim().trim_start_matches('@'))
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    (!text.is_empty()).then_some(text)
}

/// Free text (a school's name) as words joined by one space.
pub fn text(value: &str) -> Option<String> {
    let joined = words(value).join(" ");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_accents_and_punctuation() {
        assert_eq!(
            name_words("  Zoë  O'Brien-Smith "),
            ["ZOE", "OBRIEN", "SMITH"]
        );
        assert_eq!(name_words("Mr. José"), ["JOSE"]);
        assert_eq!(
            split_full_name("SMITH, Jane Mary"),
            (
                vec!["JANE".to_owned(), "MARY".to_owned()],
                Some("SMITH".into())
            )
        );
        assert_eq!(
            split_full_name("Jane Smith"),
            (vec!["JANE".to_owned()], Some("SMITH".into()))
        );
        assert_eq!(split_full_name("Jane"), (vec!["JANE".to_owned()], None));
    }

    #[test]
    fn nicknames_have_one_canonical_form() {
        assert_eq!(canonical_given("BILL"), "WILLIAM");
        assert_eq!(canonical_given("LIZZIE"), "ELIZABETH");
        assert_eq!(canonical_given("ELIZABETH"), "ELIZABETH");
        assert_eq!(canonical_given("ZEBEDEE"), "ZEBEDEE");
    }

    #[test]
    fn sound_alike_names_share_a_code() {
        let a = phonetic("SMITH");
        let b = phonetic("SMYTHE");
        assert!(a.iter().any(|c| b.contains(c)), "{a:?} {b:?}");
        let c = phonetic("CATHERINE");
        let d = phonetic("KATHRYN");
        assert!(c.iter().any(|x| d.contains(x)), "{c:?} {d:?}");
    }

    #[test]
    fn dates_in_several_forms_and_transposed() {
        let d = NaiveDate::from_ymd_opt(2012, 5, 4).unwrap();
        assert_eq!(parse_date("2012-05-04"), Some(d));
        assert_eq!(parse_date("20120504"), Some(d));
        assert_eq!(parse_date("4/5/2012"), Some(d));
        assert_eq!(parse_date("not a date"), None);
        assert_eq!(transposed(d), NaiveDate::from_ymd_opt(2012, 4, 5));
        assert_eq!(
            transposed(NaiveDate::from_ymd_opt(2012, 5, 14).unwrap()),
            None
        );
        assert_eq!(
            date_unordered(d),
            date_unordered(NaiveDate::from_ymd_opt(2012, 4, 5).unwrap())
        );
    }

    #[test]
    fn postcodes_spacing_sector_district() {
        let p = postcode(" ts1 3ab").unwrap();
        assert_eq!(p.full, "TS13AB");
        assert_eq!(p.sector.as_deref(), Some("TS1 3"));
        assert_eq!(p.district.as_deref(), Some("TS1"));
        assert_eq!(
            postcode("SW1A1AA").unwrap().district.as_deref(),
            Some("SW1A")
        );
        let au = postcode("2615").unwrap();
        assert_eq!((au.full.as_str(), au.sector), ("2615", None));
        let found = postcode_in("12 High Street, Middlesbrough TS1 3AB").unwrap();
        assert_eq!(found.full, "TS13AB");
        assert_eq!(
            address("12 High Street, Middlesbrough TS1 3AB").as_deref(),
            Some("12 HIGH STREET MIDDLESBROUGH")
        );
    }

    #[test]
    fn contact_details() {
        assert_eq!(phone("+44 7700 900123").as_deref(), Some("07700900123"));
        assert_eq!(phone("07700 900 123").as_deref(), Some("07700900123"));
        assert_eq!(email(" Jo@Example.org ").as_deref(), Some("jo@example.org"));
        assert_eq!(handle("@Jo Gamer").as_deref(), Some("jogamer"));
    }
}
