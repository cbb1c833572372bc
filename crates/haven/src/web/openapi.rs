//! The OpenAPI 3.1 document: the shared parts (title, security scheme, error schema) here,
//! each operation next to its handler (`#[utoipa::path]`), assembled by `web::routes`.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;

/// Name of the bearer-token security scheme in the document (operations name it as the
/// literal `"bearer"`, which utoipa requires).
pub const BEARER: &str = "bearer";

/// The document's fixed parts.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Haven API",
        version = "1",
        description = "Safeguarding referrals: public submissions and staff access to referrals. \
            Errors are always `{\"error\": {\"code\", \"message\", \"fields\": [{\"field\", \"message\"}]}}`."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme),
    tags(
        (name = "services", description = "The services Haven runs and their public forms"),
        (name = "submissions", description = "Public submissions (rate limited)"),
        (name = "referrals", description = "Referrals, for staff with an API token"),
        (name = "checks", description = "Anonymity check and screening that store nothing"),
        (name = "operations", description = "Health, readiness, metrics and this document")
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The serialised document, added to requests by the router.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<str>);

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json"))
)]
pub async fn document(Extension(OpenApiJson(json)): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
}
