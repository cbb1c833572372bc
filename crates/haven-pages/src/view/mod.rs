//! Question → the GOV.UK component that asks it, as the macro's parameters (`_fields.html`
//! calls the vendored macro with them). Values come from form fields (answers turned into
//! fields, or what was just submitted), so what the person typed is shown back as typed.

use std::collections::BTreeMap;

use haven_core::answers::FieldError;
use haven_core::definition::{Question, QuestionKind};
use serde::Serialize;
use serde_json::{Value, json};

mod attrs;

use attrs::{accept_entries, autocomplete, file_limits, name_autocomplete};

use crate::dates;
use crate::findings::{QuestionFindings, Segment, segments};
use crate::form::Form;
use crate::naming;

/// How prominent a question is on its page.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Size {
    /// The only question: its label is the page's `<h1>`.
    PageHeading,
    /// One of several questions under the page's `<h1>`.
    Question,
    /// A field of a repeatable item.
    Field,
}

impl Size {
    fn label_class(self) -> &'static str {
        match self {
            Size::PageHeading => "govuk-label--l",
            Size::Question => "govuk-label--m",
            Size::Field => "govuk-label--s",
        }
    }
    fn legend_class(self) -> &'static str {
        match self {
            Size::PageHeading => "govuk-fieldset__legend--l",
            Size::Question => "govuk-fieldset__legend--m",
            Size::Field => "govuk-fieldset__legend--s",
        }
    }
    fn is_heading(self) -> bool {
        matches!(self, Size::PageHeading)
    }
}

