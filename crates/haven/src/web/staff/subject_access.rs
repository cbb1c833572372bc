//! Subject access request pages (issue 17): the team's open requests by due date
//! (`/staff/subject-access`), opening one from a case (`/staff/cases/{reference}/subject-access`),
//! a request with its clock and the preview of its export (`/staff/subject-access/{id}`),
//! one form per page to extend it, decide on an item, refuse or release it, and the released
//! PDF and JSON (`/staff/subject-access/{id}/export/{pdf|json}`, attachments). The
//! operations, policy checks and audit entries are `cases::subject_access`.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::subject_access::{
    IDENTITY_CHECKS, MAX_EXTENSION_MONTHS, RELATIONSHIPS, RequestInput, days_left, days_left_words,
    identity_check_words, relationship_words,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::case::{day, when};
use super::error::StaffError;
use super::render::{chrome, page};
use super::session::{CurrentSession, SignedIn};
use crate::cases::CaseError;
use crate::cases::subject_access::{ExportItem, RequestView};
use crate::web::AppState;

/// Every form of these pages (each uses some fields).
#[derive(Debug, Default, Deserialize)]
pub struct SarForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    requester_name: String,
    #[serde(default)]
    relationship: String,
    #[serde(default)]
    identity_check: String,
    #[serde(default)]
    identity_detail: String,
    #[serde(default)]
    received_day: String,
    #[serde(default)]
    received_month: String,
    #[serde(default)]
    received_year: String,
    #[serde(default)]
    months: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    decision: String,
}

impl SarForm {
    fn entered(&self) -> Value {
        json!({
            "requester_name": self.requester_name, "relationship": self.relationship,
            "identity_check": self.identity_check, "identity_detail": self.identity_detail,
            "received_day": self.received_day, "received_month": self.received_month,
            "received_year": self.received_year, "months": self.months,
            "reason": self.reason, "decision": self.decision,
        })
    }
}

/// A field of the operations as the id of its control on these pages.
fn field_id(field: &str) -> String {
    match field {
        "received" => "received-day".to_owned(),
        other => other.replace('_', "-"),
    }
}

fn errors_of(error: CaseError) -> Result<Vec<Value>, StaffError> {
    match error {
        CaseError::Invalid(fields) => Ok(fields
            .into_iter()
            .map(|f| json!({ "field": field_id(&f.field), "text": f.message }))
            .collect()),
        other => Err(other.into()),
    }
}

fn status_of(errors: &[Value]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

fn base(state: &AppState, session: &CurrentSession, title: &str, form: &str) -> Map<String, Value> {
    let mut context = chrome(state, session);
    context.insert("title".to_owned(), json!(title));
    context.insert("nav".to_owned(), json!("subject-access"));
    context.insert("form".to_owned(), json!(form));
    context
}

fn options(list: &[(&str, &str)]) -> Value {
    json!(
        list.iter()
            .map(|(k, w)| json!({ "key": k, "label": w }))
            .collect::<Vec<_>>()
    )
}

/// The due date with the days left (an MOJ badge's words and colour).
fn clock(due: chrono::NaiveDate, today: chrono::NaiveDate) -> Value {
    let left = days_left(due, today);
    json!({
        "due": day(due),
        "words": days_left_words(due, today),
        "variant": if left < 0 { "red" } else if left <= 7 { "orange" } else { "blue" },
        "overdue": left < 0,
    })
}

/// `GET /staff/subject-access`: the team's open requests, soonest due first.
pub async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let rows = state.cases().subject_access_list(&staff).await?;
    let today = haven_core::calendar::london_date(state.now());
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "reference": r.reference,
                "relationship": relationship_words(&r.relationship),
                "received": day(r.received_on),
                "clock": clock(r.due_on, today),
                "extended": r.extended_months,
                "cases": r.cases,
            })
        })
        .collect();
    let mut context = base(&state, &session, "Subject access requests", "list");
    context.insert("rows".to_owned(), json!(rows));
    Ok(page(StatusCode::OK, "subject_access.html", context))
}

