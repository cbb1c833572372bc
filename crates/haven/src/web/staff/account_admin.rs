//! Creating staff accounts and resetting a password or second factor from the pages, for
//! those who may manage users (`manage_users`), beside the role, team and deactivation forms
//! of [`super::users`]:
//!
//! - `GET/POST /staff/admin/users/new`: email, display name, phone, role, team and why;
//! - `POST /staff/admin/users/{id}/details`: display name and phone;
//! - `POST /staff/admin/users/{id}/reset`: the password or the second factor, with why.
//!
//! Creating and resetting answer a page with a one-time set-up link (valid for
//! [`SETUP_LINK_HOURS`]), shown only then, for the admin to hand over by phone or in person;
//! no password ever passes through the admin. A reset ends the account's sessions at once.
//! An admin cannot reset their own account (ask another admin), as with deactivation.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::json;

use super::case::when;
use super::error::StaffError;
use super::render::page;
use super::session::SignedIn;
use super::users::{allow, reason_error, teams};
use crate::access::{Role, Staff};
use crate::auth::password;
use crate::crypto;
use crate::storage::StorageError;
use crate::storage::accounts::{
    NewSetupLink, SETUP_LINK_HOURS, SetupPurpose, StaffDetails, checked_details,
};
use crate::storage::users::{NewStaffUser, normalise_email, valid_email};
use crate::web::AppState;

/// The new-account form's fields.
#[derive(Deserialize, Default)]
pub struct NewAccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    reason: String,
}

/// The details form's fields.
#[derive(Deserialize, Default)]
pub struct DetailsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    phone: String,
}

/// The reset form's fields.
#[derive(Deserialize, Default)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    /// `password` or `second_factor`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    reason: String,
}

fn has_field(errors: &[(&str, &str)], field: &str) -> bool {
    errors.iter().any(|(f, _)| *f == field)
}

fn errors_json(errors: &[(&str, &str)]) -> Vec<serde_json::Value> {
    errors
        .iter()
        .map(|(field, text)| json!({ "field": field, "text": text }))
        .collect()
}

/// The new-account page, with what was entered and the errors (422) of a refused form.
fn new_account_page(
    state: &AppState,
    csrf: &str,
    staff: &Staff,
    form: &NewAccountForm,
    errors: &[(&str, &str)],
) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(
        status,
        "new_user.html",
        json!({
            "title": "Create a staff account",
            "csrf": csrf, "signed_in": true, "email": staff.email, "admin": true,
            "errors": errors_json(errors),
            "form": {
                "email": form.email, "display_name": form.display_name, "phone": form.phone,
                "reason": form.reason,
            },
            "roles": Role::ALL.iter().map(|r| json!({
                "value": r.as_str(), "label": r.label(), "all_teams": state.staff.policy.all_teams(*r), "selected": r.as_str() == form.role,
            })).collect::<Vec<_>>(),
            "teams": teams(state).into_iter().map(|t| json!({ "value": t, "label": super::users::team_label(state, Some(&t)), "selected": t == form.team })).collect::<Vec<_>>(),
            "no_team_selected": form.team.is_empty(),
        }),
    )
}

/// `GET /staff/admin/users/new`.
pub async fn new_account(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    allow(&state, &staff)?;
    Ok(new_account_page(
        &state,
        &session.csrf,
        &staff,
        &NewAccountForm::default(),
        &[],
    ))
}

/// The page showing a set-up link once.
fn link_page(
    state: &AppState,
    csrf: &str,
    staff: &Staff,
    account: (&str, &str),
    purpose: SetupPurpose,
    token: &str,
    expires_at: DateTime<Utc>,
) -> Response {
    let (id, name) = account;
    let (title, next) = match purpose {
        SetupPurpose::NewAccount => (
            "Account created",
            "With the link they choose a password, then set up an authenticator app.",
        ),
        SetupPurpose::ResetPassword => (
            "Password reset",
            "With the link they choose a new password, then enter a code from their authenticator app.",
        ),
        SetupPurpose::ResetSecondFactor => (
            "Authenticator app reset",
            "With the link they enter their password, then set up an authenticator app on their new phone and save new recovery codes.",
        ),
    };
    page(
        StatusCode::OK,
        "set_up_link.html",
        json!({
            "title": title, "csrf": csrf, "signed_in": true, "email": staff.email, "admin": true,
            "account_id": id, "account_name": name, "next": next,
            "link": format!("{}/staff/set-up/{token}", state.options.public_url),
            "expires": when(expires_at),
        }),
    )
}

/// A hash of a random password nobody is told: the account cannot be signed into with a
/// password until its set-up link has been used.
async fn unknown_password_hash() -> Result<String, StaffError> {
    let unknown = crypto::new_password();
    tokio::task::spawn_blocking(move || password::hash(&unknown))
        .await
        .map_err(|e| StaffError::Internal(e.to_string()))?
        .map_err(|e| StaffError::Internal(e.to_string()))
}

