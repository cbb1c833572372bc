//! Storage: one code path over SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! All of Haven's SQL lives in this crate's modules, one per table group. What it exposes:
//! [`Storage`] (connect, migrate, and one method per use-case, defined in the modules),
//! [`StorageError`] and [`fault`] (what a failure means), the row types those methods
//! return, [`vault`] (the sealed columns and key rotation), [`seed`] (benchmark data),
//! [`config::DatabaseKind`] and the stored timestamp format ([`timestamp`]). It knows
//! nothing of HTTP, pages or templates; the `haven` crate re-exports it as `haven::storage`.
//!
//! Conventions that keep the single code path working (see `migrations/*/`): `$1`
//! placeholders; timestamps as TEXT RFC 3339 UTC; booleans as integers 0/1; JSON as TEXT;
//! random TEXT ids.
//!
//! Engine-specific statements are few and marked: SQLite write transactions start with
//! `BEGIN IMMEDIATE` (so a read-then-write never fails with a stale snapshot); on PostgreSQL
//! audit entries are written unsequenced and linked by [`audit_sequencer`], and a new
//! referral is one statement of data-modifying CTEs (`referrals::insert_referral_combined`,
//! issue 18), where SQLite writes a statement per table inside its group commit.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod actions;
pub mod attachments;
pub mod audit;
pub mod audit_sequencer;
pub mod casework;
pub mod clock;
pub mod config;
pub mod drafts;
pub mod email_intake;
pub mod fault;
mod fresh;
mod group_commit;
mod health;
pub mod intake_activity;
pub mod invites;
pub mod jobs;
pub mod mailbox_uids;
pub mod meetings;
pub mod onward;
pub mod outcomes;
pub mod people;
pub mod permissions;
pub mod plans;
pub mod queue;
pub mod referrals;
pub mod retention;
mod screening;
pub mod seed;
pub mod sessions;
pub mod sharing;
pub mod stats;
pub mod subject_access;
pub mod throttle;
pub mod tokens;
pub mod triage;
pub mod users;
pub mod vault;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};

// `crate::crypto::…` inside this crate is the `haven-crypto` crate (the same path as in the
// `haven` crate, so these files moved here unchanged).
use haven_crypto as crypto;

use crate::config::{DatabaseKind, database_kind};
use crate::crypto::envelope::EnvelopeError;
use crate::crypto::keyring::KeyRing;
use crate::crypto::{KeyError, SecretKey};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// A storage failure. Never shown to a client: the web layer logs it and answers 500/503.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A UNIQUE or PRIMARY KEY constraint refused the write (a duplicate email, a reference
    /// that happened to be taken, …). Callers decide whether to retry or report 409.
    #[error("conflict with an existing record")]
    Conflict,
    /// A value in the database could not be read back (a malformed timestamp or JSON).
    #[error("corrupt value in column {column}: {reason}")]
    Corrupt {
        column: &'static str,
        reason: String,
    },
    #[error("unsupported database URL (use sqlite: or postgres://)")]
    UnsupportedUrl,
    /// A sealed value did not open (altered, moved, or under an unknown master key), or
    /// could not be sealed. Never includes the value.
    #[error("sealed value {table}.{column} of record {id}: {reason}")]
    Sealed {
        table: &'static str,
        column: &'static str,
        id: String,
        reason: EnvelopeError,
    },
    /// A programming error: the column must be listed in `vault::SEALED_COLUMNS`.
    #[error(
        "{table}.{column} is not in storage::vault::SEALED_COLUMNS; add it there so key rotation re-wraps it"
    )]
    NotRegistered {
        table: &'static str,
        column: &'static str,
    },
    #[error("master keys: {0}")]
    Keys(#[from] KeyError),
    /// The task that writes new referrals has stopped (the server is shutting down).
    #[error("the referral writer has stopped")]
    WriterStopped,
    /// The SQLite database cannot grow: too few pages left under its `max_page_count`
    /// (the readiness probe's finding; a write would fail with SQLITE_FULL).
    #[error("the database has no room left to grow")]
    NoRoom,
    /// A file uploaded through the API (its id) was taken by another submission between
    /// the check and the write: the caller names the question that gave it.
    #[error("an uploaded file was used by another submission meanwhile")]
    UploadTaken(String),
}

impl StorageError {
    /// Maps a unique violation to [`StorageError::Conflict`], anything else to `Database`.
    pub(crate) fn from_write(e: sqlx::Error) -> Self {
        match e.as_database_error() {
            Some(db) if db.is_unique_violation() => StorageError::Conflict,
            _ => StorageError::Database(e),
        }
    }
}

