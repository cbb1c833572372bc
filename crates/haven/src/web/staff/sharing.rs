//! The information-sharing register (issue 17): `GET /staff/sharing` (the MOJ filter layout:
//! service, kind of recipient, lawful basis, consent, date sent from/to; a table a page at a
//! time, each reference linking to its case's onward referrals) and `GET /staff/sharing.csv`
//! (the filtered register as a CSV attachment). The policy check, the filter's rules, the
//! audit entries and the CSV are `cases::sharing`; these handlers parse and render.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use haven_core::answer_words::day_in_words;
use serde_json::{Value, json};

use super::case::when;
use super::error::StaffError;
use super::render::{chrome, page};
use super::session::SignedIn;
use crate::cases::CaseError;
use crate::cases::sharing::{RegisterChoices, RegisterQuery};
use crate::web::AppState;

/// The page's id of a field the operation names.
fn field_id(field: &str) -> &str {
    match field {
        "from" => "from",
        "to" => "to",
        "service" => "service",
        "recipient_kind" => "recipient_kind",
        "lawful_basis" => "lawful_basis",
        _ => "consent",
    }
}

/// `GET /staff/sharing`.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(query): Query<RegisterQuery>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let cases = state.cases();
    let (status, choices, rows, errors, previous, next) = match cases
        .sharing_register(&staff, &query, state.now())
        .await
    {
        Ok(found) => {
            let base = query.query_string();
            let rows: Vec<Value> = found
                .entries
                .iter()
                .map(|e| {
                    json!({
                        "reference": e.reference,
                        "href": format!("/staff/cases/{}/onward-referrals#onward-{}", e.reference, e.id),
                        "service": e.service,
                        "kind": e.kind,
                        "recipient_kind": e.recipient_kind,
                        "recipient": e.recipient,
                        "lawful_basis": e.lawful_basis,
                        "consent_sought": e.consent_sought,
                        "consent_reason": e.consent_reason,
                        "sent_on": day_in_words(e.sent_on),
                        "by": e.by,
                        "shared": e.shared,
                        "files": e.files.iter().map(|f| json!({
                            "file_name": f.file_name,
                            "format": f.format,
                            "sha256": f.sha256,
                            "sha256_short": f.sha256.get(..12).unwrap_or(&f.sha256),
                            "at": when(f.made_at),
                            "by": f.by,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let link = |n: u32| format!("/staff/sharing?{base}&page={n}");
            (
                StatusCode::OK,
                found.choices,
                rows,
                Vec::new(),
                (found.page > 1).then(|| link(found.page - 1)),
                found.more.then(|| link(found.page + 1)),
            )
        }
        Err(CaseError::Invalid(fields)) => {
            let errors: Vec<Value> = fields
                .iter()
                .map(|f| json!({ "field": field_id(&f.field), "text": f.message }))
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                cases.sharing_choices(&staff)?,
                Vec::new(),
                errors,
                None,
                None,
            )
        }
        Err(other) => return Err(other.into()),
    };
    let mut context = chrome(&state, &session);
    context.insert("title".to_owned(), "Information-sharing register".into());
    context.insert("nav".to_owned(), "sharing".into());
    context.insert("filters".to_owned(), json!(query));
    context.insert("choices".to_owned(), choices_json(&choices));
    context.insert("rows".to_owned(), json!(rows));
    context.insert("errors".to_owned(), json!(errors));
    context.insert("previous".to_owned(), json!(previous));
    context.insert("next".to_owned(), json!(next));
    context.insert(
        "csv".to_owned(),
        json!(format!("/staff/sharing.csv?{}", query.query_string())),
    );
    Ok(page(status, "sharing.html", Value::Object(context)))
}

fn choices_json(choices: &RegisterChoices) -> Value {
    json!({
        // A service filter only for those who see more than one service.
        "services": if choices.services.len() > 1 { json!(choices.services) } else { json!([]) },
        "recipient_kinds": choices.recipient_kinds,
        "lawful_bases": choices.lawful_bases,
    })
}

/// `GET /staff/sharing.csv`: the filtered register, every row, as a CSV attachment.
pub async fn csv(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(query): Query<RegisterQuery>,
) -> Result<Response, StaffError> {
    let made = state
        .cases()
        .sharing_csv(&session.staff(), &query, state.now())
        .await?;
    let mut response = (StatusCode::OK, made.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    // The file name is made of a fixed word and a date: ASCII only.
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", made.file_name))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
