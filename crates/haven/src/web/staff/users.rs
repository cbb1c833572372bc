//! Staff accounts for those who may manage users (`manage_users`):
//!
//! - `GET /staff/admin/users`: every account (email, role, team, active, second factor).
//! - `GET /staff/admin/users/{id}`: one account, its forms and its permission changes.
//! - `POST /staff/admin/users/{id}/role`: a new role and team, with a required reason.
//! - `POST /staff/admin/users/{id}/deactivate` and `…/reactivate`, with a required reason.
//!
//! Creating accounts, their display name and phone, and resets are in
//! [`super::account_admin`].
//!
//! Each change ends the account's sessions at once and is audited with the reason
//! (`Storage::change_access`). An admin cannot take away their own admin role or deactivate
//! themselves, so the last admin cannot lock everyone out by mistake.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::case::when;
use super::error::StaffError;
use super::render::page;
use super::session::{CurrentSession, SignedIn};
use crate::access::{Role, Staff};
use crate::policy::Action;
use crate::storage::permissions::{AccessChange, AccountSummary};
use crate::web::AppState;

/// Longest reason accepted, in characters.
const MAX_REASON: usize = 1_000;

/// The account forms' fields.
#[derive(Deserialize, Default)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    reason: String,
}

pub(super) fn allow(state: &AppState, staff: &Staff) -> Result<(), StaffError> {
    StaffError::from_decision(state.staff.policy.decide(staff, Action::ManageUsers, None))
}

/// A team in words: the name its services' definitions give it (`team_name`), "All teams"
/// for none, or the key itself for a team no loaded service has.
pub(super) fn team_label(state: &AppState, team: Option<&str>) -> String {
    match team {
        None => "All teams".to_owned(),
        Some(team) => state
            .registry
            .definitions()
            .find(|d| d.team == team)
            .map_or_else(|| team.to_owned(), |d| d.team_words()),
    }
}

/// A permission change as the account page's history says it. Changes are stored as short
/// codes (`manager secos`, `deactivated`, "Account created as triage (secos)"): roles and
/// teams in them are put in words here.
pub(super) fn change_words(state: &AppState, what: &str) -> String {
    let role_words = |key: &str| key.parse::<Role>().ok().map(Role::label);
    let team_words = |key: &str| {
        if key == "all teams" {
            "all teams".to_owned()
        } else {
            team_label(state, Some(key))
        }
    };
    match what {
        "deactivated" => return "Account deactivated".to_owned(),
        "reactivated" => return "Account reactivated".to_owned(),
        _ => {}
    }
    if let Some(rest) = what.strip_prefix("Account created as ") {
        if let Some((role, team)) = rest.split_once(" (") {
            let team = team.trim_end_matches(')');
            if let Some(role) = role_words(role) {
                return format!("Account created: {role}, {}", team_words(team));
            }
        }
        return what.to_owned();
    }
    match what.split_once(' ') {
        Some((role, team)) => match role_words(role) {
            Some(role) => format!("Role and team set to {role}, {}", team_words(team)),
            None => what.to_owned(),
        },
        None => what.to_owned(),
    }
}

fn account_json(state: &AppState, a: &AccountSummary) -> Value {
    json!({
        "id": a.user.id,
        "email": a.user.email,
        "display_name": a.user.display_name,
        "phone": a.user.phone,
        "role": a.user.role.label(),
        "team": team_label(state, a.user.team.as_deref()),
        "active": !a.user.disabled,
        "second_factor": a.second_factor,
    })
}

/// `GET /staff/admin/users`.
pub async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    allow(&state, &staff)?;
    let accounts: Vec<Value> = state
        .storage
        .account_summaries()
        .await?
        .iter()
        .map(|a| account_json(&state, a))
        .collect();
    Ok(page(
        StatusCode::OK,
        "users.html",
        json!({
            "title": "Staff accounts", "csrf": session.csrf, "signed_in": true, "admin": true,
            "email": staff.email, "accounts": accounts,
        }),
    ))
}

/// The teams of the loaded services, sorted, without repeats.
pub(super) fn teams(state: &AppState) -> Vec<String> {
    let mut teams: Vec<String> = state
        .registry
        .definitions()
        .map(|d| d.team.clone())
        .collect();
    teams.sort();
    teams.dedup();
    teams
}

