//! Linked people (issue 16): the person index is written with each referral as blind tokens
//! (no plaintext), a second referral for the same child (misspelt name, day and month
//! swapped) shows a possible link with its explanation, confirm and reject are remembered and
//! audited, another team's staff learn only that the child is known to another service, and
//! the search tolerates misspellings and lists only cases the user may see.

use crate::common;

use axum::http::StatusCode;
use common::staff::{account, location, signed_in};
use common::{TestApp, TestAppBuilder, sample};
use haven::access::Role;
use serde_json::json;
use sqlx::Row;

/// A SECOS referral about a child with this name and date of birth; its reference.
async fn secos_about(app: &TestApp, name: &str, dob: &str) -> String {
    let mut answers = sample("secos-referral");
    answers["young_person"]["name"] = json!(name);
    answers["young_person"]["date_of_birth"] = json!(dob);
    // Each child a phone of their own (the sample's is shared).
    answers["young_person"]["contact_details"] =
        json!(format!("Mobile 07700 900{:03}", name.len()));
    app.submit(&json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers})).await
}

#[tokio::test]
async fn the_index_holds_only_blind_tokens_and_sealed_identities() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let reference = secos_about(app, "Zephyrine Quillfeather", "2011-03-04").await;
            let id = app.id_of(&reference).await;
            let tokens: Vec<String> =
                sqlx::query("SELECT token FROM person_tokens WHERE referral_id = $1")
                    .bind(&id)
                    .fetch_all(app.storage.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
            assert!(tokens.len() >= 8, "{tokens:?}");
            for t in &tokens {
                assert_eq!(t.len(), 32);
                assert!(t.chars().all(|c| c.is_ascii_hexdigit()), "{t}");
            }
            let record =
                sqlx::query("SELECT key_id, identity FROM person_records WHERE referral_id = $1")
                    .bind(&id)
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap();
            assert_eq!(
                record.get::<String, _>(0),
                app.storage.person_index_key().id()
            );
            let sealed: Vec<u8> = record.get(1);
            assert!(sealed.starts_with(b"hv2"), "sealed");
            let text = String::from_utf8_lossy(&sealed).to_uppercase();
            for plain in ["ZEPHYRINE", "QUILLFEATHER", "2011", "TS99ZY"] {
                assert!(!text.contains(plain), "{plain} in the sealed identity");
            }
            // The identity opens in memory.
            let opened = app
                .storage
                .person_identities(std::slice::from_ref(&id))
                .await
                .unwrap();
            assert_eq!(opened[0].1.family.as_deref(), Some("QUILLFEATHER"));
        })
        .await;
}

