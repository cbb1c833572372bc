//! The access policy: what each staff role may do on each service's cases, read from
//! `policy/access.toml` (built into the binary). [`Policy::decide`] is the one function
//! that answers "may this member of staff do X on this case"; handlers call only it.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use serde::Deserialize;

use crate::access::{Role, Staff};

/// The built-in policy file.
pub const POLICY_SOURCE: &str = include_str!("../../../policy/access.toml");

/// Something a member of staff may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    ViewQueue,
    ViewCase,
    ViewThirdParty,
    ConfirmBand,
    Transition,
    AddNote,
    Allocate,
    CompleteAction,
    MessageReporter,
    PrintForFamily,
    ManageUsers,
    /// Record meetings, the plan (goals, actions, reviews) of a case.
    Casework,
    RecordOnwardReferral,
    ExportDocument,
    /// Confirm or reject a possible link between two referrals of the same young person.
    LinkPeople,
    /// See that a young person is known to another team's service (which, and its contact;
    /// never content).
    SeeKnownElsewhere,
    /// Place or lift a legal hold (it stops the case's destruction under the retention
    /// schedule).
    LegalHold,
    /// The team's email inbox: list emailed referrals, open one (audited), download its
    /// attachments.
    ViewInbox,
    /// Complete an emailed referral's answers and convert it into a referral, or reject it
    /// or mark it as not a referral.
    ConvertEmail,
    /// Subject access requests: open one for a person (their case and its confirmed linked
    /// cases), run its statutory clock, decide what is withheld, and release their data.
    SubjectAccess,
    /// The information-sharing register: every onward referral of the services the role
    /// sees (`/staff/sharing`), and its CSV export.
    ViewSharingRegister,
    /// The service dashboards (management information: counts only, never a case) and
    /// their CSV export.
    ViewDashboard,
}

impl Action {
    /// Every action, for the matrix test and the policy checks.
    pub const ALL: [Action; 22] = [
        Action::ViewQueue,
        Action::ViewCase,
        Action::ViewThirdParty,
        Action::ConfirmBand,
        Action::Transition,
        Action::AddNote,
        Action::Allocate,
        Action::CompleteAction,
        Action::MessageReporter,
        Action::PrintForFamily,
        Action::ManageUsers,
        Action::Casework,
        Action::RecordOnwardReferral,
        Action::ExportDocument,
        Action::LinkPeople,
        Action::SeeKnownElsewhere,
        Action::LegalHold,
        Action::ViewInbox,
        Action::ConvertEmail,
        Action::SubjectAccess,
        Action::ViewSharingRegister,
        Action::ViewDashboard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewQueue => "view_queue",
            Action::ViewCase => "view_case",
            Action::ViewThirdParty => "view_third_party",
            Action::ConfirmBand => "confirm_band",
            Action::Transition => "transition",
            Action::AddNote => "add_note",
            Action::Allocate => "allocate",
            Action::CompleteAction => "complete_action",
            Action::MessageReporter => "message_reporter",
            Action::PrintForFamily => "print_for_family",
            Action::ManageUsers => "manage_users",
            Action::Casework => "casework",
            Action::RecordOnwardReferral => "record_onward_referral",
            Action::ExportDocument => "export_document",
            Action::LinkPeople => "link_people",
            Action::SeeKnownElsewhere => "see_known_elsewhere",
            Action::LegalHold => "legal_hold",
            Action::ViewInbox => "view_inbox",
            Action::ConvertEmail => "convert_email",
            Action::SubjectAccess => "subject_access",
            Action::ViewSharingRegister => "view_sharing_register",
            Action::ViewDashboard => "view_dashboard",
        }
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown action `{s}`"))
    }
}

/// The answer to "may they?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// They may see the case but not do this: 403.
    Forbidden,
    /// The case belongs to a team they do not work on: 404, exactly as a missing case.
    NotFound,
}

