//! Linked people on the staff pages: the "Possible links" panel of the case summary (with
//! why each was suggested), confirming or rejecting a link
//! (`POST /staff/cases/{reference}/links`), "known to another service", and the search page
//! (`GET /staff/search?q=`). The operations are `cases::people`.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::case::{load, may, when};
use super::error::StaffError;
use super::render::{chrome, page};
use super::session::{CurrentSession, SignedIn};
use crate::cases::CaseError;
use crate::cases::people::{decide_link, links, search};
use crate::policy::Action;
use crate::storage::referrals::Referral;
use crate::web::AppState;

/// The summary's panel: possible links (cases this member of staff may open) and the
/// services of other teams that know the young person (name and contact only).
pub async fn panel(
    state: &AppState,
    session: &CurrentSession,
    referral: &Referral,
) -> Result<Value, StaffError> {
    let staff = session.staff();
    let found = links(&state.cases(), &staff, referral, state.now()).await?;
    let possible: Vec<Value> = found
        .possible
        .iter()
        .map(|l| {
            json!({
                "reference": l.reference,
                "service": l.service_name,
                "received": when(l.received_at),
                "percent": format!("{:.0}%", (l.explanation.probability * 100.0).floor()),
                "percent_exact": format!("{:.2}%", l.explanation.probability * 100.0),
                "confirmed": l.confirmed == Some(true),
                "reasons": l.explanation.reasons.iter().map(|r| json!({
                    "words": r.words(),
                    "strength": r.strength_words(),
                    "weight": format!("{:+.1}", r.weight).replace('-', "\u{2212}"),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let elsewhere: Vec<Value> = found
        .elsewhere
        .iter()
        .map(|k| json!({ "service": k.service_name, "contact": k.contact, "open": k.open }))
        .collect();
    Ok(json!({
        "possible": possible,
        "elsewhere": elsewhere,
        "alert": found.elsewhere.iter().any(|k| k.open),
        "may_link": may(state, &staff, referral, Action::LinkPeople),
    }))
}

/// The link form's fields.
#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    /// The other case's reference.
    #[serde(default)]
    other: String,
    /// `confirm` or `reject`.
    #[serde(default)]
    decision: String,
}

/// `POST /staff/cases/{reference}/links`: confirms or rejects a possible link.
pub async fn decide(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    let (referral, _) = load(&state, &staff, &reference, Action::ViewCase).await?;
    let confirm = match form.decision.as_str() {
        "confirm" => true,
        "reject" => false,
        _ => {
            return Err(CaseError::invalid("decision", "Choose confirm or reject").into());
        }
    };
    decide_link(
        &state.cases(),
        &staff,
        &referral,
        &form.other,
        confirm,
        state.now(),
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/staff/cases/{}#possible-links",
        referral.reference
    ))
    .into_response())
}

/// The search page's query.
#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `GET /staff/search?q=`: cases this member of staff may see whose young person matches
/// a name, date of birth, postcode, reference, phone, email or handle (misspellings too).
pub async fn search_page(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(query): Query<SearchQuery>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let mut context = chrome(&state, &session);
    context.insert("title".to_owned(), json!("Search cases"));
    context.insert("q".to_owned(), json!(query.q));
    if query.q.trim().is_empty() {
        return Ok(page(StatusCode::OK, "search.html", Value::Object(context)));
    }
    match search(&state.cases(), &staff, &query.q, state.now()).await {
        Ok(hits) => {
            let rows: Vec<Value> = hits
                .iter()
                .map(|h| {
                    json!({
                        "reference": h.reference, "service": h.service_name,
                        "received": when(h.received_at), "matched": h.matched,
                    })
                })
                .collect();
            context.insert("searched".to_owned(), json!(true));
            context.insert("hits".to_owned(), json!(rows));
            Ok(page(StatusCode::OK, "search.html", Value::Object(context)))
        }
        Err(CaseError::Invalid(fields)) => {
            let errors: Vec<Value> = fields
                .iter()
                .map(|f| json!({ "href": "#q", "text": f.message }))
                .collect();
            context.insert("errors".to_owned(), json!(errors));
            context.insert("title".to_owned(), json!("Error: Search cases"));
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "search.html",
                Value::Object(context),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
