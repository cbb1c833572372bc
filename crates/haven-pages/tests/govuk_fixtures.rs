//! Checks the vendored GOV.UK Frontend Jinja macros, run by minijinja, against govuk-frontend
//! 6.3.0's own fixtures for every component Haven uses. The fixtures ship in the npm package,
//! so this runs only where `tools/build-assets/node_modules` is installed (`build.sh`), and
//! says so when skipped.
use std::path::PathBuf;

use serde_json::Value;

const COMPONENTS: &[(&str, &str)] = &[
    ("back-link", "BackLink"),
    ("button", "Button"),
    ("character-count", "CharacterCount"),
    ("checkboxes", "Checkboxes"),
    ("date-input", "DateInput"),
    ("details", "Details"),
    ("error-message", "ErrorMessage"),
    ("error-summary", "ErrorSummary"),
    ("exit-this-page", "ExitThisPage"),
    ("fieldset", "Fieldset"),
    ("file-upload", "FileUpload"),
    ("generic-header", "GenericHeader"),
    ("hint", "Hint"),
    ("input", "Input"),
    ("inset-text", "InsetText"),
    ("label", "Label"),
    ("notification-banner", "NotificationBanner"),
    ("panel", "Panel"),
    ("phase-banner", "PhaseBanner"),
    ("radios", "Radios"),
    ("skip-link", "SkipLink"),
    ("summary-list", "SummaryList"),
    ("table", "Table"),
    ("tag", "Tag"),
    ("textarea", "Textarea"),
    ("warning-text", "WarningText"),
];

/// A canonical form of an HTML fragment: parsed (so entity spelling does not matter),
/// attributes sorted (their order carries no meaning), whitespace runs collapsed and
/// whitespace-only text dropped.
fn normalise(html: &str) -> String {
    fn walk(node: ego_tree::NodeRef<'_, scraper::Node>, out: &mut String) {
        match node.value() {
            scraper::Node::Element(e) => {
                let mut attrs: Vec<(String, String)> = e
                    .attrs()
                    .map(|(k, v)| {
                        (
                            k.to_owned(),
                            v.split_whitespace().collect::<Vec<_>>().join(" "),
                        )
                    })
                    .collect();
                attrs.sort();
                out.push_str(&format!("<{}{:?}>", e.name(), attrs));
                for child in node.children() {
                    walk(child, out);
                }
                out.push_str(&format!("</{}>", e.name()));
            }
            scraper::Node::Text(t) => {
                let text = t.split_whitespace().collect::<Vec<_>>().join(" ");
                if !text.is_empty() {
                    out.push_str(&text);
                }
            }
            _ => {
                for child in node.children() {
                    walk(child, out);
                }
            }
        }
    }
    let fragment = scraper::Html::parse_fragment(html);
    let mut out = String::new();
    walk(fragment.tree.root(), &mut out);
    out
}

#[test]
fn vendored_macros_reproduce_govuk_frontend_fixtures() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/build-assets/node_modules/govuk-frontend/dist/govuk/components");
    if !root.exists() {
        eprintln!(
            "skipped: {} not installed (run tools/build-assets/build.sh)",
            root.display()
        );
        return;
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for (dir, macro_name) in COMPONENTS {
        let text = std::fs::read_to_string(root.join(dir).join("fixtures.json")).unwrap();
        let fixtures: Value = serde_json::from_str(&text).unwrap();
        for fixture in fixtures["fixtures"].as_array().unwrap() {
            let source = format!(
                "{{% from \"vendor/govuk/components/{dir}/macro.html\" import govuk{macro_name} %}}{{{{ govuk{macro_name}(params) }}}}"
            );
            let got = haven_pages::render_str(
                &source,
                serde_json::json!({ "params": fixture["options"] }),
            );
            let want = fixture["html"].as_str().unwrap_or_default();
            checked += 1;
            match got {
                Ok(html) if normalise(&html) == normalise(want) => {}
                Ok(html) => failures.push(format!(
                    "{dir} / {}:\n got  {}\n want {}",
                    fixture["name"],
                    normalise(&html),
                    normalise(want)
                )),
                Err(e) => failures.push(format!("{dir} / {}: {e}", fixture["name"])),
            }
        }
    }
    eprintln!("{checked} fixtures checked, {} differ", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