/// The database, shared by every request. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
    /// Where write transactions run. On SQLite a pool of ONE connection: SQLite has one
    /// writer at a time anyway, and queueing writers here (in FIFO order, without sleeping)
    /// instead of in SQLite's busy handler (which polls with growing sleeps) is what keeps
    /// throughput and tail latency steady under concurrent submissions. Readers keep using
    /// `pool` in parallel (WAL). On PostgreSQL it is the same pool.
    writer: AnyPool,
    kind: DatabaseKind,
    /// Master keys that seal case content (see [`vault`]); never stored in the database.
    keys: KeyRing,
    /// On SQLite, the batching writer of new referrals ([`group_commit`]).
    group_commit: Option<group_commit::GroupCommit>,
    /// The audit chain's engine and key (derived from the server secret key; never stored).
    audit: audit::AuditChain,
    /// Whether a write recently failed for lack of space, I/O or a read-only database
    /// (`/readyz` answers 503 until a probe write succeeds).
    health: Arc<health::WriteHealth>,
    /// SQLite only, a fault-injection knob for tests and drills: the `max_page_count` every
    /// writer connection gets (0: SQLite's own limit). See [`Storage::limit_pages`].
    page_limit: Arc<AtomicU32>,
    /// The definitions compact screenings are rebuilt with ([`screening`]), parsed once.
    screening_rules: Arc<screening::RulesCache>,
    /// The person index's blind-token key (derived from the server secret key; never stored).
    people_key: people::PersonIndexKey,
    /// The matcher's fitted weights as last read (`match_params`), re-read after a minute
    /// (so a refit by `haven match reindex` reaches every server) or at once after a refit
    /// through this handle.
    match_params: Arc<people::ParamsCache>,
    /// Person-index tokens known to be over-common ([`people::CommonTokens`]).
    common_tokens: Arc<people::CommonTokens>,
    /// When this server last stored a new referral (background work gives way to intake).
    intake_activity: Arc<intake_activity::IntakeActivity>,
    /// The staff accounts as the queue page names them ([`Storage::staff_directory`]).
    staff_directory: Arc<fresh::Fresh<Arc<Vec<users::StaffUser>>>>,
    /// The service's one clock: every timestamp storage writes comes from it, and the web
    /// layer reads the same one (clones share the offset tests move forward).
    clock: clock::Clock,
}

impl Storage {
    /// Connects to `url` (SQLite files are created when missing). `keys` seal and open case
    /// content (`crypto::keyring::KeyRing::load_or_create`); the audit chain is keyed by a
    /// key derived from `secret` (the server secret key, the same on every server).
    pub async fn connect(
        url: &str,
        max_connections: u32,
        keys: KeyRing,
        secret: &SecretKey,
    ) -> Result<Self, StorageError> {
        install_default_drivers();
        let kind = database_kind(url).ok_or(StorageError::UnsupportedUrl)?;
        let page_limit = Arc::new(AtomicU32::new(0));
        let pool = pool_options(kind, max_connections, None)
            .connect(url)
            .await?;
        let writer = match kind {
            DatabaseKind::Sqlite => {
                pool_options(kind, 1, Some(page_limit.clone()))
                    .connect(url)
                    .await?
            }
            DatabaseKind::Postgres => pool.clone(),
        };
        let audit = audit::AuditChain {
            kind,
            key: audit::AuditKey::derive(secret),
        };
        let group_commit = match kind {
            DatabaseKind::Sqlite => Some(group_commit::GroupCommit::start(
                writer.clone(),
                audit.clone(),
            )),
            DatabaseKind::Postgres => None,
        };
        Ok(Self {
            pool,
            writer,
            kind,
            keys,
            group_commit,
            audit,
            health: Arc::default(),
            page_limit,
            screening_rules: Arc::default(),
            people_key: people::PersonIndexKey::derive(secret),
            match_params: Arc::default(),
            common_tokens: Arc::default(),
            intake_activity: Arc::default(),
            staff_directory: Arc::default(),
            clock: clock::Clock::default(),
        })
    }

    /// The service's one clock (shared: moving a clone moves this one).
    pub fn clock(&self) -> &clock::Clock {
        &self.clock
    }

    /// The time now, from [`Storage::clock`].
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Applies the migrations of this engine.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        let migrator = match self.kind {
            DatabaseKind::Sqlite => &SQLITE_MIGRATIONS,
            DatabaseKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        // Before the migrations: on a new database the switch costs nothing.
        self.enable_incremental_vacuum().await?;
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Checks the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Which engine this is.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The connection pool, for tests and tools that inspect the tables directly.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once, so
    /// a transaction that reads before writing cannot fail on a snapshot another writer
    /// made stale (`SQLITE_BUSY_SNAPSHOT`); waiting writers queue on the busy timeout.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, StorageError> {
        let tx = match self.kind {
            DatabaseKind::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            DatabaseKind::Postgres => self.writer.begin().await?,
        };
        Ok(tx)
    }
}

