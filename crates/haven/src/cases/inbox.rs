//! The team's email inbox (issue 15): emailed referrals (`email_intake` items) waiting for a
//! person. Listing, opening (audited, one entry), an attachment's download (audited), the
//! answers read from the Word form and completed by a person, and the two decisions:
//! convert into a referral through intake's own code path (`intake::submit_via`: validation,
//! screening, due date and required actions exactly as a web referral; the chronology says it
//! came by email), or turn it down (rejected / not a referral) with a sealed reason.
//!
//! Every operation asks the policy: `view_inbox` to list and open, `convert_email` to save
//! answers and decide. An item of another team's service is "not found", as a case is.

use chrono::{DateTime, Utc};
use haven_core::definition::{ServiceDefinition, Stage, StageAccess};
use haven_email::docx::DocxLimits;
use haven_email::form::{Unread, read_form};
use haven_email::message::{self, Limits, Parsed};
use serde_json::Value;

use super::{CaseError, Cases};
use crate::access::Staff;
use crate::intake::{self, Channel, FromEmail, Outcome, Stored, Submission};
use crate::intake_email::intake_hash_key;
use crate::policy::{Action, CaseScope, Decision};
use crate::storage::audit::AuditEntry;
use crate::storage::email_intake::{Decided, EmailIntakeItem, InboxRow, IntakeOutcome, Rejection};

/// Most items the inbox lists at once.
pub const INBOX_LIMIT: u32 = 200;

/// The inbox of the teams `staff` works on, new urgent items first, then newest first.
/// One audit entry names the items listed (ids only).
pub async fn list(
    cases: &Cases<'_>,
    staff: &Staff,
    now: DateTime<Utc>,
) -> Result<Vec<InboxRow>, CaseError> {
    refuse(cases.policy.decide(staff, Action::ViewInbox, None))?;
    let teams: Option<Vec<String>> = if cases.policy.all_teams(staff.role) {
        None
    } else {
        Some(staff.team.iter().cloned().collect())
    };
    let rows = cases
        .storage
        .email_inbox(teams.as_deref(), INBOX_LIMIT)
        .await?;
    // Only items of services this person may open (a per-service policy may say otherwise).
    let rows: Vec<InboxRow> = rows
        .into_iter()
        .filter(|r| match (&r.service, &r.team) {
            (Some(service), Some(team)) => cases
                .policy
                .decide(staff, Action::ViewInbox, Some(CaseScope { service, team }))
                .allowed(),
            _ => false,
        })
        .collect();
    let shown: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut entry = AuditEntry::new(now, staff.actor(), "email_inbox.listed", "email_intake", "");
    entry.record_id = None;
    entry.reason = Some(format!("shown={}", shown.join(",")));
    cases.storage.append_audit(&entry).await?;
    Ok(rows)
}

/// An opened item: the stored item, its service, and what its Word form(s) said.
#[derive(Debug)]
pub struct Opened {
    pub item: EmailIntakeItem,
    pub def: ServiceDefinition,
    /// The stage a conversion makes (the service's first public stage), and its audience.
    pub stage: Option<(String, String)>,
    /// The answers: as a person last saved them, else as read from the Word form.
    pub answers: Value,
    /// Questions the Word form did not answer (empty when no form was read).
    pub unread: Vec<Unread>,
    /// Whether a Word form was read from the attachments.
    pub form_read: bool,
    /// Why an attached Word form could not be read, in words.
    pub form_problems: Vec<String>,
}

