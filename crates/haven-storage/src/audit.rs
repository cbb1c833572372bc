//! The tamper-evident audit log: every read and write of case data, and every account or
//! token change, as a keyed hash chain.
//!
//! `hash = HMAC-SHA256(audit key, prev_hash ‖ canonical entry)` where the canonical entry is
//! the JSON array `[seq, at, actor, action, record_type, record_id, reason]` and the audit
//! key is derived from the server secret key (`HMAC(secret, "haven audit chain v1")`), which
//! is never in the database. Editing, removing or reordering an entry breaks its hash, its
//! link or the numbering, which [`Storage::verify_audit_chain`] finds (`haven audit
//! verify`); and because the link is keyed, someone who can write the table but does not
//! hold the server key cannot recompute the hashes after an edit. The table also refuses
//! UPDATE and DELETE (triggers in the migrations).
//!
//! Each entry names the key it was made under (`key_id`, a keyed fingerprint that reveals
//! nothing of the key), so verifying with the wrong key says so instead of reporting every
//! entry as edited.
//!
//! The limit, stated plainly: cutting entries off the end leaves a valid shorter chain. What
//! catches that is a checkpoint kept outside the database ([`Storage::audit_tail`], written
//! by `haven audit verify` to the data directory and printed for the operator to record):
//! a log shorter than it, or a changed entry up to it, fails verification.
//!
//! On PostgreSQL (issue 18) writers do not extend the chain themselves, which would make
//! every writer on every server wait for the one before it: [`append_in`] inserts the entry
//! UNSEQUENCED (no seq, prev_hash or hash) with `entry_mac`, a keyed MAC of its content, in
//! the writer's own transaction, and the sequencer ([`super::audit_sequencer`], one at a
//! time across all servers) later gives pending entries their seq and links them, in
//! batches, continuing the same chain. Verification sequences what is pending first, then
//! checks the chain and the MAC of anything still pending. On SQLite writers are serial
//! anyway and append to the chain directly.

use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};
use tracing::instrument;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Storage, StorageError, timestamp};
use crate::config::DatabaseKind;
use crate::crypto::{SecretKey, sha256_hex};

/// The label the audit key is derived under (domain separation from every other use of the
/// server secret key).
const AUDIT_KEY_LABEL: &[u8] = b"haven audit chain v1";

/// The key of the audit chain's links, derived from the server secret key. Never stored.
#[derive(Clone)]
pub struct AuditKey {
    key: [u8; 32],
    /// A short fingerprint stored with each entry, so a wrong key is named as such.
    id: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AuditKey {
    /// The audit key of a server with this secret key.
    pub fn derive(secret: &SecretKey) -> Self {
        let key = secret.derive(AUDIT_KEY_LABEL);
        let id = hex::encode(&hmac(&key, &[b"haven audit key id"])[..8]);
        Self { key, id }
    }

    /// The fingerprint stored in `audit_log.key_id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The MAC of an unsequenced entry's content: HMAC-SHA256(key, "entry\0" ‖ content),
    /// in hex (the prefix keeps it apart from links, which start with a hex hash).
    pub(crate) fn entry_mac(&self, content: &str) -> String {
        hex::encode(hmac(&self.key, &[b"entry\0", content.as_bytes()]))
    }

    /// The link of an entry: HMAC-SHA256(key, prev_hash ‖ canonical), in hex.
    pub(crate) fn link(&self, prev_hash: &str, canonical: &str) -> String {
        hex::encode(hmac(
            &self.key,
            &[prev_hash.as_bytes(), canonical.as_bytes()],
        ))
    }
}

fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().into()
        }
        // HMAC takes keys of any length; this arm exists only to avoid a panic path, and
        // never produces a value `link` would accept (verification recomputes the same way).
        Err(_) => [0; 32],
    }
}

/// What appending needs: the engine (how to serialise appenders) and the key.
#[derive(Debug, Clone)]
pub struct AuditChain {
    pub(crate) kind: DatabaseKind,
    pub(crate) key: AuditKey,
}

