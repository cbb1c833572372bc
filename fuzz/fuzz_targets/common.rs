//! What both targets share: the built-in service definitions (parsed once) and a choice of
//! definition, stage, page and audience made from the input's first bytes, so the fuzzer
//! explores every form without learning the definitions' keys.

use std::sync::LazyLock;

use haven_core::definition::load::parse_definition;
use haven_core::definition::{Page, ServiceDefinition, Stage};

/// The three built-in services, as `haven` embeds them.
pub static DEFINITIONS: LazyLock<Vec<ServiceDefinition>> = LazyLock::new(|| {
    [
        (
            "cyber-choices.toml",
            include_str!("../../services/cyber-choices.toml"),
        ),
        ("secos.toml", include_str!("../../services/secos.toml")),
        ("ceop.toml", include_str!("../../services/ceop.toml")),
    ]
    .into_iter()
    .map(|(file, source)| {
        parse_definition(file, source).unwrap_or_else(|e| panic!("built-in definition: {e}"))
    })
    .collect()
});

/// A definition, stage, page and audience picked by `data[0..4]`, and the rest of `data`.
#[allow(dead_code)] // `answers` does not use the page.
pub struct Target<'a> {
    pub def: &'a ServiceDefinition,
    pub stage: &'a Stage,
    pub page: &'a Page,
    pub audience: &'a str,
}

#[allow(dead_code)] // `email_message` and `docx_form` pick no page.
pub fn pick(data: &[u8]) -> Option<(Target<'static>, &[u8])> {
    let (head, rest) = data.split_first_chunk::<4>()?;
    let defs = &*DEFINITIONS;
    let def = &defs[usize::from(head[0]) % defs.len()];
    let stage = def
        .stages
        .get(usize::from(head[1]) % def.stages.len().max(1))?;
    let page = stage
        .pages
        .get(usize::from(head[2]) % stage.pages.len().max(1))?;
    let audience = stage
        .audiences
        .get(usize::from(head[3]) % stage.audiences.len().max(1))?;
    Some((
        Target {
            def,
            stage,
            page,
            audience,
        },
        rest,
    ))
}

/// A fixed day: `not_future` checks and ages need one, and a fuzz run must be repeatable.
pub fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default()
}
