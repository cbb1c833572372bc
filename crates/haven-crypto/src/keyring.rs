//! The master key ring: the keys that wrap every data key (see [`super::envelope`]).
//!
//! Master keys never enter the database. They come from either
//! - `HAVEN_MASTER_KEY`: one or more 64-character hex keys separated by commas, the first
//!   current (the others only open values not yet re-wrapped), or
//! - the key ring file `<data_dir>/master.keys`, created (mode 0600) on first run. Haven
//!   refuses to start when the file is readable by anyone but its owner.
//!
//! The file is one key a line, `<id> <current|retired> <64 hex characters>`, exactly one
//! current. `haven keys rotate` adds a new current key and retires the old one; running
//! servers pick the change up without a restart: they look at the file's modification time
//! at most every [`DEFAULT_CHECK_INTERVAL`] before sealing, and re-read the file at once when
//! they meet a value wrapped under a key id they do not know.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rand::TryRngCore;
use zeroize::Zeroizing;

use super::keyfile::{Entry, FileLock, Ring, Stamp, read_file, replace_file, stamp, write_new};
use super::{KeyError, random_symbols};

/// Name of the key ring file under the data directory.
pub const MASTER_KEYS_FILE: &str = "master.keys";

/// The environment variable holding master keys instead of the file.
pub const MASTER_KEY_ENV: &str = "HAVEN_MASTER_KEY";

/// How often a running server looks at the key ring file's modification time (one `stat`).
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// One master key. Cheap to clone; the bytes are wiped from memory when the last copy goes.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    bytes: Arc<Zeroizing<[u8; 32]>>,
}

// Hand-written: the key bytes must never reach a log line.
impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A key with this id and these bytes.
    pub fn new(id: impl Into<String>, bytes: [u8; 32]) -> Self {
        Self {
            id: id.into(),
            bytes: Arc::new(Zeroizing::new(bytes)),
        }
    }

    /// A fresh random key with a new id `k<YYYYMMDD>-<6 random symbols>`.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng
            .try_fill_bytes(bytes.as_mut())
            .map_err(|e| KeyError::Random(e.to_string()))?;
        let id = format!(
            "k{}-{}",
            chrono::Utc::now().format("%Y%m%d"),
            random_symbols(6).to_ascii_lowercase()
        );
        Ok(Self::new(id, *bytes))
    }

    /// The key's id, stored in every value it wraps.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

/// Whether new values are sealed under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// New values are sealed under it (exactly one key).
    Current,
    /// Only opens values not yet re-wrapped; removed by `haven keys prune`.
    Retired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Current => "current",
            KeyStatus::Retired => "retired",
        }
    }
}

struct Watch {
    every: Duration,
    checked_at: Instant,
    stamp: Option<Stamp>,
}

enum Source {
    File(PathBuf),
    Env,
}

struct Shared {
    source: Source,
    ring: RwLock<Arc<Ring>>,
    watch: Mutex<Watch>,
}

/// The master keys in use, shared by every part of a process. Cheap to clone.
#[derive(Clone)]
pub struct KeyRing {
    shared: Arc<Shared>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<(String, KeyStatus)> = self.keys();
        f.debug_struct("KeyRing")
            .field("source", &self.describe_source())
            .field("keys", &ids)
            .finish()
    }
}

impl KeyRing {
    /// The keys from `HAVEN_MASTER_KEY` (`env_value`) when set, otherwise from
    /// `<data_dir>/master.keys`, created with one new key on first run.
    pub fn load_or_create(env_value: Option<&str>, data_dir: &Path) -> Result<Self, KeyError> {
        match env_value {
            Some(value) => Self::from_env(value),
            None => Self::load_or_create_file(&data_dir.join(MASTER_KEYS_FILE)),
        }
    }

    /// The keys from a `HAVEN_MASTER_KEY` value.
    pub fn from_env(value: &str) -> Result<Self, KeyError> {
        Ok(Self::with(Source::Env, Ring::parse_env(value)?, None))
    }

