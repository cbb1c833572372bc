//! The weighted example (services/examples/weighted-cse-tool.toml): scores by section and
//! recency, bands by total, with an age floor.

use haven_core::answers::{target, validate};
use haven_core::screening::screen;
use serde_json::{Value, json};

use crate::*;

#[test]
fn the_weighted_example_scores_by_section_and_recency_with_an_age_floor() {
    let def = load_path(&services_dir().join("examples/weighted-cse-tool.toml"));
    let base = json!({
        "referrer": { "name": "A Worker", "organisation": "Example", "email": "a.worker@example.org", "phone": "01632 960 000" },
        "young_person": { "name": "Y Person", "date_of_birth": "2010-01-01" },
    });
    let score = |screening: Value| {
        let answers = with(base.clone(), "screening", screening);
        let stage = target(&def, "referral", "professional").unwrap();
        assert_eq!(validate(stage, "professional", &answers, today()), Ok(()));
        let r = screen(&def, &answers, today()).unwrap();
        (r.score, r.suggested_band)
    };
    let n = "Narrative.";
    assert_eq!(
        score(json!({ "vulnerabilities": ["isolated"], "narrative": n })),
        (Some(1), Some("low".into()))
    );
    // 2 + 2 + 3 = 7: medium.
    assert_eq!(
        score(
            json!({ "moderate": ["drug_misuse", "alcohol_misuse"], "significant": { "unknown_vehicles": "prior" }, "narrative": n })
        ),
        (Some(7), Some("medium".into()))
    );
    // Going missing, current: 5 + 2 extra; ticked both: 3 more. 10 is medium by score.
    assert_eq!(
        score(json!({ "significant": { "missing_episodes": "both" }, "narrative": n })),
        (Some(10), Some("medium".into()))
    );
    // Age floor: 13 or under with any significant indicator is high, whatever the score.
    let young = with(
        base.clone(),
        "young_person.date_of_birth",
        json!("2014-01-01"),
    );
    let answers = with(
        young,
        "screening",
        json!({ "significant": { "unknown_vehicles": "prior" }, "narrative": n }),
    );
    let r = screen(&def, &answers, today()).unwrap();
    assert_eq!(
        (r.score, r.suggested_band.as_deref()),
        (Some(3), Some("high"))
    );
}
