//! Signing in with a password, signing out, and changing the password (forced after the
//! one-time password from `haven admin create-user`).
//!
//! An unknown email and a wrong password get the same page, after the same work (a dummy
//! Argon2 verification). Attempts are counted per account and per client address in the
//! database, shared by every server (429 past the limit; see [`super::attempts`]). Every
//! success and failure is an audit entry.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::attempts::Counters;
use super::error::StaffError;
use super::render::page;
use super::session::{
    self, AnySession, LOGIN_COOKIE, SESSION_COOKIE, cookie, new_session_id, read_cookie,
    session_hash, set_cookie, tokens_match,
};
use crate::auth::password;
use crate::storage::audit::AuditEntry;
use crate::storage::sessions::{LoginRecord, SessionStage};
use crate::storage::users::normalise_email;
use crate::web::AppState;
use crate::web::extract::ClientIp;

const WRONG: &str = "Enter a correct email address and password";

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

fn sign_in_page(status: StatusCode, csrf: &str, email: &str, error: Option<&str>) -> Response {
    page(
        status,
        "sign_in.html",
        json!({ "title": "Sign in", "csrf": csrf, "email": email, "error": error }),
    )
}

/// `GET /staff/sign-in`.
pub async fn show(headers: HeaderMap) -> Response {
    let (token, fresh) = match read_cookie(&headers, LOGIN_COOKIE) {
        Some(token) => (token, false),
        None => (crate::crypto::random_symbols(32), true),
    };
    let mut response = sign_in_page(StatusCode::OK, &token, "", None);
    if fresh {
        set_cookie(response.headers_mut(), cookie(LOGIN_COOKIE, &token, None));
    }
    response
}

async fn audit(state: &AppState, action: &str, user_id: Option<&str>, reason: Option<&str>) {
    let now = state.now();
    let mut entry = AuditEntry::new(
        now,
        user_id.map_or_else(|| "public".to_owned(), |id| format!("user:{id}")),
        action,
        "staff_user",
        "",
    );
    entry.record_id = user_id.map(str::to_owned);
    entry.reason = reason.map(str::to_owned);
    if let Err(e) = state.storage.append_audit(&entry).await {
        tracing::error!(error = %e, "could not audit a sign-in event");
    }
}

/// Verifies a password on a blocking thread (Argon2 is deliberately slow).
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || password::verify(&password, hash.as_deref()))
        .await
        .unwrap_or(false)
}

/// The first stage of a new session for an account whose password was just accepted.
pub fn stage_after_password(login: &LoginRecord) -> SessionStage {
    if login.totp_secret.is_some() {
        SessionStage::SecondFactor
    } else if login.must_change_password {
        SessionStage::ChangePassword
    } else {
        SessionStage::Enrol
    }
}

/// Starts a session at `stage` and answers with its cookie and a redirect to the next step.
pub async fn start_session(
    state: &AppState,
    user_id: &str,
    stage: SessionStage,
) -> Result<Response, StaffError> {
    let id = new_session_id();
    let now = state.now();
    state
        .storage
        .create_session(&session_hash(&id), user_id, stage, now)
        .await?;
    let mut response = Redirect::to(session::next_step(stage)).into_response();
    set_cookie(response.headers_mut(), cookie(SESSION_COOKIE, &id, None));
    set_cookie(response.headers_mut(), cookie(LOGIN_COOKIE, "", Some(0)));
    Ok(response)
}

