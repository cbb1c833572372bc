//! The service dashboards (issue 17): `GET /staff/dashboard` (a service's counts over a date
//! range, each section a chart with its table beneath; `?print=1` the print view),
//! `GET /staff/dashboard/chart/{name}.svg` (one chart, an image) and
//! `GET /staff/dashboard.csv` (the export: counts under 5 suppressed, formula-safe cells,
//! audited). The operations and their policy checks are `cases::stats`; the numbers come
//! only from the `daily_stats` aggregates.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Months, NaiveDate};
use haven_core::answers::FieldError;
use haven_core::calendar::london_date;
use haven_core::statistics::Range;
use haven_core::statistics::csv::{SUPPRESSED, csv_line, suppressed};
use serde::Deserialize;
use serde_json::{Value, json};

use super::charts::{self, Series};
use super::dashboard_view::{Section, sections, summary};
use super::error::StaffError;
use super::render::{chrome, page};
use super::session::{CurrentSession, SignedIn};
use crate::cases::CaseError;
use crate::cases::stats;
use crate::web::AppState;

/// The dashboard's query: the service and the range as GOV.UK date inputs (empty = the last
/// 12 months), and the print view.
#[derive(Deserialize, Default, Debug, Clone)]
pub struct DashboardQuery {
    #[serde(default)]
    pub service: String,
    #[serde(default, rename = "from-day")]
    pub from_day: String,
    #[serde(default, rename = "from-month")]
    pub from_month: String,
    #[serde(default, rename = "from-year")]
    pub from_year: String,
    #[serde(default, rename = "to-day")]
    pub to_day: String,
    #[serde(default, rename = "to-month")]
    pub to_month: String,
    #[serde(default, rename = "to-year")]
    pub to_year: String,
    #[serde(default)]
    pub print: String,
}

/// A GOV.UK date input read: `None` when all three parts are empty.
fn date_input(
    name: &str,
    words: &str,
    day: &str,
    month: &str,
    year: &str,
) -> Result<Option<NaiveDate>, FieldError> {
    let (d, m, y) = (day.trim(), month.trim(), year.trim());
    if d.is_empty() && m.is_empty() && y.is_empty() {
        return Ok(None);
    }
    let missing: Vec<&str> = [("day", d), ("month", m), ("year", y)]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| *k)
        .collect();
    if let Some(first) = missing.first() {
        return Err(FieldError::new(
            format!("{name}-{first}"),
            format!("{words} must include a {}", missing.join(" and ")),
        ));
    }
    let parsed = (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>());
    match parsed {
        (Ok(d), Ok(m), Ok(y)) if (1900..=2200).contains(&y) => {
            NaiveDate::from_ymd_opt(y, m, d).map(Some).ok_or_else(|| {
                FieldError::new(
                    format!("{name}-day"),
                    format!("{words} must be a real date"),
                )
            })
        }
        (_, _, Ok(y)) if !(1900..=2200).contains(&y) => Err(FieldError::new(
            format!("{name}-year"),
            format!("{words} must have a year with 4 numbers, like 2026"),
        )),
        _ => Err(FieldError::new(
            format!("{name}-day"),
            format!("{words} must be a real date, in numbers"),
        )),
    }
}

/// The range asked for, or the errors naming each field (`from-day`, `to-year`, …).
fn range_of(query: &DashboardQuery, today: NaiveDate) -> Result<Range, Vec<FieldError>> {
    let from = date_input(
        "from",
        "The start date",
        &query.from_day,
        &query.from_month,
        &query.from_year,
    );
    let to = date_input(
        "to",
        "The end date",
        &query.to_day,
        &query.to_month,
        &query.to_year,
    );
    match (from, to) {
        (Ok(from), Ok(to)) => {
            let to = to.unwrap_or(today);
            let default_from = to
                .checked_sub_months(Months::new(12))
                .and_then(|d| d.succ_opt())
                .unwrap_or(to);
            let range = Range {
                from: from.unwrap_or(default_from),
                to,
            };
            stats::check_range(range).map_err(|e| match e {
                CaseError::Invalid(fields) => fields
                    .into_iter()
                    .map(|f| FieldError::new(format!("{}-day", f.field), f.message))
                    .collect(),
                _ => Vec::new(),
            })
        }
        (from, to) => Err(from.err().into_iter().chain(to.err()).collect()),
    }
}

