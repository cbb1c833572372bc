//! Retention (issue 17): which closed cases are due for destruction under their service's
//! `[retention]` schedule (`haven_core::retention`), destroying them (crypto-shredding the
//! case's key first, then every row, then its emails in the outbox), and legal holds that
//! stop it. Used by `haven retention plan|run|hold|lift`, the daily job in `haven serve`
//! and the staff page `web/staff/legal_hold.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use haven_core::definition::ServiceDefinition;
use haven_core::retention::{CaseRetentionFacts, Due, birth_facts};
use serde_json::Value;

use super::{CaseError, Cases};
use crate::access::Staff;
use crate::crypto::SecretKey;
use crate::intake::uk_today;
use crate::mail::outbox::Outbox;
use crate::policy::Action;
use crate::services::Registry;
use crate::storage::Storage;
use crate::storage::audit::AuditEntry;
use crate::storage::retention::{LegalHold, RetentionCandidate};

/// The longest a legal hold's reason may be.
pub const REASON_MAX: usize = 2000;

/// One closed case and what its schedule says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEntry {
    pub referral_id: String,
    pub reference: String,
    pub service: String,
    pub status: String,
    pub due: Due,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// References destroyed (only for the operator's screen: never logged or stored).
    pub destroyed: Vec<String>,
    /// Due but held at the last moment, or already gone.
    pub skipped: usize,
    /// Emails removed from the outbox.
    pub outbox_files: usize,
    /// Emails that never became a case, destroyed (`cases::inbox_retention`; the daily
    /// pass only).
    pub emails: usize,
    /// Tables vacuumed afterwards (PostgreSQL; 0 on SQLite).
    pub vacuumed: usize,
}

/// Every closed state of the loaded definitions that have a retention schedule.
fn closed_states(registry: &Registry) -> Vec<String> {
    let mut states: Vec<String> = registry
        .definitions()
        .filter(|d| d.retention.is_some())
        .flat_map(|d| {
            let terminal = d
                .workflow
                .iter()
                .flat_map(|w| w.states.iter())
                .filter(|s| s.terminal)
                .map(|s| s.key.clone());
            let closure = d
                .casework
                .iter()
                .flat_map(|c| c.closure.iter())
                .map(|c| c.state.clone());
            terminal.chain(closure).collect::<Vec<_>>()
        })
        .collect();
    states.sort();
    states.dedup();
    states
}

/// How many closed cases the plan will weigh (for a progress bar).
pub async fn candidates(
    storage: &Storage,
    registry: &Registry,
) -> Result<Vec<RetentionCandidate>, CaseError> {
    Ok(storage
        .retention_candidates(&closed_states(registry))
        .await?)
}

/// What a candidate's schedule says. The clear facts (state, when it closed, the closure
/// outcome, a hold) come with the candidate from one SQL read; a sealed value is opened only
/// when the schedule needs it: the closing transition's decision when a rule the case could
/// fall under names decisions, and the answers (date of birth, age) only when its rule keeps
/// it until a birthday. So `haven retention plan` does not open every closed case.
pub async fn weigh(
    storage: &Storage,
    registry: &Registry,
    candidate: &RetentionCandidate,
) -> Result<Option<PlanEntry>, CaseError> {
    let Some(def) = registry.get(&candidate.service) else {
        return Ok(None);
    };
    let Some(retention) = &def.retention else {
        return Ok(None);
    };
    let facts = facts(storage, def, retention, candidate).await?;
    Ok(Some(PlanEntry {
        referral_id: candidate.id.clone(),
        reference: candidate.reference.clone(),
        service: candidate.service.clone(),
        status: candidate.status.clone(),
        due: retention.due(&facts),
    }))
}

async fn facts(
    storage: &Storage,
    def: &ServiceDefinition,
    retention: &haven_core::retention::Retention,
    candidate: &RetentionCandidate,
) -> Result<CaseRetentionFacts, CaseError> {
    let closed_at: Option<DateTime<Utc>> = candidate
        .closed_at
        .or(candidate.closure.as_ref().map(|c| c.1))
        .or(candidate.last_event_at);
    let outcome = candidate.closure.as_ref().map(|c| c.0.clone());
    let mut facts = CaseRetentionFacts {
        status: candidate.status.clone(),
        closed: super::is_closed(def, &candidate.status),
        closed_on: closed_at.map(uk_today),
        decision: None,
        outcome,
        date_of_birth: None,
        age_reported: None,
        held: candidate.held,
    };
    if let Some(event) = candidate.closing_event
        && retention.needs_decision(&facts.status, facts.outcome.as_deref())
    {
        facts.decision = storage.closing_decision(&candidate.id, event).await?;
    }
    if retention.needs_birth(&facts) {
        let referral = storage.find_referral(&candidate.reference).await?;
        let stages = storage.referral_stages(&candidate.id).await?;
        let mut documents: Vec<&Value> = stages.iter().rev().map(|s| &s.answers).collect();
        if let Some(r) = &referral {
            documents.push(&r.answers);
        }
        let (date_of_birth, age) = birth_facts(def, &documents);
        facts.date_of_birth = date_of_birth;
        facts.age_reported = age.map(|a| (a, uk_today(candidate.received_at)));
    }
    Ok(facts)
}

