//! The form session: a random id in a cookie that ties a browser to its draft answers, and
//! the CSRF token derived from it.
//!
//! - The id is 26 Crockford base32 symbols (130 random bits). The database keeps only its
//!   keyed hash (`SecretKey::keyed_hash`), so a copied database cannot be used to take over a
//!   browser's form.
//! - Cookie: `haven_form=ID; Path=/services; HttpOnly; SameSite=Strict; Secure`, no expiry
//!   (it ends when the browser closes; the draft itself expires on the server). `Secure` is
//!   left out only when the request is plain HTTP to a loopback host: the `Host` header names
//!   `localhost`, `127.x.x.x` or `[::1]` and no `X-Forwarded-Proto: https` says a TLS proxy
//!   is in front. Anywhere else browsers reach Haven through TLS (a proxy terminates it), and
//!   the cookie must never travel over plain HTTP.
//! - CSRF: every form carries `HMAC(key, "csrf:" + id)`, compared in constant time. It is
//!   bound to the session, so a token from another browser is worthless; `SameSite=Strict`
//!   already keeps the cookie off cross-site posts, the token covers browsers without it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use haven_pages::naming;

use crate::crypto::{self, SecretKey};
use crate::web::AppState;

/// Name of the form-session cookie.
pub const COOKIE: &str = "haven_form";

/// Symbols of a form-session id (26 × 5 = 130 random bits).
const ID_SYMBOLS: usize = 26;

/// This request's form session.
#[derive(Clone)]
pub struct FormSession {
    id: String,
    /// The browser sent no (valid) session cookie: this one is new and must be set.
    pub is_new: bool,
    secure: bool,
}

// Hand-written: the id is a bearer secret.
impl std::fmt::Debug for FormSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormSession")
            .field("is_new", &self.is_new)
            .finish_non_exhaustive()
    }
}

impl FormSession {
    /// What the database stores for this session.
    pub fn hash(&self, key: &SecretKey) -> String {
        key.keyed_hash(format!("form-session:{}", self.id).as_bytes())
    }

    /// The CSRF token of this session's forms.
    pub fn csrf_token(&self, key: &SecretKey) -> String {
        key.keyed_hash(format!("csrf:{}", self.id).as_bytes())
    }

    /// Whether `form` carries this session's CSRF token. A new session (no cookie came back)
    /// never matches: its form was not rendered for this browser.
    pub fn csrf_ok(&self, key: &SecretKey, form: &[(String, String)]) -> bool {
        if self.is_new {
            return false;
        }
        let sent = form
            .iter()
            .find(|(name, _)| name == naming::CSRF_FIELD)
            .map_or("", |(_, value)| value.as_str());
        constant_time_eq(sent.as_bytes(), self.csrf_token(key).as_bytes())
    }

    /// The `Set-Cookie` header for a new session, `None` for one the browser already has.
    pub fn set_cookie(&self) -> Option<HeaderValue> {
        if !self.is_new {
            return None;
        }
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={}; Path=/services; HttpOnly; SameSite=Strict{secure}",
            self.id
        ))
        .ok()
    }

    /// A new session for a request with these headers.
    pub fn new_for(headers: &HeaderMap) -> Self {
        Self {
            id: crypto::random_symbols(ID_SYMBOLS),
            is_new: true,
            secure: !is_plain_http_to_loopback(headers),
        }
    }
}

impl FromRequestParts<AppState> for FormSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(match cookie_value(&parts.headers) {
            Some(id) => Self {
                id,
                is_new: false,
                secure: !is_plain_http_to_loopback(&parts.headers),
            },
            None => Self::new_for(&parts.headers),
        })
    }
}

/// The session id from the `Cookie` headers, if one is well formed.
fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| is_session_id(value))
}

fn is_session_id(value: &str) -> bool {
    value.len() == ID_SYMBOLS
        && value
            .bytes()
            .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
}

/// Plain HTTP to a loopback host (development, the browser tests): the one case where the
/// cookie is sent without `Secure`.
fn is_plain_http_to_loopback(headers: &HeaderMap) -> bool {
    let forwarded_https = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("https")));
    if forwarded_https {
        return false;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn secure_is_dropped_only_for_plain_http_to_loopback() {
        assert!(is_plain_http_to_loopback(&headers(&[(
            "host",
            "127.0.0.1:8080"
        )])));
        assert!(is_plain_http_to_loopback(&headers(&[(
            "host",
            "localhost"
        )])));
        assert!(is_plain_http_to_loopback(&headers(&[("host", "[::1]:80")])));
        assert!(!is_plain_http_to_loopback(&headers(&[(
            "host",
            "haven.example.org"
        )])));
        assert!(!is_plain_http_to_loopback(&headers(&[])));
        assert!(!is_plain_http_to_loopback(&headers(&[
            ("host", "127.0.0.1"),
            ("x-forwarded-proto", "https")
        ])));
    }

    #[test]
    fn only_well_formed_session_ids_are_read() {
        let id = crypto::random_symbols(ID_SYMBOLS);
        let cookie = format!("other=1; {COOKIE}={id}");
        assert_eq!(
            cookie_value(&headers(&[("cookie", &cookie)])).as_deref(),
            Some(id.as_str())
        );
        assert_eq!(
            cookie_value(&headers(&[("cookie", "haven_form=short")])),
            None
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
