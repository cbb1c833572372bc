//! Form session fixation (issue 12): a form-session cookie the server did not issue gets a
//! fresh session, and the id is replaced when the form starts (the audience is chosen), so
//! an id planted on a child's device never reaches what the child types.

use crate::common;
use crate::public_support;

use axum::http::StatusCode;
use chrono::Utc;
use common::{TestApp, TestAppBuilder};
use haven_pages::naming;
use public_support::Browser;

const WHO: &str = "/services/ceop/report/who-are-you";

fn builtins() -> TestAppBuilder {
    TestAppBuilder::default().builtins()
}

/// The session id in a `haven_form=ID.TAG` (or bare `haven_form=ID`) cookie pair.
fn id_of(cookie: &str) -> String {
    let value = cookie.trim_start_matches("haven_form=");
    value.split('.').next().unwrap().to_owned()
}

/// Whether the database holds a live CEOP draft for this session id.
async fn has_draft(app: &TestApp, id: &str) -> bool {
    let hash = app.key.keyed_hash(format!("form-session:{id}").as_bytes());
    app.storage
        .find_draft(&hash, "ceop", Utc::now())
        .await
        .unwrap()
        .is_some()
}

/// Chooses "parent or carer"; the first page's address.
async fn choose_parent(b: &mut Browser<'_>) -> String {
    let chosen = b
        .post(
            WHO,
            &[(naming::AUDIENCE_FIELD.to_owned(), "parent_carer".to_owned())],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.text());
    chosen.header("location").unwrap().to_owned()
}

#[tokio::test]
async fn a_session_id_the_server_did_not_issue_gets_a_fresh_session() {
    builtins()
        .each_engine(async |app: &TestApp| {
            let planted = format!("haven_form={}", "Z".repeat(26));
            let mut child = Browser::new(app);
            child.cookie = Some(planted.clone());
            let page = child.get(WHO).await;
            assert_eq!(page.status, StatusCode::OK);
            let set = page
                .header("set-cookie")
                .expect("a planted id gets a new session");
            assert_ne!(id_of(set.split(';').next().unwrap()), "Z".repeat(26));
            let first = choose_parent(&mut child).await;
            assert_eq!(child.get(&first).await.status, StatusCode::OK);

            // The planter's cookie reaches no draft.
            let mut planter = Browser::new(app);
            planter.cookie = Some(planted);
            let seen = planter.get(&first).await;
            assert_eq!(seen.status, StatusCode::SEE_OTHER);
            assert_eq!(seen.header("location"), Some(WHO));
            assert!(!has_draft(app, &"Z".repeat(26)).await);
        })
        .await;
}

#[tokio::test]
async fn choosing_the_audience_rotates_the_id_and_the_old_one_reaches_nothing() {
    builtins()
        .each_engine(async |app: &TestApp| {
            // Someone gets a genuine id from Haven and plants it on the child's device.
            let mut planter = Browser::new(app);
            planter.get(WHO).await;
            let issued = planter.cookie.clone().unwrap();

            let mut child = Browser::new(app);
            child.cookie = Some(issued.clone());
            let page = child.get(WHO).await;
            assert!(
                page.header("set-cookie").is_none(),
                "an issued id is accepted as it is"
            );
            let first = choose_parent(&mut child).await;
            let rotated = child.cookie.clone().unwrap();
            assert_ne!(
                id_of(&rotated),
                id_of(&issued),
                "a new id when the form starts"
            );
            assert_eq!(child.get(&first).await.status, StatusCode::OK);
            assert!(has_draft(app, &id_of(&rotated)).await);
            assert!(!has_draft(app, &id_of(&issued)).await);

            // The planted id no longer reaches the draft.
            let seen = planter.get(&first).await;
            assert_eq!(seen.status, StatusCode::SEE_OTHER);
            assert_eq!(seen.header("location"), Some(WHO));

            // Choosing again (going back to "I am…") rotates again; the draft follows.
            child.get(WHO).await;
            choose_parent(&mut child).await;
            let again = child.cookie.clone().unwrap();
            assert_ne!(id_of(&again), id_of(&rotated));
            assert!(has_draft(app, &id_of(&again)).await);
            assert!(!has_draft(app, &id_of(&rotated)).await);
        })
        .await;
}
