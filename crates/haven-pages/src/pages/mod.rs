//! The public pages, each a pure function from a definition (and answers) to HTML.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::London;
use haven_core::answers::FieldError;
use haven_core::definition::{
    Question, QuestionKind, ServiceDefinition, Stage, StageAccess, StopPage,
};
use serde::Serialize;
use serde_json::{Value, json};

mod outcomes;

pub use outcomes::{
    confirmation_page, confirmation_page_after_stop, error_page, index_page, invitation_page,
    link_spent_page, parse_resume_form, resume_page, saved_page, signpost_page,
};

use crate::context::{Layout, PageContext, tel_link};
use crate::findings::QuestionFindings;
use crate::form::Form;
use crate::nav::{self, question_key_of_field};
use crate::reveal::{Reveal, reveal_of};
use crate::summary;
use crate::values::answers_to_form;
use crate::view::{Builder, FieldView, Size};
use crate::{PageError, PageRequest, StageRequest, dates, env, naming, urls};

/// What a question page shows besides the answers: errors, what was just submitted, and
/// anonymity findings.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageState<'a> {
    /// Problems to show (error summary and inline), from [`crate::parse_page_form`] or from
    /// a refused submission.
    pub errors: &'a [FieldError],
    /// The form just submitted, when showing the page again after errors: its values are
    /// shown as typed (an impossible date stays as typed). `None` shows `answers`.
    pub submitted: Option<&'a [(String, String)]>,
    /// Anonymity findings for this page's free-text answers (anonymous stages). Pass the
    /// findings of every checked text, confirmed or not, so a confirmation stays visible.
    pub findings: &'a [QuestionFindings],
    /// Names to show for attachment ids already attached (`att_…` → `risk-tool.pdf`).
    pub attachment_names: Option<&'a BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct ErrorLink {
    text: String,
    href: String,
}

#[derive(Serialize)]
struct SignpostView {
    key: String,
    label: String,
    contact: String,
    tel: Option<String>,
    url: Option<String>,
    description: Option<String>,
}

fn signpost_view(def: &ServiceDefinition, key: &str) -> Option<SignpostView> {
    def.signpost(key).map(|s| SignpostView {
        key: s.key.clone(),
        label: s.label.clone(),
        contact: s.contact.clone(),
        tel: tel_link(&s.contact),
        url: s.url.clone(),
        description: s.description.clone(),
    })
}

/// On a stage that forbids uploads (CEOP): where to go instead of sending pictures.
fn uploads_warning(def: &ServiceDefinition, stage: &Stage) -> Option<Value> {
    stage.uploads_forbidden.then(|| {
        let places: Vec<SignpostView> = ["iwf", "report_remove"]
            .iter()
            .filter_map(|k| signpost_view(def, k))
            .collect();
        json!({ "places": places })
    })
}

/// The "Start now" address of a stage: the "I am…" page (the server skips it, choosing the
/// audience itself, when the stage has only one).
pub fn stage_entry(def: &ServiceDefinition, stage: &Stage) -> String {
    urls::audience(&def.id, &stage.key)
}

/// Where "Continue" goes from a page: the next applicable page, or check answers.
pub fn next_url(request: &PageRequest<'_>) -> String {
    let PageRequest {
        def,
        stage,
        page,
        audience,
        answers,
        today,
    } = *request;
    nav::next_page(stage, audience, answers, &page.key, today).map_or_else(
        || urls::check_answers(&def.id, &stage.key),
        |next| urls::page(&def.id, &stage.key, &next.key),
    )
}

/// Where "Back" goes from a page: the previous applicable page, the "I am…" page, or the start.
pub fn back_url(request: &PageRequest<'_>) -> String {
    let PageRequest {
        def,
        stage,
        page,
        audience,
        answers,
        today,
    } = *request;
    match nav::previous_page(stage, audience, answers, &page.key, today) {
        Some(previous) => urls::page(&def.id, &stage.key, &previous.key),
        None if stage.audiences.len() > 1 => urls::audience(&def.id, &stage.key),
        None => urls::start(&def.id),
    }
}

/// The service's start page: what it is for, what happens, and "Start now".
pub fn start_page(ctx: &PageContext, def: &ServiceDefinition) -> Result<String, PageError> {
    let stage = def.stages.iter().find(|s| s.access == StageAccess::Public);
    let paragraphs: Vec<String> = def
        .summary
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    env::render(
        "start.html",
        json!({
            "layout": Layout::new(ctx, Some(def), ""),
            "name": def.name,
            "paragraphs": paragraphs,
            "next_steps": def.next_steps,
            "start_url": stage.map(|s| stage_entry(def, s)),
            "anonymous": stage.is_some_and(|s| s.anonymous),
            "no_uploads": stage.and_then(|s| uploads_warning(def, s)),
            "resume_url": ctx.save_and_return.then(|| urls::resume(&def.id)),
            "required_files": stage.map(required_files).unwrap_or_default(),
        }),
    )
}

