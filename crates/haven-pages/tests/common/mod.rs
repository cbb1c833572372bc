//! Shared test helpers: the real service definitions, and rendering every page.
#![allow(dead_code)]

use std::path::PathBuf;

use chrono::NaiveDate;
use haven_core::definition::ServiceDefinition;
use haven_core::definition::load::parse_definition;

/// The built-in definitions from `services/*.toml`.
pub fn services() -> Vec<ServiceDefinition> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../services");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let source = std::fs::read_to_string(p).unwrap();
            parse_definition(&p.display().to_string(), &source).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

pub fn service(id: &str) -> ServiceDefinition {
    services()
        .into_iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no service {id}"))
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// The test service with one question of every type.
pub fn demo() -> ServiceDefinition {
    parse_definition("demo.toml", include_str!("demo.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// The fields a browser would submit for the forms in `html` (no JavaScript): text inputs
/// and hidden fields with their values, ticked checkboxes and radios, textareas' text.
/// Submit buttons and file inputs are left out.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("form input[name], form textarea[name]").unwrap();
    let mut out = Vec::new();
    for el in doc.select(&selector) {
        let e = el.value();
        let name = e.attr("name").unwrap_or_default().to_owned();
        if e.name() == "textarea" {
            // The HTML parser drops one leading newline of a textarea, as browsers do.
            out.push((name, el.text().collect::<String>()));
            continue;
        }
        match e.attr("type").unwrap_or("text") {
            "checkbox" | "radio" => {
                if e.attr("checked").is_some() {
                    out.push((name, e.attr("value").unwrap_or("on").to_owned()));
                }
            }
            "submit" | "file" | "button" => {}
            _ => out.push((name, e.attr("value").unwrap_or_default().to_owned())),
        }
    }
    out
}

/// Rules every page keeps, whatever it shows. Returns the problems found.
pub fn page_rule_problems(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    let mut problems = Vec::new();
    // CSP: no inline script, no style attributes or elements, no inline event handlers.
    for script in doc.select(&sel("script")) {
        if script.value().attr("src").is_none() {
            problems.push("inline <script>".to_owned());
        }
    }
    if doc.select(&sel("style")).next().is_some() {
        problems.push("<style> element".to_owned());
    }
    for el in doc.select(&sel("*")) {
        for (name, _) in el.value().attrs() {
            if name == "style" || name.starts_with("on") {
                problems.push(format!("`{name}` attribute on <{}>", el.value().name()));
            }
        }
    }
    // No third-party requests: every subresource comes from /assets/.
    for el in doc.select(&sel("script[src], link[href], img[src]")) {
        let url = el
            .value()
            .attr("src")
            .or_else(|| el.value().attr("href"))
            .unwrap_or_default();
        if !url.starts_with("/assets/") {
            problems.push(format!("subresource not from /assets/: {url}"));
        }
    }
    // Quick exit, language, skip link, help line.
    let exit = doc
        .select(&sel(".govuk-exit-this-page a.govuk-exit-this-page__button"))
        .next();
    if exit.and_then(|a| a.value().attr("href")) != Some("https://www.bbc.co.uk/weather") {
        problems.push("no quick exit to https://www.bbc.co.uk/weather".to_owned());
    }
    if doc.select(&sel("html[lang=en-GB]")).next().is_none() {
        problems.push("lang is not en-GB".to_owned());
    }
    if doc
        .select(&sel("a.govuk-skip-link[href='#main-content']"))
        .next()
        .is_none()
        || doc.select(&sel("main#main-content")).next().is_none()
    {
        problems.push("no skip link to the main content".to_owned());
    }
    if !doc
        .select(&sel("footer"))
        .any(|f| f.text().collect::<String>().contains("0808 800 5000"))
    {
        problems.push("no NSPCC helpline in the footer".to_owned());
    }
    // Forms: CSRF token; every visible control labelled; ids unique.
    for form in doc.select(&sel("form")) {
        let has_token = form
            .select(&sel("input[type=hidden][name=csrf_token]"))
            .any(|i| !i.value().attr("value").unwrap_or_default().is_empty());
        if !has_token {
            problems.push("form without csrf_token".to_owned());
        }
        if form.value().attr("method") != Some("post") {
            problems.push("form not POST".to_owned());
        }
    }
    let mut ids = std::collections::BTreeSet::new();
    for el in doc.select(&sel("[id]")) {
        let id = el.value().attr("id").unwrap_or_default();
        if !ids.insert(id.to_owned()) {
            problems.push(format!("duplicate id `{id}`"));
        }
    }
    for control in doc.select(&sel("input, textarea, select")) {
        let e = control.value();
        if matches!(e.attr("type"), Some("hidden" | "submit")) {
            continue;
        }
        let Some(id) = e.attr("id") else {
            problems.push(format!(
                "control `{}` without id",
                e.attr("name").unwrap_or_default()
            ));
            continue;
        };
        let labelled = doc.select(&sel("label[for]")).any(|l| {
            l.value().attr("for") == Some(id) && !l.text().collect::<String>().trim().is_empty()
        });
        if !labelled {
            problems.push(format!("control `{id}` has no label with text"));
        }
    }
    // Error summary links go to controls that exist.
    for link in doc.select(&sel(".govuk-error-summary a[href^='#']")) {
        let target = link
            .value()
            .attr("href")
            .unwrap_or_default()
            .trim_start_matches('#');
        if !ids.contains(target) {
            problems.push(format!("error summary links to missing id `{target}`"));
        }
    }
    problems
}