/// Opens the item `id` for `staff` (`view_inbox` on its service and team), audited as
/// `email_intake.opened`.
pub async fn open(
    cases: &Cases<'_>,
    staff: &Staff,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Opened, CaseError> {
    let (item, def) = load(cases, staff, id, Action::ViewInbox).await?;
    let entry = AuditEntry::new(
        now,
        staff.actor(),
        "email_intake.opened",
        "email_intake",
        id,
    );
    cases.storage.append_audit(&entry).await?;
    Ok(read(cases, item, def, now))
}

/// Opens the item `id` to complete and decide it (`convert_email`), audited as
/// `email_intake.opened`.
pub async fn open_to_decide(
    cases: &Cases<'_>,
    staff: &Staff,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Opened, CaseError> {
    let (item, def) = load(cases, staff, id, Action::ConvertEmail).await?;
    let entry = AuditEntry::new(
        now,
        staff.actor(),
        "email_intake.opened",
        "email_intake",
        id,
    );
    cases.storage.append_audit(&entry).await?;
    Ok(read(cases, item, def, now))
}

/// The attachment `index` of item `id`: its safe name, sniffed type and bytes, audited as
/// `email_intake.exported` (reason `attachment:<index>`).
pub async fn attachment(
    cases: &Cases<'_>,
    staff: &Staff,
    id: &str,
    index: usize,
    now: DateTime<Utc>,
) -> Result<(String, &'static str, Vec<u8>), CaseError> {
    let (item, _) = load(cases, staff, id, Action::ViewInbox).await?;
    let parsed = reparse(cases, &item);
    let Some(found) = parsed.item().and_then(|i| i.attachments.get(index)) else {
        return Err(CaseError::NotFound);
    };
    let entry = AuditEntry {
        reason: Some(format!("attachment:{index}")),
        ..AuditEntry::new(
            now,
            staff.actor(),
            "email_intake.exported",
            "email_intake",
            id,
        )
    };
    cases.storage.append_audit(&entry).await?;
    Ok((
        found.file_name.clone(),
        super::attachments::download_type(&found.media_type),
        found.bytes.clone(),
    ))
}

/// Saves the answers a person completed for a new item (`convert_email`).
pub async fn save_answers(
    cases: &Cases<'_>,
    staff: &Staff,
    id: &str,
    answers: &Value,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let (item, _) = load(cases, staff, id, Action::ConvertEmail).await?;
    still_new(&item)?;
    match cases
        .storage
        .save_email_answers(id, answers, &staff.actor(), now)
        .await?
    {
        Decided::Done => Ok(()),
        Decided::NotNew => Err(already_decided()),
    }
}

/// What a conversion made.
#[derive(Debug, Clone)]
pub struct Converted {
    pub reference: String,
    pub urgent: bool,
    /// Whether the sender was sent an acknowledgement (verified senders only).
    pub acknowledged: bool,
}

/// Converts a new item into a referral of its service with `answers` (`convert_email`):
/// validated, screened, given its due date and required actions by intake's own code path,
/// counted as received when the email was; the sender acknowledged (the reference only) when
/// verified. Answers that fail validation are [`CaseError::Invalid`] naming each question;
/// answers screening puts out of scope are a conflict `out_of_scope` (mark it as not a
/// referral, or correct them).
pub async fn convert(
    cases: &Cases<'_>,
    staff: &Staff,
    id: &str,
    answers: &Value,
    now: DateTime<Utc>,
) -> Result<Converted, CaseError> {
    let (item, def) = load(cases, staff, id, Action::ConvertEmail).await?;
    still_new(&item)?;
    let Some((stage, audience)) = conversion_stage(&def) else {
        return Err(CaseError::Conflict {
            code: "no_public_stage".to_owned(),
            message: "This service has no referral form an email can become.".to_owned(),
        });
    };
    let actor = staff.actor();
    let sender = item
        .item
        .as_ref()
        .and_then(|i| i.pointer("/sender/address"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|_| item.sender_verified);
    let make_ack = |reference: &str| -> Value {
        // Only called when there is a verified sender.
        crate::notify::email_acknowledgement(sender.as_deref().unwrap_or_default(), &def, reference)
    };
    let acknowledge: Option<&(dyn Fn(&str) -> Value + Sync)> = match sender {
        Some(_) => Some(&make_ack),
        None => None,
    };
    let mut answers = answers.clone();
    if let Some(stage_def) = def.stage(&stage) {
        attach_files(cases, &item, &def, stage_def, &mut answers, now).await?;
    }
    let submission = Submission {
        service: def.id.clone(),
        stage,
        audience,
        answers,
        files: None,
    };
    let stored = intake::submit_via(
        cases.storage,
        cases.registry,
        cases.key,
        Channel::Email,
        &submission,
        cases.public_url,
        item.received_at,
        Some(FromEmail {
            item_id: id,
            actor: &actor,
            at: now,
            acknowledge,
        }),
    )
    .await
    .map_err(|e| match e {
        intake::IntakeError::Invalid(fields) => CaseError::Invalid(fields),
        intake::IntakeError::Storage(e) => CaseError::Storage(e),
        other => CaseError::Conflict {
            code: "not_converted".to_owned(),
            message: format!("It could not be converted: {other}."),
        },
    })?;
    match stored {
        Stored::AlreadyDecided => Err(already_decided()),
        Stored::Outcome(Outcome::NotAccepted(refused)) => Err(CaseError::Conflict {
            code: "out_of_scope".to_owned(),
            message: format!(
                "Screening says this referral is not one the service takes. {} Correct the answers, or mark it as not a referral.",
                refused.reason
            ),
        }),
        Stored::Outcome(Outcome::Accepted(accepted)) => Ok(Converted {
            reference: accepted.reference,
            urgent: accepted.urgent,
            acknowledged: acknowledge.is_some(),
        }),
    }
}

/// The prefix of a file answer naming one of the email's attachments (`email:2`): the
/// completion form's choice, replaced at conversion by the id of an upload made from it.
pub const EMAIL_FILE: &str = "email:";

/// How long an upload made from an email attachment waits for its conversion.
const UPLOAD_MINUTES: i64 = 60;

/// Every file answer naming an email attachment (`email:N`) becomes an upload of the
/// service for that question (checked against the question's types and size as any upload),
/// which the conversion's own file check then claims into the case.
async fn attach_files(
    cases: &Cases<'_>,
    item: &EmailIntakeItem,
    def: &ServiceDefinition,
    stage: &Stage,
    answers: &mut Value,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let file_questions: Vec<&haven_core::definition::Question> = stage
        .questions()
        .filter(|(_, q)| q.kind == haven_core::definition::QuestionKind::File)
        .map(|(_, q)| q)
        .collect();
    let mut parsed: Option<Parsed> = None;
    for q in file_questions {
        let Some(value) = haven_core::definition::condition::lookup(answers, &q.key).cloned()
        else {
            continue;
        };
        let many = value.is_array();
        let chosen: Vec<String> = match &value {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Value::String(s) => vec![s.clone()],
            _ => continue,
        };
        if !chosen.iter().any(|c| c.starts_with(EMAIL_FILE)) {
            continue;
        }
        let parsed = parsed.get_or_insert_with(|| reparse(cases, item));
        let attachments = parsed
            .item()
            .map(|i| i.attachments.as_slice())
            .unwrap_or(&[]);
        let mut ids = Vec::new();
        for c in chosen {
            let Some(index) = c.strip_prefix(EMAIL_FILE) else {
                ids.push(c);
                continue;
            };
            let found = index
                .parse::<usize>()
                .ok()
                .and_then(|i| attachments.get(i))
                .ok_or_else(|| {
                    CaseError::invalid(&q.key, "Choose one of the email's attachments")
                })?;
            if !q.allowed_types.is_empty() && !q.allowed_types.contains(&found.media_type) {
                return Err(CaseError::invalid(
                    &q.key,
                    format!(
                        "{} is not a type of file this question takes",
                        found.file_name
                    ),
                ));
            }
            if q.max_bytes.is_some_and(|max| found.size > max) {
                return Err(CaseError::invalid(
                    &q.key,
                    format!("{} is larger than this question takes", found.file_name),
                ));
            }
            let id = format!("att_{}", crate::crypto::new_id());
            let mut writer = cases
                .storage
                .begin_file(&crate::storage::attachments::NewFile {
                    id: id.clone(),
                    owner: crate::storage::attachments::Owner::Upload {
                        service: &def.id,
                        expires_at: now + chrono::Duration::minutes(UPLOAD_MINUTES),
                    },
                    question: &q.key,
                    filename: &found.file_name,
                    media_type: &found.media_type,
                })
                .await?;
            cases.storage.write_file(&mut writer, &found.bytes).await?;
            cases.storage.finish_file(writer).await?;
            ids.push(id);
        }
        let new_value = if many {
            Value::Array(ids.into_iter().map(Value::String).collect())
        } else {
            ids.into_iter().next().map_or(Value::Null, Value::String)
        };
        haven_pages::apply_patch(answers, &serde_json::json!({ q.key.clone(): new_value }));
    }
    Ok(())
}

/// Turns a new item down (`convert_email`) with a reason, sealed and audited.
pub async fn reject(
    cases: &Cases<'_>,
    staff: &Staff,
    id: &str,
    how: Option<Rejection>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let (item, _) = load(cases, staff, id, Action::ConvertEmail).await?;
    let Some(how) = how else {
        return Err(CaseError::invalid("how", "Select what this email is"));
    };
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CaseError::invalid("reason", "Enter why"));
    }
    if reason.chars().count() > 2000 {
        return Err(CaseError::invalid(
            "reason",
            "The reason must be 2,000 characters or fewer",
        ));
    }
    if item.status != "new" {
        return Err(already_decided());
    }
    match cases
        .storage
        .reject_email_intake(id, how, reason, &staff.actor(), now)
        .await?
    {
        Decided::Done => Ok(()),
        Decided::NotNew => Err(already_decided()),
    }
}

/// The stage an email becomes: the service's first public stage, for its first audience.
pub fn conversion_stage(def: &ServiceDefinition) -> Option<(String, String)> {
    let stage: &Stage = def
        .stages
        .iter()
        .find(|s| s.access == StageAccess::Public)?;
    let audience = stage.audiences.first()?;
    Some((stage.key.clone(), audience.clone()))
}

/// The item and its service, if `staff` may do `action` on it; otherwise not found (another
/// team's, or no service) or forbidden.
async fn load(
    cases: &Cases<'_>,
    staff: &Staff,
    id: &str,
    action: Action,
) -> Result<(EmailIntakeItem, ServiceDefinition), CaseError> {
    // Item ids are 32 hex characters: anything else is not one (and never reaches SQL).
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(CaseError::NotFound);
    }
    let item = cases
        .storage
        .email_intake_item(id)
        .await?
        .ok_or(CaseError::NotFound)?;
    let (Some(service), Some(team)) = (item.service.clone(), item.team.clone()) else {
        return Err(CaseError::NotFound);
    };
    let def = cases
        .registry
        .get(&service)
        .ok_or(CaseError::NotFound)?
        .clone();
    refuse(cases.policy.decide(
        staff,
        action,
        Some(CaseScope {
            service: &service,
            team: &team,
        }),
    ))?;
    Ok((item, def))
}

