//! Due dates as a referrer or caseworker sees them: "we'll contact you within 5 working days".

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use haven_core::calendar::{Calendar, Division, due_by, london_date};
use haven_core::definition::Sla;
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn sla(working_days: u32, calendar: &str) -> Sla {
    Sla {
        key: "first_contact".into(),
        label: "First contact".into(),
        working_days,
        calendar: calendar.into(),
        starts_on: None,
        met_by: vec![],
    }
}

fn five(received: &str) -> NaiveDate {
    due_by(&sla(5, "england-and-wales"), at(received)).unwrap()
}

const EW: Division = Division::EnglandAndWales;
const SC: Division = Division::Scotland;

#[test]
fn friday_receipt_is_due_the_next_friday() {
    assert_eq!(five("2026-11-20T10:00:00Z"), d(2026, 11, 27));
}

#[test]
fn weekend_receipt_counts_from_monday() {
    assert_eq!(five("2026-11-21T09:00:00Z"), d(2026, 11, 27), "Saturday");
    assert_eq!(five("2026-11-22T18:00:00Z"), d(2026, 11, 27), "Sunday");
    assert_eq!(
        five("2026-11-23T08:00:00Z"),
        d(2026, 11, 30),
        "Monday: receipt day not counted"
    );
}

#[test]
fn receipt_day_is_the_london_date() {
    // Summer (BST, UTC+1): 23:30 UTC on Monday 1 June is 00:30 on Tuesday 2 June in London.
    assert_eq!(london_date(at("2026-06-01T23:30:00Z")), d(2026, 6, 2));
    assert_eq!(five("2026-06-01T23:30:00Z"), d(2026, 6, 9));
    assert_eq!(
        five("2026-06-01T22:59:59Z"),
        d(2026, 6, 8),
        "still Monday in London"
    );
    // Winter (GMT): the UTC date is the London date.
    assert_eq!(london_date(at("2026-01-15T23:30:00Z")), d(2026, 1, 15));
    // Clocks go forward at 01:00 UTC on Sunday 29 March 2026.
    assert_eq!(
        london_date(at("2026-03-28T23:30:00Z")),
        d(2026, 3, 28),
        "Saturday, GMT"
    );
    assert_eq!(
        london_date(at("2026-03-29T23:30:00Z")),
        d(2026, 3, 30),
        "Monday, BST"
    );
    // Saturday 28 March: Mon 30, Tue 31, Wed 1, Thu 2, (Good Friday 3, Easter Monday 6), Tue 7.
    assert_eq!(five("2026-03-28T23:30:00Z"), d(2026, 4, 7));
    // Monday 30 March: Tue 31, Wed 1, Thu 2, Tue 7, Wed 8.
    assert_eq!(five("2026-03-29T23:30:00Z"), d(2026, 4, 8));
    // Clocks go back at 01:00 UTC on Sunday 25 October 2026.
    assert_eq!(
        london_date(at("2026-10-24T23:30:00Z")),
        d(2026, 10, 25),
        "00:30 BST Sunday"
    );
    assert_eq!(
        london_date(at("2026-10-25T23:30:00Z")),
        d(2026, 10, 25),
        "23:30 GMT Sunday"
    );
}

#[test]
fn christmas_2026_skips_boxing_day_substitute() {
    let cal = Calendar::builtin();
    assert!(
        !cal.is_working_day(EW, d(2026, 12, 25)),
        "Christmas, Friday"
    );
    assert!(
        !cal.is_working_day(EW, d(2026, 12, 28)),
        "Boxing Day substitute, Monday"
    );
    assert!(cal.is_working_day(EW, d(2026, 12, 29)));
    // Thu 24: (25, 28 off) Tue 29, Wed 30, Thu 31, (Fri 1 Jan off) Mon 4, Tue 5.
    assert_eq!(five("2026-12-24T12:00:00Z"), d(2027, 1, 5));
    // Wed 23: Thu 24, Tue 29, Wed 30, Thu 31, Mon 4.
    assert_eq!(five("2026-12-23T12:00:00Z"), d(2027, 1, 4));
    // In Scotland 2 January 2027 is a Saturday, so Monday 4 January is its substitute.
    assert_eq!(
        due_by(&sla(5, "scotland"), at("2026-12-24T12:00:00Z")),
        Some(d(2027, 1, 6))
    );
}

#[test]
fn easter_2027() {
    // Good Friday 26 March, Easter Monday 29 March.
    assert_eq!(five("2027-03-25T12:00:00Z"), d(2027, 4, 5));
    // Scotland has no Easter Monday holiday.
    assert_eq!(
        due_by(&sla(5, "scotland"), at("2027-03-25T12:00:00Z")),
        Some(d(2027, 4, 2))
    );
    let hols = Calendar::builtin().holidays(EW, 2027);
    assert!(hols.contains(&(d(2027, 3, 26), "Good Friday".to_owned())));
    assert!(hols.contains(&(d(2027, 3, 29), "Easter Monday".to_owned())));
}

