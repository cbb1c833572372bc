//! Onward referrals (VEMT panel, police intelligence, Children's Services, …): checking and
//! recording one, making its document (PDF or Word, an export: audited, kept as it went out)
//! and handing over a stored copy again.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::calendar::london_date;
use haven_core::definition::OnwardReferralKind;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{CaseError, CaseFile, Cases};
use crate::access::Staff;
use crate::documents::{self, FillInput, Format};
use crate::policy::Action;
use crate::storage::onward::{NewExport, NewOnwardReferral};
use crate::storage::{Storage, StorageError};

/// Longest recipient, in characters.
const MAX_RECIPIENT: usize = 500;
/// Longest reason or notes, in characters.
const MAX_TEXT: usize = 20_000;

/// An onward referral to record.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OnwardRequest {
    /// One of the service's onward referral kinds (`vemt_referral`, `police_intelligence`, …).
    pub kind: String,
    /// Who it went to; the kind's default recipient when absent.
    #[serde(default)]
    pub recipient: Option<String>,
    /// Key of one of the kind's lawful bases.
    pub lawful_basis: String,
    /// Whether the young person's (or family's) consent was sought.
    pub consent_sought: Option<bool>,
    /// Why consent was not sought: required when `consent_sought` is false.
    #[serde(default)]
    pub consent_not_sought_reason: Option<String>,
    /// The date it was sent, `YYYY-MM-DD` (not in the future).
    pub sent_on: Option<String>,
    /// Notes (sealed; shown in the document's notes section).
    #[serde(default)]
    pub notes: Option<String>,
    /// Mark the required action this referral fulfils done (default true).
    #[serde(default)]
    pub mark_action_done: Option<bool>,
}

/// A checked request.
pub struct ValidOnward {
    pub kind: OnwardReferralKind,
    pub recipient: String,
    pub lawful_basis: String,
    pub consent_sought: bool,
    pub consent_reason: Option<String>,
    pub sent_on: NaiveDate,
    pub notes: Option<String>,
    /// The case's required action it fulfils (when the screening requires it).
    pub action_key: Option<String>,
    pub mark_action_done: bool,
}

fn trimmed(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Checks a request against the case's service definition; every problem by field.
pub fn validate(
    case: &CaseFile,
    request: &OnwardRequest,
    today: NaiveDate,
) -> Result<ValidOnward, Vec<(&'static str, String)>> {
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let kinds = &case.def.onward_referrals;
    let kind = case.def.onward_kind(request.kind.trim()).cloned();
    if kind.is_none() {
        let keys: Vec<&str> = kinds.iter().map(|k| k.key.as_str()).collect();
        errors.push((
            "kind",
            if keys.is_empty() {
                "This service has no onward referrals".to_owned()
            } else {
                format!("Choose the kind of onward referral: {}", keys.join(", "))
            },
        ));
    }
    let recipient = trimmed(request.recipient.as_deref())
        .or_else(|| kind.as_ref().map(|k| k.recipient.clone()))
        .unwrap_or_default();
    if recipient.chars().count() > MAX_RECIPIENT {
        errors.push((
            "recipient",
            format!("The recipient must be {MAX_RECIPIENT} characters or fewer"),
        ));
    }
    let lawful_basis = request.lawful_basis.trim().to_owned();
    if let Some(kind) = &kind
        && kind.lawful_basis(&lawful_basis).is_none()
    {
        errors.push((
            "lawful_basis",
            "Choose the lawful basis for sharing".to_owned(),
        ));
    }
    let reason = trimmed(request.consent_not_sought_reason.as_deref());
    match request.consent_sought {
        None => errors.push((
            "consent_sought",
            "Say whether consent was sought".to_owned(),
        )),
        Some(false) if reason.is_none() => errors.push((
            "consent_not_sought_reason",
            "Say why consent was not sought".to_owned(),
        )),
        _ => {}
    }
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_TEXT)
    {
        errors.push((
            "consent_not_sought_reason",
            format!("The reason must be {MAX_TEXT} characters or fewer"),
        ));
    }
    let sent_on = match trimmed(request.sent_on.as_deref()) {
        None => {
            errors.push(("sent_on", "Enter the date it was sent".to_owned()));
            None
        }
        Some(text) => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(date) if date > today => {
                errors.push((
                    "sent_on",
                    "The date sent must be today or in the past".to_owned(),
                ));
                None
            }
            Ok(date) => Some(date),
            Err(_) => {
                errors.push(("sent_on", "The date sent must be a real date".to_owned()));
                None
            }
        },
    };
    let notes = trimmed(request.notes.as_deref());
    if notes.as_ref().is_some_and(|n| n.chars().count() > MAX_TEXT) {
        errors.push((
            "notes",
            format!("Notes must be {MAX_TEXT} characters or fewer"),
        ));
    }
    let (Some(kind), Some(sent_on), true) = (kind, sent_on, errors.is_empty()) else {
        return Err(errors);
    };
    let required = case.required_actions();
    let action_key = kind
        .action
        .clone()
        .filter(|a| required.iter().any(|r| &r.key == a));
    Ok(ValidOnward {
        consent_sought: request.consent_sought.unwrap_or(false),
        consent_reason: if request.consent_sought == Some(false) {
            reason
        } else {
            None
        },
        mark_action_done: request.mark_action_done.unwrap_or(true),
        kind,
        recipient,
        lawful_basis,
        sent_on,
        notes,
        action_key,
    })
}

