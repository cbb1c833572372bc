//! The submission use-case: find the service and stage → check who may submit →
//! validate the answers → store the referral with a reference and a receipt code.
//!
//! Shared by the JSON API and (later) the HTML forms. The steps that the lead adds after the
//! foundation are marked `SEAM:` below, at the exact place they belong; until then they are
//! simply not called (no stand-in behaviour).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::London;
use haven_core::anonymity::{self, Finding};
use haven_core::answers::{self, FieldError, TargetError};
use haven_core::calendar;
use haven_core::definition::{ServiceDefinition, Stage, StageAccess};
use haven_core::screening::{self, SignpostOut};
use haven_core::young_person::PersonSummary;
use serde_json::Value;

use crate::crypto::{self, SecretKey};
use crate::services::Registry;
use crate::storage::referrals::NewReferral;
use crate::storage::{Storage, StorageError};

/// How many fresh references to try when one is already taken. With 40 random bits per
/// reference a single retry is already rare; five in a row means something else is wrong.
const REFERENCE_ATTEMPTS: usize = 5;

/// Workflow state of a new case when the service defines no workflow.
const DEFAULT_STATUS: &str = "received";

/// What someone submitted.
#[derive(Clone)]
pub struct Submission {
    pub service: String,
    pub stage: String,
    pub audience: String,
    pub answers: Value,
    /// Files uploaded with a public form's draft: they move to the referral in the same
    /// transaction that stores it, so a referral never exists without its files.
    pub files: Option<DraftFiles>,
}

/// The uploads of a public form's draft to keep with the referral (the rest are deleted).
#[derive(Debug, Clone)]
pub struct DraftFiles {
    pub draft_id: String,
    /// Attachment ids the answers name.
    pub keep: Vec<String>,
}

// Hand-written: answers must never reach a log line.
impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission")
            .field("service", &self.service)
            .field("stage", &self.stage)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Through which door a submission came: decides which stages it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The public API or public forms: only `access = "public"` stages.
    Public,
    /// An emailed referral a member of staff converts (`cases::inbox`): the same stages as
    /// the public forms (the paper form is the public referral form).
    Email,
}

/// A stored submission: what the reporter is told.
#[derive(Clone)]
pub struct Accepted {
    pub reference: String,
    /// Shown once; only its keyed hash is stored.
    pub receipt_code: String,
    pub next_steps: Vec<String>,
    /// Screening found an immediate risk.
    pub urgent: bool,
    /// The service's emergency message, when urgent.
    pub emergency_message: Option<String>,
}

impl std::fmt::Debug for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accepted")
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

/// A report the service does not take (out of its scope): nothing was stored beyond an
/// anonymous count; the person is pointed elsewhere.
#[derive(Debug, Clone)]
pub struct NotAccepted {
    pub signposts: Vec<SignpostOut>,
    /// Plain sentences saying why (from screening's explanation).
    pub reason: String,
}

/// What became of a submission that passed validation.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Stored as a referral.
    Accepted(Accepted),
    /// Out of scope for a service that refuses such reports.
    NotAccepted(NotAccepted),
}

/// Identifying details found in one free-text answer of an anonymous stage.
#[derive(Debug, Clone)]
pub struct IdentifyingAnswer {
    /// The question key.
    pub question: String,
    pub findings: Vec<Finding>,
}

impl IdentifyingAnswer {
    /// The message shown to the person: which kinds of detail were found, in words.
    pub fn message(&self) -> String {
        let mut kinds: Vec<&str> = Vec::new();
        for f in &self.findings {
            let words = f.kind.describe();
            if !kinds.contains(&words) {
                kinds.push(words);
            }
        }
        format!(
            "This may identify someone: {}. Remove it, or confirm the text is anonymous.",
            kinds.join(", ")
        )
    }
}

