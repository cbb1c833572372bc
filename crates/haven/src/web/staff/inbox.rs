//! The team's email inbox pages (issue 15): `/staff/inbox` (the list), an item (the original
//! message beside what was read from its Word form), its attachments, the completion form
//! (the definition's own question fields, rendered and parsed by `haven-pages`, every page
//! of the stage on one form) with "Convert into a referral", and the reject / not a referral
//! form. The operations, their policy checks and audit entries are `cases::inbox`; these
//! handlers only parse and render.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::answer_words::{STAFF, answer_in_words};
use haven_core::answers::FieldError;
use haven_pages::{FormAction, PageRequest, PageState};
use serde_json::{Value, json};

use super::case::when;
use super::error::StaffError;
use super::render::{chrome, page};
use super::session::{CurrentSession, SignedIn};
use crate::cases::CaseError;
use crate::cases::inbox::{self, Opened};
use crate::storage::email_intake::Rejection;
use crate::web::AppState;

/// Status of an item in words.
fn status_words(status: &str, rejected_as: Option<&str>, quarantined: bool) -> &'static str {
    match (status, rejected_as) {
        ("converted", _) => "Converted",
        ("rejected", Some("not_a_referral")) => "Not a referral",
        ("rejected", _) => "Rejected",
        _ if quarantined => "Set aside",
        _ => "New",
    }
}

fn text_at<'a>(item: Option<&'a Value>, pointer: &str) -> Option<&'a str> {
    item.and_then(|i| i.pointer(pointer))
        .and_then(Value::as_str)
}

/// The sender as shown: "Name <address>", or the address.
fn sender_words(item: Option<&Value>) -> String {
    let address = text_at(item, "/sender/address");
    let name = text_at(item, "/sender/name").filter(|n| !n.trim().is_empty());
    match (name, address) {
        (Some(n), Some(a)) => format!("{n} <{a}>"),
        (None, Some(a)) => a.to_owned(),
        _ => "Not given".to_owned(),
    }
}

/// `GET /staff/inbox`.
pub async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let rows = inbox::list(&state.cases(), &staff, state.now()).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let item = r.item.as_ref();
            let quarantined = r.outcome == crate::storage::email_intake::IntakeOutcome::Quarantined;
            json!({
                "id": r.id,
                "service": r.service.as_deref().and_then(|s| state.registry.get(s)).map(|d| d.name.clone()),
                "urgent": r.urgent && r.status == "new",
                "verified": r.sender_verified,
                "status": status_words(&r.status, r.rejected_as.as_deref(), quarantined),
                "new": r.status == "new",
                "sender": sender_words(item),
                "subject": text_at(item, "/subject").filter(|s| !s.trim().is_empty()).unwrap_or("(no subject)"),
                "received": when(r.received_at),
            })
        })
        .collect();
    let mut context = chrome(&state, &session);
    context.insert("title".to_owned(), "Email inbox".into());
    context.insert("nav".to_owned(), "inbox".into());
    context.insert("rows".to_owned(), Value::Array(items));
    Ok(page(StatusCode::OK, "inbox.html", context))
}