/// The service shown: the one asked for, else the first the person may see.
fn chosen_service(state: &AppState, session: &CurrentSession, asked: &str) -> Option<String> {
    let staff = session.staff();
    let cases = state.cases();
    let allowed = stats::services_for(&cases, &staff);
    if asked.is_empty() {
        allowed.first().map(|d| d.id.clone())
    } else {
        Some(asked.to_owned())
    }
}

/// The query string that asks for the same service and range (charts, CSV, print links).
fn same_query(service: &str, range: &Range) -> String {
    let mut q = form_urlencoded_pairs(&[
        ("service", service.to_owned()),
        ("from-day", range.from.day().to_string()),
        ("from-month", range.from.month().to_string()),
        ("from-year", range.from.year().to_string()),
        ("to-day", range.to.day().to_string()),
        ("to-month", range.to.month().to_string()),
        ("to-year", range.to.year().to_string()),
    ]);
    q.insert(0, '?');
    q
}

/// `k=v&…`, each value percent-encoded (service ids and numbers: the encoding is cautious).
fn form_urlencoded_pairs(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let value: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn section_json(s: &Section, query: &str) -> Value {
    json!({
        "key": s.key,
        "title": s.title,
        "measures": s.measures,
        "two": s.measures.len() > 1,
        // A table of many columns scrolls inside its own region rather than widening the page.
        "wide": s.measures.len() > 2,
        "rows": s.rows.iter().map(|(label, counts)| json!({"label": label, "counts": counts})).collect::<Vec<_>>(),
        "chart": format!("/staff/dashboard/chart/{}.svg{query}", s.key),
        "alt": if s.stacked {
            format!("Stacked bar chart: {}. Its numbers are in the table below.", s.title)
        } else {
            format!("Bar chart: {}. Its numbers are in the table below.", s.title)
        },
    })
}

/// `GET /staff/dashboard`.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let cases = state.cases();
    let services = stats::services_for(&cases, &staff);
    if services.is_empty() {
        return Err(CaseError::Forbidden("Your role may not see the dashboards".to_owned()).into());
    }
    let today = london_date(state.now());
    let service = chosen_service(&state, &session, &query.service).unwrap_or_default();
    let mut context = chrome(&state, &session);
    context.insert("title".to_owned(), "Dashboards".into());
    context.insert("nav".to_owned(), "dashboard".into());
    context.insert(
        "services".to_owned(),
        services
            .iter()
            .map(|d| json!({"id": d.id, "name": d.name, "selected": d.id == service}))
            .collect::<Vec<_>>()
            .into(),
    );
    context.insert("choose_service".to_owned(), (services.len() > 1).into());
    context.insert("print".to_owned(), (!query.print.is_empty()).into());
    context.insert(
        "entered".to_owned(),
        json!({
            "from_day": query.from_day, "from_month": query.from_month, "from_year": query.from_year,
            "to_day": query.to_day, "to_month": query.to_month, "to_year": query.to_year,
        }),
    );
    if let Some(def) = state.registry.get(&service) {
        context.insert("service_name".to_owned(), def.name.clone().into());
    }
    let range = match range_of(&query, today) {
        Ok(range) => range,
        Err(errors) => {
            context.insert(
                "errors".to_owned(),
                errors
                    .iter()
                    .map(|e| json!({"field": e.field, "text": e.message}))
                    .collect::<Vec<_>>()
                    .into(),
            );
            context.insert("title".to_owned(), "Error: Dashboards".into());
            return Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "dashboard.html",
                context,
            ));
        }
    };
    let totals = stats::view(&cases, &staff, &service, range, state.now()).await?;
    let def = state.registry.get(&service).ok_or(CaseError::NotFound)?;
    let people = super::case::people(&state).await?;
    let query_string = same_query(&service, &range);
    let shown = sections(def, &totals, &range, &people);
    context.insert("team".to_owned(), def.team_words().into());
    context.insert(
        "range_words".to_owned(),
        format!(
            "{} to {}",
            super::case::day(range.from),
            super::case::day(range.to)
        )
        .into(),
    );
    if query.from_day.is_empty() && query.to_day.is_empty() {
        context.insert(
            "entered".to_owned(),
            json!({
                "from_day": range.from.day(), "from_month": range.from.month(), "from_year": range.from.year(),
                "to_day": range.to.day(), "to_month": range.to.month(), "to_year": range.to.year(),
            }),
        );
    }
    context.insert(
        "summary".to_owned(),
        summary(def, &totals)
            .into_iter()
            .map(|(k, v)| json!({"label": k, "value": v}))
            .collect::<Vec<_>>()
            .into(),
    );
    context.insert(
        "sections".to_owned(),
        shown
            .iter()
            .map(|s| section_json(s, &query_string))
            .collect::<Vec<_>>()
            .into(),
    );
    context.insert(
        "csv_href".to_owned(),
        format!("/staff/dashboard.csv{query_string}").into(),
    );
    context.insert(
        "print_href".to_owned(),
        format!("/staff/dashboard{query_string}&print=1").into(),
    );
    context.insert(
        "back_href".to_owned(),
        format!("/staff/dashboard{query_string}").into(),
    );
    Ok(page(StatusCode::OK, "dashboard.html", context))
}