/// Why a submission was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("there is no service `{0}`")]
    UnknownService(String),
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The stage exists but cannot be submitted through this channel.
    #[error("stage `{0}` is not open to the public")]
    NotOpen(String),
    /// Answers that fail validation, each naming its question key.
    #[error("{} answers need correcting", .0.len())]
    Invalid(Vec<FieldError>),
    /// Free text of an anonymous stage that may identify someone.
    #[error("{} answers may identify someone", .0.len())]
    Identifying(Vec<IdentifyingAnswer>),
    #[error("could not find a free reference after {REFERENCE_ATTEMPTS} attempts")]
    NoFreeReference,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Today in the UK, where every service runs: a date of birth "today" must be accepted at
/// 00:30 BST, when it is still yesterday in UTC.
pub fn uk_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&London).date_naive()
}

/// Validates, screens and stores one submission received at `now`. An urgent one is
/// emailed straight away to the definition's `duty_email` (links built from `public_url`):
/// the email's job is stored in the referral's own transaction.
pub async fn submit(
    storage: &Storage,
    registry: &Registry,
    key: &SecretKey,
    channel: Channel,
    submission: &Submission,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, IntakeError> {
    match submit_via(
        storage, registry, key, channel, submission, public_url, now, None,
    )
    .await?
    {
        Stored::Outcome(outcome) => Ok(outcome),
        // Only a conversion can find its email item already decided.
        Stored::AlreadyDecided => Err(IntakeError::Storage(StorageError::Conflict)),
    }
}

/// An email intake item being converted into a referral by a member of staff
/// (`cases::inbox`): the referral is stored with the item marked converted, in one
/// transaction, and its chronology says it came by email.
#[derive(Clone, Copy)]
pub struct FromEmail<'a> {
    /// The `email_intake` item.
    pub item_id: &'a str,
    /// Who converts it (`user:<id>`): the chronology's and the audit log's actor.
    pub actor: &'a str,
    /// When they convert it (the referral itself counts as received when the email was).
    pub at: DateTime<Utc>,
    /// The acknowledgement to the sender (a mail job payload), when they are trusted and
    /// verified; built by the caller once the reference is known.
    pub acknowledge: Option<&'a (dyn Fn(&str) -> Value + Sync)>,
}

impl std::fmt::Debug for FromEmail<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FromEmail")
            .field("item_id", &self.item_id)
            .field("actor", &self.actor)
            .field("acknowledge", &self.acknowledge.is_some())
            .finish()
    }
}

/// What [`submit_via`] did.
#[derive(Debug, Clone)]
pub enum Stored {
    Outcome(Outcome),
    /// The email item was converted or rejected by someone else first: nothing stored.
    AlreadyDecided,
}

