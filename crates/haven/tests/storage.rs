//! Storage behaviour that the API relies on, on both engines.

use crate::common;

use chrono::{NaiveDate, Utc};
use common::each_engine;
use haven::access::Role;
use haven::storage::StorageError;
use haven::storage::audit::{AuditEntry, ChainCheck};
use haven::storage::referrals::NewReferral;
use haven::storage::users::NewStaffUser;
use serde_json::json;

fn referral<'a>(
    reference: &str,
    answers: &'a serde_json::Value,
    screening: Option<&'a serde_json::Value>,
) -> NewReferral<'a> {
    NewReferral {
        id: haven::crypto::new_id(),
        reference: reference.to_owned(),
        service: "demo",
        stage: "referral",
        audience: "professional",
        status: "new",
        team: "demo-team",
        received_at: Utc::now(),
        urgent: true,
        suggested_band: Some("high"),
        in_scope: Some(false),
        eligible: None,
        rules_version: Some("2025-1"),
        due_by: NaiveDate::from_ymd_opt(2025, 2, 7),
        answers,
        person: None,
        screening,
        screening_rules: None,
        receipt_hash: haven::crypto::new_id(),
        actor: "public",
        files: None,
        uploads: &[],
        alert: None,
        identity: None,
        concerns: None,
    }
}