/// The item page's context (shared by the item page and the forms shown beside it).
fn item_context(
    state: &AppState,
    session: &CurrentSession,
    opened: &Opened,
) -> serde_json::Map<String, Value> {
    let item = opened.item.item.as_ref();
    let quarantined =
        opened.item.outcome == crate::storage::email_intake::IntakeOutcome::Quarantined;
    let attachments: Vec<Value> = item
        .and_then(|i| i.get("attachments"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, a)| {
                    json!({
                        "index": i,
                        "name": a.get("file_name").and_then(Value::as_str).unwrap_or("attachment"),
                        "size": a.get("size").and_then(Value::as_u64).map(haven_email::size_words),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    // The answers read (or saved), laid out by the stage's pages, labels not keys.
    let mut sections = Vec::new();
    if let Some(stage) = opened.stage.as_ref().and_then(|(k, _)| opened.def.stage(k)) {
        for p in &stage.pages {
            let rows: Vec<Value> = p
                .questions
                .iter()
                .filter_map(|q| {
                    super::answers::at(&opened.answers, &q.key)
                        .map(|v| json!({ "label": q.label, "value": answer_in_words(q, v, STAFF) }))
                })
                .collect();
            if !rows.is_empty() {
                sections.push(json!({ "title": p.title, "rows": rows }));
            }
        }
    }
    let unread: Vec<Value> = opened
        .unread
        .iter()
        .map(|u| json!({ "label": u.label, "reason": u.reason }))
        .collect();
    let staff = session.staff();
    let scope = crate::policy::CaseScope {
        service: &opened.def.id,
        team: &opened.def.team,
    };
    let may_convert = state
        .staff
        .policy
        .decide(&staff, crate::policy::Action::ConvertEmail, Some(scope))
        .allowed()
        && opened.item.status == "new";
    let mut context = chrome(state, session);
    context.insert("nav".to_owned(), "inbox".into());
    context.insert(
        "item".to_owned(),
        json!({
            "id": opened.item.id,
            "service": opened.def.name,
            "sender": sender_words(item),
            "subject": text_at(item, "/subject").filter(|s| !s.trim().is_empty()).unwrap_or("(no subject)"),
            "date": item.and_then(|i| i.get("date")).and_then(Value::as_str)
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                .map(|d| when(d.with_timezone(&chrono::Utc))),
            "received": when(opened.item.received_at),
            "lines": text_at(item, "/text").unwrap_or("").lines().collect::<Vec<_>>(),
            "urgent": opened.item.urgent,
            "verified": opened.item.sender_verified,
            "status": status_words(&opened.item.status, opened.item.rejected_as.as_deref(), quarantined),
            "new": opened.item.status == "new",
            "quarantined": quarantined,
            "quarantine_reason": opened.item.reason,
            "decision_reason": opened.item.decision_reason,
            "decided": opened.item.decided_at.map(when),
            "attachments": attachments,
        }),
    );
    context.insert("sections".to_owned(), Value::Array(sections));
    context.insert("unread".to_owned(), Value::Array(unread));
    context.insert("form_read".to_owned(), opened.form_read.into());
    context.insert("form_problems".to_owned(), json!(opened.form_problems));
    context.insert(
        "may_convert".to_owned(),
        (may_convert && !quarantined).into(),
    );
    context.insert("may_reject".to_owned(), may_convert.into());
    context
}

/// `GET /staff/inbox/{id}`: the original beside the answers (opening it is audited).
pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let opened = inbox::open(&state.cases(), &staff, &id, state.now()).await?;
    let mut context = item_context(&state, &session, &opened);
    // The case it became, by reference (only for a converted item).
    if let Some(referral_id) = &opened.item.referral_id
        && let Some(referral) = state.storage.find_referral_by_id(referral_id).await?
    {
        context.insert("case_reference".to_owned(), referral.reference.into());
    }
    context.insert("title".to_owned(), "Emailed referral".into());
    Ok(page(StatusCode::OK, "inbox_item.html", context))
}

/// `GET /staff/inbox/{id}/attachments/{index}`: one attachment as a download (audited).
pub async fn attachment(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((id, index)): Path<(String, usize)>,
) -> Result<Response, StaffError> {
    let (name, content_type, bytes) =
        inbox::attachment(&state.cases(), &session.staff(), &id, index, state.now()).await?;
    // ASCII letters, digits, dots, hyphens and underscores only in the header.
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{safe}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// A page without its file questions: an email's files are chosen from its attachments
/// (the form's own fieldset per file question), not uploaded.
fn without_files(page: &haven_core::definition::Page) -> haven_core::definition::Page {
    let mut page = page.clone();
    page.questions
        .retain(|q| q.kind != haven_core::definition::QuestionKind::File);
    page
}

/// Per file question of the stage: which of the email's attachments answer it.
fn file_choices(opened: &Opened, answers: &Value) -> Vec<Value> {
    let Some(stage) = opened.stage.as_ref().and_then(|(k, _)| opened.def.stage(k)) else {
        return Vec::new();
    };
    let attachments: Vec<(usize, String)> = opened
        .item
        .item
        .as_ref()
        .and_then(|i| i.get("attachments"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, a)| {
                    (
                        i,
                        a.get("file_name")
                            .and_then(Value::as_str)
                            .unwrap_or("attachment")
                            .to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    stage
        .questions()
        .filter(|(_, q)| q.kind == haven_core::definition::QuestionKind::File)
        .map(|(_, q)| {
            let chosen: Vec<String> = match super::answers::at(answers, &q.key) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                Some(Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            };
            json!({
                "key": q.key,
                "id": format!("inbox-file-{}", q.key.replace('.', "-")),
                "label": q.label,
                "required": q.required,
                "options": attachments.iter().map(|(i, name)| json!({
                    "index": i,
                    "name": name,
                    "checked": chosen.contains(&format!("{}{i}", inbox::EMAIL_FILE)),
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The file questions' answers from the form: `inbox_file:KEY` = attachment index.
fn file_patch(stage: &haven_core::definition::Stage, form: &[(String, String)]) -> Value {
    let mut patch = serde_json::Map::new();
    for (_, q) in stage
        .questions()
        .filter(|(_, q)| q.kind == haven_core::definition::QuestionKind::File)
    {
        let name = format!("inbox_file:{}", q.key);
        let chosen: Vec<Value> = form
            .iter()
            .filter(|(k, v)| *k == name && v.parse::<usize>().is_ok())
            .map(|(_, v)| Value::String(format!("{}{v}", inbox::EMAIL_FILE)))
            .collect();
        let value = if chosen.is_empty() {
            Value::Null
        } else if q.max_items.is_some() {
            Value::Array(chosen)
        } else {
            chosen.into_iter().next().unwrap_or(Value::Null)
        };
        patch.insert(q.key.clone(), value);
    }
    Value::Object(patch)
}

/// The completion form's fields: every page of the conversion stage, each page's fields
/// rendered by `haven-pages` (escaped there), with `errors` inline.
fn completion_fields(
    opened: &Opened,
    answers: &Value,
    submitted: Option<&[(String, String)]>,
    errors: &[FieldError],
    today: chrono::NaiveDate,
) -> Result<Vec<Value>, StaffError> {
    let Some((stage_key, audience)) = &opened.stage else {
        return Ok(Vec::new());
    };
    let Some(stage) = opened.def.stage(stage_key) else {
        return Ok(Vec::new());
    };
    let mut pages = Vec::new();
    for p in &stage.pages {
        if p.stop.is_some() || !haven_pages::nav::page_applies(p, audience, answers, today) {
            continue;
        }
        let p = &without_files(p);
        if p.questions.is_empty() {
            continue;
        }
        let request = PageRequest {
            def: &opened.def,
            stage,
            page: p,
            audience,
            answers,
            today,
        };
        let state = PageState {
            errors,
            submitted,
            findings: &[],
            attachment_names: None,
        };
        let html = haven_pages::page_fields(&request, &state)
            .map_err(|e| StaffError::Internal(e.to_string()))?;
        pages.push(json!({ "title": p.title_for(audience), "html": html }));
    }
    Ok(pages)
}

/// `GET /staff/inbox/{id}/complete`: the answers on the definition's questions, to correct
/// and complete before converting.
pub async fn complete_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, StaffError> {
    let opened = inbox::open_to_decide(&state.cases(), &session.staff(), &id, state.now()).await?;
    if opened.item.status != "new" {
        return Ok(Redirect::to(&format!("/staff/inbox/{id}")).into_response());
    }
    let today = crate::intake::uk_today(state.now());
    let answers = opened.answers.clone();
    render_complete(
        &state,
        &session,
        &opened,
        &answers,
        None,
        &[],
        today,
        StatusCode::OK,
    )
}

#[allow(clippy::too_many_arguments)]
fn render_complete(
    state: &AppState,
    session: &CurrentSession,
    opened: &Opened,
    answers: &Value,
    submitted: Option<&[(String, String)]>,
    errors: &[FieldError],
    today: chrono::NaiveDate,
    status: StatusCode,
) -> Result<Response, StaffError> {
    let pages = completion_fields(opened, answers, submitted, errors, today)?;
    let mut context = item_context(state, session, opened);
    context.insert("title".to_owned(), "Complete the referral".into());
    context.insert("pages".to_owned(), Value::Array(pages));
    context.insert(
        "files".to_owned(),
        Value::Array(file_choices(opened, answers)),
    );
    context.insert(
        "errors".to_owned(),
        json!(
            errors
                .iter()
                .map(|e| json!({ "field": e.field, "text": e.message }))
                .collect::<Vec<_>>()
        ),
    );
    Ok(page(status, "inbox_complete.html", context))
}

/// `POST /staff/inbox/{id}/complete`: `action` = `save` (keep the answers), `convert` (keep
/// them and make the referral), or a repeatable question's add / remove (show again).
pub async fn complete(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, StaffError> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| StaffError::BadRequest("the form could not be read".to_owned()))?;
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    session.check_csrf(csrf)?;
    let staff = session.staff();
    let now = state.now();
    let cases = state.cases();
    let opened = inbox::open_to_decide(&cases, &staff, &id, now).await?;
    let Some((stage_key, audience)) = opened.stage.clone() else {
        return Err(StaffError::NotFound);
    };
    let Some(stage) = opened.def.stage(&stage_key) else {
        return Err(StaffError::NotFound);
    };
    let today = crate::intake::uk_today(now);
    let wanted = form
        .iter()
        .rev()
        .find(|(k, _)| k == "inbox_action")
        .map_or("save", |(_, v)| v.as_str())
        .to_owned();
    // Each page of the stage parses its own fields (the public form's own parsing).
    let mut answers = opened.answers.clone();
    let mut errors: Vec<FieldError> = Vec::new();
    let mut again = false;
    for p in &stage.pages {
        if p.stop.is_some() || !haven_pages::nav::page_applies(p, &audience, &answers, today) {
            continue;
        }
        let p = &without_files(p);
        if p.questions.is_empty() {
            continue;
        }
        let request = PageRequest {
            def: &opened.def,
            stage,
            page: p,
            audience: &audience,
            answers: &answers,
            today,
        };
        let input = haven_pages::parse_page_form(&request, &form);
        if !matches!(input.action, FormAction::Continue | FormAction::Save) {
            again = true;
        }
        errors.extend(input.errors.iter().cloned());
        haven_pages::apply_patch(&mut answers, &input.answers_patch);
    }
    haven_pages::apply_patch(&mut answers, &file_patch(stage, &form));
    // What was typed correctly is kept, even when something else needs correcting.
    inbox::save_answers(&cases, &staff, &id, &answers, now).await?;
    if again {
        // "Add another" or "Remove": the form again, nothing checked yet.
        return render_complete(
            &state,
            &session,
            &opened,
            &answers,
            Some(&form),
            &[],
            today,
            StatusCode::OK,
        );
    }
    if wanted != "convert" {
        // Saved as far as it goes: what is missing is checked on converting.
        return Ok(Redirect::to(&format!("/staff/inbox/{id}")).into_response());
    }
    if !errors.is_empty() {
        return render_complete(
            &state,
            &session,
            &opened,
            &answers,
            Some(&form),
            &errors,
            today,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    match inbox::convert(&cases, &staff, &id, &answers, now).await {
        Ok(converted) => {
            Ok(Redirect::to(&format!("/staff/cases/{}", converted.reference)).into_response())
        }
        Err(CaseError::Invalid(fields)) => render_complete(
            &state,
            &session,
            &opened,
            &answers,
            Some(&form),
            &fields,
            today,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(CaseError::Conflict { code, message }) if code == "out_of_scope" => {
            let fields = vec![FieldError::new("convert", message)];
            render_complete(
                &state,
                &session,
                &opened,
                &answers,
                Some(&form),
                &fields,
                today,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// The reject form as posted.
#[derive(serde::Deserialize, Default)]
pub struct RejectForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub how: String,
    #[serde(default)]
    pub reason: String,
}

/// `GET /staff/inbox/{id}/reject`.
pub async fn reject_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, StaffError> {
    let opened = inbox::open_to_decide(&state.cases(), &session.staff(), &id, state.now()).await?;
    let mut context = item_context(&state, &session, &opened);
    context.insert("title".to_owned(), "Reject the email".into());
    context.insert("entered".to_owned(), json!({ "how": "", "reason": "" }));
    Ok(page(StatusCode::OK, "inbox_reject.html", context))
}

/// `POST /staff/inbox/{id}/reject`: rejected, or not a referral, with a reason.
pub async fn reject(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<RejectForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let staff = session.staff();
    let now = state.now();
    let cases = state.cases();
    let how = match form.how.as_str() {
        "rejected" => Some(Rejection::Rejected),
        "not_a_referral" => Some(Rejection::NotAReferral),
        _ => None,
    };
    let result = inbox::reject(&cases, &staff, &id, how, &form.reason, now).await;
    match result {
        Ok(()) => Ok(Redirect::to("/staff/inbox").into_response()),
        Err(CaseError::Invalid(fields)) => {
            let opened = inbox::open(&cases, &staff, &id, now).await?;
            let mut context = item_context(&state, &session, &opened);
            context.insert("title".to_owned(), "Reject the email".into());
            context.insert(
                "errors".to_owned(),
                json!(fields
                    .iter()
                    .map(|e| json!({ "field": if e.field == "how" { "how" } else { "reject-reason" }, "text": e.message }))
                    .collect::<Vec<_>>()),
            );
            context.insert(
                "entered".to_owned(),
                json!({ "how": form.how, "reason": form.reason }),
            );
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "inbox_reject.html",
                context,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