impl AuditChain {
    /// What an unsequenced entry (PostgreSQL) stores beside its text: its time as stored,
    /// the audit key's id and the entry's MAC. For writers that put the entry in a statement
    /// of their own making (`referrals::insert_referral_combined`); [`append_in`] uses it too.
    pub(crate) fn unsequenced(&self, entry: &AuditEntry) -> (String, &str, String) {
        let at = timestamp(entry.at);
        let mac = self
            .key
            .entry_mac(&content(&at, &AuditEntryText::of(entry)));
        (at, self.key.id(), mac)
    }
}

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One thing that happened, to be appended.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// `user:<id>`, `public`, `cli`, `system`.
    pub actor: String,
    /// `submission.created`, `referral.viewed`, `user.created`, `token.created`, …
    pub action: String,
    /// `referral`, `staff_user`, `api_token`, …
    pub record_type: String,
    pub record_id: Option<String>,
    /// Why, where the person was asked: a short reason code, never case content. The audit
    /// log is not sealed (its hash chain covers the stored text and its rows cannot be
    /// re-wrapped on key rotation), so free text belongs in a sealed column such as the
    /// chronology's `referral_events.reason`.
    pub reason: Option<String>,
}

impl AuditEntry {
    /// An entry about a record.
    pub fn new(
        at: DateTime<Utc>,
        actor: impl Into<String>,
        action: &str,
        record_type: &str,
        record_id: &str,
    ) -> Self {
        Self {
            at,
            actor: actor.into(),
            action: action.to_owned(),
            record_type: record_type.to_owned(),
            record_id: Some(record_id.to_owned()),
            reason: None,
        }
    }
}

/// The action of every export, download or print of case data; the entry's reason says what
/// was exported (see [`AuditEntry::export`]).
pub const EXPORTED: &str = "case.exported";

impl AuditEntry {
    /// An export of the referral `referral_id`'s data by `actor`: `what` is a short code of
    /// what left Haven (`family_copy`, `attachment:<question>`, …), never content.
    pub fn export(
        at: DateTime<Utc>,
        actor: impl Into<String>,
        referral_id: &str,
        what: &str,
    ) -> Self {
        let mut entry = Self::new(at, actor, EXPORTED, "referral", referral_id);
        entry.reason = Some(what.to_owned());
        entry
    }
}

/// What [`Storage::verify_audit_chain`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every entry links to the one before; `entries` were checked.
    Intact { entries: u64 },
    /// The first entry whose hash or link is wrong, and what is wrong with it.
    Broken { seq: i64, problem: ChainProblem },
    /// An entry not yet sequenced (PostgreSQL) whose MAC does not cover its content: `id`
    /// is its place in the order entries were written.
    BrokenPending { id: i64, problem: ChainProblem },
}

/// A pending (unsequenced) entry as read back.
pub(crate) struct PendingRow {
    pub(crate) id: i64,
    pub(crate) at: String,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) record_type: String,
    pub(crate) record_id: Option<String>,
    pub(crate) reason: Option<String>,
    key_id: Option<String>,
    entry_mac: Option<String>,
}

impl PendingRow {
    /// From `id, at, actor, action, record_type, record_id, reason, key_id, entry_mac`.
    pub(crate) fn read(row: &sqlx::any::AnyRow) -> Result<Self, StorageError> {
        Ok(Self {
            id: row.try_get(0)?,
            at: row.try_get(1)?,
            actor: row.try_get(2)?,
            action: row.try_get(3)?,
            record_type: row.try_get(4)?,
            record_id: row.try_get(5)?,
            reason: row.try_get(6)?,
            key_id: row.try_get(7)?,
            entry_mac: row.try_get(8)?,
        })
    }

    pub(crate) fn text(&self) -> AuditEntryText<'_> {
        AuditEntryText {
            actor: &self.actor,
            action: &self.action,
            record_type: &self.record_type,
            record_id: self.record_id.as_deref(),
            reason: self.reason.as_deref(),
        }
    }

    /// What is wrong with it under `key`, if anything.
    pub(crate) fn problem(&self, key: &AuditKey) -> Option<ChainProblem> {
        let mac = key.entry_mac(&content(&self.at, &self.text()));
        if self.entry_mac.as_deref() == Some(mac.as_str()) {
            return None;
        }
        Some(match &self.key_id {
            Some(found) if found != key.id() && self.entry_mac.is_some() => {
                ChainProblem::WrongKey {
                    found: found.clone(),
                    ours: key.id().to_owned(),
                }
            }
            _ => ChainProblem::BadMac,
        })
    }
}

