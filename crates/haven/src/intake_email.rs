//! Email intake (issue 15): one raw message → parsed (`haven_email::message::parse`) →
//! routed to the service whose intake address received it (`haven_email::routing`) → stored
//! sealed, exactly once (`storage::email_intake`). Written once here; `haven mail ingest`
//! and the mailbox pollers (`mail_sources`) only call [`ingest_message`] /
//! [`ingest_message_with`] (or [`ingest_message_marked`] with an IMAP UID).
//!
//! Nothing reaches the queue from here: an item waits in its team's inbox until a person
//! converts or rejects it. The plain Message-ID is never stored or printed: only its keyed
//! hash, under a key derived from the server secret key ([`intake_hash_key`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use haven_email::message::{self, Limits, Parsed};
use haven_email::routing;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::crypto::SecretKey;
use crate::services::Registry;
use crate::storage::email_intake::{IntakeOutcome, IntakeStored, NewEmailIntake};
use crate::storage::mailbox_uids::MailboxUid;
use crate::storage::{Storage, StorageError};

/// Why a message addressed to no service is set aside.
pub const NOT_ADDRESSED: &str = "not addressed to an intake address of any service";

/// Why a message whose Message-ID the service already has, with other content, is set aside.
pub const MESSAGE_ID_REUSED: &str =
    "its Message-ID was already used by another message with different content";

/// The key of the keyed hashes of Message-IDs and contents: derived from the server secret
/// key (the same on every server, so two servers agree on what is a duplicate), never stored.
pub fn intake_hash_key(secret: &SecretKey) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(secret.derive(b"haven email intake hashes v1"))
}

/// What became of one message: one JSON line of `haven mail ingest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ingested {
    /// Hex of the keyed hash of the Message-ID (never the plain id); `None` without one.
    pub message_id: Option<String>,
    pub outcome: IngestOutcome,
    /// The case reference once converted: always `None` at intake.
    pub reference: Option<String>,
    /// Why it was quarantined, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The stored item (`email_intake.id`); the item already held for a duplicate.
    #[serde(skip)]
    pub item_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IngestOutcome {
    Draft,
    Duplicate,
    Quarantined,
}

/// Parses, routes and stores one raw message taken in at `now` by `actor` (`cli`,
/// `system`). Never fails on the message itself (a bad one is quarantined with a reason);
/// only storage can fail.
///
/// No sender counts as verified here and no alert links anywhere: callers with settings use
/// [`ingest_message_with`].
pub async fn ingest_message(
    storage: &Storage,
    registry: &Registry,
    secret: &SecretKey,
    raw: &[u8],
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Ingested, StorageError> {
    ingest_message_with(
        storage,
        registry,
        secret,
        raw,
        now,
        actor,
        &IntakeSettings::default(),
    )
    .await
}

/// What intake takes from the settings.
#[derive(Debug, Clone, Default)]
pub struct IntakeSettings {
    /// The receiving server's authserv-id (`mail_authserv_id`): only its
    /// `Authentication-Results` header is believed. `None`: no sender is verified.
    pub authserv_id: Option<String>,
    /// Where staff reach Haven (`public_url`), for the link in the duty address's alert.
    pub public_url: String,
}

impl IntakeSettings {
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        Self {
            authserv_id: settings.mail_authserv_id.clone(),
            public_url: settings.public_url.clone(),
        }
    }
}

/// Whether the item's sender is verified for `def`: its domain on the definition's
/// `trusted_sender_domains` and the receiving server's results passing for it.
pub fn sender_verified(
    item: &message::EmailItem,
    def: &haven_core::definition::ServiceDefinition,
    settings: &IntakeSettings,
) -> bool {
    let Some(authserv_id) = settings.authserv_id.as_deref() else {
        return false;
    };
    let trusted: Vec<&str> = def
        .trusted_sender_domains
        .iter()
        .map(String::as_str)
        .collect();
    item.sender_verified(&trusted, authserv_id)
}

/// [`ingest_message`] with the settings: the sender's verification, and the duty address's
/// alert of an urgent message (queued with the item, never for a duplicate; the link is the
/// team's inbox, no content).
pub async fn ingest_message_with(
    storage: &Storage,
    registry: &Registry,
    secret: &SecretKey,
    raw: &[u8],
    now: DateTime<Utc>,
    actor: &str,
    settings: &IntakeSettings,
) -> Result<Ingested, StorageError> {
    ingest_message_marked(storage, registry, secret, raw, now, actor, None, settings)
        .await?
        // Only a mailbox message can have been taken already.
        .ok_or(StorageError::Conflict)
}