/// The files a stage cannot be sent without (its `file` questions marked `required`), by
/// label: the start page says so before anyone begins.
fn required_files(stage: &Stage) -> Vec<String> {
    stage
        .questions()
        .filter(|(_, q)| q.kind == QuestionKind::File && q.required)
        .map(|(_, q)| q.label.clone())
        .collect()
}

/// "I am…": the audience radios; the answer picks the wording of every later page.
pub fn audience_page(
    ctx: &PageContext,
    def: &ServiceDefinition,
    stage: &Stage,
    chosen: Option<&str>,
    error: Option<&FieldError>,
) -> Result<String, PageError> {
    let items: Vec<Value> = stage
        .audiences
        .iter()
        .filter_map(|key| def.audience(key))
        .map(|a| {
            json!({
                "value": a.key, "text": a.label, "checked": chosen == Some(a.key.as_str()),
                "hint": a.description.as_ref().map(|d| json!({ "text": d })),
            })
        })
        .collect();
    let params = json!({
        "idPrefix": naming::AUDIENCE_FIELD, "name": naming::AUDIENCE_FIELD, "items": items,
        "fieldset": { "legend": { "text": "Who are you?", "isPageHeading": true, "classes": "govuk-fieldset__legend--l" } },
        "hint": { "text": "Choose what describes you best. We will use words that fit." },
        "errorMessage": error.map(|e| json!({ "text": e.message })),
    });
    let errors: Vec<ErrorLink> = error
        .map(|e| ErrorLink {
            text: e.message.clone(),
            href: format!("#{}", naming::AUDIENCE_FIELD),
        })
        .into_iter()
        .collect();
    env::render(
        "audience.html",
        json!({
            "layout": Layout::new(ctx, Some(def), "Who are you?").with_errors(error.is_some()).with_back(Some(urls::start(&def.id))),
            "action": urls::audience(&def.id, &stage.key),
            "radios": params,
            "errors": errors,
        }),
    )
}

/// Reads the "I am…" form: the chosen audience, if it is one of the stage's.
pub fn parse_audience_form(stage: &Stage, form: &[(String, String)]) -> Result<String, FieldError> {
    let chosen = Form::new(form).text(naming::AUDIENCE_FIELD);
    if stage.allows_audience(chosen) {
        Ok(chosen.to_owned())
    } else {
        Err(FieldError::new(
            naming::AUDIENCE_FIELD,
            "Select who you are",
        ))
    }
}

/// A question page: the page's questions that apply (conditions evaluated server-side, so
/// it works without JavaScript), the answers so far or as just typed, and any errors.
pub fn question_page(
    ctx: &PageContext,
    request: &PageRequest<'_>,
    state: &PageState<'_>,
) -> Result<String, PageError> {
    let PageRequest {
        def,
        stage,
        page,
        audience,
        answers,
        today,
    } = *request;
    if let Some(stop) = &page.stop {
        return stop_page(ctx, request, stop);
    }
    let shown = nav::shown_questions(page, audience, answers, today);
    let (fields, errors, single) = build_fields(ctx, request, state, &shown, true)?;
    let title = page.title_for(audience);
    let has_free_text = shown
        .iter()
        .any(|q| matches!(q.kind, QuestionKind::Text | QuestionKind::LongText));
    env::render(
        "question.html",
        json!({
            "layout": Layout::new(ctx, Some(def), title).with_errors(!errors.is_empty()).with_back(Some(back_url(request))),
            "title": title,
            "heading": !single,
            "description": page.description.as_deref().map(paragraphs),
            "fields": fields,
            "errors": errors,
            "action": urls::page(&def.id, &stage.key, &page.key),
            "multipart": shown.iter().any(|q| q.kind == QuestionKind::File),
            "has_repeatable": shown.iter().any(|q| q.kind == QuestionKind::Repeatable),
            "no_uploads": if has_free_text { uploads_warning(def, stage) } else { None },
            "anonymous": stage.anonymous,
        }),
    )
}

