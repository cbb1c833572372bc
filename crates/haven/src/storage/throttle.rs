//! Sign-in failure counters (`signin_failures`), shared by every server on the database so
//! that limits hold however requests are spread across servers.
//!
//! Rows are keyed by a keyed hash made by the caller (`auth::throttle::failure_key`): no
//! email, address or user agent is stored. Each row counts attempts since `window_start`; a
//! row whose window has passed starts again at the next attempt, and is deleted by a later
//! attempt once expired.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{Row, query};
use tracing::instrument;

use super::{Storage, StorageError, parse_timestamp, timestamp};

/// One key's attempts in its current window, after counting one more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub count: i64,
    pub window_start: DateTime<Utc>,
}

impl Storage {
    /// Counts one attempt for `key_hash` in a window of `window` and returns the count so far
    /// in the window (this one included), atomically: concurrent attempts on any server each
    /// get their own count, so a limit cannot be overshot by sending attempts in parallel.
    /// Also deletes rows whose window ended before `now`.
    #[instrument(skip_all)]
    pub async fn count_signin_attempt(
        &self,
        key_hash: &str,
        window: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Attempts, StorageError> {
        let cutoff = timestamp(now - window);
        let now_text = timestamp(now);
        // Every placeholder is bound once (the `Any` driver numbers them per engine).
        let row = query(
            "INSERT INTO signin_failures (key_hash, window_start, failures, created_at, updated_at)
             VALUES ($1, $2, 1, $3, $4)
             ON CONFLICT (key_hash) DO UPDATE SET
                failures = CASE WHEN signin_failures.window_start > $5
                                THEN signin_failures.failures + 1 ELSE 1 END,
                window_start = CASE WHEN signin_failures.window_start > $6
                                    THEN signin_failures.window_start ELSE $7 END,
                updated_at = $8
             RETURNING failures, window_start",
        )
        .bind(key_hash)
        .bind(&now_text)
        .bind(&now_text)
        .bind(&now_text)
        .bind(&cutoff)
        .bind(&cutoff)
        .bind(&now_text)
        .bind(&now_text)
        .fetch_one(&self.writer)
        .await?;
        let attempts = Attempts {
            count: row.try_get(0)?,
            window_start: parse_timestamp("window_start", &row.try_get::<String, _>(1)?)?,
        };
        query("DELETE FROM signin_failures WHERE window_start <= $1")
            .bind(&cutoff)
            .execute(&self.writer)
            .await?;
        Ok(attempts)
    }

    /// Takes back one attempt of `key_hash` (it succeeded, so it was not a failure).
    #[instrument(skip_all)]
    pub async fn uncount_signin_attempt(&self, key_hash: &str) -> Result<(), StorageError> {
        query(
            "UPDATE signin_failures SET failures = failures - 1 WHERE key_hash = $1 AND failures > 0",
        )
        .bind(key_hash)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Forgets every attempt of `key_hash` (the account signed in).
    #[instrument(skip_all)]
    pub async fn clear_signin_attempts(&self, key_hash: &str) -> Result<(), StorageError> {
        query("DELETE FROM signin_failures WHERE key_hash = $1")
            .bind(key_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