impl Decision {
    pub fn allowed(self) -> bool {
        self == Decision::Allow
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    roles: BTreeMap<String, RoleFile>,
    #[serde(default)]
    services: BTreeMap<String, ServiceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    #[serde(default)]
    all_teams: bool,
    actions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceFile {
    roles: BTreeMap<String, ServiceRoleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceRoleFile {
    actions: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct RoleGrant {
    all_teams: bool,
    actions: BTreeSet<Action>,
}

/// The loaded policy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Policy {
    roles: Arc<BTreeMap<&'static str, RoleGrant>>,
    services: Arc<BTreeMap<(String, &'static str), BTreeSet<Action>>>,
}

fn role_named(name: &str, file: &str) -> Result<Role, String> {
    name.parse::<Role>()
        .map_err(|e| format!("{file}: roles.{name}: {e}"))
}

fn actions(list: &[String], at: &str) -> Result<BTreeSet<Action>, String> {
    list.iter()
        .map(|a| a.parse::<Action>().map_err(|e| format!("{at}: {e}")))
        .collect()
}

impl Policy {
    /// Parses a policy file (`file` names it in errors).
    pub fn parse(file: &str, source: &str) -> Result<Self, String> {
        let parsed: PolicyFile = toml::from_str(source).map_err(|e| format!("{file}: {e}"))?;
        let mut roles = BTreeMap::new();
        for (name, grant) in &parsed.roles {
            let role = role_named(name, file)?;
            roles.insert(
                role.as_str(),
                RoleGrant {
                    all_teams: grant.all_teams,
                    actions: actions(&grant.actions, &format!("{file}: roles.{name}"))?,
                },
            );
        }
        for role in Role::ALL {
            if !roles.contains_key(role.as_str()) {
                return Err(format!("{file}: roles.{role} is missing"));
            }
        }
        let mut services = BTreeMap::new();
        for (service, file_service) in &parsed.services {
            for (name, grant) in &file_service.roles {
                let role = role_named(name, file)?;
                let at = format!("{file}: services.{service}.roles.{name}");
                services.insert(
                    (service.clone(), role.as_str()),
                    actions(&grant.actions, &at)?,
                );
            }
        }
        Ok(Self {
            roles: Arc::new(roles),
            services: Arc::new(services),
        })
    }

    /// The built-in policy (`policy/access.toml`); its tests prove it parses.
    pub fn builtin() -> Result<Self, String> {
        static BUILTIN: LazyLock<Result<Policy, String>> =
            LazyLock::new(|| Policy::parse("policy/access.toml", POLICY_SOURCE));
        BUILTIN.clone()
    }

    /// A policy that allows nothing (the fallback should the built-in one fail).
    pub fn deny_all() -> Self {
        Self {
            roles: Arc::new(BTreeMap::new()),
            services: Arc::new(BTreeMap::new()),
        }
    }

    /// Whether `role` may do `action` on `service`'s cases (teams aside).
    pub fn role_may(&self, role: Role, service: Option<&str>, action: Action) -> bool {
        if let Some(service) = service
            && let Some(grant) = self.services.get(&(service.to_owned(), role.as_str()))
        {
            return grant.contains(&action);
        }
        self.roles
            .get(role.as_str())
            .is_some_and(|g| g.actions.contains(&action))
    }

    /// Whether `role` works across every team.
    pub fn all_teams(&self, role: Role) -> bool {
        self.roles.get(role.as_str()).is_some_and(|g| g.all_teams)
    }

    /// Whether `staff` works on `team`'s cases.
    pub fn on_team(&self, staff: &Staff, team: &str) -> bool {
        self.all_teams(staff.role) || staff.team.as_deref() == Some(team)
    }

    /// THE access question: may `staff` do `action` on a case of `service` owned by `team`?
    /// A case of another team is [`Decision::NotFound`] whatever the action, so references
    /// of other teams cannot be probed. `case = None` asks about actions on no case (the
    /// queue, managing users).
    pub fn decide(&self, staff: &Staff, action: Action, case: Option<CaseScope<'_>>) -> Decision {
        match case {
            Some(case) if !self.on_team(staff, case.team) => Decision::NotFound,
            Some(case) if self.role_may(staff.role, Some(case.service), action) => Decision::Allow,
            None if self.role_may(staff.role, None, action) => Decision::Allow,
            _ => Decision::Forbidden,
        }
    }
}

/// Which case an action is on: its service and owning team.
#[derive(Debug, Clone, Copy)]
pub struct CaseScope<'a> {
    pub service: &'a str,
    pub team: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: Role, team: Option<&str>) -> Staff {
        Staff {
            user_id: "u".into(),
            email: "e@example.org".into(),
            role,
            team: team.map(str::to_owned),
        }
    }

    #[test]
    fn the_builtin_policy_parses_and_names_every_role() {
        let policy = Policy::builtin().unwrap();
        assert!(policy.all_teams(Role::Admin));
        assert!(policy.all_teams(Role::Auditor));
        assert!(!policy.all_teams(Role::Triage));
    }

    #[test]
    fn another_teams_case_is_not_found_and_a_missing_grant_is_forbidden() {
        let policy = Policy::builtin().unwrap();
        let case = CaseScope {
            service: "secos",
            team: "secos",
        };
        let other = CaseScope {
            service: "ceop",
            team: "ceop",
        };
        let triage = staff(Role::Triage, Some("secos"));
        assert_eq!(
            policy.decide(&triage, Action::ViewCase, Some(case)),
            Decision::Allow
        );
        assert_eq!(
            policy.decide(&triage, Action::ViewCase, Some(other)),
            Decision::NotFound
        );
        let auditor = staff(Role::Auditor, None);
        assert_eq!(
            policy.decide(&auditor, Action::AddNote, Some(case)),
            Decision::Forbidden
        );
        assert_eq!(
            policy.decide(&auditor, Action::ViewThirdParty, Some(case)),
            Decision::Forbidden
        );
    }

    #[test]
    fn service_sections_override_a_role_and_bad_files_name_the_fault() {
        let source = format!(
            "{POLICY_SOURCE}\n[services.ceop.roles.caseworker]\nactions = [\"view_case\"]\n"
        );
        let policy = Policy::parse("p.toml", &source).unwrap();
        assert!(!policy.role_may(Role::Caseworker, Some("ceop"), Action::AddNote));
        assert!(policy.role_may(Role::Caseworker, Some("secos"), Action::AddNote));
        let bad = POLICY_SOURCE.replace("\"add_note\"", "\"fly\"");
        assert!(Policy::parse("p.toml", &bad).unwrap_err().contains("fly"));
        let bad = format!("{POLICY_SOURCE}\n[roles.wizard]\nactions = []\n");
        assert!(
            Policy::parse("p.toml", &bad)
                .unwrap_err()
                .contains("wizard")
        );
    }
}