#[test]
fn scotland_differs_from_england() {
    let cal = Calendar::builtin();
    // 2 January 2026 (Friday) is a holiday in Scotland only.
    assert!(!cal.is_working_day(SC, d(2026, 1, 2)));
    assert!(cal.is_working_day(EW, d(2026, 1, 2)));
    assert_eq!(cal.add_working_days(EW, d(2025, 12, 31), 5), d(2026, 1, 8));
    assert_eq!(cal.add_working_days(SC, d(2025, 12, 31), 5), d(2026, 1, 9));
    // Summer bank holiday: first Monday of August in Scotland, last Monday elsewhere.
    assert!(!cal.is_working_day(SC, d(2026, 8, 3)) && cal.is_working_day(EW, d(2026, 8, 3)));
    assert!(!cal.is_working_day(EW, d(2026, 8, 31)) && cal.is_working_day(SC, d(2026, 8, 31)));
    assert_eq!(cal.add_working_days(EW, d(2026, 7, 31), 5), d(2026, 8, 7));
    assert_eq!(cal.add_working_days(SC, d(2026, 7, 31), 5), d(2026, 8, 10));
    assert_eq!(cal.add_working_days(EW, d(2026, 8, 28), 5), d(2026, 9, 7));
    assert_eq!(cal.add_working_days(SC, d(2026, 8, 28), 5), d(2026, 9, 4));
}

#[test]
fn holidays_2026_england_and_wales() {
    let got: Vec<NaiveDate> = Calendar::builtin()
        .holidays(EW, 2026)
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(
        got,
        [
            d(2026, 1, 1),
            d(2026, 4, 3),
            d(2026, 4, 6),
            d(2026, 5, 4),
            d(2026, 5, 25),
            d(2026, 8, 31),
            d(2026, 12, 25),
            d(2026, 12, 28)
        ]
    );
}

#[test]
fn unknown_calendar_and_zero_days() {
    assert_eq!(due_by(&sla(5, "wales"), at("2026-11-20T10:00:00Z")), None);
    assert_eq!(
        due_by(&sla(0, "england-and-wales"), at("2026-11-21T10:00:00Z")),
        Some(d(2026, 11, 21))
    );
}

#[test]
fn overdue_by_working_days() {
    let cal = Calendar::builtin();
    // Due Thu 24 Dec 2026; on Tue 29 Dec it is 1 working day overdue.
    assert_eq!(
        cal.working_days_between(EW, d(2026, 12, 24), d(2026, 12, 29)),
        1
    );
    assert_eq!(
        cal.working_days_between(EW, d(2026, 12, 24), d(2026, 12, 28)),
        0
    );
    assert_eq!(
        cal.working_days_between(EW, d(2026, 12, 29), d(2026, 12, 24)),
        0,
        "not yet due"
    );
}

#[test]
fn extreme_inputs_do_not_panic() {
    let cal = Calendar::builtin();
    assert_eq!(cal.add_working_days(EW, NaiveDate::MAX, 5), NaiveDate::MAX);
    let far = cal.add_working_days(SC, d(9999, 12, 20), 10);
    assert!(far > d(9999, 12, 31) && cal.is_working_day(SC, far));
    // Years before 1 give no meaningful Easter; whatever the rules yield must not panic.
    let _ = cal.holidays(Division::NorthernIreland, -5);
    let _ = cal.is_working_day(EW, NaiveDate::MIN);
}

/// Counts working days in (from, to] one by one, independently of `working_days_between`.
fn count_working(cal: &Calendar, division: Division, from: NaiveDate, to: NaiveDate) -> u32 {
    from.iter_days()
        .skip(1)
        .take_while(|day| *day <= to)
        .filter(|day| cal.is_working_day(division, *day))
        .count() as u32
}

fn division() -> impl Strategy<Value = Division> {
    prop_oneof![
        Just(Division::EnglandAndWales),
        Just(Division::Scotland),
        Just(Division::NorthernIreland)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn due_by_is_the_nth_working_day_after_receipt(
        secs in Utc.with_ymd_and_hms(2018, 1, 1, 0, 0, 0).unwrap().timestamp()
            ..Utc.with_ymd_and_hms(2041, 1, 1, 0, 0, 0).unwrap().timestamp(),
        days in 1u32..=30,
        division in division(),
    ) {
        let received = DateTime::from_timestamp(secs, 0).unwrap();
        let cal = Calendar::builtin();
        let due = due_by(&sla(days, division.key()), received).unwrap();
        let receipt_day = london_date(received);
        prop_assert!(cal.is_working_day(division, due));
        prop_assert!(!matches!(due.weekday(), Weekday::Sat | Weekday::Sun));
        prop_assert!(due > receipt_day);
        prop_assert_eq!(count_working(cal, division, receipt_day, due), days);
        prop_assert_eq!(cal.working_days_between(division, receipt_day, due), days);
        // The London date is the UTC date or the day after (never more than an hour ahead).
        let utc_day = received.date_naive();
        prop_assert!(receipt_day == utc_day || Some(receipt_day) == utc_day.succ_opt());
    }

    #[test]
    fn adding_working_days_composes(
        from in (0i64..(2200 - 1950) * 366).prop_map(|n| d(1950, 1, 1) + chrono::Days::new(n as u64)),
        a in 0u32..40,
        b in 0u32..40,
        division in division(),
    ) {
        let cal = Calendar::builtin();
        let step = cal.add_working_days(division, cal.add_working_days(division, from, a), b);
        prop_assert_eq!(cal.add_working_days(division, from, a + b), step);
    }
}