/// `user:<id>` → email, for every staff account.
pub async fn people(storage: &Storage) -> Result<HashMap<String, String>, StorageError> {
    Ok(storage
        .all_staff()
        .await?
        .into_iter()
        .map(|u| (format!("user:{}", u.id), u.email))
        .collect())
}

/// A generated document: file name and bytes.
pub struct MadeDocument {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub format: Format,
}

/// A document's download name: the reference and the kind key, ASCII letters, digits and
/// hyphens only.
fn document_file_name(reference: &str, kind: &str, format: Format) -> String {
    format!("{reference}-{}.{}", kind.replace('_', "-"), format.as_str())
}

impl Cases<'_> {
    /// Records an onward referral on the case (checked against its service's kinds); the
    /// case file afterwards and the new record's id. The required action it fulfils is
    /// marked done unless `mark_action_done` is false. Fields at fault: `kind`,
    /// `recipient`, `lawful_basis`, `consent_sought`, `consent_not_sought_reason`,
    /// `sent_on`, `notes`.
    pub async fn record_onward(
        &self,
        staff: &Staff,
        reference: &str,
        request: &OnwardRequest,
        now: DateTime<Utc>,
    ) -> Result<(CaseFile, String), CaseError> {
        let case = self
            .open(staff, reference, Action::RecordOnwardReferral, now)
            .await?;
        let valid =
            validate(&case, request, london_date(now)).map_err(CaseError::invalid_fields)?;
        let id = self
            .storage
            .record_onward_referral(&NewOnwardReferral {
                referral_id: &case.referral.id,
                kind: &valid.kind.key,
                action_key: valid.action_key.as_deref(),
                recipient: &valid.recipient,
                lawful_basis: &valid.lawful_basis,
                consent_sought: valid.consent_sought,
                consent_reason: valid.consent_reason.as_deref(),
                sent_on: valid.sent_on,
                notes: valid.notes.as_deref(),
                mark_action_done: valid.mark_action_done,
                actor: &staff.actor(),
                at: now,
            })
            .await?;
        let updated = self.file_of(case.referral, case.def, now).await?;
        Ok((updated, id))
    }

    /// Makes the document of onward referral `id` of the case in `format` (on a blocking
    /// thread) and records the export (chronology, audit, the file kept sealed) before
    /// returning it. No such onward referral (or its kind is no longer defined):
    /// [`CaseError::NotFound`].
    pub async fn onward_document(
        &self,
        staff: &Staff,
        reference: &str,
        id: &str,
        format: Format,
        now: DateTime<Utc>,
    ) -> Result<MadeDocument, CaseError> {
        let case = self
            .open(staff, reference, Action::ExportDocument, now)
            .await?;
        let record = case
            .onward
            .iter()
            .find(|o| o.id == id)
            .ok_or(CaseError::NotFound)?
            .clone();
        let kind = case
            .def
            .onward_kind(&record.kind)
            .cloned()
            .ok_or(CaseError::NotFound)?;
        let template = self
            .registry
            .template(&case.def.id, &kind.key)
            .cloned()
            .ok_or(CaseError::NotFound)?;
        // Documents sign off with the person's name, email and phone ("Sam Taylor
        // (sam@secos.test, 01642 000000)"), or their email when no name is recorded yet.
        let recorded_by = self
            .storage
            .all_staff()
            .await?
            .into_iter()
            .find(|u| record.actor.strip_prefix("user:") == Some(u.id.as_str()))
            .map_or_else(|| record.actor.clone(), |u| u.signature());
        let file_name = document_file_name(&case.referral.reference, &kind.key, format);
        let def = case.def.clone();
        let referral = case.referral.clone();
        let bytes = tokio::task::spawn_blocking(move || {
            let document = documents::fill(&FillInput {
                def: &def,
                kind: &kind,
                template: &template,
                referral: &referral,
                recipient: &record.recipient,
                lawful_basis: &record.lawful_basis,
                consent_sought: record.consent_sought,
                consent_not_sought_reason: record.consent_reason.as_deref(),
                sent_on: record.sent_on,
                recorded_by: &recorded_by,
                notes: record.notes.as_deref(),
                today: now,
            })?;
            documents::render(&document, format)
        })
        .await
        .map_err(|e| CaseError::Internal(e.to_string()))?
        .map_err(|e| CaseError::Internal(e.to_string()))?;
        self.storage
            .record_document_export(
                &NewExport {
                    referral_id: &case.referral.id,
                    onward_referral_id: id,
                    format: format.as_str(),
                    content: &bytes,
                },
                &staff.actor(),
                now,
            )
            .await?;
        Ok(MadeDocument {
            file_name,
            bytes,
            format,
        })
    }

    /// The stored file `export_id` of onward referral `id` of the case, byte for byte as it
    /// went out, recorded as taken again (an export too).
    pub async fn onward_export_copy(
        &self,
        staff: &Staff,
        reference: &str,
        id: &str,
        export_id: &str,
        now: DateTime<Utc>,
    ) -> Result<MadeDocument, CaseError> {
        let case = self
            .open(staff, reference, Action::ExportDocument, now)
            .await?;
        let Some(record) = case.onward.iter().find(|o| o.id == id) else {
            return Err(CaseError::NotFound);
        };
        let taken = self
            .storage
            .take_export_copy(&case.referral.id, id, export_id, &staff.actor(), now)
            .await?;
        let Some((export, content)) = taken else {
            return Err(CaseError::NotFound);
        };
        let Some(format) = Format::parse(&export.format) else {
            return Err(CaseError::NotFound);
        };
        Ok(MadeDocument {
            file_name: document_file_name(&case.referral.reference, &record.kind, format),
            bytes: content.to_vec(),
            format,
        })
    }
}
