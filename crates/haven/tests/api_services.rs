//! `GET /api/v1/services`, `GET /api/v1/services/{id}` and the OpenAPI document.

use crate::common;

use axum::http::{Method, StatusCode};
use common::each_engine;

#[tokio::test]
async fn lists_every_service_with_audiences_and_stages() {
    each_engine(async |app| {
        let response = app.get("/api/v1/services").await;
        assert_eq!(response.status, StatusCode::OK);
        let list = response.json();
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["id"].as_str())
            .collect();
        assert_eq!(ids, ["demo", "other"]);
        let demo = &list[0];
        assert_eq!(demo["name"], "Demo service");
        assert_eq!(demo["audiences"][0]["key"], "professional");
        let stages: Vec<&str> = demo["stages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["key"].as_str())
            .collect();
        assert_eq!(stages, ["referral", "detailed", "internal"]);
        assert_eq!(demo["stages"][0]["access"], "public");
    })
    .await;
}

#[tokio::test]
async fn the_built_in_services_are_served() {
    common::TestAppBuilder::default()
        .builtins()
        .each_engine(async |app| {
            let list = app.get("/api/v1/services").await.json();
            let ids: Vec<&str> = list
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s["id"].as_str())
                .collect();
            assert_eq!(ids, ["ceop", "cyber-choices", "secos"]);
            for id in ids {
                let response = app.get(&format!("/api/v1/services/{id}")).await;
                assert_eq!(response.status, StatusCode::OK, "{id}");
                assert!(response.json().get("screening").is_none());
            }
        })
        .await;
}

#[tokio::test]
async fn shows_the_public_part_of_a_definition() {
    each_engine(async |app| {
        let response = app.get("/api/v1/services/demo").await;
        assert_eq!(response.status, StatusCode::OK);
        let def = response.json();
        let question = &def["stages"][0]["pages"][0]["questions"][1];
        assert_eq!(question["key"], "young_person.date_of_birth");
        assert_eq!(question["type"], "date");
        assert_eq!(question["help"], "For example, 2011-04-27");
        assert_eq!(question["required"], true);
        let options = &def["stages"][0]["pages"][1]["questions"][0]["options"];
        assert_eq!(options[0]["key"], "online_contact");
        assert_eq!(
            def["emergency_message"],
            "If a child is in immediate danger, call 999."
        );
        // Staff-only stages are listed without their questions.
        assert_eq!(def["stages"][2]["access"], "staff");
        assert_eq!(def["stages"][2]["pages"].as_array().map(Vec::len), Some(0));
        // Internal parts of the definition stay internal.
        for internal in ["workflow", "screening", "slas", "team", "reference_prefix"] {
            assert!(def.get(internal).is_none(), "{internal} must not be public");
        }
        assert!(!response.text().contains("data_class"));
    })
    .await;
}

#[tokio::test]
async fn unknown_service_is_404_in_the_error_shape() {
    each_engine(async |app| {
        let response = app.get("/api/v1/services/nope").await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.error_code(), "not_found");
        assert!(response.json()["error"]["message"].is_string());
        assert_eq!(response.json()["error"]["fields"], serde_json::json!([]));
    })
    .await;
}

/// Every route of this stage, as the contract lists them.
const ROUTES: [(&str, &str); 31] = [
    ("GET", "/api/v1/services"),
    ("GET", "/api/v1/services/{id}"),
    ("POST", "/api/v1/submissions"),
    ("POST", "/api/v1/attachments"),
    ("GET", "/api/v1/referrals"),
    ("GET", "/api/v1/referrals/{reference}"),
    ("POST", "/api/v1/referrals/{reference}/actions/{key}"),
    ("POST", "/api/v1/referrals/{reference}/allocation"),
    ("POST", "/api/v1/anonymity-check"),
    ("POST", "/api/v1/screen"),
    ("POST", "/api/v1/referrals/{reference}/screening"),
    ("POST", "/api/v1/referrals/{reference}/transitions"),
    ("GET", "/api/v1/referrals/{reference}/chronology"),
    ("GET", "/api/v1/referrals/{reference}/meetings"),
    ("POST", "/api/v1/referrals/{reference}/meetings"),
    ("GET", "/api/v1/referrals/{reference}/plan"),
    ("POST", "/api/v1/referrals/{reference}/plan/goals"),
    ("POST", "/api/v1/referrals/{reference}/plan/actions"),
    ("POST", "/api/v1/referrals/{reference}/plan/actions/{id}"),
    ("POST", "/api/v1/referrals/{reference}/plan/reviews"),
    ("GET", "/api/v1/referrals/{reference}/onward-referrals"),
    ("POST", "/api/v1/referrals/{reference}/onward-referrals"),
    (
        "GET",
        "/api/v1/referrals/{reference}/onward-referrals/{id}/documents/{format}",
    ),
    (
        "GET",
        "/api/v1/referrals/{reference}/onward-referrals/{id}/exports/{export_id}",
    ),
    ("GET", "/api/v1/referrals/{reference}/attachments"),
    (
        "GET",
        "/api/v1/referrals/{reference}/attachments/{attachment_id}",
    ),
    ("GET", "/api/v1/follow-up"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
];

#[tokio::test]
async fn the_openapi_document_and_the_router_describe_the_same_routes() {
    each_engine(async |app| {
        let response = app.get("/api/v1/openapi.json").await;
        assert_eq!(response.status, StatusCode::OK);
        let doc = response.json();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
        documented.sort();
        let mut expected: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        expected.sort();
        assert_eq!(
            documented, expected,
            "document ≠ the routes this stage serves"
        );
        // Every documented operation is served by the router (not the fallback, not 405).
        for (method, path) in &documented {
            let concrete = path
                .replace("{id}", "demo")
                .replace("{reference}", "DEM-0000-0000")
                .replace("{key}", "vemt_referral")
                .replace("{format}", "pdf")
                .replace("{export_id}", "demo");
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let response = app.send(method.clone(), &concrete, None, "").await;
            assert_ne!(
                response.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            if response.status == StatusCode::NOT_FOUND {
                assert_ne!(
                    response.error_code(),
                    "no_route",
                    "{method} {path} is not routed"
                );
            }
        }
        // The staff endpoint declares its bearer security; errors use the shared schema.
        let referral = &doc["paths"]["/api/v1/referrals/{reference}"]["get"];
        assert_eq!(referral["security"][0]["bearer"], serde_json::json!([]));
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    })
    .await;
}
