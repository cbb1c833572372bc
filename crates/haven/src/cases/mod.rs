//! The application layer: every staff operation on a case, written once.
//!
//! The JSON API (`web/api/*`), the staff pages (`web/staff/*`), intake and notifications all
//! call these functions instead of each other. Each operation takes the acting member of
//! staff (role and team, [`Staff`]), the clock's `now` and its parsed input; it asks the
//! access policy ([`Policy::decide`]), applies the pure rules of `haven-core`, writes through
//! [`Storage`] and answers a typed result or a [`CaseError`]. Nothing here knows about HTTP:
//! the web layer turns a [`CaseError`] into a status and a JSON body or an HTML page, in one
//! place (`web/error.rs`).

pub mod attachments;
pub mod band;
pub mod checks;
pub mod error;
pub mod file;
pub mod inbox;
pub mod inbox_retention;
pub mod meetings;
pub mod onward;
pub mod people;
pub mod plans;
pub mod queue;
pub mod retention;
pub mod sharing;
pub mod stats;
pub mod subject_access;
pub mod work;

use crate::access::Staff;
use crate::crypto::SecretKey;
use crate::policy::{Action, CaseScope, Policy};
use crate::services::Registry;
use crate::storage::Storage;
use crate::storage::referrals::Referral;

pub use error::CaseError;
pub use file::{CaseFile, RequiredActionView, meets_sla, screening_view};

/// What every case operation reaches: storage, the loaded definitions, the access policy,
/// and what notifications need. Cheap to build: borrowed from the application state.
#[derive(Clone, Copy)]
pub struct Cases<'a> {
    pub storage: &'a Storage,
    pub registry: &'a Registry,
    pub policy: &'a Policy,
    /// Keys the hash of invitation tokens (see [`crate::notify`]).
    pub key: &'a SecretKey,
    /// Where people reach Haven (links in emails).
    pub public_url: &'a str,
}

impl<'a> Cases<'a> {
    /// What [`crate::notify`] needs to queue a notification.
    pub fn notify(&self) -> crate::notify::Context<'a> {
        crate::notify::Context {
            storage: self.storage,
            key: self.key,
            public_url: self.public_url,
        }
    }

    /// Whether `staff` may do `action` on this case (for showing or hiding controls).
    /// A closed case allows only reading it and the workflow's own steps (a reopen, where the
    /// definition has one): nothing else that changes it.
    pub fn may(&self, staff: &Staff, referral: &Referral, action: Action) -> bool {
        let scope = CaseScope {
            service: &referral.service,
            team: &referral.team,
        };
        self.policy.decide(staff, action, Some(scope)).allowed()
            && !(changes_case(action)
                && self
                    .registry
                    .get(&referral.service)
                    .is_some_and(|def| is_closed(def, &referral.status)))
    }
}

/// Whether `status` is a closed state of `def`: a terminal state, or the state the casework's
/// closure records an outcome for.
pub fn is_closed(def: &haven_core::definition::ServiceDefinition, status: &str) -> bool {
    let terminal = def
        .workflow
        .as_ref()
        .and_then(|w| w.states.iter().find(|s| s.key == status))
        .is_some_and(|s| s.terminal);
    let closure = def
        .casework
        .as_ref()
        .and_then(|c| c.closure.as_ref())
        .is_some_and(|c| c.state == status);
    terminal || closure
}

/// Actions that change a case, refused once it is closed (a transition is the workflow's to
/// allow: reopening, where the definition has such a step).
pub fn changes_case(action: Action) -> bool {
    matches!(
        action,
        Action::ConfirmBand
            | Action::AddNote
            | Action::Allocate
            | Action::CompleteAction
            | Action::MessageReporter
            | Action::Casework
            | Action::RecordOnwardReferral
    )
}

/// The refusal of a change to a closed case.
pub fn closed_refusal() -> CaseError {
    CaseError::Conflict {
        code: "case_closed".to_owned(),
        message: "This case is closed, so it can be read but not changed. Reopen it first, if its workflow allows that.".to_owned(),
    }
}
