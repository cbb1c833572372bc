//! `GET /api/v1/referrals`: the work queue of the caller's team, filtered and paged: urgent
//! first, then new information from the referrer, then the band (most severe first, in the
//! order of the service definition's `bands`; a confirmed band over the suggested one), then
//! by due date.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use haven_core::calendar;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::access::Staff;
use crate::cases::queue::open_only;
use crate::policy::Action;
use crate::services::Registry;
use crate::storage::queue::{QueueFilter, QueueItem, QueueOrder};
use crate::storage::timestamp;
use crate::web::AppState;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::StaffAuth;

const DEFAULT_PER_PAGE: u32 = 50;
const MAX_PER_PAGE: u32 = 200;

/// The queue's filters (every one optional).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the parameters; they are parsed by hand to name bad ones.
pub struct QueueParams {
    /// Search: a name, date of birth, postcode, reference, phone, email or online handle,
    /// tolerating misspellings. Narrows the queue to the best matches among the cases the
    /// caller may open (at most 25), in the queue's order; the other filters still apply.
    q: Option<String>,
    /// Workflow state; without it, closed cases are left out.
    status: Option<String>,
    /// Service id.
    service: Option<String>,
    /// Confirmed band, or the suggested one until a person confirms it.
    band: Option<String>,
    /// `true`/`false`.
    urgent: Option<bool>,
    /// `true`: only cases past their due date whose SLA is not met.
    overdue: Option<bool>,
    /// `true`: only cases due today (Europe/London) whose SLA is not met.
    due_today: Option<bool>,
    /// A worker's email, or `me`.
    assignee: Option<String>,
    /// `true`: only cases with a plan action not done past its due date; with `assignee`,
    /// cases allocated to that worker or with an overdue action they own (the worker's queue).
    plan_overdue: Option<bool>,
    /// `true`: only cases where the referrer added information that no triage officer,
    /// caseworker or manager has opened since.
    new_information: Option<bool>,
    /// `true`: include closed cases.
    include_closed: Option<bool>,
    /// 1-based page number.
    page: Option<u32>,
    /// Items per page (1 to 200, default 50).
    per_page: Option<u32>,
}

/// One case in the queue.
#[derive(Serialize, ToSchema)]
pub struct QueueItemView {
    pub reference: String,
    pub service: String,
    pub stage: String,
    pub status: String,
    pub urgent: bool,
    pub suggested_band: Option<String>,
    pub confirmed_band: Option<String>,
    /// RFC 3339, UTC.
    pub received_at: String,
    /// `YYYY-MM-DD`.
    pub due_by: Option<String>,
    /// Past its due date with the SLA not met.
    pub overdue: bool,
    pub assignee: Option<String>,
    /// Plan actions of the case not done past their due date.
    pub plan_actions_overdue: i64,
    /// The referrer added information (a follow-up message, a detailed form) that no triage
    /// officer, caseworker or manager has opened since. Such cases come right after urgent
    /// ones.
    pub new_information: bool,
}

/// A page of the queue.
#[derive(Serialize, ToSchema)]
pub struct QueueView {
    pub items: Vec<QueueItemView>,
    pub page: u32,
    pub per_page: u32,
    /// Cases matching the filters in all.
    pub total: i64,
}

fn flag(params: &HashMap<String, String>, name: &'static str) -> Result<Option<bool>, ApiError> {
    match params.get(name).map(|v| v.trim()) {
        None | Some("") => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(_) => Err(ApiError::unprocessable([(name, "Must be true or false")])),
    }
}