#[tokio::test]
async fn a_second_referral_for_the_same_child_shows_a_possible_link_and_decisions_are_audited() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let first = secos_about(app, "Jayden O'Neil", "2011-03-07").await;
            let other_child = secos_about(app, "Amira Khan", "2010-11-21").await;
            // Misspelt, and the day and month swapped.
            let second = secos_about(app, "Jaiden Oneill", "2011-07-03").await;
            let mut triage = signed_in(app, Role::Triage, Some("secos")).await;
            let html = triage.get(app, &format!("/staff/cases/{second}")).await.text();
            assert!(html.contains("id=\"possible-links\""), "{html}");
            assert!(html.contains(&format!("id=\"link-{first}\"")), "{html}");
            assert!(!html.contains(&format!("id=\"link-{other_child}\"")), "{html}");
            assert!(html.contains("Date of birth: day and month swapped"), "{html}");
            assert!(html.contains("Last name: spelt almost the same"), "{html}");
            // Each comparison in words, the numbers only inside "How the likelihood was
            // worked out".
            let words = regex::Regex::new(
                r"<li>Date of birth: day and month swapped \((strong agreement|agreement|weak agreement|says little either way|weak disagreement|disagrees|strongly disagrees)\)</li>",
            )
            .unwrap();
            assert!(words.is_match(&html), "{html}");
            assert!(!html.contains("weight +") && !html.contains("(for,"), "{html}");
            assert!(html.contains("How the likelihood was worked out"), "{html}");

            // Reject: remembered, so the link is no longer suggested.
            let csrf = triage.csrf(app, &format!("/staff/cases/{second}")).await;
            let done = triage
                .post(app, &format!("/staff/cases/{second}/links"), &[("csrf", csrf.as_str()), ("other", first.as_str()), ("decision", "reject")])
                .await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
            assert!(location(&done).starts_with(&format!("/staff/cases/{second}")));
            let html = triage.get(app, &format!("/staff/cases/{second}")).await.text();
            assert!(!html.contains(&format!("id=\"link-{first}\"")), "{html}");
            // Confirm: shown as confirmed.
            let csrf = triage.csrf(app, &format!("/staff/cases/{second}")).await;
            let done = triage
                .post(app, &format!("/staff/cases/{second}/links"), &[("csrf", csrf.as_str()), ("other", first.as_str()), ("decision", "confirm")])
                .await;
            assert_eq!(done.status, StatusCode::SEE_OTHER);
            let html = triage.get(app, &format!("/staff/cases/{first}")).await.text();
            assert!(html.contains(&format!("id=\"link-{second}\"")), "{html}");
            assert!(html.contains("Confirmed"), "{html}");

            let (a, b) = (app.id_of(&first).await, app.id_of(&second).await);
            let actions: Vec<String> = sqlx::query(
                "SELECT action FROM audit_log WHERE record_id = $1 AND action LIKE 'person_link.%' ORDER BY seq",
            )
            .bind(&a)
            .fetch_all(app.storage.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
            assert_eq!(actions, ["person_link.rejected", "person_link.confirmed"]);
            let links = app.storage.person_links(&b).await.unwrap();
            assert_eq!(links.len(), 1);
            assert!(links[0].confirmed);

            // An auditor (no link_people) sees the panel but no buttons; a POST is refused.
            let mut auditor = signed_in(app, Role::Auditor, None).await;
            let html = auditor.get(app, &format!("/staff/cases/{second}")).await.text();
            assert!(html.contains("id=\"possible-links\""));
            assert!(!html.contains("name=\"decision\""));
            let csrf = auditor.csrf(app, &format!("/staff/cases/{second}")).await;
            let refused = auditor
                .post(app, &format!("/staff/cases/{second}/links"), &[("csrf", csrf.as_str()), ("other", first.as_str()), ("decision", "reject")])
                .await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
        })
        .await;
}

#[tokio::test]
async fn another_team_learns_only_that_the_child_is_known_elsewhere() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let secos = secos_about(app, "Maya Clarke", "2012-02-09").await;
            let mut answers = sample("ceop-report-parent");
            answers["child"]["date_of_birth"] = json!("2012-02-09");
            answers["child"]["location"] = json!("14 Sample Street, Middlesbrough TS9 9ZY");
            let ceop = app.submit(&json!({"service": "ceop", "stage": "report", "audience": "parent_carer", "answers": answers})).await;
            let mut ceop_staff = signed_in(app, Role::Triage, Some("ceop")).await;
            let html = ceop_staff.get(app, &format!("/staff/cases/{ceop}")).await.text();
            assert!(html.contains("id=\"known-elsewhere\""), "{html}");
            assert!(html.contains("id=\"known-elsewhere-alert\""), "{html}");
            assert!(html.contains("01642 819743"), "SECOS's contact: {html}");
            assert!(!html.contains(&secos), "no reference of another team's case");
            assert!(!html.contains(&format!("id=\"link-{secos}\"")));
            // Linking across teams is refused exactly as for a case that does not exist.
            let csrf = ceop_staff.csrf(app, &format!("/staff/cases/{ceop}")).await;
            let refused = ceop_staff
                .post(app, &format!("/staff/cases/{ceop}/links"), &[("csrf", csrf.as_str()), ("other", secos.as_str()), ("decision", "confirm")])
                .await;
            let missing = ceop_staff
                .post(app, &format!("/staff/cases/{ceop}/links"), &[("csrf", csrf.as_str()), ("other", "CEOP-NONE-NONE"), ("decision", "confirm")])
                .await;
            assert_ne!(refused.status, StatusCode::SEE_OTHER);
            assert_eq!(refused.status, missing.status);
            assert!(app.storage.person_links(&app.id_of(&ceop).await).await.unwrap().is_empty());
            // The search lists only the user's team's cases.
            let html = ceop_staff.get(app, "/staff/search?q=maya+clark").await.text();
            assert!(html.contains(&ceop), "{html}");
            assert!(!html.contains(&secos), "{html}");
        })
        .await;
}

