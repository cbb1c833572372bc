//! Secrets and the random codes Haven hands out: the server secret key, case references,
//! receipt codes, API tokens, one-time passwords and record ids.
//!
//! What is stored is never the secret itself: receipt codes are kept as an HMAC under the
//! server key (a copied database cannot be used to test guesses offline), API tokens as a
//! SHA-256 (256 random bits need no key).
//!
//! Case content is sealed ([`sealed`], the `hv2` format; [`envelope`] still opens `hv1:`
//! values) under per-case keys and master keys kept outside the database ([`keyring`]);
//! attachments in chunks ([`stream`]).
//!
//! A crate of its own so the vault (in `haven-storage`) and the server share one
//! implementation; it knows no database and no web. The `haven` crate re-exports it as
//! `haven::crypto`.
#![forbid(unsafe_code)]

pub mod envelope;
mod keyfile;
pub mod keyring;
pub mod sealed;
pub mod stream;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rand::{Rng, TryRngCore};
use sha2::{Digest, Sha256};

/// Crockford's base32 alphabet: no I, L, O or U, so codes survive being read aloud or
/// handwritten. Hand-written (one constant and a loop) rather than a crate: we only ever pick
/// random symbols from it, we never decode arbitrary data.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Symbols in a receipt code: 20 × 5 bits = 100 random bits.
const RECEIPT_SYMBOLS: usize = 20;

/// Symbols in an API token after the `hvn_` prefix: 52 × 5 = 260 random bits.
const TOKEN_SYMBOLS: usize = 52;

/// Name of the key file under the data directory.
pub const SECRET_KEY_FILE: &str = "secret.key";

/// Why the server secret key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("HAVEN_SECRET_KEY: must be 64 hexadecimal characters (32 bytes)")]
    BadEnv,
    #[error("{0}: must hold 64 hexadecimal characters (32 bytes)")]
    BadFile(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error(
        "HAVEN_MASTER_KEY: must be 64 hexadecimal characters (32 bytes), or several such keys \
         separated by commas (the first is current)"
    )]
    BadMasterEnv,
    #[error("{location}: {reason}")]
    BadKeyRing { location: String, reason: String },
    #[error(
        "{shown}: permissions are {mode:o}, but the master key file must be readable by its \
         owner only; refusing to use it (run `chmod 600 {shown}`, and consider the keys exposed)",
        shown = .path.display()
    )]
    KeyRingPermissions { path: PathBuf, mode: u32 },
    #[error(
        "the master keys come from HAVEN_MASTER_KEY, which Haven cannot change: put a new key \
         first in HAVEN_MASTER_KEY (keeping the old ones after it), restart the servers, then \
         run `haven keys rotate --rewrap-only`"
    )]
    KeysFromEnv,
    #[error(
        "another `haven keys` command is changing the key ring (if none is running, remove {})",
        .lock.display()
    )]
    KeyRingLocked { lock: PathBuf },
}

/// The server's secret key (32 bytes), used for keyed hashes such as receipt codes.
///
/// Several `haven serve` instances sharing one PostgreSQL database must share this key (set
/// the same `HAVEN_SECRET_KEY` on each, or copy `secret.key`), or receipt codes issued by one
/// instance will not be recognised by another.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A key from its hex form (64 characters).
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text.trim()).ok()?;
        let key: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(key))
    }

    /// A fresh random key from the operating system.
    pub fn generate() -> Result<Self, KeyError> {
        let mut key = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut key)
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self(key))
    }

    /// The key from `HAVEN_SECRET_KEY` (`env_value`) when set, otherwise from
    /// `<data_dir>/secret.key`, which is created (mode 0600) on first run.
    pub fn load_or_create(env_value: Option<&str>, data_dir: &Path) -> Result<Self, KeyError> {
        if let Some(value) = env_value {
            return Self::from_hex(value).ok_or(KeyError::BadEnv);
        }
        let path = data_dir.join(SECRET_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text).ok_or(KeyError::BadFile(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create_file(&path),
            Err(source) => Err(KeyError::Io { path, source }),
        }
    }

    fn create_file(path: &Path) -> Result<Self, KeyError> {
        let key = Self::generate()?;
        let mut options = std::fs::OpenOptions::new();
        // create_new: two instances starting together on one data dir cannot overwrite each
        // other's key; the loser reads the winner's.
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(mut file) => {
                let io = |source| KeyError::Io {
                    path: path.to_owned(),
                    source,
                };
                writeln!(file, "{}", hex::encode(key.0)).map_err(io)?;
                file.sync_all().map_err(io)?;
                tracing::info!(path = %path.display(), "created a new server secret key");
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
                    path: path.to_owned(),
                    source,
                })?;
                Self::from_hex(&text).ok_or_else(|| KeyError::BadFile(path.to_owned()))
            }
            Err(source) => Err(KeyError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// HMAC-SHA256 of `data` under this key, in hex.
    pub fn keyed_hash(&self, data: &[u8]) -> String {
        // HMAC is defined for keys of any length, so `new_from_slice` cannot fail for a
        // 32-byte key; the fallback only exists to avoid a panic path.
        match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(mut mac) => {
                mac.update(data);
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => sha256_hex(&[&self.0[..], data].concat()),
        }
    }

    /// A 32-byte key for one purpose, derived from this key as HMAC-SHA256(key, `label`), so
    /// keys for different purposes never coincide and none reveals the server key.
    pub fn derive(&self, label: &[u8]) -> [u8; 32] {
        // As in `keyed_hash`, `new_from_slice` cannot fail; the fallback avoids a panic path.
        match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(mut mac) => {
                mac.update(label);
                mac.finalize().into_bytes().into()
            }
            Err(_) => Sha256::digest([&self.0[..], label].concat()).into(),
        }
    }

    /// The stored form of a receipt code (whatever its case or grouping).
    pub fn receipt_hash(&self, code: &str) -> String {
        self.keyed_hash(normalise_code(code).as_bytes())
    }
}