#[tokio::test]
async fn flags_dates_and_json_round_trip() {
    each_engine(async |app| {
        let answers = json!({"a": {"b": [1, "two", null]}});
        let screening = json!({"urgent": true, "reasons": []});
        app.storage
            .create_referral(&referral("DEM-AAAA-AAAA", &answers, Some(&screening)))
            .await
            .unwrap();
        let r = app
            .storage
            .find_referral("DEM-AAAA-AAAA")
            .await
            .unwrap()
            .unwrap();
        assert!(r.urgent);
        assert_eq!(r.in_scope, Some(false));
        assert_eq!(r.eligible, None);
        assert_eq!(r.suggested_band.as_deref(), Some("high"));
        assert_eq!(r.due_by, NaiveDate::from_ymd_opt(2025, 2, 7));
        assert_eq!(r.answers, answers);
        assert_eq!(r.screening, Some(screening));
        assert!(
            app.storage
                .find_referral("DEM-ZZZZ-ZZZZ")
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn a_taken_reference_is_a_conflict_and_nothing_is_half_written() {
    each_engine(async |app| {
        let answers = json!({});
        app.storage
            .create_referral(&referral("DEM-BBBB-BBBB", &answers, None))
            .await
            .unwrap();
        let again = app
            .storage
            .create_referral(&referral("DEM-BBBB-BBBB", &answers, None))
            .await;
        assert!(
            matches!(again, Err(StorageError::Conflict)),
            "{:?}: {again:?}",
            app.engine
        );
        let ChainCheck::Intact { entries } = app.storage.verify_audit_chain().await.unwrap() else {
            panic!("chain broken");
        };
        assert_eq!(entries, 1, "the failed insert left no audit entry");
    })
    .await;
}

#[tokio::test]
async fn emails_are_unique_whatever_their_case() {
    each_engine(async |app| {
        let user = |email: &'static str| NewStaffUser {
            id: haven::crypto::new_id(),
            email,
            role: Role::Admin,
            team: None,
            password_hash: "x".into(),
            actor: "test",
        };
        let created = app
            .storage
            .create_user(&user("Someone@Example.org"))
            .await
            .unwrap();
        assert_eq!(created.email, "someone@example.org");
        let again = app.storage.create_user(&user("someone@EXAMPLE.org")).await;
        assert!(matches!(again, Err(StorageError::Conflict)));
        assert!(
            app.storage
                .find_user_by_email("SOMEONE@example.org")
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(app.storage.count_users().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_is_a_verifiable_append_only_chain() {
    each_engine(async |app| {
        for i in 0..5 {
            let entry = AuditEntry::new(Utc::now(), "test", "thing.done", "thing", &i.to_string());
            app.storage.append_audit(&entry).await.unwrap();
        }
        assert_eq!(
            app.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 5 }
        );
        let update = sqlx::query("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
            .execute(app.storage.pool())
            .await;
        assert!(
            update.is_err(),
            "{:?}: audit rows must not change",
            app.engine
        );
        let delete = sqlx::query("DELETE FROM audit_log WHERE seq = 5")
            .execute(app.storage.pool())
            .await;
        assert!(
            delete.is_err(),
            "{:?}: audit rows must not be deleted",
            app.engine
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    each_engine(async |app| {
        let mut tasks = Vec::new();
        for i in 0..20 {
            let storage = app.storage.clone();
            tasks.push(tokio::spawn(async move {
                let entry =
                    AuditEntry::new(Utc::now(), "test", "thing.done", "thing", &i.to_string());
                storage.append_audit(&entry).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(
            app.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 20 }
        );
    })
    .await;
}

#[tokio::test]
async fn not_accepted_reports_are_counted_without_content() {
    each_engine(async |app| {
        let day = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        app.storage
            .count_not_accepted(
                day,
                "ceop",
                "young_person",
                &["fake_account", "bullying"],
                &[],
            )
            .await
            .unwrap();
        app.storage
            .count_not_accepted(
                day,
                "ceop",
                "young_person",
                &["bullying", "fake_account"],
                &[],
            )
            .await
            .unwrap();
        let count = app
            .storage
            .not_accepted_count(day, "ceop", "young_person", "bullying,fake_account")
            .await
            .unwrap();
        assert_eq!(count, 2);
    })
    .await;
}

#[tokio::test]
async fn concurrent_submissions_each_get_their_own_answer_and_the_chain_holds() {
    // On SQLite these share group commits; a taken reference in the middle of a burst must
    // fail only its own submission, never its neighbours'.
    each_engine(async |app| {
        let answers = json!({"n": 1});
        app.storage
            .create_referral(&referral("DEM-TAKE-NAAA", &answers, None))
            .await
            .unwrap();
        let references: Vec<String> = (0..40)
            .map(|i| {
                if i == 17 {
                    "DEM-TAKE-NAAA".to_owned()
                } else {
                    format!("DEM-BRST-{i:04}")
                }
            })
            .collect();
        let writes: Vec<_> = references
            .iter()
            .map(|reference| {
                let storage = app.storage.clone();
                let answers = answers.clone();
                let reference = reference.clone();
                tokio::spawn(async move {
                    storage
                        .create_referral(&referral(&reference, &answers, None))
                        .await
                })
            })
            .collect();
        for (i, write) in writes.into_iter().enumerate() {
            let result = write.await.unwrap();
            if i == 17 {
                assert!(matches!(result, Err(StorageError::Conflict)), "{result:?}");
            } else {
                result.unwrap();
                assert!(
                    app.storage
                        .find_referral(&references[i])
                        .await
                        .unwrap()
                        .is_some()
                );
            }
        }
        assert_eq!(
            app.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 40 }
        );
    })
    .await;
}

/// A burst of submissions, some naming a young person and some raising a duty alert: on
/// SQLite they share group commits, written table by table in multi-row statements, and each
/// referral still gets exactly its own rows (its person record and tokens, its job, its case
/// key, event, count and audit entry), opened and found as if written alone.
#[tokio::test]
async fn a_burst_of_mixed_submissions_writes_each_referrals_own_rows_once() {
    each_engine(async |app| {
        let answers = json!({"young_person": {"name": "Rory Williams"}});
        let person = json!({"name": "Rory Williams"});
        let alert = json!({"to": "duty@example.org", "subject": "Urgent referral"});
        let identities: Vec<haven_core::people::Identity> = (0..40u32)
            .map(|i| haven_core::people::Identity {
                given: vec![format!("RORY{i}")],
                family: Some("WILLIAMS".into()),
                date_of_birth: NaiveDate::from_ymd_opt(2010, 1 + i % 12, 1 + i % 28),
                postcode: Some("TS13AB".into()),
                ..Default::default()
            })
            .collect();
        let writes: Vec<_> = (0..40usize)
            .map(|i| {
                let storage = app.storage.clone();
                let (answers, person, alert) = (answers.clone(), person.clone(), alert.clone());
                let identity = identities[i].clone();
                tokio::spawn(async move {
                    let reference = format!("DEM-MIXD-{i:04}");
                    let mut new = referral(&reference, &answers, None);
                    new.id = haven::crypto::new_ordered_id(1_765_000_000_000);
                    if i % 2 == 0 {
                        new.identity = Some(&identity);
                        new.person = Some(&person);
                    }
                    if i % 5 == 0 {
                        new.alert = Some(&alert);
                    }
                    let id = new.id.clone();
                    storage.create_referral(&new).await.map(|()| id)
                })
            })
            .collect();
        let mut ids = Vec::new();
        for write in writes {
            ids.push(write.await.unwrap().unwrap());
        }
        for (i, id) in ids.iter().enumerate() {
            let stored = app
                .storage
                .find_referral(&format!("DEM-MIXD-{i:04}"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&stored.id, id);
            assert_eq!(
                stored.answers, answers,
                "{:?}: opens with its case key",
                app.engine
            );
            let indexed = i64::from(i % 2 == 0);
            for (sql, expected) in [
                ("SELECT COUNT(*) FROM case_keys WHERE referral_id = $1", 1),
                (
                    "SELECT COUNT(*) FROM referral_events WHERE referral_id = $1",
                    1,
                ),
                ("SELECT COUNT(*) FROM audit_log WHERE record_id = $1", 1),
                (
                    "SELECT COUNT(*) FROM person_records WHERE referral_id = $1",
                    indexed,
                ),
            ] {
                assert_eq!(
                    scalar(app, sql, id).await,
                    expected,
                    "{:?}: {sql} of {i}",
                    app.engine
                );
            }
            if i % 2 == 0 {
                let mut keys = identities[i].blocking_keys();
                keys.extend(identities[i].search_keys());
                let tokens = app.storage.person_tokens(&keys);
                assert_eq!(
                    scalar(
                        app,
                        "SELECT COUNT(*) FROM person_tokens WHERE referral_id = $1",
                        id
                    )
                    .await,
                    i64::try_from(tokens.len()).unwrap()
                );
                let identity = app
                    .storage
                    .person_identities(std::slice::from_ref(id))
                    .await
                    .unwrap();
                assert_eq!(identity, vec![(id.clone(), identities[i].clone())]);
            }
        }
        assert_eq!(app.storage.job_counts().await.unwrap().pending, 8);
        assert_eq!(
            scalar(
                app,
                "SELECT CAST(SUM(n) AS BIGINT) FROM referral_counts WHERE service = $1",
                "demo"
            )
            .await,
            40
        );
        assert_eq!(
            app.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 40 }
        );
    })
    .await;
}

async fn scalar(app: &common::TestApp, sql: &'static str, id: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .bind(id)
        .fetch_one(app.storage.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// On PostgreSQL a new referral is one statement (issue 18: data-modifying CTEs); on SQLite a
/// statement per table. Either way every row a submission owns is written exactly once, and
/// a taken reference writes none of them.
#[tokio::test]
async fn a_referral_with_a_person_and_an_alert_writes_each_of_its_rows_once_or_none() {
    each_engine(async |app| {
        let answers = json!({"young_person": {"name": "Amy Pond"}});
        let identity = haven_core::people::Identity {
            given: vec!["AMY".into()],
            family: Some("POND".into()),
            date_of_birth: NaiveDate::from_ymd_opt(2011, 4, 2),
            postcode: Some("TS13AB".into()),
            ..Default::default()
        };
        let person = json!({"name": "Amy Pond"});
        let alert = json!({"to": "duty@example.org", "subject": "Urgent referral"});
        let mut new = referral("DEM-CTEA-AAAA", &answers, None);
        new.identity = Some(&identity);
        new.person = Some(&person);
        new.alert = Some(&alert);
        let id = new.id.clone();
        app.storage.create_referral(&new).await.unwrap();
        // A second referral of the same combination, with neither: the count adds up.
        let plain = referral("DEM-CTEA-BBBB", &answers, None);
        app.storage.create_referral(&plain).await.unwrap();

        let stored = app
            .storage
            .find_referral("DEM-CTEA-AAAA")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.answers, answers,
            "{:?}: opens with its case key",
            app.engine
        );
        assert_eq!(stored.suggested_band.as_deref(), Some("high"));
        let events = app.storage.referral_events(&id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "received");
        assert_eq!(events[0].to_status.as_deref(), Some("new"));
        let one_row = [
            "SELECT COUNT(*) FROM case_keys WHERE referral_id = $1",
            "SELECT COUNT(*) FROM person_records WHERE referral_id = $1",
        ];
        for sql in one_row {
            assert_eq!(scalar(app, sql, &id).await, 1, "{:?}: {sql}", app.engine);
        }
        let mut keys = identity.blocking_keys();
        keys.extend(identity.search_keys());
        let tokens = app.storage.person_tokens(&keys);
        assert!(tokens.len() > 3);
        assert_eq!(
            scalar(
                app,
                "SELECT COUNT(*) FROM person_tokens WHERE referral_id = $1",
                &id
            )
            .await,
            i64::try_from(tokens.len()).unwrap()
        );
        let found = app
            .storage
            .person_candidates(&tokens, None, 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reference, "DEM-CTEA-AAAA");
        let identities = app
            .storage
            .person_identities(std::slice::from_ref(&id))
            .await
            .unwrap();
        assert_eq!(identities, vec![(id.clone(), identity.clone())]);
        assert_eq!(app.storage.job_counts().await.unwrap().pending, 1);
        assert_eq!(
            scalar(
                app,
                "SELECT CAST(SUM(n) AS BIGINT) FROM referral_counts WHERE service = $1",
                "demo"
            )
            .await,
            2
        );
        assert_eq!(
            app.storage
                .audit_actions_for("referral", &id)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, action)| action)
                .collect::<Vec<_>>(),
            vec!["submission.created".to_owned()]
        );

        // The same reference again, with a person and an alert: nothing of it is written.
        let mut again = referral("DEM-CTEA-AAAA", &answers, None);
        again.identity = Some(&identity);
        again.alert = Some(&alert);
        let again_id = again.id.clone();
        let result = app.storage.create_referral(&again).await;
        assert!(matches!(result, Err(StorageError::Conflict)), "{result:?}");
        for sql in [
            "SELECT COUNT(*) FROM case_keys WHERE referral_id = $1",
            "SELECT COUNT(*) FROM person_records WHERE referral_id = $1",
            "SELECT COUNT(*) FROM person_tokens WHERE referral_id = $1",
            "SELECT COUNT(*) FROM referral_events WHERE referral_id = $1",
            "SELECT COUNT(*) FROM audit_log WHERE record_id = $1",
        ] {
            assert_eq!(
                scalar(app, sql, &again_id).await,
                0,
                "{:?}: {sql}",
                app.engine
            );
        }
        assert_eq!(app.storage.job_counts().await.unwrap().pending, 1);
        assert_eq!(
            scalar(
                app,
                "SELECT CAST(SUM(n) AS BIGINT) FROM referral_counts WHERE service = $1",
                "demo"
            )
            .await,
            2
        );
        assert_eq!(
            app.storage.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 2 }
        );
    })
    .await;
}

/// A token held by more referrals than `COMMON_TOKEN` (a popular name in a large index) no
/// longer decides the candidates: a referral is found through its rarer tokens (its date of
/// birth), the common ones still count towards how much it shares, so the same child comes
/// first; a search by the common name alone gives a bounded sample.
#[tokio::test]
async fn over_common_tokens_count_but_do_not_decide_candidates() {
    use haven::storage::people::COMMON_TOKEN;
    use haven::storage::seed::SeedState;
    use haven_core::people::Identity;
    each_engine(async |app| {
        let answers = json!({});
        let name = |born: Option<NaiveDate>| Identity {
            given: vec!["OLIVER".into()],
            family: Some("SMITH".into()),
            date_of_birth: born,
            ..Default::default()
        };
        let crowd = name(None);
        let born = NaiveDate::from_ymd_opt(2011, 4, 2);
        let child = name(born);
        let other = Identity {
            given: vec!["AMY".into()],
            family: Some("POND".into()),
            date_of_birth: born,
            ..Default::default()
        };
        let mut batch: Vec<(NewReferral<'_>, SeedState)> = (0..=COMMON_TOKEN)
            .map(|i| {
                let mut new = referral(&format!("DEM-CRWD-{i:04}"), &answers, None);
                new.identity = Some(&crowd);
                (new, SeedState::default())
            })
            .collect();
        for (reference, identity) in [("DEM-CHLD-AAAA", &child), ("DEM-OTHR-AAAA", &other)] {
            let mut new = referral(reference, &answers, None);
            new.identity = Some(identity);
            batch.push((new, SeedState::default()));
        }
        app.storage.seed_referrals(&batch).await.unwrap();

        let tokens = app.storage.person_tokens(&child.blocking_keys());
        let found = app
            .storage
            .person_candidates(&tokens, None, 3)
            .await
            .unwrap();
        let references: Vec<&str> = found.iter().map(|c| c.reference.as_str()).collect();
        // The crowd shares only the name: found through the date of birth alone.
        assert_eq!(
            references,
            ["DEM-CHLD-AAAA", "DEM-OTHR-AAAA"],
            "{:?}",
            app.engine
        );
        // The child shares every token with itself, the common name's among them.
        assert_eq!(found[0].shared, i64::try_from(tokens.len()).unwrap());

        let alone = app
            .storage
            .person_tokens(&haven_core::people::query_identity("Oliver Smith").search_keys());
        let sample = app
            .storage
            .person_candidates(&alone, None, 5000)
            .await
            .unwrap();
        assert!(!sample.is_empty());
        assert!(sample.len() as i64 <= COMMON_TOKEN * alone.len() as i64);
    })
    .await;
}
