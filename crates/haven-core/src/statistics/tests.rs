use chrono::TimeZone;

use super::*;

fn facts(received: (i32, u32, u32), met: Option<(i32, u32, u32)>) -> ReferralFacts {
    let at = |(y, m, d): (i32, u32, u32)| Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap();
    ReferralFacts {
        audience: "professional".into(),
        by_email: false,
        suggested_band: Some("high".into()),
        confirmed_band: None,
        status: "new".into(),
        closed: false,
        outcome: None,
        urgent: false,
        received_at: at(received),
        sla_met_at: met.map(at),
        // Monday 4 May 2026 + 5 working days (the bank holiday on the 4th itself aside).
        due_by: NaiveDate::from_ymd_opt(2026, 5, 11),
        assignee: None,
        linked: false,
        concerns: None,
    }
}

#[test]
fn first_contact_is_in_time_on_the_due_day_late_after_it_and_not_yet_without_it() {
    assert_eq!(
        first_contact(&facts((2026, 5, 4), Some((2026, 5, 11)))),
        Some("in_time")
    );
    assert_eq!(
        first_contact(&facts((2026, 5, 4), Some((2026, 5, 12)))),
        Some("late")
    );
    assert_eq!(first_contact(&facts((2026, 5, 4), None)), Some("not_yet"));
    let mut no_sla = facts((2026, 5, 4), None);
    no_sla.due_by = None;
    assert_eq!(first_contact(&no_sla), None);
}

#[test]
fn working_days_to_first_contact_skip_weekends_and_bank_holidays() {
    // Friday 1 May 2026 to Tuesday 5 May: the weekend and the May bank holiday (4 May) skipped.
    let f = facts((2026, 5, 1), Some((2026, 5, 5)));
    assert_eq!(
        days_to_first_contact(&f, Division::EnglandAndWales),
        Some(1)
    );
    assert_eq!(days_bucket(3), "3");
    assert_eq!(days_bucket(25), "20+");
}

#[test]
fn a_day_folds_every_dimension_and_out_of_scope_concerns_each() {
    let mut a = facts((2026, 5, 4), Some((2026, 5, 5)));
    a.confirmed_band = Some("high".into());
    a.assignee = Some("u1".into());
    let mut b = facts((2026, 5, 4), None);
    b.closed = true;
    b.outcome = Some("completed".into());
    b.by_email = true;
    b.urgent = true;
    a.concerns = Some("meet_up_request,sexual_chat".into());
    b.concerns = Some(String::new());
    let out = [OutOfScope {
        audience: "young_person".into(),
        concerns: "bullying,fake_account".into(),
        count: 3,
    }];
    let signposts = [
        ("childline".to_owned(), 3),
        ("nspcc_helpline".to_owned(), 3),
    ];
    let counts = fold_day(&[a, b], &out, &signposts, Division::EnglandAndWales);
    let get = |d: &str, v: &str| counts.get(&(d.to_owned(), v.to_owned())).copied();
    assert_eq!(get(dimension::RECEIVED, "all"), Some(2));
    assert_eq!(get(dimension::CHANNEL, "email"), Some(1));
    assert_eq!(get(dimension::BAND_AGREEMENT, "same"), Some(1));
    assert_eq!(get(dimension::BAND_AGREEMENT, "unconfirmed"), Some(1));
    assert_eq!(get(dimension::OUTCOME, "completed"), Some(1));
    assert_eq!(get(dimension::OPEN_BY_WORKER, "u1"), Some(1));
    assert_eq!(get(dimension::OPEN_BY_WORKER, "unallocated"), None);
    assert_eq!(get(dimension::URGENT, "yes"), Some(1));
    assert_eq!(get(dimension::FIRST_CONTACT, "in_time"), Some(1));
    assert_eq!(get(dimension::FIRST_CONTACT, "not_yet"), Some(1));
    assert_eq!(get(dimension::OUT_OF_SCOPE, "all"), Some(3));
    assert_eq!(get(dimension::OUT_OF_SCOPE_CONCERN, "bullying"), Some(3));
    assert_eq!(
        get(dimension::OUT_OF_SCOPE_CONCERN, "fake_account"),
        Some(3)
    );
    // Each concern of an accepted referral counts; none chosen is its own value.
    assert_eq!(get(dimension::CONCERN, "sexual_chat"), Some(1));
    assert_eq!(get(dimension::CONCERN, "meet_up_request"), Some(1));
    assert_eq!(get(dimension::CONCERN, NO_CONCERN), Some(1));
    assert_eq!(get(dimension::OUT_OF_SCOPE_SIGNPOST, "childline"), Some(3));
    assert_eq!(
        get(dimension::OUT_OF_SCOPE_SIGNPOST, "nspcc_helpline"),
        Some(3)
    );
}