/// Why an entry breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainProblem {
    /// Numbering skipped or went back: entries before it were deleted, or it was moved.
    #[error("expected seq {expected} here: entries are missing, reordered or reinserted")]
    Gap { expected: i64 },
    /// It does not name the hash of the entry before it.
    #[error(
        "its prev_hash is not the hash of the entry before it: entries were reordered, replaced or reinserted"
    )]
    BadLink,
    /// Its hash does not cover its own content under the audit key.
    #[error(
        "its hash does not match its content under the audit key: the entry was edited or forged"
    )]
    BadHash,
    /// Its hash is a plain, unkeyed SHA-256 of the entry: made by someone without the server
    /// key (or by a Haven from before the chain was keyed).
    #[error(
        "its hash is an unkeyed SHA-256, not the keyed link: the entry was forged by someone \
         without the server key (or written before the audit chain was keyed)"
    )]
    Unkeyed,
    /// A pending entry's MAC does not cover its content (or it has none).
    #[error(
        "its MAC does not match its content under the audit key: the entry was edited or \
         forged before it was sequenced"
    )]
    BadMac,
    /// It was made under another audit key than the one verifying.
    #[error(
        "it was written under audit key {found}, but this key is {ours}: the server secret key \
         (HAVEN_SECRET_KEY or <data-dir>/secret.key) is not the one the servers use"
    )]
    WrongKey { found: String, ours: String },
}

/// Entries read per query while verifying, so a long log is never held in memory at once.
const VERIFY_PAGE: i64 = 1000;

/// What an unsequenced entry's `entry_mac` covers: `[at, actor, action, record_type,
/// record_id, reason]` as JSON.
pub(crate) fn content(at: &str, e: &AuditEntryText<'_>) -> String {
    serde_json::json!([at, e.actor, e.action, e.record_type, e.record_id, e.reason]).to_string()
}

pub(crate) fn canonical(seq: i64, at: &str, e: &AuditEntryText<'_>) -> String {
    serde_json::json!([
        seq,
        at,
        e.actor,
        e.action,
        e.record_type,
        e.record_id,
        e.reason
    ])
    .to_string()
}

pub(crate) struct AuditEntryText<'a> {
    pub(crate) actor: &'a str,
    pub(crate) action: &'a str,
    pub(crate) record_type: &'a str,
    pub(crate) record_id: Option<&'a str>,
    pub(crate) reason: Option<&'a str>,
}

impl<'a> AuditEntryText<'a> {
    fn of(entry: &'a AuditEntry) -> Self {
        Self {
            actor: &entry.actor,
            action: &entry.action,
            record_type: &entry.record_type,
            record_id: entry.record_id.as_deref(),
            reason: entry.reason.as_deref(),
        }
    }
}

/// The last sequenced entry's seq and hash, or (0, genesis) for an empty chain.
pub(crate) async fn chain_head(
    conn: &mut sqlx::AnyConnection,
) -> Result<(i64, String), StorageError> {
    let last = sqlx::query(
        "SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match last {
        Some(row) => (row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?),
        None => (0, GENESIS_HASH.to_owned()),
    })
}

/// The unkeyed hash of the chain before it was keyed (only to name such entries).
fn unkeyed_hash(prev_hash: &str, canonical: &str) -> String {
    sha256_hex(format!("{prev_hash}{canonical}").as_bytes())
}

/// Appends an entry inside the caller's write transaction, so the entry commits (or not)
/// with the change it records. On PostgreSQL one insert of the unsequenced entry and its
/// MAC, taking no lock (the sequencer links it later); on SQLite, whose write transactions
/// are already serial, one indexed read of the last entry and one insert of the linked one.
pub(crate) async fn append_in(
    tx: &mut Transaction<'static, Any>,
    chain: &AuditChain,
    entry: &AuditEntry,
) -> Result<(), StorageError> {
    append_many_in(tx, chain, std::slice::from_ref(entry)).await
}

/// Appends many entries inside the caller's write transaction, in order, as [`append_in`]
/// would one by one, in multi-row inserts (for bulk writers such as `haven dev seed`, where
/// a statement per entry would be most of the cost).
pub(crate) async fn append_many_in(
    tx: &mut Transaction<'static, Any>,
    chain: &AuditChain,
    entries: &[AuditEntry],
) -> Result<(), StorageError> {
    if entries.is_empty() {
        return Ok(());
    }
    match chain.kind {
        DatabaseKind::Postgres => append_unsequenced(tx, chain, entries).await,
        DatabaseKind::Sqlite => append_linked(tx, chain, entries).await,
    }
}

