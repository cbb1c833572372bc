//! Contact details and reference numbers found by their shape: email addresses, UK phone
//! numbers, UK postcodes, and other identifiers (NHS and National Insurance numbers, vehicle
//! registrations, public IP addresses).

use std::sync::LazyLock;

use regex::Regex;

use super::{FindingKind, Hit};

/// Compiles one of this module's fixed patterns. They are constants tested below, so a
/// failure is a programming error caught by the test suite; at run time we degrade to a
/// pattern that never matches rather than panic.
pub(crate) fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|_| never())
}

/// A regex that matches nothing.
fn never() -> Regex {
    // `[^\s\S]` is a valid empty class; if even this failed the regex crate is broken and
    // there is nothing better to return than another attempt at the same.
    Regex::new(r"[^\s\S]").unwrap_or_else(|_| never())
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)[a-z0-9](?:[a-z0-9._%+'\-]*[a-z0-9_])?@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)+",
    )
});

/// "name at gmail dot com", "name [at] gmail [dot] co [dot] uk".
static EMAIL_SPELLED: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)\b[a-z0-9][a-z0-9._\-]*(?:\s*[(\[]at[)\]]\s*|\s+at\s+)[a-z0-9\-]+(?:(?:\s*[(\[]dot[)\]]\s*|\s+dot\s+)[a-z]{2,})+\b",
    )
});

/// UK numbers written nationally: 07700 900123, (020) 7946 0018, 0161-496-0000. Only
/// geographic (01, 02) and mobile (07) ranges: 03/08/09 numbers belong to organisations
/// (Childline, Action Fraud) and identify nobody.
static PHONE_NATIONAL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\(?0[127]\d{1,4}\)?[ \-]?\d{3,4}[ \-]?\d{3,4}"));

/// UK numbers written internationally: +44 7700 900123, +44 (0)7700 900 123, 0044 ….
static PHONE_INTERNATIONAL: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?:\+ ?44|\b0044) ?(?:\(0\) ?)?[127]\d{1,4}[ \-]?\d{3,4}[ \-]?\d{3,4}")
});

/// UK postcodes, any case, with or without the space. The area is checked against the
/// real list below, which keeps "PS4 1TB" and the like out.
static POSTCODE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b([a-z]{1,2})(\d[a-z\d]?) ?(\d[abd-hjlnp-uw-z]{2})\b"));

const POSTCODE_AREAS: [&str; 124] = [
    "AB", "AL", "B", "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "BT", "CA", "CB", "CF", "CH",
    "CM", "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT", "DY", "E",
    "EC", "EH", "EN", "EX", "FK", "FY", "G", "GL", "GU", "GY", "HA", "HD", "HG", "HP", "HR", "HS",
    "HU", "HX", "IG", "IM", "IP", "IV", "JE", "KA", "KT", "KW", "KY", "L", "LA", "LD", "LE", "LL",
    "LN", "LS", "LU", "M", "ME", "MK", "ML", "N", "NE", "NG", "NN", "NP", "NR", "NW", "OL", "OX",
    "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH", "RM", "S", "SA", "SE", "SG", "SK", "SL", "SM",
    "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TD", "TF", "TN", "TQ", "TR", "TS", "TW",
    "UB", "W", "WA", "WC", "WD", "WF", "WN", "WR", "WS", "WV", "YO", "ZE",
];

/// NHS numbers: ten digits, usually 3-3-4, with a mod-11 check digit.
static NHS: LazyLock<Regex> = LazyLock::new(|| compile(r"\b(\d{3})[ \-]?(\d{3})[ \-]?(\d{4})\b"));

/// National Insurance numbers: QQ 12 34 56 C.
static NINO: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"));

/// Current-style vehicle registrations: AB12 CDE.
static VEHICLE: LazyLock<Regex> = LazyLock::new(|| compile(r"\b[A-Z]{2}\d{2} ?[A-Z]{3}\b"));

static IPV4: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b"));

/// Candidates for IPv6 addresses: runs of hex digits and colons with at least two colons.
/// `std::net::Ipv6Addr` decides which are addresses.
static IPV6: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)(?:^|[^0-9a-z:])([0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})"));

/// An outward code on its own ("NE12", "LS6", "SA1"): a district of a few thousand homes.
static OUTWARD: LazyLock<Regex> = LazyLock::new(|| compile(r"\b([A-Z]{1,2})(\d[A-Z\d]?)\b"));

/// Words before an outward code that make it a place: "live in NE12", "from the NE6 area".
static OUTWARD_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:in|near|from|around|to|at|postcode(?:\s+is)?|district(?:\s+of)?)\s*[:,]?\s*$",
    )
});

