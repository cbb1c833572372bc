//! The default outbox: one sealed file per email under `<data-dir>/outbox/`, for
//! installations without an SMTP relay.
//!
//! An email names its recipient and may hold a live single-use link, so a file is never
//! plaintext: it holds one envelope (`crypto::envelope`, the same format and master key
//! ring as sealed database values), opened only with the master keys (`haven outbox list`,
//! `haven outbox show`). A copied data dir without `master.keys` shows nothing. The sealed
//! value's place is `outbox.message.<file id>`, so a file renamed or swapped for another
//! fails to open. Files are written owner-only (0600, in a 0700 folder) under a temporary
//! name and renamed, so a reader never sees half a file; the mail worker deletes them once
//! older than the retention (`outbox_retention_days`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::envelope::{self, Envelope, Place};
use crate::crypto::keyring::KeyRing;

/// The ending of a sealed outbox file's name (`<32 hex>.eml.sealed`).
pub const SUFFIX: &str = ".eml.sealed";
/// The table and column names bound into each file's envelope.
const PLACE_TABLE: &str = "outbox";
const PLACE_COLUMN: &str = "message";

/// Why the outbox could not be written or read. Never holds an email's content.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no message {0} in the outbox")]
    NotFound(String),
    #[error("not an outbox message id: {0:?} (expected 32 hexadecimal characters)")]
    BadId(String),
    #[error("{id}: {reason}")]
    Sealed {
        id: String,
        reason: envelope::EnvelopeError,
    },
    #[error("{0}: the sealed message is not an outbox record")]
    Corrupt(String),
}

/// One email as written to the outbox (what `haven outbox show` prints is `message`).
#[derive(Clone, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// The file's id (its name without [`SUFFIX`]).
    #[serde(default)]
    pub id: String,
    pub date: DateTime<Utc>,
    pub to: String,
    pub subject: String,
    /// The whole message as sent (RFC 5322: headers, blank line, body).
    pub message: String,
}

// Addresses and links are personal data: never in logs.
impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("date", &self.date)
            .finish_non_exhaustive()
    }
}

/// The outbox folder and the keys its files are sealed under.
#[derive(Clone)]
pub struct Outbox {
    dir: PathBuf,
    keys: KeyRing,
    retention: Duration,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("dir", &self.dir)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

/// The retention when none is set: a week.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

impl Outbox {
    /// The outbox in `dir`, sealing under `keys`, keeping files for [`DEFAULT_RETENTION`].
    pub fn new(dir: impl Into<PathBuf>, keys: KeyRing) -> Self {
        Self {
            dir: dir.into(),
            keys,
            retention: DEFAULT_RETENTION,
        }
    }

    /// The same outbox keeping files for `retention`.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long files are kept.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Seals and writes one email, dated `date`; returns its id. Blocking: call from a
    /// blocking thread.
    pub fn write(
        &self,
        to: &str,
        subject: &str,
        message: &[u8],
        date: DateTime<Utc>,
    ) -> Result<String, OutboxError> {
        create_private_dir(&self.dir)?;
        let id = crate::crypto::new_id();
        let record = OutboxMessage {
            id: String::new(),
            date,
            to: to.to_owned(),
            subject: subject.to_owned(),
            message: String::from_utf8_lossy(message).into_owned(),
        };
        let plain = Zeroizing::new(
            serde_json::to_vec(&record).map_err(|_| OutboxError::Corrupt(id.clone()))?,
        );
        let sealed =
            envelope::seal(&self.keys.current(), place(&id), &plain).map_err(|reason| {
                OutboxError::Sealed {
                    id: id.clone(),
                    reason,
                }
            })?;
        self.replace(&id, &sealed)?;
        Ok(id)
    }

    /// Writes `sealed` as the file of `id`: owner-only, under a temporary name, then renamed
    /// over the old file (if any), so a reader sees the old or the new file, never half.
    fn replace(&self, id: &str, sealed: &str) -> Result<(), OutboxError> {
        let temporary = self
            .dir
            .join(format!(".{id}.{}.tmp", crate::crypto::new_id()));
        let path = self.path(id);
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| OutboxError::Io { path, source }
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temporary).map_err(io(&temporary))?;
        file.write_all(sealed.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(io(&temporary))?;
        drop(file);
        std::fs::rename(&temporary, &path).map_err(io(&path))
    }

