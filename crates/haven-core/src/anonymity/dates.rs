//! Dates of birth. A full date is a date of birth when the text says so ("born", "DOB",
//! "birthday", "date of birth" shortly before it) or when its year is one in which the young
//! people this service sees were born; a recent full date is an incident date ("we met on
//! 12/11/2024") and identifies nobody. A day and month without a year, or a year alone,
//! count only with the words.

use std::sync::LazyLock;

use regex::Regex;

use super::contact::{compile, preceding};
use super::{FindingKind, Hit};

/// Earliest and latest birth years of the people an enquiry is about (aged about 8 to 30
/// in the years this release will be in use). A full date with such a year is treated as a
/// date of birth even without the word "born".
const BIRTH_YEARS: std::ops::RangeInclusive<u32> = 1995..=2018;

const MONTHS: &str = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";

static NUMERIC: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4}|\d{2})\b"));
static ISO: LazyLock<Regex> = LazyLock::new(|| compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"));
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?:{MONTHS})\b\.?(?:,?\s+(\d{{4}})\b)?"
    ))
});
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)\b(?:{MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?"
    ))
});
/// "born in 2010", "DOB: 2010", "born March 2011".
static BORN_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)\b(?:born|birth|dob|d\.o\.b\.?)\b[\s:,\-]*(?:in\s+|on\s+|during\s+)?(?:(?:{MONTHS})\s+)?((?:19|20)\d{{2}})\b"
    ))
});
static BIRTH_WORDS: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b(?:born|birth|birthday|bday|b'day|dob|d\.o\.b)\b"));

/// Dates of birth in `text`.
pub(crate) fn find(text: &str, out: &mut Vec<Hit>) {
    for caps in NUMERIC.captures_iter(text) {
        let (Some(all), Some(d), Some(m), Some(y)) =
            (caps.get(0), caps.get(1), caps.get(2), caps.get(3))
        else {
            continue;
        };
        // The separator must be the same twice: 3.5.2012 yes, version 1.2-34 no.
        let seps: Vec<char> = all
            .as_str()
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect();
        if seps.len() == 2 && seps[0] == seps[1] && valid_day_month(d.as_str(), m.as_str()) {
            push_if_birth(text, all.start(), all.end(), Some(y.as_str()), out);
        }
    }
    for caps in ISO.captures_iter(text) {
        let (Some(all), Some(y), Some(m), Some(d)) =
            (caps.get(0), caps.get(1), caps.get(2), caps.get(3))
        else {
            continue;
        };
        if valid_day_month(d.as_str(), m.as_str()) {
            push_if_birth(text, all.start(), all.end(), Some(y.as_str()), out);
        }
    }
    for re in [&*DAY_MONTH, &*MONTH_DAY] {
        for caps in re.captures_iter(text) {
            let (Some(all), Some(day)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            if day
                .as_str()
                .parse::<u32>()
                .is_ok_and(|d| (1..=31).contains(&d))
            {
                push_if_birth(
                    text,
                    all.start(),
                    all.end(),
                    caps.get(2).map(|y| y.as_str()),
                    out,
                );
            }
        }
    }
    for caps in BORN_YEAR.captures_iter(text) {
        // "DOB 2010-07-22" is a full date, found above; here only a year standing alone.
        let Some(year) = caps.get(1) else { continue };
        let mut after = text[year.end()..].chars();
        let part_of_date = matches!(after.next(), Some('-' | '/' | '.'))
            && after.next().is_some_and(|c| c.is_ascii_digit());
        if !part_of_date {
            out.push(Hit {
                kind: FindingKind::DateOfBirth,
                start: year.start(),
                end: year.end(),
            });
        }
    }
}

fn valid_day_month(day: &str, month: &str) -> bool {
    day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
        && month.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
}

/// Records the date at `start..end` if the words before it speak of birth, or its
/// (four-digit) year is a plausible birth year.
fn push_if_birth(text: &str, start: usize, end: usize, year: Option<&str>, out: &mut Vec<Hit>) {
    let said = BIRTH_WORDS.is_match(preceding(text, start, 40));
    let birth_year = year
        .filter(|y| y.len() == 4)
        .and_then(|y| y.parse::<u32>().ok())
        .is_some_and(|y| BIRTH_YEARS.contains(&y));
    if said || birth_year {
        out.push(Hit {
            kind: FindingKind::DateOfBirth,
            start,
            end,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter().map(|f| &text[f.start..f.end]).collect()
    }

    #[test]
    fn numeric_and_written_dates_of_birth() {
        assert_eq!(found("born 12/03/2011, Year 9"), ["12/03/2011"]);
        assert_eq!(found("DOB 04-11-2009."), ["04-11-2009"]);
        assert_eq!(found("Date of birth: 2010-07-22."), ["2010-07-22"]);
        assert_eq!(found("born on 12th March 2011 and"), ["12th March 2011"]);
        assert_eq!(found("(birthday March 12, 2011)"), ["March 12, 2011"]);
        assert_eq!(found("d.o.b. 3.5.2012 - parents"), ["3.5.2012"]);
        assert_eq!(found("Born in 2010, he is"), ["2010"]);
        assert_eq!(
            found("His birthday is on the 21st of June so"),
            ["21st of June"]
        );
        assert_eq!(found("He is 14 (2/9/2011)."), ["2/9/2011"]);
    }

    #[test]
    fn incident_dates_ages_and_years_are_not_dates_of_birth() {
        for text in [
            "We met on 12/11/2024 after the attack.",
            "On Tuesday 14 January the Wi-Fi went down.",
            "strategy meeting held on 03/02/2025",
            "He is 16, born and raised in Brighton.",
            "aged 14, in Year 10 since September 2024",
            "In 2021 he started using Discord.",
            "version 1.2.3 of the tool",
        ] {
            assert_eq!(found(text), Vec::<&str>::new(), "{text}");
        }
    }
}
