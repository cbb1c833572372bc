//! `/staff/set-up/{token}`: the one-time set-up link an admin hands to a person after
//! creating their account or resetting their password or second factor
//! ([`super::account_admin`], `haven admin`).
//!
//! `GET` shows a form and uses nothing (mail and chat scanners fetch links). Its `POST`
//! (CSRF by the sign-in page's double-submit cookie) uses the link once:
//! - when the account's password is one nobody knows (a new account, a reset password), the
//!   person chooses a new one (the sign-in page's rules);
//! - otherwise (a reset second factor) they enter their current password, throttled like
//!   sign-in, so that the link alone does not open the account.
//!
//! Then a session starts where sign-in would continue: the authenticator app's code when one
//! is set up, setting one up (and new recovery codes) when not. The token is in the path
//! only; requests are logged by route template, and `Referrer-Policy: no-referrer` keeps it
//! out of other sites' logs. A used, expired or unknown link answers 410 with what to do.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::attempts::Counters;
use super::case::when;
use super::error::StaffError;
use super::render::page;
use super::session::{LOGIN_COOKIE, cookie, read_cookie, set_cookie, tokens_match};
use super::sign_in::{start_session, verify_password};
use crate::auth::password;
use crate::storage::accounts::{SetupLink, SetupLinkState, setup_token_hash};
use crate::storage::audit::AuditEntry;
use crate::storage::sessions::SessionStage;
use crate::web::AppState;
use crate::web::extract::ClientIp;

/// The set-up form's fields.
#[derive(Deserialize)]
pub struct SetUpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// The link's page: its form (with errors, 422) or why it does not work (410).
fn form_page(link: &SetupLink, token: &str, csrf: &str, errors: &[(&str, &str)]) -> Response {
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
        "set_up.html",
        json!({
            "title": if link.needs_new_password { "Choose your password" } else { "Set up your authenticator app again" },
            "csrf": csrf, "token": token, "errors": errors,
            "account_email": link.user.email,
            "needs_new_password": link.needs_new_password,
            "has_second_factor": link.has_second_factor,
            "expires": when(link.expires_at),
        }),
    )
}

fn spent_page(state: Option<SetupLinkState>) -> Response {
    let why = match state {
        Some(SetupLinkState::Used) => {
            "This link has already been used, or a newer link was made for your account. Each link works once."
        }
        Some(SetupLinkState::Expired) => "This link has expired.",
        Some(SetupLinkState::Deactivated) => "Your account has been deactivated.",
        Some(SetupLinkState::Usable) | None => {
            "This link does not work. Check that you copied the whole link."
        }
    };
    page(
        StatusCode::GONE,
        "set_up.html",
        json!({ "title": "This link does not work", "spent": why }),
    )
}

/// The link with this token, if it can be used now; otherwise the page saying why not.
async fn usable(state: &AppState, token: &str) -> Result<Result<SetupLink, Response>, StaffError> {
    let link = state
        .storage
        .find_setup_link(&setup_token_hash(token))
        .await?;
    let now = state.staff.clock.now();
    Ok(match link {
        Some(link) if link.state(now) == SetupLinkState::Usable => Ok(link),
        Some(link) => Err(spent_page(Some(link.state(now)))),
        None => Err(spent_page(None)),
    })
}

/// `GET /staff/set-up/{token}`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, StaffError> {
    let link = match usable(&state, &token).await? {
        Ok(link) => link,
        Err(page) => return Ok(page),
    };
    let (csrf, fresh) = match read_cookie(&headers, LOGIN_COOKIE) {
        Some(csrf) => (csrf, false),
        None => (crate::crypto::random_symbols(32), true),
    };
    let mut response = form_page(&link, &token, &csrf, &[]);
    if fresh {
        set_cookie(response.headers_mut(), cookie(LOGIN_COOKIE, &csrf, None));
    }
    Ok(response)
}

async fn audit(state: &AppState, user_id: &str, action: &str) {
    let entry = AuditEntry::new(
        state.staff.clock.now(),
        format!("user:{user_id}"),
        action,
        "staff_user",
        user_id,
    );
    if let Err(e) = state.storage.append_audit(&entry).await {
        tracing::error!(error = %e, "could not audit a set-up link event");
    }
}

/// `POST /staff/set-up/{token}`.
pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<SetUpForm>,
) -> Result<Response, StaffError> {
    let expected = read_cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !tokens_match(&expected, &form.csrf) {
        return Err(StaffError::Csrf);
    }
    let link = match usable(&state, &token).await? {
        Ok(link) => link,
        Err(page) => return Ok(page),
    };
    let user = &link.user;
    let mut errors: Vec<(&str, &str)> = Vec::new();
    let new_hash = if link.needs_new_password {
        if let Err(why) = password::check_new(&form.new_password, &user.email) {
            errors.push(("new_password", why));
        } else if form.new_password != form.confirm_password {
            errors.push(("confirm_password", "Enter the same new password twice"));
        }
        if !errors.is_empty() {
            return Ok(form_page(&link, &token, &expected, &errors));
        }
        let new_password = form.new_password;
        let hash = tokio::task::spawn_blocking(move || password::hash(&new_password))
            .await
            .map_err(|e| StaffError::Internal(e.to_string()))?
            .map_err(|e| StaffError::Internal(e.to_string()))?;
        Some(hash)
    } else {
        // The same counters as sign-in: the link does not give extra guesses.
        let address = ip.map_or_else(|| "unknown".to_owned(), |i| i.to_string());
        let counters = Counters::password(&state, &user.email, &address);
        if let Some(wait) = counters.attempt(&state).await? {
            audit(&state, &user.id, "signin.throttled").await;
            return Err(StaffError::TooManyRequests {
                retry_after_secs: wait,
            });
        }
        let stored = state
            .storage
            .find_login(&user.email)
            .await?
            .map(|l| l.password_hash);
        if !verify_password(form.current_password, stored).await {
            audit(&state, &user.id, "signin.failed").await;
            errors.push(("current_password", "Enter your current password correctly"));
            return Ok(form_page(&link, &token, &expected, &errors));
        }
        counters.succeeded(&state, false).await?;
        None
    };
    let now = state.staff.clock.now();
    let used = state
        .storage
        .use_setup_link(&link.id, &user.id, new_hash.as_deref(), now)
        .await?;
    if !used {
        return Ok(spent_page(Some(SetupLinkState::Used)));
    }
    let stage = if link.has_second_factor {
        SessionStage::SecondFactor
    } else {
        SessionStage::Enrol
    };
    start_session(&state, &user.id, stage).await
}
