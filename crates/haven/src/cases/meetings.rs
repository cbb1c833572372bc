//! Meetings and visits on a case, and the lone-working concerns shown before a home visit:
//! recorded only as the service's `[casework]` lists allow
//! (`haven_core::casework::check_meeting`); a home visit on a case with lone-working
//! concerns needs the worker to confirm reading them, which goes into the chronology.

use chrono::{DateTime, Utc};
use haven_core::casework::{self, CheckedMeeting, LoneWorkingConcern, MeetingInput};
use haven_core::definition::ServiceDefinition;
use serde::Serialize;
use utoipa::ToSchema;

use super::{CaseError, Cases};
use crate::access::Staff;
use crate::policy::Action;
use crate::storage::audit::AuditEntry;
use crate::storage::meetings::{Meeting, NewMeeting};
use crate::storage::referrals::Referral;
use crate::storage::{Storage, StorageError};

/// A lone-working concern from the referral.
#[derive(Serialize, ToSchema)]
pub struct ConcernView {
    /// The question it was given in.
    pub question: String,
    /// The details, or null when none were given or the caller's role may not see
    /// third-party information (`details_hidden`).
    pub details: Option<String>,
    pub details_hidden: bool,
}

/// A meeting just recorded: its id, what was stored, by whom and when.
pub struct RecordedMeeting {
    pub id: String,
    pub meeting: CheckedMeeting,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// The lone-working concerns of every stage the case has received (the detailed referral
/// arrives after the enquiry, and holds them for Cyber Choices).
pub async fn case_concerns(
    storage: &Storage,
    referral: &Referral,
    def: &ServiceDefinition,
) -> Result<Vec<LoneWorkingConcern>, StorageError> {
    let later = storage.referral_stages(&referral.id).await?;
    let documents = std::iter::once((referral.stage.as_str(), &referral.answers))
        .chain(later.iter().map(|s| (s.stage.as_str(), &s.answers)));
    Ok(casework::case_lone_working_concerns(def, documents))
}

impl Cases<'_> {
    /// The lone-working concerns of a referral, with third-party details left out for a
    /// role that may not see them.
    pub async fn concerns_for(
        &self,
        staff: &Staff,
        referral: &Referral,
        def: &ServiceDefinition,
    ) -> Result<Vec<ConcernView>, StorageError> {
        let third_party = self.may(staff, referral, Action::ViewThirdParty);
        Ok(case_concerns(self.storage, referral, def)
            .await?
            .into_iter()
            .map(|c: LoneWorkingConcern| {
                let hidden = c.third_party && !third_party && c.details.is_some();
                ConcernView {
                    question: c.question,
                    details: if hidden { None } else { c.details },
                    details_hidden: hidden,
                }
            })
            .collect())
    }

    /// The meetings of a case, earliest first, and its lone-working concerns (audited as
    /// `referral.meetings_viewed`).
    pub async fn meetings(
        &self,
        staff: &Staff,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Meeting>, Vec<ConcernView>), CaseError> {
        let (referral, def) = self.find(staff, reference, Action::ViewCase).await?;
        let meetings = self.storage.meetings(&referral.id).await?;
        let entry = AuditEntry::new(
            now,
            staff.actor(),
            "referral.meetings_viewed",
            "referral",
            &referral.id,
        );
        self.storage.append_audit(&entry).await?;
        let concerns = self.concerns_for(staff, &referral, &def).await?;
        Ok((meetings, concerns))
    }

    /// Records a meeting or visit. Fields at fault (all at once): `kind`, `date`, `time`,
    /// `place`, `place_details`, `attendees`, `informal`, `notes`, `lone_working_read`.
    pub async fn record_meeting(
        &self,
        staff: &Staff,
        reference: &str,
        input: &MeetingInput<'_>,
        now: DateTime<Utc>,
    ) -> Result<RecordedMeeting, CaseError> {
        let (referral, def) = self.find(staff, reference, Action::Casework).await?;
        let concerns = !case_concerns(self.storage, &referral, &def)
            .await?
            .is_empty();
        let checked =
            casework::check_meeting(&def, input, concerns).map_err(CaseError::invalid_fields)?;
        let actor = staff.actor();
        let id = self
            .storage
            .add_meeting(&NewMeeting {
                referral_id: &referral.id,
                kind: &checked.kind,
                date: checked.date,
                time: &checked.time,
                place: &checked.place,
                place_details: checked.place_details.as_deref(),
                attendees: &checked.attendees,
                informal: checked.informal,
                notes: checked.notes.as_deref(),
                home_visit: checked.home_visit,
                lone_working_confirmed: checked.lone_working_confirmed,
                actor: &actor,
                at: now,
            })
            .await?;
        Ok(RecordedMeeting {
            id,
            meeting: checked,
            actor,
            at: now,
        })
    }
}