/// The fields of a question page (conditions evaluated server-side), the error links, and
/// whether the page is a single question (its label is the page heading).
fn build_fields(
    ctx: &PageContext,
    request: &PageRequest<'_>,
    state: &PageState<'_>,
    shown: &[&Question],
    headings: bool,
) -> Result<(Vec<FieldView>, Vec<ErrorLink>, bool), PageError> {
    let PageRequest {
        stage,
        page,
        audience,
        answers,
        today,
        ..
    } = *request;
    let shown: Vec<&Question> = shown.to_vec();
    // Questions shown under an option of another question (conditional reveal), whether
    // their condition holds yet or not: the option's block is hidden until it is chosen.
    let asked: Vec<&Question> = page
        .questions
        .iter()
        .filter(|q| q.asked_of(audience))
        .collect();
    let reveals: Vec<(&Question, Reveal)> = asked
        .iter()
        .filter_map(|q| reveal_of(q, &shown).map(|r| (*q, r)))
        .collect();
    let top: Vec<&Question> = shown
        .iter()
        .copied()
        .filter(|q| !reveals.iter().any(|(r, _)| r.key == q.key))
        .collect();
    let from_answers;
    let pairs: &[(String, String)] = match state.submitted {
        Some(submitted) => submitted,
        None => {
            let filled = top.iter().copied().chain(reveals.iter().map(|(q, _)| *q));
            let mut pairs = answers_to_form(filled, answers);
            pairs.extend(today_defaults(&top, answers, today));
            from_answers = with_confirmations(pairs, answers);
            &from_answers
        }
    };
    let form = Form::new(pairs);
    let builder = Builder {
        form,
        errors: state.errors,
        audience,
        anonymous: stage.anonymous,
        live_check_url: ctx.anonymity_check_url.as_deref(),
        findings: state.findings,
        attachment_names: state.attachment_names,
    };
    let single = headings
        && top.len() == 1
        && page.description.is_none()
        && !matches!(
            top[0].kind,
            QuestionKind::Repeatable | QuestionKind::IndicatorMatrix
        );
    let size = if single {
        Size::PageHeading
    } else {
        Size::Question
    };
    let mut fields: Vec<FieldView> = Vec::with_capacity(top.len());
    for q in &top {
        let mut view = builder.field(q, &q.key, size);
        let under: Vec<&(&Question, Reveal)> =
            reveals.iter().filter(|(_, r)| r.parent == q.key).collect();
        if !under.is_empty() {
            nest_reveals(&mut view, &under, &builder)?;
        }
        fields.push(view);
    }
    let errors: Vec<ErrorLink> = state
        .errors
        .iter()
        .map(|e| ErrorLink {
            text: e.message.clone(),
            href: format!("#{}", error_anchor(request, &e.field, &form)),
        })
        .collect();
    Ok((fields, errors, single))
}

/// Only the fields of one question page, with its errors inline (no page around them):
/// for a form elsewhere that asks the same questions, such as the staff inbox's completion
/// of an emailed referral. Each question is sized as a question (never a page heading).
pub fn page_fields(request: &PageRequest<'_>, state: &PageState<'_>) -> Result<String, PageError> {
    let ctx = PageContext::new("");
    let shown = nav::shown_questions(
        request.page,
        request.audience,
        request.answers,
        request.today,
    );
    let (fields, _, _) = build_fields(&ctx, request, state, &shown, false)?;
    env::render("page_fields.html", json!({ "fields": fields }))
}

/// Puts each revealed question's control inside the conditional block of the options of
/// `view` (a radios or checkboxes component) that reveal it. Inline radios become stacked:
/// GOV.UK's conditional reveal is not used with inline radios.
fn nest_reveals(
    view: &mut FieldView,
    under: &[&(&Question, Reveal)],
    builder: &Builder<'_>,
) -> Result<(), PageError> {
    let Some(items) = view.params.get_mut("items").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    for item in items.iter_mut() {
        let value = item
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut html = String::new();
        for (q, reveal) in under {
            if reveal.values.contains(&value) {
                let field = builder.field(q, &q.key, Size::Field);
                html.push_str(&env::render("_revealed.html", json!({ "f": field }))?);
            }
        }
        if !html.is_empty() {
            item["conditional"] = json!({ "html": html });
        }
    }
    if let Some(classes) = view.params.get_mut("classes")
        && classes.as_str() == Some("govuk-radios--inline")
    {
        *classes = Value::Null;
    }
    Ok(())
}

/// A stop page: what to do now (call 999, as a `tel:` link), what to tell them, then the
/// button that carries on with the form (a plain POST, so it works without JavaScript).
fn stop_page(
    ctx: &PageContext,
    request: &PageRequest<'_>,
    stop: &StopPage,
) -> Result<String, PageError> {
    let PageRequest {
        def,
        stage,
        page,
        audience,
        ..
    } = *request;
    let title = page.title_for(audience);
    env::render(
        "stop.html",
        json!({
            "layout": Layout::new(ctx, Some(def), title).with_back(Some(back_url(request))),
            "title": title,
            "description": page.description.as_deref().map(paragraphs),
            "call": stop.call,
            "tel": tel_link(&stop.call),
            "call_label": stop.call_label,
            "tell_them": stop.tell_them,
            "carry_on": stop.carry_on,
            "action": urls::page(&def.id, &stage.key, &page.key),
        }),
    )
}

