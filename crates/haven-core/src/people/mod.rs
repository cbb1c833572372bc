//! Linked people: who a referral is about, normalised for comparison, and how likely two
//! referrals are about the same young person.
//!
//! - [`normalise`]: case, accents, punctuation, nicknames, dates, postcodes, contact details.
//! - [`Identity`]: one referral's identifying answers, normalised (built from the questions a
//!   definition marks in `[people]`). Sealed at rest like any answer; never logged.
//! - [`Identity::blocking_keys`] / [`Identity::search_keys`]: the plaintext keys the storage
//!   layer turns into keyed blind tokens (HMAC) before anything is written.
//! - [`compare`]: comparison levels per field (Jaro–Winkler bands, phonetic agreement,
//!   transposed dates, postcode sector and district).
//! - [`score`]: Fellegi–Sunter weights, m/u probabilities estimated by EM, and a match
//!   probability with its explanation.
//! - [`linkage`]: many records at once: candidate pairs by shared tokens, fitting the
//!   weights to them, one-to-one assignment, accuracy against truth, FEBRL records.
//!
//! Pure: no I/O and no clock.

pub mod compare;
pub mod linkage;
pub mod normalise;
pub mod score;

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use compare::{Comparison, Field, compare};
pub use score::{Explanation, Params, Reason, estimate, explain};

/// What an identifying question says about the young person (a definition's `[people]`
/// section maps question keys to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// A whole name in one answer ("Jane Mary Smith"): split into given and family names.
    FullName,
    GivenName,
    FamilyName,
    /// A name they are also known by: compared as a given name.
    PreferredName,
    DateOfBirth,
    Postcode,
    /// A home address; a UK postcode written in it counts as the postcode.
    Address,
    School,
    Phone,
    Email,
    /// Online usernames and handles (a repeatable question's `handle` field, or text).
    OnlineHandle,
}

/// One referral's young person, normalised. Every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Given names (the first is the one used most), upper-case ASCII.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<NaiveDate>,
    /// Compact upper case (`TS13AB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handles: Vec<String>,
}

impl Identity {
    /// Adds one answer (as text) of the given kind, normalised. Unusable values are ignored.
    pub fn add(&mut self, kind: IdentifierKind, value: &str) {
        use IdentifierKind as K;
        match kind {
            K::FullName => {
                let (given, family) = normalise::split_full_name(value);
                self.add_given(given);
                if self.family.is_none() {
                    self.family = family;
                }
            }
            K::GivenName | K::PreferredName => self.add_given(normalise::name_words(value)),
            K::FamilyName => {
                let words = normalise::name_words(value);
                if self.family.is_none() && !words.is_empty() {
                    self.family = Some(words.join(""));
                }
            }
            K::DateOfBirth => {
                if self.date_of_birth.is_none() {
                    self.date_of_birth = normalise::parse_date(value);
                }
            }
            K::Postcode => {
                if self.postcode.is_none() {
                    self.postcode = normalise::postcode(value).map(|p| p.full);
                }
            }
            K::Address => {
                if self.postcode.is_none() {
                    self.postcode = normalise::postcode_in(value).map(|p| p.full);
                }
                if self.address.is_none() {
                    self.address = normalise::address(value);
                }
            }
            K::School => {
                if self.school.is_none() {
                    self.school = normalise::text(value);
                }
            }
            K::Phone => push_new(&mut self.phones, normalise::phone(value)),
            K::Email => push_new(&mut self.emails, normalise::email(value)),
            K::OnlineHandle => push_new(&mut self.handles, normalise::handle(value)),
        }
    }

    /// Adds a JSON answer: text, or (a repeatable question's rows, a list) every string in
    /// it (for handles, a row's `handle` field when it has one).
    pub fn add_answer(&mut self, kind: IdentifierKind, answer: &serde_json::Value) {
        use serde_json::Value;
        match answer {
            Value::String(text) => self.add(kind, text),
            Value::Array(items) => {
                for item in items {
                    self.add_answer(kind, item);
                }
            }
            Value::Object(fields) => {
                let preferred = ["handle", "name", "value"];
                if let Some(Value::String(text)) = preferred.iter().find_map(|k| fields.get(*k)) {
                    self.add(kind, text);
                }
            }
            _ => {}
        }
    }

    fn add_given(&mut self, words: Vec<String>) {
        for word in words {
            if !self.given.contains(&word) {
                self.given.push(word);
            }
        }
    }