/// [`ingest_message_with`] for a message of a mailbox (`mail_sources::imap`): its UID is
/// recorded in the same transaction as what it became. `None` when that UID was already
/// taken (by another server, or before a restart): nothing is stored.
#[allow(clippy::too_many_arguments)] // one intake call: what, when, who, where from, how
pub async fn ingest_message_marked(
    storage: &Storage,
    registry: &Registry,
    secret: &SecretKey,
    raw: &[u8],
    now: DateTime<Utc>,
    actor: &str,
    mark: Option<&MailboxUid<'_>>,
    settings: &IntakeSettings,
) -> Result<Option<Ingested>, StorageError> {
    let key = intake_hash_key(secret);
    let parsed = message::parse(raw, key.as_slice(), &Limits::default());
    let addresses = registry.intake_addresses();
    let pairs: Vec<(&str, &str)> = addresses
        .iter()
        .map(|(a, s)| (a.as_str(), s.as_str()))
        .collect();
    let (service, mut outcome, mut reason, message_id_hash, content_hash, urgent, item_json) =
        match &parsed {
            Parsed::Item(item) => {
                let service = routing::service_for(&item.recipients, &pairs);
                let json = serde_json::to_value(item.as_ref()).ok();
                let (outcome, reason) = match service {
                    Some(_) => (IntakeOutcome::Draft, None),
                    None => (IntakeOutcome::Quarantined, Some(NOT_ADDRESSED.to_owned())),
                };
                (
                    service,
                    outcome,
                    reason,
                    item.message_id_hash.clone(),
                    item.content_hash.clone(),
                    item.urgent,
                    json,
                )
            }
            Parsed::Quarantined {
                quarantine,
                message_id_hash,
                content_hash,
            } => (
                None,
                IntakeOutcome::Quarantined,
                Some(quarantine.reason.clone()),
                message_id_hash.clone(),
                content_hash.clone(),
                false,
                None,
            ),
        };
    let def = service.and_then(|s| registry.get(s));
    let team = def.map(|d| d.team.clone());
    let verified = match (&parsed, def) {
        (Parsed::Item(item), Some(def)) => sender_verified(item, def, settings),
        _ => false,
    };
    let alert = def
        .filter(|_| urgent && outcome == IntakeOutcome::Draft)
        .and_then(|d| crate::notify::urgent_email_alert(&settings.public_url, d))
        .map(|notice| serde_json::json!(notice));
    let mut stored_hash = message_id_hash.clone();
    let item = item_json;
    loop {
        let new = NewEmailIntake {
            service,
            team: team.as_deref(),
            received_at: now,
            outcome,
            reason: reason.as_deref(),
            message_id_hash: stored_hash.as_deref(),
            content_hash: &content_hash,
            urgent,
            sender_verified: verified,
            original: raw,
            item: item.as_ref(),
            actor,
            alert: alert.as_ref().filter(|_| outcome == IntakeOutcome::Draft),
        };
        let Some(stored) = storage.store_email_intake_marked(&new, mark).await? else {
            return Ok(None);
        };
        let result = match stored {
            IntakeStored::Stored(id) => Ingested {
                message_id: message_id_hash.clone(),
                outcome: match outcome {
                    IntakeOutcome::Draft => IngestOutcome::Draft,
                    IntakeOutcome::Quarantined => IngestOutcome::Quarantined,
                },
                reference: None,
                reason: reason.clone(),
                item_id: Some(id),
            },
            IntakeStored::Duplicate(id) => Ingested {
                message_id: message_id_hash.clone(),
                outcome: IngestOutcome::Duplicate,
                reference: None,
                reason: None,
                item_id: Some(id),
            },
            IntakeStored::MessageIdReused if stored_hash.is_some() => {
                // Kept for evidence, set aside; the first message keeps the Message-ID.
                outcome = IntakeOutcome::Quarantined;
                reason = Some(MESSAGE_ID_REUSED.to_owned());
                stored_hash = None;
                continue;
            }
            IntakeStored::MessageIdReused => {
                // Cannot happen without a Message-ID hash; answer as quarantined anyway.
                Ingested {
                    message_id: message_id_hash.clone(),
                    outcome: IngestOutcome::Quarantined,
                    reference: None,
                    reason: Some(MESSAGE_ID_REUSED.to_owned()),
                    item_id: None,
                }
            }
        };
        return Ok(Some(result));
    }
}

/// Why a path given to `haven mail ingest` cannot be read as messages.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: no such file or folder")]
    Missing(PathBuf),
    #[error("{0}: not an .eml file, a Maildir folder (cur/ and new/) or a folder of .eml files")]
    NotMessages(PathBuf),
    #[error("{path}: could not be read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The message files a path names, in the order they are taken: an `.eml` (or any) file
/// itself; a Maildir folder's `new/` then `cur/` files (never `tmp/`, which is still being
/// written); a folder's `*.eml` files. Sorted by name within each folder.
pub fn message_files(path: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let io = |source| SourceError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SourceError::Missing(path.to_owned()));
        }
        Err(e) => return Err(io(e)),
    };
    if meta.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    if !meta.is_dir() {
        return Err(SourceError::NotMessages(path.to_owned()));
    }
    let new = path.join("new");
    let cur = path.join("cur");
    if new.is_dir() || cur.is_dir() {
        let mut files = Vec::new();
        for sub in [new, cur] {
            if sub.is_dir() {
                files.extend(files_in(&sub, |_| true)?);
            }
        }
        return Ok(files);
    }
    let files = files_in(path, |p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
    })?;
    if files.is_empty() {
        return Err(SourceError::NotMessages(path.to_owned()));
    }
    Ok(files)
}

fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, SourceError> {
    let io = |source| SourceError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        // Hidden files (editor droppings, `.DS_Store`) are never messages.
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && path.is_file() && keep(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A message file's bytes, at most one byte more than a message may be (a larger one is
/// quarantined for its size without reading all of it).
pub fn read_message(path: &Path) -> Result<Vec<u8>, SourceError> {
    let io = |source| SourceError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let limit = Limits::default().max_message_bytes as u64 + 1;
    let mut raw = Vec::new();
    file.take(limit).read_to_end(&mut raw).map_err(io)?;
    Ok(raw)
}
