//! The field naming scheme: how question keys become HTML `name` and `id` attributes.
//!
//! Names and ids map 1:1 to question keys, so that an error about a question (a
//! [`haven_core::answers::FieldError`] whose `field` is `young_person.date_of_birth` or
//! `professionals[1].email`) links straight to its control from the error summary.
//!
//! | question type | control names | id the error summary links to |
//! |---|---|---|
//! | text, long_text, email, phone, number, file | `KEY` | `KEY` |
//! | date | `KEY-day`, `KEY-month`, `KEY-year` | the first part in error (`KEY-day` by default) |
//! | yes_no, choice, multiple_choice | `KEY` (one value per option) | `KEY` (the first option; then `KEY-2`, `KEY-3`…) |
//! | indicator_matrix | `KEY.ROW` (values: column keys) | `KEY` (the first cell; others `KEY.ROW.COLUMN`) |
//! | repeatable | `KEY[I].FIELD`, by the field's own type; `KEY-items` holds the item count | `KEY[I].FIELD`…; `KEY-add` for the list itself |
//! | file (already attached) | `KEY-current` (kept ids), `KEY-remove` (ids to drop) | |
//!
//! Question keys are lower-case words joined by `_` and `.` (the definition loader checks
//! this), so a `-` always marks one of Haven's auxiliary controls and never collides with a key.
//! The submit button is `action` (see [`crate::FormAction`]); the CSRF token is `csrf_token`;
//! anonymity confirmations are `anonymity_confirmed` (values: question keys).

/// The hidden CSRF token field every form carries.
pub const CSRF_FIELD: &str = "csrf_token";
/// The submit buttons' name; the value says which button was pressed.
pub const ACTION_FIELD: &str = "action";
/// Checkboxes confirming an anonymity finding is not a person's details.
pub const ANONYMITY_CONFIRMED: &str = "anonymity_confirmed";
/// The audience radios on the "I am…" page.
pub const AUDIENCE_FIELD: &str = "audience";
/// The resume code input on the resume page.
pub const RESUME_CODE_FIELD: &str = "resume_code";

/// The parts of a date input, in the order shown.
pub const DATE_PARTS: [&str; 3] = ["day", "month", "year"];

/// Name and id of one part of a date input: `KEY-day`.
pub fn date_part(base: &str, part: &str) -> String {
    format!("{base}-{part}")
}

/// Name of an indicator matrix row's checkboxes: `KEY.ROW`.
pub fn matrix_row(base: &str, row: &str) -> String {
    format!("{base}.{row}")
}

/// Id of one matrix cell; the very first cell takes the question's own id so that error
/// links land on the matrix.
pub fn matrix_cell_id(base: &str, row: &str, column: &str, first: bool) -> String {
    if first {
        base.to_owned()
    } else {
        format!("{base}.{row}.{column}")
    }
}

/// Base name of one field of one repeatable item: `KEY[I].FIELD`.
pub fn item_field(base: &str, index: usize, field: &str) -> String {
    format!("{base}[{index}].{field}")
}

/// Hidden field holding how many items a repeatable question shows.
pub fn item_count(base: &str) -> String {
    format!("{base}-items")
}

/// Id of a repeatable question's "Add another" button (its error link target).
pub fn add_button(base: &str) -> String {
    format!("{base}-add")
}

/// Hidden fields keeping the ids of files already attached.
pub fn file_current(base: &str) -> String {
    format!("{base}-current")
}

/// Checkboxes removing files already attached.
pub fn file_remove(base: &str) -> String {
    format!("{base}-remove")
}

/// Id of the n-th (0-based) option of a radios or checkboxes group, as govuk-frontend
/// numbers them: `KEY`, `KEY-2`, `KEY-3`…
pub fn option_id(base: &str, index: usize) -> String {
    if index == 0 {
        base.to_owned()
    } else {
        format!("{base}-{}", index + 1)
    }
}

/// Id of the live anonymity-warning region under a field.
pub fn live_region(base: &str) -> String {
    format!("{base}-live")
}

/// Id prefix of the "This is not a person's details" checkbox of a question.
pub fn anonymity_confirm_id(base: &str) -> String {
    format!("{ANONYMITY_CONFIRMED}-{base}")
}

/// Action values of the submit buttons.
pub mod action {
    /// Save the page and go on.
    pub const CONTINUE: &str = "continue";
    /// Save what is there and come back later.
    pub const SAVE: &str = "save";
    /// `add:KEY` adds an item to a repeatable question.
    pub fn add(key: &str) -> String {
        format!("add:{key}")
    }
    /// `remove:KEY:I` removes item I of a repeatable question.
    pub fn remove(key: &str, index: usize) -> String {
        format!("remove:{key}:{index}")
    }
}