async fn show_new(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
    form: &SarForm,
    errors: Vec<Value>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let covered = state
        .cases()
        .subject_access_scope(&staff, reference)
        .await?;
    let cases: Vec<Value> = covered
        .iter()
        .map(|(r, service)| json!({ "reference": r.reference, "service": service, "received": when(r.received_at) }))
        .collect();
    let reference = covered
        .first()
        .map_or_else(|| reference.to_owned(), |(r, _)| r.reference.clone());
    let mut context = base(state, session, "New subject access request", "new");
    context.insert("reference".to_owned(), json!(reference));
    context.insert("cases".to_owned(), json!(cases));
    context.insert("relationships".to_owned(), options(&RELATIONSHIPS));
    context.insert("checks".to_owned(), options(&IDENTITY_CHECKS));
    context.insert("entered".to_owned(), form.entered());
    let status = status_of(&errors);
    context.insert("errors".to_owned(), json!(errors));
    Ok(page(status, "subject_access.html", context))
}

/// `GET /staff/cases/{reference}/subject-access`: the form to open a request.
pub async fn new_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, StaffError> {
    show_new(
        &state,
        &session,
        &reference,
        &SarForm::default(),
        Vec::new(),
    )
    .await
}

/// `POST /staff/cases/{reference}/subject-access`: opens the request.
pub async fn create(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<SarForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let input = RequestInput {
        requester_name: &form.requester_name,
        relationship: &form.relationship,
        identity_check: &form.identity_check,
        identity_detail: &form.identity_detail,
        received_day: &form.received_day,
        received_month: &form.received_month,
        received_year: &form.received_year,
    };
    match state
        .cases()
        .open_subject_access(&session.staff(), &reference, &input, state.now())
        .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/staff/subject-access/{id}")).into_response()),
        Err(e) => {
            let errors = errors_of(e)?;
            show_new(&state, &session, &reference, &form, errors).await
        }
    }
}

fn item_json(id: &str, item: &ExportItem) -> Value {
    json!({
        "id": item.id,
        "href": format!("/staff/subject-access/{id}/items/{}", item.id),
        "section": item.section, "label": item.label, "text": item.text,
        "third_party": item.third_party, "withheld": item.withheld,
        "decision": item.decision.as_ref().map(|(d, _)| d),
    })
}

