//! Working days in the UK: weekends and bank holidays per division, and SLA due dates.
//!
//! Bank holidays come from GOV.UK's published list (`data/bank-holidays.json`, in the shape
//! of <https://www.gov.uk/bank-holidays.json>; Crown copyright, Open Government Licence
//! v3.0), embedded at build time. It covers **2018 to 2027** for England and Wales,
//! Scotland and Northern Ireland, substitute days and one-off holidays included (2020 VE
//! day move, 2022 Platinum Jubilee and State Funeral, 2023 Coronation). The file was
//! transcribed rather than downloaded (no network where it was written); the tests check
//! every year against the rules, allowing only the listed one-offs.
//!
//! Years outside the list are computed from the standing rules (`rules.rs`): right unless
//! Parliament adds or moves a holiday, so replace the file when GOV.UK publishes new years
//! (and add any new one-off to the tests). Years before 2018 use today's rules too, so
//! past one-offs such as the 2012 Diamond Jubilee are not known.
//!
//! Days are calendar dates in Europe/London: an SLA counts the working days after the date
//! on which something was received *in London*, whatever the UTC instant.

mod govuk;
mod rules;

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub use govuk::CalendarError;
use rules::{RuleYear, is_weekend, rule_holidays};

/// GOV.UK's bank-holiday list, 2018–2027, embedded so the core needs no I/O.
const BUILTIN_JSON: &str = include_str!("../../data/bank-holidays.json");

/// Years precomputed into sorted vectors so the hot path is one binary search; outside this
/// range holidays are computed from the rules on demand (slower, still allocation-free).
const PRECOMPUTED_YEARS: std::ops::RangeInclusive<i32> = 1950..=2200;

/// A UK bank-holiday division (GOV.UK's three lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Division {
    EnglandAndWales,
    Scotland,
    NorthernIreland,
}

impl Division {
    /// Every division, in GOV.UK's order.
    pub const ALL: [Division; 3] = [
        Division::EnglandAndWales,
        Division::Scotland,
        Division::NorthernIreland,
    ];

    /// The division named by GOV.UK's key: `england-and-wales`, `scotland`, `northern-ireland`.
    pub fn from_key(key: &str) -> Option<Division> {
        Division::ALL.into_iter().find(|d| d.key() == key)
    }

    /// GOV.UK's key for this division (also the `calendar` of a service's SLA).
    pub fn key(self) -> &'static str {
        match self {
            Division::EnglandAndWales => "england-and-wales",
            Division::Scotland => "scotland",
            Division::NorthernIreland => "northern-ireland",
        }
    }

    fn index(self) -> usize {
        match self {
            Division::EnglandAndWales => 0,
            Division::Scotland => 1,
            Division::NorthernIreland => 2,
        }
    }
}

/// One division's holidays.
#[derive(Debug)]
struct DivisionDays {
    division: Division,
    /// Every holiday in `PRECOMPUTED_YEARS` ∪ `published`, sorted by date, no duplicates.
    holidays: Vec<(NaiveDate, Cow<'static, str>)>,
    /// First and last year held in `holidays`.
    years: (i32, i32),
    /// Years taken from the published list (the rules are not used for these).
    published: Option<(i32, i32)>,
}

impl DivisionDays {
    fn build(division: Division, published: Vec<(NaiveDate, String)>) -> Self {
        let published_years = match (published.first(), published.last()) {
            (Some(first), Some(last)) => Some((first.0.year(), last.0.year())),
            _ => None,
        };
        let (first, last) = match published_years {
            Some((a, b)) => (
                a.min(*PRECOMPUTED_YEARS.start()),
                b.max(*PRECOMPUTED_YEARS.end()),
            ),
            None => (*PRECOMPUTED_YEARS.start(), *PRECOMPUTED_YEARS.end()),
        };
        let in_published = |y: i32| published_years.is_some_and(|(a, b)| (a..=b).contains(&y));
        let mut holidays: Vec<(NaiveDate, Cow<'static, str>)> = published
            .into_iter()
            .map(|(d, t)| (d, Cow::Owned(t)))
            .collect();
        for year in (first..=last).filter(|y| !in_published(*y)) {
            holidays.extend(
                rule_holidays(division, year)
                    .iter()
                    .map(|h| (h.date, Cow::Borrowed(h.title))),
            );
        }
        holidays.sort_by_key(|h| h.0);
        holidays.dedup_by_key(|h| h.0);
        DivisionDays {
            division,
            holidays,
            years: (first, last),
            published: published_years,
        }
    }

    fn held(&self, year: i32) -> bool {
        (self.years.0..=self.years.1).contains(&year)
    }
}

/// Remembers the rule-computed year last looked at, so walking day by day outside the
/// precomputed range computes each year once rather than once per day.
struct Cursor<'a> {
    days: &'a DivisionDays,
    cached: Option<(i32, RuleYear)>,
}

impl Cursor<'_> {
    fn is_holiday(&mut self, day: NaiveDate) -> bool {
        let year = day.year();
        if self.days.held(year) {
            return self
                .days
                .holidays
                .binary_search_by_key(&day, |h| h.0)
                .is_ok();
        }
        let division = self.days.division;
        let rules = match self.cached {
            Some((y, rules)) if y == year => rules,
            _ => {
                let rules = rule_holidays(division, year);
                self.cached = Some((year, rules));
                rules
            }
        };
        rules.iter().any(|h| h.date == day)
    }

