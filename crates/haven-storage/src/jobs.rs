//! The durable job queue (`jobs`): background work (email out, later reminders and
//! retention) kept in the same database as the cases, so nothing is lost on restart and each
//! job is run by one server at a time, however many share the database.
//!
//! A worker *claims* a ready job by setting a lease (`locked_until`) in one conditional
//! UPDATE; a second server's UPDATE finds the lease taken and claims nothing. A job whose
//! worker died becomes ready again when its lease runs out. Delivery is therefore
//! at-least-once: a crash between sending and [`Storage::complete_job`] sends again, so
//! payloads (sealed: they name recipients) carry an idempotency key (the email's Message-ID) for the receiving side.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Any, Row, Transaction, query};
use tracing::instrument;

use super::{Storage, StorageError, timestamp};
use crate::crypto::new_id;

/// A job to add.
#[derive(Clone)]
pub struct NewJob<'a> {
    /// Which workers take it (`email`).
    pub queue: &'a str,
    /// What to do (`email.send`).
    pub kind: &'a str,
    pub payload: &'a Value,
    /// Not before this time.
    pub run_at: DateTime<Utc>,
}

/// The job queue emails go through (`haven::mail::QUEUE`).
pub const MAIL_QUEUE: &str = "email";
/// The job kind of one email (`haven::mail::KIND`).
pub const MAIL_KIND: &str = "email.send";

/// An email job for the mail worker (`mail::QUEUE`), carrying a `mail::Notice` as JSON.
pub fn mail_job(payload: &Value, run_at: DateTime<Utc>) -> NewJob<'_> {
    NewJob {
        queue: MAIL_QUEUE,
        kind: MAIL_KIND,
        payload,
        run_at,
    }
}

/// A claimed job.
#[derive(Clone)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: Value,
    /// Including this one.
    pub attempts: i64,
}

// Payloads hold recipients' addresses: never in logs.
impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How many jobs are waiting and how many gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub dead: i64,
}

impl Storage {
    /// Adds a job; returns its id.
    #[instrument(skip_all)]
    pub async fn enqueue_job(&self, job: &NewJob<'_>) -> Result<String, StorageError> {
        let mut tx = self.begin_write().await?;
        let id = self.insert_job(&mut tx, job).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds a job inside `tx` (with the write it belongs to); returns its id.
    pub(crate) async fn insert_job(
        &self,
        tx: &mut Transaction<'static, Any>,
        job: &NewJob<'_>,
    ) -> Result<String, StorageError> {
        let id = new_id();
        let now = timestamp(self.now());
        query(
            "INSERT INTO jobs (id, queue, kind, payload, run_at, attempts, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
        )
        .bind(&id)
        .bind(job.queue)
        .bind(job.kind)
        .bind(self.seal_json("jobs", "payload", &id, job.payload)?)
        .bind(timestamp(job.run_at))
        .bind(&now)
        .execute(&mut **tx)
        .await?;
        Ok(id)
    }

    /// Claims the oldest ready job of `queue` for `lease`, or `None` when there is none (or
    /// another server claimed it first).
    #[instrument(skip_all)]
    pub async fn claim_job(
        &self,
        queue: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Option<Job>, StorageError> {
        let now_text = timestamp(now);
        let mut tx = self.begin_write().await?;
        // The outer conditions repeat the inner ones: on PostgreSQL a concurrent claim of
        // the same row makes this UPDATE re-check them against the new lease and skip it.
        let row = query(
            "UPDATE jobs SET locked_until = $1, attempts = attempts + 1, updated_at = $2
             WHERE id = (SELECT id FROM jobs
                         WHERE queue = $3 AND done_at IS NULL AND run_at <= $2
                           AND (locked_until IS NULL OR locked_until < $2)
                         ORDER BY run_at, id LIMIT 1)
               AND done_at IS NULL AND (locked_until IS NULL OR locked_until < $2)
             RETURNING id, kind, payload, attempts",
        )
        .bind(timestamp(now + lease))
        .bind(&now_text)
        .bind(queue)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(|row| {
            let id: String = row.try_get("id")?;
            let payload: Vec<u8> = row.try_get("payload")?;
            Ok(Job {
                payload: self.open_json("jobs", "payload", &id, &payload)?,
                kind: row.try_get("kind")?,
                attempts: row.try_get("attempts")?,
                id,
            })
        })
        .transpose()
    }

    /// Claims the one run of a task that one server of several sharing the database must do
    /// once (the daily retention pass: `key` = `retention:2026-12-06`), for `lease`. The task
    /// is a job of `queue` whose id is `key`, made by whichever server comes first and claimed
    /// with the same conditional UPDATE as any job: exactly one server gets `true`; the others
    /// find the lease taken (or the job done, once [`Storage::complete_job`] marked it) and
    /// skip. A server that dies holding it lets another take it when the lease runs out;
    /// [`Storage::fail_job`] with a retry time gives it back at once.
    #[instrument(skip_all)]
    pub async fn claim_once(
        &self,
        queue: &str,
        kind: &str,
        key: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<bool, StorageError> {
        let now_text = timestamp(now);
        let payload = self.seal_json("jobs", "payload", key, &serde_json::json!({}))?;
        let mut tx = self.begin_write().await?;
        query(
            "INSERT INTO jobs (id, queue, kind, payload, run_at, attempts, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 0, $5, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(key)
        .bind(queue)
        .bind(kind)
        .bind(payload)
        .bind(&now_text)
        .execute(&mut *tx)
        .await?;
        let claimed = query(
            "UPDATE jobs SET locked_until = $1, attempts = attempts + 1, updated_at = $2
             WHERE id = $3 AND queue = $4 AND done_at IS NULL
               AND (locked_until IS NULL OR locked_until < $2)",
        )
        .bind(timestamp(now + lease))
        .bind(&now_text)
        .bind(key)
        .bind(queue)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Marks a claimed job done.
    #[instrument(skip_all)]
    pub async fn complete_job(&self, id: &str, now: DateTime<Utc>) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        query(
            "UPDATE jobs SET done_at = $1, locked_until = NULL, last_error = NULL, updated_at = $1
             WHERE id = $2",
        )
        .bind(timestamp(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts a failed job back for another try at `retry_at`, or gives up on it (`retry_at`
    /// `None`: it stays in the table, done with its last error, for an operator to see).
    #[instrument(skip_all)]
    pub async fn fail_job(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        match retry_at {
            Some(at) => {
                query(
                    "UPDATE jobs SET run_at = $1, locked_until = NULL, last_error = $2, updated_at = $3
                     WHERE id = $4",
                )
                .bind(timestamp(at))
                .bind(error)
                .bind(timestamp(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                query(
                    "UPDATE jobs SET done_at = $1, dead_at = $1, locked_until = NULL, last_error = $2,
                        updated_at = $1
                     WHERE id = $3",
                )
                .bind(timestamp(now))
                .bind(error)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Jobs still to run and jobs given up on.
    #[instrument(skip_all)]
    pub async fn job_counts(&self) -> Result<JobCounts, StorageError> {
        let row = query(
            "SELECT
                COALESCE(SUM(CASE WHEN done_at IS NULL THEN 1 ELSE 0 END), 0) AS pending,
                COALESCE(SUM(CASE WHEN dead_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS dead
             FROM jobs",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(JobCounts {
            pending: row.try_get("pending")?,
            dead: row.try_get("dead")?,
        })
    }
}