/// What every page of a request shows: who asked, the clock, the cases covered.
fn request_context(
    state: &AppState,
    session: &CurrentSession,
    view: &RequestView,
    title: &str,
    form: &str,
) -> Map<String, Value> {
    let r = &view.request;
    let mut context = base(state, session, title, form);
    let cases: Vec<Value> = view
        .cases
        .iter()
        .map(|c| {
            json!({
                "reference": c.reference, "service": c.service_name,
                "received": day(c.received_on),
                "items": c.items.iter().map(|i| item_json(&r.id, i)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let released_cases: Vec<Value> = r
        .release_record
        .as_ref()
        .and_then(|rec| rec.get("cases"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|c| json!({ "reference": c.get("reference"), "service": c.get("service") }))
                .collect()
        })
        .unwrap_or_default();
    let withheld_count = r
        .release_record
        .as_ref()
        .and_then(|rec| rec.get("withheld"))
        .and_then(Value::as_array)
        .map_or(view.withheld(), Vec::len);
    context.insert(
        "request".to_owned(),
        json!({
            "id": r.id,
            "reference": view.reference,
            "requester": r.requester_name,
            "relationship": relationship_words(&r.relationship),
            "identity_check": identity_check_words(&r.identity_check),
            "identity_detail": r.identity_detail,
            "received": day(r.received_on),
            "clock": clock(r.due_on, view.today),
            "extended": r.extended_months,
            "may_extend": r.status == "open" && r.extended_months < MAX_EXTENSION_MONTHS,
            "extension_reason": r.extension_reason,
            "status": r.status,
            "open": r.status == "open",
            "refusal_reason": r.refusal_reason,
            "released_at": r.released_at.map(when),
            "released_cases": released_cases,
            "withheld": withheld_count,
            "opened": when(r.created_at),
        }),
    );
    context.insert("cases".to_owned(), json!(cases));
    context
}

/// `GET /staff/subject-access/{id}`: the request, its clock and the preview of its export.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, StaffError> {
    let view = state
        .cases()
        .subject_access_view(&session.staff(), &id, state.now())
        .await?;
    let context = request_context(&state, &session, &view, "Subject access request", "request");
    Ok(page(StatusCode::OK, "subject_access.html", context))
}

/// The pages of one action on a request: `extend`, `release`, `refuse`.
async fn show_action(
    state: &AppState,
    session: &CurrentSession,
    id: &str,
    form_name: &str,
    form: &SarForm,
    errors: Vec<Value>,
) -> Result<Response, StaffError> {
    let view = state
        .cases()
        .subject_access_view(&session.staff(), id, state.now())
        .await?;
    if view.request.status != "open" {
        return Err(CaseError::Conflict {
            code: "subject_access_closed".to_owned(),
            message: "This request has already been released or refused".to_owned(),
        }
        .into());
    }
    let title = match form_name {
        "extend" => "Extend the time to respond",
        "release" => "Release the information",
        _ => "Refuse the request",
    };
    let mut context = request_context(state, session, &view, title, form_name);
    context.insert(
        "months_left".to_owned(),
        json!(MAX_EXTENSION_MONTHS.saturating_sub(view.request.extended_months)),
    );
    context.insert("entered".to_owned(), form.entered());
    let status = status_of(&errors);
    context.insert("errors".to_owned(), json!(errors));
    Ok(page(status, "subject_access.html", context))
}

/// `GET /staff/subject-access/{id}/{extend|release|refuse}`.
pub async fn action_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    if !["extend", "release", "refuse"].contains(&action.as_str()) {
        return Err(CaseError::NotFound.into());
    }
    show_action(
        &state,
        &session,
        &id,
        &action,
        &SarForm::default(),
        Vec::new(),
    )
    .await
}

/// `POST /staff/subject-access/{id}/{extend|release|refuse}`.
pub async fn action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<SarForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let (staff, now, cases) = (session.staff(), state.now(), state.cases());
    let result = match action.as_str() {
        "extend" => {
            cases
                .extend_subject_access(&staff, &id, &form.months, &form.reason, now)
                .await
        }
        "release" => cases.release_subject_access(&staff, &id, now).await,
        "refuse" => {
            cases
                .refuse_subject_access(&staff, &id, &form.reason, now)
                .await
        }
        _ => Err(CaseError::NotFound),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/staff/subject-access/{}", id.trim())).into_response()),
        Err(e) => {
            let errors = errors_of(e)?;
            show_action(&state, &session, &id, &action, &form, errors).await
        }
    }
}

async fn show_item(
    state: &AppState,
    session: &CurrentSession,
    id: &str,
    item: &str,
    form: &SarForm,
    errors: Vec<Value>,
) -> Result<Response, StaffError> {
    let (view, found) = state
        .cases()
        .subject_access_item(&session.staff(), id, item, state.now())
        .await?;
    let mut context = request_context(state, session, &view, "Withhold or release an item", "item");
    context.insert("item".to_owned(), item_json(&view.request.id, &found));
    context.insert("entered".to_owned(), form.entered());
    let status = status_of(&errors);
    context.insert("errors".to_owned(), json!(errors));
    Ok(page(status, "subject_access.html", context))
}

/// `GET /staff/subject-access/{id}/items/{item}`: withhold an item (an exemption) or release
/// a third-party one, with the reason.
pub async fn item_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((id, item)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    show_item(
        &state,
        &session,
        &id,
        &item,
        &SarForm::default(),
        Vec::new(),
    )
    .await
}

/// `POST /staff/subject-access/{id}/items/{item}`.
pub async fn decide_item(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((id, item)): Path<(String, String)>,
    Form(form): Form<SarForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    match state
        .cases()
        .decide_subject_access_item(
            &session.staff(),
            &id,
            &item,
            &form.decision,
            &form.reason,
            state.now(),
        )
        .await
    {
        Ok(()) => Ok(
            Redirect::to(&format!("/staff/subject-access/{}#preview", id.trim())).into_response(),
        ),
        Err(e) => {
            let errors = errors_of(e)?;
            show_item(&state, &session, &id, &item, &form, errors).await
        }
    }
}

/// `GET /staff/subject-access/{id}/export/{pdf|json|zip}`: the released export (the ZIP
/// bundles the PDF, the JSON and every released file), as an attachment (audited).
pub async fn export(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    let file = state
        .cases()
        .subject_access_file(&session.staff(), &id, &format, state.now())
        .await?;
    let mut response = (StatusCode::OK, file.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.file_name))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
