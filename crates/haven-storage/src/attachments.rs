//! Attached files stored in chunks (`public_attachments` + `public_attachment_chunks`),
//! written and read a chunk at a time so a file is never held whole in memory; uploads made
//! through the API before their submission; giving the space of deleted files back.
//!
//! A new file gets a row (`complete = 0`, its data key sealed in `file_key`), then one row per
//! sealed chunk as the bytes arrive, then `complete = 1` with its size. Sealed chunks are
//! written eight at a time (512 KiB), each batch in its own short transaction: a slow upload
//! never holds SQLite's one write lock while it waits for the network, and a large file costs
//! one disk flush per batch, not per chunk. A file whose upload broke off is deleted by the caller
//! ([`Storage::discard_attachment`]) or with its draft; until complete it is never listed.
//! Files stored before chunking keep their whole sealed `content` and still open.
//! The format is in `crypto/stream.rs` and `docs/ARCHITECTURE.md`.

use chrono::{DateTime, Utc};
use sqlx::{Row, query};
use tracing::instrument;
use zeroize::Zeroizing;

use super::{Storage, StorageError, timestamp};
use crate::config::DatabaseKind;
use crate::crypto::stream::{self, CHUNK_LEN, FileKey};

/// Where a new file belongs.
pub enum Owner<'a> {
    /// A public form's draft.
    Draft(&'a str),
    /// Uploaded through `POST /api/v1/attachments` for this service: usable by one of its
    /// submissions until `expires_at`.
    Upload {
        service: &'a str,
        expires_at: DateTime<Utc>,
    },
}

/// A file about to be streamed in. Its type was sniffed from its first bytes by the caller.
pub struct NewFile<'a> {
    pub id: String,
    pub owner: Owner<'a>,
    pub question: &'a str,
    pub filename: &'a str,
    pub media_type: &'a str,
}

/// A file being read ([`Storage::open_attachment`], [`Storage::next_piece`]).
pub struct AttachmentReader {
    id: String,
    source: Source,
}

enum Source {
    /// Stored before chunking: the whole plaintext, given once.
    Whole(Option<Zeroizing<Vec<u8>>>),
    Chunks {
        key: FileKey,
        seq: u64,
    },
    Done,
}

// Hand-written: the key must never reach a log line.
impl std::fmt::Debug for AttachmentReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentReader")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Sealed chunks written to the database in one transaction: one disk flush per
/// `CHUNKS_PER_WRITE × CHUNK_LEN` bytes (512 KiB) instead of one per chunk, which made
/// concurrent 10 MB uploads outlast the request timeout; at most that much sealed data
/// waits in memory per upload.
const CHUNKS_PER_WRITE: usize = 8;

/// A file being written: holds at most one chunk of plaintext (zeroed when dropped) and
/// up to [`CHUNKS_PER_WRITE`] sealed chunks not yet written.
pub struct FileWriter {
    id: String,
    key: FileKey,
    seq: u64,
    buffer: Zeroizing<Vec<u8>>,
    size: u64,
    /// Sealed chunks waiting to be written: (seq, last, sealed data).
    pending: Vec<(u64, bool, Vec<u8>)>,
}

impl FileWriter {
    /// The attachment id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }
}