/// [`submit`], or with `email` a conversion of an email intake item: the one code path of
/// validation, screening, due date, required actions and storage for both.
#[allow(clippy::too_many_arguments)]
pub async fn submit_via(
    storage: &Storage,
    registry: &Registry,
    key: &SecretKey,
    channel: Channel,
    submission: &Submission,
    public_url: &str,
    now: DateTime<Utc>,
    email: Option<FromEmail<'_>>,
) -> Result<Stored, IntakeError> {
    let def = registry
        .get(&submission.service)
        .ok_or_else(|| IntakeError::UnknownService(submission.service.clone()))?;
    check_channel(def, &submission.stage, channel)?;
    let stage = answers::target(def, &submission.stage, &submission.audience)?;
    answers::validate(
        stage,
        &submission.audience,
        &submission.answers,
        uk_today(now),
    )
    .map_err(IntakeError::Invalid)?;

    check_anonymity(stage, &submission.answers)?;
    let uploads = check_files(storage, def, stage, submission, now).await?;

    let today = calendar::london_date(now);
    let result = if def.screening.is_some() {
        Some(screening::screen(def, &submission.answers, today).map_err(IntakeError::Invalid)?)
    } else {
        None
    };
    if let Some(result) = result.as_ref().filter(|r| !r.accepted) {
        // Only option keys (never free text) reach the statistics.
        let concerns: Vec<&str> = result.reasons.iter().map(|r| r.key.as_str()).collect();
        let signposts: Vec<&str> = result.signposts.iter().map(|s| s.key.as_str()).collect();
        // A person converting an email sees the refusal and decides; only real refusals count.
        if email.is_none() {
            storage
                .count_not_accepted(today, &def.id, &submission.audience, &concerns, &signposts)
                .await?;
            metrics::counter!("haven_submissions_not_accepted_total", "service" => def.id.clone())
                .increment(1);
        }
        return Ok(Stored::Outcome(Outcome::NotAccepted(NotAccepted {
            signposts: result.signposts.clone(),
            reason: screening::out_of_scope_words(def, &submission.answers, today).join("\n\n"),
        })));
    }
    let screening_json = result
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| {
            IntakeError::Storage(StorageError::Corrupt {
                column: "screening",
                reason: e.to_string(),
            })
        })?;
    // Stored compactly when the definition rebuilds it exactly (storage checks).
    let screening_rules = match &result {
        Some(_) => storage.screening_rules_id(def).await?,
        None => None,
    };
    let due_by = first_contact_sla(def, &stage.key).and_then(|sla| calendar::due_by(sla, now));

    let status = def
        .workflow
        .as_ref()
        .map_or(DEFAULT_STATUS, |w| w.initial.as_str());
    let urgent = result.as_ref().is_some_and(|r| r.urgent);
    // The young person for the person index (blind tokens), written with the referral.
    let identity = def.identity(&submission.answers);
    // What the queue opens to name the young person (sealed with the case's key).
    let person = PersonSummary::of_referral(def, &submission.answers).to_json();
    // The concern for the dashboards: option keys of a closed list, kept in the clear.
    let concerns = haven_core::statistics::concern_keys(def, &submission.answers);
    // Ordered by time after a random first digit: the new referral's index entries land
    // beside the last ones' instead of on random pages (`crypto::new_ordered_id`).
    let id_time = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    for _ in 0..REFERENCE_ATTEMPTS {
        let id = crypto::new_ordered_id(id_time);
        let reference = crypto::new_reference(&def.reference_prefix);
        // An urgent referral's email to the duty address commits with it (never one without
        // the other).
        let alert = crate::notify::urgent_alert(public_url, def, &id, &reference, urgent)
            .map(|notice| serde_json::json!(notice));
        let receipt_code = crypto::new_receipt_code();
        let new = NewReferral {
            id,
            reference: reference.clone(),
            service: &def.id,
            stage: &stage.key,
            audience: &submission.audience,
            status,
            team: &def.team,
            received_at: now,
            urgent,
            suggested_band: result.as_ref().and_then(|r| r.suggested_band.as_deref()),
            in_scope: result.as_ref().and_then(|r| r.in_scope),
            eligible: result.as_ref().and_then(|r| r.eligible),
            rules_version: result.as_ref().and_then(|r| r.rules_version.as_deref()),
            due_by,
            answers: &submission.answers,
            person: Some(&person),
            screening: screening_json.as_ref(),
            screening_rules,
            receipt_hash: key.receipt_hash(&receipt_code),
            actor: email.map_or("public", |e| e.actor),
            files: submission
                .files
                .as_ref()
                .map(|f| (f.draft_id.as_str(), f.keep.as_slice())),
            uploads: &uploads,
            alert: alert.as_ref(),
            identity: identity.as_ref(),
            concerns: concerns.as_deref(),
        };
        let stored = match email {
            None => storage.create_referral(&new).await,
            Some(email) => {
                let ack = email.acknowledge.map(|make| make(&reference));
                match storage
                    .convert_email_intake(email.item_id, &new, ack.as_ref(), email.actor, email.at)
                    .await
                {
                    Ok(crate::storage::email_intake::Decided::Done) => Ok(()),
                    Ok(crate::storage::email_intake::Decided::NotNew) => {
                        return Ok(Stored::AlreadyDecided);
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match stored {
            Ok(()) => {
                metrics::counter!("haven_submissions_total", "service" => def.id.clone())
                    .increment(1);
                tracing::info!(service = %def.id, stage = %stage.key, reference = %reference, "submission stored");
                return Ok(Stored::Outcome(Outcome::Accepted(Accepted {
                    reference,
                    receipt_code,
                    next_steps: def.next_steps.clone(),
                    urgent,
                    emergency_message: def.emergency_message.clone().filter(|_| urgent),
                })));
            }
            Err(StorageError::Conflict) => continue,
            // Two submissions raced for one uploaded file: the later one names the question,
            // as if the id had never been valid (the file now belongs to the other referral).
            Err(StorageError::UploadTaken(taken)) => {
                let answers = file_answers(stage, &submission.answers);
                let bad: Vec<(String, String)> =
                    answers.into_iter().filter(|(_, id)| *id == taken).collect();
                return Err(IntakeError::Invalid(unstored_files(&bad)));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(IntakeError::NoFreeReference)
}

/// Every file answer of a stage: (question key, attachment id).
fn file_answers(stage: &Stage, answers: &Value) -> Vec<(String, String)> {
    stage
        .questions()
        .filter(|(_, q)| q.kind == haven_core::definition::QuestionKind::File)
        .filter_map(|(_, q)| {
            haven_core::definition::condition::lookup(answers, &q.key).map(|v| (q, v))
        })
        .flat_map(|(q, v)| {
            let items = match v {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            items
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .map(|id| (q.key.clone(), id))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One error per question whose answer names a file that is not stored for it.
fn unstored_files(bad: &[(String, String)]) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    for (question, _) in bad {
        if !errors.iter().any(|e| e.field == *question) {
            errors.push(FieldError::new(
                question,
                "Must be the id of a file uploaded for this question (POST /api/v1/attachments, \
                 used within an hour) or attached on this form",
            ));
        }
    }
    errors
}

/// Checks that every file answer names a stored file of this submission: on the pages, a
/// file attached to the draft for that question; through the API, a file uploaded with
/// `POST /api/v1/attachments` for this service and question, unused and not expired (ids
/// carry 128 random bits and are only ever shown to their uploader). A made-up id is a 422
/// naming the question. Returns the API uploads to claim with the referral.
async fn check_files(
    storage: &Storage,
    def: &ServiceDefinition,
    stage: &Stage,
    submission: &Submission,
    now: DateTime<Utc>,
) -> Result<Vec<String>, IntakeError> {
    let named = file_answers(stage, &submission.answers);
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let bad: Vec<(String, String)> = match &submission.files {
        Some(draft) => {
            let attached = storage.draft_attachments(&draft.draft_id).await?;
            named
                .iter()
                .filter(|(q, id)| attached.get(id).is_none_or(|a| a.question != *q))
                .cloned()
                .collect()
        }
        None => storage.unusable_uploads(&def.id, &named, now).await?,
    };
    if !bad.is_empty() {
        return Err(IntakeError::Invalid(unstored_files(&bad)));
    }
    Ok(match &submission.files {
        Some(_) => Vec::new(),
        None => named.into_iter().map(|(_, id)| id).collect(),
    })
}

/// A later stage attached to an existing case.
#[derive(Debug, Clone)]
pub struct Attached {
    pub reference: String,
    /// The transition the stage made by itself (`on_stage_received`), if any: `(from, to)`.
    pub moved: Option<(String, String)>,
}

/// Why an invited stage was not attached.
#[derive(Debug, thiserror::Error)]
pub enum InvitedError {
    /// The invitation is used or expired (or its case is gone).
    #[error("the invitation no longer works")]
    Spent,
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

impl From<StorageError> for InvitedError {
    fn from(e: StorageError) -> Self {
        InvitedError::Intake(IntakeError::Storage(e))
    }
}

/// Validates an invited stage's answers and attaches them to the case of the invitation
/// `invitation_id` (which must still be live at `now`): the same case, a `stage_received`
/// chronology event, then the transition the definition makes on receiving the stage
/// (`on_stage_received`, guards checked with the stage counted as received).
pub async fn submit_invited(
    storage: &Storage,
    registry: &Registry,
    invitation_id: &str,
    submission: &Submission,
    now: DateTime<Utc>,
) -> Result<Attached, InvitedError> {
    let def = registry
        .get(&submission.service)
        .ok_or_else(|| IntakeError::UnknownService(submission.service.clone()))?;
    let stage =
        answers::target(def, &submission.stage, &submission.audience).map_err(IntakeError::from)?;
    if stage.access != StageAccess::Invited {
        return Err(IntakeError::NotOpen(stage.key.clone()).into());
    }
    answers::validate(
        stage,
        &submission.audience,
        &submission.answers,
        uk_today(now),
    )
    .map_err(IntakeError::Invalid)?;
    if stage.anonymous {
        check_anonymity(stage, &submission.answers)?;
    }
    if submission.files.is_none() && !file_answers(stage, &submission.answers).is_empty() {
        // Invited stages are filled in on the pages only: files come with the draft.
        return Err(IntakeError::Invalid(unstored_files(&file_answers(
            stage,
            &submission.answers,
        )))
        .into());
    }
    check_files(storage, def, stage, submission, now).await?;
    let invitation = storage
        .live_invitation(invitation_id, now)
        .await?
        .filter(|i| i.stage == stage.key)
        .ok_or(InvitedError::Spent)?;
    let referral = storage
        .find_referral_by_id(&invitation.referral_id)
        .await?
        .filter(|r| r.service == def.id && !is_closed(def, &r.status))
        .ok_or(InvitedError::Spent)?;
    let case = crate::cases::file::case_file(storage, referral.clone(), def.clone(), now).await?;
    let mut facts = case.facts();
    if let Some(received) = facts
        .pointer_mut("/case/stages_received")
        .and_then(Value::as_array_mut)
    {
        received.push(Value::String(stage.key.clone()));
    }
    if let Some(answers) = facts.get_mut("answers").and_then(Value::as_object_mut) {
        answers.insert(stage.key.clone(), submission.answers.clone());
    }
    let outcome =
        haven_core::workflow::on_stage_received(def, &referral.status, &stage.key, &facts);
    let meets = outcome
        .as_ref()
        .is_some_and(|o| haven_core::workflow::meets_sla(def, &o.to));
    // The queue's summary of the young person, the newest stage first (as the case page).
    let earlier = storage.referral_stages(&referral.id).await?;
    let mut documents: Vec<&Value> = vec![&submission.answers];
    documents.extend(earlier.iter().rev().map(|s| &s.answers));
    documents.push(&referral.answers);
    let person = PersonSummary::of(def, &documents, false).to_json();
    let moved = storage
        .receive_stage(&crate::storage::invites::NewStage {
            invitation_id,
            referral_id: &referral.id,
            stage: &stage.key,
            audience: &submission.audience,
            answers: &submission.answers,
            files: submission
                .files
                .as_ref()
                .map(|f| (f.draft_id.as_str(), f.keep.as_slice())),
            at: now,
            transition: outcome
                .as_ref()
                .map(|o| (o.from.as_str(), o.to.as_str(), meets)),
            person: Some(&person),
        })
        .await
        .map_err(|e| match e {
            crate::storage::invites::ReceiveError::InvitationSpent => InvitedError::Spent,
            crate::storage::invites::ReceiveError::Storage(e) => e.into(),
        })?;
    tracing::info!(service = %def.id, stage = %stage.key, reference = %referral.reference, "stage attached");
    // A later stage may name the young person (Cyber Choices' detailed referral): index
    // them again. The stage is stored whatever happens here; `haven match reindex` repairs.
    if let Err(e) = crate::cases::people::reindex_case(storage, def, &referral, now).await {
        tracing::warn!(reference = %referral.reference, error = %e, "person index not updated");
    }
    Ok(Attached {
        reference: referral.reference,
        moved: outcome.filter(|_| moved).map(|o| (o.from, o.to)),
    })
}

/// Whether `status` is a terminal state of the service's workflow (a closed case takes no
/// more stages).
pub fn is_closed(def: &ServiceDefinition, status: &str) -> bool {
    def.workflow
        .iter()
        .flat_map(|w| w.states.iter())
        .any(|s| s.key == status && s.terminal)
}

/// Refuses free text of an anonymous stage that may identify someone (questions the
/// person confirmed in `anonymity_confirmed` are skipped by `anonymity_texts`).
fn check_anonymity(stage: &Stage, answers: &Value) -> Result<(), IntakeError> {
    let identifying: Vec<IdentifyingAnswer> = answers::anonymity_texts(stage, answers)
        .into_iter()
        .filter_map(|(question, text)| {
            let report = anonymity::check(text);
            report.identifying.then(|| IdentifyingAnswer {
                question: question.to_owned(),
                findings: report.findings,
            })
        })
        .collect();
    if identifying.is_empty() {
        Ok(())
    } else {
        Err(IntakeError::Identifying(identifying))
    }
}

/// The SLA that starts when this stage arrives: one whose `starts_on` is the stage, else
/// (for an SLA without `starts_on`) when the first stage arrives.
pub fn first_contact_sla<'d>(
    def: &'d ServiceDefinition,
    stage: &str,
) -> Option<&'d haven_core::definition::Sla> {
    let first = def.stages.first().map(|s| s.key.as_str());
    def.slas.iter().find(|sla| match sla.starts_on.as_deref() {
        Some(on) => on == stage,
        None => first == Some(stage),
    })
}

/// Refuses stages the channel may not use (before reading any answer).
fn check_channel(
    def: &ServiceDefinition,
    stage_key: &str,
    channel: Channel,
) -> Result<(), IntakeError> {
    match (channel, def.stage(stage_key).map(|s| s.access)) {
        (Channel::Public | Channel::Email, Some(StageAccess::Invited | StageAccess::Staff)) => {
            Err(IntakeError::NotOpen(stage_key.to_owned()))
        }
        _ => Ok(()),
    }
}

/// A public form refused before it is finished: the answers so far are already out of scope
/// (`screening::refused_already`), so the person is told who can help before giving
/// anyone's details. As for a refused submission, only the anonymous count is kept.
/// Signposts are those the rules give for the answers so far.
pub async fn refuse_early(
    storage: &Storage,
    def: &haven_core::definition::ServiceDefinition,
    audience: &str,
    answers: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<NotAccepted, IntakeError> {
    let today = calendar::london_date(now);
    // Screening validates what its rules read; answers not given yet are simply absent.
    let result = screening::screen(def, answers, today).ok();
    let concerns: Vec<&str> = result
        .iter()
        .flat_map(|r| r.reasons.iter())
        .map(|r| r.key.as_str())
        .collect();
    let signposts: Vec<&str> = result
        .iter()
        .flat_map(|r| r.signposts.iter())
        .map(|s| s.key.as_str())
        .collect();
    storage
        .count_not_accepted(today, &def.id, audience, &concerns, &signposts)
        .await?;
    metrics::counter!("haven_submissions_not_accepted_total", "service" => def.id.clone())
        .increment(1);
    Ok(NotAccepted {
        signposts: result.map(|r| r.signposts).unwrap_or_default(),
        reason: screening::out_of_scope_words(def, answers, today).join("\n\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn uk_today_follows_british_summer_time() {
        let just_after_midnight_bst = Utc.with_ymd_and_hms(2025, 6, 30, 23, 30, 0).unwrap();
        assert_eq!(
            uk_today(just_after_midnight_bst),
            NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()
        );
        let winter = Utc.with_ymd_and_hms(2025, 1, 31, 23, 30, 0).unwrap();
        assert_eq!(
            uk_today(winter),
            NaiveDate::from_ymd_opt(2025, 1, 31).unwrap()
        );
    }
}
