//! Whether the database can be written: the flag `/readyz` reads, the probe write that
//! clears it, a test knob that makes SQLite answer SQLITE_FULL for real, and one retry of
//! idempotent reads whose connection was lost.
//!
//! Why a flag and a probe rather than a probe alone: on a full disk SQLite often still takes
//! a tiny write (the WAL reuses its space after a checkpoint) while real writes fail, so a
//! tiny probe would keep saying "ready". Instead the web layer reports every write that
//! failed for lack of space, I/O or a read-only file ([`Storage::mark_unwritable`]), and
//! from then on readiness is a real write — a row with 64 KiB of filler plus, on SQLite,
//! room for 64 more pages under `max_page_count` — until one succeeds.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::{Executor, query, query_scalar};

use super::fault::Fault;
use super::{Storage, StorageError, timestamp};
use crate::config::DatabaseKind;

/// Bytes the probe writes: a few dozen pages, enough that "no room" shows.
const PROBE_BYTES: usize = 64 * 1024;

/// Pages SQLite must still be able to add (64 × 4 KiB): less, and writes are about to fail.
const MIN_FREE_PAGES: i64 = 64;

/// Shared by every clone of one [`Storage`].
#[derive(Debug, Default)]
pub(crate) struct WriteHealth {
    unwritable: AtomicBool,
}

impl Storage {
    /// Records that a write failed with `fault`; an environment fault (disk full, I/O
    /// error, read-only database) makes [`Storage::check_ready`] probe until a write works.
    pub fn note_fault(&self, fault: Fault) {
        if fault == Fault::Environment && !self.health.unwritable.swap(true, Ordering::AcqRel) {
            tracing::error!("the database cannot be written; /readyz answers 503 until it can");
        }
    }

    /// Readiness: the database answers and, after a write failed for lack of space or I/O,
    /// a probe write succeeds again (which clears the flag).
    pub async fn check_ready(&self) -> Result<(), StorageError> {
        self.ping().await?;
        if !self.health.unwritable.load(Ordering::Acquire) {
            return Ok(());
        }
        self.probe_write().await?;
        if self.health.unwritable.swap(false, Ordering::AcqRel) {
            tracing::info!("the database can be written again");
        }
        Ok(())
    }

    /// One real write (64 KiB into `write_probe`, committed), through the writer, so it
    /// queues like any write.
    async fn probe_write(&self) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        if self.kind == DatabaseKind::Sqlite {
            // The per-connection page limit (or SQLite's own) less the pages in use.
            let room: i64 = query_scalar(
                "SELECT (SELECT max_page_count FROM pragma_max_page_count())
                      - (SELECT page_count FROM pragma_page_count())
                      + (SELECT freelist_count FROM pragma_freelist_count())",
            )
            .fetch_one(&mut *tx)
            .await?;
            if room < MIN_FREE_PAGES {
                return Err(StorageError::NoRoom);
            }
        }
        // One row, rewritten: servers probing at once queue on it instead of clashing.
        query(
            "INSERT INTO write_probe (id, filler, at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET filler = excluded.filler, at = excluded.at",
        )
        .bind("0".repeat(PROBE_BYTES))
        .bind(timestamp(self.now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Fault injection for tests and drills (SQLite only): every writer connection gets
    /// `PRAGMA max_page_count = pages` (`None`: SQLite's own limit), so writes that need a
    /// new page fail with a real SQLITE_FULL. Applied to the open writer connection at once
    /// and to any the pool opens later.
    pub async fn limit_pages(&self, pages: Option<u32>) -> Result<(), StorageError> {
        if self.kind != DatabaseKind::Sqlite {
            return Ok(());
        }
        let pages = pages.unwrap_or(0);
        self.page_limit.store(pages, Ordering::Relaxed);
        // SQLite clamps to its own maximum (and never below the pages in use).
        let effective = if pages == 0 { u32::MAX } else { pages };
        let mut conn = self.writer.acquire().await?;
        let pragma = format!("PRAGMA max_page_count = {effective}");
        conn.execute(sqlx::AssertSqlSafe(pragma)).await?;
        Ok(())
    }

    /// Runs an idempotent read, and once more if the first try lost its connection (a
    /// PostgreSQL backend killed or restarted between two requests): the pool then hands
    /// out a fresh connection. Never for writes, whose first try may have committed.
    pub(crate) async fn read_retrying<T, F, Fut>(&self, read: F) -> Result<T, StorageError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StorageError>>,
    {
        match read().await {
            Err(e) if e.lost_connection() => {
                tracing::warn!(error = %e, "a read lost its database connection; trying once more");
                read().await
            }
            other => other,
        }
    }
}
