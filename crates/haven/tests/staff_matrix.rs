//! The access matrix: every staff page and staff API endpoint × every role × with and
//! without membership of the case's team. Allowed means neither 403 nor 404 (the requests
//! are made so that an allowed one changes nothing: a bad value gives 422); denied is 403
//! for the case's own team, and 404 for another team's case (no IDOR). The expectations
//! are written out here, independently of `policy/access.toml`, as the specification.

use crate::common;

use common::sample;

use axum::http::StatusCode;
use common::TestAppBuilder;
use common::staff::{Browser, account};
use haven::access::Role;
use serde_json::json;

/// What each role may do, as the policy file should say.
fn allowed(role: Role, action: &str) -> bool {
    let case_work = [
        "view_queue",
        "view_case",
        "view_third_party",
        "transition",
        "add_note",
        "complete_action",
        "message_reporter",
        "print_for_family",
        "casework",
        "record_onward_referral",
        "export_document",
        "link_people",
        "see_known_elsewhere",
    ];
    // `any_staff`: every signed-in role (the stateless screening check).
    if action == "any_staff" {
        return true;
    }
    match role {
        Role::Triage => {
            case_work.contains(&action)
                || ["confirm_band", "allocate", "view_inbox", "convert_email"].contains(&action)
        }
        Role::Manager => {
            case_work.contains(&action)
                || [
                    "confirm_band",
                    "allocate",
                    "view_inbox",
                    "convert_email",
                    "view_sharing_register",
                    "subject_access",
                    "view_dashboard",
                ]
                .contains(&action)
        }
        Role::Caseworker => case_work.contains(&action) || action == "view_inbox",
        Role::Admin => [
            "view_queue",
            "view_case",
            "confirm_band",
            "transition",
            "manage_users",
        ]
        .contains(&action),
        Role::Auditor => [
            "view_queue",
            "view_case",
            "view_sharing_register",
            "view_dashboard",
        ]
        .contains(&action),
    }
}

#[derive(Clone, Copy)]
enum Via {
    /// A staff page (session cookie, form body with the CSRF token).
    Page,
    /// The JSON API (bearer token).
    Api,
}

struct Route {
    via: Via,
    method: &'static str,
    /// `{ref}`, `{token}` and `{onward}` (an onward referral of the case) are filled in.
    path: &'static str,
    action: &'static str,
    /// Whether it is about one case (team membership matters).
    on_case: bool,
    body: &'static str,
}