// Hand-written: the key must never reach a log line.
impl std::fmt::Debug for FileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWriter")
            .field("id", &self.id)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Creates the (incomplete) row of a new file; write it with [`Storage::write_file`]
    /// and end with [`Storage::finish_file`] or [`Storage::discard_attachment`].
    #[instrument(skip_all)]
    pub async fn begin_file(&self, new: &NewFile<'_>) -> Result<FileWriter, StorageError> {
        let now = timestamp(self.now());
        // A draft's or an unclaimed upload's: under a key of its own until a case claims it
        // (then moved under the case's key, `Storage::move_files_into_case`).
        let (file_key, key) =
            self.seal_data_key(None, "public_attachments", "file_key", &new.id)?;
        let (draft_id, service, expires) = match &new.owner {
            Owner::Draft(id) => (Some(*id), None, None),
            Owner::Upload {
                service,
                expires_at,
            } => (None, Some(*service), Some(timestamp(*expires_at))),
        };
        query(
            "INSERT INTO public_attachments (id, draft_id, question, filename, media_type, size_bytes,
                file_key, complete, upload_service, upload_expires_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6, 0, $7, $8, $9, $9)",
        )
        .bind(&new.id)
        .bind(draft_id)
        .bind(new.question)
        .bind(self.seal_text("public_attachments", "filename", &new.id, new.filename)?)
        .bind(new.media_type)
        .bind(file_key)
        .bind(service)
        .bind(expires)
        .bind(&now)
        .execute(&self.writer)
        .await
        .map_err(StorageError::from_write)?;
        Ok(FileWriter {
            id: new.id.clone(),
            key,
            seq: 0,
            buffer: Zeroizing::new(Vec::with_capacity(CHUNK_LEN)),
            size: 0,
            pending: Vec::with_capacity(CHUNKS_PER_WRITE),
        })
    }

    /// Appends `bytes` to the file, storing every full chunk.
    #[instrument(skip_all)]
    pub async fn write_file(
        &self,
        writer: &mut FileWriter,
        mut bytes: &[u8],
    ) -> Result<(), StorageError> {
        writer.size = writer
            .size
            .saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        while !bytes.is_empty() {
            let room = CHUNK_LEN - writer.buffer.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            writer.buffer.extend_from_slice(now);
            bytes = rest;
            // A full chunk is stored only once more bytes follow: the final chunk (the one
            // marked last) must be known to be final when it is sealed.
            if writer.buffer.len() == CHUNK_LEN && !bytes.is_empty() {
                self.store_chunk(writer, false).await?;
            }
        }
        Ok(())
    }

    /// Stores the last chunk and marks the file complete; returns its size in bytes.
    #[instrument(skip_all)]
    pub async fn finish_file(&self, mut writer: FileWriter) -> Result<u64, StorageError> {
        // What is buffered (up to one full chunk; nothing only for an empty file) is last.
        self.store_chunk(&mut writer, true).await?;
        query(
            "UPDATE public_attachments SET complete = 1, size_bytes = $1, updated_at = $2
             WHERE id = $3",
        )
        .bind(i64::try_from(writer.size).unwrap_or(i64::MAX))
        .bind(timestamp(self.now()))
        .bind(&writer.id)
        .execute(&self.writer)
        .await?;
        Ok(writer.size)
    }

    /// Seals the buffered bytes as the next chunk; writes the sealed chunks waiting when
    /// there are [`CHUNKS_PER_WRITE`] of them or this is the last.
    async fn store_chunk(&self, writer: &mut FileWriter, last: bool) -> Result<(), StorageError> {
        let sealed = stream::seal_chunk(&writer.key, &writer.id, writer.seq, last, &writer.buffer)
            .map_err(|reason| StorageError::Sealed {
                table: "public_attachment_chunks",
                column: "data",
                id: writer.id.clone(),
                reason,
            })?;
        writer.pending.push((writer.seq, last, sealed));
        writer.seq += 1;
        writer.buffer.clear();
        if last || writer.pending.len() >= CHUNKS_PER_WRITE {
            self.write_pending(writer).await?;
        }
        Ok(())
    }

    /// Writes the sealed chunks waiting, in one transaction.
    async fn write_pending(&self, writer: &mut FileWriter) -> Result<(), StorageError> {
        let now = timestamp(self.now());
        let mut tx = self.begin_write().await?;
        for (seq, last, sealed) in &writer.pending {
            query(
                "INSERT INTO public_attachment_chunks (attachment_id, seq, last, data, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&writer.id)
            .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
            .bind(i64::from(*last))
            .bind(sealed)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from_write)?;
        }
        tx.commit().await?;
        writer.pending.clear();
        Ok(())
    }

    /// Deletes a file and its chunks (an upload refused or broken off, a file removed).
    #[instrument(skip_all)]
    pub async fn discard_attachment(&self, id: &str) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        query("DELETE FROM public_attachment_chunks WHERE attachment_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM public_attachments WHERE id = $1 AND referral_id IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads a file a chunk at a time, giving each piece of plaintext to `each` in order.
    /// A chunk missing, moved, reordered or altered, or a file cut short, is
    /// [`StorageError::Sealed`]. Files stored before chunking are given in one piece.
    #[instrument(skip_all)]
    pub async fn read_attachment(
        &self,
        id: &str,
        mut each: impl FnMut(&[u8]),
    ) -> Result<(), StorageError> {
        let mut reader = self.open_attachment(id).await?;
        while let Some(piece) = self.next_piece(&mut reader).await? {
            each(&piece[..]);
        }
        Ok(())
    }

    /// Starts reading a file: pass the reader to [`Storage::next_piece`] until it answers
    /// `None`. Holds the file's key, never more than one chunk of plaintext at a time (a
    /// download streams a 20 MB file without holding it).
    #[instrument(skip_all)]
    pub async fn open_attachment(&self, id: &str) -> Result<AttachmentReader, StorageError> {
        let row =
            query("SELECT content, file_key, referral_id FROM public_attachments WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StorageError::Corrupt {
                    column: "public_attachments.id",
                    reason: "no such attachment".to_owned(),
                })?;
        let content: Option<Vec<u8>> = row.try_get(0)?;
        let file_key: Option<Vec<u8>> = row.try_get(1)?;
        let case = match row.try_get::<Option<String>, _>(2)? {
            Some(referral_id) => self.case_key(&referral_id).await?,
            None => None,
        };
        let case = case.as_ref();
        let source = match file_key {
            Some(file_key) => Source::Chunks {
                key: self.open_data_key(case, "public_attachments", "file_key", id, &file_key)?,
                seq: 0,
            },
            None => {
                let stored = content.ok_or_else(|| StorageError::Corrupt {
                    column: "public_attachments.content",
                    reason: "neither content nor a file key".to_owned(),
                })?;
                Source::Whole(Some(self.open_in_case(
                    case,
                    "public_attachments",
                    "content",
                    id,
                    &stored,
                )?))
            }
        };
        Ok(AttachmentReader {
            id: id.to_owned(),
            source,
        })
    }

    /// The next piece of plaintext of a file being read, `None` after the last. A chunk
    /// missing, moved, reordered or altered, or a file cut short, is [`StorageError::Sealed`].
    pub async fn next_piece(
        &self,
        reader: &mut AttachmentReader,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StorageError> {
        let id = reader.id.as_str();
        let (key, seq) = match &mut reader.source {
            Source::Whole(whole) => return Ok(whole.take()),
            Source::Done => return Ok(None),
            Source::Chunks { key, seq } => (key, seq),
        };
        let broken = |reason| StorageError::Sealed {
            table: "public_attachment_chunks",
            column: "data",
            id: id.to_owned(),
            reason,
        };
        let chunk = query(
            "SELECT last, data FROM public_attachment_chunks WHERE attachment_id = $1 AND seq = $2",
        )
        .bind(id)
        .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| {
            broken(crate::crypto::envelope::EnvelopeError::Malformed(
                "a chunk is missing or the file was cut short",
            ))
        })?;
        let last = chunk.try_get::<i64, _>(0)? != 0;
        let data: Vec<u8> = chunk.try_get(1)?;
        let plain = stream::open_chunk(key, id, *seq, last, &data).map_err(broken)?;
        if last {
            reader.source = Source::Done;
        } else {
            *seq += 1;
        }
        Ok(Some(plain))
    }

    /// The whole content of a file (tests and small files only: prefer
    /// [`Storage::read_attachment`]).
    pub async fn attachment_content(&self, id: &str) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        let mut out = Zeroizing::new(Vec::new());
        self.read_attachment(id, |piece| out.extend_from_slice(piece))
            .await?;
        Ok(out)
    }

    /// Total bytes of the files attached to a draft (complete or being written).
    #[instrument(skip_all)]
    pub async fn draft_bytes(&self, draft_id: &str) -> Result<u64, StorageError> {
        let row = query(
            "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM public_attachments WHERE draft_id = $1",
        )
        .bind(draft_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
    }

    /// Of `ids`, those that are not an API upload for `service` and `question` usable at
    /// `now` (complete, not expired, not yet named by a submission).
    #[instrument(skip_all)]
    pub async fn unusable_uploads(
        &self,
        service: &str,
        ids: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let at = timestamp(now);
        let mut bad = Vec::new();
        for (question, id) in ids {
            let found = query(
                "SELECT 1 FROM public_attachments
                 WHERE id = $1 AND upload_service = $2 AND question = $3 AND complete = 1
                   AND upload_expires_at > $4 AND referral_id IS NULL AND draft_id IS NULL",
            )
            .bind(id)
            .bind(service)
            .bind(question)
            .bind(&at)
            .fetch_optional(&self.pool)
            .await?;
            if found.is_none() {
                bad.push((question.clone(), id.clone()));
            }
        }
        Ok(bad)
    }

    /// Gives back the space of deleted rows (SQLite with incremental auto-vacuum; nothing to
    /// do on PostgreSQL, whose autovacuum reuses it). Called after expired drafts are purged.
    pub(crate) async fn give_space_back(&self) {
        if self.kind != DatabaseKind::Sqlite {
            return;
        }
        if let Err(e) = query("PRAGMA incremental_vacuum")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(error = %e, "incremental vacuum failed");
        }
    }

    /// Switches an SQLite database to incremental auto-vacuum, so the space of purged drafts
    /// and files can be given back. A database made before needs one full `VACUUM` (which
    /// rewrites the file and takes as long as copying it): done once, at start-up, logged.
    pub(crate) async fn enable_incremental_vacuum(&self) -> Result<(), StorageError> {
        if self.kind != DatabaseKind::Sqlite {
            return Ok(());
        }
        let mode: i64 = query("PRAGMA auto_vacuum")
            .fetch_one(&self.writer)
            .await?
            .try_get(0)?;
        if mode == 2 {
            return Ok(());
        }
        tracing::info!(
            "switching the SQLite database to incremental auto-vacuum: one full VACUUM now (once)"
        );
        query("PRAGMA auto_vacuum = INCREMENTAL")
            .execute(&self.writer)
            .await?;
        query("VACUUM").execute(&self.writer).await?;
        tracing::info!("incremental auto-vacuum is on");
        Ok(())
    }
}

