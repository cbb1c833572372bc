//! Case content sealed at rest: the one list of sealed columns, sealing and opening values,
//! and re-wrapping every value under a new master key (`haven keys rotate`).
//!
//! Storage seals on write and opens on read, so callers pass and receive plaintext. To seal
//! a new column: add it to [`SEALED_COLUMNS`], store `storage.seal_text(table, column, id,
//! text)?` (or `seal`/`seal_json`) in place of the plaintext, and read it back with
//! `storage.open_text(...)`. [`Storage::seal`] refuses a column missing from the list, so
//! no column can be sealed without also being re-wrapped on rotation. See
//! `docs/ARCHITECTURE.md` ("Encryption at rest").

use std::collections::HashSet;

use serde_json::Value;
use sqlx::{AssertSqlSafe, Row, query};
use tracing::instrument;
use zeroize::Zeroizing;

use super::{Storage, StorageError, parse_json};
use crate::config::DatabaseKind;
use crate::crypto::envelope::{self, Envelope, EnvelopeError, Place};
use crate::crypto::keyring::{KeyRing, KeyStatus, MasterKey};

/// The type of a table's id column (bound as such when a row is updated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// TEXT ids (`crypto::new_id`).
    Text,
    /// INTEGER / BIGINT identity ids.
    Integer,
}

/// A column whose values are sealed, and how to find each value's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
    /// The row's id column: its value is bound into the ciphertext (so a value moved to
    /// another row fails to open) and is how rotation updates the row.
    pub id_column: &'static str,
    pub id_kind: IdKind,
}

impl SealedColumn {
    const fn text_id(table: &'static str, column: &'static str) -> Self {
        Self {
            table,
            column,
            id_column: "id",
            id_kind: IdKind::Text,
        }
    }

    /// A TEXT key column other than `id`.
    const fn text_key(table: &'static str, column: &'static str, id_column: &'static str) -> Self {
        Self {
            table,
            column,
            id_column,
            id_kind: IdKind::Text,
        }
    }

    const fn integer_id(table: &'static str, column: &'static str) -> Self {
        Self {
            table,
            column,
            id_column: "id",
            id_kind: IdKind::Integer,
        }
    }
}

/// Every sealed column, in one place. Rotation re-wraps exactly these; `seal` refuses any
/// other. Keep queue metadata (service, status, band, dates, team, assignee) out of it: it
/// must stay queryable.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn::text_id("referrals", "answers"),
    SealedColumn::text_id("referrals", "screening"),
    SealedColumn::integer_id("referral_events", "reason"),
    SealedColumn::integer_id("referral_events", "detail"),
    // Job payloads name recipients (emails to referrers and reporters).
    SealedColumn::text_id("jobs", "payload"),
    SealedColumn::text_id("public_drafts", "answers"),
    // File names may name the child ("Zephyrine_assessment.pdf").
    SealedColumn::text_id("public_attachments", "filename"),
    SealedColumn::text_id("public_attachments", "content"),
    // The data key of a file sealed in chunks (`public_attachment_chunks`): re-wrapping it
    // is all rotation does for such a file; the chunks never change.
    SealedColumn::text_id("public_attachments", "file_key"),
    SealedColumn::text_id("case_notes", "body"),
    SealedColumn::text_id("reporter_messages", "body"),
    // Second-factor secrets: whoever reads one can make that account's codes.
    SealedColumn::text_id("staff_users", "totp_secret"),
    SealedColumn::text_key("staff_sessions", "pending_totp_secret", "id_hash"),
    // Why an account's permissions changed: free text from the admin page.
    SealedColumn::text_id("staff_permission_changes", "reason"),
    // Casework: a meeting's place, who attended and notes; plan goals, actions, reviews;
    // the closing summary.
    SealedColumn::text_id("case_meetings", "content"),
    SealedColumn::text_id("plan_goals", "body"),
    SealedColumn::text_id("plan_actions", "body"),
    SealedColumn::text_id("plan_reviews", "summary"),
    SealedColumn::text_id("case_closures", "narrative"),
    // The exact files handed over for onward referrals.
    SealedColumn::text_id("onward_exports", "content"),
    // Later stages of a case (Cyber Choices' detailed referral: names, addresses, handles).
    SealedColumn::text_id("referral_stages", "answers"),
    // Onward referrals: the recipient may name a person; the rest is staff free text.
    SealedColumn::text_id("onward_referrals", "recipient"),
    SealedColumn::text_id("onward_referrals", "consent_reason"),
    SealedColumn::text_id("onward_referrals", "notes"),
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