/// PostgreSQL: the entries without seq or link, each with its MAC, in the caller's
/// transaction or (one statement being its own transaction) on a connection of their own.
async fn append_unsequenced(
    conn: &mut sqlx::AnyConnection,
    chain: &AuditChain,
    entries: &[AuditEntry],
) -> Result<(), StorageError> {
    const COLUMNS: usize = 8;
    for chunk in super::referrals::statement_chunks(entries, 1024) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| super::referrals::placeholders(i * COLUMNS, COLUMNS))
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (at, actor, action, record_type, record_id, reason, key_id, entry_mac) VALUES {}",
            values.join(", ")
        );
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
        for entry in chunk {
            let (at, key_id, mac) = chain.unsequenced(entry);
            insert = insert
                .bind(at)
                .bind(entry.actor.as_str())
                .bind(entry.action.as_str())
                .bind(entry.record_type.as_str())
                .bind(entry.record_id.as_deref())
                .bind(entry.reason.as_deref())
                .bind(key_id)
                .bind(mac);
        }
        insert
            .execute(&mut *conn)
            .await
            .map_err(StorageError::from_write)?;
    }
    Ok(())
}

/// SQLite: the entries linked onto the chain at once (the transaction holds the write lock).
async fn append_linked(
    tx: &mut Transaction<'static, Any>,
    chain: &AuditChain,
    entries: &[AuditEntry],
) -> Result<(), StorageError> {
    let (mut seq, mut prev_hash) = chain_head(tx).await?;
    let mut linked = Vec::with_capacity(entries.len());
    for entry in entries {
        seq += 1;
        let at = timestamp(entry.at);
        let hash = chain
            .key
            .link(&prev_hash, &canonical(seq, &at, &AuditEntryText::of(entry)));
        linked.push((
            seq,
            at,
            entry,
            std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        ));
    }
    const COLUMNS: usize = 10;
    for chunk in super::referrals::statement_chunks(&linked, 1024) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| super::referrals::placeholders(i * COLUMNS, COLUMNS))
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor, action, record_type, record_id, reason, prev_hash, hash, key_id) VALUES {}",
            values.join(", ")
        );
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (seq, at, entry, prev, hash) in chunk {
            insert = insert
                .bind(*seq)
                .bind(at.as_str())
                .bind(entry.actor.as_str())
                .bind(entry.action.as_str())
                .bind(entry.record_type.as_str())
                .bind(entry.record_id.as_deref())
                .bind(entry.reason.as_deref())
                .bind(prev.as_str())
                .bind(hash.as_str())
                .bind(chain.key.id());
        }
        insert
            .execute(&mut **tx)
            .await
            .map_err(StorageError::from_write)?;
    }
    Ok(())
}

