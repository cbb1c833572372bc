//! Group commit for new referrals and audit entries on SQLite.
//!
//! SQLite has one writer, and with `synchronous = FULL` every commit waits for the disk. One
//! transaction per submission therefore caps intake at one disk flush per referral, however
//! little else each one costs. Here submissions that arrive while a commit is in flight queue
//! up, and the next commit writes all of them at once: each caller still gets its answer only
//! after its referral is durably on disk, and a lone submission is written at once (nothing
//! waits for company). Audit entries appended on their own (every staff read writes one: the
//! queue page, a case opened, a search) share the same commits, so staff reading at the same
//! time no longer wait for one disk flush each.
//!
//! If a batch fails (a reference that happened to be taken, say), the whole batch rolls back
//! and each submission is written again in a transaction of its own, so every caller gets its
//! own true result. That retry is safe on SQLite only, where a failed COMMIT is never
//! "perhaps committed"; PostgreSQL, which has many writers anyway, writes each submission
//! directly (see `Storage::create_referral`).
//!
//! Hand-written rather than taken from a crate: what is batched is a handful of sqlx
//! statements in Haven's own transaction, with its own audit chain and fallback rule; no
//! general crate does that.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::StorageError;
use super::audit::{AuditChain, AuditEntry, append_many_in};
use super::referrals::{ReferralRow, insert_referrals};

/// The most referrals written in one transaction: enough to absorb a burst, small enough
/// that one batch holds the write lock only briefly.
const MAX_BATCH: usize = 64;

/// Submissions waiting for the writer, beyond which callers wait to enqueue (back-pressure).
const QUEUE_DEPTH: usize = 1024;

/// What a caller waits to have written.
enum Write {
    Referral(Box<ReferralRow>),
    Audit(AuditEntry),
}

struct Pending {
    write: Write,
    done: oneshot::Sender<Result<(), StorageError>>,
}

/// The handle requests use; the writing task ends when every handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Starts the writing task on the current runtime. It holds only the writer pool, never
    /// a handle, so it stops once the last `Storage` clone is gone.
    pub(crate) fn start(writer: AnyPool, audit: AuditChain) -> Self {
        let (queue, incoming) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(write_batches(writer, audit, incoming));
        Self { queue }
    }

    /// Writes `row` in the next batch and returns once it is committed (or failed).
    pub(crate) async fn write(&self, row: ReferralRow) -> Result<(), StorageError> {
        self.submit(Write::Referral(Box::new(row))).await
    }

    /// Appends `entry` to the audit chain in the next batch and returns once it is committed.
    pub(crate) async fn append_audit(&self, entry: AuditEntry) -> Result<(), StorageError> {
        self.submit(Write::Audit(entry)).await
    }

    async fn submit(&self, write: Write) -> Result<(), StorageError> {
        let (done, result) = oneshot::channel();
        self.queue
            .send(Pending { write, done })
            .await
            .map_err(|_| StorageError::WriterStopped)?;
        result.await.map_err(|_| StorageError::WriterStopped)?
    }
}

async fn write_batches(writer: AnyPool, audit: AuditChain, mut incoming: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if batch.len() > 1 && write_together(&writer, &audit, &batch).await.is_ok() {
            metrics::histogram!("haven_group_commit_batch_size").record(batch.len() as f64);
            for pending in batch.drain(..) {
                // A caller that gave up (client gone) no longer needs the answer.
                let _ = pending.done.send(Ok(()));
            }
            continue;
        }
        for pending in batch.drain(..) {
            let result = write_alone(&writer, &audit, &pending.write).await;
            let _ = pending.done.send(result);
        }
    }
}

async fn write_together(
    writer: &AnyPool,
    audit: &AuditChain,
    batch: &[Pending],
) -> Result<(), StorageError> {
    let writes: Vec<&Write> = batch.iter().map(|pending| &pending.write).collect();
    write_in_one(writer, audit, &writes).await
}

async fn write_alone(
    writer: &AnyPool,
    audit: &AuditChain,
    write: &Write,
) -> Result<(), StorageError> {
    write_in_one(writer, audit, &[write]).await
}

/// One transaction: the referrals (with their own audit entries), then the other entries.
async fn write_in_one(
    writer: &AnyPool,
    audit: &AuditChain,
    writes: &[&Write],
) -> Result<(), StorageError> {
    let mut rows: Vec<&ReferralRow> = Vec::new();
    let mut entries: Vec<AuditEntry> = Vec::new();
    for write in writes {
        match write {
            Write::Referral(row) => rows.push(row),
            Write::Audit(entry) => entries.push(entry.clone()),
        }
    }
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    if !rows.is_empty() {
        insert_referrals(&mut tx, audit, &rows).await?;
    }
    if !entries.is_empty() {
        append_many_in(&mut tx, audit, &entries).await?;
    }
    tx.commit().await?;
    Ok(())
}
