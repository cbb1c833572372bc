//! Who staff are and what they may see: roles × teams.

pub use haven_core::role::{Role, UnknownRole};

/// An authenticated member of staff.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub team: Option<String>,
}

impl Staff {
    /// How this person is named in the audit log and chronologies.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user_id)
    }
}
