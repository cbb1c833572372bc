//! Opening a case: the referral, checked against the access policy, with everything the
//! workflow and the case views read about it (the case file), assembled here only.

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::calendar;
use haven_core::definition::ServiceDefinition;
use haven_core::workflow::{self, CaseFactsInput, CaseRecord, CaseworkFacts, ChronologyFact};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{CaseError, Cases};
use crate::access::Staff;
use crate::policy::{Action, CaseScope, Decision};
use crate::storage::actions::{ActionRecord, BandAction};
use crate::storage::onward::OnwardReferral;
use crate::storage::plans::CaseworkCounts;
use crate::storage::referrals::Referral;
use crate::storage::triage::ChronologyEntry;
use crate::storage::{Storage, StorageError};

impl Cases<'_> {
    /// The referral with this reference, with its service definition, if the access policy
    /// lets `staff` do `action` on it: [`CaseError::NotFound`] for a case of another team
    /// (so references cannot be probed), [`CaseError::Forbidden`] when the role may not.
    pub async fn find(
        &self,
        staff: &Staff,
        reference: &str,
        action: Action,
    ) -> Result<(Referral, ServiceDefinition), CaseError> {
        let reference = reference.trim().to_ascii_uppercase();
        let referral = self
            .storage
            .find_referral(&reference)
            .await?
            .ok_or(CaseError::NotFound)?;
        self.check(staff, &referral, action)?;
        let def = self
            .registry
            .get(&referral.service)
            .cloned()
            .ok_or_else(|| {
                CaseError::Internal("referral of a service that is not loaded".into())
            })?;
        if super::changes_case(action) && super::is_closed(&def, &referral.status) {
            return Err(super::closed_refusal());
        }
        Ok((referral, def))
    }

    /// Whether `staff` may do `action` on `referral`, as a refusal.
    pub fn check(
        &self,
        staff: &Staff,
        referral: &Referral,
        action: Action,
    ) -> Result<(), CaseError> {
        let scope = CaseScope {
            service: &referral.service,
            team: &referral.team,
        };
        match self.policy.decide(staff, action, Some(scope)) {
            Decision::Allow => Ok(()),
            Decision::NotFound => Err(CaseError::NotFound),
            Decision::Forbidden => Err(CaseError::Forbidden(format!(
                "The {} role may not {} on this service",
                staff.role,
                action.as_str().replace('_', " ")
            ))),
        }
    }

    /// The case file of `reference` (checked as [`Cases::find`]) as it stands at `now`.
    pub async fn open(
        &self,
        staff: &Staff,
        reference: &str,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<CaseFile, CaseError> {
        let (referral, def) = self.find(staff, reference, action).await?;
        Ok(case_file(self.storage, referral, def, now).await?)
    }

    /// The case file of a referral already found and checked.
    pub async fn file_of(
        &self,
        referral: Referral,
        def: ServiceDefinition,
        now: DateTime<Utc>,
    ) -> Result<CaseFile, StorageError> {
        case_file(self.storage, referral, def, now).await
    }
}

/// The case file of a referral already found (intake's later stages, after an invitation
/// allowed it; [`Cases::open`] checks the policy first).
pub async fn case_file(
    storage: &Storage,
    referral: Referral,
    def: ServiceDefinition,
    now: DateTime<Utc>,
) -> Result<CaseFile, StorageError> {
    let today = calendar::london_date(now);
    Ok(CaseFile {
        chronology: storage.chronology(&referral.id).await?,
        actions: storage.actions(&referral.id).await?,
        band_actions: storage.band_actions(&referral.id).await?,
        casework: storage.casework_counts(&referral.id, today).await?,
        onward: storage.onward_referrals(&referral.id).await?,
        referral,
        def,
        today,
    })
}

/// The stored screening with the confirmed band laid over it.
pub fn screening_view(referral: &Referral) -> Option<Value> {
    let mut screening = referral.screening.clone()?;
    if let Some(obj) = screening.as_object_mut() {
        obj.insert("confirmed_band".into(), json!(referral.confirmed_band));
    }
    Some(screening)
}

/// Everything the workflow and the case views read about one referral.
pub struct CaseFile {
    pub referral: Referral,
    pub def: ServiceDefinition,
    pub chronology: Vec<ChronologyEntry>,
    pub actions: Vec<ActionRecord>,
    /// What the confirmed band requires (empty until a band is confirmed).
    pub band_actions: Vec<BandAction>,
    /// Meetings and plan counts (`case.meetings`, `case.plan.*`).
    pub casework: CaseworkCounts,
    /// Onward referrals recorded on the case.
    pub onward: Vec<OnwardReferral>,
    /// The London day the file was opened on (the facts' `today`).
    pub today: NaiveDate,
}

/// A required action of the screening result with what has been done about it.
#[derive(Serialize, ToSchema)]
pub struct RequiredActionView {
    pub key: String,
    pub label: String,
    /// Why the screening requires it.
    pub reason: Option<String>,
    /// `open`, `done`, `waived`, or `not_required`: the screening suggested it, but the band a
    /// person confirmed does not require it (the reason is in the chronology,
    /// `action_not_required`). Actions the confirmed band adds are listed after the
    /// screening's (`screening.required_actions` keeps what the tool suggested at intake).
    pub status: String,
    /// Who marked it done or waived, and when (RFC 3339).
    pub by: Option<String>,
    pub at: Option<String>,
}

impl CaseFile {
    /// The chronology as the pure case rules read it.
    fn chronology_facts(&self) -> Vec<ChronologyFact<'_>> {
        self.chronology
            .iter()
            .map(|e| ChronologyFact {
                kind: &e.kind,
                to_status: e.to_status.as_deref(),
                detail: e.detail.as_ref(),
            })
            .collect()
    }

    /// How the case is worked (`haven_core::workflow::allocation_mode`).
    pub fn allocation_mode(&self) -> Option<String> {
        workflow::allocation_mode(&self.chronology_facts())
    }

    /// The case facts document workflow guards read, on the day the file was opened
    /// (`haven_core::workflow::case_facts`; shape in `docs/ARCHITECTURE.md`).
    pub fn facts(&self) -> Value {
        let referral = &self.referral;
        let actions = self.required_actions();
        let statuses: Vec<&str> = actions.iter().map(|a| a.status.as_str()).collect();
        let chronology = self.chronology_facts();
        let counts = &self.casework;
        let input = CaseFactsInput {
            record: CaseRecord {
                stage: &referral.stage,
                answers: &referral.answers,
                status: &referral.status,
                eligible: referral.eligible,
                in_scope: referral.in_scope,
                urgent: referral.urgent,
                suggested_band: referral.suggested_band.as_deref(),
                confirmed_band: referral.confirmed_band.as_deref(),
                assignee: referral.assignee.as_deref(),
            },
            chronology: &chronology,
            action_statuses: &statuses,
            casework: CaseworkFacts {
                meetings: counts.meetings,
                goals: counts.goals,
                actions: counts.actions,
                open_actions: counts.open_actions,
                overdue_actions: counts.overdue_actions,
                reviews: counts.reviews,
            },
            onward_referrals: self.onward.len(),
        };
        workflow::case_facts(&input, self.today)
    }
}

/// Whether reaching a state meets one of the service's SLAs, or ends the case (a pure rule).
pub use haven_core::workflow::meets_sla;
