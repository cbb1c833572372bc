//! `GET /assets/*`: the committed `assets/` folder, embedded in the binary.
//!
//! Pages refer to assets under a fingerprinted prefix, `/assets/<hash>/haven.min.css`, where
//! `<hash>` is the start of a SHA-256 over every asset's name and content, computed once at
//! start-up. Those addresses change whenever any asset changes, so they are served
//! `public, max-age=31536000, immutable`. A path prefix (not `?v=`) keeps `haven.js`'s
//! relative `import './govuk-frontend.min.js'` fingerprinted too. The plain addresses
//! (`/assets/haven.min.css`) still work, with a one-hour cache, for anything that links them
//! directly. Gzip is applied by the public router's compression layer.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::respond;

/// (path under `assets/`, content type, content).
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "haven.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../../../assets/haven.min.css"),
    ),
    (
        "haven.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../../assets/haven.js"),
    ),
    (
        "govuk-frontend.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../../assets/govuk-frontend.min.js"),
    ),
    (
        "images/favicon.svg",
        "image/svg+xml",
        include_bytes!("../../../../../assets/images/favicon.svg"),
    ),
    (
        "govuk-frontend-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../../../../assets/govuk-frontend-LICENSE.txt"),
    ),
];

/// Cache of fingerprinted addresses: their content never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache of plain addresses: their content changes with a new release.
const SHORT: &str = "public, max-age=3600";

static FINGERPRINT: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for (name, _, content) in FILES {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((content.len() as u64).to_be_bytes());
        hasher.update(content);
    }
    hex::encode(&hasher.finalize()[..6])
});

/// The fingerprint of the current assets (12 hex characters).
pub fn fingerprint() -> &'static str {
    &FINGERPRINT
}

/// The prefix pages use for assets: `/assets/<fingerprint>/`.
pub fn asset_path() -> String {
    format!("/assets/{}/", fingerprint())
}

/// Serves one asset.
pub async fn serve(Path(path): Path<String>) -> Response {
    let (name, cache) = match path.split_once('/') {
        Some((first, rest)) if first == fingerprint() => (rest, IMMUTABLE),
        _ => (path.as_str(), SHORT),
    };
    let Some((_, content_type, content)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return respond::error(None, StatusCode::NOT_FOUND).into_response();
    };
    let mut response = (*content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
