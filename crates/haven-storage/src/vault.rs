//! Case content sealed at rest: the one list of sealed columns, sealing and opening values
//! (`hv2`, crypto/sealed.rs; `hv1:` values still open), the per-case keys (`case_keys`,
//! [`Storage::destroy_case_key`]), re-wrapping every key under a new master key (`haven keys
//! rotate`) and re-sealing old values in the new format (`haven keys upgrade`).
//!
//! Storage seals on write and opens on read, so callers pass and receive plaintext. To seal
//! a new column: add it to [`SEALED_COLUMNS`] (with `.of_case(..)` when its rows belong to a
//! case) as a BLOB / BYTEA column, store `storage.seal_text_in_case(&case, table, column,
//! id, text)?` (or `seal_text` for a value of no case) in place of the plaintext, and read it
//! back with `storage.open_text_in_case(Some(&case), ...)`, the case key coming from
//! [`Storage::case_key_for_write`] / [`Storage::case_key`]. [`Storage::seal`] refuses a column missing from the list, so
//! no column can be sealed without also being re-wrapped on rotation. See
//! `docs/ARCHITECTURE.md` ("Encryption at rest").

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use sqlx::{Any, AssertSqlSafe, Row, Transaction, query};
use tracing::instrument;
use zeroize::Zeroizing;

use super::audit::{AuditEntry, append_in};
use super::{Storage, StorageError, parse_json, timestamp};
use crate::config::DatabaseKind;
use crate::crypto::envelope::{self, Envelope, EnvelopeError, Place};
use crate::crypto::keyring::{KeyRing, KeyStatus, MasterKey};
use crate::crypto::sealed::{self, CaseKey, Lock, Sealed};

/// The type of a table's id column (bound as such when a row is updated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// TEXT ids (`crypto::new_id`).
    Text,
    /// INTEGER / BIGINT identity ids.
    Integer,
}

/// A column whose values are sealed, and how to find each value's row and case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
    /// The row's id column: its value is bound into the ciphertext (so a value moved to
    /// another row fails to open) and is how rotation updates the row.
    pub id_column: &'static str,
    pub id_kind: IdKind,
    /// The column holding the id of the referral the row belongs to (NULL while it belongs
    /// to none, as a draft's upload): such values are sealed under the case's key.
    pub case_column: Option<&'static str>,
}

impl SealedColumn {
    const fn text_id(table: &'static str, column: &'static str) -> Self {
        Self {
            table,
            column,
            id_column: "id",
            id_kind: IdKind::Text,
            case_column: None,
        }
    }

    /// A TEXT key column other than `id`.
    const fn text_key(table: &'static str, column: &'static str, id_column: &'static str) -> Self {
        Self {
            table,
            column,
            id_column,
            id_kind: IdKind::Text,
            case_column: None,
        }
    }

    const fn integer_id(table: &'static str, column: &'static str) -> Self {
        Self {
            table,
            column,
            id_column: "id",
            id_kind: IdKind::Integer,
            case_column: None,
        }
    }

    /// Values of a case, found through `column` (the referral id).
    const fn of_case(self, column: &'static str) -> Self {
        Self {
            case_column: Some(column),
            ..self
        }
    }
}

