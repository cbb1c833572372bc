//! Reading urlencoded (or multipart, after the server stored the files) form fields.

/// Submitted fields in order; a name may repeat (checkboxes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Form<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> Form<'a> {
    pub(crate) fn new(pairs: &'a [(String, String)]) -> Self {
        Self { pairs }
    }

    /// The first value of a field, as sent.
    pub(crate) fn first(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value, trimmed, or `""`.
    pub(crate) fn text(&self, name: &str) -> &'a str {
        self.first(name).map_or("", str::trim)
    }

    /// Every non-blank value of a field, trimmed, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&'a str> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Whether a field was sent with this value (a ticked checkbox).
    pub(crate) fn has(&self, name: &str, value: &str) -> bool {
        self.pairs
            .iter()
            .any(|(n, v)| n == name && v.trim() == value)
    }
}