fn refuse(decision: Decision) -> Result<(), CaseError> {
    match decision {
        Decision::Allow => Ok(()),
        Decision::NotFound => Err(CaseError::NotFound),
        Decision::Forbidden => Err(CaseError::Forbidden(
            "Your role may not do this with the team's emailed referrals".to_owned(),
        )),
    }
}

fn still_new(item: &EmailIntakeItem) -> Result<(), CaseError> {
    if item.status != "new" {
        return Err(already_decided());
    }
    if item.outcome != IntakeOutcome::Draft {
        return Err(CaseError::Conflict {
            code: "quarantined".to_owned(),
            message: "This message was set aside unread, so it cannot become a referral. Reject it, or mark it as not a referral.".to_owned(),
        });
    }
    Ok(())
}

fn already_decided() -> CaseError {
    CaseError::Conflict {
        code: "already_decided".to_owned(),
        message: "Someone has already converted or rejected this email.".to_owned(),
    }
}

/// The raw message read again (attachments are only kept inside the sealed original).
fn reparse(cases: &Cases<'_>, item: &EmailIntakeItem) -> Parsed {
    let key = intake_hash_key(cases.key);
    message::parse(&item.original, key.as_slice(), &Limits::default())
}

/// What a person sees of an item: the answers saved, or read from its Word forms.
fn read(
    cases: &Cases<'_>,
    item: EmailIntakeItem,
    def: ServiceDefinition,
    now: DateTime<Utc>,
) -> Opened {
    let stage = conversion_stage(&def);
    let today = intake::uk_today(now);
    let mut answers = Value::Object(serde_json::Map::new());
    let mut unread = Vec::new();
    let mut form_read = false;
    let mut form_problems = Vec::new();
    if let Some(stage_def) = stage.as_ref().and_then(|(key, _)| def.stage(key))
        && item.outcome == IntakeOutcome::Draft
    {
        let parsed = reparse(cases, &item);
        for attachment in parsed
            .item()
            .map(|i| i.attachments.as_slice())
            .unwrap_or(&[])
        {
            if !is_word_form(&attachment.file_name, &attachment.media_type) {
                continue;
            }
            match read_form(&attachment.bytes, stage_def, today, &DocxLimits::default()) {
                // The first form read gives the answers; a second one is only listed.
                Ok(reading) if !form_read => {
                    answers = reading.answers;
                    unread = reading.unread;
                    form_read = true;
                }
                Ok(_) => {}
                Err(q) => form_problems.push(format!("{}: {}", attachment.file_name, q.reason)),
            }
        }
    }
    let answers = item.answers.clone().unwrap_or(answers);
    Opened {
        item,
        def,
        stage,
        answers,
        unread,
        form_read,
        form_problems,
    }
}

fn is_word_form(name: &str, media_type: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".docx")
        || lower.ends_with(".docm")
        || media_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
}