/// `POST /staff/sign-in`.
pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, StaffError> {
    let expected = read_cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !tokens_match(&expected, &form.csrf) {
        return Err(StaffError::Csrf);
    }
    let email = normalise_email(&form.email);
    let address = ip.map_or_else(|| "unknown".to_owned(), |i| i.to_string());
    let counters = Counters::password(&state, &email, &address);
    if let Some(wait) = counters.attempt(&state).await? {
        audit(&state, "signin.throttled", None, None).await;
        return Err(StaffError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    let login = state.storage.find_login(&email).await?;
    let ok = verify_password(
        form.password,
        login.as_ref().map(|l| l.password_hash.clone()),
    )
    .await;
    let login = login.filter(|l| ok && !l.user.disabled);
    let Some(login) = login else {
        // The attempt stays counted: it failed.
        let known = state.storage.find_user_by_email(&email).await?;
        if let Some(user) = &known {
            // Shown to the owner after their next sign-in.
            state
                .storage
                .record_failed_signin(&user.id, state.now())
                .await?;
        }
        audit(
            &state,
            "signin.failed",
            known.as_ref().map(|u| u.id.as_str()),
            None,
        )
        .await;
        return Ok(sign_in_page(StatusCode::OK, &expected, &email, Some(WRONG)));
    };
    let stage = stage_after_password(&login);
    counters
        .succeeded(&state, stage != SessionStage::SecondFactor)
        .await?;
    audit(
        &state,
        "signin.password_accepted",
        Some(&login.user.id),
        None,
    )
    .await;
    start_session(&state, &login.user.id, stage).await
}

/// A form with only a CSRF token (sign-out, revoke).
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /staff/sign-out` (CSRF-checked, like every state change).
pub async fn sign_out(
    State(state): State<AppState>,
    AnySession(session): AnySession,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    state.storage.delete_session(&session.id_hash).await?;
    audit(&state, "signout", Some(&session.record.login.user.id), None).await;
    let mut response = Redirect::to("/staff/sign-in").into_response();
    set_cookie(response.headers_mut(), cookie(SESSION_COOKIE, "", Some(0)));
    Ok(response)
}

/// The change-password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    csrf: String,
}

fn password_page(session: &session::CurrentSession, errors: &[(&str, &str)]) -> Response {
    let forced = session.record.stage == SessionStage::ChangePassword;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let errors: Vec<_> = errors
        .iter()
        .map(|(field, text)| json!({ "field": field, "text": text }))
        .collect();
    page(
        status,
        "password.html",
        json!({
            "title": if forced { "Choose a new password" } else { "Change your password" },
            "forced": forced,
            "csrf": session.csrf,
            "errors": errors,
            "signed_in": session.record.stage == SessionStage::Active,
            "email": session.record.login.user.email,
        }),
    )
}

/// `GET /staff/password`.
pub async fn show_change_password(AnySession(session): AnySession) -> Result<Response, StaffError> {
    match session.record.stage {
        SessionStage::ChangePassword | SessionStage::Active => Ok(password_page(&session, &[])),
        other => Err(StaffError::Continue(session::next_step(other))),
    }
}

/// `POST /staff/password`: checks the current password and the new one's strength, stores
/// it, ends every session of the account, and starts a new one. The current password is
/// throttled like sign-in (same counters): a stolen session cannot guess it freely.
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AnySession(session): AnySession,
    Form(form): Form<PasswordForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    if !matches!(
        session.record.stage,
        SessionStage::ChangePassword | SessionStage::Active
    ) {
        return Err(StaffError::Continue(session::next_step(
            session.record.stage,
        )));
    }
    let login = &session.record.login;
    let address = ip.map_or_else(|| "unknown".to_owned(), |i| i.to_string());
    let counters = Counters::password(&state, &login.user.email, &address);
    if let Some(wait) = counters.attempt(&state).await? {
        audit(&state, "password.throttled", Some(&login.user.id), None).await;
        return Err(StaffError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    let mut errors = Vec::new();
    if verify_password(form.current_password, Some(login.password_hash.clone())).await {
        counters.succeeded(&state, false).await?;
    } else {
        audit(&state, "password.change_failed", Some(&login.user.id), None).await;
        errors.push(("current_password", "Enter your current password correctly"));
    }
    if let Err(why) = password::check_new(&form.new_password, &login.user.email) {
        errors.push(("new_password", why));
    } else if form.new_password != form.confirm_password {
        errors.push(("confirm_password", "Enter the same new password twice"));
    }
    if !errors.is_empty() {
        return Ok(password_page(&session, &errors));
    }
    let new_password = form.new_password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&new_password))
        .await
        .map_err(|e| StaffError::Internal(e.to_string()))?
        .map_err(|e| StaffError::Internal(e.to_string()))?;
    let user_id = login.user.id.clone();
    let actor = format!("user:{user_id}");
    let now = state.now();
    state
        .storage
        .change_password(&user_id, &hash, &actor, now)
        .await?;
    let stage = if login.totp_secret.is_some() {
        SessionStage::Active
    } else {
        SessionStage::Enrol
    };
    start_session(&state, &user_id, stage).await
}
