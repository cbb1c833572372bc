//! Email intake items (`email_intake`, issue 15): messages taken in from the secure intake
//! addresses, waiting for a person to convert them into a referral or reject them.
//!
//! Nothing of a message is stored in plaintext: the raw message (`original`), the parsed item
//! as JSON (`item`) and the quarantine reason (`reason`) are sealed, each under a data key of
//! its own wrapped under the master key (there is no case key yet: the item is not a case).
//! What stays readable is what the inbox and exactly-once need: ids, service and team, flags,
//! keyed hashes and timestamps.
//!
//! Exactly once, in one write transaction (and safe between two servers: the unique keys
//! decide a race):
//! - the same content (keyed `content_hash`) again is [`IntakeStored::Duplicate`]: nothing is
//!   stored;
//! - a Message-ID (keyed `message_id_hash`) that the same service already has for other
//!   content is [`IntakeStored::MessageIdReused`]: nothing is stored, and the caller stores
//!   it again quarantined with no Message-ID hash (so the first message keeps it).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Any, Row, Transaction, query};
use tracing::instrument;

use super::audit::{AuditEntry, append_in};
use super::jobs::mail_job;
use super::mailbox_uids::{MailboxUid, take_in};
use super::referrals::{NewReferral, insert_referrals};
use super::{Storage, StorageError, parse_timestamp, timestamp};
use crate::crypto::new_id;

const TABLE: &str = "email_intake";

/// What became of a message: read into an item, or set aside with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Read: an item waiting in its team's inbox.
    Draft,
    /// Set aside: the reason says why.
    Quarantined,
}

impl IntakeOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            IntakeOutcome::Draft => "draft",
            IntakeOutcome::Quarantined => "quarantined",
        }
    }

    fn parse(text: &str) -> Result<Self, StorageError> {
        match text {
            "draft" => Ok(IntakeOutcome::Draft),
            "quarantined" => Ok(IntakeOutcome::Quarantined),
            other => Err(StorageError::Corrupt {
                column: "outcome",
                reason: format!("unknown outcome {other:?}"),
            }),
        }
    }
}

/// A message to store.
#[derive(Debug)]
pub struct NewEmailIntake<'a> {
    /// The service whose intake address received it; `None` for none.
    pub service: Option<&'a str>,
    pub team: Option<&'a str>,
    pub received_at: DateTime<Utc>,
    pub outcome: IntakeOutcome,
    /// Why it was quarantined (sealed).
    pub reason: Option<&'a str>,
    /// Keyed hash of the Message-ID (none when the message had none, or reused one).
    pub message_id_hash: Option<&'a str>,
    /// Keyed hash of the content.
    pub content_hash: &'a str,
    pub urgent: bool,
    pub sender_verified: bool,
    /// The raw message as received (sealed).
    pub original: &'a [u8],
    /// The parsed item (sealed); `None` when it could not be read.
    pub item: Option<&'a Value>,
    /// Who took it in, for the audit log (`cli`, `system`).
    pub actor: &'a str,
    /// An email to queue with the item, in the same transaction (the duty address's alert
    /// of an urgent message): a mail job payload. Never queued for a duplicate.
    pub alert: Option<&'a Value>,
}

/// What [`Storage::store_email_intake`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeStored {
    /// Stored as a new item with this id.
    Stored(String),
    /// The same content was already taken in (as the item with this id): nothing stored.
    Duplicate(String),
    /// The service already has other content under this Message-ID: nothing stored.
    MessageIdReused,
}

/// A stored item, its sealed values opened.
#[derive(Debug, Clone)]
pub struct EmailIntakeItem {
    pub id: String,
    pub service: Option<String>,
    pub team: Option<String>,
    pub received_at: DateTime<Utc>,
    pub outcome: IntakeOutcome,
    pub reason: Option<String>,
    pub message_id_hash: Option<String>,
    pub content_hash: String,
    pub urgent: bool,
    pub sender_verified: bool,
    pub original: Vec<u8>,
    pub item: Option<Value>,
    /// `new`, `converted` or `rejected`.
    pub status: String,
    /// The answers as a person last saved them on the inbox's form (sealed).
    pub answers: Option<Value>,
    /// The case it became.
    pub referral_id: Option<String>,
    /// How it was turned down: `rejected` or `not_a_referral`.
    pub rejected_as: Option<String>,
    /// Why it was turned down (sealed).
    pub decision_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// One row of a team's inbox: what the list shows (the parsed item opened for the sender
/// and subject).
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub id: String,
    pub service: Option<String>,
    pub team: Option<String>,
    pub received_at: DateTime<Utc>,
    pub outcome: IntakeOutcome,
    pub urgent: bool,
    pub sender_verified: bool,
    pub status: String,
    pub rejected_as: Option<String>,
    pub item: Option<Value>,
}