/// Which form was refused, with what was entered (shown again).
#[derive(Clone, Copy)]
pub(super) enum Entered<'a> {
    Nothing,
    Role(&'a AccountForm),
    Active(&'a AccountForm),
    /// The display name and phone form ([`super::account_admin::change_details`]).
    Details {
        display_name: &'a str,
        phone: &'a str,
    },
    /// The reset form ([`super::account_admin::reset`]).
    Reset {
        what: &'a str,
        reason: &'a str,
    },
}

/// The account page, with `errors` (422) from a refused form and what was entered.
pub(super) async fn account_page(
    state: &AppState,
    session: &CurrentSession,
    account: &AccountSummary,
    errors: &[(&str, &str)],
    entered: Entered<'_>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let people: std::collections::HashMap<String, String> = state
        .storage
        .all_staff()
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u.name().to_owned()))
        .collect();
    let history: Vec<Value> = state
        .storage
        .permission_changes(&account.user.id)
        .await?
        .iter()
        .map(|c| {
            let who = c
                .actor
                .strip_prefix("user:")
                .and_then(|id| people.get(id).cloned())
                .unwrap_or_else(|| c.actor.clone());
            json!({ "at": when(c.at), "who": who, "what": change_words(state, &c.what), "reason": c.reason })
        })
        .collect();
    let (role_form, active_form) = match entered {
        Entered::Role(form) => (Some(form), None),
        Entered::Active(form) => (None, Some(form)),
        Entered::Nothing | Entered::Details { .. } | Entered::Reset { .. } => (None, None),
    };
    let (display_name, phone) = match entered {
        Entered::Details {
            display_name,
            phone,
        } => (display_name.to_owned(), phone.to_owned()),
        _ => (
            account.user.display_name.clone().unwrap_or_default(),
            account.user.phone.clone().unwrap_or_default(),
        ),
    };
    let (reset_what, reset_reason) = match entered {
        Entered::Reset { what, reason } => (what, Some(reason)),
        _ => ("", None),
    };
    let role = role_form
        .map(|f| f.role.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| account.user.role.as_str().to_owned());
    let team = role_form
        .map(|f| f.team.clone())
        .unwrap_or_else(|| account.user.team.clone().unwrap_or_default());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let errors: Vec<Value> = errors
        .iter()
        .map(|(field, text)| json!({ "field": field, "text": text }))
        .collect();
    Ok(page(
        status,
        "user.html",
        json!({
            "title": format!("Staff account {}", account.user.name()),
            "csrf": session.csrf, "signed_in": true, "email": staff.email, "admin": true,
            "display_name": display_name, "phone": phone,
            "reset_what": reset_what, "reset_reason": reset_reason,
            "errors": errors,
            "account": account_json(state, account),
            "is_self": account.user.id == staff.user_id,
            "roles": Role::ALL.iter().map(|r| json!({
                "value": r.as_str(), "label": r.label(), "all_teams": state.staff.policy.all_teams(*r), "selected": r.as_str() == role,
            })).collect::<Vec<_>>(),
            "teams": teams(state).into_iter().map(|t| json!({ "value": t, "label": team_label(state, Some(&t)), "selected": t == team })).collect::<Vec<_>>(),
            "no_team_selected": team.is_empty(),
            "role_reason": role_form.map(|f| f.reason.as_str()),
            "active_reason": active_form.map(|f| f.reason.as_str()),
            "history": history,
        }),
    ))
}

pub(super) async fn find(state: &AppState, id: &str) -> Result<AccountSummary, StaffError> {
    state
        .storage
        .account_summary(id)
        .await?
        .ok_or(StaffError::NotFound)
}

/// `GET /staff/admin/users/{id}`.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, StaffError> {
    allow(&state, &session.staff())?;
    let account = find(&state, &id).await?;
    account_page(&state, &session, &account, &[], Entered::Nothing).await
}

/// The reason given, or the error naming `field`.
pub(super) fn reason_error(reason: &str) -> Option<&'static str> {
    let reason = reason.trim();
    if reason.is_empty() {
        Some("Enter why you are making this change")
    } else if reason.chars().count() > MAX_REASON {
        Some("Reason must be 1,000 characters or fewer")
    } else {
        None
    }
}

/// `POST /staff/admin/users/{id}/role`.
pub async fn change_role(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<AccountForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    allow(&state, &staff)?;
    let account = find(&state, &id).await?;
    let mut errors: Vec<(&str, &str)> = Vec::new();
    let role: Option<Role> = form.role.parse().ok();
    let team = Some(form.team.trim()).filter(|t| !t.is_empty());
    match role {
        None => errors.push(("role", "Select a role")),
        Some(role) if account.user.id == staff.user_id && role != Role::Admin => errors.push((
            "role",
            "You cannot remove your own admin role: ask another admin to do it",
        )),
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
        errors.push(("role-reason", why));
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return account_page(&state, &session, &account, &errors, Entered::Role(&form)).await;
    };
    state
        .storage
        .change_access(
            &account.user.id,
            &AccessChange::Role { role, team },
            Some(form.reason.trim()),
            &staff.actor(),
            state.now(),
        )
        .await?;
    // Changing your own team ends your own session too: sign in again.
    Ok(Redirect::to(&format!("/staff/admin/users/{}", account.user.id)).into_response())
}

async fn set_active(
    state: AppState,
    session: CurrentSession,
    id: String,
    form: AccountForm,
    active: bool,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    allow(&state, &staff)?;
    let account = find(&state, &id).await?;
    let mut errors: Vec<(&str, &str)> = Vec::new();
    if !active && account.user.id == staff.user_id {
        errors.push((
            "active-reason",
            "You cannot deactivate your own account: ask another admin to do it",
        ));
    } else if let Some(why) = reason_error(&form.reason) {
        errors.push(("active-reason", why));
    }
    if !errors.is_empty() {
        return account_page(&state, &session, &account, &errors, Entered::Active(&form)).await;
    }
    state
        .storage
        .change_access(
            &account.user.id,
            &AccessChange::Active(active),
            Some(form.reason.trim()),
            &staff.actor(),
            state.now(),
        )
        .await?;
    Ok(Redirect::to(&format!("/staff/admin/users/{}", account.user.id)).into_response())
}

/// `POST /staff/admin/users/{id}/deactivate`: the account can no longer sign in, its
/// sessions end and its API tokens stop working.
pub async fn deactivate(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<AccountForm>,
) -> Result<Response, StaffError> {
    set_active(state, session, id, form, false).await
}

/// `POST /staff/admin/users/{id}/reactivate`.
pub async fn reactivate(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<AccountForm>,
) -> Result<Response, StaffError> {
    set_active(state, session, id, form, true).await
}
