//! The pages after the form: confirmation, who can help instead, saved, resume, errors.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::London;
use haven_core::answers::FieldError;
use haven_core::definition::{ServiceDefinition, Stage, StopPage};
use serde_json::json;

use super::{ErrorLink, SignpostView, paragraphs, signpost_view};
use crate::context::{Layout, PageContext, tel_link};
use crate::form::Form;
use crate::summary::escape_html;
use crate::{PageError, env, naming, urls};

/// The confirmation: reference and receipt code (shown once: the server must send this
/// page with `Cache-Control: no-store`), and what happens next. `next_steps` overrides the
/// definition's when not empty.
pub fn confirmation_page(
    ctx: &PageContext,
    def: &ServiceDefinition,
    stage: &Stage,
    reference: &str,
    receipt_code: &str,
    next_steps: &[String],
) -> Result<String, PageError> {
    confirmation_page_after_stop(ctx, def, stage, reference, receipt_code, next_steps, None)
}

/// [`confirmation_page`] of a report that went through a stop page ("call 999 now"): the
/// page says it again first, with the number as a `tel:` link.
pub fn confirmation_page_after_stop(
    ctx: &PageContext,
    def: &ServiceDefinition,
    stage: &Stage,
    reference: &str,
    receipt_code: &str,
    next_steps: &[String],
    stop: Option<&StopPage>,
) -> Result<String, PageError> {
    let steps = if next_steps.is_empty() {
        &def.next_steps
    } else {
        next_steps
    };
    let noun = stage.label.to_lowercase();
    env::render(
        "confirmation.html",
        json!({
            "layout": Layout::new(ctx, Some(def), &format!("Your {noun} has been sent")),
            "panel": {
                "titleText": format!("{} sent", stage.label),
                "html": format!("Your reference number<br><strong>{}</strong>", escape_html(reference)),
            },
            "receipt_code": receipt_code,
            "follow_up_url": ctx.follow_up_url,
            "next_steps": steps,
            "noun": noun,
            "call_now": stop.map(|s| json!({
                "text": s.confirmation,
                "call_label": s.call_label,
                "tel": tel_link(&s.call),
            })),
        }),
    )
}

/// Not accepted here: who can help instead. Kind, never blaming; the NSPCC helpline is always
/// offered. `signposts` are keys of the definition's signposts (unknown keys are skipped).
pub fn signpost_page(
    ctx: &PageContext,
    def: &ServiceDefinition,
    stage: &Stage,
    signposts: &[String],
    reason: &str,
) -> Result<String, PageError> {
    let mut keys: Vec<&str> = signposts.iter().map(String::as_str).collect();
    if !keys.contains(&"nspcc_helpline") {
        keys.push("nspcc_helpline");
    }
    let places: Vec<SignpostView> = keys.iter().filter_map(|k| signpost_view(def, k)).collect();
    env::render(
        "signpost.html",
        json!({
            "layout": Layout::new(ctx, Some(def), "Who can help").with_back(Some(urls::check_answers(&def.id, &stage.key))),
            "reason": paragraphs(reason),
            "places": places,
            "check_url": urls::check_answers(&def.id, &stage.key),
        }),
    )
}

/// After "save and come back later": the resume code and until when the answers are kept.
pub fn saved_page(
    ctx: &PageContext,
    def: &ServiceDefinition,
    stage: &Stage,
    resume_code: &str,
    expires_at: DateTime<Utc>,
) -> Result<String, PageError> {
    let local = expires_at.with_timezone(&London);
    env::render(
        "saved.html",
        json!({
            "layout": Layout::new(ctx, Some(def), "Your answers have been saved"),
            "resume_code": resume_code,
            "expires": local.format("%-I:%M%P on %-d %B %Y").to_string(),
            "resume_url": urls::resume(&def.id),
            "noun": stage.label.to_lowercase(),
        }),
    )
}