#[tokio::test]
async fn search_tolerates_misspellings_and_reads_dates_and_postcodes() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let chloe = secos_about(app, "Chloe Marsh", "2011-03-14").await;
            let amira = secos_about(app, "Amira Khan", "2010-11-21").await;
            let mut triage = signed_in(app, Role::Triage, Some("secos")).await;
            for q in [
                "khloe marsch",
                "Marsh 14/3/2011",
                "chloe ts9 9zy",
                "07700900011",
            ] {
                let html = triage
                    .get(
                        app,
                        &format!("/staff/search?q={}", common::staff::encode(q)),
                    )
                    .await
                    .text();
                assert!(html.contains(&chloe), "{q}: {html}");
                assert!(!html.contains(&amira), "{q}: {html}");
            }
            let html = triage
                .get(app, &format!("/staff/search?q={}", amira.to_lowercase()))
                .await
                .text();
            assert!(html.contains(&amira));
            let empty = triage.get(app, "/staff/search?q=+").await;
            assert_eq!(empty.status, StatusCode::OK);
            let long = "a".repeat(300);
            let refused = triage.get(app, &format!("/staff/search?q={long}")).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(refused.text().contains("govuk-error-summary"));
        })
        .await;
}

/// Runs `haven ARGS…` against the test app's database and data directory; its stderr.
fn haven_cli(app: &TestApp, args: &[&str]) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_haven"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HAVEN_") {
            cmd.env_remove(name);
        }
    }
    let out = cmd
        .env("HAVEN_DATA_DIR", app.db.dir.path())
        .env("HAVEN_LOG", "warn")
        .args(["--database-url", &app.db.url])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    stderr
}

/// `haven match reindex` indexes a seeded store, fits the weights to its candidate pairs by
/// EM and stores them (one row, audited); a case's possible links are then scored with the
/// stored weights, not the defaults. `haven people reindex` is the same command.
#[tokio::test]
async fn reindex_fits_the_weights_and_links_use_them() {
    use haven::cases::people::links;
    use haven_core::people::{Params, compare, explain};
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let first = secos_about(app, "Jayden O'Neil", "2011-03-07").await;
            let second = secos_about(app, "Jaiden Oneill", "2011-07-03").await;
            assert!(app.storage.stored_match_params().await.unwrap().is_none());
            // Seeded cases are indexed as intake indexes them (names varied as in life, so
            // a few hundred give enough candidate pairs to fit); reindex reads them all.
            haven_cli(app, &["dev", "seed", "--count", "600", "--batch", "300"]);
            let stderr = haven_cli(app, &["match", "reindex"]);
            assert!(stderr.contains("of 602 cases read"), "{stderr}");
            assert!(stderr.contains("weights fitted to"), "{stderr}");
            let stored = app
                .storage
                .stored_match_params()
                .await
                .unwrap()
                .expect("a row of fitted weights");
            assert!(stored.pairs >= 50, "{stored:?}");
            assert!(stored.params.is_well_formed());
            assert_ne!(stored.params, Params::default());
            let fitted: i64 =
                sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = 'person_index.fitted'")
                    .fetch_one(app.storage.pool())
                    .await
                    .unwrap()
                    .get(0);
            assert_eq!(fitted, 1);
            // The alias, and a second fit replacing the first row.
            haven_cli(app, &["people", "fit"]);
            let rows: i64 = sqlx::query("SELECT COUNT(*) FROM match_params")
                .fetch_one(app.storage.pool())
                .await
                .unwrap()
                .get(0);
            assert_eq!(rows, 1);

            // Links score with the stored weights.
            let (user, _) = account(app, Role::Triage, Some("secos"), "pw").await;
            let staff = haven::access::Staff {
                user_id: user,
                email: "t@example.org".into(),
                role: Role::Triage,
                team: Some("secos".into()),
            };
            let referral = app.storage.find_referral(&second).await.unwrap().unwrap();
            let state = &app.state;
            let found = links(&state.cases(), &staff, &referral, chrono::Utc::now())
                .await
                .unwrap();
            let link = found
                .possible
                .iter()
                .find(|l| l.reference == first)
                .expect("the first referral is a possible link");
            let ids = [app.id_of(&first).await, app.id_of(&second).await];
            let people = app.storage.person_identities(&ids).await.unwrap();
            let of = |id: &str| &people.iter().find(|(i, _)| i == id).unwrap().1;
            let (a, b) = (of(&ids[0]), of(&ids[1]));
            let stored = app.storage.stored_match_params().await.unwrap().unwrap();
            let expected = explain(&stored.params, &compare(b, a));
            let default = explain(&Params::default(), &compare(b, a));
            assert!(
                (link.explanation.total - expected.total).abs() < 1e-9,
                "{:?} {expected:?}",
                link.explanation
            );
            assert!((expected.total - default.total).abs() > 1e-6);
        })
        .await;
}