impl Storage {
    /// Appends one entry in its own transaction.
    #[instrument(skip_all)]
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        // SQLite: in the group commit's next transaction, with whatever else is waiting.
        if let Some(group) = &self.group_commit {
            return group.append_audit(entry.clone()).await;
        }
        // PostgreSQL: one INSERT is its own transaction, as durable as BEGIN, INSERT, COMMIT
        // and one round trip instead of three (every audited read pays it).
        if self.kind == DatabaseKind::Postgres {
            let mut conn = self.writer.acquire().await?;
            return append_unsequenced(&mut conn, &self.audit, std::slice::from_ref(entry)).await;
        }
        let mut tx = self.begin_write().await?;
        append_in(&mut tx, &self.audit, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Recomputes the whole chain from the first entry, a page at a time, under this
    /// storage's audit key. On PostgreSQL it first sequences every pending entry (waiting
    /// for a sequencer at work on another server), and after the chain checks the MAC of
    /// every entry still pending (one whose MAC is wrong is never sequenced).
    #[instrument(skip_all)]
    pub async fn verify_audit_chain(&self) -> Result<ChainCheck, StorageError> {
        if self.kind == DatabaseKind::Postgres {
            self.sequence_audit().await?;
        }
        let chain = self.verify_sequenced().await?;
        if !matches!(chain, ChainCheck::Intact { .. }) || self.kind != DatabaseKind::Postgres {
            return Ok(chain);
        }
        match self.verify_pending().await? {
            Some(broken) => Ok(broken),
            None => Ok(chain),
        }
    }

    /// Checks the MAC of every entry not yet sequenced, oldest first.
    async fn verify_pending(&self) -> Result<Option<ChainCheck>, StorageError> {
        let mut after = 0_i64;
        loop {
            let rows = sqlx::query(
                "SELECT id, at, actor, action, record_type, record_id, reason, key_id, entry_mac
                 FROM audit_log WHERE seq IS NULL AND id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(VERIFY_PAGE)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(None);
            }
            for row in &rows {
                let pending = PendingRow::read(row)?;
                after = pending.id;
                if let Some(problem) = pending.problem(&self.audit.key) {
                    return Ok(Some(ChainCheck::BrokenPending {
                        id: pending.id,
                        problem,
                    }));
                }
            }
        }
    }

    /// The sequenced chain, from seq 1.
    async fn verify_sequenced(&self) -> Result<ChainCheck, StorageError> {
        let mut expected_seq = 1_i64;
        let mut expected_prev = GENESIS_HASH.to_owned();
        let mut last_seq = 0_i64;
        loop {
            let rows = sqlx::query(
                "SELECT seq, at, actor, action, record_type, record_id, reason, prev_hash, hash, key_id
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(last_seq)
            .bind(VERIFY_PAGE)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq: i64 = row.try_get(0)?;
                let at: String = row.try_get(1)?;
                let actor: String = row.try_get(2)?;
                let action: String = row.try_get(3)?;
                let record_type: String = row.try_get(4)?;
                let record_id: Option<String> = row.try_get(5)?;
                let reason: Option<String> = row.try_get(6)?;
                let prev_hash: String = row.try_get(7)?;
                let hash: String = row.try_get(8)?;
                let key_id: Option<String> = row.try_get(9)?;
                let text = AuditEntryText {
                    actor: &actor,
                    action: &action,
                    record_type: &record_type,
                    record_id: record_id.as_deref(),
                    reason: reason.as_deref(),
                };
                let canonical = canonical(seq, &at, &text);
                let ours = self.audit.key.id();
                let problem = if seq != expected_seq {
                    Some(ChainProblem::Gap {
                        expected: expected_seq,
                    })
                } else if prev_hash != expected_prev {
                    Some(ChainProblem::BadLink)
                } else if self.audit.key.link(&prev_hash, &canonical) != hash {
                    Some(if unkeyed_hash(&prev_hash, &canonical) == hash {
                        ChainProblem::Unkeyed
                    } else {
                        match key_id {
                            Some(found) if found != ours => ChainProblem::WrongKey {
                                found,
                                ours: ours.to_owned(),
                            },
                            _ => ChainProblem::BadHash,
                        }
                    })
                } else {
                    None
                };
                if let Some(problem) = problem {
                    return Ok(ChainCheck::Broken { seq, problem });
                }
                expected_seq += 1;
                expected_prev = hash;
                last_seq = seq;
            }
        }
        Ok(ChainCheck::Intact {
            entries: u64::try_from(last_seq).unwrap_or(0),
        })
    }

    /// The last entry's `seq` and hash (`None` for an empty log), to keep outside the
    /// database as a checkpoint.
    #[instrument(skip_all)]
    pub async fn audit_tail(&self) -> Result<Option<(i64, String)>, StorageError> {
        let row = sqlx::query(
            "SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .transpose()
    }

    /// The hash of the entry `seq`, if there is one.
    #[instrument(skip_all)]
    pub async fn audit_hash_at(&self, seq: i64) -> Result<Option<String>, StorageError> {
        let row = sqlx::query("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// The actions recorded about one record, oldest first (for tests and the case page);
    /// entries not yet sequenced come last, in the order they were written.
    #[instrument(skip_all)]
    pub async fn audit_actions_for(
        &self,
        record_type: &str,
        record_id: &str,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let rows = sqlx::query(
            "SELECT actor, action FROM audit_log WHERE record_type = $1 AND record_id = $2 ORDER BY seq, id",
        )
        .bind(record_type)
        .bind(record_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }
}