    /// Nothing to compare on: no name, date of birth or contact detail.
    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
            && self.family.is_none()
            && self.date_of_birth.is_none()
            && self.phones.is_empty()
            && self.emails.is_empty()
            && self.handles.is_empty()
    }

    /// The first given name in its canonical form ("BILL" gives "WILLIAM").
    pub fn first_given_canonical(&self) -> Option<String> {
        self.given.first().map(|g| normalise::canonical_given(g))
    }

    /// Keys that two records of the same person are likely to share at least one of, each
    /// combining two fields (or the house number and the street) so that no block is large
    /// (a common surname alone would be).
    /// Plaintext: the storage layer stores only keyed HMACs of them.
    pub fn blocking_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let given_codes: Vec<String> = self
            .first_given_canonical()
            .map(|g| normalise::phonetic(&g))
            .unwrap_or_default();
        let family_codes: Vec<String> = self
            .family
            .as_deref()
            .map(normalise::phonetic)
            .unwrap_or_default();
        let date = self.date_of_birth.map(normalise::date_unordered);
        let district = self
            .postcode
            .as_deref()
            .and_then(normalise::postcode)
            .map(|p| p.district.unwrap_or(p.full));
        for g in &given_codes {
            for f in &family_codes {
                keys.push(format!("gf:{g}:{f}"));
                // The same names whichever is written first (given and family swapped).
                let (a, b) = if g <= f { (g, f) } else { (f, g) };
                keys.push(format!("nn:{a}:{b}"));
            }
        }
        if let Some(date) = &date {
            // The date alone (either order of day and month): a block of a few hundred
            // children a day in a large index, of which the most alike are kept.
            keys.push(format!("do:{date}"));
            for f in &family_codes {
                keys.push(format!("df:{date}:{f}"));
            }
            for g in &given_codes {
                keys.push(format!("dg:{date}:{g}"));
            }
            if let Some(d) = &district {
                keys.push(format!("dp:{date}:{d}"));
            }
        }
        if let (Some(pc), Some(dob)) = (&self.postcode, self.date_of_birth) {
            keys.push(format!("py:{pc}:{}", dob.year()));
        }
        if let (Some(pc), Some(number)) = (&self.postcode, self.house_number()) {
            keys.push(format!("pn:{pc}:{number}"));
        }
        // The house number and how the street's name sounds: the one key two records of
        // the same child share when both names are misspelt, the date of birth is missing
        // or wrong and the postcode mistyped (on FEBRL4 it finds 13 of the 32 true pairs no
        // other key found). A block is the children at that number of streets that sound
        // alike, a few hundred at most for "1 High Street" in a national index, of which
        // the most alike are kept, as for the date alone.
        if let (Some(number), Some(street)) = (self.house_number(), self.street_word()) {
            for code in normalise::phonetic(street) {
                keys.push(format!("ns:{number}:{code}"));
            }
        }
        if let Some(pc) = &self.postcode {
            for f in &family_codes {
                keys.push(format!("pf:{pc}:{f}"));
            }
            for g in &given_codes {
                keys.push(format!("pg:{pc}:{g}"));
            }
        }
        self.contact_keys(&mut keys);
        dedup(keys)
    }

    /// The first number written in the address (a house number), if any.
    pub fn house_number(&self) -> Option<&str> {
        self.address
            .as_deref()?
            .split(' ')
            .find(|w| w.bytes().all(|b| b.is_ascii_digit()))
    }

    /// The first word of the address after its house number that is not a number (the
    /// street's name), if any.
    pub fn street_word(&self) -> Option<&str> {
        let address = self.address.as_deref()?;
        let mut words = address.split(' ');
        words.find(|w| w.bytes().all(|b| b.is_ascii_digit()))?;
        words.find(|w| w.len() > 1 && w.bytes().all(|b| b.is_ascii_alphabetic()))
    }

    /// Keys of single fields, for the staff search: each given name's and the family name's
    /// phonetic codes, the date of birth, the postcode, contact details. Plaintext, as
    /// [`Identity::blocking_keys`].
    pub fn search_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for given in &self.given {
            for code in normalise::phonetic(&normalise::canonical_given(given)) {
                keys.push(format!("sn:{code}"));
            }
        }
        if let Some(family) = &self.family {
            for code in normalise::phonetic(family) {
                keys.push(format!("sn:{code}"));
            }
        }
        if let Some(date) = self.date_of_birth {
            keys.push(format!("sd:{}", normalise::date_unordered(date)));
        }
        if let Some(pc) = &self.postcode {
            keys.push(format!("sp:{pc}"));
        }
        self.contact_keys(&mut keys);
        dedup(keys)
    }

    fn contact_keys(&self, keys: &mut Vec<String>) {
        keys.extend(self.phones.iter().map(|p| format!("ph:{p}")));
        keys.extend(self.emails.iter().map(|e| format!("em:{e}")));
        keys.extend(self.handles.iter().map(|h| format!("oh:{h}")));
    }
}

