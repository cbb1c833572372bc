//! Telling the referrer that something happened on their case: after a transition whose
//! definition says `notify_referrer` (or `invite_stage`), an email is queued to the address
//! the definition's `referrer_email` names, saying only that there is news and where to look
//! (the follow-up page), or carrying a single-use link to an invited stage's form. Never case
//! content, never the receipt code. No address in the answers: the chronology says so.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Europe::London;
use haven_core::casework::ClosureChoice;
use haven_core::definition::ServiceDefinition;
use haven_core::definition::condition::lookup;
use haven_core::definition::workflow::Transition;
use haven_core::workflow::TransitionOutcome;
use serde_json::{Value, json};

use crate::crypto::SecretKey;
use crate::mail::Notice;
use crate::storage::invites::{NewInvitation, Notification, StageRecord};
use crate::storage::jobs::mail_job;
use crate::storage::referrals::Referral;
use crate::storage::triage::StatusChange;
use crate::storage::{Storage, StorageError};

/// Bytes of randomness in an invitation token (256 bits).
const TOKEN_BYTES: usize = 32;

/// The sentence of a plain notification.
const NEWS: &str = "There is news about the referral you made to us.";

/// The sentence telling the reporter a message waits for them.
const MESSAGE: &str = "We have sent you a message about the referral you made to us.";

/// A new invitation token: 256 random bits from the operating system's CSPRNG, as 64 hex
/// characters (safe in a URL path).
pub fn new_invitation_token() -> String {
    let bytes: [u8; TOKEN_BYTES] = rand::random();
    hex::encode(bytes)
}

/// Whether `text` looks like an invitation token (checked before hashing anything).
pub fn is_invitation_token(text: &str) -> bool {
    text.len() == TOKEN_BYTES * 2 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The stored form of an invitation token.
pub fn invitation_hash(key: &SecretKey, token: &str) -> String {
    key.keyed_hash(format!("invitation:{}", token.to_ascii_lowercase()).as_bytes())
}

/// The public address of an invitation link.
pub fn invitation_url(public_url: &str, service: &str, token: &str) -> String {
    format!(
        "{}{}",
        public_url.trim_end_matches('/'),
        invitation_path(service, token)
    )
}

/// The path of an invitation link.
pub fn invitation_path(service: &str, token: &str) -> String {
    format!("/services/{service}/invitations/{token}")
}

/// When a link stops working, as the referrer reads it: "5:30pm on 15 December 2026"
/// (Europe/London).
pub fn expiry_text(expires_at: DateTime<Utc>) -> String {
    expires_at
        .with_timezone(&London)
        .format("%-I:%M%P on %-d %B %Y")
        .to_string()
}

/// The reporter's follow-up page.
pub fn follow_up_url(public_url: &str) -> String {
    format!("{}/follow-up", public_url.trim_end_matches('/'))
}

/// The referrer's email address: the first of the definition's `referrer_email` keys that is
/// answered, looking in the latest stage received first.
pub fn referrer_email(
    def: &ServiceDefinition,
    referral: &Referral,
    stages: &[StageRecord],
) -> Option<String> {
    let documents: Vec<&Value> = stages
        .iter()
        .rev()
        .map(|s| &s.answers)
        .chain(std::iter::once(&referral.answers))
        .collect();
    def.referrer_email.iter().find_map(|key| {
        documents.iter().find_map(|doc| {
            lookup(doc, key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|a| a.contains('@'))
                .map(str::to_owned)
        })
    })
}

/// The email telling a newly allocated `worker` that the case is theirs: not when they
/// allocated it to themselves (`by`), nor when they already had it.
pub fn allocation_alert(
    ctx: Context<'_>,
    def: &ServiceDefinition,
    referral: &Referral,
    worker: Option<&str>,
    by: &str,
) -> Option<Value> {
    let worker = worker?;
    if worker.eq_ignore_ascii_case(by) || referral.assignee.as_deref() == Some(worker) {
        return None;
    }
    Some(staff_alert(
        ctx,
        def,
        referral,
        worker,
        "A case has been allocated to you.",
        "allocated",
    ))
}

/// The email telling the worker a case is allocated to (if any) that the referrer added
/// information to it.
pub fn new_information_alert(
    ctx: Context<'_>,
    def: &ServiceDefinition,
    referral: &Referral,
) -> Option<Value> {
    let worker = referral.assignee.as_deref()?;
    Some(staff_alert(
        ctx,
        def,
        referral,
        worker,
        "New information was added to a case allocated to you.",
        "new_information",
    ))
}

/// The email telling `to`, a member of staff, that a case needs them (`what`), with the
/// case's staff page; recorded in the chronology as `message` once sent. Never case content.
fn staff_alert(
    ctx: Context<'_>,
    def: &ServiceDefinition,
    referral: &Referral,
    to: &str,
    what: &str,
    message: &str,
) -> Value {
    let link = staff_case_url(ctx.public_url, &referral.reference);
    json!(
        Notice::staff_alert(to, def.email_name(), what, &link)
            .for_case(&referral.reference)
            .about(&referral.id, message)
    )
}

/// The case's staff page, in full: `{public_url}/staff/cases/{reference}`.
pub fn staff_case_url(public_url: &str, reference: &str) -> String {
    format!(
        "{}/staff/cases/{reference}",
        public_url.trim_end_matches('/')
    )
}

/// The email telling the service's duty address (`duty_email` of the definition) that an
/// urgent referral (`reference`, stored as `referral_id`) has just come in: the reference,
/// the service, "urgent" and the case's staff page. Nothing when the referral is not urgent
/// or the definition names no duty address.
pub fn urgent_alert(
    public_url: &str,
    def: &ServiceDefinition,
    referral_id: &str,
    reference: &str,
    urgent: bool,
) -> Option<Notice> {
    let to = def.duty_email.as_deref().filter(|_| urgent)?;
    let link = staff_case_url(public_url, reference);
    Some(
        Notice::urgent_referral(to, def.email_name(), reference, &link)
            .about(referral_id, "urgent_duty"),
    )
}

/// The team's email inbox, in full: `{public_url}/staff/inbox`.
pub fn staff_inbox_url(public_url: &str) -> String {
    format!("{}/staff/inbox", public_url.trim_end_matches('/'))
}

/// The email telling the service's duty address (`duty_email`) that an emailed referral
/// which says it is urgent has just come in: only the service, the word urgent and the
/// team's inbox (behind sign-in). Nothing when the definition names no duty address.
pub fn urgent_email_alert(public_url: &str, def: &ServiceDefinition) -> Option<Notice> {
    let to = def.duty_email.as_deref()?;
    Some(Notice::urgent_email(
        to,
        def.email_name(),
        &staff_inbox_url(public_url),
    ))
}

/// The acknowledgement to a verified sender once their emailed referral became the case
/// `reference`: the reference only, no content.
pub fn email_acknowledgement(to: &str, def: &ServiceDefinition, reference: &str) -> Value {
    json!(Notice::acknowledgement(to, def.email_name(), reference))
}

/// The email telling the reporter that staff sent them a message, to read on the follow-up
/// page (never the message itself): to the address the definition's `referrer_email` names,
/// nothing when they gave none.
pub async fn message_alert(
    ctx: Context<'_>,
    def: &ServiceDefinition,
    referral: &Referral,
) -> Result<Option<Value>, StorageError> {
    let stages = ctx.storage.referral_stages(&referral.id).await?;
    let Some(to) = referrer_email(def, referral, &stages) else {
        return Ok(None);
    };
    let notice = Notice::something_changed(
        &to,
        def.email_name(),
        MESSAGE,
        &follow_up_url(ctx.public_url),
    )
    .for_case(&referral.reference)
    .about(&referral.id, "message");
    Ok(Some(json!(notice)))
}

/// Where the links in emails point.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub storage: &'a Storage,
    pub key: &'a SecretKey,
    /// `https://haven.example.org` (settings `public_url`).
    pub public_url: &'a str,
}