#[test]
fn a_concern_is_only_the_question_s_own_option_keys() {
    let def = crate::definition::load::parse_definition(
        "ceop.toml",
        include_str!("../../../../services/ceop.toml"),
    )
    .expect("ceop.toml loads");
    let answers = serde_json::json!({
        "concerns": ["sexual_chat", "Ottoline's own words", "meet_up_request", "sexual_chat"],
        "concerns_other": "free text never kept",
    });
    assert_eq!(
        concern_keys(&def, &answers).as_deref(),
        Some("meet_up_request,sexual_chat")
    );
    assert_eq!(
        concern_keys(&def, &serde_json::json!({})).as_deref(),
        Some("")
    );
}

#[test]
fn totals_sum_a_range_by_period_and_find_the_median() {
    let day = |d| NaiveDate::from_ymd_opt(2026, 5, d).unwrap();
    let range = Range {
        from: day(1),
        to: day(31),
    };
    assert_eq!(range.period(), Period::Week);
    let row = |d, dim: &str, v: &str, n| StatRow {
        day: day(d),
        dimension: dim.into(),
        value: v.into(),
        count: n,
    };
    let rows = [
        row(4, dimension::RECEIVED, "all", 2),
        row(5, dimension::RECEIVED, "all", 3),
        row(12, dimension::RECEIVED, "all", 1),
        row(12, dimension::OUT_OF_SCOPE, "all", 4),
        row(4, dimension::FIRST_CONTACT_DAYS, "1", 2),
        row(5, dimension::FIRST_CONTACT_DAYS, "4", 1),
    ];
    let totals = Totals::of(&rows, range);
    assert_eq!(totals.count(dimension::RECEIVED, "all"), 6);
    // Weeks starting Monday: 27 April (holding 1 May), 4, 11, 18, 25 May.
    assert_eq!(totals.over_time.len(), 5);
    assert_eq!(totals.over_time[1], (day(4), 5, 0));
    assert_eq!(totals.over_time[2], (day(11), 1, 4));
    assert_eq!(totals.median_days_to_first_contact(), Some(1));
    let year = Range {
        from: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        to: day(31),
    };
    assert_eq!(year.period(), Period::Month);
    assert_eq!(year.periods().len(), 12);
}

#[test]
fn audience_channel_and_concern_are_also_counted_in_each_period() {
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let range = Range {
        from: day(1, 1),
        to: day(6, 30),
    };
    assert_eq!(range.period(), Period::Month);
    let row = |m, d, dim: &str, v: &str, n| StatRow {
        day: day(m, d),
        dimension: dim.into(),
        value: v.into(),
        count: n,
    };
    let rows = [
        row(2, 3, dimension::CONCERN, "sexting", 2),
        row(2, 20, dimension::CONCERN, "sexting", 1),
        row(4, 1, dimension::CONCERN, "sexting", 5),
        row(4, 1, dimension::CONCERN, "grooming", 1),
        row(5, 9, dimension::AUDIENCE, "parent", 7),
        // Not broken down by period: only summed.
        row(5, 9, dimension::URGENT, "yes", 3),
    ];
    let totals = Totals::of(&rows, range);
    assert_eq!(
        totals.over_time_of(dimension::CONCERN, "sexting"),
        [0, 3, 0, 5, 0, 0]
    );
    assert_eq!(
        totals.over_time_of(dimension::CONCERN, "grooming"),
        [0, 0, 0, 1, 0, 0]
    );
    assert_eq!(
        totals.over_time_of(dimension::AUDIENCE, "parent"),
        [0, 0, 0, 0, 7, 0]
    );
    assert_eq!(
        totals.over_time_of(dimension::URGENT, "yes"),
        [0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        totals.over_time_of(dimension::CHANNEL, "email"),
        [0, 0, 0, 0, 0, 0]
    );
    assert_eq!(totals.count(dimension::CONCERN, "sexting"), 8);
}