/// The totals and sections of a request for a chart or the CSV (errors as the page's).
async fn sections_for(
    state: &AppState,
    session: &CurrentSession,
    query: &DashboardQuery,
    export: bool,
) -> Result<(Vec<Section>, String, String, Range), StaffError> {
    let staff = session.staff();
    let cases = state.cases();
    let today = london_date(state.now());
    let range = range_of(query, today).map_err(CaseError::Invalid)?;
    let service = chosen_service(state, session, &query.service).ok_or(CaseError::NotFound)?;
    let totals = if export {
        stats::export(&cases, &staff, &service, range, state.now()).await?
    } else {
        stats::dashboard(&cases, &staff, &service, range).await?
    };
    let def = state.registry.get(&service).ok_or(CaseError::NotFound)?;
    let people = super::case::people(state).await?;
    Ok((
        sections(def, &totals, &range, &people),
        def.id.clone(),
        def.name.clone(),
        range,
    ))
}

/// `GET /staff/dashboard/chart/{name}.svg`: one section's chart.
pub async fn chart(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(name): Path<String>,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, StaffError> {
    let key = name.strip_suffix(".svg").ok_or(CaseError::NotFound)?;
    let (shown, _, _, _) = sections_for(&state, &session, &query, false).await?;
    let section = shown
        .iter()
        .find(|s| s.key == key)
        .ok_or(CaseError::NotFound)?;
    let labels: Vec<String> = section.rows.iter().map(|(l, _)| l.clone()).collect();
    let series: Vec<Series<'_>> = section
        .measures
        .iter()
        .enumerate()
        .map(|(i, m)| Series {
            name: m,
            values: section
                .rows
                .iter()
                .map(|(_, c)| c.get(i).copied().unwrap_or(0))
                .collect(),
        })
        .collect();
    let svg = if section.stacked {
        charts::stacked_bars(&labels, &series)
    } else {
        charts::bars(&labels, &series)
    }
    .map_err(StaffError::Internal)?;
    let mut response = (StatusCode::OK, svg).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    Ok(response)
}

/// `GET /staff/dashboard.csv`: the export (what leaves the team): every section's counts,
/// 1 to 4 written as "fewer than 5", every cell formula-safe; audited.
pub async fn csv(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, StaffError> {
    let (shown, service_id, service_name, range) =
        sections_for(&state, &session, &query, true).await?;
    let mut body = String::new();
    body.push_str(&csv_line(&["Service", service_name.as_str(), "", ""]));
    let dates = format!(
        "{} to {}",
        super::case::day(range.from),
        super::case::day(range.to)
    );
    body.push_str(&csv_line(&["Dates", dates.as_str(), "", ""]));
    let note = format!("Counts from 1 to 4 are shown as \"{SUPPRESSED}\"");
    body.push_str(&csv_line(&["Note", note.as_str(), "", ""]));
    body.push_str(&csv_line(&["Section", "Item", "Measure", "Count"]));
    for s in &shown {
        for (label, counts) in &s.rows {
            for (measure, count) in s.measures.iter().zip(counts) {
                body.push_str(&csv_line(&[
                    s.title.as_str(),
                    label.as_str(),
                    measure.as_str(),
                    suppressed(*count).as_str(),
                ]));
            }
        }
    }
    let file = format!(
        "attachment; filename=\"dashboard-{}-{}-to-{}.csv\"",
        service_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>(),
        range.from.format("%Y-%m-%d"),
        range.to.format("%Y-%m-%d")
    );
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&file) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