    fn is_working_day(&mut self, day: NaiveDate) -> bool {
        !is_weekend(day) && !self.is_holiday(day)
    }
}

/// Bank holidays for the three UK divisions, built once; answers working-day questions.
#[derive(Debug)]
pub struct Calendar {
    divisions: [DivisionDays; 3],
}

static BUILTIN: LazyLock<Calendar> = LazyLock::new(|| {
    Calendar::from_govuk_json(BUILTIN_JSON).unwrap_or_else(|_| Calendar::from_rules())
});

impl Calendar {
    /// The calendar from the embedded GOV.UK list (extended by the rules), parsed once.
    /// Never panics: should the embedded list fail to parse (a bug a test catches), it falls
    /// back to the rules alone.
    pub fn builtin() -> &'static Calendar {
        &BUILTIN
    }

    /// A calendar from a list in GOV.UK's `bank-holidays.json` shape; years outside the
    /// list's range (per division) come from the rules.
    pub fn from_govuk_json(json: &str) -> Result<Calendar, CalendarError> {
        let [ew, sc, ni] = govuk::parse(json)?;
        Ok(Calendar {
            divisions: [
                DivisionDays::build(Division::EnglandAndWales, ew),
                DivisionDays::build(Division::Scotland, sc),
                DivisionDays::build(Division::NorthernIreland, ni),
            ],
        })
    }

    /// A calendar from the standing rules only (no one-off holidays).
    pub fn from_rules() -> Calendar {
        Calendar {
            divisions: Division::ALL.map(|d| DivisionDays::build(d, Vec::new())),
        }
    }

    fn days(&self, division: Division) -> &DivisionDays {
        &self.divisions[division.index()]
    }

    fn cursor(&self, division: Division) -> Cursor<'_> {
        Cursor {
            days: self.days(division),
            cached: None,
        }
    }

    /// The first and last year whose holidays come from the published list, if any.
    pub fn published_years(&self, division: Division) -> Option<(i32, i32)> {
        self.days(division).published
    }

    /// True unless `day` is a Saturday, Sunday or a bank holiday (substitute days included)
    /// in `division`.
    pub fn is_working_day(&self, division: Division, day: NaiveDate) -> bool {
        self.cursor(division).is_working_day(day)
    }

    /// The `days`-th working day after `from`; `from` itself never counts, and 0 gives
    /// `from` unchanged. Saturates at the last date chrono can represent.
    pub fn add_working_days(&self, division: Division, from: NaiveDate, days: u32) -> NaiveDate {
        let mut cursor = self.cursor(division);
        let mut day = from;
        let mut left = days;
        while left > 0 {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
            if cursor.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// How many working days lie in `(from, to]`: 0 when `to` is not after `from`. With
    /// `from` a due date and `to` today, this is "overdue by N working days".
    pub fn working_days_between(&self, division: Division, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut cursor = self.cursor(division);
        let mut count = 0u32;
        let mut day = from;
        while day < to {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
            if cursor.is_working_day(day) {
                count = count.saturating_add(1);
            }
        }
        count
    }

    /// The bank holidays of `division` in `year`, sorted by date, with GOV.UK's titles
    /// (a substitute day carries the title of the holiday it replaces).
    pub fn holidays(&self, division: Division, year: i32) -> Vec<(NaiveDate, String)> {
        let days = self.days(division);
        if days.held(year) {
            let start = days.holidays.partition_point(|h| h.0.year() < year);
            let end = days.holidays.partition_point(|h| h.0.year() <= year);
            return days.holidays[start..end]
                .iter()
                .map(|(d, t)| (*d, t.to_string()))
                .collect();
        }
        rule_holidays(division, year)
            .iter()
            .map(|h| (h.date, h.title.to_owned()))
            .collect()
    }
}

/// The calendar date in Europe/London at instant `at` (BST from the last Sunday of March to
/// the last Sunday of October, GMT otherwise).
pub fn london_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::Europe::London).date_naive()
}

/// When an SLA falls due for something received at `received_at`: the `working_days`-th
/// working day after the London date of receipt, in the SLA's bank-holiday calendar.
/// `None` if the SLA names an unknown calendar.
pub fn due_by(sla: &crate::definition::Sla, received_at: DateTime<Utc>) -> Option<NaiveDate> {
    let division = Division::from_key(&sla.calendar)?;
    Some(Calendar::builtin().add_working_days(division, london_date(received_at), sla.working_days))
}

#[cfg(test)]
mod tests;