/// Creates `dir` (and parents) if missing, readable by its owner only.
pub fn ensure_data_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A timestamp as stored: RFC 3339 UTC with microseconds, fixed width so text order is time
/// order.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a stored timestamp back.
pub(crate) fn parse_timestamp(
    column: &'static str,
    text: &str,
) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Corrupt {
            column,
            reason: e.to_string(),
        })
}

/// Reads a stored date (`YYYY-MM-DD`) back.
pub(crate) fn parse_date(text: &str) -> Result<chrono::NaiveDate, StorageError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| StorageError::Corrupt {
        column: "date",
        reason: e.to_string(),
    })
}

/// Reads stored JSON back.
pub(crate) fn parse_json(
    column: &'static str,
    text: &str,
) -> Result<serde_json::Value, StorageError> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt {
        column,
        reason: e.to_string(),
    })
}

/// Booleans are stored as 0/1 on both engines.
pub(crate) fn flag(value: bool) -> i64 {
    i64::from(value)
}

/// Pool settings; SQLite connections get Haven's durability and safety pragmas, and the
/// writer's the injected page limit (`page_limit`, see [`Storage::limit_pages`]).
fn pool_options(
    kind: DatabaseKind,
    max_connections: u32,
    page_limit: Option<Arc<AtomicU32>>,
) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // A connection whose BEGIN, COMMIT or ROLLBACK failed can be left inside a
        // transaction (SQLite rolls back by itself on SQLITE_FULL or an I/O error, so the
        // driver's ROLLBACK then fails and its transaction depth stays at 1); handed out
        // again, every later BEGIN on it fails ("begin_with at non-zero transaction
        // depth") until a restart. Such a connection is closed instead and the pool opens
        // a fresh one, so the next request after space returns succeeds.
        .before_acquire(|conn, _meta| {
            Box::pin(async move {
                if conn.is_in_transaction() {
                    tracing::warn!("discarding a database connection left inside a transaction");
                    return Ok(false);
                }
                Ok(true)
            })
        });
    if kind != DatabaseKind::Sqlite {
        return options;
    }
    let is_writer = page_limit.is_some();
    options.after_connect(move |conn, _meta| {
        let page_limit = page_limit.as_ref().map_or(0, |l| l.load(Ordering::Relaxed));
        Box::pin(async move {
            // A new database gets 8 KiB pages (issue 11: a referral's row is ~1.5 KB,
            // and 4 KiB pages left a third of each page empty). Only a database without
            // its first page takes it, so it must come before WAL mode, which writes that
            // page; an existing database keeps its page size (`PRAGMA page_size` then
            // changes nothing).
            conn.execute("PRAGMA page_size = 8192").await?;
            // WAL lets readers run during a write; synchronous=FULL makes every
            // commit durable (the default in WAL, NORMAL, can lose the last commits
            // on power loss); foreign keys are off by default in SQLite.
            conn.execute("PRAGMA journal_mode = WAL").await?;
            conn.execute("PRAGMA synchronous = FULL").await?;
            conn.execute("PRAGMA foreign_keys = ON").await?;
            conn.execute("PRAGMA busy_timeout = 5000").await?;
            // Deleted and overwritten content is zeroed, not left in free space (issue 17):
            // once the retention job destroys a case, no older copy of its row (an index
            // entry's reference, an earlier version of an updated row) stays in the file.
            conn.execute("PRAGMA secure_delete = ON").await?;
            // Each connection keeps up to 16 MiB of pages (SQLite's default is 2 MB) for
            // as long as no other connection commits: in WAL mode a commit elsewhere (every
            // audited read writes one) empties a reader's cache at its next statement, so
            // under load most reads come from the OS again. Memory-mapping the file instead
            // (`mmap_size`) was measured slower: each such commit unmaps and remaps it.
            conn.execute("PRAGMA cache_size = -16384").await?;
            if is_writer {
                // The writer's statement journals in memory, not in a temporary file: a
                // multi-row INSERT into a table with a foreign key (a batch's person tokens,
                // events, case keys), after other writes in its transaction, journals every
                // page it changes so that it alone can be undone. In a file that was more
                // page writes per referral than the WAL itself (seen with strace under
                // intake load); in memory it is bounded by the pages one statement changes.
                // Only the writer: migrations and big sorts run on the readers' pool, whose
                // temporary files stay on disk.
                conn.execute("PRAGMA temp_store = MEMORY").await?;
            }
            if page_limit > 0 {
                let pragma = format!("PRAGMA max_page_count = {page_limit}");
                sqlx::query(sqlx::AssertSqlSafe(pragma))
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        })
    })
}
