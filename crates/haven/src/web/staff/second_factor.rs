//! The second factor: entering a TOTP (or recovery) code after the password, and enrolling
//! an authenticator app (QR code as inline SVG plus the secret as text, confirmed by a first
//! code; ten single-use recovery codes shown once and stored as keyed hashes).

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::attempts::Counters;
use super::error::StaffError;
use super::render::page;
use super::session::{self, AnySession, CurrentSession};
use crate::auth::totp;
use crate::crypto::{SecretKey, normalise_code};
use crate::storage::audit::AuditEntry;
use crate::storage::sessions::SessionStage;
use crate::web::AppState;

/// A code form.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

/// The stored form of a recovery code.
pub fn recovery_hash(key: &SecretKey, code: &str) -> String {
    key.keyed_hash(format!("recovery:{}", normalise_code(code)).as_bytes())
}

fn require(session: &CurrentSession, stage: SessionStage) -> Result<(), StaffError> {
    if session.record.stage == stage {
        Ok(())
    } else {
        Err(StaffError::Continue(session::next_step(
            session.record.stage,
        )))
    }
}

fn code_page(session: &CurrentSession, error: Option<&str>) -> Response {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        status,
        "code.html",
        json!({ "title": "Enter your security code", "csrf": session.csrf, "error": error }),
    )
}

/// `GET /staff/sign-in/code`.
pub async fn show_verify(AnySession(session): AnySession) -> Result<Response, StaffError> {
    require(&session, SessionStage::SecondFactor)?;
    Ok(code_page(&session, None))
}

async fn audit(state: &AppState, user_id: &str, action: &str) -> Result<(), StaffError> {
    let entry = AuditEntry::new(
        state.now(),
        format!("user:{user_id}"),
        action,
        "staff_user",
        user_id,
    );
    state.storage.append_audit(&entry).await?;
    Ok(())
}

/// `POST /staff/sign-in/code`: a TOTP code not used before, or an unused recovery code.
pub async fn verify(
    State(state): State<AppState>,
    AnySession(session): AnySession,
    Form(form): Form<CodeForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    require(&session, SessionStage::SecondFactor)?;
    let login = &session.record.login;
    let user_id = login.user.id.clone();
    let now = state.now();
    let counters = Counters::second_factor(&state, &login.user.email);
    if let Some(wait) = counters.attempt(&state).await? {
        audit(&state, &user_id, "signin.throttled").await?;
        return Err(StaffError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    // "123 456" is an app code; anything with letters is a recovery code.
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    let is_app_code = !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit());
    let accepted = match (login.totp_secret.as_deref(), is_app_code) {
        (Some(secret), true) => {
            match totp::accepted_step(secret, &code, now, login.totp_last_step) {
                Some(step) => state.storage.accept_totp_step(&user_id, step).await?,
                None => false,
            }
        }
        (Some(_), false) => {
            let hash = recovery_hash(&state.key, &code);
            let used = state
                .storage
                .use_recovery_code(&user_id, &hash, now)
                .await?;
            if used {
                audit(&state, &user_id, "signin.recovery_code_used").await?;
            }
            used
        }
        (None, _) => false,
    };
    if !accepted {
        audit(&state, &user_id, "signin.failed_second_factor").await?;
        return Ok(code_page(
            &session,
            Some(
                "Enter a correct security code: a new code from your app, or an unused recovery code",
            ),
        ));
    }
    counters.succeeded(&state, true).await?;
    audit(&state, &user_id, "signin.succeeded").await?;
    let next = if login.must_change_password {
        SessionStage::ChangePassword
    } else {
        SessionStage::Active
    };
    // A new session id once both factors are in: the id used before (which only needed the
    // password) stops working.
    let new_id = session::new_session_id();
    let failed = state
        .storage
        .complete_signin(&session.id_hash, &session::session_hash(&new_id), next, now)
        .await?;
    if let Some(failed) = failed {
        let mut entry = AuditEntry::new(
            now,
            format!("user:{user_id}"),
            "signin.failures_reported",
            "staff_user",
            &user_id,
        );
        entry.reason = Some(format!("{} failed attempts shown", failed.count));
        state.storage.append_audit(&entry).await?;
    }
    let mut response = Redirect::to(session::next_step(next)).into_response();
    session::set_cookie(
        response.headers_mut(),
        session::cookie(session::SESSION_COOKIE, &new_id, None),
    );
    Ok(response)
}

/// The secret in groups of four, as authenticator apps show it.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn enrol_page(session: &CurrentSession, secret: &str, error: Option<&str>) -> Response {
    let url = totp::otpauth_url(secret, &session.record.login.user.email);
    let qr = totp::qr_svg(&url, "QR code to scan with your authenticator app");
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        status,
        "enrol.html",
        json!({
            "title": "Set up your authenticator app",
            "csrf": session.csrf,
            "qr_svg": qr,
            "secret": grouped(secret),
            "error": error,
        }),
    )
}

/// `GET /staff/sign-in/set-up`: a new secret kept with the session until confirmed.
pub async fn show_enrol(
    State(state): State<AppState>,
    AnySession(session): AnySession,
) -> Result<Response, StaffError> {
    require(&session, SessionStage::Enrol)?;
    let secret = match session.record.pending_totp_secret.clone() {
        Some(secret) => secret,
        None => {
            let secret = totp::new_secret();
            state
                .storage
                .set_session_stage(
                    &session.id_hash,
                    SessionStage::Enrol,
                    Some(&secret),
                    state.now(),
                )
                .await?;
            secret
        }
    };
    Ok(enrol_page(&session, &secret, None))
}

/// `POST /staff/sign-in/set-up`: the first code confirms the app; recovery codes follow.
pub async fn enrol(
    State(state): State<AppState>,
    AnySession(session): AnySession,
    Form(form): Form<CodeForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    require(&session, SessionStage::Enrol)?;
    let Some(secret) = session.record.pending_totp_secret.clone() else {
        return Err(StaffError::Continue("/staff/sign-in/set-up"));
    };
    let now = state.now();
    let Some(step) = totp::accepted_step(&secret, &form.code, now, None) else {
        return Ok(enrol_page(
            &session,
            &secret,
            Some("Enter the 6-digit code your authenticator app shows now"),
        ));
    };
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(&state.key, c)).collect();
    let user_id = session.record.login.user.id.clone();
    state
        .storage
        .enrol_totp(&user_id, &secret, step, &hashes, now)
        .await?;
    state
        .storage
        .set_session_stage(&session.id_hash, SessionStage::Active, None, now)
        .await?;
    audit(&state, &user_id, "signin.succeeded").await?;
    Ok(page(
        StatusCode::OK,
        "recovery_codes.html",
        json!({ "title": "Save your recovery codes", "codes": codes, "signed_in": true, "csrf": session.csrf }),
    ))
}
