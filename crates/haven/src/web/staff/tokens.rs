//! `GET /staff/admin/tokens` and `POST /staff/admin/tokens/{id}/revoke`: API tokens for
//! those who may manage users (never the tokens themselves, which are shown only once).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::error::StaffError;
use super::render::page;
use super::session::SignedIn;
use super::sign_in::CsrfOnly;
use crate::policy::Action;
use crate::web::AppState;
use haven_core::role::Role;

/// `GET /staff/admin/tokens`.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    StaffError::from_decision(state.staff.policy.decide(&staff, Action::ManageUsers, None))?;
    let tokens = state.storage.list_tokens().await?;
    let rows: Vec<_> = tokens
        .iter()
        .map(|t| {
            json!({
                "id": t.id, "name": t.name, "email": t.email,
                "scope": format!("{} ({})",
                    t.scope_role.as_deref().map_or("The account's role", |r| {
                        r.parse::<Role>().map_or(r, |role| role.label())
                    }),
                    super::users::team_label(&state, t.scope_team.as_deref())),
                "created_at": in_words(&t.created_at),
                "last_used_at": t.last_used_at.as_deref().map(in_words),
                "revoked": t.revoked_at.is_some(),
            })
        })
        .collect();
    // The layout's chrome (with the administration links) and the page's own values.
    let mut context = super::render::chrome(&state, &session);
    context.insert("title".to_owned(), json!("API tokens"));
    context.insert("tokens".to_owned(), json!(rows));
    Ok(page(StatusCode::OK, "tokens.html", context))
}

/// A stored time (RFC 3339) as staff read it ("1 December 2026, 14:05", UK time).
fn in_words(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at).map_or_else(
        |_| at.to_owned(),
        |t| super::case::when(t.with_timezone(&chrono::Utc)),
    )
}

/// `POST /staff/admin/tokens/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    StaffError::from_decision(state.staff.policy.decide(&staff, Action::ManageUsers, None))?;
    if !state
        .storage
        .revoke_token_by_id(&id, &staff.actor())
        .await?
    {
        return Err(StaffError::NotFound);
    }
    Ok(Redirect::to("/staff/admin/tokens").into_response())
}