/// `POST /staff/admin/users/new`.
pub async fn create_account(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Form(form): Form<NewAccountForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    allow(&state, &staff)?;
    let mut errors: Vec<(&str, &str)> = Vec::new();
    let email = normalise_email(&form.email);
    if email.is_empty() {
        errors.push(("email", "Enter their work email address"));
    } else if !valid_email(&email) {
        errors.push((
            "email",
            "Enter an email address in the correct format, like name@example.org",
        ));
    }
    let details = checked_details(&form.display_name, &form.phone);
    if details.display_name.is_none() && !has_field(&details.errors, "display_name") {
        errors.push((
            "display_name",
            "Enter their name as documents should show it",
        ));
    }
    errors.extend(details.errors.iter().copied());
    let role: Option<Role> = form.role.parse().ok();
    let team = Some(form.team.trim()).filter(|t| !t.is_empty());
    match role {
        None => errors.push(("role", "Select a role")),
        Some(role) if team.is_none() && !state.staff.policy.all_teams(role) => errors.push((
            "team",
            "Select the team whose cases they work on (only admin and auditor work without a team)",
        )),
        Some(_) => {}
    }
    if let Some(team) = team
        && !teams(&state).iter().any(|t| t == team)
    {
        errors.push(("team", "Select one of the teams listed"));
    }
    if let Some(why) = reason_error(&form.reason) {
        errors.push(("reason", why));
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Ok(new_account_page(
            &state,
            &session.csrf,
            &staff,
            &form,
            &errors,
        ));
    };
    let now = state.staff.clock.now();
    let (link, token) = NewSetupLink::generate(now + TimeDelta::hours(SETUP_LINK_HOURS));
    let actor = staff.actor();
    let new = NewStaffUser {
        id: crypto::new_id(),
        email: &email,
        role,
        team,
        password_hash: unknown_password_hash().await?,
        actor: &actor,
    };
    let created = state
        .storage
        .create_account(
            &new,
            StaffDetails {
                display_name: details.display_name.as_deref(),
                phone: details.phone.as_deref(),
            },
            &link,
            Some(form.reason.trim()),
            now,
        )
        .await;
    match created {
        Ok(user) => Ok(link_page(
            &state,
            &session.csrf,
            &staff,
            (&user.id, user.name()),
            SetupPurpose::NewAccount,
            &token,
            link.expires_at,
        )),
        Err(StorageError::Conflict) => Ok(new_account_page(
            &state,
            &session.csrf,
            &staff,
            &form,
            &[(
                "email",
                "There is already an account with this email address",
            )],
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /staff/admin/users/{id}/details`.
pub async fn change_details(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DetailsForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    allow(&state, &staff)?;
    let account = super::users::find(&state, &id).await?;
    let details = checked_details(&form.display_name, &form.phone);
    let mut errors = details.errors.clone();
    if details.display_name.is_none() && !has_field(&errors, "display_name") {
        errors.push((
            "display_name",
            "Enter their name as documents should show it",
        ));
    }
    if !errors.is_empty() {
        let entered = super::users::Entered::Details {
            display_name: &form.display_name,
            phone: &form.phone,
        };
        return super::users::account_page(&state, &session, &account, &errors, entered).await;
    }
    state
        .storage
        .set_staff_details(
            &account.user.id,
            StaffDetails {
                display_name: details.display_name.as_deref(),
                phone: details.phone.as_deref(),
            },
            &staff.actor(),
            state.staff.clock.now(),
        )
        .await?;
    Ok(Redirect::to(&format!("/staff/admin/users/{}", account.user.id)).into_response())
}

/// `POST /staff/admin/users/{id}/reset`.
pub async fn reset(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    allow(&state, &staff)?;
    let account = super::users::find(&state, &id).await?;
    let purpose = match form.what.as_str() {
        "password" => Some(SetupPurpose::ResetPassword),
        "second_factor" => Some(SetupPurpose::ResetSecondFactor),
        _ => None,
    };
    let mut errors: Vec<(&str, &str)> = Vec::new();
    if account.user.id == staff.user_id {
        errors.push((
            "what",
            "You cannot reset your own account: ask another admin to do it",
        ));
    } else if account.user.disabled {
        errors.push(("what", "Reactivate the account before resetting it"));
    } else if purpose.is_none() {
        errors.push(("what", "Select what to reset"));
    }
    if let Some(why) = reason_error(&form.reason) {
        errors.push(("reset-reason", why));
    }
    let Some(purpose) = purpose.filter(|_| errors.is_empty()) else {
        let entered = super::users::Entered::Reset {
            what: &form.what,
            reason: &form.reason,
        };
        return super::users::account_page(&state, &session, &account, &errors, entered).await;
    };
    let now = state.staff.clock.now();
    let (link, token) = NewSetupLink::generate(now + TimeDelta::hours(SETUP_LINK_HOURS));
    // Only a password reset needs the (deliberately slow) hash of a password nobody knows.
    let unknown = if purpose == SetupPurpose::ResetPassword {
        unknown_password_hash().await?
    } else {
        String::new()
    };
    let found = state
        .storage
        .reset_account(
            &account.user.id,
            purpose,
            &unknown,
            &link,
            Some(form.reason.trim()),
            &staff.actor(),
            now,
        )
        .await?;
    if !found {
        return Err(StaffError::NotFound);
    }
    Ok(link_page(
        &state,
        &session.csrf,
        &staff,
        (&account.user.id, account.user.name()),
        purpose,
        &token,
        link.expires_at,
    ))
}