/// Where a resume code is entered. `value` is what was typed (shown back on error).
pub fn resume_page(
    ctx: &PageContext,
    def: &ServiceDefinition,
    value: &str,
    error: Option<&str>,
) -> Result<String, PageError> {
    let params = json!({
        "id": naming::RESUME_CODE_FIELD, "name": naming::RESUME_CODE_FIELD, "value": value,
        "label": { "text": "Enter your resume code", "isPageHeading": true, "classes": "govuk-label--l" },
        "hint": { "text": "You were given this code when you saved your answers." },
        "errorMessage": error.map(|e| json!({ "text": e })),
        "classes": "govuk-input--width-20", "spellcheck": false, "autocomplete": "off",
    });
    let errors: Vec<ErrorLink> = error
        .map(|e| ErrorLink {
            text: e.to_owned(),
            href: format!("#{}", naming::RESUME_CODE_FIELD),
        })
        .into_iter()
        .collect();
    env::render(
        "resume.html",
        json!({
            "layout": Layout::new(ctx, Some(def), "Continue a saved form").with_errors(error.is_some()),
            "input": params,
            "errors": errors,
            "action": urls::resume(&def.id),
        }),
    )
}

/// Reads the resume form: the code, without spaces and dashes, upper case.
pub fn parse_resume_form(form: &[(String, String)]) -> Result<String, FieldError> {
    let code: String = Form::new(form)
        .text(naming::RESUME_CODE_FIELD)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if code.is_empty() {
        Err(FieldError::new(
            naming::RESUME_CODE_FIELD,
            "Enter your resume code",
        ))
    } else {
        Ok(code)
    }
}

/// An error page (404, 403, 413, 429, 500…). `message` is said to the person as is: never
/// put internal details in it.
pub fn error_page(
    ctx: &PageContext,
    def: Option<&ServiceDefinition>,
    status: u16,
    message: &str,
) -> Result<String, PageError> {
    let title = match status {
        400 | 422 => "There is a problem with what was sent",
        403 => "This page has expired or you cannot see it",
        410 => "This link no longer works",
        404 => "Page not found",
        413 => "What you sent is too large",
        429 => "Too many requests",
        s if s >= 500 => "Sorry, there is a problem with the service",
        _ => "Something went wrong",
    };
    env::render(
        "error.html",
        json!({
            "layout": Layout::new(ctx, def, title),
            "title": title,
            "message": paragraphs(message),
            "start_url": def.map(|d| urls::start(&d.id)),
        }),
    )
}

/// A link from an email that no longer works (used, expired or unknown), with where to ask
/// for a new one (`help`: link text and address). The server answers it with 410.
pub fn link_spent_page(
    ctx: &PageContext,
    def: &ServiceDefinition,
    message: &str,
    help: (&str, &str),
) -> Result<String, PageError> {
    let title = "This link no longer works";
    env::render(
        "error.html",
        json!({
            "layout": Layout::new(ctx, Some(def), title),
            "title": title,
            "message": paragraphs(message),
            "help": { "text": help.0, "href": help.1 },
            "start_url": urls::start(&def.id),
        }),
    )
}

/// The page an emailed invitation link opens: what the form is and a button that starts it.
/// Only the button (a POST from this page) uses the single-use link, so a mail scanner that
/// fetches every link in an email cannot spend it, and the browser's form session cookie
/// (`SameSite=Strict`, set with this page) is sent with that same-site POST even when the
/// link was clicked in a webmail site.
pub fn invitation_page(
    ctx: &PageContext,
    def: &ServiceDefinition,
    stage_label: &str,
    expires: &str,
    action: &str,
) -> Result<String, PageError> {
    env::render(
        "invitation.html",
        json!({
            "layout": Layout::new(ctx, Some(def), stage_label),
            "title": stage_label,
            "service_name": def.email_name(),
            "expires": expires,
            "action": action,
        }),
    )
}

/// The site's front page (`/`): every service's name, its first paragraph and a link to its
/// start page.
pub fn index_page(ctx: &PageContext, defs: &[&ServiceDefinition]) -> Result<String, PageError> {
    let services: Vec<serde_json::Value> = defs
        .iter()
        .map(|d| {
            json!({
                "name": d.name,
                "url": urls::start(&d.id),
                "paragraphs": paragraphs(&d.summary),
            })
        })
        .collect();
    env::render(
        "index.html",
        json!({
            "layout": Layout::new(ctx, None, "Choose a service"),
            "services": services,
        }),
    )
}
