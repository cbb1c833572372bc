//! CSV for what leaves the team: small-cell suppression, and lines whose cells are safe from
//! spreadsheet formula injection (the one rule: [`crate::export::csv::csv_safe`]).

/// Counts under this are not exported: they are written as [`SUPPRESSED`].
pub const SMALLEST_SHOWN: i64 = 5;

/// What a suppressed count says.
pub const SUPPRESSED: &str = "fewer than 5";

/// A count as exported: 0 and counts of 5 or more as they are, 1 to 4 as "fewer than 5"
/// (a small number could identify a child).
pub fn suppressed(count: i64) -> String {
    if count > 0 && count < SMALLEST_SHOWN {
        SUPPRESSED.to_owned()
    } else {
        count.to_string()
    }
}

/// One CSV cell: made safe from formula injection, then quoted with its quotes doubled
/// (RFC 4180).
fn quoted_cell(text: &str) -> String {
    format!(
        "\"{}\"",
        crate::export::csv::csv_safe(text).replace('"', "\"\"")
    )
}

/// A CSV line of `cells` (each made safe), ending in CRLF.
pub fn csv_line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut line = cells
        .iter()
        .map(|c| quoted_cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_suppressed_and_zero_and_five_are_not() {
        assert_eq!(suppressed(0), "0");
        for n in 1..5 {
            assert_eq!(suppressed(n), SUPPRESSED);
        }
        assert_eq!(suppressed(5), "5");
        assert_eq!(suppressed(1234), "1234");
    }

    #[test]
    fn formulas_are_defused_and_quotes_doubled() {
        assert_eq!(
            quoted_cell("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(quoted_cell("+1"), "\"'+1\"");
        assert_eq!(quoted_cell("-2"), "\"'-2\"");
        assert_eq!(quoted_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(quoted_cell("  =1"), "\"'  =1\"");
        assert_eq!(quoted_cell("\tx"), "\"'\tx\"");
        assert_eq!(quoted_cell("Parent or carer"), "\"Parent or carer\"");
        assert_eq!(csv_line(&["a", "b"]), "\"a\",\"b\"\r\n");
    }
}