/// What a staff member typed in the search box, read as an identity: a date, a postcode, an
/// email address, a phone number, a handle (`@…`), and otherwise name words (each may be a
/// given or a family name, so all go in `given`).
pub fn query_identity(query: &str) -> Identity {
    let mut identity = Identity::default();
    let mut name_words = Vec::new();
    let tokens: Vec<&str> = query.split_whitespace().collect();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        let pair = tokens.get(i + 1).map(|next| format!("{token}{next}"));
        if let Some(date) = normalise::parse_date(token) {
            identity.date_of_birth = Some(date);
        } else if token.contains('@') && !token.starts_with('@') {
            identity.add(IdentifierKind::Email, token);
        } else if let Some(handle) = token.strip_prefix('@') {
            identity.add(IdentifierKind::OnlineHandle, handle);
        } else if is_phoneish(token) {
            // A phone number is often written in groups ("07700 900123").
            let mut number = token.to_owned();
            while let Some(next) = tokens.get(i + 1).filter(|t| is_phoneish(t)) {
                number.push_str(next);
                i += 1;
            }
            identity.add(IdentifierKind::Phone, &number);
        } else if let Some(pc) = pair
            .as_deref()
            .and_then(normalise::postcode)
            .filter(|p| p.sector.is_some() && token.len() <= 4)
        {
            identity.postcode = Some(pc.full);
            i += 1;
        } else if let Some(pc) = normalise::postcode(token).filter(|p| p.sector.is_some()) {
            identity.postcode = Some(pc.full);
        } else {
            name_words.extend(normalise::name_words(token));
        }
        i += 1;
    }
    identity.given = name_words;
    identity
}

fn is_phoneish(token: &str) -> bool {
    token.chars().any(|c| c.is_ascii_digit())
        && token
            .chars()
            .all(|c| c.is_ascii_digit() || "+-()".contains(c))
}

fn push_new(list: &mut Vec<String>, value: Option<String>) {
    if let Some(value) = value
        && !list.contains(&value)
    {
        list.push(value);
    }
}

fn dedup(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, dob: &str, address: &str) -> Identity {
        let mut p = Identity::default();
        p.add(IdentifierKind::FullName, name);
        p.add(IdentifierKind::DateOfBirth, dob);
        p.add(IdentifierKind::Address, address);
        p
    }

    #[test]
    fn identity_from_answers() {
        let p = person(
            "Jayden O'Neil",
            "2011-03-07",
            "4 Park Road\nMiddlesbrough\nts5 6ab",
        );
        assert_eq!(p.given, ["JAYDEN"]);
        assert_eq!(p.family.as_deref(), Some("ONEIL"));
        assert_eq!(p.postcode.as_deref(), Some("TS56AB"));
        assert_eq!(p.address.as_deref(), Some("4 PARK ROAD MIDDLESBROUGH"));
        let mut handles = Identity::default();
        handles.add_answer(
            IdentifierKind::OnlineHandle,
            &serde_json::json!([{"platform": "Discord", "handle": "@JayD"}]),
        );
        assert_eq!(handles.handles, ["jayd"]);
    }

    #[test]
    fn misspelt_and_transposed_records_share_a_block() {
        let a = person("Jayden O'Neil", "2011-03-07", "4 Park Road TS5 6AB");
        let b = person("Jaiden ONeill", "2011-07-03", "");
        let shared: Vec<_> = a
            .blocking_keys()
            .into_iter()
            .filter(|k| b.blocking_keys().contains(k))
            .collect();
        assert!(!shared.is_empty());
    }

    #[test]
    fn same_street_and_number_share_a_block_when_all_else_differs() {
        // Both names misspelt, no date of birth on one, the postcode mistyped.
        let mut a = person("Kynan Dooley", "1931-09-24", "92 McIntyre Street Woollahra");
        a.add(IdentifierKind::Postcode, "6021");
        let mut b = person("Kynzn Doolqey", "", "92 Mcintyre Streett Woolahra");
        b.add(IdentifierKind::Postcode, "6012");
        assert_eq!(a.street_word(), Some("MCINTYRE"));
        let shared: Vec<_> = a
            .blocking_keys()
            .into_iter()
            .filter(|k| b.blocking_keys().contains(k))
            .collect();
        assert!(shared.iter().all(|k| k.starts_with("ns:92:")), "{shared:?}");
        assert!(!shared.is_empty());
        assert_eq!(person("Amy", "", "Flat 3").street_word(), None);
    }

    #[test]
    fn search_query_reads_each_part() {
        let q = query_identity("jaiden oneil 7/3/2011 TS5 6AB");
        assert_eq!(q.given, ["JAIDEN", "ONEIL"]);
        assert_eq!(q.date_of_birth, NaiveDate::from_ymd_opt(2011, 3, 7));
        assert_eq!(q.postcode.as_deref(), Some("TS56AB"));
        let q = query_identity("07700 900123 jo@example.org @jayd");
        assert_eq!(q.emails, ["jo@example.org"]);
        assert_eq!(q.handles, ["jayd"]);
        assert_eq!(q.phones, ["07700900123"]);
        assert!(q.given.is_empty());
    }
}
