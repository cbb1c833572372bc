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

/// The outcome of asking to make one more attempt under a growing delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayClaim {
    /// Counted: this is the `n`th attempt not yet taken back.
    Counted(i64),
    /// Too early: the next attempt may be made in this many seconds (at least 1).
    Wait(u64),
}

/// How long a (account, address) pair's delay row is kept after its last attempt.
const DELAY_FORGIVEN_AFTER: TimeDelta = TimeDelta::days(1);

impl Storage {
    /// Counts one attempt for `key_hash` unless its delay has not passed yet. `delay(n)`
    /// gives the seconds to wait after the `n`th counted attempt. Atomic across servers by
    /// compare-and-swap on the count: of two parallel attempts only one is counted, the
    /// other is told to wait (a second, or the new delay).
    #[instrument(skip_all)]
    pub async fn claim_signin_delay(
        &self,
        key_hash: &str,
        delay: impl Fn(i64) -> i64,
        now: DateTime<Utc>,
    ) -> Result<DelayClaim, StorageError> {
        let at = timestamp(now);
        let now_secs = now.timestamp();
        query("DELETE FROM signin_delays WHERE updated_at <= $1")
            .bind(timestamp(now - DELAY_FORGIVEN_AFTER))
            .execute(&self.writer)
            .await?;
        let row = query("SELECT failures, next_at FROM signin_delays WHERE key_hash = $1")
            .bind(key_hash)
            .fetch_optional(&self.writer)
            .await?;
        let claimed = match row {
            None => {
                let claimed = query(
                    "INSERT INTO signin_delays (key_hash, failures, next_at, created_at, updated_at)
                     VALUES ($1, 1, $2, $3, $4) ON CONFLICT (key_hash) DO NOTHING",
                )
                .bind(key_hash)
                .bind(now_secs + delay(1))
                .bind(&at)
                .bind(&at)
                .execute(&self.writer)
                .await?
                .rows_affected()
                    == 1;
                claimed_or_wait(claimed, 1)
            }
            Some(row) => {
                let failures: i64 = row.try_get(0)?;
                let next_at: i64 = row.try_get(1)?;
                if next_at > now_secs {
                    return Ok(DelayClaim::Wait(
                        u64::try_from(next_at - now_secs).unwrap_or(1).max(1),
                    ));
                }
                let count = failures + 1;
                let claimed = query(
                    "UPDATE signin_delays SET failures = $1, next_at = $2, updated_at = $3
                     WHERE key_hash = $4 AND failures = $5",
                )
                .bind(count)
                .bind(now_secs + delay(count))
                .bind(&at)
                .bind(key_hash)
                .bind(failures)
                .execute(&self.writer)
                .await?
                .rows_affected()
                    == 1;
                claimed_or_wait(claimed, count)
            }
        };
        Ok(claimed)
    }

    /// Forgets the delay of `key_hash` (the attempt succeeded).
    #[instrument(skip_all)]
    pub async fn clear_signin_delay(&self, key_hash: &str) -> Result<(), StorageError> {
        query("DELETE FROM signin_delays WHERE key_hash = $1")
            .bind(key_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

/// A lost compare-and-swap means a parallel attempt was counted instead: wait a second.
fn claimed_or_wait(claimed: bool, count: i64) -> DelayClaim {
    if claimed {
        DelayClaim::Counted(count)
    } else {
        DelayClaim::Wait(1)
    }
}

/// Failed password attempts on an account since its last completed sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedSignins {
    pub count: i64,
    pub last_at: DateTime<Utc>,
}

impl FailedSignins {
    /// The stored form on the session row: `<count>|<RFC 3339>`.
    fn to_stored(self) -> String {
        format!("{}|{}", self.count, timestamp(self.last_at))
    }

    /// The stored form read back (`None` when absent or unreadable: it is only a notice).
    pub(crate) fn from_stored(text: Option<&str>) -> Option<Self> {
        let (count, at) = text?.split_once('|')?;
        Some(Self {
            count: count.parse().ok()?,
            last_at: parse_timestamp("signin_notice", at).ok()?,
        })
    }
}

impl Storage {
    /// Counts a failed password attempt on the account `user_id`, for its owner's notice.
    #[instrument(skip_all)]
    pub async fn record_failed_signin(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        query(
            "UPDATE staff_users SET failed_signins = failed_signins + 1, last_failed_signin_at = $1
             WHERE id = $2",
        )
        .bind(timestamp(now))
        .bind(user_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The sign-in of session `old_hash` is complete (second factor accepted): the session
    /// gets the new id `new_hash` (the old id stops working at once) and `stage`, and takes
    /// the account's count of failed attempts since its last sign-in as its notice (the
    /// account's count starts again). Returns that count, if any. `false`-like `None` also
    /// when the session has gone.
    #[instrument(skip_all)]
    pub async fn complete_signin(
        &self,
        old_hash: &str,
        new_hash: &str,
        stage: super::sessions::SessionStage,
        now: DateTime<Utc>,
    ) -> Result<Option<FailedSignins>, StorageError> {
        let at = timestamp(now);
        let mut tx = self.begin_write().await?;
        let row = query(
            "SELECT u.id, u.failed_signins, u.last_failed_signin_at
             FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id WHERE s.id_hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let user_id: String = row.try_get(0)?;
        let count: i64 = row.try_get(1)?;
        let last: Option<String> = row.try_get(2)?;
        let failed = match last {
            Some(last) if count > 0 => Some(FailedSignins {
                count,
                last_at: parse_timestamp("last_failed_signin_at", &last)?,
            }),
            _ => None,
        };
        query(
            "UPDATE staff_users SET failed_signins = 0, last_failed_signin_at = NULL WHERE id = $1",
        )
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
        // No pending second-factor secret exists at this stage (it is sealed under the old
        // id, so it could not be carried over anyway).
        query(
            "UPDATE staff_sessions SET id_hash = $1, stage = $2, pending_totp_secret = NULL,
                signin_notice = $3, updated_at = $4
             WHERE id_hash = $5",
        )
        .bind(new_hash)
        .bind(stage.as_str())
        .bind(failed.map(FailedSignins::to_stored))
        .bind(&at)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(failed)
    }
}
