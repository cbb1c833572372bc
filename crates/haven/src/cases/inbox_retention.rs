//! Retention of emails that never became a case (issue 15 under issue 17's schedule): an
//! email turned down or marked as not a referral is destroyed the definition's
//! `[retention] inbox.months` after that decision, a quarantined one that many months after
//! it arrived (`haven_core::retention::InboxRetention`). An email still waiting for a
//! decision is kept (a person must look at it first) and a converted one goes with its case
//! (`cases::retention`). Destroying empties every sealed value of the email and keeps its
//! keyed hashes, so the same message delivered again is still recognised as a duplicate.
//! Used by `haven retention plan|run` and the daily job of `haven serve`.

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::retention::{INBOX_RULE, InboxItemFacts, InboxRetention};

use super::CaseError;
use crate::intake::uk_today;
use crate::services::Registry;
use crate::storage::Storage;
use crate::storage::audit::AuditEntry;
use crate::storage::email_intake::InboxRetentionCandidate;

/// One email that never became a case, and when its content goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPlanEntry {
    pub id: String,
    /// The service it was addressed to (`None`: it matched none).
    pub service: Option<String>,
    /// Arrived on this UK day.
    pub received_on: NaiveDate,
    /// The rule in words (the definition's label); `None` when no definition has one.
    pub rule: Option<String>,
    /// Destroyed on or after this day; `None`: kept (no rule, or no decision yet).
    pub due_on: Option<NaiveDate>,
}

impl InboxPlanEntry {
    /// Whether the email's content is to be destroyed on `today`.
    pub fn is_due(&self, today: NaiveDate) -> bool {
        self.due_on.is_some_and(|on| on <= today)
    }
}

/// The rule for an email of `service`: that service's; for one that matched no service,
/// the longest any loaded definition has, so no email is destroyed sooner than any of the
/// teams would destroy it.
fn rule_for<'a>(registry: &'a Registry, service: Option<&str>) -> Option<&'a InboxRetention> {
    let of = |d: &'a haven_core::definition::ServiceDefinition| {
        d.retention.as_ref().and_then(|r| r.inbox.as_ref())
    };
    match service {
        Some(id) => registry.get(id).and_then(of),
        None => registry
            .definitions()
            .filter_map(of)
            .max_by_key(|r| r.months),
    }
}

fn facts(candidate: &InboxRetentionCandidate) -> InboxItemFacts {
    match (candidate.decided_at, candidate.quarantined) {
        (Some(decided), _) => InboxItemFacts::DecidedOn(uk_today(decided)),
        (None, true) => InboxItemFacts::QuarantinedOn(uk_today(candidate.received_at)),
        (None, false) => InboxItemFacts::Undecided,
    }
}

/// Every email turned down or quarantined and not yet destroyed, soonest due first.
pub async fn plan(
    storage: &Storage,
    registry: &Registry,
) -> Result<Vec<InboxPlanEntry>, CaseError> {
    let mut plan: Vec<InboxPlanEntry> = storage
        .inbox_retention_candidates()
        .await?
        .iter()
        .map(|candidate| {
            let rule = rule_for(registry, candidate.service.as_deref());
            InboxPlanEntry {
                id: candidate.id.clone(),
                service: candidate.service.clone(),
                received_on: uk_today(candidate.received_at),
                rule: rule.map(|r| r.label.clone()),
                due_on: rule.and_then(|r| r.due_on(facts(candidate))),
            }
        })
        .collect();
    plan.sort_by_key(|e| (e.due_on.unwrap_or(NaiveDate::MAX), e.id.clone()));
    Ok(plan)
}

/// Destroys the content of every email of `plan` due on `today`, each audited
/// `email_intake.destroyed` without content (the email's random id, `rule:inbox due:<day>`).
/// Returns how many were destroyed (one already destroyed or converted since is skipped).
pub async fn run(
    storage: &Storage,
    plan: &[InboxPlanEntry],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, CaseError> {
    let mut destroyed = 0;
    for entry in plan.iter().filter(|e| e.is_due(today)) {
        let mut audit = AuditEntry::new(
            now,
            "system",
            "email_intake.destroyed",
            "email_intake",
            &entry.id,
        );
        let on = entry.due_on.unwrap_or(today);
        audit.reason = Some(format!("rule:{INBOX_RULE} due:{on}"));
        if storage.destroy_email_intake(&entry.id, &audit).await? {
            destroyed += 1;
        }
    }
    if destroyed > 0 {
        storage.checkpoint_after_destruction().await?;
    }
    Ok(destroyed)
}