fn number(
    params: &HashMap<String, String>,
    name: &'static str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, ApiError> {
    let Some(text) = params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match text.parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::unprocessable([(
            name,
            format!(
                "Must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )])),
    }
}

fn text(params: &HashMap<String, String>, name: &str) -> Option<String> {
    params
        .get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Builds the storage filter from the query string, for this member of staff.
pub fn filter_from_params(
    registry: &Registry,
    staff: &Staff,
    all_teams: bool,
    params: &HashMap<String, String>,
    today: chrono::NaiveDate,
) -> Result<(QueueFilter, u32, u32), ApiError> {
    const KNOWN: [&str; 13] = [
        "q",
        "status",
        "service",
        "band",
        "urgent",
        "overdue",
        "due_today",
        "assignee",
        "plan_overdue",
        "new_information",
        "include_closed",
        "page",
        "per_page",
    ];
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::unprocessable([(
            unknown.clone(),
            format!("Unknown filter; use one of: {}", KNOWN.join(", ")),
        )]));
    }
    let service = text(params, "service");
    if let Some(id) = &service {
        if registry.get(id).is_none() {
            return Err(ApiError::unprocessable([(
                "service",
                format!("There is no service `{id}`"),
            )]));
        }
    }
    let page = number(params, "page", 1..=1_000_000)?.unwrap_or(1);
    let per_page = number(params, "per_page", 1..=MAX_PER_PAGE)?.unwrap_or(DEFAULT_PER_PAGE);
    let assignee = text(params, "assignee").map(|a| {
        if a == "me" {
            staff.email.clone()
        } else {
            a.to_ascii_lowercase()
        }
    });
    let include_closed = flag(params, "include_closed")?.unwrap_or(false);
    let teams = if all_teams {
        None
    } else {
        Some(staff.team.iter().cloned().collect())
    };
    let status = text(params, "status");
    let filter = QueueFilter {
        teams,
        service,
        open_only: open_only(registry, status.as_deref(), include_closed),
        status,
        band: text(params, "band"),
        urgent: flag(params, "urgent")?,
        overdue: flag(params, "overdue")?.unwrap_or(false),
        due_today: flag(params, "due_today")?.unwrap_or(false),
        assignee,
        plan_overdue: flag(params, "plan_overdue")?.unwrap_or(false),
        new_information: flag(params, "new_information")?.unwrap_or(false),
        today: Some(today),
        reference: None,
        references: None,
        open_person: false,
        order: QueueOrder::default(),
        limit: per_page,
        offset: (page - 1).saturating_mul(per_page),
    };
    Ok((filter, page, per_page))
}

/// A queue line as the API shows it.
pub fn item_view(item: QueueItem, today: chrono::NaiveDate) -> QueueItemView {
    QueueItemView {
        overdue: !item.sla_met && item.due_by.is_some_and(|d| d < today),
        reference: item.reference,
        service: item.service,
        stage: item.stage,
        status: item.status,
        urgent: item.urgent,
        suggested_band: item.suggested_band,
        confirmed_band: item.confirmed_band,
        received_at: timestamp(item.received_at),
        due_by: item.due_by.map(|d| d.format("%Y-%m-%d").to_string()),
        assignee: item.assignee,
        plan_actions_overdue: item.plan_overdue,
        new_information: item.new_information,
    }
}

/// The queue of the caller's team (every team for admins and auditors).
#[utoipa::path(
    get,
    path = "/api/v1/referrals",
    tag = "referrals",
    params(QueueParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the queue: urgent first, then new information, then by band (most severe first), then by due date", body = QueueView),
        (status = 401, description = "No valid API token", body = ErrorBody),
        (status = 422, description = "A filter is unknown or has a bad value (named in `fields`)", body = ErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    StaffAuth(staff): StaffAuth,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<QueueView>, ApiError> {
    let policy = &state.staff.policy;
    if !policy.decide(&staff, Action::ViewQueue, None).allowed() {
        return Err(ApiError::forbidden("This role may not list cases"));
    }
    let all_teams = policy.all_teams(staff.role);
    let now = state.now();
    let today = calendar::london_date(now);
    let (mut filter, page, per_page) =
        filter_from_params(&state.registry, &staff, all_teams, &params, today)?;
    if let Some(q) = text(&params, "q") {
        let hits = crate::cases::people::search(&state.cases(), &staff, &q, now).await?;
        filter.references = Some(hits.into_iter().map(|h| h.reference).collect());
    }
    let mut filters: Vec<String> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "q")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    filters.sort();
    if params.contains_key("q") {
        // The words searched for may be a name: only that a search was made.
        filters.push("q=(search)".to_owned());
    }
    let found =
        crate::cases::queue::read(&state.storage, &staff, &filter, &filters.join(" "), now).await?;
    Ok(Json(QueueView {
        items: found
            .items
            .into_iter()
            .map(|i| item_view(i, today))
            .collect(),
        page,
        per_page,
        total: found.total,
    }))
}