/// One question as rendered: which component, and its parameters.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FieldView {
    /// `input`, `character_count`, `date`, `radios`, `checkboxes`, `file`, `matrix`, `repeatable`.
    pub component: &'static str,
    pub params: Value,
    /// Hidden fields to carry along (attached file ids).
    pub hidden: Vec<(String, String)>,
    /// Checkboxes to remove attached files.
    pub remove_files: Option<Value>,
    pub matrix: Option<MatrixView>,
    pub repeatable: Option<RepeatableView>,
    pub findings: Option<FindingsView>,
    /// Id of the region `haven.js` writes live anonymity warnings into.
    pub live_region: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MatrixView {
    pub id: String,
    pub legend: String,
    pub legend_class: &'static str,
    pub is_heading: bool,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub described_by: String,
    pub indicator_heading: String,
    pub columns: Vec<String>,
    pub rows: Vec<MatrixRow>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MatrixRow {
    pub label: String,
    pub hint: Option<String>,
    pub cells: Vec<MatrixCell>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MatrixCell {
    pub id: String,
    pub name: String,
    pub value: String,
    pub checked: bool,
    /// "<indicator> — <column>": every checkbox has its own full label.
    pub label: String,
    /// The column's name alone, shown beside the checkbox on narrow screens.
    pub column: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RepeatableView {
    pub id: String,
    pub legend: String,
    pub legend_class: &'static str,
    pub is_heading: bool,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub items: Vec<ItemView>,
    pub count_name: String,
    pub count: usize,
    pub add_id: String,
    pub add_value: String,
    pub can_add: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ItemView {
    pub legend: String,
    pub fields: Vec<FieldView>,
    pub remove_value: String,
    pub can_remove: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FindingsView {
    pub segments: Vec<Segment>,
    pub found: Vec<String>,
    pub confirm: Value,
}

/// Everything a field needs besides its question.
pub(crate) struct Builder<'a> {
    pub form: Form<'a>,
    pub errors: &'a [FieldError],
    pub audience: &'a str,
    /// Free text here goes through the anonymity check (an anonymous stage).
    pub anonymous: bool,
    pub live_check_url: Option<&'a str>,
    pub findings: &'a [QuestionFindings],
    pub attachment_names: Option<&'a BTreeMap<String, String>>,
}

fn text_param(text: Option<&str>) -> Value {
    text.filter(|t| !t.trim().is_empty())
        .map_or(Value::Null, |t| json!({ "text": t }))
}

impl Builder<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// The view of question `q` whose controls are named from `base`.
    pub(crate) fn field(&self, q: &Question, base: &str, size: Size) -> FieldView {
        let label = q.label_for(self.audience);
        let hint = q.help.as_deref();
        let error = self.error(base);
        let mut view = FieldView {
            component: "input",
            params: Value::Null,
            hidden: Vec::new(),
            remove_files: None,
            matrix: None,
            repeatable: None,
            findings: None,
            live_region: None,
        };
        let label_param = json!({ "text": label, "classes": size.label_class(), "isPageHeading": size.is_heading() });
        let fieldset = json!({ "legend": { "text": label, "classes": size.legend_class(), "isPageHeading": size.is_heading() } });
        let error_param = text_param(error);
        let value = self.form.first(base).unwrap_or_default();
        match q.kind {
            QuestionKind::Text
            | QuestionKind::Email
            | QuestionKind::Phone
            | QuestionKind::Number => {
                let (input_type, extra) = match q.kind {
                    QuestionKind::Email => (
                        "email",
                        json!({ "spellcheck": false, "autocomplete": autocomplete(&q.key, "email") }),
                    ),
                    QuestionKind::Phone => (
                        "tel",
                        json!({ "autocomplete": autocomplete(&q.key, "tel"), "classes": "govuk-input--width-20" }),
                    ),
                    QuestionKind::Number => (
                        "text",
                        json!({ "inputmode": "decimal", "spellcheck": false, "classes": "govuk-input--width-5" }),
                    ),
                    _ => ("text", json!({ "autocomplete": name_autocomplete(&q.key) })),
                };
                let mut params = json!({
                    "id": base, "name": base, "type": input_type, "value": value,
                    "label": label_param, "hint": text_param(hint), "errorMessage": error_param,
                });
                merge(&mut params, extra);
                if matches!(q.kind, QuestionKind::Text) {
                    // Names and text in any script: the browser sets the direction from what
                    // is typed, so a right-to-left name cannot reorder the field's display.
                    params["attributes"] = json!({ "dir": "auto" });
                }
                self.add_anonymity(q, base, &mut params, &mut view);
                view.params = params;
            }
            QuestionKind::LongText => {
                let max = q.max_length.unwrap_or(20_000);
                let mut params = json!({
                    "id": base, "name": base, "value": value, "maxlength": max, "rows": 6,
                    "label": label_param, "hint": text_param(hint), "errorMessage": error_param,
                    "attributes": { "dir": "auto" },
                });
                if q.max_length.is_none() {
                    // A generous default limit: only mention it when it gets close.
                    params["threshold"] = json!(90);
                }
                self.add_anonymity(q, base, &mut params, &mut view);
                view.component = "character_count";
                view.params = params;
            }
            QuestionKind::Date => {
                let parts = if error.is_some() {
                    dates::parts_in_error(&self.form, base)
                } else {
                    [false; 3]
                };
                let items: Vec<Value> = naming::DATE_PARTS
                    .iter()
                    .zip(parts)
                    .map(|(part, bad)| {
                        let width = if *part == "year" { "govuk-input--width-4" } else { "govuk-input--width-2" };
                        let classes = if bad { format!("{width} govuk-input--error") } else { width.to_owned() };
                        json!({ "name": part, "classes": classes, "value": self.form.text(&naming::date_part(base, part)) })
                    })
                    .collect();
                view.component = "date";
                view.params = json!({
                    "id": base, "namePrefix": base, "fieldset": fieldset, "items": items,
                    "hint": { "text": hint.unwrap_or("For example, 27 3 2007") }, "errorMessage": error_param,
                });
            }
            QuestionKind::YesNo => {
                let items = json!([
                    { "value": "yes", "text": "Yes", "checked": value == "yes" },
                    { "value": "no", "text": "No", "checked": value == "no" },
                ]);
                view.component = "radios";
                view.params = json!({
                    "idPrefix": base, "name": base, "fieldset": fieldset, "items": items,
                    "classes": "govuk-radios--inline", "hint": text_param(hint), "errorMessage": error_param,
                });
            }
            QuestionKind::Choice | QuestionKind::MultipleChoice => {
                let chosen = self.form.all(base);
                let items: Vec<Value> = q
                    .options
                    .iter()
                    .map(|o| {
                        json!({
                            "value": o.key, "text": o.label_for(self.audience),
                            "hint": text_param(o.hint.as_deref()), "checked": chosen.contains(&o.key.as_str()),
                        })
                    })
                    .collect();
                view.component = if q.kind == QuestionKind::Choice {
                    "radios"
                } else {
                    "checkboxes"
                };
                view.params = json!({
                    "idPrefix": base, "name": base, "fieldset": fieldset, "items": items,
                    "hint": text_param(hint), "errorMessage": error_param,
                });
            }
            QuestionKind::IndicatorMatrix => {
                view.component = "matrix";
                view.matrix = Some(self.matrix(q, base, label, size, hint, error));
            }
            QuestionKind::Repeatable => {
                view.component = "repeatable";
                view.repeatable = Some(self.repeatable(q, base, label, size, hint, error));
            }
            QuestionKind::File => self.file(q, base, label_param, hint, error_param, &mut view),
        }
        view
    }

    fn matrix(
        &self,
        q: &Question,
        base: &str,
        label: &str,
        size: Size,
        hint: Option<&str>,
        error: Option<&str>,
    ) -> MatrixView {
        let mut first = true;
        let rows = q
            .options
            .iter()
            .map(|row| {
                let name = naming::matrix_row(base, &row.key);
                let ticked = self.form.all(&name);
                let row_label = row.label_for(self.audience).to_owned();
                let cells = q
                    .columns
                    .iter()
                    .map(|col| {
                        let id = naming::matrix_cell_id(base, &row.key, &col.key, first);
                        first = false;
                        MatrixCell {
                            id,
                            name: name.clone(),
                            value: col.key.clone(),
                            checked: ticked.contains(&col.key.as_str()),
                            label: format!("{row_label} \u{2014} {}", col.label_for(self.audience)),
                            column: col.label_for(self.audience).to_owned(),
                        }
                    })
                    .collect();
                MatrixRow {
                    label: row_label,
                    hint: row.hint.clone(),
                    cells,
                }
            })
            .collect();
        let mut described_by = Vec::new();
        if hint.is_some() {
            described_by.push(format!("{base}-hint"));
        }
        if error.is_some() {
            described_by.push(format!("{base}-error"));
        }
        MatrixView {
            id: format!("{base}-fieldset"),
            legend: label.to_owned(),
            legend_class: size.legend_class(),
            is_heading: size.is_heading(),
            hint: hint.map(str::to_owned),
            error: error.map(str::to_owned),
            described_by: described_by.join(" "),
            indicator_heading: "Indicator".to_owned(),
            columns: q
                .columns
                .iter()
                .map(|c| c.label_for(self.audience).to_owned())
                .collect(),
            rows,
        }
    }

    fn repeatable(
        &self,
        q: &Question,
        base: &str,
        label: &str,
        size: Size,
        hint: Option<&str>,
        error: Option<&str>,
    ) -> RepeatableView {
        let max = q.max_items.unwrap_or(100).min(100);
        let count = self
            .form
            .text(&naming::item_count(base))
            .parse::<usize>()
            .unwrap_or(0)
            .clamp(1, max.max(1));
        let min = q.min_items.unwrap_or(0);
        let items = (0..count)
            .map(|i| ItemView {
                legend: format!("Entry {}", i + 1),
                fields: q
                    .fields
                    .iter()
                    .map(|f| self.field(f, &naming::item_field(base, i, &f.key), Size::Field))
                    .collect(),
                remove_value: naming::action::remove(base, i),
                can_remove: count > 1 || min == 0,
            })
            .collect();
        RepeatableView {
            id: base.to_owned(),
            legend: label.to_owned(),
            legend_class: size.legend_class(),
            is_heading: size.is_heading(),
            hint: hint.map(str::to_owned),
            error: error.map(str::to_owned),
            items,
            count_name: naming::item_count(base),
            count,
            add_id: naming::add_button(base),
            add_value: naming::action::add(base),
            can_add: count < max,
        }
    }

    fn file(
        &self,
        q: &Question,
        base: &str,
        label_param: Value,
        hint: Option<&str>,
        error_param: Value,
        view: &mut FieldView,
    ) {
        let accept: Vec<String> = q
            .allowed_types
            .iter()
            .flat_map(|t| accept_entries(t))
            .collect();
        let limits = file_limits(q);
        let hint_text = match hint {
            Some(h) if h.contains("MB") || h.contains("KB") => h.to_owned(),
            Some(h) => format!("{h} {limits}"),
            None => limits,
        };
        let mut attributes = json!({ "accept": accept.join(",") });
        if q.max_items.is_some_and(|m| m > 1) {
            attributes["multiple"] = json!({ "value": true, "optional": true });
        }
        view.component = "file";
        view.params = json!({
            "id": base, "name": base, "label": label_param, "hint": { "text": hint_text },
            "errorMessage": error_param, "attributes": attributes,
        });
        let current = self.form.all(&naming::file_current(base));
        if !current.is_empty() {
            let items: Vec<Value> = current
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let name = self
                        .attachment_names
                        .and_then(|names| names.get(*id))
                        .cloned()
                        .unwrap_or_else(|| format!("File {}", i + 1));
                    json!({ "value": id, "text": format!("Remove {name}") })
                })
                .collect();
            view.hidden = current
                .iter()
                .map(|id| (naming::file_current(base), (*id).to_owned()))
                .collect();
            view.remove_files = Some(json!({
                "idPrefix": naming::file_remove(base), "name": naming::file_remove(base),
                "classes": "govuk-checkboxes--small",
                "fieldset": { "legend": { "text": format!("Already attached: {}", current.len()), "classes": "govuk-fieldset__legend--s" } },
                "hint": { "text": "These files are kept. Tick a file to remove it, or choose more files above." },
                "items": items,
            }));
        }
    }

    /// On an anonymous stage: the live-check hook, and any findings with their confirmation.
    fn add_anonymity(&self, q: &Question, base: &str, params: &mut Value, view: &mut FieldView) {
        if !self.anonymous || !q.checks_anonymity() {
            return;
        }
        if let Some(url) = self.live_check_url {
            if !params["attributes"].is_object() {
                params["attributes"] = json!({});
            }
            params["attributes"]["data-haven-anonymity-check"] = json!(url);
            view.live_region = Some(naming::live_region(base));
        }
        let Some(found) = self
            .findings
            .iter()
            .find(|f| f.question == base && !f.findings.is_empty())
        else {
            return;
        };
        let confirmed = self.form.has(naming::ANONYMITY_CONFIRMED, base);
        let segs = segments(&found.text, &found.findings);
        view.findings = Some(FindingsView {
            found: segs
                .iter()
                .filter_map(|s| s.kind.map(|k| format!("{k}: \u{201c}{}\u{201d}", s.text)))
                .collect(),
            segments: segs,
            confirm: json!({
                "idPrefix": naming::anonymity_confirm_id(base), "name": naming::ANONYMITY_CONFIRMED,
                "classes": "govuk-checkboxes--small",
                "items": [{
                    "value": base, "text": "This is not a person's details", "checked": confirmed,
                    "hint": { "text": "Tick this only if what we found does not identify anyone, for example the name of a game or a tool. Otherwise, change your answer." },
                }],
            }),
        });
    }
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        for (k, v) in e {
            if !v.is_null() {
                t.insert(k, v);
            }
        }
    }
}