/// Today's date (Europe/London, from the server's clock) in the parts of each date question
/// marked `default_today` that is not answered yet.
fn today_defaults(
    questions: &[&Question],
    answers: &Value,
    today: NaiveDate,
) -> Vec<(String, String)> {
    use chrono::Datelike;
    questions
        .iter()
        .filter(|q| q.kind == QuestionKind::Date && q.default_today)
        .filter(|q| haven_core::definition::condition::lookup(answers, &q.key).is_none())
        .flat_map(|q| {
            let parts = [
                today.day().to_string(),
                today.month().to_string(),
                today.year().to_string(),
            ];
            naming::DATE_PARTS
                .iter()
                .zip(parts)
                .map(|(part, value)| (naming::date_part(&q.key, part), value))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Adds the stored anonymity confirmations as ticked checkboxes.
fn with_confirmations(mut pairs: Vec<(String, String)>, answers: &Value) -> Vec<(String, String)> {
    let confirmed = answers
        .get(naming::ANONYMITY_CONFIRMED)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    pairs.extend(confirmed.map(|k| (naming::ANONYMITY_CONFIRMED.to_owned(), k.to_owned())));
    pairs
}

fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// The id an error summary link goes to: the control the error is about (for a date, the
/// first part in error).
fn error_anchor(request: &PageRequest<'_>, field: &str, form: &Form<'_>) -> String {
    let key = question_key_of_field(field);
    let Some(q) = request.stage.question(key) else {
        return field.to_owned();
    };
    let target = match field.rsplit_once("].") {
        Some((_, sub)) => q.fields.iter().find(|f| f.key == sub),
        None => Some(q),
    };
    match target.map(|t| t.kind) {
        Some(QuestionKind::Date) => {
            let parts = dates::parts_in_error(form, field);
            let first = parts.iter().position(|bad| *bad).unwrap_or(0);
            naming::date_part(field, naming::DATE_PARTS[first])
        }
        Some(QuestionKind::Repeatable) => summary::first_control(q, field),
        _ => field.to_owned(),
    }
}

/// "Check your answers": every applicable page's answers with change links, then the
/// button that sends them. `errors` (a refused submission) link to the page to fix.
pub fn check_answers_page(
    ctx: &PageContext,
    request: &StageRequest<'_>,
    errors: &[FieldError],
) -> Result<String, PageError> {
    let StageRequest {
        def,
        stage,
        audience,
        answers,
        today,
    } = *request;
    let sections: Vec<Value> = nav::applicable_pages(stage, audience, answers, today)
        .into_iter()
        .filter(|page| page.stop.is_none())
        .map(|page| {
            let questions = nav::shown_questions(page, audience, answers, today);
            let url = urls::page(&def.id, &stage.key, &page.key);
            json!({ "title": page.title_for(audience), "rows": summary::page_rows(&questions, answers, audience, &url) })
        })
        .collect();
    let error_links: Vec<ErrorLink> = errors
        .iter()
        .map(|e| {
            let page = nav::page_of_field(stage, &e.field);
            let href = page.map_or_else(
                || urls::check_answers(&def.id, &stage.key),
                |p| {
                    let q = stage.question(question_key_of_field(&e.field));
                    let anchor = q.map_or_else(
                        || e.field.clone(),
                        |q| summary::control_for_field(q, &e.field),
                    );
                    format!("{}#{anchor}", urls::page(&def.id, &stage.key, &p.key))
                },
            );
            ErrorLink {
                text: e.message.clone(),
                href,
            }
        })
        .collect();
    let back = nav::applicable_pages(stage, audience, answers, today)
        .last()
        .map(|p| urls::page(&def.id, &stage.key, &p.key));
    let noun = stage.label.to_lowercase();
    env::render(
        "check_answers.html",
        json!({
            "layout": Layout::new(ctx, Some(def), "Check your answers").with_errors(!errors.is_empty()).with_back(back),
            "sections": sections,
            "errors": error_links,
            "action": urls::check_answers(&def.id, &stage.key),
            "send_heading": format!("Now send your {noun}"),
            "send_label": format!("Send {noun}"),
            "no_uploads": uploads_warning(def, stage),
        }),
    )
}

/// Today's date in Europe/London, for servers that want the day conditions count ages on.
pub fn london_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&London).date_naive()
}