/// In a submission's transaction: the API uploads named by its answers move to the referral.
/// They were checked by [`Storage::unusable_uploads`]; one taken by another submission in
/// the meantime fails the whole submission rather than be shared.
pub(crate) async fn claim_uploads(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    service: &str,
    referral_id: &str,
    ids: &[String],
    now: &str,
) -> Result<(), StorageError> {
    for id in ids {
        let done = query(
            "UPDATE public_attachments SET referral_id = $1, upload_service = NULL,
                upload_expires_at = NULL, updated_at = $2
             WHERE id = $3 AND upload_service = $4 AND complete = 1 AND upload_expires_at > $2
               AND referral_id IS NULL AND draft_id IS NULL",
        )
        .bind(referral_id)
        .bind(now)
        .bind(id)
        .bind(service)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StorageError::UploadTaken(id.clone()));
        }
    }
    Ok(())
}

/// Deletes API uploads never used before `at`, with their chunks.
pub(crate) async fn delete_expired_uploads_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    at: &str,
) -> Result<(), StorageError> {
    query(
        "DELETE FROM public_attachment_chunks WHERE attachment_id IN
            (SELECT id FROM public_attachments WHERE upload_expires_at <= $1 AND referral_id IS NULL)",
    )
    .bind(at)
    .execute(&mut **tx)
    .await?;
    query("DELETE FROM public_attachments WHERE upload_expires_at <= $1 AND referral_id IS NULL")
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