const ROUTES: &[Route] = &[
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/search?q=chloe",
        action: "view_queue",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/links",
        action: "link_people",
        on_case: true,
        body: "other={ref}&decision=reject",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/queue",
        action: "view_queue",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/referral",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/screening",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/meetings",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/onward-referrals",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/documents",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/chronology",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/band",
        action: "confirm_band",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/allocation",
        action: "allocate",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/notes/new",
        action: "add_note",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/messages/new",
        action: "message_reporter",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/actions/referrer_manages_risk",
        action: "complete_action",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/onward-referrals/new/police_intelligence",
        action: "record_onward_referral",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/plan/goals/new",
        action: "casework",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/plan/actions/new",
        action: "casework",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/plan/reviews/new",
        action: "casework",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/family",
        action: "print_for_family",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/attachments/{attachment}",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/band",
        action: "confirm_band",
        on_case: true,
        body: "band=nonsense&reason=x",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/transitions",
        action: "transition",
        on_case: true,
        body: "to=no_such_state",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/notes",
        action: "add_note",
        on_case: true,
        body: "body=",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/allocation",
        action: "allocate",
        on_case: true,
        body: "worker=nobody%40example.org",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/messages",
        action: "message_reporter",
        on_case: true,
        body: "body=",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/actions/referrer_manages_risk",
        action: "complete_action",
        on_case: true,
        body: "status=bogus",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/onward-referrals",
        action: "record_onward_referral",
        on_case: true,
        body: "kind=nonsense",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/onward-referrals/{onward}/documents/pdf",
        action: "export_document",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/onward-referrals/{onward}/exports/{export}",
        action: "export_document",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/admin/tokens",
        action: "manage_users",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/admin/tokens/{token}/revoke",
        action: "manage_users",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/admin/users",
        action: "manage_users",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/admin/users/{user}",
        action: "manage_users",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/admin/users/{user}/role",
        action: "manage_users",
        on_case: false,
        body: "role=bogus&team=&reason=",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/admin/users/{user}/deactivate",
        action: "manage_users",
        on_case: false,
        body: "reason=",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/admin/users/{user}/reactivate",
        action: "manage_users",
        on_case: false,
        body: "reason=",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/inbox",
        action: "view_inbox",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/sharing",
        action: "view_sharing_register",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/sharing.csv",
        action: "view_sharing_register",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/inbox/{item}",
        action: "view_inbox",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/inbox/{item}/attachments/0",
        action: "view_inbox",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/subject-access",
        action: "subject_access",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/inbox/{item}/complete",
        action: "convert_email",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/inbox/{item}/reject",
        action: "convert_email",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/inbox/{item}/reject",
        action: "convert_email",
        on_case: true,
        body: "how=bogus",
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals",
        action: "view_queue",
        on_case: false,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals/{ref}",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals/{ref}/chronology",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/screening",
        action: "confirm_band",
        on_case: true,
        body: r#"{"band":"nonsense","reason":"x"}"#,
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/transitions",
        action: "transition",
        on_case: true,
        body: r#"{"to":"no_such_state"}"#,
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/actions/referrer_manages_risk",
        action: "complete_action",
        on_case: true,
        body: r#"{"status":"bogus"}"#,
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/allocation",
        action: "allocate",
        on_case: true,
        body: r#"{"worker":"nobody@example.org"}"#,
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/meetings/new",
        action: "casework",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/meetings",
        action: "casework",
        on_case: true,
        body: "kind=bogus",
    },
    Route {
        via: Via::Page,
        method: "GET",
        path: "/staff/cases/{ref}/plan",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/plan/goals",
        action: "casework",
        on_case: true,
        body: "text=",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/plan/actions",
        action: "casework",
        on_case: true,
        body: "text=",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/plan/actions/{id}",
        action: "casework",
        on_case: true,
        body: "status=bogus",
    },
    Route {
        via: Via::Page,
        method: "POST",
        path: "/staff/cases/{ref}/plan/reviews",
        action: "casework",
        on_case: true,
        body: "summary=",
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals/{ref}/meetings",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/meetings",
        action: "casework",
        on_case: true,
        body: r#"{"kind":"bogus"}"#,
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals/{ref}/plan",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/plan/goals",
        action: "casework",
        on_case: true,
        body: r#"{"text":""}"#,
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/plan/actions",
        action: "casework",
        on_case: true,
        body: r#"{"text":""}"#,
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/plan/actions/{id}",
        action: "casework",
        on_case: true,
        body: r#"{"status":"bogus"}"#,
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/plan/reviews",
        action: "casework",
        on_case: true,
        body: r#"{"summary":""}"#,
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals/{ref}/onward-referrals",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/referrals/{ref}/onward-referrals",
        action: "record_onward_referral",
        on_case: true,
        body: r#"{"kind":"nonsense","lawful_basis":"x"}"#,
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals/{ref}/onward-referrals/{onward}/documents/pdf",
        action: "export_document",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals/{ref}/onward-referrals/{onward}/exports/{export}",
        action: "export_document",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals/{ref}/attachments",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "GET",
        path: "/api/v1/referrals/{ref}/attachments/{attachment}",
        action: "view_case",
        on_case: true,
        body: "",
    },
    Route {
        via: Via::Api,
        method: "POST",
        path: "/api/v1/screen",
        action: "any_staff",
        on_case: false,
        body: r#"{"service":"secos"}"#,
    },
];

#[tokio::test]
async fn the_matrix_covers_every_staff_api_endpoint_of_the_openapi_document() {
    common::each_engine(async |app| {
        let doc = app.get("/api/v1/openapi.json").await.json();
        let mut staff_endpoints = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                // `/metrics` takes the operator's metrics token, not a staff token (its own
                // tests are in health.rs).
                if op.get("security").is_none() || path == "/metrics" {
                    continue;
                }
                let covered = ROUTES.iter().any(|r| {
                    matches!(r.via, Via::Api)
                        && r.method.eq_ignore_ascii_case(method)
                        && r.path
                            .replace("{ref}", "{reference}")
                            .replace("referrer_manages_risk", "{key}")
                            .replace("{onward}", "{id}")
                            .replace("/documents/pdf", "/documents/{format}")
                            .replace("{export}", "{export_id}")
                            .replace("{attachment}", "{attachment_id}")
                            == *path
                });
                assert!(
                    covered,
                    "{method} {path} is a staff endpoint missing from the matrix"
                );
                staff_endpoints += 1;
            }
        }
        assert!(
            staff_endpoints >= 8,
            "only {staff_endpoints} staff endpoints documented"
        );
    })
    .await;
}

