//! The key ring's stored forms: the `master.keys` file (parsed, rendered, read with its
//! permissions checked, replaced atomically) and the `HAVEN_MASTER_KEY` value.

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use zeroize::Zeroizing;

use super::keyring::{KeyStatus, MASTER_KEYS_FILE, MasterKey};
use super::{KeyError, random_symbols, sha256_hex};

const FILE_HEADER: &str = "\
# Haven master keys (envelope encryption). Keep this file private (mode 0600) and back it up
# separately from the database: without it, sealed case content cannot be read.
# One key a line: <id> <current|retired> <64 hexadecimal characters>. Managed by
# `haven keys rotate` and `haven keys prune`.
";

#[derive(Clone)]
pub(super) struct Entry {
    pub(super) key: MasterKey,
    pub(super) status: KeyStatus,
}

/// A parsed ring: at least one key, exactly one current.
#[derive(Clone)]
pub(super) struct Ring {
    pub(super) entries: Vec<Entry>,
}

impl Ring {
    pub(super) fn current(&self) -> Option<&MasterKey> {
        self.entries
            .iter()
            .find(|e| e.status == KeyStatus::Current)
            .map(|e| &e.key)
    }

    pub(super) fn get(&self, id: &str) -> Option<&MasterKey> {
        self.entries
            .iter()
            .find(|e| e.key.id() == id)
            .map(|e| &e.key)
    }

    pub(super) fn parse_file(text: &str, path: &Path) -> Result<Self, KeyError> {
        let bad = |line: usize, reason: &str| KeyError::BadKeyRing {
            location: if line == 0 {
                path.display().to_string()
            } else {
                format!("{}:{line}", path.display())
            },
            reason: reason.to_owned(),
        };
        let mut entries: Vec<Entry> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [id, status, hex_key] = fields[..] else {
                return Err(bad(number, "expected `<id> <current|retired> <hex key>`"));
            };
            if !valid_id(id) {
                return Err(bad(number, "a key id is 1 to 40 of a-z, 0-9 and -"));
            }
            if entries.iter().any(|e| e.key.id() == id) {
                return Err(bad(number, "this key id appears twice"));
            }
            let status = match status {
                "current" => KeyStatus::Current,
                "retired" => KeyStatus::Retired,
                _ => return Err(bad(number, "the status must be `current` or `retired`")),
            };
            let bytes = key_from_hex(hex_key)
                .ok_or_else(|| bad(number, "the key must be 64 hexadecimal characters"))?;
            entries.push(Entry {
                key: MasterKey::new(id, *bytes),
                status,
            });
        }
        let current = entries
            .iter()
            .filter(|e| e.status == KeyStatus::Current)
            .count();
        if current != 1 {
            return Err(bad(0, "exactly one key must be `current`"));
        }
        Ok(Self { entries })
    }

    pub(super) fn parse_env(value: &str) -> Result<Self, KeyError> {
        let mut entries = Vec::new();
        for (index, hex_key) in value.split(',').enumerate() {
            let bytes = key_from_hex(hex_key).ok_or(KeyError::BadMasterEnv)?;
            // The id is a fingerprint of the key, so every server given the same variable
            // names its keys the same way (32 bits of a SHA-256 reveal nothing useful).
            let fingerprint =
                sha256_hex(&[b"haven master key id\0".as_slice(), &bytes[..]].concat());
            let id = format!("env-{}", &fingerprint[..8]);
            if entries.iter().any(|e: &Entry| e.key.id() == id) {
                return Err(KeyError::BadMasterEnv);
            }
            entries.push(Entry {
                key: MasterKey::new(id, *bytes),
                status: if index == 0 {
                    KeyStatus::Current
                } else {
                    KeyStatus::Retired
                },
            });
        }
        Ok(Self { entries })
    }

    pub(super) fn render(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::from(FILE_HEADER));
        for e in &self.entries {
            text.push_str(&format!(
                "{} {} {}\n",
                e.key.id(),
                e.status.as_str(),
                Zeroizing::new(hex::encode(e.key.bytes())).as_str()
            ));
        }
        text
    }
}

fn valid_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn key_from_hex(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let bytes = Zeroizing::new(hex::decode(text.trim()).ok()?);
    let key: [u8; 32] = bytes.as_slice().try_into().ok()?;
    Some(Zeroizing::new(key))
}

/// What identifies one version of the file, read with one `stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

pub(super) fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let meta = std::fs::metadata(path)?;
    Ok(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads and checks the file: its permissions first, so keys in a world-readable file are
/// refused before they are used.
pub(super) fn read_file(path: &Path) -> Result<(Ring, Stamp), KeyError> {
    check_permissions(path)?;
    let stamp = stamp(path).map_err(io_error(path))?;
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io_error(path))?);
    Ok((Ring::parse_file(&text, path)?, stamp))
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(io_error(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::KeyRingPermissions {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

/// Creates the file (mode 0600), failing if it exists.
pub(super) fn write_new(path: &Path, ring: &Ring) -> Result<(), KeyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(ring.render().as_bytes())
        .map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

/// Replaces the file atomically (a new file renamed over it), so a server re-reading it
/// never sees half a file and a crash leaves either the old or the new ring.
pub(super) fn replace_file(path: &Path, ring: &Ring) -> Result<(), KeyError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| MASTER_KEYS_FILE.to_owned());
    let temp = path.with_file_name(format!(
        ".{name}.{}.tmp",
        random_symbols(8).to_ascii_lowercase()
    ));
    write_new(&temp, ring)?;
    if let Err(source) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(KeyError::Io {
            path: path.to_owned(),
            source,
        });
    }
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        // Makes the rename itself durable.
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Held while one process changes the key ring file, so two `haven keys` commands cannot
/// both read the old file and the second's write drop the first's new key. Removed on drop.
pub(super) struct FileLock {
    path: std::path::PathBuf,
}

impl FileLock {
    /// Takes the lock `.<file>.lock` next to `path`, waiting up to 5 seconds for another
    /// holder (the change itself takes milliseconds).
    pub(super) fn take(path: &Path) -> Result<Self, KeyError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| MASTER_KEYS_FILE.to_owned());
        let lock = path.with_file_name(format!(".{name}.lock"));
        for _ in 0..100 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(_) => return Ok(Self { path: lock }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(source) => return Err(KeyError::Io { path: lock, source }),
            }
        }
        Err(KeyError::KeyRingLocked { lock })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
