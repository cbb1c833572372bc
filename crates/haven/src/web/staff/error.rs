//! The staff pages' (and the follow-up page's) errors as GOV.UK-style HTML pages. There is
//! one error type, [`crate::web::error::WebError`]; this module only renders it as a page:
//! [`html_errors`] turns any error response of an HTML route into the error page with the
//! same status and headers (`Retry-After`, the readiness mark), from the [`ErrorPage`] every
//! error response carries. 5xx details are logged by the error itself, never shown.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use crate::web::error::ErrorPage;

/// The staff pages' name for the web layer's one error type.
pub type StaffError = crate::web::error::WebError;

/// Middleware for the HTML routers: an error response becomes the error page.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let Some(page) = response.extensions_mut().remove::<ErrorPage>() else {
        return response;
    };
    let body = error_page(&page);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response.headers_mut().remove(header::CONTENT_LENGTH);
    *response.body_mut() = Body::from(body);
    response
}

/// The staff error page (GOV.UK layout) with this title and message.
fn error_page(page: &ErrorPage) -> String {
    match super::render::render(
        "error.html",
        json!({ "title": page.title, "message": page.message }),
    ) {
        Ok(body) => body,
        // The error page itself failed: a plain sentence, still HTML.
        Err(e) => {
            tracing::error!(error = %e, "the error page failed");
            format!(
                "<!DOCTYPE html><html lang=\"en-GB\"><head><title>{title}</title></head><body><main><h1>{title}</h1></main></body></html>",
                title = page.title
            )
        }
    }
}
