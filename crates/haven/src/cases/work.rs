//! The day-to-day operations on a case: workflow transitions (with closure), allocation,
//! the required-actions checklist, notes, messages to the reporter and the chronology.

use chrono::{DateTime, Utc};
use haven_core::casework::{self, MAX_TEXT};
use haven_core::workflow::{self, RefusalKind, TransitionError, TransitionRequest};

use super::{CaseError, CaseFile, Cases, RequiredActionView, meets_sla};
use crate::access::Staff;
use crate::policy::Action;
use crate::storage::actions::{ActionChange, ActionStatus};
use crate::storage::audit::AuditEntry;
use crate::storage::casework::Direction;
use crate::storage::triage::{ChronologyEntry, StatusChange};
use crate::storage::users::normalise_email;
use crate::storage::{Storage, StorageError};

/// A transition that was made.
pub struct Moved {
    pub reference: String,
    pub from: String,
    /// The state the case is in now (including a transition the definition makes by itself
    /// straight after a decision, `on_decision`).
    pub status: String,
    pub decision: Option<String>,
    /// Whether the referrer is told (an email queued with the move).
    pub notify_referrer: bool,
}

/// The allocation after a change.
pub struct Allocated {
    pub worker: Option<String>,
    pub mode: Option<String>,
}

/// Trimmed text, required and at most [`MAX_TEXT`] characters, or the refusal naming
/// `field`.
pub fn required_text(text: &str, field: &str, what: &str) -> Result<String, CaseError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(CaseError::invalid(field, format!("Enter {what}")));
    }
    if trimmed.chars().count() > MAX_TEXT {
        return Err(CaseError::invalid(
            field,
            format!("Must be {MAX_TEXT} characters or fewer"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Whether `email` is an active caseworker, triage officer or manager of `team` (who may own
/// plan actions and be allocated cases).
pub async fn is_team_worker(
    storage: &Storage,
    team: &str,
    email: &str,
) -> Result<bool, StorageError> {
    Ok(storage
        .find_user_by_email(&normalise_email(email))
        .await?
        .is_some_and(|u| u.works_cases_of(team)))
}

/// A workflow refusal as a case error: the role (403), a field (422: `to`, `decision`,
/// `reason`, …) or the case's state (409, `code` naming the rule).
fn transition_error(e: &TransitionError) -> CaseError {
    let message = e.to_string();
    match (e.kind(), e.field()) {
        (RefusalKind::BadRequest, Some(field)) => CaseError::invalid(field, message),
        (RefusalKind::NotPermitted, _) => CaseError::Forbidden(message),
        (RefusalKind::UnknownTarget, _) => CaseError::invalid("to", message),
        _ => CaseError::Conflict {
            code: e.code().to_owned(),
            message,
        },
    }
}

impl Cases<'_> {
    /// Moves a case to another workflow state, if the policy and the workflow both let the
    /// caller's role, and the guards hold. Into the service's closure state, the request's
    /// `fields.outcome` and `fields.narrative` are required. The referrer is told as the
    /// definition says ([`crate::notify::change_status`], in the same transaction).
    pub async fn transition(
        &self,
        staff: &Staff,
        reference: &str,
        request: TransitionRequest,
        now: DateTime<Utc>,
    ) -> Result<Moved, CaseError> {
        let case = self.open(staff, reference, Action::Transition, now).await?;
        let facts = case.facts();
        let CaseFile { referral, def, .. } = case;
        let outcome = workflow::attempt(
            &def,
            &referral.status,
            staff.role.as_str(),
            &request,
            &facts,
        )
        .map_err(|e| transition_error(&e))?;
        let closure = casework::closure_choice(&def, &outcome.to, &request.fields)
            .map_err(CaseError::invalid_fields)?;
        let moved = crate::notify::change_status(
            self.notify(),
            &def,
            &referral,
            &StatusChange {
                referral_id: &referral.id,
                from: &outcome.from,
                to: &outcome.to,
                decision: outcome.decision.as_deref(),
                reason: outcome.reason.as_deref(),
                actor: &staff.actor(),
                at: now,
                meets_sla: meets_sla(&def, &outcome.to),
            },
            closure.as_ref(),
            staff.role.as_str(),
            &facts,
        )
        .await?
        .ok_or_else(CaseError::status_changed)?;
        Ok(Moved {
            reference: referral.reference,
            from: outcome.from,
            status: moved.status,
            decision: outcome.decision,
            notify_referrer: moved.notified,
        })
    }

    /// Allocates the case to an active worker of its team (`worker`: an email), or takes it
    /// off its worker (`None`). The new worker is alerted by email. Field at fault: `worker`.
    pub async fn allocate(
        &self,
        staff: &Staff,
        reference: &str,
        worker: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Allocated, CaseError> {
        let case = self.open(staff, reference, Action::Allocate, now).await?;
        let worker = match worker.map(normalise_email) {
            None => None,
            Some(email) => {
                if !is_team_worker(self.storage, &case.referral.team, &email).await? {
                    return Err(CaseError::invalid(
                        "worker",
                        format!(
                            "Choose a member of the case's team: there is no active caseworker, triage officer or manager `{email}` in team `{}`",
                            case.referral.team
                        ),
                    ));
                }
                Some(email)
            }
        };
        let alert = crate::notify::allocation_alert(
            self.notify(),
            &case.def,
            &case.referral,
            worker.as_deref(),
            &staff.email,
        );
        self.storage
            .allocate(
                &case.referral.id,
                worker.as_deref(),
                &staff.actor(),
                now,
                alert.as_ref(),
            )
            .await?;
        Ok(Allocated {
            worker,
            mode: case.allocation_mode(),
        })
    }

    /// Marks one required action `done`, `waived` (a reason is required) or `open` again;
    /// the checklist after the change. Not one of the case's required actions:
    /// [`CaseError::NotFound`]. Fields at fault: `status`, `reason`.
    pub async fn record_action(
        &self,
        staff: &Staff,
        reference: &str,
        key: &str,
        status: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequiredActionView>, CaseError> {
        let case = self
            .open(staff, reference, Action::CompleteAction, now)
            .await?;
        if !case.required_actions().iter().any(|a| a.key == key) {
            return Err(CaseError::NotFound);
        }
        let status = ActionStatus::parse(status.trim())
            .ok_or_else(|| CaseError::invalid("status", "Choose one of: done, waived, open"))?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if status == ActionStatus::Waived && reason.is_none() {
            return Err(CaseError::invalid(
                "reason",
                "Give a reason for waiving this action",
            ));
        }
        self.storage
            .record_action(&ActionChange {
                referral_id: &case.referral.id,
                key,
                status,
                reason,
                actor: &staff.actor(),
                at: now,
            })
            .await?;
        let updated = self.file_of(case.referral, case.def, now).await?;
        Ok(updated.required_actions())
    }

    /// Adds a case note (staff only). Field at fault: `body`.
    pub async fn add_note(
        &self,
        staff: &Staff,
        reference: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let (referral, _def) = self.find(staff, reference, Action::AddNote).await?;
        let body = required_text(body, "body", "the note")?;
        self.storage
            .add_note(&referral.id, &staff.actor(), &body, now)
            .await?;
        Ok(())
    }

    /// Sends a message the reporter reads on the follow-up page (without the author's
    /// name); the reporter is emailed that a message waits (no content) when they gave an
    /// address. Field at fault: `body`.
    pub async fn message_reporter(
        &self,
        staff: &Staff,
        reference: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let (referral, def) = self.find(staff, reference, Action::MessageReporter).await?;
        let body = required_text(body, "body", "the message")?;
        // The reporter hears there is a message (never what it says) when they gave an address.
        let alert = crate::notify::message_alert(self.notify(), &def, &referral).await?;
        self.storage
            .add_message(
                &referral.id,
                Direction::ToReporter,
                &staff.actor(),
                &body,
                now,
                alert.as_ref(),
            )
            .await?;
        Ok(())
    }

    /// The chronology of a case, oldest first; audited before it is returned (reading case
    /// history is reading case data).
    pub async fn chronology(
        &self,
        staff: &Staff,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<ChronologyEntry>, CaseError> {
        let (referral, _def) = self.find(staff, reference, Action::ViewCase).await?;
        let entries = self.storage.chronology(&referral.id).await?;
        let entry = AuditEntry::new(
            now,
            staff.actor(),
            "referral.chronology_viewed",
            "referral",
            &referral.id,
        );
        self.storage.append_audit(&entry).await?;
        Ok(entries)
    }
}
