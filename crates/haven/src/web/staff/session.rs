//! Staff sessions: the cookie, loading and expiring the server-side row, and CSRF tokens.
//!
//! The cookie `haven_session` holds 260 random bits; the database holds only their SHA-256.
//! A session ends after 30 minutes without a request (idle) or 8 hours after sign-in
//! (absolute), whichever is first, and when the account's password or role changes (those
//! delete its rows). CSRF tokens are `HMAC(server key, "csrf:" ‖ session id)`: nothing to
//! store, different per session, and unknowable without the cookie.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use chrono::TimeDelta;
use subtle::ConstantTimeEq;

use super::error::StaffError;
use crate::access::Staff;
use crate::storage::sessions::{SessionRecord, SessionStage};
use crate::web::AppState;

pub const SESSION_COOKIE: &str = "haven_session";
/// The sign-in form's double-submit CSRF cookie (there is no session yet).
pub const LOGIN_COOKIE: &str = "haven_signin";
pub const IDLE_TIMEOUT: TimeDelta = TimeDelta::minutes(30);
pub const ABSOLUTE_TIMEOUT: TimeDelta = TimeDelta::hours(8);
/// Activity is written at most this often, so reading pages is not a write each time.
const TOUCH_EVERY: TimeDelta = TimeDelta::seconds(60);

/// A `Set-Cookie` value: host-only, staff paths, never readable by scripts, never sent
/// cross-site. `max_age = Some(0)` removes it.
pub fn cookie(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.map_or_else(String::new, |s| format!("; Max-Age={s}"));
    let text = format!("{name}={value}; Path=/staff; HttpOnly; Secure; SameSite=Strict{age}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Adds a `Set-Cookie` header.
pub fn set_cookie(headers: &mut HeaderMap, value: HeaderValue) {
    headers.append(SET_COOKIE, value);
}

/// The value of cookie `name` from the request.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 200)
}

/// Constant-time equality of two tokens (an empty `given` never matches).
pub fn tokens_match(expected: &str, given: &str) -> bool {
    !given.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

pub use crate::auth::session_id::{new_session_id, session_hash};

/// A session found from the request's cookie, still within its time limits.
pub struct CurrentSession {
    pub id_hash: String,
    pub csrf: String,
    pub record: SessionRecord,
}

impl CurrentSession {
    /// The member of staff this session belongs to.
    pub fn staff(&self) -> Staff {
        let user = &self.record.login.user;
        Staff {
            user_id: user.id.clone(),
            email: user.email.clone(),
            role: user.role,
            team: user.team.clone(),
        }
    }

    /// Refuses the request (403) unless `given` is this session's CSRF token.
    pub fn check_csrf(&self, given: &str) -> Result<(), StaffError> {
        if tokens_match(&self.csrf, given) {
            Ok(())
        } else {
            Err(StaffError::Csrf)
        }
    }
}

/// Finds, checks and touches the session of a request. `None` when there is none, it
/// expired (then it is deleted), or the account is disabled.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, StaffError> {
    let Some(id) = read_cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let id_hash = session_hash(&id);
    let Some(record) = state.storage.find_session(&id_hash).await? else {
        return Ok(None);
    };
    let now = state.now();
    let expired = now - record.last_seen_at >= IDLE_TIMEOUT
        || now - record.created_at >= ABSOLUTE_TIMEOUT
        || record.login.user.disabled;
    if expired {
        state.storage.delete_session(&id_hash).await?;
        return Ok(None);
    }
    if now - record.last_seen_at >= TOUCH_EVERY {
        state.storage.touch_session(&id_hash, now).await?;
    }
    Ok(Some(CurrentSession {
        csrf: state.key.keyed_hash(format!("csrf:{id}").as_bytes()),
        id_hash,
        record,
    }))
}

/// Where a session at `stage` goes next.
pub fn next_step(stage: SessionStage) -> &'static str {
    match stage {
        SessionStage::SecondFactor => "/staff/sign-in/code",
        SessionStage::ChangePassword => "/staff/password",
        SessionStage::Enrol => "/staff/sign-in/set-up",
        SessionStage::Active => "/staff/queue",
    }
}

/// A fully signed-in member of staff (both factors, password changed, TOTP enrolled).
/// Not signed in → the sign-in page; part way → the next sign-in step.
pub struct SignedIn(pub CurrentSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = StaffError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, StaffError> {
        let session = current(state, &parts.headers)
            .await?
            .ok_or(StaffError::SignIn)?;
        match session.record.stage {
            SessionStage::Active => Ok(SignedIn(session)),
            other => Err(StaffError::Continue(next_step(other))),
        }
    }
}

/// A session at any stage of sign-in (the sign-in steps' own pages).
pub struct AnySession(pub CurrentSession);

impl FromRequestParts<AppState> for AnySession {
    type Rejection = StaffError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, StaffError> {
        current(state, &parts.headers)
            .await?
            .map(AnySession)
            .ok_or(StaffError::SignIn)
    }
}
