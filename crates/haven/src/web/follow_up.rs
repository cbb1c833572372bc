//! The reporter's follow-up: with the receipt code (in a POST body or the `X-Receipt-Code`
//! header, never in a URL) a reporter sees the status in plain words and the team's
//! messages, and can add information (appended to the case and its chronology).
//!
//! What is shown is built by [`view`] from an allow-list: the reference, the service's name,
//! the state's `public_label`, dates, and the text of messages the team wrote *to* the
//! reporter. Never notes, answers, third-party information, screening or staff names.
//! Wrong codes are counted per client address (429 past the limit).

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::AppState;
use super::extract::ClientIp;
use super::staff::error::StaffError;
use super::staff::render::page;
use crate::storage::StorageError;
use crate::storage::casework::Direction;
use crate::storage::referrals::Referral;

/// Longest addition a reporter may send, in characters.
const MAX_ADDITION: usize = 10_000;

/// What a reporter may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpView {
    pub reference: String,
    pub service: String,
    /// The status in plain words (the workflow state's public label).
    pub status: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    /// Messages from the team, oldest first.
    pub messages: Vec<TeamMessage>,
    /// When the reporter added information (the text is not echoed back).
    pub additions: Vec<String>,
    /// Decisions whose reason the service shares with the referrer (`share_reason_for`:
    /// "not suitable" and why), oldest first.
    pub decisions: Vec<SharedDecision>,
}

/// A decision the team explains to the referrer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedDecision {
    /// RFC 3339, UTC.
    pub at: String,
    /// The decision in words ("Not suitable").
    pub decision: String,
    /// The team's reason, as written for the referrer.
    pub reason: String,
}

/// A message from the team (never its author).
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMessage {
    /// RFC 3339, UTC.
    pub at: String,
    pub text: String,
}

/// Why a follow-up lookup failed.
pub enum LookupError {
    TooMany(u64),
    NotFound,
    Storage(StorageError),
}

impl From<StorageError> for LookupError {
    fn from(e: StorageError) -> Self {
        LookupError::Storage(e)
    }
}

/// The referral a receipt code belongs to, counting wrong codes per client address.
pub async fn find(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    code: &str,
) -> Result<Referral, LookupError> {
    let key = format!(
        "receipt:{}",
        ip.map_or_else(|| "unknown".to_owned(), |i| i.to_string())
    );
    let now = state.now();
    if let Some(wait) = state.staff.receipt_throttle.blocked(&key, now) {
        return Err(LookupError::TooMany(wait));
    }
    let code = code.trim();
    let found = if code.is_empty() || code.len() > 64 {
        None
    } else {
        match state
            .storage
            .reference_for_receipt(&state.key.receipt_hash(code))
            .await?
        {
            Some(reference) => state.storage.find_referral(&reference).await?,
            None => None,
        }
    };
    found.ok_or_else(|| {
        state.staff.receipt_throttle.fail(&key, now);
        LookupError::NotFound
    })
}

fn rfc3339(at: DateTime<Utc>) -> String {
    crate::storage::timestamp(at)
}

/// What the reporter sees of `referral` (an allow-list; see the module docs).
pub async fn view(state: &AppState, referral: &Referral) -> Result<FollowUpView, StorageError> {
    let def = state.registry.get(&referral.service);
    let status = def
        .and_then(|d| d.workflow.as_ref())
        .and_then(|w| w.states.iter().find(|s| s.key == referral.status))
        .map_or_else(
            || "We have your report".to_owned(),
            |s| s.public_label.clone(),
        );
    let messages = state.storage.messages(&referral.id).await?;
    let decisions = match def {
        Some(def) => shared_decisions(def, &state.storage.chronology(&referral.id).await?),
        None => Vec::new(),
    };
    Ok(FollowUpView {
        decisions,
        reference: referral.reference.clone(),
        service: def.map_or_else(|| referral.service.clone(), |d| d.name.clone()),
        status,
        received_at: rfc3339(referral.received_at),
        messages: messages
            .iter()
            .filter(|m| m.direction == Direction::ToReporter)
            .map(|m| TeamMessage {
                at: rfc3339(m.created_at),
                text: m.body.clone(),
            })
            .collect(),
        additions: messages
            .iter()
            .filter(|m| m.direction == Direction::FromReporter)
            .map(|m| rfc3339(m.created_at))
            .collect(),
    })
}

