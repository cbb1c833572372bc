//! Dates as people write them in the UK → ISO `YYYY-MM-DD`.
//!
//! Day first always (12/05/2012 is 12 May): `12/05/2012`, `12-05-2012`, `12.05.12`,
//! `12 May 2012`, `12th May 2012`, `12 May, 2012`, `May 12th 2012`, `Tuesday 12 May 2012`,
//! `2012-05-12`. Two-digit years are taken as the most recent such year not after `today`'s
//! century pivot: `yy` ≤ today's `yy` → 20yy, otherwise 19yy.

use chrono::{Datelike, NaiveDate};

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_of(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    let w = w.trim_end_matches('.');
    if w.len() < 3 {
        return None;
    }
    let i = MONTHS.iter().position(|m| w.starts_with(m))?;
    // "sept" and full names are fine; "mayday" is not a month.
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    (full[i].starts_with(w) || w == "sept").then_some(i as u32 + 1)
}

fn year_of(text: &str, today: NaiveDate) -> Option<i32> {
    if !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match text.len() {
        4 => text.parse().ok(),
        2 => {
            let yy: i32 = text.parse().ok()?;
            let now = today.year();
            let century = now - now.rem_euclid(100);
            Some(if yy <= now.rem_euclid(100) {
                century + yy
            } else {
                century - 100 + yy
            })
        }
        _ => None,
    }
}

fn day_of(text: &str) -> Option<u32> {
    let t = text.to_ascii_lowercase();
    let t = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| t.strip_suffix(s))
        .unwrap_or(&t)
        .to_string();
    if t.is_empty() || t.len() > 2 || !t.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// The date in `text`, or `None` if it is not one (or not a real day).
pub fn parse_uk_date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    let text = text.trim();
    if text.is_empty() || text.len() > 60 {
        return None;
    }
    // Numeric: d/m/y, d-m-y, d.m.y, y-m-d.
    let numeric: Vec<&str> = text.split(['/', '-', '.']).map(str::trim).collect();
    if numeric.len() == 3
        && numeric
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        let (a, b, c) = (numeric[0], numeric[1], numeric[2]);
        if a.len() == 4 {
            return NaiveDate::from_ymd_opt(a.parse().ok()?, b.parse().ok()?, c.parse().ok()?);
        }
        if a.len() > 2 || b.len() > 2 {
            return None;
        }
        return NaiveDate::from_ymd_opt(year_of(c, today)?, b.parse().ok()?, a.parse().ok()?);
    }
    // Words: "12th May 2012", "Tuesday, 12 May 2012", "May 12th, 2012", "12-May-2012".
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '/' || c == '-')
        .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("of"))
        .collect();
    let month_at = words.iter().position(|w| month_of(w).is_some())?;
    let month = month_of(words[month_at])?;
    let rest: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(i, w)| *i != month_at && (day_of(w).is_some() || year_of(w, today).is_some()))
        .map(|(_, w)| *w)
        .collect();
    // Everything else must be a weekday name or nothing.
    let others = words
        .iter()
        .enumerate()
        .filter(|(i, w)| *i != month_at && !rest.contains(w) && !is_weekday(w));
    if others.count() > 0 {
        return None;
    }
    let (day, year) = match rest.as_slice() {
        [d, y] if day_of(d).is_some() && y.len() == 4 => (day_of(d)?, year_of(y, today)?),
        [d, y] if day_of(d).is_some() => (day_of(d)?, year_of(y, today)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

fn is_weekday(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .any(|d| {
            w.starts_with(d)
                && w.len() <= 9
                && w.chars().all(|c| c.is_ascii_alphabetic() || c == '.')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).expect("date")
    }

    #[test]
    fn every_common_uk_style() {
        let want = NaiveDate::from_ymd_opt(2012, 5, 12);
        for text in [
            "12/05/2012",
            "12/5/2012",
            "12-05-2012",
            "12.05.2012",
            "12.05.12",
            "12/05/12",
            "12 May 2012",
            "12th May 2012",
            "12th of May 2012",
            "12 May, 2012",
            "May 12th, 2012",
            "Saturday 12 May 2012",
            "12-May-2012",
            "12 MAY 2012",
            "2012-05-12",
            " 12 may 2012 ",
        ] {
            assert_eq!(parse_uk_date(text, today()), want, "{text}");
        }
        assert_eq!(
            parse_uk_date("01/02/98", today()),
            NaiveDate::from_ymd_opt(1998, 2, 1)
        );
        assert_eq!(
            parse_uk_date("3rd Sept 2010", today()),
            NaiveDate::from_ymd_opt(2010, 9, 3)
        );
    }

    /// The styles outside forms were seen to use, for 3 March 2012.
    #[test]
    fn styles_from_forms_filled_outside() {
        let want = NaiveDate::from_ymd_opt(2012, 3, 3);
        for text in [
            "3rd March 2012",
            "03.03.12",
            "3/3/2012",
            "March 3 2012",
            "March 3rd, 2012",
            "3 Mar 2012",
            "03-Mar-12",
            "3rd of March 2012",
            "Saturday, 3rd March 2012",
            "3.3.2012",
        ] {
            assert_eq!(parse_uk_date(text, today()), want, "{text}");
        }
    }

    #[test]
    fn not_dates() {
        for text in [
            "",
            "31/02/2012",
            "13/13/2012",
            "unknown",
            "May",
            "12 Mayday 2012",
            "2012",
            "1/2/3/4",
            "12 May 2012 or so",
        ] {
            assert_eq!(parse_uk_date(text, today()), None, "{text}");
        }
    }
}
