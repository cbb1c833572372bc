//! The form session: a random id in a cookie that ties a browser to its draft answers, and
//! the CSRF token derived from it.
//!
//! - The id is 26 Crockford base32 symbols (130 random bits). The database keeps only its
//!   keyed hash (`SecretKey::keyed_hash`), so a copied database cannot be used to take over a
//!   browser's form.
//! - Only ids this server issued are accepted: the cookie is `ID.TAG`, where `TAG` is a keyed
//!   hash of the id under the server secret (shared by every server on the database). A
//!   cookie planted on someone's device with an id of the planter's choosing has no valid tag
//!   and gets a fresh session instead. A stateless tag rather than a table of issued ids: it
//!   needs no write on the first visit, and issued-but-unused ids cost nothing.
//! - The id is replaced (rotated) when a draft is created and when the audience is chosen
//!   (`draft::store_rotating`): the draft moves to the new id in the same transaction, so an
//!   id someone obtained from Haven and planted before the form was started reaches nothing.
//! - Cookie: `haven_form=ID.TAG; Path=/services; HttpOnly; SameSite=Strict; Secure`, no
//!   expiry (it ends when the browser closes; the draft itself expires on the server).
//!   `Secure` follows the setting `cookie_secure` (on unless Haven listens on a loopback
//!   address), never the request's `Host` header, which the client chooses.
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

/// Hex characters of the issuing tag kept in the cookie (128 bits of the HMAC).
const TAG_CHARS: usize = 32;

/// This request's form session.
#[derive(Clone)]
pub struct FormSession {
    id: String,
    /// `ID.TAG`, the cookie value.
    cookie: String,
    /// The browser sent no (valid, issued) session cookie: this one is new.
    pub is_new: bool,
    /// The answer must set the cookie (a new or rotated id).
    send_cookie: bool,
    /// The keyed hash of the id this request came with, until the draft is stored under
    /// the rotated id.
    previous_hash: Option<String>,
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
        id_hash(key, &self.id)
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

    /// The `Set-Cookie` header for a new or rotated session, `None` when the browser already
    /// has this one.
    pub fn set_cookie(&self) -> Option<HeaderValue> {
        if !self.send_cookie {
            return None;
        }
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={}; Path=/services; HttpOnly; SameSite=Strict{secure}",
            self.cookie
        ))
        .ok()
    }

    /// A new session (`secure`: the cookie's `Secure` attribute, settings `cookie_secure`).
    pub fn new_session(key: &SecretKey, secure: bool) -> Self {
        let id = crypto::random_symbols(ID_SYMBOLS);
        Self {
            cookie: cookie_for(key, &id),
            id,
            is_new: true,
            send_cookie: true,
            previous_hash: None,
            secure,
        }
    }

    /// Replaces the id by a new one (the answer sets it). The draft store that follows
    /// ([`Self::take_previous_hash`]) moves this session's drafts to the new id.
    pub fn rotate(&mut self, key: &SecretKey) {
        if !self.is_new && self.previous_hash.is_none() {
            self.previous_hash = Some(self.hash(key));
        }
        self.id = crypto::random_symbols(ID_SYMBOLS);
        self.cookie = cookie_for(key, &self.id);
        self.send_cookie = true;
    }

    /// The stored hash of the id before [`Self::rotate`], once.
    pub fn take_previous_hash(&mut self) -> Option<String> {
        self.previous_hash.take()
    }
}

impl FromRequestParts<AppState> for FormSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secure = state.options.cookie_secure;
        Ok(match issued_id(&state.key, &parts.headers) {
            Some((id, cookie)) => Self {
                id,
                cookie,
                is_new: false,
                send_cookie: false,
                previous_hash: None,
                secure,
            },
            None => Self::new_session(&state.key, secure),
        })
    }
}

fn id_hash(key: &SecretKey, id: &str) -> String {
    key.keyed_hash(format!("form-session:{id}").as_bytes())
}

/// The tag proving this server issued `id`.
fn tag(key: &SecretKey, id: &str) -> String {
    let mut tag = key.keyed_hash(format!("form-session-issued:{id}").as_bytes());
    tag.truncate(TAG_CHARS);
    tag
}

fn cookie_for(key: &SecretKey, id: &str) -> String {
    format!("{id}.{}", tag(key, id))
}

/// The session id and cookie value from the `Cookie` headers, if one is well formed and
/// carries this server's tag.
fn issued_id(key: &SecretKey, headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())?;
    let (id, given) = value.split_once('.')?;
    if !is_session_id(id) || !constant_time_eq(given.as_bytes(), tag(key, id).as_bytes()) {
        return None;
    }
    Some((id.to_owned(), value.clone()))
}

fn is_session_id(value: &str) -> bool {
    value.len() == ID_SYMBOLS
        && value
            .bytes()
            .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
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
    fn only_issued_session_ids_are_read() {
        let key = SecretKey::from_hex(&"11".repeat(32)).unwrap();
        let other = SecretKey::from_hex(&"22".repeat(32)).unwrap();
        let session = FormSession::new_session(&key, true);
        let cookie = format!("other=1; {COOKIE}={}", session.cookie);
        assert_eq!(
            issued_id(&key, &headers(&[("cookie", &cookie)])).map(|(id, _)| id),
            Some(session.id.clone())
        );
        // Another server secret did not issue it.
        assert_eq!(issued_id(&other, &headers(&[("cookie", &cookie)])), None);
        // A well-formed id without its tag, or with a wrong one, is not accepted.
        let bare = format!("{COOKIE}={}", session.id);
        assert_eq!(issued_id(&key, &headers(&[("cookie", &bare)])), None);
        let forged = format!("{COOKIE}={}.{}", session.id, "0".repeat(TAG_CHARS));
        assert_eq!(issued_id(&key, &headers(&[("cookie", &forged)])), None);
        assert_eq!(
            issued_id(&key, &headers(&[("cookie", "haven_form=short")])),
            None
        );
    }

    #[test]
    fn rotation_gives_a_new_id_and_remembers_the_old_hash() {
        let key = SecretKey::from_hex(&"11".repeat(32)).unwrap();
        let mut session = FormSession::new_session(&key, false);
        session.is_new = false;
        session.send_cookie = false;
        let before = session.hash(&key);
        session.rotate(&key);
        assert_ne!(session.hash(&key), before);
        assert!(session.set_cookie().is_some());
        assert_eq!(session.take_previous_hash(), Some(before));
        assert_eq!(session.take_previous_hash(), None);
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
