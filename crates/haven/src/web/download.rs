//! File downloads (onward referral documents) as the API and the staff pages send them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::cases::onward::MadeDocument;

/// A download response: attachment, never cached, never sniffed.
pub fn download(document: MadeDocument) -> Response {
    let mut response = (StatusCode::OK, document.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(document.format.content_type()),
    );
    // The file name is the reference and the kind key: ASCII letters, digits and hyphens.
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", document.file_name))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    } else {
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
