//! Onward referral documents: a template of the service definition filled from the case
//! ([`fill`]), then written as PDF ([`pdf`], with the embedded DejaVu Sans font) or Word
//! ([`docx`]). Both writers are pure CPU work: callers run them on a blocking thread.
//!
//! What the recipient may not receive is taken out of the data before the template sees it
//! (third-party answers; the referrer's answers), and any remaining occurrence of the
//! referrer's answers in free text is replaced by "[withheld]".

pub mod docx;
pub mod fill;
pub mod pdf;

pub use fill::{CaseDocument, FillInput, fill};

/// The two formats a document is made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Docx,
}

impl Format {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pdf" => Some(Format::Pdf),
            "docx" => Some(Format::Docx),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
        }
    }
}

/// Why a document could not be made (never includes case content).
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("template: {0}")]
    Template(String),
    #[error("pdf: {0}")]
    Pdf(String),
    #[error("docx: {0}")]
    Docx(String),
}

/// Writes `document` in `format`.
pub fn render(document: &CaseDocument, format: Format) -> Result<Vec<u8>, DocumentError> {
    match format {
        Format::Pdf => pdf::render(document),
        Format::Docx => docx::render(document),
    }
}

/// `text` with every character an XML 1.0 document may not hold (C0 controls other than tab,
/// line feed and carriage return; U+FFFE, U+FFFF) replaced by U+FFFD. Intake refuses these
/// characters, but values stored before it did, and template text, reach the writers too:
/// one NUL makes a Word file that Word will not open, so each writer cleans what it writes.
pub fn writable_text(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(haven_core::answers::is_forbidden_character)
    {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if haven_core::answers::is_forbidden_character(c) {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// The document with [`writable_text`] applied to every piece of text.
pub fn writable(document: &CaseDocument) -> CaseDocument {
    let clean = |t: &str| writable_text(t).into_owned();
    CaseDocument {
        title: clean(&document.title),
        subtitle: document.subtitle.as_deref().map(clean),
        blocks: document
            .blocks
            .iter()
            .map(|b| match b {
                fill::Block::Heading(t) => fill::Block::Heading(clean(t)),
                fill::Block::Row { label, value } => fill::Block::Row {
                    label: clean(label),
                    value: clean(value),
                },
                fill::Block::Paragraph(t) => fill::Block::Paragraph(clean(t)),
            })
            .collect(),
    }
}

/// Checks that a template text compiles (definitions are checked at start-up with it).
pub fn check_syntax(text: &str) -> Result<(), String> {
    let env = environment();
    env.template_from_str(text)
        .map(|_| ())
        .map_err(|e| format!("template text does not compile: {e}"))
}

/// The environment template texts are rendered in: plain text (the writers escape), lenient
/// about missing values (an unanswered question renders empty).
pub(crate) fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}
