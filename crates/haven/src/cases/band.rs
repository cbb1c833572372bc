//! Confirming or overriding a case's band, and the case's required actions after it: the
//! screening's list, overlaid by what the confirmed band requires
//! (`referral_required_actions`). Which actions a band requires comes from the definition,
//! through the pure `haven_core::screening::required_actions`.

use chrono::{DateTime, Utc};
use haven_core::casework::MAX_TEXT;
use haven_core::{calendar, screening};
use serde_json::Value;

use super::{CaseError, CaseFile, Cases, RequiredActionView};
use crate::access::Staff;
use crate::policy::Action;
use crate::storage::actions::{ActionStatus, BandAction, BandActions};
use crate::storage::timestamp;

/// The band after confirmation.
pub struct BandConfirmed {
    pub suggested_band: Option<String>,
    pub confirmed_band: String,
}

impl Cases<'_> {
    /// Confirms (same band) or overrides (another band) the suggested band, with a reason
    /// kept in the chronology; the case's required actions are recomputed for the confirmed
    /// band in the same transaction. Fields at fault: `band`, `reason`.
    pub async fn confirm_band(
        &self,
        staff: &Staff,
        reference: &str,
        band: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<BandConfirmed, CaseError> {
        let case = self
            .open(staff, reference, Action::ConfirmBand, now)
            .await?;
        let bands = case
            .def
            .screening
            .as_ref()
            .map(|s| s.bands.as_slice())
            .unwrap_or_default();
        let mut errors = Vec::new();
        if !bands.iter().any(|b| b == band) {
            errors.push(("band", format!("Choose a band: {}", bands.join(", "))));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            errors.push(("reason", "Give a reason for the band".to_owned()));
        } else if reason.chars().count() > MAX_TEXT {
            errors.push((
                "reason",
                format!("The reason must be {} characters or fewer", MAX_TEXT),
            ));
        }
        // What the chosen band requires, recomputed from the definition (None: not a band).
        let actions = case.band_actions_for(band);
        let (true, Some(actions)) = (errors.is_empty(), actions) else {
            return Err(CaseError::invalid_fields(errors));
        };
        self.storage
            .confirm_band(
                &case.referral.id,
                band,
                reason,
                &staff.actor(),
                now,
                &actions,
            )
            .await?;
        Ok(BandConfirmed {
            suggested_band: case.referral.suggested_band,
            confirmed_band: band.to_owned(),
        })
    }
}

impl CaseFile {
    /// The case's required actions, each with its checklist status: the screening's list,
    /// then the actions the confirmed band added (in the definition's order). An action the
    /// confirmed band no longer requires is `not_required` unless someone marked it done or
    /// waived (what was done stays on the record).
    pub fn required_actions(&self) -> Vec<RequiredActionView> {
        let listed = self
            .referral
            .screening
            .as_ref()
            .and_then(|s| s.get("required_actions"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut due: Vec<(String, Option<String>, Option<String>)> = listed
            .iter()
            .filter_map(|action| {
                let key = action.get("key")?.as_str()?.to_owned();
                let text =
                    |field: &str| action.get(field).and_then(Value::as_str).map(str::to_owned);
                Some((key, text("label"), text("reason")))
            })
            .collect();
        let rules = self
            .def
            .screening
            .as_ref()
            .map(|s| s.actions.as_slice())
            .unwrap_or_default();
        for rule in rules {
            let added = self
                .band_actions
                .iter()
                .any(|b| b.key == rule.key && b.required);
            if added && !due.iter().any(|(k, _, _)| k == &rule.key) {
                due.push((
                    rule.key.clone(),
                    Some(rule.label.clone()),
                    Some(rule.reason.clone()),
                ));
            }
        }
        due.into_iter()
            .map(|(key, label, reason)| {
                let record = self.actions.iter().find(|a| a.key == key);
                let status = match record {
                    Some(r) => r.status,
                    None if self.dropped_by_band(&key) => ActionStatus::NotRequired,
                    None => ActionStatus::Open,
                };
                RequiredActionView {
                    label: label.unwrap_or_else(|| key.clone()),
                    reason,
                    status: status.as_str().to_owned(),
                    by: record.map(|r| r.actor.clone()),
                    at: record.map(|r| timestamp(r.at)),
                    key,
                }
            })
            .collect()
    }

    /// What confirming `band` does to the case's required actions: recomputed from the
    /// definition with that band (`haven_core::screening::required_actions`, on the
    /// referral's answers and day) and compared with what the case requires now. `None`
    /// when `band` is not one of the service's bands.
    pub fn band_actions_for(&self, band: &str) -> Option<BandActions> {
        let today = calendar::london_date(self.referral.received_at);
        let now_required =
            screening::required_actions(&self.def, &self.referral.answers, today, band)?;
        let current = self.required_actions();
        // Required now: listed, and not dropped by an earlier band (whatever its checklist
        // status: a done action the band no longer required is not required).
        let before: Vec<&str> = current
            .iter()
            .filter(|a| !self.dropped_by_band(&a.key))
            .map(|a| a.key.as_str())
            .collect();
        let change = screening::actions_change(&before, &now_required);
        let mut rows: Vec<BandAction> = current
            .iter()
            .map(|a| BandAction {
                key: a.key.clone(),
                required: now_required.iter().any(|n| n.key == a.key),
            })
            .collect();
        for added in &change.added {
            if !rows.iter().any(|r| r.key == added.key) {
                rows.push(BandAction {
                    key: added.key.clone(),
                    required: true,
                });
            }
        }
        Some(BandActions {
            rows,
            added: change.added.into_iter().map(|a| a.key).collect(),
            no_longer_required: change.no_longer_required,
        })
    }

    /// Whether a confirmed band no longer requires this action.
    fn dropped_by_band(&self, key: &str) -> bool {
        self.band_actions
            .iter()
            .any(|b| b.key == key && !b.required)
    }
}
