//! The case's forms, one action per page: band confirmation or override
//! (`/staff/cases/{reference}/band`), a workflow step (`/transitions/{to}`, posted to
//! `/transitions`), allocation (`/allocation`), a note (`/notes/new`, posted to `/notes`), a
//! message to the reporter (`/messages/new`, posted to `/messages`) and a required action
//! (`/actions/{key}`). Each GET shows the form under the case's identity bar; each POST checks
//! the CSRF token, then the policy and the case (a closed case refuses changes: 409), then its
//! input; a refused input shows the form again with the errors (422); success goes back to
//! the case (303).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haven_core::workflow::TransitionRequest;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::case::{band_words, frame, load_file, transitions};
use super::error::StaffError;
use super::render::page;
use super::session::{CurrentSession, SignedIn};
use crate::cases::CaseError;
use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::web::AppState;

/// Every case form's fields (each form sends the ones it has).
#[derive(Deserialize, Serialize, Default)]
pub struct CaseForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    band: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    worker: String,
    #[serde(default)]
    status: String,
    /// A closure outcome and closing summary (transitions into the closure state).
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    narrative: String,
}

/// Which form a page shows.
#[derive(Clone, Copy)]
enum Which<'a> {
    Band,
    Transition(&'a str),
    Allocation,
    Note,
    Message,
    RequiredAction(&'a str),
}

impl Which<'_> {
    fn action(self) -> Action {
        match self {
            Which::Band => Action::ConfirmBand,
            Which::Transition(_) => Action::Transition,
            Which::Allocation => Action::Allocate,
            Which::Note => Action::AddNote,
            Which::Message => Action::MessageReporter,
            Which::RequiredAction(_) => Action::CompleteAction,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Which::Band => "band",
            Which::Transition(_) => "transition",
            Which::Allocation => "allocation",
            Which::Note => "note",
            Which::Message => "message",
            Which::RequiredAction(_) => "action",
        }
    }

    /// Where the case is shown after the form was done.
    fn done(self, reference: &str) -> String {
        let base = format!("/staff/cases/{reference}");
        match self {
            Which::Note => format!("{base}#notes"),
            Which::Message => format!("{base}#messages"),
            Which::RequiredAction(_) => format!("{base}/screening#required-actions"),
            _ => base,
        }
    }
}

