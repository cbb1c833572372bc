//! `GET /staff/queue`: a team's cases, filtered (service, status, band, urgent, overdue,
//! assignee) and sorted as the API sorts (`storage::queue`: urgent, new information, band,
//! due date) or, on one team's queue, by the MOJ sortable table's headings (`sort=received`
//! or `due`, `order=ascending|descending`: server-side links that keep the filters, each
//! order read from an index), or found by its exact reference. Each row names the young person and their age
//! (the page's rows' small sealed young person summaries opened in one read) and, for urgent cases, how long they have
//! waited. Every page view is ONE audit entry naming the filters and the references shown.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::answer_words::day_in_words;
use haven_core::calendar;
use serde::Deserialize;
use serde_json::json;

use super::case::band_words;
use super::error::StaffError;
use super::render::page;
use super::session::SignedIn;
use crate::cases::queue::{open_only, waited_words};
use crate::policy::Action;
use crate::storage::queue::{QueueFilter, QueueOrder, QueueSort};
use crate::web::AppState;
use haven_core::young_person::PersonSummary;

/// Rows per page.
pub const PAGE_SIZE: u32 = 50;

/// The queue's filters as the form sends them (empty = any).
#[derive(Deserialize, Default, Debug)]
pub struct QueueQuery {
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub band: String,
    #[serde(default)]
    pub urgent: String,
    #[serde(default)]
    pub overdue: String,
    #[serde(default)]
    pub assignee: String,
    #[serde(default)]
    pub plan_overdue: String,
    #[serde(default)]
    pub new_information: String,
    /// An exact reference (`SEC-ABCD-1234`), any case and spacing.
    #[serde(default)]
    pub reference: String,
    /// A search by name, date of birth, postcode, phone, email or handle: answered by the
    /// search page (`/staff/search`), where the person index finds it.
    #[serde(default)]
    pub q: String,
    /// What to sort by: `priority` (the default), `received` or `due` ([`Sorting`]).
    #[serde(default)]
    pub sort: String,
    /// `ascending` or `descending`; empty for the sort's usual way round.
    #[serde(default)]
    pub order: String,
    #[serde(default)]
    pub page: Option<u32>,
}

/// The queue's sortable headings: the parameter value, the heading, and which way round
/// the sort usually goes (as `aria-sort` says it). Only one team's queue offers any but the
/// first: an index keyed by team serves each (migration `20250101000037_queue_sorts.sql`).
const SORTS: [(&str, QueueSort, &str, &str); 3] = [
    // Most urgent and most serious band first: "descending" priority.
    ("priority", QueueSort::Priority, "Band", "descending"),
    // Oldest first.
    ("received", QueueSort::Received, "Received", "ascending"),
    // Soonest due first.
    ("due", QueueSort::Due, "Due", "ascending"),
];

/// The order asked for, parsed: its parameter value, the storage order and `aria-sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sorting {
    key: &'static str,
    order: QueueOrder,
    /// `ascending` or `descending`.
    direction: &'static str,
}

/// `sort` and `order` of the query, checked: an unknown value is refused naming its field.
fn sorting(query: &QueueQuery) -> Result<Sorting, (&'static str, String)> {
    let sort = match query.sort.trim() {
        "" => "priority",
        other => other,
    };
    let Some((key, sort, _, usual)) = SORTS.iter().find(|(key, ..)| *key == sort).copied() else {
        return Err((
            "sort",
            "Cases can be sorted by band (“priority”), date received (“received”) or due date (“due”)".to_owned(),
        ));
    };
    let direction = match query.order.trim() {
        "" => usual,
        "ascending" => "ascending",
        "descending" => "descending",
        _ => {
            return Err((
                "order",
                "The order can be “ascending” or “descending”".to_owned(),
            ));
        }
    };
    Ok(Sorting {
        key,
        order: QueueOrder {
            sort,
            reversed: direction != usual,
        },
        direction,
    })
}