/// The whole plan: every closed case of a service with a schedule, soonest due first
/// (`progress` is called after each case with how many are done).
pub async fn plan(
    storage: &Storage,
    registry: &Registry,
    mut progress: impl FnMut(usize),
) -> Result<Vec<PlanEntry>, CaseError> {
    let all = candidates(storage, registry).await?;
    let mut plan = Vec::with_capacity(all.len());
    for (i, candidate) in all.iter().enumerate() {
        if let Some(entry) = weigh(storage, registry, candidate).await? {
            plan.push(entry);
        }
        progress(i + 1);
    }
    plan.sort_by_key(|e| (due_day(&e.due), e.reference.clone()));
    Ok(plan)
}

fn due_day(due: &Due) -> NaiveDate {
    match due {
        Due::On { on, .. } => *on,
        _ => NaiveDate::MAX,
    }
}

/// The audit entry's record id for a destroyed case: a keyed hash of its reference, so the
/// log can answer "was this case destroyed?" for someone holding the reference, and
/// tells no one else anything.
pub fn reference_hash(secret: &SecretKey, reference: &str) -> String {
    secret.keyed_hash(format!("haven retention v1\0{reference}").as_bytes())
}

/// Destroys every case of `plan` due on `today` and not held: its key first, then its rows
/// and jobs, then its emails in `outbox`. Each case is audited `case.destroyed` with no
/// content (the keyed hash of the reference; the reason `rule:<key> due:<date>`).
pub async fn run(
    storage: &Storage,
    registry: &Registry,
    secret: &SecretKey,
    plan: &[PlanEntry],
    today: NaiveDate,
    now: DateTime<Utc>,
    outbox: Option<&Outbox>,
) -> Result<RunReport, CaseError> {
    let mut report = RunReport::default();
    let due: Vec<&PlanEntry> = plan.iter().filter(|e| e.due.is_due(today)).collect();
    if due.is_empty() {
        return Ok(report);
    }
    for entry in due {
        // A hold placed since the plan was made still stops it.
        if storage.legal_hold(&entry.referral_id).await?.is_some() {
            report.skipped += 1;
            continue;
        }
        // Crypto-shredding first: from here on every sealed value of the case, in this
        // database and in every backup, is unreadable, even if the deletes below fail.
        if !storage.destroy_case_key(&entry.reference).await? {
            report.skipped += 1;
            continue;
        }
        let jobs = storage
            .jobs_mentioning(&[&entry.referral_id, &entry.reference])
            .await?;
        let mut audit = AuditEntry::new(
            now,
            "system",
            "case.destroyed",
            "retention",
            &reference_hash(secret, &entry.reference),
        );
        let (rule, on) = match &entry.due {
            Due::On { rule, on } => (rule.as_str(), *on),
            _ => ("?", today),
        };
        audit.reason = Some(format!("service:{} rule:{rule} due:{on}", entry.service));
        let retired = super::stats::retired_counts(storage, registry, &entry.referral_id).await?;
        if storage
            .destroy_case_rows(
                &entry.referral_id,
                &jobs,
                &audit,
                retired
                    .as_ref()
                    .map(|(service, day, counts)| (service.as_str(), *day, counts)),
            )
            .await?
        {
            report.destroyed.push(entry.reference.clone());
        } else {
            report.skipped += 1;
        }
    }
    if let Some(outbox) = outbox {
        report.outbox_files = remove_outbox_emails(outbox, &report.destroyed).await?;
    }
    if !report.destroyed.is_empty() {
        // A public form's draft is sealed under the master key, not the case's: after the
        // referral it held the confirmation (reference and receipt code) until it expired.
        // Expired drafts are otherwise deleted only when another draft is saved.
        storage.delete_expired_drafts(now).await?;
    }
    // PostgreSQL: VACUUM the tables touched (logged, never failing the run); SQLite: the
    // write-ahead log checkpointed.
    let vacuumed = storage.checkpoint_after_destruction().await?;
    if !vacuumed.is_empty() {
        tracing::info!(
            tables = vacuumed.len(),
            "vacuumed the tables destruction touched"
        );
    }
    report.vacuumed = vacuumed.len();
    Ok(report)
}

