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
use super::mailbox_uids::{MailboxUid, take_in};
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
             content_hash, urgent, sender_verified, original, item, status \
             FROM email_intake WHERE id = $1",
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
        Ok(Some(EmailIntakeItem {
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
