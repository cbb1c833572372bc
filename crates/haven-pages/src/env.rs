//! The template environment: Haven's templates and the vendored GOV.UK Frontend Jinja macros,
//! embedded in the binary, HTML auto-escaped.

use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::PageError;

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The vendored macros import each other as `govuk_frontend_jinja/…` (their Python package
/// name); they live under `vendor/govuk/` here.
const VENDOR_PREFIX: &str = "govuk_frontend_jinja/";
const VENDOR_DIR: &str = "vendor/govuk/";

static ENVIRONMENT: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(build);

fn build() -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    // The GOV.UK macros are written for Python's Jinja: `.items()`, `'{}'.format()`, …
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    // Every template is HTML: escape everything that is not explicitly marked safe.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_path_join_callback(|name, _parent| match name.strip_prefix(VENDOR_PREFIX) {
        Some(rest) => format!("{VENDOR_DIR}{rest}").into(),
        None => name.into(),
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("template {name}: {e}"))?;
    }
    Ok(env)
}

/// Renders a named template with a serialisable context.
pub(crate) fn render<S: Serialize>(template: &str, context: S) -> Result<String, PageError> {
    let env = ENVIRONMENT
        .as_ref()
        .map_err(|e| PageError::Template(e.clone()))?;
    let template = env
        .get_template(template)
        .map_err(|e| PageError::Template(e.to_string()))?;
    template
        .render(Value::from(minijinja::value::Serde(&context)))
        .map_err(|e| PageError::Template(format!("{e:#}")))
}

/// Renders a template given as source text against the embedded templates (tests and the
/// GOV.UK fixture check use it to call one macro).
#[doc(hidden)]
pub fn render_str<S: Serialize>(source: &str, context: S) -> Result<String, PageError> {
    let env = ENVIRONMENT
        .as_ref()
        .map_err(|e| PageError::Template(e.clone()))?;
    env.render_str(source, Value::from(minijinja::value::Serde(&context)))
        .map_err(|e| PageError::Template(format!("{e:#}")))
}
