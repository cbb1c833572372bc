//! What kind of fault a storage failure is, so every entry point answers it the same way
//! (`web::fault` turns a [`Fault`] into a status): a conflict with another write, a database
//! that is busy or out of reach for a moment, or an environment that cannot take writes
//! (disk full, I/O errors, a read-only file). None of these is a bug in Haven, so none may
//! become a 500.
//!
//! Engine codes are read from the driver's own error type (the `Any` driver passes it
//! through), because SQLite's numeric result codes and PostgreSQL's SQLSTATEs overlap as text.

use sqlx::error::DatabaseError;
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

use super::StorageError;

/// The kind of a storage failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A unique key or a concurrent change refused the write: the client's request clashed
    /// with another one (409).
    Conflict,
    /// The database is busy, out of connections, or the connection was lost (a restarted
    /// or killed PostgreSQL backend): trying again shortly should work (503, Retry-After).
    Unavailable,
    /// The environment refuses writes: disk full, an I/O error, a read-only database
    /// (503). `/readyz` answers 503 until a write succeeds again.
    Environment,
    /// Anything else: a bug or corrupt data (500, logged).
    Other,
}

// SQLite primary result codes (https://www.sqlite.org/rescode.html); the extended code's
// low byte is the primary one.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOMEM: i64 = 7;
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;

impl StorageError {
    /// What kind of fault this is.
    pub fn fault(&self) -> Fault {
        match self {
            StorageError::Conflict | StorageError::UploadTaken(_) => Fault::Conflict,
            StorageError::WriterStopped => Fault::Unavailable,
            StorageError::NoRoom => Fault::Environment,
            StorageError::Database(e) => sqlx_fault(e),
            StorageError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => sqlx_fault(e),
            _ => Fault::Other,
        }
    }

    /// Whether this failure means the connection it happened on may be gone, so an
    /// idempotent read is worth trying once more on a fresh one.
    pub(crate) fn lost_connection(&self) -> bool {
        match self {
            StorageError::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        | sqlx::Error::Protocol(_)
                        | sqlx::Error::Tls(_)
                        | sqlx::Error::WorkerCrashed
                ) || database_error(e).is_some_and(pg_connection_lost)
            }
            _ => false,
        }
    }
}

fn database_error(e: &sqlx::Error) -> Option<&dyn DatabaseError> {
    match e {
        sqlx::Error::Database(db) => Some(db.as_ref()),
        _ => None,
    }
}

fn sqlx_fault(e: &sqlx::Error) -> Fault {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed
        // A connection left inside a failed transaction (never handed out again since the
        // pools check, but answered as the fault it is should one slip through).
        | sqlx::Error::BeginFailed
        | sqlx::Error::InvalidSavePointStatement => Fault::Unavailable,
        sqlx::Error::Database(db) => database_fault(db.as_ref()),
        _ => Fault::Other,
    }
}

fn database_fault(db: &dyn DatabaseError) -> Fault {
    if db.is_unique_violation() {
        return Fault::Conflict;
    }
    if let Some(sqlite) = db.try_downcast_ref::<SqliteError>() {
        let primary = sqlite
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .map(|c| c & 0xff);
        return match primary {
            Some(SQLITE_FULL | SQLITE_IOERR | SQLITE_READONLY | SQLITE_CANTOPEN | SQLITE_NOMEM) => {
                Fault::Environment
            }
            Some(SQLITE_BUSY | SQLITE_LOCKED) => Fault::Unavailable,
            _ => Fault::Other,
        };
    }
    if db.try_downcast_ref::<PgDatabaseError>().is_some() {
        let code = db.code().unwrap_or_default();
        return match code.as_ref() {
            // disk_full and the rest of "insufficient resources", io_error,
            // read_only_sql_transaction.
            c if c.starts_with("53") => Fault::Environment,
            "58030" | "25006" => Fault::Environment,
            // serialization_failure, deadlock_detected, lock_not_available: try again.
            "40001" | "40P01" | "55P03" => Fault::Unavailable,
            _ if pg_connection_lost(db) => Fault::Unavailable,
            _ => Fault::Other,
        };
    }
    Fault::Other
}

/// PostgreSQL told us the connection is ending: a connection exception (class 08), or an
/// operator intervention (57P01 terminated by an administrator, 57P02 crash shutdown,
/// 57P03 cannot connect now).
fn pg_connection_lost(db: &dyn DatabaseError) -> bool {
    if db.try_downcast_ref::<PgDatabaseError>().is_none() {
        return false;
    }
    let code = db.code().unwrap_or_default();
    code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
}
