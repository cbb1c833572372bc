//! File downloads (onward referral documents, a case's attached files) as the API and the
//! staff pages send them.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::cases::attachments::Download;
use crate::cases::onward::MadeDocument;
use crate::storage::Storage;

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

/// An attached file of a case, streamed a piece at a time as storage opens it (never held
/// whole): `Content-Disposition: attachment`, the type from [`crate::cases::attachments::download_type`]
/// (never HTML or SVG), its length, `nosniff`, never cached. A chunk that fails to open ends
/// the body early, so the client sees a short download, never altered bytes.
pub fn attachment(storage: Storage, file: Download) -> Response {
    let Download {
        summary,
        content_type,
        file_name,
        reader,
    } = file;
    let pieces = futures_util::stream::unfold(Some(reader), move |reader| {
        let storage = storage.clone();
        async move {
            let mut reader = reader?;
            match storage.next_piece(&mut reader).await {
                Ok(Some(piece)) => Some((
                    Ok::<_, std::io::Error>(Bytes::copy_from_slice(&piece)),
                    Some(reader),
                )),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "an attachment could not be read to the end");
                    Some((Err(std::io::Error::other("attachment unreadable")), None))
                }
            }
        }
    });
    let mut response = (StatusCode::OK, Body::from_stream(pieces)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(len) = u64::try_from(summary.size_bytes) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
