//! The standing rules for UK bank holidays, used for years the published list does not cover.
//!
//! Hand-written because no maintained crate models the three UK divisions with substitute
//! days; the rules are short and are cross-checked against GOV.UK's list by tests.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::Division;

/// At most 11 holidays a year (Northern Ireland has 10; Scotland 9); one spare slot.
const MAX_PER_YEAR: usize = 12;

/// One bank holiday computed by rule. Titles are `'static` so the computation never
/// allocates: lookups outside the precomputed range call this once per date checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RuleHoliday {
    pub date: NaiveDate,
    pub title: &'static str,
    /// True when the holiday fell on a weekend and this is the weekday that replaces it.
    pub substitute: bool,
}

/// A year's holidays by rule, on the stack, sorted by date.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleYear {
    items: [Option<RuleHoliday>; MAX_PER_YEAR],
    len: usize,
}

impl RuleYear {
    fn new() -> Self {
        RuleYear {
            items: [None; MAX_PER_YEAR],
            len: 0,
        }
    }

    fn push(&mut self, h: RuleHoliday) {
        // Capacity is fixed by the rules above; a silent drop would be a bug caught by tests.
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(h);
            self.len += 1;
        }
    }

    fn contains(&self, date: NaiveDate) -> bool {
        self.iter().any(|h| h.date == date)
    }

    /// The holidays, sorted by date.
    pub fn iter(&self) -> impl Iterator<Item = RuleHoliday> + '_ {
        self.items.iter().take(self.len).flatten().copied()
    }

    fn sort(&mut self) {
        self.items[..self.len].sort_by_key(|h| h.map(|h| h.date));
    }
}

/// Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
/// Meaningful for Gregorian years (1583 on); `None` where chrono cannot represent the date
/// or, for years before 1, where the arithmetic yields no valid date (never panics).
pub(crate) fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let y = i64::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// First Monday of a month.
fn first_monday(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 1)
}

/// Last Monday of a month.
fn last_monday(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 5)
        .or_else(|| NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 4))
}

pub(crate) fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Bank holidays of `division` in `year` by the standing rules, ignoring one-off changes
/// (royal events, moved holidays). A fixed-date holiday on a weekend moves to the next
/// weekday that is not already a holiday, in date order (so in Scotland 1 Jan Sat and
/// 2 Jan Sun become Mon 3 and Tue 4; Christmas on a Sunday moves past Boxing Day Monday).
pub(crate) fn rule_holidays(division: Division, year: i32) -> RuleYear {
    let mut out = RuleYear::new();
    let scotland = division == Division::Scotland;
    let ni = division == Division::NorthernIreland;

    // Holidays defined as a weekday never need substituting.
    if let Some(easter) = easter_sunday(year) {
        if let Some(d) = easter.checked_sub_days(Days::new(2)) {
            out.push(RuleHoliday {
                date: d,
                title: "Good Friday",
                substitute: false,
            });
        }
        if !scotland && let Some(d) = easter.checked_add_days(Days::new(1)) {
            out.push(RuleHoliday {
                date: d,
                title: "Easter Monday",
                substitute: false,
            });
        }
    }
    let movable = [
        (first_monday(year, 5), "Early May bank holiday"),
        (last_monday(year, 5), "Spring bank holiday"),
        (
            if scotland {
                first_monday(year, 8)
            } else {
                last_monday(year, 8)
            },
            "Summer bank holiday",
        ),
    ];
    for (date, title) in movable {
        if let Some(date) = date {
            out.push(RuleHoliday {
                date,
                title,
                substitute: false,
            });
        }
    }

    let fixed: [(bool, u32, u32, &'static str); 7] = [
        (true, 1, 1, "New Year\u{2019}s Day"),
        (scotland, 1, 2, "2nd January"),
        (ni, 3, 17, "St Patrick\u{2019}s Day"),
        (ni, 7, 12, "Battle of the Boyne (Orangemen\u{2019}s Day)"),
        (scotland, 11, 30, "St Andrew\u{2019}s Day"),
        (true, 12, 25, "Christmas Day"),
        (true, 12, 26, "Boxing Day"),
    ];
    let fixed = fixed
        .into_iter()
        .filter(|(applies, ..)| *applies)
        .filter_map(|(_, m, d, title)| Some((NaiveDate::from_ymd_opt(year, m, d)?, title)));
    // Weekday fixed holidays first, so a substitute never lands on one (Christmas on a
    // Sunday moves to Tuesday because Boxing Day has Monday).
    for (date, title) in fixed.clone().filter(|(d, _)| !is_weekend(*d)) {
        out.push(RuleHoliday {
            date,
            title,
            substitute: false,
        });
    }
    for (date, title) in fixed.filter(|(d, _)| is_weekend(*d)) {
        let mut sub = date;
        while is_weekend(sub) || out.contains(sub) {
            match sub.succ_opt() {
                Some(next) => sub = next,
                None => break,
            }
        }
        out.push(RuleHoliday {
            date: sub,
            title,
            substitute: true,
        });
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_known_dates() {
        // Published Easter Sundays.
        for (y, m, day) in [
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2018, 4, 1),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(y), Some(d(y, m, day)), "{y}");
        }
    }

    #[test]
    fn scotland_double_new_year_substitutes() {
        let y: Vec<_> = rule_holidays(Division::Scotland, 2022)
            .iter()
            .map(|h| h.date)
            .collect();
        assert!(y.contains(&d(2022, 1, 3)) && y.contains(&d(2022, 1, 4)));
        let y: Vec<_> = rule_holidays(Division::Scotland, 2023)
            .iter()
            .map(|h| h.date)
            .collect();
        assert!(y.contains(&d(2023, 1, 2)) && y.contains(&d(2023, 1, 3)));
    }

    #[test]
    fn christmas_on_sunday_moves_past_boxing_day() {
        let y: Vec<_> = rule_holidays(Division::EnglandAndWales, 2022)
            .iter()
            .map(|h| (h.date, h.substitute))
            .collect();
        assert!(y.contains(&(d(2022, 12, 26), false)));
        assert!(y.contains(&(d(2022, 12, 27), true)));
    }

    #[test]
    fn counts_per_division_and_all_weekdays() {
        for year in 1950..2400 {
            for (div, n) in [
                (Division::EnglandAndWales, 8),
                (Division::Scotland, 9),
                (Division::NorthernIreland, 10),
            ] {
                let hs: Vec<_> = rule_holidays(div, year).iter().collect();
                assert_eq!(hs.len(), n, "{div:?} {year}");
                assert!(
                    hs.iter()
                        .all(|h| !is_weekend(h.date) && h.date.year() == year)
                );
                assert!(
                    hs.windows(2).all(|w| w[0].date < w[1].date),
                    "{div:?} {year} distinct, sorted"
                );
            }
        }
    }
}
