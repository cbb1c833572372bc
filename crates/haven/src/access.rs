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
    /// Whether this person may read cases belonging to `team`.
    pub fn may_read_team(&self, team: &str) -> bool {
        self.role.sees_all_teams() || self.team.as_deref() == Some(team)
    }

    /// How this person is named in the audit log and chronologies.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_and_auditor_cross_teams() {
        let staff = |role, team: Option<&str>| Staff {
            user_id: "u".into(),
            email: "e@example.org".into(),
            role,
            team: team.map(str::to_owned),
        };
        assert!(staff(Role::Triage, Some("secos")).may_read_team("secos"));
        assert!(!staff(Role::Manager, Some("secos")).may_read_team("ceop"));
        assert!(!staff(Role::Caseworker, None).may_read_team("ceop"));
        assert!(staff(Role::Auditor, None).may_read_team("ceop"));
        assert!(staff(Role::Admin, Some("secos")).may_read_team("ceop"));
    }
}