/// SHA-256 of `data`, in hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `n` random Crockford base32 symbols from a cryptographically secure generator
/// (`rand::rng()` is a CSPRNG seeded from the operating system).
pub fn random_symbols(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(CROCKFORD[rng.random_range(0..CROCKFORD.len())]))
        .collect()
}

/// Upper-cases a code and drops hyphens and spaces, reading the letters Crockford base32
/// leaves out as the digits they look like (`O` → `0`, `I`/`L` → `1`).
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// A new receipt code, grouped for reading: `XXXXX-XXXXX-XXXXX-XXXXX` (100 random bits).
pub fn new_receipt_code() -> String {
    group(&random_symbols(RECEIPT_SYMBOLS), 5)
}

/// A new case reference `<PREFIX>-XXXX-XXXX` (40 random bits). Unique per database through
/// a UNIQUE constraint; the caller retries on conflict.
pub fn new_reference(prefix: &str) -> String {
    format!("{prefix}-{}", group(&random_symbols(8), 4))
}

/// A new API token `hvn_…` (260 random bits), shown once.
pub fn new_api_token() -> String {
    format!("hvn_{}", random_symbols(TOKEN_SYMBOLS).to_ascii_lowercase())
}

/// The stored form of an API token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.trim().as_bytes())
}

/// A strong one-time password for a new staff account (100 random bits, grouped).
pub fn new_password() -> String {
    group(&random_symbols(20).to_ascii_lowercase(), 5)
}

/// A new random record id (128 bits, hex).
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// A new referral id: 32 hex digits like [`new_id`], but after a random first digit come the
/// creation time's Unix milliseconds (12 digits) and then 76 random bits. Every index keyed
/// by a referral's id (the referral, its case key, person record, events, person tokens by
/// referral, audit entries by record) then takes a new referral next to the last ones, in
/// one of 16 places (one per first digit), instead of on a random page: a random key costs
/// each such index a page written per referral (and, on SQLite, that page again in the WAL
/// and at the checkpoint). The first digit stays random because the queue's maintained
/// counts are sharded by it (`referral_counts.shard`), so concurrent writers on PostgreSQL
/// still spread over 16 rows. The time in an id is never read back as a date.
pub fn new_ordered_id(unix_millis: u64) -> String {
    let bytes: [u8; 11] = rand::rng().random();
    let random = hex::encode(bytes);
    let mut id = String::with_capacity(32);
    id.push_str(&random[..1]);
    id.push_str(&format!("{:012x}", unix_millis & 0xFFFF_FFFF_FFFF));
    id.push_str(&random[1..20]);
    id
}

fn group(symbols: &str, size: usize) -> String {
    symbols
        .as_bytes()
        .chunks(size)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_ids_look_like_other_ids_and_follow_time_after_their_first_digit() {
        let earlier = new_ordered_id(1_765_000_000_000);
        let later = new_ordered_id(1_765_000_000_001);
        for id in [&earlier, &later] {
            assert_eq!(id.len(), 32);
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
        assert_eq!(&earlier[1..13], "019af232b200");
        assert!(earlier[1..] < later[1..]);
        // Random apart from the time: two ids of the same millisecond differ.
        assert_ne!(new_ordered_id(7), new_ordered_id(7));
    }

    #[test]
    fn receipt_codes_have_100_bits_in_four_groups() {
        let code = new_receipt_code();
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4);
        assert!(groups.iter().all(|g| g.len() == 5));
        assert!(
            code.chars()
                .all(|c| c == '-' || CROCKFORD.contains(&(c as u8)))
        );
    }

    #[test]
    fn receipt_hash_ignores_case_grouping_and_lookalikes() {
        let key = SecretKey([7; 32]);
        let code = "0A1B2-C3D4E-F5G6H-J7K8M";
        assert_eq!(
            key.receipt_hash(code),
            key.receipt_hash("oa1b2c3d4ef5g6hj7k8m")
        );
        assert_eq!(
            key.receipt_hash(code),
            key.receipt_hash("0a1b2 c3d4e f5g6h j7k8m")
        );
        assert_ne!(
            key.receipt_hash(code),
            SecretKey([8; 32]).receipt_hash(code)
        );
        assert!(!key.receipt_hash(code).contains("0A1B2"));
    }

    #[test]
    fn references_have_prefix_and_two_groups() {
        let r = new_reference("SEC");
        assert_eq!(r.len(), "SEC-XXXX-XXXX".len());
        assert!(r.starts_with("SEC-"));
        assert_eq!(r.as_bytes()[8], b'-');
    }

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = SecretKey::load_or_create(None, dir.path()).unwrap();
        let second = SecretKey::load_or_create(None, dir.path()).unwrap();
        assert_eq!(first.0, second.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn derived_keys_differ_by_label_and_from_the_key() {
        let key = SecretKey([7; 32]);
        assert_ne!(key.derive(b"a"), key.derive(b"b"));
        assert_ne!(key.derive(b"a"), [7; 32]);
        assert_eq!(key.derive(b"a"), key.derive(b"a"));
        assert_ne!(key.derive(b"a"), SecretKey([8; 32]).derive(b"a"));
    }

    #[test]
    fn env_key_must_be_32_bytes_of_hex() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SecretKey::load_or_create(Some("abcd"), dir.path()).is_err());
        let hex64 = "11".repeat(32);
        assert!(SecretKey::load_or_create(Some(&hex64), dir.path()).is_ok());
    }
}