/// Every sealed column, in one place. Rotation re-wraps exactly these; `seal` refuses any
/// other. Keep queue metadata (service, status, band, dates, team, assignee) out of it: it
/// must stay queryable.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn::text_id("referrals", "answers").of_case("id"),
    SealedColumn::text_id("referrals", "screening").of_case("id"),
    // The young person's name and date of birth, for the queue (`young_person.rs`).
    SealedColumn::text_id("referrals", "person").of_case("id"),
    SealedColumn::integer_id("referral_events", "reason").of_case("referral_id"),
    SealedColumn::integer_id("referral_events", "detail").of_case("referral_id"),
    // Job payloads name recipients (emails to referrers and reporters).
    SealedColumn::text_id("jobs", "payload"),
    SealedColumn::text_id("public_drafts", "answers"),
    // File names may name the child ("Zephyrine_assessment.pdf").
    SealedColumn::text_id("public_attachments", "filename").of_case("referral_id"),
    SealedColumn::text_id("public_attachments", "content").of_case("referral_id"),
    // The data key of a file sealed in chunks (`public_attachment_chunks`): re-wrapping it
    // is all rotation does for such a file; the chunks never change.
    SealedColumn::text_id("public_attachments", "file_key").of_case("referral_id"),
    SealedColumn::text_id("case_notes", "body").of_case("referral_id"),
    SealedColumn::text_id("reporter_messages", "body").of_case("referral_id"),
    // Second-factor secrets: whoever reads one can make that account's codes.
    SealedColumn::text_id("staff_users", "totp_secret"),
    SealedColumn::text_key("staff_sessions", "pending_totp_secret", "id_hash"),
    // Why an account's permissions changed: free text from the admin page.
    SealedColumn::text_id("staff_permission_changes", "reason"),
    // Casework: a meeting's place, who attended and notes; plan goals, actions, reviews;
    // the closing summary.
    SealedColumn::text_id("case_meetings", "content").of_case("referral_id"),
    SealedColumn::text_id("plan_goals", "body").of_case("referral_id"),
    SealedColumn::text_id("plan_actions", "body").of_case("referral_id"),
    SealedColumn::text_id("plan_reviews", "summary").of_case("referral_id"),
    SealedColumn::text_id("case_closures", "narrative").of_case("referral_id"),
    // The exact files handed over for onward referrals.
    SealedColumn::text_id("onward_exports", "content").of_case("referral_id"),
    // Later stages of a case (Cyber Choices' detailed referral: names, addresses, handles).
    SealedColumn::text_id("referral_stages", "answers").of_case("referral_id"),
    // Onward referrals: the recipient may name a person; the rest is staff free text.
    SealedColumn::text_id("onward_referrals", "recipient").of_case("referral_id"),
    SealedColumn::text_id("onward_referrals", "consent_reason").of_case("referral_id"),
    SealedColumn::text_id("onward_referrals", "notes").of_case("referral_id"),
    // Email intake (issue 15): the raw message as received, the item read from it, and why
    // it was quarantined. No case yet, so each under a key of its own.
    SealedColumn::text_id("email_intake", "original"),
    SealedColumn::text_id("email_intake", "item"),
    SealedColumn::text_id("email_intake", "reason"),
    // The person index (issue 16): a referral's young person, normalised (names, date of
    // birth, postcode, contact details), opened only to score a possible link.
    SealedColumn::text_key("person_records", "identity", "referral_id").of_case("referral_id"),
    // Why a case is under a legal hold (issue 17): one row per case, keyed by its id.
    SealedColumn::text_key("legal_holds", "reason", "referral_id").of_case("referral_id"),
    // The staff inbox: the answers a person completed, and why an item was rejected.
    SealedColumn::text_id("email_intake", "answers"),
    SealedColumn::text_id("email_intake", "decision_reason"),
    // Subject access requests (issue 17): who asked and how their identity was checked,
    // why it was extended or refused, the decisions on each item and what was released.
    SealedColumn::text_id("subject_access_requests", "requester").of_case("referral_id"),
    SealedColumn::text_id("subject_access_requests", "extension_reason").of_case("referral_id"),
    SealedColumn::text_id("subject_access_requests", "refusal_reason").of_case("referral_id"),
    SealedColumn::text_id("subject_access_requests", "decisions").of_case("referral_id"),
    SealedColumn::text_id("subject_access_requests", "release_record").of_case("referral_id"),
];

/// Most passes over one column in one rotation.
const MAX_PASSES: usize = 10;

/// A row id as read from, and bound back to, its column.
enum RowId {
    Text(String),
    Integer(i64),
}

impl RowId {
    /// Smaller than every id.
    fn first(kind: IdKind) -> Self {
        match kind {
            IdKind::Text => RowId::Text(String::new()),
            IdKind::Integer => RowId::Integer(i64::MIN),
        }
    }

    fn read(kind: IdKind, row: &sqlx::any::AnyRow) -> Result<Self, StorageError> {
        Ok(match kind {
            IdKind::Text => RowId::Text(row.try_get(0)?),
            IdKind::Integer => RowId::Integer(row.try_get(0)?),
        })
    }

    fn bind<'q>(
        &self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        match self {
            RowId::Text(id) => q.bind(id.clone()),
            RowId::Integer(id) => q.bind(*id),
        }
    }
}

impl std::fmt::Display for RowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowId::Text(id) => f.write_str(id),
            RowId::Integer(id) => write!(f, "{id}"),
        }
    }
}

/// What [`Storage::rewrap_all`] and [`Storage::upgrade_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// Values (and case keys) whose key is now wrapped under the current master key.
    pub rewrapped: u64,
    /// Plaintext values (written before their column was sealed) now sealed.
    pub sealed_plaintext: u64,
    /// `hv1:` values re-sealed in the `hv2` format (`haven keys upgrade`), and values of a
    /// case moved from a key of their own to the case's key.
    pub upgraded: u64,
    /// Compare-and-swaps that found the row changed by another writer since it was read
    /// (the other writer's value was kept and looked at again).
    pub raced: u64,
    /// `table.column id: reason` of values that could not be opened (left unchanged).
    pub failed: Vec<String>,
}

/// How many values each master key wraps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    pub key_id: String,
    pub status: KeyStatus,
    /// Values whose own data key it wraps, plus case keys it wraps.
    pub values: u64,
}

/// What a pass over the sealed columns does to each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Re-wrap value keys not under the current master key; seal plaintext.
    Rotate,
    /// Seal plaintext only (start-up, second-factor secrets).
    LegacyOnly,
    /// Re-seal `hv1:` values as `hv2`, and a case's values under its case key.
    Upgrade,
}

/// A stored value in either format, split (nothing decrypted).
enum Stored<'a> {
    V1(Envelope<'a>),
    V2(Sealed<'a>),
}

fn parse_stored(stored: &[u8]) -> Result<Stored<'_>, EnvelopeError> {
    if Sealed::is_v2(stored) {
        return Sealed::parse(stored).map(Stored::V2);
    }
    // An `hv1:` value is its old TEXT form, kept as bytes by the migration.
    let text = std::str::from_utf8(stored).map_err(|_| EnvelopeError::NotSealed)?;
    Envelope::parse(text).map(Stored::V1)
}

