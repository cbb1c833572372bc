//! Haven's public pages: GOV.UK Design System HTML rendered from a service definition, and
//! the parsing of what those pages' forms send back.
//!
//! Everything here is pure (no I/O, no HTTP types): the server calls these functions and
//! routes their addresses ([`urls`]). Pages work without JavaScript, contain no inline script
//! or `style` attribute (Haven's CSP forbids both), escape every answer, and carry on every
//! page the quick exit, the service's emergency (999) message and the NSPCC helpline.
//!
//! - Pages: [`start_page`], [`audience_page`], [`question_page`], [`check_answers_page`],
//!   [`confirmation_page`], [`signpost_page`], [`saved_page`], [`resume_page`], [`error_page`].
//! - Forms: [`parse_page_form`] (a question page → typed answers patch, errors, action),
//!   [`parse_audience_form`], [`parse_resume_form`]; field names: [`naming`].
//! - Navigation: [`nav`] (pages that apply, next/previous, pruning answers that no longer apply).
#![forbid(unsafe_code)]

mod context;
mod dates;
mod env;
mod findings;
mod form;
pub mod naming;
pub mod nav;
mod pages;
mod parse;
mod reveal;
mod summary;
pub mod urls;
mod values;
mod view;

use chrono::NaiveDate;
use haven_core::definition::{Page, ServiceDefinition, Stage};
use serde_json::Value;

pub use context::{Link, PageContext};
pub use env::render_str;
pub use findings::{Finding, QuestionFindings, Segment, kind_in_words, segments};
pub use haven_core::answers::FieldError;
pub use nav::apply_patch;
pub use pages::{
    PageState, audience_page, back_url, check_answers_page, confirmation_page,
    confirmation_page_after_stop, error_page, index_page, invitation_page, link_spent_page,
    london_today, next_url, page_fields, parse_audience_form, parse_resume_form, question_page,
    resume_page, saved_page, signpost_page, stage_entry, start_page,
};
pub use parse::{FormAction, PageInput, parse_page_form};
pub use values::answers_to_form;

/// Why a page could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// A template failed (a bug in Haven, never caused by answers).
    #[error("template error: {0}")]
    Template(String),
}

/// One stage of one service, for one person: who they are, their answers so far (the
/// stage's answers document), and the day conditions count ages on.
#[derive(Debug, Clone, Copy)]
pub struct StageRequest<'a> {
    pub def: &'a ServiceDefinition,
    pub stage: &'a Stage,
    pub audience: &'a str,
    pub answers: &'a Value,
    pub today: NaiveDate,
}

/// One question page of a [`StageRequest`].
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    pub def: &'a ServiceDefinition,
    pub stage: &'a Stage,
    pub page: &'a Page,
    pub audience: &'a str,
    pub answers: &'a Value,
    pub today: NaiveDate,
}

impl<'a> StageRequest<'a> {
    /// The request for one of the stage's pages.
    pub fn page(&self, page: &'a Page) -> PageRequest<'a> {
        PageRequest {
            def: self.def,
            stage: self.stage,
            page,
            audience: self.audience,
            answers: self.answers,
            today: self.today,
        }
    }
}