/// The transitions of the chronology whose decision's reason the definition shares with the
/// referrer (`share_reason_for`); nothing else of the chronology is shown.
fn shared_decisions(
    def: &haven_core::definition::ServiceDefinition,
    chronology: &[crate::storage::triage::ChronologyEntry],
) -> Vec<SharedDecision> {
    let transitions = def.workflow.iter().flat_map(|w| w.transitions.iter());
    let transitions: Vec<_> = transitions.collect();
    chronology
        .iter()
        .filter(|e| e.kind == "transition")
        .filter_map(|e| {
            let decision = e.detail.as_ref()?.get("decision")?.as_str()?;
            let reason = e.reason.as_deref()?;
            let (from, to) = (e.from_status.as_deref()?, e.to_status.as_deref()?);
            let t = transitions.iter().find(|t| {
                t.to == to && t.from.iter().any(|f| f == from) && t.shares_reason(Some(decision))
            })?;
            let label = t
                .decisions
                .iter()
                .find(|d| d.key == decision)
                .map_or(decision, |d| d.label.as_str());
            Some(SharedDecision {
                at: rfc3339(e.at),
                decision: label.to_owned(),
                reason: reason.to_owned(),
            })
        })
        .collect()
}

/// The follow-up form.
#[derive(Deserialize)]
pub struct FollowUpForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    information: String,
    #[serde(default)]
    action: String,
}

fn start_page(status: StatusCode, error: Option<&str>) -> Response {
    page(
        status,
        "follow_up_start.html",
        json!({ "title": "Check on your report", "public": true, "error": error }),
    )
}

/// `GET /follow-up`.
pub async fn show_start() -> Response {
    start_page(StatusCode::OK, None)
}

/// `POST /follow-up`: look up (and optionally add information to) a report.
pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Form(form): Form<FollowUpForm>,
) -> Result<Response, StaffError> {
    let referral = match find(&state, ip, &form.code).await {
        Ok(r) => r,
        Err(LookupError::TooMany(wait)) => {
            return Err(StaffError::TooManyRequests {
                retry_after_secs: wait,
            });
        }
        Err(LookupError::NotFound) => {
            return Ok(start_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Enter the receipt code you were given when you sent your report"),
            ));
        }
        Err(LookupError::Storage(e)) => return Err(e.into()),
    };
    let mut error = None;
    let mut added = false;
    if form.action == "add" {
        let text = form.information.trim();
        if text.is_empty() {
            error = Some("Enter the information you want to add".to_owned());
        } else if text.chars().count() > MAX_ADDITION {
            error = Some(format!(
                "Information must be {MAX_ADDITION} characters or fewer"
            ));
        } else {
            let now = state.now();
            // The worker the case is allocated to hears there is something new to read.
            let alert = state.registry.get(&referral.service).and_then(|def| {
                crate::notify::new_information_alert(state.notify(), def, &referral)
            });
            state
                .storage
                .add_message(
                    &referral.id,
                    Direction::FromReporter,
                    "reporter",
                    text,
                    now,
                    alert.as_ref(),
                )
                .await?;
            added = true;
        }
    }
    let view = view(&state, &referral).await?;
    let when = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| super::staff::case::when(d.with_timezone(&Utc)))
            .unwrap_or_default()
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(page(
        status,
        "follow_up.html",
        json!({
            "title": "Your report",
            "public": true,
            "code": form.code.trim(),
            "reference": view.reference,
            "service": view.service,
            "status": view.status,
            "received": when(&view.received_at),
            "messages": view.messages.iter().map(|m| json!({"at": when(&m.at), "text": m.text})).collect::<Vec<_>>(),
            "additions": view.additions.iter().map(|a| when(a)).collect::<Vec<_>>(),
            "decisions": view.decisions.iter().map(|d| json!({"at": when(&d.at), "decision": d.decision, "reason": d.reason})).collect::<Vec<_>>(),
            "added": added,
            "error": error,
            "information": if added { "" } else { form.information.as_str() },
        }),
    ))
}