impl Storage {
    /// The master keys this storage seals and opens with.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    fn sealed_error(
        table: &'static str,
        column: &'static str,
        id: &str,
    ) -> impl Fn(EnvelopeError) -> StorageError {
        move |reason| StorageError::Sealed {
            table,
            column,
            id: id.to_owned(),
            reason,
        }
    }

    /// Seals `plaintext` for the row `id` of `table.column` under a key of its own, wrapped
    /// under the current master key; store the returned bytes in that column. For values of
    /// no case; a case's values use [`Storage::seal_in_case`].
    pub fn seal(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StorageError> {
        registered(table, column)?;
        let place = Place { table, column, id };
        sealed::seal_with_value_key(&self.keys.current(), place, plaintext)
            .map_err(Self::sealed_error(table, column, id))
    }

    /// Seals `plaintext` for the row `id` of `table.column` under the key of its case
    /// ([`Storage::case_key_for_write`]).
    pub fn seal_in_case(
        &self,
        case: &CaseKey,
        table: &'static str,
        column: &'static str,
        id: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StorageError> {
        registered(table, column)?;
        let place = Place { table, column, id };
        sealed::seal_in_case(case, place, plaintext).map_err(Self::sealed_error(table, column, id))
    }

    /// Opens a value read from the row `id` of `table.column` (either format). A value
    /// edited, moved from another row or column, wrapped under an unknown key, or sealed
    /// under a case key not given (destroyed, or `case` is `None`) is
    /// [`StorageError::Sealed`].
    pub fn open_in_case(
        &self,
        case: Option<&CaseKey>,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        let fail = Self::sealed_error(table, column, id);
        let place = Place { table, column, id };
        match parse_stored(stored).map_err(&fail)? {
            Stored::V1(parsed) => {
                let key = self
                    .keys
                    .get(parsed.key_id)
                    .ok_or_else(|| fail(EnvelopeError::UnknownKey(parsed.key_id.to_owned())))?;
                envelope::open(&key, place, &parsed).map_err(fail)
            }
            Stored::V2(parsed) => {
                let master = match parsed.lock {
                    Lock::ValueKey { key_id, .. } => Some(
                        self.keys
                            .get(key_id)
                            .ok_or_else(|| fail(EnvelopeError::UnknownKey(key_id.to_owned())))?,
                    ),
                    Lock::Case { .. } => None,
                };
                sealed::open(master.as_ref(), case, place, &parsed).map_err(fail)
            }
        }
    }

    /// [`Storage::open_in_case`] for a value of no case.
    pub fn open(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        self.open_in_case(None, table, column, id, stored)
    }

    /// A fresh data key for the chunked file in the row `id` of `table.column`, and the
    /// sealed value to store there: under the case's key when `case` is given, else under a
    /// key of its own (see `crypto/stream.rs`).
    pub fn seal_data_key(
        &self,
        case: Option<&CaseKey>,
        table: &'static str,
        column: &'static str,
        id: &str,
    ) -> Result<(Vec<u8>, crate::crypto::stream::FileKey), StorageError> {
        registered(table, column)?;
        let place = Place { table, column, id };
        sealed::seal_file_key(&self.keys.current(), case, place)
            .map_err(Self::sealed_error(table, column, id))
    }

    /// The data key stored by [`Storage::seal_data_key`] (or by the `hv1` format, whose
    /// empty content is checked so a key moved from another place does not open).
    pub fn open_data_key(
        &self,
        case: Option<&CaseKey>,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &[u8],
    ) -> Result<crate::crypto::stream::FileKey, StorageError> {
        let fail = Self::sealed_error(table, column, id);
        if let Ok(Stored::V1(parsed)) = parse_stored(stored) {
            let key = self
                .keys
                .get(parsed.key_id)
                .ok_or_else(|| fail(EnvelopeError::UnknownKey(parsed.key_id.to_owned())))?;
            return envelope::open_data_key(&key, Place { table, column, id }, &parsed)
                .map_err(fail);
        }
        let bytes = self.open_in_case(case, table, column, id, stored)?;
        let key: [u8; crate::crypto::envelope::KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| fail(EnvelopeError::Malformed("a file key of the wrong length")))?;
        Ok(Zeroizing::new(key))
    }

    /// [`Storage::seal`] for text.
    pub fn seal_text(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        text: &str,
    ) -> Result<Vec<u8>, StorageError> {
        self.seal(table, column, id, text.as_bytes())
    }

    /// [`Storage::seal_in_case`] for text.
    pub fn seal_text_in_case(
        &self,
        case: &CaseKey,
        table: &'static str,
        column: &'static str,
        id: &str,
        text: &str,
    ) -> Result<Vec<u8>, StorageError> {
        self.seal_in_case(case, table, column, id, text.as_bytes())
    }

    /// [`Storage::open`] for text.
    pub fn open_text(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &[u8],
    ) -> Result<String, StorageError> {
        self.open_text_in_case(None, table, column, id, stored)
    }

    /// [`Storage::open_in_case`] for text.
    pub fn open_text_in_case(
        &self,
        case: Option<&CaseKey>,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &[u8],
    ) -> Result<String, StorageError> {
        let bytes = self.open_in_case(case, table, column, id, stored)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| StorageError::Corrupt {
            column,
            reason: "sealed text is not UTF-8".to_owned(),
        })
    }

    /// [`Storage::seal`] for a JSON document.
    pub fn seal_json(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        value: &Value,
    ) -> Result<Vec<u8>, StorageError> {
        let text = Zeroizing::new(value.to_string());
        self.seal(table, column, id, text.as_bytes())
    }

    /// [`Storage::seal_in_case`] for a JSON document.
    pub fn seal_json_in_case(
        &self,
        case: &CaseKey,
        table: &'static str,
        column: &'static str,
        id: &str,
        value: &Value,
    ) -> Result<Vec<u8>, StorageError> {
        let text = Zeroizing::new(value.to_string());
        self.seal_in_case(case, table, column, id, text.as_bytes())
    }

    /// [`Storage::open`] for a JSON document.
    pub fn open_json(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &[u8],
    ) -> Result<Value, StorageError> {
        self.open_json_in_case(None, table, column, id, stored)
    }

    /// [`Storage::open_in_case`] for a JSON document.
    pub fn open_json_in_case(
        &self,
        case: Option<&CaseKey>,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &[u8],
    ) -> Result<Value, StorageError> {
        let text = Zeroizing::new(self.open_text_in_case(case, table, column, id, stored)?);
        parse_json(column, &text)
    }

    /// A new case's key and its `case_keys` row (key id, wrapped key), made before the
    /// transaction that stores the referral inserts it ([`insert_case_key`]).
    pub(crate) fn new_case_key(
        &self,
        referral_id: &str,
    ) -> Result<(CaseKey, CaseKeyRow), StorageError> {
        let fail = Self::sealed_error("case_keys", "wrapped", referral_id);
        let case = CaseKey::generate(referral_id).map_err(&fail)?;
        let master = self.keys.current();
        let wrapped = sealed::wrap_case_key(&master, &case).map_err(fail)?;
        Ok((
            case,
            CaseKeyRow {
                key_id: master.id().to_owned(),
                wrapped,
            },
        ))
    }

    /// The key of the case `referral_id`, to open its values: `None` when the case has
    /// none (all its values predate case keys) or its key was destroyed, in which case its
    /// `hv2` values do not open. Read outside any write transaction.
    pub async fn case_key(&self, referral_id: &str) -> Result<Option<CaseKey>, StorageError> {
        let row = query("SELECT key_id, wrapped FROM case_keys WHERE referral_id = $1")
            .bind(referral_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let key_id: Option<String> = row.try_get(0)?;
        let wrapped: Option<Vec<u8>> = row.try_get(1)?;
        match (key_id, wrapped) {
            (Some(key_id), Some(wrapped)) => self
                .unwrap_case_key(referral_id, &key_id, &wrapped)
                .map(Some),
            _ => Ok(None),
        }
    }

    pub(crate) fn unwrap_case_key(
        &self,
        referral_id: &str,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<CaseKey, StorageError> {
        let fail = Self::sealed_error("case_keys", "wrapped", referral_id);
        let master = self
            .keys
            .get(key_id)
            .ok_or_else(|| fail(EnvelopeError::UnknownKey(key_id.to_owned())))?;
        sealed::unwrap_case_key(&master, referral_id, wrapped).map_err(fail)
    }

    /// The key of the case `referral_id`, to seal a new value of it: created when the case
    /// has none yet (a case from before case keys). A destroyed key is never re-created:
    /// nothing new is sealed for a shredded case. Call it before the write transaction (on
    /// SQLite the writer is one connection).
    pub async fn case_key_for_write(&self, referral_id: &str) -> Result<CaseKey, StorageError> {
        if let Some(case) = self.case_key(referral_id).await? {
            return Ok(case);
        }
        let (_, row) = self.new_case_key(referral_id)?;
        // ON CONFLICT: another writer created it meanwhile (theirs is kept and read back), or
        // it was destroyed (the tombstone stays).
        query(
            "INSERT INTO case_keys (referral_id, key_id, wrapped, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (referral_id) DO NOTHING",
        )
        .bind(referral_id)
        .bind(&row.key_id)
        .bind(&row.wrapped)
        .bind(timestamp(self.now()))
        .execute(&self.writer)
        .await?;
        match self.case_key(referral_id).await? {
            Some(stored) => Ok(stored),
            None => Err(StorageError::Sealed {
                table: "case_keys",
                column: "wrapped",
                id: referral_id.to_owned(),
                reason: EnvelopeError::NoCaseKey,
            }),
        }
    }

    /// [`Storage::case_key_for_write`] inside the caller's write transaction.
    pub(crate) async fn case_key_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        referral_id: &str,
    ) -> Result<CaseKey, StorageError> {
        let select = "SELECT key_id, wrapped, destroyed_at FROM case_keys WHERE referral_id = $1";
        let row = query(select)
            .bind(referral_id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(row) = row {
            let key_id: Option<String> = row.try_get(0)?;
            let wrapped: Option<Vec<u8>> = row.try_get(1)?;
            return match (key_id, wrapped) {
                (Some(key_id), Some(wrapped)) => {
                    self.unwrap_case_key(referral_id, &key_id, &wrapped)
                }
                _ => Err(StorageError::Sealed {
                    table: "case_keys",
                    column: "wrapped",
                    id: referral_id.to_owned(),
                    reason: EnvelopeError::NoCaseKey,
                }),
            };
        }
        let (case, row) = self.new_case_key(referral_id)?;
        insert_case_key(tx, referral_id, &row, &timestamp(self.now())).await?;
        Ok(case)
    }

    /// Destroys the data key of the case with this reference (crypto-shredding): every
    /// value sealed under it, in this database and in every backup of it, no longer opens.
    /// The row stays as a tombstone (key and wrapped key NULL, `destroyed_at` set) so no new
    /// key is made for the case. Values of the case still in the older formats (`hv1:`, or
    /// under a key of their own) are not covered: run `haven keys upgrade` first. Returns
    /// whether a key was destroyed.
    #[instrument(skip_all)]
    pub async fn destroy_case_key(&self, reference: &str) -> Result<bool, StorageError> {
        let now = timestamp(self.now());
        let mut tx = self.begin_write().await?;
        let referral_id: Option<String> = query("SELECT id FROM referrals WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        let Some(referral_id) = referral_id else {
            return Ok(false);
        };
        // The tombstone also stops a later write from creating a fresh key for the case.
        query(
            "INSERT INTO case_keys (referral_id, key_id, wrapped, created_at, destroyed_at)
             VALUES ($1, NULL, NULL, $2, $2)
             ON CONFLICT (referral_id) DO UPDATE SET key_id = NULL, wrapped = NULL,
                 destroyed_at = $2",
        )
        .bind(&referral_id)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let entry = AuditEntry::new(
            self.now(),
            "system",
            "case_key.destroyed",
            "referral",
            &referral_id,
        );
        append_in(&mut tx, &self.audit, &entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Re-wraps every value whose own data key is not wrapped under the current master
    /// key, and every case key likewise, `batch` rows per transaction, while servers keep
    /// reading and writing. Values of a case under its case key are not touched (their
    /// case key is re-wrapped). `hv1:` values are re-wrapped and stay `hv1:`; `haven keys
    /// upgrade` ([`Storage::upgrade_all`]) re-seals them.
    ///
    /// Each row is updated with a compare-and-swap on the value read (`WHERE col = old`):
    /// a row another server changed meanwhile is left as that server wrote it and looked
    /// at again in the next pass, so no concurrent write is ever lost. Only wrapped keys
    /// change; content ciphertext is copied as it is.
    #[instrument(skip_all)]
    pub async fn rewrap_all(&self, batch: u32) -> Result<RewrapReport, StorageError> {
        let mut report = RewrapReport::default();
        for sealed in SEALED_COLUMNS {
            self.pass_over_column(sealed, Pass::Rotate, batch.max(1), &mut report)
                .await?;
        }
        self.rewrap_case_keys(batch.max(1), &mut report).await?;
        Ok(report)
    }

    /// Re-seals every `hv1:` value in the `hv2` format (compressed, binary), and moves every
    /// value of a case still under a key of its own to its case key (making case keys for
    /// cases from before them). Decrypts and re-encrypts content, unlike rotation. Run by
    /// `haven keys upgrade`; safe beside serving instances (compare-and-swap, as rotation).
    #[instrument(skip_all)]
    pub async fn upgrade_all(&self, batch: u32) -> Result<RewrapReport, StorageError> {
        let mut report = RewrapReport::default();
        for sealed in SEALED_COLUMNS {
            self.pass_over_column(sealed, Pass::Upgrade, batch.max(1), &mut report)
                .await?;
        }
        Ok(report)
    }

    /// Seals second-factor secrets still stored in plaintext (written before those columns
    /// were sealed), so that a database from an older Haven keeps working: opening one would
    /// otherwise fail at sign-in. Run by `haven serve` at start-up; the tables are small
    /// (one row per account, per signing-in session). Sealed values are left alone.
    #[instrument(skip_all)]
    pub async fn seal_legacy_secrets(&self) -> Result<RewrapReport, StorageError> {
        let mut report = RewrapReport::default();
        for sealed in SEALED_COLUMNS
            .iter()
            .filter(|c| c.column.ends_with("totp_secret"))
        {
            self.pass_over_column(sealed, Pass::LegacyOnly, 100, &mut report)
                .await?;
        }
        if report.sealed_plaintext > 0 {
            self.purge_old_row_versions().await?;
        }
        Ok(report)
    }

    /// Rewrites the database so that no copy of a value just replaced survives in a free
    /// page, the SQLite write-ahead log or a dead PostgreSQL row version. Only after sealing
    /// legacy plaintext: rare, and quick on the small tables it follows.
    async fn purge_old_row_versions(&self) -> Result<(), StorageError> {
        let statements: &[&str] = match self.kind() {
            DatabaseKind::Sqlite => &[
                "PRAGMA wal_checkpoint(TRUNCATE)",
                "VACUUM",
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ],
            DatabaseKind::Postgres => &["VACUUM FULL staff_users", "VACUUM FULL staff_sessions"],
        };
        for statement in statements {
            query(*statement).execute(&self.writer).await?;
        }
        Ok(())
    }

    /// One pass of `pass` over one column, `batch` rows per transaction.
    async fn pass_over_column(
        &self,
        sealed: &SealedColumn,
        pass: Pass,
        batch: u32,
        report: &mut RewrapReport,
    ) -> Result<(), StorageError> {
        let SealedColumn {
            table,
            column,
            id_column,
            id_kind,
            case_column,
        } = *sealed;
        let case_column = case_column.unwrap_or("NULL");
        // Names come from SEALED_COLUMNS (constants), never from input. Pages are walked in
        // id order from the last id seen, so each pass reads every row once (through the
        // primary key) however large the table. Which values need work is decided here, not
        // in SQL: the two formats cannot be told apart by one pattern on both engines.
        let select = format!(
            "SELECT {id_column}, {column}, {case_column} FROM {table}
             WHERE {id_column} > $1 AND {column} IS NOT NULL
             ORDER BY {id_column} LIMIT $2"
        );
        let update =
            format!("UPDATE {table} SET {column} = $1 WHERE {id_column} = $2 AND {column} = $3");
        let mut failed: HashSet<String> = HashSet::new();
        let current = self.keys.current();
        // Another pass picks up rows a concurrent writer changed under us; stop when a pass
        // finds nothing left to do (bounded, in case a server keeps sealing under an old key:
        // `haven keys rotate` then reports the values left).
        for _pass in 0..MAX_PASSES {
            let mut after = RowId::first(id_kind);
            let mut worked = false;
            loop {
                let rows = after
                    .bind(query(AssertSqlSafe(select.clone())))
                    .bind(i64::from(batch))
                    .fetch_all(self.pool())
                    .await?;
                let Some(last) = rows.last() else {
                    break;
                };
                after = RowId::read(id_kind, last)?;
                // Work out every new value first: an upgrade may create case keys, which
                // writes, and on SQLite the writer is one connection.
                let mut changes = Vec::new();
                for row in &rows {
                    let id = RowId::read(id_kind, row)?;
                    let id_text = id.to_string();
                    if failed.contains(&id_text) {
                        continue;
                    }
                    let old: Vec<u8> = row.try_get(1)?;
                    // An empty value is content the retention schedule destroyed (an
                    // email's original): nothing to seal again.
                    if old.is_empty() {
                        continue;
                    }
                    let case_id: Option<String> = row.try_get(2)?;
                    match self
                        .changed(
                            pass,
                            &current,
                            (table, column, &id_text),
                            case_id.as_deref(),
                            &old,
                        )
                        .await
                    {
                        Ok(None) => {}
                        Ok(Some((new, kind))) => changes.push((id, old, new, kind)),
                        Err(StorageError::Sealed { reason, .. }) => {
                            report
                                .failed
                                .push(format!("{table}.{column} {id_text}: {reason}"));
                            failed.insert(id_text);
                        }
                        Err(e) => return Err(e),
                    }
                }
                if changes.is_empty() {
                    continue;
                }
                worked = true;
                let mut tx = self.begin_write().await?;
                for (id, old, new, kind) in changes {
                    let q = query(AssertSqlSafe(update.clone())).bind(new);
                    let swapped = id
                        .bind(q)
                        .bind(old)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    match (swapped, kind) {
                        // Another writer changed the row since it was read: its value is
                        // kept and looked at again in the next pass.
                        (0, _) => report.raced += 1,
                        (_, Change::SealedPlaintext) => report.sealed_plaintext += 1,
                        (_, Change::Rewrapped) => report.rewrapped += 1,
                        (_, Change::Upgraded) => report.upgraded += 1,
                    }
                }
                tx.commit().await?;
            }
            if !worked {
                break;
            }
        }
        Ok(())
    }

    /// The new stored form of one value for `pass`, or `None` when it needs nothing.
    async fn changed(
        &self,
        pass: Pass,
        current: &MasterKey,
        (table, column, id): (&'static str, &'static str, &str),
        case_id: Option<&str>,
        old: &[u8],
    ) -> Result<Option<(Vec<u8>, Change)>, StorageError> {
        let fail = Self::sealed_error(table, column, id);
        let place = Place { table, column, id };
        let parsed = match parse_stored(old) {
            Ok(parsed) => parsed,
            Err(EnvelopeError::NotSealed) => {
                // Plaintext written before its column was sealed.
                let new = match case_id {
                    Some(case_id) if pass == Pass::Upgrade => {
                        let case = self.case_key_for_write(case_id).await?;
                        sealed::seal_in_case(&case, place, old)
                    }
                    _ => sealed::seal_with_value_key(current, place, old),
                };
                return Ok(Some((new.map_err(fail)?, Change::SealedPlaintext)));
            }
            Err(e) => return Err(fail(e)),
        };
        if pass == Pass::LegacyOnly {
            return Ok(None);
        }
        let master = |key_id: &str| {
            self.keys
                .get(key_id)
                .ok_or_else(|| fail(EnvelopeError::UnknownKey(key_id.to_owned())))
        };
        match (pass, parsed) {
            (Pass::Rotate, Stored::V1(env)) if env.key_id != current.id() => {
                let new =
                    envelope::rewrap(&master(env.key_id)?, current, place, &env).map_err(&fail)?;
                Ok(Some((new.into_bytes(), Change::Rewrapped)))
            }
            (Pass::Rotate, Stored::V2(v2)) => match v2.lock {
                Lock::ValueKey { key_id, .. } if key_id != current.id() => {
                    let new =
                        sealed::rewrap(&master(key_id)?, current, place, &v2).map_err(&fail)?;
                    Ok(Some((new, Change::Rewrapped)))
                }
                _ => Ok(None),
            },
            (Pass::Upgrade, parsed) => {
                let needs_upgrade = match parsed {
                    Stored::V1(_) => true,
                    // A case's value still under a key of its own (sealed before the row
                    // belonged to a case, as a draft's upload): moved to the case key.
                    Stored::V2(v2) => matches!(v2.lock, Lock::ValueKey { .. }) && case_id.is_some(),
                };
                if !needs_upgrade {
                    return Ok(None);
                }
                let plaintext = self.open(table, column, id, old)?;
                let new = match case_id {
                    Some(case_id) => {
                        let case = self.case_key_for_write(case_id).await?;
                        sealed::seal_in_case(&case, place, &plaintext)
                    }
                    None => sealed::seal_with_value_key(current, place, &plaintext),
                };
                Ok(Some((new.map_err(fail)?, Change::Upgraded)))
            }
            _ => Ok(None),
        }
    }

    /// Moves the files of the case `referral_id` still sealed under keys of their own (a
    /// draft's or an upload's, just claimed) under the case's key: their file names, file
    /// keys and one-piece contents are re-sealed (a chunked file's chunks stay as they are:
    /// only its file key changes hands). Run after the claiming transaction commits, with
    /// compare-and-swap writes; were it cut short, the files still open and `haven keys
    /// upgrade` finishes the move.
    pub(crate) async fn move_files_into_case(&self, referral_id: &str) -> Result<(), StorageError> {
        let current = self.keys.current();
        for column in ["filename", "content", "file_key"] {
            let select = format!(
                "SELECT id, {column} FROM public_attachments
                 WHERE referral_id = $1 AND {column} IS NOT NULL"
            );
            let rows = query(AssertSqlSafe(select))
                .bind(referral_id)
                .fetch_all(self.pool())
                .await?;
            let mut changes = Vec::new();
            for row in &rows {
                let id: String = row.try_get(0)?;
                let old: Vec<u8> = row.try_get(1)?;
                let place = ("public_attachments", column, id.as_str());
                if let Some((new, _)) = self
                    .changed(Pass::Upgrade, &current, place, Some(referral_id), &old)
                    .await?
                {
                    changes.push((id, old, new));
                }
            }
            if changes.is_empty() {
                continue;
            }
            let update = format!(
                "UPDATE public_attachments SET {column} = $1 WHERE id = $2 AND {column} = $3"
            );
            let mut tx = self.begin_write().await?;
            for (id, old, new) in changes {
                query(AssertSqlSafe(update.clone()))
                    .bind(new)
                    .bind(id)
                    .bind(old)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Re-wraps every case key not under the current master key (`case_keys`).
    async fn rewrap_case_keys(
        &self,
        batch: u32,
        report: &mut RewrapReport,
    ) -> Result<(), StorageError> {
        let current = self.keys.current();
        let mut after = String::new();
        loop {
            let rows = query(
                "SELECT referral_id, key_id, wrapped FROM case_keys
                 WHERE referral_id > $1 AND wrapped IS NOT NULL AND key_id <> $2
                 ORDER BY referral_id LIMIT $3",
            )
            .bind(&after)
            .bind(current.id())
            .bind(i64::from(batch))
            .fetch_all(self.pool())
            .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.try_get(0)?;
            let mut tx = self.begin_write().await?;
            for row in &rows {
                let referral_id: String = row.try_get(0)?;
                let key_id: String = row.try_get(1)?;
                let wrapped: Vec<u8> = row.try_get(2)?;
                let case = match self.unwrap_case_key(&referral_id, &key_id, &wrapped) {
                    Ok(case) => case,
                    Err(e) => {
                        report.failed.push(format!("case_keys {referral_id}: {e}"));
                        continue;
                    }
                };
                let new = sealed::wrap_case_key(&current, &case).map_err(Self::sealed_error(
                    "case_keys",
                    "wrapped",
                    &referral_id,
                ))?;
                // Compare-and-swap, as for values: a key destroyed meanwhile stays destroyed.
                let swapped = query(
                    "UPDATE case_keys SET key_id = $1, wrapped = $2
                     WHERE referral_id = $3 AND wrapped = $4",
                )
                .bind(current.id())
                .bind(new)
                .bind(&referral_id)
                .bind(wrapped)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if swapped == 0 {
                    report.raced += 1;
                } else {
                    report.rewrapped += 1;
                }
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// How many values (and case keys) each key of the ring wraps, over every sealed column.
    #[instrument(skip_all)]
    pub async fn key_usage(&self) -> Result<Vec<KeyUsage>, StorageError> {
        let counts = self.count_by_master_key().await?;
        Ok(self
            .keys
            .keys()
            .into_iter()
            .map(|(key_id, status)| KeyUsage {
                values: counts.get(&key_id).copied().unwrap_or(0),
                key_id,
                status,
            })
            .collect())
    }

    /// Values per master key id: each value's own wrapped key (`hv1:` or `hv2`), and each
    /// case key. Read page by page in id order (admin commands, not a request path).
    async fn count_by_master_key(&self) -> Result<HashMap<String, u64>, StorageError> {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for SealedColumn {
            table,
            column,
            id_column,
            id_kind,
            ..
        } in SEALED_COLUMNS
        {
            let select = format!(
                "SELECT {id_column}, {column} FROM {table}
                 WHERE {id_column} > $1 AND {column} IS NOT NULL
                 ORDER BY {id_column} LIMIT 1000"
            );
            let mut after = RowId::first(*id_kind);
            loop {
                let rows = after
                    .bind(query(AssertSqlSafe(select.clone())))
                    .fetch_all(self.pool())
                    .await?;
                let Some(last) = rows.last() else {
                    break;
                };
                after = RowId::read(*id_kind, last)?;
                for row in &rows {
                    let stored: Vec<u8> = row.try_get(1)?;
                    let key_id = match parse_stored(&stored) {
                        Ok(Stored::V1(env)) => env.key_id,
                        Ok(Stored::V2(Sealed {
                            lock: Lock::ValueKey { key_id, .. },
                            ..
                        })) => key_id,
                        _ => continue,
                    };
                    *counts.entry(key_id.to_owned()).or_default() += 1;
                }
            }
        }
        let rows = query(
            "SELECT key_id, COUNT(*) FROM case_keys WHERE key_id IS NOT NULL GROUP BY key_id",
        )
        .fetch_all(self.pool())
        .await?;
        for row in &rows {
            let key_id: String = row.try_get(0)?;
            let n = u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0);
            *counts.entry(key_id).or_default() += n;
        }
        Ok(counts)
    }

    /// Removes from the key ring file every retired key that no value uses any more;
    /// returns the removed ids and the retired keys kept (still in use) with their counts.
    #[instrument(skip_all)]
    pub async fn prune_keys(&self) -> Result<(Vec<String>, Vec<KeyUsage>), StorageError> {
        // The file may have changed since this process loaded it.
        self.keys.reload()?;
        let mut unused = Vec::new();
        let mut kept = Vec::new();
        for usage in self.key_usage().await? {
            match (usage.status, usage.values) {
                (KeyStatus::Current, _) => {}
                (KeyStatus::Retired, 0) => unused.push(usage.key_id),
                (KeyStatus::Retired, _) => kept.push(usage),
            }
        }
        if !unused.is_empty() {
            self.keys.remove_retired(&unused)?;
        }
        Ok((unused, kept))
    }
}

/// A case key's row in `case_keys`, for a new referral.
pub(crate) struct CaseKeyRow {
    pub key_id: String,
    pub wrapped: Vec<u8>,
}

/// Inserts a new case's key row in the caller's transaction (beside its referral).
pub(crate) async fn insert_case_key(
    tx: &mut Transaction<'static, Any>,
    referral_id: &str,
    row: &CaseKeyRow,
    now: &str,
) -> Result<(), StorageError> {
    insert_case_keys(tx, &[(referral_id, row, now)]).await
}

/// Inserts new cases' key rows `(referral id, key, created at)` in the caller's transaction,
/// in multi-row INSERTs ([`super::referrals::statement_chunks`]).
pub(crate) async fn insert_case_keys(
    tx: &mut Transaction<'static, Any>,
    keys: &[(&str, &CaseKeyRow, &str)],
) -> Result<(), StorageError> {
    for chunk in super::referrals::statement_chunks(keys, 1024) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| super::referrals::placeholders(i * 4, 4))
            .collect();
        let sql = format!(
            "INSERT INTO case_keys (referral_id, key_id, wrapped, created_at) VALUES {}",
            values.join(", ")
        );
        let mut insert = query(AssertSqlSafe(sql));
        for (referral_id, row, created_at) in chunk {
            insert = insert
                .bind(*referral_id)
                .bind(row.key_id.as_str())
                .bind(row.wrapped.as_slice())
                .bind(*created_at);
        }
        insert
            .execute(&mut **tx)
            .await
            .map_err(StorageError::from_write)?;
    }
    Ok(())
}

/// What changed in one value.
#[derive(Debug, Clone, Copy)]
enum Change {
    SealedPlaintext,
    Rewrapped,
    Upgraded,
}

fn registered(table: &'static str, column: &'static str) -> Result<(), StorageError> {
    if SEALED_COLUMNS
        .iter()
        .any(|c| c.table == table && c.column == column)
    {
        Ok(())
    } else {
        Err(StorageError::NotRegistered { table, column })
    }
}
