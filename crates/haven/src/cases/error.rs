//! Why a case operation did not happen. The web layer maps each variant to one HTTP answer
//! (`web/error.rs`); nothing here is an HTTP type.

use haven_core::answers::FieldError;

use crate::storage::StorageError;

/// Why a case operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No such case, or a case of another team (so references cannot be probed).
    #[error("not found")]
    NotFound,
    /// The caller's role may not do this; the message says what.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The input was read but some fields are wrong (request field names: `band`, `reason`,
    /// `to`, `fields.outcome`, …; each page maps them to its own form's ids).
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The case's state does not allow this now; `code` names the rule.
    #[error("{code}: {message}")]
    Conflict { code: String, message: String },
    /// Storage failed (a conflict, a busy or lost database, a full disk, or a bug).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A bug or inconsistent configuration; the detail is logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl CaseError {
    /// One field at fault.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CaseError::Invalid(vec![FieldError::new(field, message)])
    }

    /// Several fields at fault (`(field, message)` pairs).
    pub fn invalid_fields<F, M>(fields: impl IntoIterator<Item = (F, M)>) -> Self
    where
        F: Into<String>,
        M: Into<String>,
    {
        CaseError::Invalid(
            fields
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        )
    }

    /// The case changed between reading and writing it.
    pub fn status_changed() -> Self {
        CaseError::Conflict {
            code: "status_changed".to_owned(),
            message: "The case changed while you were working on it; reload and try again"
                .to_owned(),
        }
    }
}