/// What a transition will tell the referrer, worked out before it is stored (the token is
/// drawn here; only its hash is kept).
pub enum Planned {
    Nothing,
    Email(Value),
    Invitation {
        stage: String,
        audience: String,
        token_hash: String,
        expires_at: DateTime<Utc>,
        payload: Value,
    },
    Impossible(Value),
}

impl Planned {
    /// The storage form, for the case `referral_id`, made by `actor` at `at`.
    pub fn notification<'a>(
        &'a self,
        referral_id: &'a str,
        actor: &'a str,
        at: DateTime<Utc>,
    ) -> Notification<'a> {
        let job = |payload: &'a Value| mail_job(payload, at);
        match self {
            Planned::Nothing => Notification::Nothing,
            Planned::Email(payload) => Notification::Email(job(payload)),
            Planned::Invitation {
                stage,
                audience,
                token_hash,
                expires_at,
                payload,
            } => Notification::Invitation(NewInvitation {
                referral_id,
                stage,
                audience,
                token_hash: token_hash.clone(),
                expires_at: *expires_at,
                actor,
                at,
                email: job(payload),
            }),
            Planned::Impossible(detail) => Notification::Impossible(detail.clone()),
        }
    }
}

/// What `transition` tells the referrer of `referral` at `now`: an invitation to
/// `invite_stage`, a plain notification when `notify_referrer`, nothing otherwise; without
/// an address, that no notification was possible.
pub async fn plan(
    ctx: Context<'_>,
    def: &ServiceDefinition,
    referral: &Referral,
    transition: &Transition,
    now: DateTime<Utc>,
) -> Result<Planned, StorageError> {
    let invite_stage = transition.invite_stage.as_deref();
    if !transition.notify_referrer && invite_stage.is_none() {
        return Ok(Planned::Nothing);
    }
    let message = if invite_stage.is_some() {
        "invitation"
    } else {
        "update"
    };
    let stages = ctx.storage.referral_stages(&referral.id).await?;
    let Some(to) = referrer_email(def, referral, &stages) else {
        return Ok(Planned::Impossible(
            json!({ "message": message, "reason": "no email address in the answers" }),
        ));
    };
    let follow_up = follow_up_url(ctx.public_url);
    let Some(stage) = invite_stage else {
        let notice = Notice::something_changed(&to, def.email_name(), NEWS, &follow_up)
            .for_case(&referral.reference)
            .about(&referral.id, message);
        return Ok(Planned::Email(json!(notice)));
    };
    let token = new_invitation_token();
    let expires_at = now + Duration::days(i64::from(transition.invite_days()));
    let expires = expiry_text(expires_at);
    let link = invitation_url(ctx.public_url, &def.id, &token);
    let notice = Notice::invitation(&to, def.email_name(), &link, &expires, &follow_up)
        .for_case(&referral.reference)
        .about(&referral.id, message);
    Ok(Planned::Invitation {
        stage: stage.to_owned(),
        audience: referral.audience.clone(),
        token_hash: invitation_hash(ctx.key, &token),
        expires_at,
        payload: json!(notice),
    })
}