/// How a person turned an item down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// A referral the team will not take from this message.
    Rejected,
    /// Not a referral at all (a question, a reply, spam).
    NotAReferral,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Rejected => "rejected",
            Rejection::NotAReferral => "not_a_referral",
        }
    }
}

/// What a decision on an item found: done, or the item was no longer new (someone else
/// decided first) or is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    Done,
    NotNew,
}

impl Storage {
    /// Stores one message taken in, exactly once (see the module docs), with its audit entry
    /// (`email_intake.received`, or `email_intake.duplicate` naming the item already held).
    #[instrument(skip_all, err)]
    pub async fn store_email_intake(
        &self,
        new: &NewEmailIntake<'_>,
    ) -> Result<IntakeStored, StorageError> {
        match self.store_email_intake_marked(new, None).await? {
            Some(stored) => Ok(stored),
            // Only a mailbox message can have been taken already.
            None => Err(StorageError::Conflict),
        }
    }

    /// [`Self::store_email_intake`] for a message of a mailbox: its UID is recorded in the
    /// same transaction as the item (or the duplicate's audit entry), so it is recorded only
    /// once the message is stored. `None` when the UID was already taken (by another
    /// server, or before a restart): nothing is stored. For [`IntakeStored::MessageIdReused`]
    /// nothing is recorded either: the caller stores the message again, quarantined.
    #[instrument(skip_all, err)]
    pub async fn store_email_intake_marked(
        &self,
        new: &NewEmailIntake<'_>,
        mark: Option<&MailboxUid<'_>>,
    ) -> Result<Option<IntakeStored>, StorageError> {
        let id = new_id();
        let original = self.seal(TABLE, "original", &id, new.original)?;
        let item = match new.item {
            Some(value) => Some(self.seal_json(TABLE, "item", &id, value)?),
            None => None,
        };
        let reason = match new.reason {
            Some(text) => Some(self.seal_text(TABLE, "reason", &id, text)?),
            None => None,
        };
        let taken_at = timestamp(new.received_at);
        let mut tx = self.begin_write().await?;
        // The UID first: a second server waits here for the first's transaction.
        if let Some(mark) = mark
            && !take_in(&mut tx, mark, &taken_at).await?
        {
            return Ok(None);
        }
        if let Some(found) = self.intake_already_held(&mut tx, new).await? {
            if let IntakeStored::Duplicate(existing) = &found {
                let entry = AuditEntry {
                    reason: Some("duplicate".to_owned()),
                    ..AuditEntry::new(
                        new.received_at,
                        new.actor,
                        "email_intake.duplicate",
                        TABLE,
                        existing,
                    )
                };
                append_in(&mut tx, &self.audit, &entry).await?;
                tx.commit().await?;
            }
            return Ok(Some(found));
        }
        let at = taken_at.clone();
        let inserted = query(
            "INSERT INTO email_intake (id, service, team, received_at, outcome, reason, \
             message_id_hash, content_hash, urgent, sender_verified, original, item, status, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'new', $4, $4)",
        )
        .bind(id.clone())
        .bind(new.service.map(str::to_owned))
        .bind(new.team.map(str::to_owned))
        .bind(at)
        .bind(new.outcome.as_str())
        .bind(reason)
        .bind(new.message_id_hash.map(str::to_owned))
        .bind(new.content_hash.to_owned())
        .bind(i64::from(new.urgent))
        .bind(i64::from(new.sender_verified))
        .bind(original)
        .bind(item)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) => {
                // Another server took the same message between the check and the insert:
                // its row decides what this one is.
                let err = StorageError::from_write(e);
                drop(tx);
                if matches!(err, StorageError::Conflict) {
                    let mut tx = self.begin_write().await?;
                    if let Some(mark) = mark
                        && !take_in(&mut tx, mark, &taken_at).await?
                    {
                        return Ok(None);
                    }
                    let found = self.intake_already_held(&mut tx, new).await?;
                    if let Some(found) = found {
                        if matches!(found, IntakeStored::Duplicate(_)) {
                            tx.commit().await?;
                        }
                        return Ok(Some(found));
                    }
                }
                return Err(err);
            }
        }
        let entry = AuditEntry {
            reason: Some(new.outcome.as_str().to_owned()),
            ..AuditEntry::new(
                new.received_at,
                new.actor,
                "email_intake.received",
                TABLE,
                &id,
            )
        };
        append_in(&mut tx, &self.audit, &entry).await?;
        if let Some(payload) = new.alert {
            self.insert_job(&mut tx, &mail_job(payload, new.received_at))
                .await?;
        }
        tx.commit().await?;
        Ok(Some(IntakeStored::Stored(id)))
    }

    /// A duplicate of `new`'s content, or its Message-ID held by other content.
    async fn intake_already_held(
        &self,
        tx: &mut Transaction<'static, Any>,
        new: &NewEmailIntake<'_>,
    ) -> Result<Option<IntakeStored>, StorageError> {
        let same = query("SELECT id FROM email_intake WHERE content_hash = $1")
            .bind(new.content_hash.to_owned())
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(row) = same {
            return Ok(Some(IntakeStored::Duplicate(row.try_get(0)?)));
        }
        if let Some(hash) = new.message_id_hash {
            // Two statements, not COALESCE, so the unique index answers both.
            let reused = match new.service {
                Some(service) => {
                    query(
                        "SELECT id FROM email_intake WHERE service = $1 \
                         AND message_id_hash = $2",
                    )
                    .bind(service.to_owned())
                    .bind(hash.to_owned())
                    .fetch_optional(&mut **tx)
                    .await?
                }
                None => {
                    query(
                        "SELECT id FROM email_intake WHERE service IS NULL \
                         AND message_id_hash = $1",
                    )
                    .bind(hash.to_owned())
                    .fetch_optional(&mut **tx)
                    .await?
                }
            };
            if reused.is_some() {
                return Ok(Some(IntakeStored::MessageIdReused));
            }
        }
        Ok(None)
    }

    /// One stored item, its sealed values opened.
    #[instrument(skip_all, err)]
    pub async fn email_intake_item(
        &self,
        id: &str,
    ) -> Result<Option<EmailIntakeItem>, StorageError> {
        let row = query(
            "SELECT id, service, team, received_at, outcome, reason, message_id_hash, \
             content_hash, urgent, sender_verified, original, item, status, answers, \
             referral_id, rejected_as, decision_reason, decided_by, decided_at \
             FROM email_intake WHERE id = $1 AND destroyed_at IS NULL",
        )
        .bind(id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: String = row.try_get("id")?;
        let reason: Option<Vec<u8>> = row.try_get("reason")?;
        let reason = match reason {
            Some(sealed) => Some(self.open_text(TABLE, "reason", &id, &sealed)?),
            None => None,
        };
        let original: Vec<u8> = row.try_get("original")?;
        let original = self.open(TABLE, "original", &id, &original)?.to_vec();
        let item: Option<Vec<u8>> = row.try_get("item")?;
        let item = match item {
            Some(sealed) => Some(self.open_json(TABLE, "item", &id, &sealed)?),
            None => None,
        };
        let received_at: String = row.try_get("received_at")?;
        let outcome: String = row.try_get("outcome")?;
        let answers: Option<Vec<u8>> = row.try_get("answers")?;
        let answers = match answers {
            Some(sealed) => Some(self.open_json(TABLE, "answers", &id, &sealed)?),
            None => None,
        };
        let decision_reason: Option<Vec<u8>> = row.try_get("decision_reason")?;
        let decision_reason = match decision_reason {
            Some(sealed) => Some(self.open_text(TABLE, "decision_reason", &id, &sealed)?),
            None => None,
        };
        let decided_at: Option<String> = row.try_get("decided_at")?;
        let decided_at = decided_at
            .map(|t| parse_timestamp("decided_at", &t))
            .transpose()?;
        Ok(Some(EmailIntakeItem {
            answers,
            referral_id: row.try_get("referral_id")?,
            rejected_as: row.try_get("rejected_as")?,
            decision_reason,
            decided_by: row.try_get("decided_by")?,
            decided_at,
            service: row.try_get("service")?,
            team: row.try_get("team")?,
            received_at: parse_timestamp("received_at", &received_at)?,
            outcome: IntakeOutcome::parse(&outcome)?,
            reason,
            message_id_hash: row.try_get("message_id_hash")?,
            content_hash: row.try_get("content_hash")?,
            urgent: row.try_get::<i64, _>("urgent")? != 0,
            sender_verified: row.try_get::<i64, _>("sender_verified")? != 0,
            original,
            item,
            status: row.try_get("status")?,
            id,
        }))
    }

    /// Every stored item's id, oldest first (tests and the coming inbox).
    #[instrument(skip_all, err)]
    pub async fn email_intake_ids(&self) -> Result<Vec<String>, StorageError> {
        let rows = query("SELECT id FROM email_intake ORDER BY received_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(StorageError::from))
            .collect()
    }
}

impl Storage {
    /// The inbox of `teams` (`None`: every team's): items addressed to a service, the new
    /// urgent ones first, then newest first; at most `limit`. Each row's parsed item is
    /// opened (sender and subject); callers list only rows the person may see.
    #[instrument(skip_all, err)]
    pub async fn email_inbox(
        &self,
        teams: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<InboxRow>, StorageError> {
        let rows = query(
            "SELECT id, service, team, received_at, outcome, urgent, sender_verified, status, \
             rejected_as, item FROM email_intake WHERE team IS NOT NULL \
             AND destroyed_at IS NULL \
             ORDER BY CASE WHEN status = 'new' AND urgent = 1 THEN 0 ELSE 1 END, \
             received_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for row in rows {
            let team: Option<String> = row.try_get("team")?;
            if let Some(teams) = teams
                && !team.as_ref().is_some_and(|t| teams.contains(t))
            {
                continue;
            }
            if out.len() >= limit as usize {
                break;
            }
            let id: String = row.try_get("id")?;
            let item: Option<Vec<u8>> = row.try_get("item")?;
            let item = match item {
                Some(sealed) => Some(self.open_json(TABLE, "item", &id, &sealed)?),
                None => None,
            };
            let received_at: String = row.try_get("received_at")?;
            let outcome: String = row.try_get("outcome")?;
            out.push(InboxRow {
                service: row.try_get("service")?,
                team,
                received_at: parse_timestamp("received_at", &received_at)?,
                outcome: IntakeOutcome::parse(&outcome)?,
                urgent: row.try_get::<i64, _>("urgent")? != 0,
                sender_verified: row.try_get::<i64, _>("sender_verified")? != 0,
                status: row.try_get("status")?,
                rejected_as: row.try_get("rejected_as")?,
                item,
                id,
            });
        }
        Ok(out)
    }

    /// Saves the answers a person completed for a new item (sealed); `false` when the item
    /// is no longer new.
    #[instrument(skip_all, err)]
    pub async fn save_email_answers(
        &self,
        id: &str,
        answers: &Value,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Decided, StorageError> {
        let sealed = self.seal_json(TABLE, "answers", id, answers)?;
        let mut tx = self.begin_write().await?;
        let done = query(
            "UPDATE email_intake SET answers = $1, updated_at = $2 \
             WHERE id = $3 AND status = 'new' AND outcome = 'draft'",
        )
        .bind(sealed)
        .bind(timestamp(at))
        .bind(id.to_owned())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(Decided::NotNew);
        }
        let entry = AuditEntry::new(at, actor, "email_intake.answers_saved", TABLE, id);
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(Decided::Done)
    }

    /// Turns a new item down (`rejected` or not a referral) with a reason (sealed), audited
    /// `email_intake.rejected` (reason: how). Only a new item can be turned down.
    #[instrument(skip_all, err)]
    pub async fn reject_email_intake(
        &self,
        id: &str,
        how: Rejection,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Decided, StorageError> {
        let sealed = self.seal_text(TABLE, "decision_reason", id, reason)?;
        let mut tx = self.begin_write().await?;
        let at_text = timestamp(at);
        let done = query(
            "UPDATE email_intake SET status = 'rejected', rejected_as = $1, \
             decision_reason = $2, decided_by = $3, decided_at = $4, updated_at = $4 \
             WHERE id = $5 AND status = 'new'",
        )
        .bind(how.as_str())
        .bind(sealed)
        .bind(actor.to_owned())
        .bind(at_text)
        .bind(id.to_owned())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(Decided::NotNew);
        }
        let entry = AuditEntry {
            reason: Some(how.as_str().to_owned()),
            ..AuditEntry::new(at, actor, "email_intake.rejected", TABLE, id)
        };
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(Decided::Done)
    }

    /// Converts a new item into the referral `new`, in one transaction: the referral as any
    /// new one (its `received` event, audit entry, counts and urgent alert), then a
    /// `received_by_email` chronology event, the item marked converted naming the case, an
    /// acknowledgement email when given (`ack`, a mail job payload), and the audit entry
    /// `email_intake.converted`. [`Decided::NotNew`] (nothing written) when the item was no
    /// longer new; [`StorageError::Conflict`] when the reference was taken (draw another).
    #[instrument(skip_all, err)]
    pub async fn convert_email_intake(
        &self,
        id: &str,
        new: &NewReferral<'_>,
        ack: Option<&Value>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Decided, StorageError> {
        let (row, _) = self.sealed_row(new)?;
        let mut tx = self.begin_write().await?;
        let at_text = timestamp(at);
        let done = query(
            "UPDATE email_intake SET status = 'converted', referral_id = $1, decided_by = $2, \
             decided_at = $3, updated_at = $3 \
             WHERE id = $4 AND status = 'new' AND outcome = 'draft'",
        )
        .bind(new.id.clone())
        .bind(actor.to_owned())
        .bind(at_text.clone())
        .bind(id.to_owned())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(Decided::NotNew);
        }
        insert_referrals(&mut tx, &self.audit, &[&row]).await?;
        query(
            "INSERT INTO referral_events (referral_id, at, actor, kind, from_status, to_status) \
             VALUES ($1, $2, $3, 'received_by_email', NULL, NULL)",
        )
        .bind(new.id.clone())
        .bind(timestamp(new.received_at))
        .bind(actor.to_owned())
        .execute(&mut *tx)
        .await?;
        if let Some(payload) = ack {
            self.insert_job(&mut tx, &mail_job(payload, at)).await?;
        }
        let entry = AuditEntry {
            reason: Some(format!("referral:{}", new.id)),
            ..AuditEntry::new(at, actor, "email_intake.converted", TABLE, id)
        };
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(Decided::Done)
    }
}

/// An email that never became a case and still holds its content: what the inbox's
/// retention rule (`haven_core::retention::InboxRetention`) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRetentionCandidate {
    pub id: String,
    /// The service it was addressed to (`None`: it matched none).
    pub service: Option<String>,
    /// Quarantined when it arrived (and never decided on).
    pub quarantined: bool,
    pub received_at: DateTime<Utc>,
    /// When it was turned down or marked as not a referral; `None` while undecided.
    pub decided_at: Option<DateTime<Utc>>,
}

impl Storage {
    /// Every email not yet destroyed that was turned down, or quarantined and never decided
    /// on, oldest first. Emails waiting for a decision and converted ones are not listed:
    /// the first are kept until a person decides, the second go with their case.
    #[instrument(skip_all, err)]
    pub async fn inbox_retention_candidates(
        &self,
    ) -> Result<Vec<InboxRetentionCandidate>, StorageError> {
        let rows = query(
            "SELECT id, service, outcome, status, received_at, decided_at FROM email_intake \
             WHERE destroyed_at IS NULL \
             AND (status = 'rejected' OR (status = 'new' AND outcome = 'quarantined')) \
             ORDER BY received_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let received_at: String = row.try_get("received_at")?;
                let decided_at: Option<String> = row.try_get("decided_at")?;
                let status: String = row.try_get("status")?;
                let outcome: String = row.try_get("outcome")?;
                Ok(InboxRetentionCandidate {
                    id: row.try_get("id")?,
                    service: row.try_get("service")?,
                    quarantined: status == "new" && outcome == "quarantined",
                    received_at: parse_timestamp("received_at", &received_at)?,
                    decided_at: decided_at
                        .map(|t| parse_timestamp("decided_at", &t))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Destroys an email's content (the sealed original, what was read from it, the
    /// answers, the reasons) and records `entry` in the same transaction. The row stays,
    /// holding only its keyed hashes, so the same message delivered again is still a
    /// duplicate. `false` (nothing written) when it was already destroyed or has since
    /// become a case.
    #[instrument(skip_all, err)]
    pub async fn destroy_email_intake(
        &self,
        id: &str,
        entry: &AuditEntry,
    ) -> Result<bool, StorageError> {
        let at = timestamp(entry.at);
        let mut tx = self.begin_write().await?;
        // `original` is NOT NULL: an empty value holds nothing (the key rotation skips it).
        let done = query(
            "UPDATE email_intake SET original = $1, item = NULL, reason = NULL, \
             answers = NULL, decision_reason = NULL, destroyed_at = $2, updated_at = $3 \
             WHERE id = $4 AND destroyed_at IS NULL AND status <> 'converted'",
        )
        .bind(Vec::<u8>::new())
        .bind(at.clone())
        .bind(at)
        .bind(id.to_owned())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        append_in(&mut tx, &self.audit, entry).await?;
        tx.commit().await?;
        Ok(true)
    }
}