    /// Re-wraps the data key of every file not under the current master key (after
    /// `haven keys rotate`), so `haven keys prune` cannot strand an email. The content part
    /// is kept as it is. Returns how many files changed. Blocking.
    pub fn rewrap_all(&self) -> Result<usize, OutboxError> {
        let current = self.keys.current();
        let mut changed = 0;
        for id in self.ids()? {
            let path = self.path(&id);
            let stored = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(OutboxError::Io { path, source }),
            };
            let fail = |reason| OutboxError::Sealed {
                id: id.clone(),
                reason,
            };
            let parsed = Envelope::parse(stored.trim_end()).map_err(fail)?;
            if parsed.key_id == current.id() {
                continue;
            }
            let old = self.keys.get(parsed.key_id).ok_or_else(|| {
                fail(envelope::EnvelopeError::UnknownKey(
                    parsed.key_id.to_owned(),
                ))
            })?;
            let rewrapped = envelope::rewrap(&old, &current, place(&id), &parsed).map_err(fail)?;
            self.replace(&id, &rewrapped)?;
            changed += 1;
        }
        Ok(changed)
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}{SUFFIX}"))
    }

    /// Deletes the message `id` (the retention job, for a destroyed case); missing is fine.
    /// Blocking.
    pub fn remove(&self, id: &str) -> Result<(), OutboxError> {
        let path = self.path(checked_id(id)?);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(OutboxError::Io { path, source }),
        }
    }

    /// Opens the message `id` (its id, or its file name).
    pub fn read(&self, id: &str) -> Result<OutboxMessage, OutboxError> {
        let id = checked_id(id)?;
        let path = self.path(id);
        let stored = match std::fs::read_to_string(&path) {
            Ok(text) => Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(OutboxError::NotFound(id.to_owned()));
            }
            Err(source) => return Err(OutboxError::Io { path, source }),
        };
        let fail = |reason| OutboxError::Sealed {
            id: id.to_owned(),
            reason,
        };
        let parsed = Envelope::parse(stored.trim_end()).map_err(fail)?;
        let key = self.keys.get(parsed.key_id).ok_or_else(|| {
            fail(envelope::EnvelopeError::UnknownKey(
                parsed.key_id.to_owned(),
            ))
        })?;
        let plain = envelope::open(&key, place(id), &parsed).map_err(fail)?;
        let mut record: OutboxMessage =
            serde_json::from_slice(&plain).map_err(|_| OutboxError::Corrupt(id.to_owned()))?;
        id.clone_into(&mut record.id);
        Ok(record)
    }

    /// The ids of every message in the outbox (none when the folder does not exist yet).
    pub fn ids(&self) -> Result<Vec<String>, OutboxError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(OutboxError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let id = name.strip_suffix(SUFFIX)?;
                checked_id(id).ok().map(str::to_owned)
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Every message, oldest first. A file that does not open (another key ring, edited)
    /// is an error: the operator should know.
    pub fn list(&self) -> Result<Vec<OutboxMessage>, OutboxError> {
        let mut messages = Vec::new();
        for id in self.ids()? {
            match self.read(&id) {
                Ok(message) => messages.push(message),
                // Deleted by the retention sweep between listing and reading.
                Err(OutboxError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        messages.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
        Ok(messages)
    }

    /// Deletes the files last written before `now - retention` (and temporary files left
    /// by a crash); returns how many went. Blocking.
    pub fn prune(&self, now: SystemTime) -> Result<usize, OutboxError> {
        let Some(cutoff) = now.checked_sub(self.retention) else {
            return Ok(0);
        };
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => {
                return Err(OutboxError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.ends_with(SUFFIX) || (name.starts_with('.') && name.ends_with(".tmp"));
            let modified = entry.metadata().and_then(|m| m.modified());
            if ours && modified.is_ok_and(|at| at < cutoff) {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|source| OutboxError::Io { path, source })?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn place(id: &str) -> Place<'_> {
    Place {
        table: PLACE_TABLE,
        column: PLACE_COLUMN,
        id,
    }
}

/// `id` or `id.eml.sealed` → `id`, when it is 32 lowercase hex characters (so a command
/// argument can never name a path outside the outbox).
fn checked_id(id: &str) -> Result<&str, OutboxError> {
    let id = id.strip_suffix(SUFFIX).unwrap_or(id);
    if id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(id)
    } else {
        Err(OutboxError::BadId(id.chars().take(80).collect()))
    }
}

/// Creates the outbox folder owner-only (0700) when missing.
fn create_private_dir(dir: &Path) -> Result<(), OutboxError> {
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
    builder.create(dir).map_err(|source| OutboxError::Io {
        path: dir.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed time: the outbox records the time it is given, not the machine's.
    fn written_at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn keys() -> KeyRing {
        KeyRing::from_env(&"ab".repeat(32)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_message_round_trips_and_its_file_shows_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().join("outbox"), keys());
        let id = outbox
            .write(
                "zz-sentinel@example.org",
                "Hello",
                b"To: zz-sentinel@example.org\r\n\r\nhi",
                written_at(),
            )
            .unwrap();
        let raw = std::fs::read(outbox.dir().join(format!("{id}{SUFFIX}"))).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("sentinel"));
        let message = outbox.read(&id).unwrap();
        assert_eq!(message.to, "zz-sentinel@example.org");
        assert_eq!(message.date, written_at());
        assert!(message.message.ends_with("hi"));
        assert_eq!(outbox.list().unwrap().len(), 1);
    }

    #[test]
    fn a_renamed_file_does_not_open_and_ids_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path(), keys());
        let id = outbox
            .write("a@example.org", "s", b"m", written_at())
            .unwrap();
        let other = "0".repeat(32);
        std::fs::rename(outbox.path(&id), outbox.path(&other)).unwrap();
        assert!(matches!(
            outbox.read(&other),
            Err(OutboxError::Sealed { .. })
        ));
        assert!(matches!(
            outbox.read("../../etc/passwd"),
            Err(OutboxError::BadId(_))
        ));
        assert!(matches!(
            outbox.read(&"1".repeat(32)),
            Err(OutboxError::NotFound(_))
        ));
    }
}