/// The job queue of the daily retention pass (no worker takes it: it is only the lease).
pub const DAILY_QUEUE: &str = "retention";
/// How long one server holds the day's pass before another may take it over (a server that
/// died part-way); far longer than a pass takes.
pub const DAILY_LEASE_HOURS: i64 = 12;

/// The daily retention pass of `haven serve`: the plan, then a run of what is due today. Several
/// servers may share the database: the day's pass is claimed first
/// ([`Storage::claim_once`], the job queue's lease, key `retention:<UK day>`), so exactly one
/// server runs it and the others skip (`Ok(None)`). Done, it is marked so; failed, it is given
/// back at once for another try.
pub async fn daily_pass(
    storage: &Storage,
    registry: &Registry,
    secret: &SecretKey,
    outbox: Option<&Outbox>,
    now: DateTime<Utc>,
) -> Result<Option<RunReport>, CaseError> {
    let key = format!("retention:{}", uk_today(now));
    let lease = chrono::Duration::hours(DAILY_LEASE_HOURS);
    if !storage
        .claim_once(DAILY_QUEUE, "retention.daily", &key, now, lease)
        .await?
    {
        return Ok(None);
    }
    let pass = async {
        let plan = plan(storage, registry, |_| {}).await?;
        let mut report = run(storage, registry, secret, &plan, uk_today(now), now, outbox).await?;
        let inbox = super::inbox_retention::plan(storage, registry).await?;
        report.emails = super::inbox_retention::run(storage, &inbox, uk_today(now), now).await?;
        Ok::<_, CaseError>(report)
    };
    match pass.await {
        Ok(report) => {
            storage.complete_job(&key, storage.clock().now()).await?;
            Ok(Some(report))
        }
        Err(e) => {
            let at = storage.clock().now();
            storage
                .fail_job(&key, "the retention pass failed", Some(at), at)
                .await?;
            Err(e)
        }
    }
}

/// Deletes the outbox's emails naming any of `references`.
async fn remove_outbox_emails(outbox: &Outbox, references: &[String]) -> Result<usize, CaseError> {
    if references.is_empty() {
        return Ok(0);
    }
    let outbox = outbox.clone();
    let references = references.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut removed = 0;
        for message in outbox
            .list()
            .map_err(|e| CaseError::Internal(e.to_string()))?
        {
            let text = format!("{}\n{}", message.subject, message.message);
            if references.iter().any(|r| text.contains(r.as_str())) {
                outbox
                    .remove(&message.id)
                    .map_err(|e| CaseError::Internal(e.to_string()))?;
                removed += 1;
            }
        }
        Ok(removed)
    })
    .await
    .map_err(|e| CaseError::Internal(e.to_string()))?
}

/// A case's legal hold as staff see it.
#[derive(Debug, Clone)]
pub struct HoldView {
    pub reference: String,
    pub hold: Option<LegalHold>,
}

impl Cases<'_> {
    /// The legal hold of a case (`legal_hold` allowed), for its page.
    pub async fn legal_hold(&self, staff: &Staff, reference: &str) -> Result<HoldView, CaseError> {
        let (referral, _) = self.find(staff, reference, Action::LegalHold).await?;
        Ok(HoldView {
            hold: self.storage.legal_hold(&referral.id).await?,
            reference: referral.reference,
        })
    }

    /// Places (or replaces) a legal hold with its reason; open or closed cases alike.
    pub async fn place_legal_hold(
        &self,
        staff: &Staff,
        reference: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let (referral, _) = self.find(staff, reference, Action::LegalHold).await?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(CaseError::invalid(
                "reason",
                "Enter why the case must be kept (the investigation, claim or request)",
            ));
        }
        if reason.chars().count() > REASON_MAX {
            return Err(CaseError::invalid(
                "reason",
                format!("The reason must be {REASON_MAX} characters or fewer"),
            ));
        }
        if let Some(c) = haven_core::answers::forbidden_character(reason) {
            return Err(CaseError::invalid(
                "reason",
                format!(
                    "The reason must not contain the character U+{:04X}",
                    u32::from(c)
                ),
            ));
        }
        self.storage
            .place_legal_hold(&referral.id, reason, &staff.actor(), now)
            .await?;
        Ok(())
    }

    /// Lifts a case's legal hold; refused with 409 `no_legal_hold` when there is none.
    pub async fn lift_legal_hold(
        &self,
        staff: &Staff,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let (referral, _) = self.find(staff, reference, Action::LegalHold).await?;
        if self
            .storage
            .lift_legal_hold(&referral.id, &staff.actor(), now)
            .await?
        {
            Ok(())
        } else {
            Err(CaseError::Conflict {
                code: "no_legal_hold".to_owned(),
                message: "There is no legal hold on this case".to_owned(),
            })
        }
    }
}