    /// The keys from the file at `path`, created with one new key when missing.
    pub fn load_or_create_file(path: &Path) -> Result<Self, KeyError> {
        match std::fs::metadata(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let ring = Ring {
                    entries: vec![Entry {
                        key: MasterKey::generate()?,
                        status: KeyStatus::Current,
                    }],
                };
                match write_new(path, &ring) {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "created a new master key ring")
                    }
                    // Another process created it first: use theirs.
                    Err(KeyError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            Err(source) => {
                return Err(KeyError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        let (ring, stamp) = read_file(path)?;
        Ok(Self::with(Source::File(path.to_owned()), ring, Some(stamp)))
    }

    fn with(source: Source, ring: Ring, stamp: Option<Stamp>) -> Self {
        Self {
            shared: Arc::new(Shared {
                source,
                ring: RwLock::new(Arc::new(ring)),
                watch: Mutex::new(Watch {
                    every: DEFAULT_CHECK_INTERVAL,
                    checked_at: Instant::now(),
                    stamp,
                }),
            }),
        }
    }

    /// Changes how often the file's modification time is checked (tests use zero).
    pub fn with_check_interval(self, every: Duration) -> Self {
        if let Ok(mut watch) = self.shared.watch.lock() {
            watch.every = every;
        }
        self
    }

    /// The key ring file, when the keys come from one.
    pub fn file(&self) -> Option<&Path> {
        match &self.shared.source {
            Source::File(path) => Some(path),
            Source::Env => None,
        }
    }

    fn describe_source(&self) -> String {
        match &self.shared.source {
            Source::File(path) => path.display().to_string(),
            Source::Env => MASTER_KEY_ENV.to_owned(),
        }
    }

    fn ring(&self) -> Arc<Ring> {
        match self.shared.ring.read() {
            Ok(ring) => ring.clone(),
            // A panic while swapping an Arc cannot leave it half-written.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key new values are sealed under, after re-reading the file if it changed (looked
    /// at no more often than the check interval).
    pub fn current(&self) -> MasterKey {
        self.refresh_if_due();
        let ring = self.ring();
        match ring.current() {
            Some(key) => key.clone(),
            // Parsing guarantees one current key; keep a total function regardless.
            None => ring.entries[0].key.clone(),
        }
    }

    /// The key with this id. An unknown id re-reads the file first: another process may
    /// have rotated the keys since this one loaded them.
    pub fn get(&self, id: &str) -> Option<MasterKey> {
        if let Some(key) = self.ring().get(id) {
            return Some(key.clone());
        }
        if matches!(self.shared.source, Source::File(_)) {
            self.reload_logging_errors();
        }
        self.ring().get(id).cloned()
    }

    /// Every key id with its status, current first.
    pub fn keys(&self) -> Vec<(String, KeyStatus)> {
        let ring = self.ring();
        let mut keys: Vec<(String, KeyStatus)> = ring
            .entries
            .iter()
            .map(|e| (e.key.id.clone(), e.status))
            .collect();
        keys.sort_by_key(|(_, status)| *status != KeyStatus::Current);
        keys
    }

    /// Re-reads the key ring file now.
    pub fn reload(&self) -> Result<(), KeyError> {
        let Source::File(path) = &self.shared.source else {
            return Ok(());
        };
        let (ring, stamp) = read_file(path)?;
        self.install(ring);
        if let Ok(mut watch) = self.shared.watch.lock() {
            watch.stamp = Some(stamp);
            watch.checked_at = Instant::now();
        }
        Ok(())
    }

    fn install(&self, ring: Ring) {
        let ring = Arc::new(ring);
        match self.shared.ring.write() {
            Ok(mut slot) => *slot = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
    }

    fn reload_logging_errors(&self) {
        if let Err(e) = self.reload() {
            // Keep serving with the keys already loaded; the message names the file only.
            tracing::warn!(error = %e, "could not re-read the master key ring");
        }
    }

    fn refresh_if_due(&self) {
        let Source::File(path) = &self.shared.source else {
            return;
        };
        let changed = {
            let Ok(mut watch) = self.shared.watch.lock() else {
                return;
            };
            if watch.checked_at.elapsed() < watch.every {
                return;
            }
            watch.checked_at = Instant::now();
            stamp(path).ok() != watch.stamp
        };
        if changed {
            self.reload_logging_errors();
        }
    }

    /// Adds a new current key to the file and retires the others; returns the new key's id.
    /// Values are re-wrapped afterwards by `Storage::rewrap_all`.
    pub fn rotate(&self) -> Result<String, KeyError> {
        let Source::File(path) = &self.shared.source else {
            return Err(KeyError::KeysFromEnv);
        };
        // Start from the file as it is now, not as this process last saw it, and let no
        // other process change it until the new one is in place.
        let lock = FileLock::take(path)?;
        let (mut ring, _) = read_file(path)?;
        for entry in &mut ring.entries {
            entry.status = KeyStatus::Retired;
        }
        let key = MasterKey::generate()?;
        let id = key.id.clone();
        ring.entries.insert(
            0,
            Entry {
                key,
                status: KeyStatus::Current,
            },
        );
        replace_file(path, &ring)?;
        drop(lock);
        self.reload()?;
        Ok(id)
    }

    /// Removes these retired keys from the file (the current key is never removed).
    pub fn remove_retired(&self, ids: &[String]) -> Result<(), KeyError> {
        let Source::File(path) = &self.shared.source else {
            return Err(KeyError::KeysFromEnv);
        };
        let _lock = FileLock::take(path)?;
        let (mut ring, _) = read_file(path)?;
        ring.entries
            .retain(|e| e.status == KeyStatus::Current || !ids.contains(&e.key.id));
        replace_file(path, &ring)?;
        self.reload()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeyRing::load_or_create(None, dir.path()).unwrap();
        let second = KeyRing::load_or_create(None, dir.path()).unwrap();
        assert_eq!(first.current().id(), second.current().id());
        assert_eq!(first.current().bytes(), second.current().bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join(MASTER_KEYS_FILE);
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = KeyRing::load_or_create(None, dir.path()).unwrap_err();
            let message = err.to_string();
            assert!(message.contains("master.keys"), "{message}");
            assert!(message.contains("644"), "{message}");
        }
    }

    #[test]
    fn debug_shows_ids_only() {
        let ring = KeyRing::from_env(&"ab".repeat(32)).unwrap();
        let text = format!("{ring:?} {:?}", ring.current());
        assert!(text.contains("env-"));
        assert!(!text.contains("abab"), "{text}");
    }

    #[test]
    fn env_keys_first_is_current() {
        let ring = KeyRing::from_env(&format!("{},{}", "11".repeat(32), "22".repeat(32))).unwrap();
        let keys = ring.keys();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].1, KeyStatus::Current);
        assert_eq!(ring.current().bytes(), &[0x11; 32]);
        assert!(KeyRing::from_env("abcd").is_err());
        assert!(ring.rotate().is_err());
    }

    #[test]
    fn rotation_is_seen_by_another_process_view() {
        let dir = tempfile::tempdir().unwrap();
        let rotator = KeyRing::load_or_create(None, dir.path()).unwrap();
        let server = KeyRing::load_or_create(None, dir.path())
            .unwrap()
            .with_check_interval(Duration::ZERO);
        let old = server.current().id().to_owned();
        let new = rotator.rotate().unwrap();
        assert_ne!(old, new);
        // Unknown ids re-read the file; the modification time switches the current key.
        assert!(server.get(&new).is_some());
        assert_eq!(server.current().id(), new);
        assert_eq!(rotator.keys()[1], (old.clone(), KeyStatus::Retired));
        rotator.remove_retired(std::slice::from_ref(&old)).unwrap();
        assert_eq!(rotator.keys().len(), 1);
        assert!(rotator.get(&old).is_none());
    }

    #[test]
    fn concurrent_rotations_keep_every_key() {
        let dir = tempfile::tempdir().unwrap();
        KeyRing::load_or_create(None, dir.path()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let path = dir.path().to_owned();
                std::thread::spawn(move || {
                    let ring = KeyRing::load_or_create(None, &path).unwrap();
                    ring.rotate().unwrap()
                })
            })
            .collect();
        let new_ids: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let ring = KeyRing::load_or_create(None, dir.path()).unwrap();
        assert_eq!(ring.keys().len(), 5);
        for id in &new_ids {
            assert!(ring.get(id).is_some(), "{id} kept");
        }
        assert!(!dir.path().join(".master.keys.lock").exists());
    }

    #[test]
    fn malformed_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MASTER_KEYS_FILE);
        std::fs::write(&path, "# x\nk1 current nothex\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let err = KeyRing::load_or_create_file(&path).unwrap_err().to_string();
        assert!(err.contains("master.keys:2"), "{err}");
    }
}