#[tokio::test]
async fn every_staff_route_allows_and_denies_exactly_as_the_policy_says() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let response = app
                .post_json(
                    "/api/v1/submissions",
                    &json!({"service": "secos", "stage": "referral", "audience": "professional", "answers": sample("secos-referral")}),
                )
                .await;
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
            let reference = response.json()["reference"].as_str().unwrap().to_owned();
            let referral = app.storage.find_referral(&reference).await.unwrap().unwrap();
            let onward = app
                .storage
                .record_onward_referral(&haven::storage::onward::NewOnwardReferral {
                    referral_id: &referral.id,
                    kind: "police_intelligence",
                    action_key: None,
                    recipient: "Police",
                    lawful_basis: "crime_prevention",
                    consent_sought: true,
                    consent_reason: None,
                    sent_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                    notes: None,
                    mark_action_done: false,
                    actor: "test",
                    at: chrono::Utc::now(),
                })
                .await
                .unwrap();
            let export = app
                .storage
                .record_document_export(
                    &haven::storage::onward::NewExport {
                        referral_id: &referral.id,
                        onward_referral_id: &onward,
                        format: "pdf",
                        content: b"%PDF-1.4 a file handed over",
                    },
                    "test",
                    chrono::Utc::now(),
                )
                .await
                .unwrap();
            let attachment = app.storage.referral_attachments(&referral.id).await.unwrap()[0].id.clone();
            // An emailed referral to SECOS with an attachment, waiting in its team's inbox.
            let email = "From: jo@school.example\r\nTo: secos.project@secos.cjsm.net\r\nSubject: Referral\r\n\
                 Message-ID: <matrix@school.example>\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
                 --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n\
                 %PDF-1.4\r\n%%EOF\r\n--b--\r\n";
            let item = haven::intake_email::ingest_message(&app.storage, &app.registry, &app.key, email.as_bytes(), chrono::Utc::now(), "cli")
                .await
                .unwrap()
                .item_id
                .unwrap();
            let mut checked = 0;
            for role in Role::ALL {
                for member in [true, false] {
                    let team = if member { "secos" } else { "ceop" };
                    let (user_id, _) = account(app, role, Some(team), "a-password-for-tests").await;
                    let (_, token) = app.staff(role, Some(team)).await;
                    let revocable_id = haven::crypto::new_id();
                    app.storage
                        .create_token(&haven::storage::tokens::NewApiToken {
                            id: revocable_id.clone(),
                            user_id: &user_id,
                            name: "revocable",
                            token_hash: haven::crypto::token_hash(&haven::crypto::new_api_token()),
                            actor: "test",
                        })
                        .await
                        .unwrap();
                    let mut browser = Browser::signed_in(app, &user_id).await;
                    let csrf = browser.csrf(app, "/staff/queue").await;
                    for route in ROUTES {
                        let path = route.path.replace("{ref}", &reference).replace("{token}", &revocable_id).replace("{user}", &user_id).replace("{id}", "no-such-item").replace("{onward}", &onward).replace("{export}", &export).replace("{attachment}", &attachment).replace("{item}", &item);
                        let status = match route.via {
                            Via::Page if route.method == "GET" => browser.get(app, &path).await.status,
                            Via::Page => {
                                let mut form: Vec<(String, String)> = route.body.split('&').filter(|p| !p.is_empty())
                                    .map(|p| {
                                        let (k, v) = p.split_once('=').unwrap();
                                        (k.to_owned(), v.replace("%40", "@"))
                                    })
                                    .collect();
                                form.push(("csrf".to_owned(), csrf.clone()));
                                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                                browser.post(app, &path, &form).await.status
                            }
                            Via::Api if route.method == "GET" => app.get_with_token(&path, &token).await.status,
                            Via::Api => {
                                let request = axum::http::Request::post(&path)
                                    .header("authorization", format!("Bearer {token}"))
                                    .header("content-type", "application/json")
                                    .body(axum::body::Body::from(route.body))
                                    .unwrap();
                                app.request(request).await.status
                            }
                        };
                        let sees_team = member || matches!(role, Role::Admin | Role::Auditor);
                        let expected_denial = if route.on_case && !sees_team {
                            Some(StatusCode::NOT_FOUND)
                        } else if !allowed(role, route.action) {
                            Some(StatusCode::FORBIDDEN)
                        } else {
                            None
                        };
                        match expected_denial {
                            Some(denial) => assert_eq!(
                                status, denial,
                                "{:?} {role} member={member} {} {path}", app.engine, route.method
                            ),
                            None => assert!(
                                ![StatusCode::FORBIDDEN, StatusCode::NOT_FOUND, StatusCode::UNAUTHORIZED].contains(&status)
                                    && status.as_u16() < 500
                                    && !(status == StatusCode::SEE_OTHER && matches!(route.via, Via::Page) && route.method == "GET"),
                                "{:?} {role} member={member} {} {path}: {status}", app.engine, route.method
                            ),
                        }
                        checked += 1;
                    }
                }
            }
            assert_eq!(checked, Role::ALL.len() * 2 * ROUTES.len());
        })
        .await;
}

#[tokio::test]
async fn without_a_session_or_token_staff_routes_send_you_to_sign_in_or_answer_401() {
    TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            for route in ROUTES {
                let path = route
                    .path
                    .replace("{ref}", "SEC-0000-0000")
                    .replace("{token}", "x")
                    .replace("{user}", "x")
                    .replace("{id}", "x")
                    .replace("{onward}", "x")
                    .replace("{export}", "x")
                    .replace("{attachment}", "x");
                let request = axum::http::Request::builder()
                    .method(route.method)
                    .uri(&path)
                    .header(
                        "content-type",
                        match route.via {
                            Via::Page => "application/x-www-form-urlencoded",
                            Via::Api => "application/json",
                        },
                    )
                    .body(axum::body::Body::from(route.body))
                    .unwrap();
                let response = app.request(request).await;
                match route.via {
                    Via::Page => {
                        assert_eq!(response.status, StatusCode::SEE_OTHER, "{path}");
                        assert_eq!(response.header("location"), Some("/staff/sign-in"));
                        assert_eq!(response.header("cache-control"), Some("no-store"));
                    }
                    Via::Api => assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}"),
                }
            }
        })
        .await;
}