/// The caption saying how the rows are sorted.
fn order_words(sorting: &Sorting) -> &'static str {
    match (sorting.order.sort, sorting.order.reversed) {
        (QueueSort::Priority, false) => {
            "Urgent first, then new information from the referrer, then the most serious risk band, then by due date"
        }
        (QueueSort::Priority, true) => {
            "Least serious first: the least serious risk band, then by latest due date, urgent cases last"
        }
        (QueueSort::Received, false) => "Oldest first, by the date received",
        (QueueSort::Received, true) => "Newest first, by the date received",
        (QueueSort::Due, false) => "Soonest due first; cases without a due date last",
        (QueueSort::Due, true) => "Latest due date first; cases without a due date first",
    }
}

/// A reference as typed, made exact: upper case, no spaces, only letters, digits and
/// hyphens kept (anything else cannot be a reference), at most 32 characters.
fn reference_of(text: &str) -> Option<String> {
    let clean: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect::<String>()
        .to_ascii_uppercase();
    Some(clean).filter(|c| !c.is_empty())
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// `GET /staff/queue`.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(query): Query<QueueQuery>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    StaffError::from_decision(state.staff.policy.decide(&staff, Action::ViewQueue, None))?;
    if let Some(q) = some(&query.q) {
        let search = serde_urlencoded::to_string([("q", q.as_str())]).unwrap_or_default();
        return Ok(Redirect::to(&format!("/staff/search?{search}")).into_response());
    }
    let now = state.now();
    let page_number = query.page.unwrap_or(1).max(1);
    let teams: Option<Vec<String>> = if state.staff.policy.all_teams(staff.role) {
        None
    } else {
        // A role that works on one team sees only that team's queue (and none without one).
        Some(staff.team.iter().cloned().collect())
    };
    let sorting = match sorting(&query) {
        Ok(sorting) => sorting,
        Err((field, message)) => {
            let mut context = super::render::chrome(&state, &session);
            context.insert("title".to_owned(), json!("Cases cannot be sorted that way"));
            context.insert(
                "message".to_owned(),
                json!(format!(
                    "The “{field}” in the page address is not one the queue knows. {message}."
                )),
            );
            return Ok(page(
                StatusCode::BAD_REQUEST,
                "error.html",
                serde_json::Value::Object(context),
            ));
        }
    };
    // Only one team's queue has an index in each order; other queues keep the priority order.
    let sortable = teams.as_ref().is_some_and(|t| t.len() == 1);
    let sorting = if sortable {
        sorting
    } else {
        Sorting {
            key: "priority",
            order: QueueOrder::default(),
            direction: "descending",
        }
    };
    // Workers of the teams this person sees, to filter by (allocation stores emails).
    let everyone = state.storage.staff_directory().await?;
    let workers: Vec<(String, String)> = everyone
        .iter()
        .filter(|u| {
            !u.disabled
                && u.team
                    .as_deref()
                    .is_some_and(|t| state.staff.policy.on_team(&staff, t))
        })
        .map(|u| (u.email.clone(), u.name().to_owned()))
        .collect();
    // Allocations are stored as emails: each row names its worker.
    let names: std::collections::HashMap<&str, &str> = everyone
        .iter()
        .map(|u| (u.email.as_str(), u.name()))
        .collect();
    let assignee = match query.assignee.as_str() {
        "me" => Some(staff.email.clone()),
        other if workers.iter().any(|(w, _)| w == other) => Some(other.to_owned()),
        _ => None,
    };
    let filter = QueueFilter {
        teams,
        service: some(&query.service),
        status: some(&query.status),
        band: some(&query.band),
        urgent: (query.urgent == "yes").then_some(true),
        overdue: query.overdue == "yes",
        due_today: false,
        assignee,
        plan_overdue: query.plan_overdue == "yes",
        new_information: query.new_information == "yes",
        open_only: open_only(&state.registry, some(&query.status).as_deref(), false),
        today: Some(calendar::london_date(now)),
        // Every row listed is one this person may see (their teams, `view_queue`): its
        // young person summary is opened for the name and age, with the page's rows only.
        open_person: true,
        reference: reference_of(&query.reference),
        references: None,
        order: sorting.order,
        limit: PAGE_SIZE,
        offset: (page_number - 1).saturating_mul(PAGE_SIZE),
    };
    let filters = format!(
        "service={} status={} band={} urgent={} overdue={} assignee={} plan_overdue={} new_information={} reference={} sort={} order={} page={page_number}",
        query.service,
        query.status,
        query.band,
        query.urgent,
        query.overdue,
        query.assignee,
        query.plan_overdue,
        query.new_information,
        filter.reference.as_deref().unwrap_or_default(),
        sorting.key,
        sorting.direction,
    );
    let found = state.storage.queue(&filter).await?;
    // The view's audit entry is committed while the page is built; the page is shown only
    // once the entry is recorded (a view that cannot be audited is an error page).
    let recording =
        crate::cases::queue::record_shown(&state.storage, &staff, &filters, &found, now);
    let building = async {
        let more = i64::from(page_number) * i64::from(PAGE_SIZE) < found.total;
        let rows = &found.items;
        let services: Vec<_> = state
            .registry
            .definitions()
            .filter(|d| state.staff.policy.on_team(&staff, &d.team))
            .collect();
        let mut statuses: Vec<(String, String)> = services
            .iter()
            .flat_map(|d| d.workflow.iter().flat_map(|w| w.states.iter()))
            .map(|s| (s.key.clone(), s.label.clone()))
            .collect();
        statuses.sort();
        statuses.dedup_by(|a, b| a.0 == b.0);
        let mut bands: Vec<String> = services
            .iter()
            .flat_map(|d| d.screening.iter().flat_map(|s| s.bands.iter().cloned()))
            .collect();
        bands.sort();
        bands.dedup();
        let today = calendar::london_date(now);
        // The "known elsewhere" alert of the page's rows (one query, for the rows whose young
        // person matched someone elsewhere, none when no row did; only where the role has
        // `see_known_elsewhere` for the row's service and team).
        let keys: Vec<(&str, &str, &str)> = rows
            .iter()
            .filter(|r| r.matched_elsewhere)
            .map(|r| (r.reference.as_str(), r.service.as_str(), r.team.as_str()))
            .collect();
        let alerted = crate::cases::people::alerted(&state.cases(), &staff, &keys).await?;
        let items: Vec<_> = rows
        .iter()
        .map(|r| {
            let def = state.registry.get(&r.service);
            let terminal = def
                .and_then(|d| d.workflow.as_ref())
                .and_then(|w| w.states.iter().find(|s| s.key == r.status));
            // The summary stored at intake (never from a third-party question); a row from
            // before summaries, not yet filled in, from its answers the same way.
            let person = match (&r.person, &r.answers, def) {
                (Some(p), _, _) => PersonSummary::from_json(p).map(|p| p.on(today)),
                (None, Some(a), Some(d)) => Some(PersonSummary::of_referral(d, a).on(today)),
                _ => None,
            };
            json!({
                "reference": r.reference,
                "name": person.as_ref().map(|p| p.name.clone().unwrap_or_else(|| "Not given".to_owned())),
                "age": person.as_ref().map(|p| {
                    p.age_today
                        .map(|years| years.to_string())
                        .or_else(|| p.age_reported.clone())
                        .unwrap_or_else(|| "Not given".to_owned())
                }),
                "unreadable": r.answers_unreadable,
                "waited": r.urgent.then(|| waited_words(r.received_at, now)),
                "service": def.map_or(r.service.as_str(), |d| d.name.as_str()),
                "status": terminal.map_or(r.status.as_str(), |s| s.label.as_str()),
                "urgent": r.urgent,
                "band": r.confirmed_band.as_deref().or(r.suggested_band.as_deref()).map(band_words),
                "band_confirmed": r.confirmed_band.is_some(),
                "due_by": r.due_by.map(day_in_words),
                "overdue": !r.sla_met && r.due_by.is_some_and(|d| d < today) && !terminal.is_some_and(|s| s.terminal),
                "received": day_in_words(calendar::london_date(r.received_at)),
                "assignee": r.assignee.as_deref().map(|a| names.get(a).copied().unwrap_or(a)),
                "plan_overdue": r.plan_overdue,
                "new_information": r.new_information,
                "known_elsewhere": alerted.contains(&r.reference),
            })
        })
        .collect();
        // The filters, encoded (an email address may hold `+` or `&`), kept in every link.
        let filters = serde_urlencoded::to_string([
            ("service", query.service.as_str()),
            ("status", query.status.as_str()),
            ("band", query.band.as_str()),
            ("urgent", query.urgent.as_str()),
            ("overdue", query.overdue.as_str()),
            ("assignee", query.assignee.as_str()),
            ("plan_overdue", query.plan_overdue.as_str()),
            ("new_information", query.new_information.as_str()),
            ("reference", filter.reference.as_deref().unwrap_or_default()),
        ])
        .unwrap_or_default();
        let base = format!("{filters}&sort={}&order={}", sorting.key, sorting.direction);
        // Each sortable heading: the active one with its `aria-sort` and a link the other way
        // round; the others with a link in their usual order (back to the first page).
        let headings: serde_json::Map<String, serde_json::Value> = SORTS
        .iter()
        .map(|(key, _, text, usual)| {
            let active = *key == sorting.key;
            let next = if active {
                if sorting.direction == "ascending" {
                    "descending"
                } else {
                    "ascending"
                }
            } else {
                *usual
            };
            (
                (*key).to_owned(),
                json!({
                    "text": text,
                    "sort": if active { sorting.direction } else { "none" },
                    "href": sortable.then(|| format!("/staff/queue?{filters}&sort={key}&order={next}")),
                }),
            )
        })
        .collect();
        Ok::<Response, StaffError>(page(
            StatusCode::OK,
            "queue.html",
            json!({
                "title": "Cases",
                "signin_notice": session.record.signin_notice.as_ref().map(super::attempts::notice_text),
                "csrf": session.csrf,
                "signed_in": true,
                "email": staff.email,
                "may_manage": state.staff.policy.decide(&staff, Action::ManageUsers, None).allowed(),
                "may_inbox": super::render::may_inbox(&state, &staff),
                "may_sharing": super::render::may_sharing(&state, &staff),
                "may_dashboard": super::render::may_dashboard(&state, &staff),
                "rows": items,
                "headings": headings,
                "order_words": order_words(&sorting),
                "sort": (sorting.key != "priority" || sorting.direction != "descending")
                    .then(|| json!({"sort": sorting.key, "order": sorting.direction})),
                "filters": query_json(&query),
                "services": services.iter().map(|d| json!({"id": d.id, "name": d.name})).collect::<Vec<_>>(),
                "statuses": statuses.iter().map(|(k, l)| json!({"key": k, "label": l})).collect::<Vec<_>>(),
                "bands": bands.iter().map(|b| json!({"key": b, "label": band_words(b)})).collect::<Vec<_>>(),
                "workers": workers.iter().map(|(email, name)| json!({"email": email, "name": name})).collect::<Vec<_>>(),
                "previous": (page_number > 1).then(|| format!("/staff/queue?{base}&page={}", page_number - 1)),
                "next": more.then(|| format!("/staff/queue?{base}&page={}", page_number + 1)),
            }),
        ))
    };
    let (recorded, built) = tokio::join!(recording, building);
    recorded?;
    built
}

fn query_json(q: &QueueQuery) -> serde_json::Value {
    json!({
        "service": q.service, "status": q.status, "band": q.band,
        "urgent": q.urgent == "yes", "overdue": q.overdue == "yes", "assignee": q.assignee,
        "plan_overdue": q.plan_overdue == "yes",
        "new_information": q.new_information == "yes",
        "reference": reference_of(&q.reference),
    })
}