/// Stores what `transition` tells the referrer, on its own (for a transition already
/// stored, such as the one a received stage makes by itself).
pub async fn after_transition(
    ctx: Context<'_>,
    def: &ServiceDefinition,
    referral: &Referral,
    transition: &Transition,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let planned = plan(ctx, def, referral, transition, now).await?;
    match planned.notification(&referral.id, actor, now) {
        Notification::Nothing => Ok(()),
        Notification::Email(job) => ctx.storage.enqueue_job(&job).await.map(|_| ()),
        Notification::Invitation(new) => ctx.storage.create_invitation(&new).await.map(|_| ()),
        Notification::Impossible(detail) => {
            ctx.storage
                .record_notification(&referral.id, "notification_impossible", detail, now)
                .await
        }
    }
}

/// Makes a staff member's transition (`change`, by `role`, on a case whose facts before it
/// were `case_facts`) and stores, in the same transaction, the outcome it closes the case
/// with (if any), the transition the case then makes by itself (`on_decision`) and what it
/// tells the referrer: the follow-on's message when it has one (the one email that matters,
/// such as the detailed form's link), else the change's own. `None`: the case changed
/// first, nothing was written.
pub async fn change_status(
    ctx: Context<'_>,
    def: &ServiceDefinition,
    referral: &Referral,
    change: &StatusChange<'_>,
    closure: Option<&ClosureChoice>,
    role: &str,
    case_facts: &Value,
) -> Result<Option<Moved>, StorageError> {
    let made = TransitionOutcome {
        from: change.from.to_owned(),
        to: change.to.to_owned(),
        decision: change.decision.map(str::to_owned),
        reason: change.reason.map(str::to_owned),
        notify_referrer: false,
    };
    let mut follow = haven_core::workflow::on_decision(def, &made, case_facts);
    // A microsecond later, so the chronology lists the follow-on after the decision.
    let follow_at = change.at + Duration::microseconds(1);
    let follow_plan = match &follow {
        Some((_, transition)) => plan(ctx, def, referral, transition, follow_at).await?,
        None => Planned::Nothing,
    };
    let (planned, at) = match follow_plan {
        // The follow-on's message cannot go (no address): the case stays where the decision
        // put it, and the chronology says why the link was not sent.
        Planned::Impossible(detail) => {
            follow = None;
            (Planned::Impossible(detail), change.at)
        }
        Planned::Nothing => {
            let own = match haven_core::workflow::transition_for(def, change.from, change.to, role)
            {
                Some(t) => plan(ctx, def, referral, t, change.at).await?,
                None => Planned::Nothing,
            };
            (own, change.at)
        }
        planned => (planned, follow_at),
    };
    let follow_change = follow.as_ref().map(|(outcome, _)| StatusChange {
        referral_id: change.referral_id,
        from: &outcome.from,
        to: &outcome.to,
        decision: None,
        reason: None,
        actor: change.actor,
        at: follow_at,
        meets_sla: haven_core::workflow::meets_sla(def, &outcome.to),
    });
    let notification = planned.notification(&referral.id, change.actor, at);
    let moved = ctx
        .storage
        .change_status_notifying(change, follow_change.as_ref(), closure, &notification)
        .await?;
    let notified = !matches!(planned, Planned::Nothing);
    Ok(moved.then(|| Moved {
        status: follow_change.map_or(change.to, |f| f.to).to_owned(),
        notified,
    }))
}

/// Where a staff member's transition left the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The state the case is in now: the transition's own, or the one it then made by itself.
    pub status: String,
    /// Something was queued for the referrer (or the chronology says it could not be).
    pub notified: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let a = new_invitation_token();
        let b = new_invitation_token();
        assert!(is_invitation_token(&a));
        assert_ne!(a, b);
        assert!(!is_invitation_token("short"));
        assert!(!is_invitation_token(&"z".repeat(64)));
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(
            crate::mail::mask_address("jo@school.org.uk"),
            "j•••@school.org.uk"
        );
        assert_eq!(crate::mail::mask_address("nonsense"), "•••");
    }
}