/// Words after an outward code that make it a place: "the LS6 area".
static OUTWARD_AFTER: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)^\s+(?:area|postcode|district|postal)\b"));

/// All contact details and identifiers in `text`.
pub(crate) fn find(text: &str, out: &mut Vec<Hit>) {
    for m in EMAIL.find_iter(text).chain(EMAIL_SPELLED.find_iter(text)) {
        out.push(Hit {
            kind: FindingKind::Email,
            start: m.start(),
            end: m.end(),
        });
    }
    find_phones(text, out);
    for caps in POSTCODE.captures_iter(text) {
        let (Some(all), Some(area)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        if POSTCODE_AREAS.contains(&area.as_str().to_ascii_uppercase().as_str()) {
            out.push(Hit {
                kind: FindingKind::Postcode,
                start: all.start(),
                end: all.end(),
            });
        }
    }
    find_outward_codes(text, out);
    find_other(text, out);
}

/// Outward codes on their own, next to words that make them a place. Full postcodes are
/// found above; motorways ("the M4") and Scottish school years ("in S4") are not places.
fn find_outward_codes(text: &str, out: &mut Vec<Hit>) {
    for caps in OUTWARD.captures_iter(text) {
        let (Some(all), Some(area), Some(district)) = (caps.get(0), caps.get(1), caps.get(2))
        else {
            continue;
        };
        if !POSTCODE_AREAS.contains(&area.as_str()) {
            continue;
        }
        let after = &text[all.end()..];
        // Part of a full postcode, found as such.
        let mut stop = text.len().min(all.end() + 4);
        while !text.is_char_boundary(stop) {
            stop -= 1;
        }
        if POSTCODE.is_match(&text[all.start()..stop]) {
            continue;
        }
        let scottish_year = area.as_str() == "S" && district.as_str().len() == 1;
        let named = OUTWARD_AFTER.is_match(after);
        let placed = OUTWARD_BEFORE.is_match(preceding(text, all.start(), 30));
        if (named || placed) && !scottish_year && !after.trim_start().starts_with("motorway") {
            out.push(Hit {
                kind: FindingKind::Postcode,
                start: all.start(),
                end: all.end(),
            });
        }
    }
}

fn find_phones(text: &str, out: &mut Vec<Hit>) {
    for (re, international) in [(&*PHONE_INTERNATIONAL, true), (&*PHONE_NATIONAL, false)] {
        for m in re.find_iter(text) {
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            // Part of a longer number or word: not a phone number.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '+')
                || after.is_some_and(|c| c.is_ascii_digit())
            {
                continue;
            }
            let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
            let ok = if international {
                let rest = digits
                    .strip_prefix("0044")
                    .or_else(|| digits.strip_prefix("44"))
                    .unwrap_or("");
                let rest = if m.as_str().contains("(0)") {
                    rest.strip_prefix('0').unwrap_or(rest)
                } else {
                    rest
                };
                rest.len() == 10
            } else {
                digits.len() == 11 || (digits.len() == 10 && digits.starts_with("01"))
            };
            if ok {
                out.push(Hit {
                    kind: FindingKind::Phone,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
    }
}

fn find_other(text: &str, out: &mut Vec<Hit>) {
    find_ipv6(text, out);
    for caps in NHS.captures_iter(text) {
        let Some(all) = caps.get(0) else { continue };
        let digits: Vec<u32> = all
            .as_str()
            .chars()
            .filter_map(|c| c.to_digit(10))
            .collect();
        let context = preceding(text, all.start(), 40).to_ascii_lowercase();
        // Without "NHS" nearby, only the 3-3-4 spaced form counts, and the check digit
        // must hold either way, so ordinary ten-digit numbers pass.
        let spaced = all.as_str().contains(' ');
        if nhs_check_digit_ok(&digits) && (context.contains("nhs") || spaced) {
            out.push(Hit {
                kind: FindingKind::Other,
                start: all.start(),
                end: all.end(),
            });
        }
    }
    for m in NINO.find_iter(text).chain(VEHICLE.find_iter(text)) {
        out.push(Hit {
            kind: FindingKind::Other,
            start: m.start(),
            end: m.end(),
        });
    }
    for caps in IPV4.captures_iter(text) {
        let Some(all) = caps.get(0) else { continue };
        let octets: Vec<u32> = (1..=4)
            .filter_map(|i| caps.get(i)?.as_str().parse().ok())
            .collect();
        if octets.len() == 4 && octets.iter().all(|&o| o <= 255) && is_public(&octets) {
            out.push(Hit {
                kind: FindingKind::Other,
                start: all.start(),
                end: all.end(),
            });
        }
    }
}

/// IPv6 addresses that belong to one connection: not loopback, link-local, unique-local,
/// multicast or the documentation range, which are the same everywhere or reach no one.
fn find_ipv6(text: &str, out: &mut Vec<Hit>) {
    // Every address has at least two colons; most texts have none.
    if text.matches(':').nth(1).is_none() {
        return;
    }
    for caps in IPV6.captures_iter(text) {
        let Some(m) = caps.get(1) else { continue };
        let Ok(addr) = m.as_str().parse::<std::net::Ipv6Addr>() else {
            continue;
        };
        let s = addr.segments();
        let local = addr.is_loopback()
            || addr.is_unspecified()
            || addr.is_multicast()
            || (s[0] & 0xffc0) == 0xfe80
            || (s[0] & 0xfe00) == 0xfc00
            || (s[0] == 0x2001 && s[1] == 0x0db8);
        if !local {
            out.push(Hit {
                kind: FindingKind::Other,
                start: m.start(),
                end: m.end(),
            });
        }
    }
}

/// Up to `max` bytes of `text` before `at`, cut on a character boundary.
pub(crate) fn preceding(text: &str, at: usize, max: usize) -> &str {
    let mut from = at.saturating_sub(max);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..at]
}

fn nhs_check_digit_ok(digits: &[u32]) -> bool {
    if digits.len() != 10 {
        return false;
    }
    let sum: u32 = digits[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| d * w)
        .sum();
    let check = (11 - sum % 11) % 11;
    check != 10 && check == digits[9]
}

/// Private, loopback and link-local addresses are the same in every home: not identifying.
fn is_public(o: &[u32]) -> bool {
    !(o[0] == 0
        || o[0] == 10
        || o[0] == 127
        || o[0] >= 224
        || (o[0] == 169 && o[1] == 254)
        || (o[0] == 172 && (16..=31).contains(&o[1]))
        || (o[0] == 192 && o[1] == 168))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(FindingKind, &str)> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter()
            .map(|f| (f.kind, &text[f.start..f.end]))
            .collect()
    }

    #[test]
    fn patterns_compile() {
        for re in [
            &*EMAIL,
            &*EMAIL_SPELLED,
            &*PHONE_NATIONAL,
            &*PHONE_INTERNATIONAL,
            &*POSTCODE,
            &*NHS,
            &*NINO,
            &*VEHICLE,
            &*IPV4,
        ] {
            assert_ne!(re.as_str(), never().as_str());
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            kinds("mail SKhan.home@btinternet.com, thanks"),
            [(FindingKind::Email, "SKhan.home@btinternet.com")]
        );
        assert_eq!(
            kinds("jake99 at gmail dot com"),
            [(FindingKind::Email, "jake99 at gmail dot com")]
        );
        assert_eq!(kinds("he was at home dot"), []);
    }

    #[test]
    fn uk_phone_numbers_in_common_formats() {
        for n in [
            "07700 900123",
            "07700900123",
            "+44 7700 900123",
            "+44 (0)7700 900 123",
            "+447700900123",
            "020 7946 0018",
            "(020) 7946 0018",
            "0161-496-0000",
            "01632 960001",
            "0113 496 0555",
        ] {
            let text = format!("call {n} today");
            assert_eq!(kinds(&text), [(FindingKind::Phone, n)], "{n}");
        }
    }

    #[test]
    fn service_numbers_dates_and_long_numbers_are_not_phones() {
        for text in [
            "Childline 0800 1111",
            "NSPCC 0808 800 5000",
            "Action Fraud 0300 123 2040",
            "on 12/03/2011",
            "ref 077009001234567",
        ] {
            assert!(
                kinds(text).iter().all(|(k, _)| *k != FindingKind::Phone),
                "{text}"
            );
        }
    }

    #[test]
    fn postcodes() {
        for p in [
            "SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "sw1a1aa", "b338th",
        ] {
            let text = format!("lives at {p}.");
            assert_eq!(kinds(&text), [(FindingKind::Postcode, p)], "{p}");
        }
        assert_eq!(kinds("a PS4 1TB console"), []);
    }

    #[test]
    fn other_identifiers() {
        assert_eq!(
            kinds("NHS number 943 476 5919"),
            [(FindingKind::Other, "943 476 5919")]
        );
        assert_eq!(kinds("NHS number 943 476 5918"), []);
        assert_eq!(
            kinds("NI QQ 12 34 56 C"),
            [(FindingKind::Other, "QQ 12 34 56 C")]
        );
        assert_eq!(kinds("car AB12 CDE"), [(FindingKind::Other, "AB12 CDE")]);
        assert_eq!(
            kinds("from 81.2.69.160"),
            [(FindingKind::Other, "81.2.69.160")]
        );
        assert_eq!(kinds("router 192.168.1.1"), []);
    }
}
