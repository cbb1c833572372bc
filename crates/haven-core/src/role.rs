//! Staff roles: the five kinds of staff account, as pure data shared by storage (which
//! stores them) and the server (whose policy decides what each may do).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A staff role. `auditor` is read-only; `admin` and `auditor` see every team's cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Triage,
    Caseworker,
    Manager,
    Admin,
    Auditor,
}

impl Role {
    /// Triage officers, caseworkers and managers: the people who work a team's cases (whose
    /// opening a case file counts as the team having read what is new on it).
    pub fn works_cases(self) -> bool {
        matches!(self, Role::Triage | Role::Caseworker | Role::Manager)
    }

    /// Every role, in the order the contract lists them.
    pub const ALL: [Role; 5] = [
        Role::Triage,
        Role::Caseworker,
        Role::Manager,
        Role::Admin,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Triage => "triage",
            Role::Caseworker => "caseworker",
            Role::Manager => "manager",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// The role as staff say it, for pages, emails and documents.
    pub fn label(self) -> &'static str {
        match self {
            Role::Triage => "Triage officer",
            Role::Caseworker => "Caseworker",
            Role::Manager => "Manager",
            Role::Admin => "Administrator",
            Role::Auditor => "Auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the five roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be one of triage, caseworker, manager, admin, auditor (not `{0}`)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_match_the_core_list() {
        for (role, name) in Role::ALL.iter().zip(crate::definition::load::ROLES.iter()) {
            assert_eq!(role.as_str(), *name);
            assert_eq!(name.parse::<Role>(), Ok(*role));
        }
        assert!("wizard".parse::<Role>().is_err());
    }
}
