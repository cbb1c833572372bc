//! Which IMAP messages of a configured mailbox were taken (`mailbox_uids`, issue 15).
//!
//! A UID is recorded in the same transaction as the email intake item its message became
//! ([`Storage::store_email_intake_marked`](super::Storage::store_email_intake_marked)), so
//! it is recorded only once the message is stored, and the primary key
//! `(mailbox, uidvalidity, uid)` decides which of two servers polling one mailbox takes it.

use sqlx::{Any, Row, Transaction, query};
use tracing::instrument;

use super::{Storage, StorageError};

/// One message of a mailbox: the source's key, the folder's UIDVALIDITY and the UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxUid<'a> {
    /// The source's key, e.g. `imap://intake@mail.example.org:993/INBOX` (never a password).
    pub mailbox: &'a str,
    pub uidvalidity: u32,
    pub uid: u32,
}

impl Storage {
    /// Whether this message was already taken (by this server or another).
    #[instrument(skip_all, err)]
    pub async fn mailbox_uid_taken(&self, mark: &MailboxUid<'_>) -> Result<bool, StorageError> {
        let row = query(
            "SELECT 1 FROM mailbox_uids WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3",
        )
        .bind(mark.mailbox.to_owned())
        .bind(i64::from(mark.uidvalidity))
        .bind(i64::from(mark.uid))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// The highest UID taken from the mailbox under this UIDVALIDITY; `None` when nothing
    /// was (a new mailbox, or one whose UIDVALIDITY changed).
    #[instrument(skip_all, err)]
    pub async fn mailbox_highest_uid(
        &self,
        mailbox: &str,
        uidvalidity: u32,
    ) -> Result<Option<u32>, StorageError> {
        let row =
            query("SELECT MAX(uid) FROM mailbox_uids WHERE mailbox = $1 AND uidvalidity = $2")
                .bind(mailbox.to_owned())
                .bind(i64::from(uidvalidity))
                .fetch_one(&self.pool)
                .await?;
        let highest: Option<i64> = row.try_get(0)?;
        highest
            .map(|uid| {
                u32::try_from(uid).map_err(|_| StorageError::Corrupt {
                    column: "uid",
                    reason: format!("{uid} is not an IMAP UID"),
                })
            })
            .transpose()
    }
}

/// Records the message as taken inside `tx`; `false` when it already was (another server's
/// transaction committed it first: this one waits for it on PostgreSQL, and on SQLite write
/// transactions never overlap).
pub(crate) async fn take_in(
    tx: &mut Transaction<'static, Any>,
    mark: &MailboxUid<'_>,
    taken_at: &str,
) -> Result<bool, StorageError> {
    let done = query(
        "INSERT INTO mailbox_uids (mailbox, uidvalidity, uid, taken_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(mark.mailbox.to_owned())
    .bind(i64::from(mark.uidvalidity))
    .bind(i64::from(mark.uid))
    .bind(taken_at.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}