/// Shows form `which` for the case (`errors` by field id, 422 then, with what was
/// `entered`). The policy and a closed case are checked as for the POST.
async fn form_page(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
    which: Which<'_>,
    errors: &[(String, String)],
    entered: &CaseForm,
) -> Result<Response, StaffError> {
    let staff = session.staff();
    let case = load_file(state, &staff, reference, which.action()).await?;
    let (referral, def) = (&case.referral, &case.def);
    // The form shows the case's identity: a view like any other.
    let entry = AuditEntry::new(
        state.now(),
        staff.actor(),
        "referral.viewed",
        "referral",
        &referral.id,
    );
    state.storage.append_audit(&entry).await?;
    let mut context = frame(state, session, &case, None).await?;
    let (title, extra) = match which {
        Which::Band => {
            let bands = def
                .screening
                .as_ref()
                .map(|s| s.bands.clone())
                .unwrap_or_default();
            if bands.is_empty() || referral.screening.is_none() {
                return Err(StaffError::NotFound);
            }
            let chosen = if entered.band.is_empty() {
                referral
                    .confirmed_band
                    .clone()
                    .or_else(|| referral.suggested_band.clone())
                    .unwrap_or_default()
            } else {
                entered.band.clone()
            };
            let options: Vec<Value> = bands
                .iter()
                .map(|b| {
                    json!({
                        "key": b, "label": band_words(b),
                        "suggested": referral.suggested_band.as_deref() == Some(b.as_str()),
                        "checked": &chosen == b,
                    })
                })
                .collect();
            let reasons = referral
                .screening
                .as_ref()
                .and_then(|s| s.get("reasons"))
                .cloned();
            (
                "Confirm or change the band".to_owned(),
                json!({ "bands": options, "reasons": reasons }),
            )
        }
        Which::Transition(to) => {
            let step = transitions(state, &staff, &case)
                .into_iter()
                .find(|t| t.get("to").and_then(Value::as_str) == Some(to));
            match step {
                Some(step) => {
                    let label = step
                        .get("label")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    (label, json!({ "transition": step }))
                }
                // A step that is not (or no longer) one this person may take here: the
                // refusal, without a form.
                None if !errors.is_empty() => ("Change the status".to_owned(), json!({})),
                None => return Err(StaffError::NotFound),
            }
        }
        Which::Allocation => {
            let current = if entered.worker.is_empty() {
                referral.assignee.clone().unwrap_or_default()
            } else {
                entered.worker.clone()
            };
            let members: Vec<Value> = state
                .storage
                .all_staff()
                .await?
                .iter()
                .filter(|u| u.works_cases_of(&referral.team))
                .map(|u| json!({ "email": u.email, "name": u.name(), "selected": current == u.email }))
                .collect();
            (
                "Allocate the case".to_owned(),
                json!({ "members": members }),
            )
        }
        Which::Note => ("Add a note".to_owned(), json!({})),
        Which::Message => ("Message the reporter".to_owned(), json!({})),
        Which::RequiredAction(key) => {
            let action = case
                .required_actions()
                .into_iter()
                .find(|a| a.key == key)
                .ok_or(StaffError::NotFound)?;
            (
                format!("Update: {}", action.label),
                json!({ "action": {
                    "key": action.key, "label": action.label, "reason": action.reason,
                    "status": if entered.status.is_empty() { action.status } else { entered.status.clone() },
                }}),
            )
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    context.insert(
        "title".to_owned(),
        json!(format!("{title} – case {}", referral.reference)),
    );
    context.insert("heading".to_owned(), json!(title));
    context.insert("form".to_owned(), json!(which.name()));
    context.insert("entered".to_owned(), json!(entered));
    context.insert(
        "errors".to_owned(),
        json!(
            errors
                .iter()
                .map(|(field, text)| json!({ "field": field, "text": text }))
                .collect::<Vec<_>>()
        ),
    );
    if let Value::Object(extra) = extra {
        context.extend(extra);
    }
    Ok(page(status, "case_form.html", Value::Object(context)))
}

/// The answer to a case form: back to the case when the operation was done; the form again
/// with its errors (422) when the input was refused, each field named by the form's id
/// (`field_id` maps the operation's field names); any other refusal (a closed case, the
/// policy) as the error page.
async fn answer<T>(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
    which: Which<'_>,
    form: &CaseForm,
    result: Result<T, CaseError>,
    field_id: impl Fn(&str) -> String,
) -> Result<Response, StaffError> {
    let problems = match result {
        Ok(_) => {
            let reference = reference.trim().to_ascii_uppercase();
            return Ok(Redirect::to(&which.done(&reference)).into_response());
        }
        Err(CaseError::Invalid(fields)) => fields
            .into_iter()
            .map(|f| (field_id(&f.field), in_words(&f.message)))
            .collect::<Vec<_>>(),
        Err(CaseError::Conflict { code, message }) if code != "case_closed" => {
            vec![(field_id("to"), in_words(&message))]
        }
        Err(other) => return Err(other.into()),
    };
    form_page(state, session, reference, which, &problems, form).await
}

/// A refusal as the page says it: the workflow's messages are written for the API (they
/// name decision keys and the guard that failed), the page names neither.
fn in_words(message: &str) -> String {
    let message = match message.find(" (guard `") {
        Some(at) if message.ends_with("`)") => &message[..at],
        _ => message,
    };
    if message.starts_with("choose a decision") {
        return "Choose a decision".to_owned();
    }
    if message == "give a reason" {
        return "Enter a reason".to_owned();
    }
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

macro_rules! form_handler {
    ($(#[$doc:meta])* $name:ident, $which:expr) => {
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            SignedIn(session): SignedIn,
            Path(reference): Path<String>,
        ) -> Result<Response, StaffError> {
            form_page(&state, &session, &reference, $which, &[], &CaseForm::default()).await
        }
    };
}

form_handler!(
    /// `GET /staff/cases/{reference}/band`.
    band_form,
    Which::Band
);
form_handler!(
    /// `GET /staff/cases/{reference}/allocation`.
    allocation_form,
    Which::Allocation
);
form_handler!(
    /// `GET /staff/cases/{reference}/notes/new`.
    note_form,
    Which::Note
);
form_handler!(
    /// `GET /staff/cases/{reference}/messages/new`.
    message_form,
    Which::Message
);

/// `GET /staff/cases/{reference}/transitions/{to}`: one of the workflow's next steps.
pub async fn transition_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, to)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    let entered = CaseForm::default();
    form_page(
        &state,
        &session,
        &reference,
        Which::Transition(&to),
        &[],
        &entered,
    )
    .await
}

/// `GET /staff/cases/{reference}/actions/{key}`: mark a required action done, waived or
/// to do again.
pub async fn required_action_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, key)): Path<(String, String)>,
) -> Result<Response, StaffError> {
    let entered = CaseForm::default();
    form_page(
        &state,
        &session,
        &reference,
        Which::RequiredAction(&key),
        &[],
        &entered,
    )
    .await
}

