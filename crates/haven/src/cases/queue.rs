//! What the work queue needs to know about the loaded services: which states are closed, and
//! each service's bands in the definition's order (synced to `service_bands` at start-up).

use haven_core::young_person::PersonSummary;

use crate::access::Staff;
use crate::services::Registry;
use crate::storage::audit::AuditEntry;
use crate::storage::queue::{QueueFilter, QueuePage};
use crate::storage::{Storage, StorageError};

/// One page of the work queue, for the API and the staff page alike. The caller has checked
/// `view_queue` and limited `filter.teams` to what the member of staff sees. One audit entry
/// per page (`queue.searched`), naming the filters (`filters`, in the caller's words) and the
/// references shown, never their content.
pub async fn read(
    storage: &Storage,
    staff: &Staff,
    filter: &QueueFilter,
    filters: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<QueuePage, StorageError> {
    let found = storage.queue(filter).await?;
    record_shown(storage, staff, filters, &found, now).await?;
    Ok(found)
}

/// The audit entry of one page of the queue shown to `staff` (see [`read`]). The staff page
/// reads the queue, then builds its HTML while this entry's commit is on its way to the disk,
/// and shows the page only once it is recorded: a view that cannot be audited is not shown.
pub async fn record_shown(
    storage: &Storage,
    staff: &Staff,
    filters: &str,
    found: &QueuePage,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StorageError> {
    let shown: Vec<&str> = found.items.iter().map(|r| r.reference.as_str()).collect();
    let entry = AuditEntry {
        record_id: None,
        reason: Some(format!("{filters} shown={}", shown.join(","))),
        ..AuditEntry::new(now, staff.actor(), "queue.searched", "queue", "")
    };
    storage.append_audit(&entry).await
}

/// Whether a queue lists open cases only: the default queue does (`include_closed` off),
/// unless it asks for one status that is terminal in some loaded service ("closed"), which
/// lists those cases whatever the default. A status that is not terminal anywhere ("new")
/// is open by definition, so the open queue's indexes serve it.
pub fn open_only(registry: &Registry, status: Option<&str>, include_closed: bool) -> bool {
    match status {
        Some(status) => !registry.definitions().any(|def| {
            def.workflow
                .iter()
                .flat_map(|w| w.states.iter())
                .any(|s| s.terminal && s.key == status)
        }),
        None => !include_closed,
    }
}

/// Each loaded service's workflow states with whether each is terminal, for
/// [`crate::storage::Storage::sync_queue_states`]: the open queue leaves terminal ones out.
pub fn workflow_states(registry: &Registry) -> Vec<(String, Vec<(String, bool)>)> {
    registry
        .definitions()
        .map(|def| {
            let states = def
                .workflow
                .iter()
                .flat_map(|w| w.states.iter())
                .map(|s| (s.key.clone(), s.terminal))
                .collect();
            (def.id.clone(), states)
        })
        .collect()
}

/// What `haven serve` records at start-up for the queue from the loaded definitions: each
/// service's bands (its order) and terminal states (what the open queue leaves out),
/// correcting stored cases whose rank or open flag is stale.
pub async fn sync_queue_rules(
    storage: &Storage,
    registry: &Registry,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::storage::StorageError> {
    storage.sync_band_ranks(&band_orders(registry), at).await?;
    storage
        .sync_queue_states(&workflow_states(registry), at)
        .await
}

/// Each loaded service's `bands` list (lowest first, as the definition writes it), for
/// [`crate::storage::Storage::sync_band_ranks`] at start-up: the queue orders by it.
pub fn band_orders(registry: &Registry) -> Vec<(String, Vec<String>)> {
    registry
        .definitions()
        .map(|def| {
            let bands = def
                .screening
                .as_ref()
                .map(|s| s.bands.clone())
                .unwrap_or_default();
            (def.id.clone(), bands)
        })
        .collect()
}

/// Fills in the young person summary of referrals stored before summaries existed (what the
/// queue opens for a row's name and age), from each one's answers and its service's
/// definition. Run in the background by `haven serve` at start-up: cheap when nothing is
/// missing (one probe of an empty index); meanwhile the queue reads such a row's answers.
/// Returns (filled, could not be opened).
pub async fn fill_person_summaries(
    storage: &Storage,
    registry: &Registry,
) -> Result<(u64, u64), StorageError> {
    storage
        .backfill_person_summaries(500, |service, answers| {
            registry
                .get(service)
                .map(|def| PersonSummary::of_referral(def, answers).to_json())
        })
        .await
}

/// How long a case has waited since it was received, in words: "waited 40 minutes",
/// "waited 3 hours", "waited 2 days".
pub fn waited_words(
    received: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let minutes = (now - received).num_minutes().max(0);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("waited 1 {unit}")
        } else {
            format!("waited {n} {unit}s")
        }
    };
    if minutes < 60 {
        plural(minutes.max(1), "minute")
    } else if minutes < 48 * 60 {
        plural(minutes / 60, "hour")
    } else {
        plural(minutes / (24 * 60), "day")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn waiting_in_words() {
        let at = Utc.with_ymd_and_hms(2026, 5, 12, 9, 0, 0).unwrap();
        let later = |m| at + chrono::Duration::minutes(m);
        assert_eq!(waited_words(at, later(0)), "waited 1 minute");
        assert_eq!(waited_words(at, later(40)), "waited 40 minutes");
        assert_eq!(waited_words(at, later(190)), "waited 3 hours");
        assert_eq!(waited_words(at, later(60)), "waited 1 hour");
        assert_eq!(waited_words(at, later(3 * 24 * 60)), "waited 3 days");
    }
}
