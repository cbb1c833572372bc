//! The shipped GOV.UK list against the rules, and the list reader's checks.

use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Holidays Parliament moved or added, the only places GOV.UK's list may differ from the
/// rules. Same in all three divisions. (removed by rule, added)
#[allow(clippy::type_complexity)]
fn one_offs(
    year: i32,
) -> (
    Vec<(NaiveDate, &'static str)>,
    Vec<(NaiveDate, &'static str)>,
) {
    match year {
        // Early May bank holiday moved from Monday 4 to Friday 8 May for VE Day's 75th.
        2020 => (
            vec![(d(2020, 5, 4), "Early May bank holiday")],
            vec![(d(2020, 5, 8), "Early May bank holiday (VE day)")],
        ),
        // Spring bank holiday moved to Thursday 2 June, plus Friday 3 June, for the Platinum
        // Jubilee; Monday 19 September for the State Funeral of Queen Elizabeth II.
        2022 => (
            vec![(d(2022, 5, 30), "Spring bank holiday")],
            vec![
                (d(2022, 6, 2), "Spring bank holiday"),
                (d(2022, 6, 3), "Platinum Jubilee bank holiday"),
                (
                    d(2022, 9, 19),
                    "Bank Holiday for the State Funeral of Queen Elizabeth II",
                ),
            ],
        ),
        // Monday 8 May for the Coronation of King Charles III.
        2023 => (
            vec![],
            vec![(
                d(2023, 5, 8),
                "Bank holiday for the coronation of King Charles III",
            )],
        ),
        _ => (vec![], vec![]),
    }
}

#[test]
fn builtin_list_parses_and_covers_2018_to_2027() {
    let cal = Calendar::from_govuk_json(BUILTIN_JSON).expect("embedded list parses");
    for division in Division::ALL {
        assert_eq!(
            cal.published_years(division),
            Some((2018, 2027)),
            "{division:?}"
        );
        assert_eq!(
            Calendar::builtin().published_years(division),
            Some((2018, 2027)),
            "builtin() used the list"
        );
    }
}

#[test]
fn shipped_list_agrees_with_rules_except_documented_one_offs() {
    let cal = Calendar::from_govuk_json(BUILTIN_JSON).unwrap();
    for division in Division::ALL {
        for year in 2018..=2027 {
            let (removed, added) = one_offs(year);
            let mut expected: Vec<(NaiveDate, String)> = rule_holidays(division, year)
                .iter()
                .map(|h| (h.date, h.title.to_owned()))
                .filter(|(date, title)| !removed.iter().any(|(rd, rt)| rd == date && rt == title))
                .chain(
                    added
                        .iter()
                        .map(|(date, title)| (*date, (*title).to_owned())),
                )
                .collect();
            expected.sort();
            assert_eq!(
                cal.holidays(division, year),
                expected,
                "{division:?} {year}"
            );
        }
    }
}

#[test]
fn shipped_list_has_govuk_shape_and_marks_substitutes() {
    let json: serde_json::Value = serde_json::from_str(BUILTIN_JSON).unwrap();
    let obj = json.as_object().unwrap();
    assert_eq!(obj.len(), 3);
    for division in Division::ALL {
        let entry = &obj[division.key()];
        assert_eq!(entry["division"], division.key());
        let events = entry["events"].as_array().unwrap();
        let substitutes: Vec<NaiveDate> = (2018..=2027)
            .flat_map(|y| {
                rule_holidays(division, y)
                    .iter()
                    .filter(|h| h.substitute)
                    .map(|h| h.date)
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut dates = Vec::new();
        for e in events {
            let e = e.as_object().unwrap();
            let mut keys: Vec<&str> = e.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["bunting", "date", "notes", "title"]);
            assert!(e["bunting"].is_boolean() && e["title"].is_string());
            let date: NaiveDate = e["date"].as_str().unwrap().parse().unwrap();
            let is_sub = e["notes"] == "Substitute day";
            assert!(is_sub || e["notes"] == "", "{date}: notes");
            assert_eq!(
                is_sub,
                substitutes.contains(&date),
                "{division:?} {date}: substitute note"
            );
            dates.push(date);
        }
        assert!(
            dates.windows(2).all(|w| w[0] < w[1]),
            "{division:?} events sorted by date"
        );
    }
}

#[test]
fn known_substitute_and_one_off_days_are_holidays() {
    let cal = Calendar::builtin();
    let all = [
        d(2020, 12, 28),
        d(2021, 12, 27),
        d(2021, 12, 28),
        d(2022, 1, 3),
        d(2022, 6, 2),
        d(2022, 6, 3),
        d(2022, 9, 19),
        d(2023, 5, 8),
        d(2020, 5, 8),
        d(2022, 12, 27),
        d(2026, 12, 28),
    ];
    for division in Division::ALL {
        for day in all {
            assert!(!cal.is_working_day(division, day), "{division:?} {day}");
        }
        // Moved away from: ordinary working days that year.
        assert!(cal.is_working_day(division, d(2020, 5, 4)));
        assert!(cal.is_working_day(division, d(2022, 5, 30)));
    }
    let sc = Division::Scotland;
    for day in [
        d(2021, 1, 4),
        d(2022, 1, 4),
        d(2023, 1, 3),
        d(2019, 12, 2),
        d(2024, 12, 2),
        d(2025, 12, 1),
    ] {
        assert!(!cal.is_working_day(sc, day), "Scotland {day}");
        assert!(
            cal.is_working_day(Division::EnglandAndWales, day),
            "E&W {day}"
        );
    }
    let ni = Division::NorthernIreland;
    for day in [
        d(2018, 3, 19),
        d(2019, 3, 18),
        d(2024, 3, 18),
        d(2020, 7, 13),
        d(2025, 7, 14),
        d(2026, 7, 13),
    ] {
        assert!(!cal.is_working_day(ni, day), "NI {day}");
        assert!(
            cal.is_working_day(Division::EnglandAndWales, day),
            "E&W {day}"
        );
    }
}

#[test]
fn years_past_the_list_come_from_rules() {
    let cal = Calendar::builtin();
    for division in Division::ALL {
        for year in [2017, 2028, 2035, 2199, 2201, 3000] {
            let by_rule: Vec<_> = rule_holidays(division, year)
                .iter()
                .map(|h| (h.date, h.title.to_owned()))
                .collect();
            assert_eq!(cal.holidays(division, year), by_rule, "{division:?} {year}");
        }
    }
    // 2028: Christmas Monday, Boxing Day Tuesday; New Year Saturday -> Monday 3 January.
    let ew = Division::EnglandAndWales;
    assert!(!cal.is_working_day(ew, d(2028, 1, 3)));
    assert!(
        !cal.is_working_day(ew, d(2028, 4, 14)),
        "Good Friday 2028 (Easter 16 April)"
    );
    assert!(
        !cal.is_working_day(ew, d(2028, 4, 17)),
        "Easter Monday 2028"
    );
    // Same answer just inside and outside the precomputed range.
    assert!(!cal.is_working_day(ew, d(2201, 12, 26)));
    assert!(!cal.is_working_day(ew, d(1900, 12, 25)));
}

#[test]
fn reader_rejects_malformed_lists() {
    assert!(matches!(
        Calendar::from_govuk_json("not json"),
        Err(CalendarError::Json(_))
    ));
    assert!(matches!(
        Calendar::from_govuk_json("{}"),
        Err(CalendarError::MissingDivision("england-and-wales"))
    ));
    let one = |div: &str, events: &str| {
        format!(r#""{div}": {{"division": "{div}", "events": [{events}]}}"#)
    };
    let ev = r#"{"title": "X", "date": "2030-01-01", "notes": "", "bunting": true}"#;
    let ok = format!(
        "{{{}, {}, {}}}",
        one("england-and-wales", ev),
        one("scotland", ev),
        one("northern-ireland", ev)
    );
    assert!(Calendar::from_govuk_json(&ok).is_ok());
    let dup = format!(
        "{{{}, {}, {}}}",
        one("england-and-wales", &format!("{ev}, {ev}")),
        one("scotland", ev),
        one("northern-ireland", ev)
    );
    assert!(matches!(
        Calendar::from_govuk_json(&dup),
        Err(CalendarError::Duplicate { .. })
    ));
    let empty = format!(
        "{{{}, {}, {}}}",
        one("england-and-wales", ""),
        one("scotland", ev),
        one("northern-ireland", ev)
    );
    assert_eq!(
        Calendar::from_govuk_json(&empty).unwrap_err(),
        CalendarError::NoEvents("england-and-wales")
    );
    let bad_date = ev.replace("2030-01-01", "2030-02-30");
    let bad = format!(
        "{{{}, {}, {}}}",
        one("england-and-wales", &bad_date),
        one("scotland", ev),
        one("northern-ireland", ev)
    );
    assert!(matches!(
        Calendar::from_govuk_json(&bad),
        Err(CalendarError::Json(_))
    ));
}

#[test]
fn from_rules_alone_misses_one_offs_only() {
    let cal = Calendar::from_rules();
    let ew = Division::EnglandAndWales;
    assert!(
        cal.is_working_day(ew, d(2022, 9, 19)),
        "rules cannot know the State Funeral"
    );
    assert!(!cal.is_working_day(ew, d(2026, 12, 28)));
    assert_eq!(cal.published_years(ew), None);
}

#[test]
fn division_keys_round_trip() {
    for division in Division::ALL {
        assert_eq!(Division::from_key(division.key()), Some(division));
    }
    assert_eq!(Division::from_key("wales"), None);
    assert_eq!(Division::from_key(""), None);
}