/// `POST /staff/cases/{reference}/band`: confirm (same band) or override (another band);
/// a reason is always required, and the suggested band is kept.
pub async fn band(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let result = state
        .cases()
        .confirm_band(
            &session.staff(),
            &reference,
            &form.band,
            &form.reason,
            state.now(),
        )
        .await;
    answer(
        &state,
        &session,
        &reference,
        Which::Band,
        &form,
        result,
        |f| {
            match f {
                "reason" => "band-reason",
                _ => "band",
            }
            .to_owned()
        },
    )
    .await
}

/// `POST /staff/cases/{reference}/transitions`: one of the workflow's next steps, if the
/// policy and the workflow both let this role take it and its guards hold.
pub async fn transition(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let request = TransitionRequest {
        to: form.to.clone(),
        decision: Some(form.decision.clone()).filter(|d| !d.is_empty()),
        reason: Some(form.reason.clone()).filter(|r| !r.trim().is_empty()),
        fields: closure_fields(&form),
    };
    let result = state
        .cases()
        .transition(&session.staff(), &reference, request, state.now())
        .await;
    let to = form.to.clone();
    answer(
        &state,
        &session,
        &reference,
        Which::Transition(&to),
        &form,
        result,
        |f| format!("transition-{}", f.trim_start_matches("fields.")),
    )
    .await
}

/// The form's closure outcome and closing summary as transition fields.
fn closure_fields(form: &CaseForm) -> serde_json::Map<String, serde_json::Value> {
    let mut fields = serde_json::Map::new();
    for (key, value) in [("outcome", &form.outcome), ("narrative", &form.narrative)] {
        if !value.trim().is_empty() {
            fields.insert(key.to_owned(), serde_json::Value::String(value.clone()));
        }
    }
    fields
}

/// `POST /staff/cases/{reference}/notes`.
pub async fn note(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let result = state
        .cases()
        .add_note(&session.staff(), &reference, &form.body, state.now())
        .await;
    answer(
        &state,
        &session,
        &reference,
        Which::Note,
        &form,
        result,
        |_| "note-body".to_owned(),
    )
    .await
}

/// `POST /staff/cases/{reference}/allocation`: a member of the case's team, or nobody.
pub async fn allocate(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let worker = Some(form.worker.trim()).filter(|w| !w.is_empty());
    let result = state
        .cases()
        .allocate(&session.staff(), &reference, worker, state.now())
        .await;
    answer(
        &state,
        &session,
        &reference,
        Which::Allocation,
        &form,
        result,
        |_| "worker".to_owned(),
    )
    .await
}

/// `POST /staff/cases/{reference}/messages`: a message the reporter reads on the
/// follow-up page (without the author's name).
pub async fn message(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(reference): Path<String>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let result = state
        .cases()
        .message_reporter(&session.staff(), &reference, &form.body, state.now())
        .await;
    answer(
        &state,
        &session,
        &reference,
        Which::Message,
        &form,
        result,
        |_| "message-body".to_owned(),
    )
    .await
}

/// `POST /staff/cases/{reference}/actions/{key}`: marks a required action done, waived
/// (reason required) or open again.
pub async fn required_action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((reference, key)): Path<(String, String)>,
    Form(form): Form<CaseForm>,
) -> Result<Response, StaffError> {
    session.check_csrf(&form.csrf)?;
    let result = state
        .cases()
        .record_action(
            &session.staff(),
            &reference,
            &key,
            &form.status,
            Some(form.reason.as_str()),
            state.now(),
        )
        .await;
    answer(
        &state,
        &session,
        &reference,
        Which::RequiredAction(&key),
        &form,
        result,
        |f| match f {
            "reason" => "action-reason".to_owned(),
            _ => "action-status".to_owned(),
        },
    )
    .await
}