/// What [`Storage::rewrap_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// Values whose data key is now wrapped under the current master key.
    pub rewrapped: u64,
    /// Plaintext values (written before their column was sealed) now sealed.
    pub sealed_plaintext: u64,
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
    pub values: u64,
}

impl Storage {
    /// The master keys this storage seals and opens with.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Seals `plaintext` for the row `id` of `table.column` under the current master key;
    /// store the returned text in that column.
    pub fn seal(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        plaintext: &[u8],
    ) -> Result<String, StorageError> {
        registered(table, column)?;
        let place = Place { table, column, id };
        envelope::seal(&self.keys.current(), place, plaintext).map_err(|reason| {
            StorageError::Sealed {
                table,
                column,
                id: id.to_owned(),
                reason,
            }
        })
    }

    /// Opens a value read from the row `id` of `table.column`. A value edited, moved from
    /// another row or column, or wrapped under an unknown key is [`StorageError::Sealed`].
    pub fn open(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &str,
    ) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        let fail = |reason| StorageError::Sealed {
            table,
            column,
            id: id.to_owned(),
            reason,
        };
        let parsed = Envelope::parse(stored).map_err(fail)?;
        let key = self
            .keys
            .get(parsed.key_id)
            .ok_or_else(|| fail(EnvelopeError::UnknownKey(parsed.key_id.to_owned())))?;
        envelope::open(&key, Place { table, column, id }, &parsed).map_err(fail)
    }

    /// A fresh data key for the row `id` of `table.column` and the sealed value to store
    /// there (the key wrapped under the current master key): see `crypto/stream.rs`.
    pub fn seal_data_key(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
    ) -> Result<(String, crate::crypto::stream::FileKey), StorageError> {
        registered(table, column)?;
        let place = Place { table, column, id };
        envelope::seal_data_key(&self.keys.current(), place).map_err(|reason| {
            StorageError::Sealed {
                table,
                column,
                id: id.to_owned(),
                reason,
            }
        })
    }

    /// The data key stored by [`Storage::seal_data_key`].
    pub fn open_data_key(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &str,
    ) -> Result<crate::crypto::stream::FileKey, StorageError> {
        let fail = |reason| StorageError::Sealed {
            table,
            column,
            id: id.to_owned(),
            reason,
        };
        let parsed = Envelope::parse(stored).map_err(fail)?;
        let key = self
            .keys
            .get(parsed.key_id)
            .ok_or_else(|| fail(EnvelopeError::UnknownKey(parsed.key_id.to_owned())))?;
        envelope::open_data_key(&key, Place { table, column, id }, &parsed).map_err(fail)
    }

    /// [`Storage::seal`] for text.
    pub fn seal_text(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        text: &str,
    ) -> Result<String, StorageError> {
        self.seal(table, column, id, text.as_bytes())
    }

    /// [`Storage::open`] for text.
    pub fn open_text(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &str,
    ) -> Result<String, StorageError> {
        let bytes = self.open(table, column, id, stored)?;
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
    ) -> Result<String, StorageError> {
        let text = Zeroizing::new(value.to_string());
        self.seal(table, column, id, text.as_bytes())
    }

    /// [`Storage::open`] for a JSON document.
    pub fn open_json(
        &self,
        table: &'static str,
        column: &'static str,
        id: &str,
        stored: &str,
    ) -> Result<Value, StorageError> {
        let text = Zeroizing::new(self.open_text(table, column, id, stored)?);
        parse_json(column, &text)
    }

    /// Re-wraps every sealed value whose data key is not wrapped under the current master
    /// key, `batch` rows per transaction, while servers keep reading and writing.
    ///
    /// Each row is updated with a compare-and-swap on the value read (`WHERE col = old`):
    /// a row another server changed meanwhile is left as that server wrote it and looked
    /// at again in the next batch, so no concurrent write is ever lost. Only the wrapped
    /// data key changes; the content ciphertext is copied as it is.
    #[instrument(skip_all)]
    pub async fn rewrap_all(&self, batch: u32) -> Result<RewrapReport, StorageError> {
        let current = self.keys.current();
        let mut report = RewrapReport::default();
        for sealed in SEALED_COLUMNS {
            self.rewrap_column(sealed, &current, batch.max(1), &mut report)
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
        let current = self.keys.current();
        let mut report = RewrapReport::default();
        for sealed in SEALED_COLUMNS
            .iter()
            .filter(|c| c.column.ends_with("totp_secret"))
        {
            self.rewrap_column_except(sealed, &current, 100, "hv1:%", &mut report)
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

    async fn rewrap_column(
        &self,
        sealed: &SealedColumn,
        current: &MasterKey,
        batch: u32,
        report: &mut RewrapReport,
    ) -> Result<(), StorageError> {
        let under_current = format!("hv1:{}:%", current.id());
        self.rewrap_column_except(sealed, current, batch, &under_current, report)
            .await
    }

    /// [`Storage::rewrap_all`] for one column, skipping values `LIKE skip` (those already
    /// under the current key; or, for [`Storage::seal_legacy_secrets`], every sealed one).
    async fn rewrap_column_except(
        &self,
        sealed: &SealedColumn,
        current: &MasterKey,
        batch: u32,
        skip: &str,
        report: &mut RewrapReport,
    ) -> Result<(), StorageError> {
        let SealedColumn {
            table,
            column,
            id_column,
            id_kind,
        } = *sealed;
        // Names come from SEALED_COLUMNS (constants), never from input. Pages are walked in
        // id order from the last id seen, so each pass reads every row once (through the
        // primary key) however large the table.
        let select = format!(
            "SELECT {id_column}, {column} FROM {table}
             WHERE {id_column} > $1 AND {column} IS NOT NULL AND {column} NOT LIKE $2
             ORDER BY {id_column} LIMIT $3"
        );
        let update =
            format!("UPDATE {table} SET {column} = $1 WHERE {id_column} = $2 AND {column} = $3");
        let mut failed: HashSet<String> = HashSet::new();
        // Another pass picks up rows a concurrent writer changed under us; stop when a pass
        // finds nothing left to do (bounded, in case a server keeps sealing under an old key:
        // `haven keys rotate` then reports the values left).
        for _pass in 0..MAX_PASSES {
            let mut after = RowId::first(id_kind);
            let mut worked = false;
            loop {
                let rows = after
                    .bind(query(AssertSqlSafe(select.clone())))
                    .bind(skip)
                    .bind(i64::from(batch))
                    .fetch_all(self.pool())
                    .await?;
                let Some(last) = rows.last() else {
                    break;
                };
                after = RowId::read(id_kind, last)?;
                let mut tx = self.begin_write().await?;
                for row in &rows {
                    let id = RowId::read(id_kind, row)?;
                    let id_text = id.to_string();
                    if failed.contains(&id_text) {
                        continue;
                    }
                    worked = true;
                    let old: String = row.try_get(1)?;
                    let place = Place {
                        table,
                        column,
                        id: &id_text,
                    };
                    let (new, was_plaintext) = match self.rewrapped(current, place, &old) {
                        Ok(done) => done,
                        Err(reason) => {
                            report
                                .failed
                                .push(format!("{table}.{column} {id_text}: {reason}"));
                            failed.insert(id_text);
                            continue;
                        }
                    };
                    let q = query(AssertSqlSafe(update.clone())).bind(new);
                    let swapped = id
                        .bind(q)
                        .bind(old)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    match (swapped, was_plaintext) {
                        // Another writer changed the row since it was read: its value is
                        // kept and looked at again in the next pass.
                        (0, _) => report.raced += 1,
                        (_, true) => report.sealed_plaintext += 1,
                        (_, false) => report.rewrapped += 1,
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

    /// The value re-wrapped under `current` (or sealed, when it is legacy plaintext).
    fn rewrapped(
        &self,
        current: &MasterKey,
        place: Place<'_>,
        old: &str,
    ) -> Result<(String, bool), EnvelopeError> {
        match Envelope::parse(old) {
            Ok(parsed) => {
                let key = self
                    .keys
                    .get(parsed.key_id)
                    .ok_or_else(|| EnvelopeError::UnknownKey(parsed.key_id.to_owned()))?;
                Ok((envelope::rewrap(&key, current, place, &parsed)?, false))
            }
            Err(EnvelopeError::NotSealed) => {
                Ok((envelope::seal(current, place, old.as_bytes())?, true))
            }
            Err(e) => Err(e),
        }
    }

    /// How many values each key of the ring wraps, over every sealed column.
    #[instrument(skip_all)]
    pub async fn key_usage(&self) -> Result<Vec<KeyUsage>, StorageError> {
        let mut usage = Vec::new();
        for (key_id, status) in self.keys.keys() {
            let values = self.count_sealed(&format!("hv1:{key_id}:%")).await?;
            usage.push(KeyUsage {
                key_id,
                status,
                values,
            });
        }
        Ok(usage)
    }

    async fn count_sealed(&self, pattern: &str) -> Result<u64, StorageError> {
        let mut total = 0u64;
        for SealedColumn { table, column, .. } in SEALED_COLUMNS {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} LIKE $1");
            let row = query(AssertSqlSafe(sql))
                .bind(pattern)
                .fetch_one(self.pool())
                .await?;
            total += u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0);
        }
        Ok(total)
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
