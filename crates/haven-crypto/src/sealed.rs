//! The sealed format, version 2 (`hv2`): binary, compressed, and sealed under the case's own
//! data key when the value belongs to a case.
//!
//! A stored value is bytes (a BLOB / BYTEA column):
//!
//! ```text
//! "hv2" ‖ mode (1 byte) ‖ flags (1 byte) ‖ lock ‖ nonce (24) ‖ ciphertext ‖ tag (16)
//!
//! mode 1, a value's own key:  lock = key id length (1) ‖ master key id ‖ wrapped key (72)
//! mode 2, the case's key:     lock = case id length (1) ‖ case (referral) id
//! flags bit 0: the plaintext was compressed (DEFLATE) before sealing
//! ```
//!
//! Content is XChaCha20-Poly1305 with associated data naming its place (table, column, row
//! id), the mode, the flags and the case id or master key id, so a value moved to another
//! row, column or case, or with an edited header, fails to open. In mode 1 the content key
//! is random and wrapped under a master key (as `hv1` did, in binary); rotation re-wraps it
//! and never touches the content. In mode 2 the content key is the case key itself: it is
//! held in `case_keys`, wrapped under a master key, one row per referral ([`wrap_case_key`]);
//! rotation re-wraps that one row, and destroying it makes every copy of the case's values
//! unreadable (crypto-shredding), backups included, because no copy of the case key is kept
//! in any value.
//!
//! Compression before encryption can leak, through the ciphertext's length, whether an
//! attacker's text matches a secret in the same plaintext (CRIME/BREACH). That needs the
//! attacker's text and the secret compressed together. Every sealed value holds one
//! submitter's data (one person's answers, one note, one file), never two parties' text, so
//! the side channel does not arise; do not seal a value that mixes several people's input.
//!
//! `hv1:` values (crypto/envelope.rs) still open: their text is stored as its UTF-8 bytes,
//! which can never begin with `hv2`.

use rand::TryRngCore;
use zeroize::Zeroizing;

use super::envelope::{EnvelopeError, KEY_LEN, Place, decrypt, encrypt};
use super::keyring::MasterKey;

/// The first bytes of every `hv2` value.
pub const MAGIC: &[u8; 3] = b"hv2";

const MODE_VALUE_KEY: u8 = 1;
const MODE_CASE_KEY: u8 = 2;
const FLAG_DEFLATE: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// A wrapped 32-byte key: nonce, key, tag.
const WRAPPED_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;
/// Values this short are not worth compressing (the DEFLATE header alone is a few bytes).
const COMPRESS_FROM: usize = 64;
/// DEFLATE level: 6 is the usual balance; JSON answers shrink to about a third.
const DEFLATE_LEVEL: u8 = 6;
/// Most bytes a sealed value may expand to. Content is authenticated before it is inflated,
/// so only a key holder could craft a "bomb"; the limit is a second line.
const INFLATE_LIMIT: usize = 256 * 1024 * 1024;

/// A case's data key (zeroed when dropped), with the id of the referral it belongs to.
pub struct CaseKey {
    case_id: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for CaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseKey")
            .field("case_id", &self.case_id)
            .finish_non_exhaustive()
    }
}

impl CaseKey {
    /// A fresh random key for the case `case_id`.
    pub fn generate(case_id: &str) -> Result<Self, EnvelopeError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(key.as_mut())?;
        Ok(Self {
            case_id: case_id.to_owned(),
            key,
        })
    }

    /// The referral this key belongs to.
    pub fn case_id(&self) -> &str {
        &self.case_id
    }
}

fn case_key_aad(key_id: &str, case_id: &str) -> Vec<u8> {
    [
        b"hv2-case".as_slice(),
        key_id.as_bytes(),
        case_id.as_bytes(),
    ]
    .join(&0u8)
}

/// The case key wrapped under `master`, for the `case_keys.wrapped` column (its key id goes
/// in `case_keys.key_id`).
pub fn wrap_case_key(master: &MasterKey, case: &CaseKey) -> Result<Vec<u8>, EnvelopeError> {
    encrypt(
        master.bytes(),
        &case_key_aad(master.id(), &case.case_id),
        case.key.as_ref(),
    )
}

/// The case key of `case_id` from its wrapped form under `master`.
pub fn unwrap_case_key(
    master: &MasterKey,
    case_id: &str,
    wrapped: &[u8],
) -> Result<CaseKey, EnvelopeError> {
    let bytes = decrypt(master.bytes(), &case_key_aad(master.id(), case_id), wrapped)?;
    let key: [u8; KEY_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| EnvelopeError::Malformed("case key of the wrong length"))?;
    Ok(CaseKey {
        case_id: case_id.to_owned(),
        key: Zeroizing::new(key),
    })
}

/// Who holds a value's content key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock<'a> {
    /// The value's own key, wrapped under the named master key.
    ValueKey {
        key_id: &'a str,
        wrapped_key: &'a [u8],
    },
    /// The key of the case (referral) with this id.
    Case { case_id: &'a str },
}

/// An `hv2` value split into its parts (nothing decrypted yet).
#[derive(Debug, Clone, Copy)]
pub struct Sealed<'a> {
    pub lock: Lock<'a>,
    flags: u8,
    content: &'a [u8],
}

impl<'a> Sealed<'a> {
    /// Whether `stored` is in this format (it may still be malformed).
    pub fn is_v2(stored: &[u8]) -> bool {
        stored.starts_with(MAGIC)
    }

    /// The content's associated data for `place`.
    fn aad(&self, place: Place<'_>) -> Vec<u8> {
        match self.lock {
            Lock::ValueKey { .. } => content_aad(place, &NO_WRAPPED_KEY, self.flags),
            Lock::Case { .. } => content_aad(place, &self.lock, self.flags),
        }
    }

    /// Splits a stored value; checks only its shape.
    pub fn parse(stored: &'a [u8]) -> Result<Self, EnvelopeError> {
        let rest = stored
            .strip_prefix(MAGIC.as_slice())
            .ok_or(EnvelopeError::NotSealed)?;
        let short = EnvelopeError::Malformed("hv2 value too short");
        let (&[mode, flags], rest) = rest.split_first_chunk::<2>().ok_or(short.clone())?;
        let (&[name_len], rest) = rest.split_first_chunk::<1>().ok_or(short.clone())?;
        let (name, rest) = rest
            .split_at_checked(usize::from(name_len))
            .ok_or(short.clone())?;
        let name = std::str::from_utf8(name)
            .map_err(|_| EnvelopeError::Malformed("hv2 key or case id is not UTF-8"))?;
        if name.is_empty() {
            return Err(EnvelopeError::Malformed("hv2 empty key or case id"));
        }
        let (lock, rest) = match mode {
            MODE_VALUE_KEY => {
                let (wrapped_key, rest) = rest.split_at_checked(WRAPPED_LEN).ok_or(short)?;
                (
                    Lock::ValueKey {
                        key_id: name,
                        wrapped_key,
                    },
                    rest,
                )
            }
            MODE_CASE_KEY => (Lock::Case { case_id: name }, rest),
            _ => return Err(EnvelopeError::Malformed("hv2 unknown mode")),
        };
        if flags & !FLAG_DEFLATE != 0 {
            return Err(EnvelopeError::Malformed("hv2 unknown flags"));
        }
        Ok(Self {
            lock,
            flags,
            content: rest,
        })
    }
}

/// `hv2 \0 table \0 column \0 id \0 mode flags case-id`: the place, how the value is
/// sealed, and for a case's value the case. Not the master key id of a value's own key (the
/// wrapped key's associated data names it), so rotation replaces only the wrapped key.
fn content_aad(place: Place<'_>, lock: &Lock<'_>, flags: u8) -> Vec<u8> {
    let mut aad = [
        MAGIC.as_slice(),
        place.table.as_bytes(),
        place.column.as_bytes(),
        place.id.as_bytes(),
    ]
    .join(&0u8);
    aad.push(0);
    match lock {
        Lock::ValueKey { .. } => aad.extend_from_slice(&[MODE_VALUE_KEY, flags]),
        Lock::Case { case_id } => {
            aad.extend_from_slice(&[MODE_CASE_KEY, flags]);
            aad.extend_from_slice(case_id.as_bytes());
        }
    }
    aad
}

const NO_WRAPPED_KEY: Lock<'static> = Lock::ValueKey {
    key_id: "",
    wrapped_key: &[],
};

fn value_key_aad(place: Place<'_>, key_id: &str) -> Vec<u8> {
    [
        b"hv2-dek".as_slice(),
        key_id.as_bytes(),
        place.table.as_bytes(),
        place.column.as_bytes(),
        place.id.as_bytes(),
    ]
    .join(&0u8)
}

/// The plaintext compressed when that makes it smaller, and the flags saying so.
fn compressed(plaintext: &[u8]) -> (Zeroizing<Vec<u8>>, u8) {
    if plaintext.len() >= COMPRESS_FROM {
        let packed = miniz_oxide::deflate::compress_to_vec(plaintext, DEFLATE_LEVEL);
        if packed.len() < plaintext.len() {
            return (Zeroizing::new(packed), FLAG_DEFLATE);
        }
    }
    (Zeroizing::new(plaintext.to_vec()), 0)
}

fn header(mode: u8, flags: u8, name: &str) -> Result<Vec<u8>, EnvelopeError> {
    let len = u8::try_from(name.len())
        .map_err(|_| EnvelopeError::Malformed("key or case id longer than 255 bytes"))?;
    let mut out = Vec::with_capacity(MAGIC.len() + 3 + name.len() + WRAPPED_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[mode, flags, len]);
    out.extend_from_slice(name.as_bytes());
    Ok(out)
}

/// Seals `plaintext` for `place` under a fresh key of its own, wrapped under `master`: for
/// values that belong to no case (accounts' secrets, drafts, jobs, uploads not yet claimed).
pub fn seal_with_value_key(
    master: &MasterKey,
    place: Place<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let mut dek = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(dek.as_mut())?;
    seal_value_key_with(master, place, &dek, plaintext)
}

fn seal_value_key_with(
    master: &MasterKey,
    place: Place<'_>,
    dek: &[u8; KEY_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let (body, flags) = compressed(plaintext);
    let mut out = header(MODE_VALUE_KEY, flags, master.id())?;
    out.extend_from_slice(&encrypt(
        master.bytes(),
        &value_key_aad(place, master.id()),
        dek,
    )?);
    out.extend_from_slice(&encrypt(
        dek,
        &content_aad(place, &NO_WRAPPED_KEY, flags),
        &body,
    )?);
    Ok(out)
}

/// Seals `plaintext` for `place` under the key of the case it belongs to.
pub fn seal_in_case(
    case: &CaseKey,
    place: Place<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let (body, flags) = compressed(plaintext);
    let mut out = header(MODE_CASE_KEY, flags, &case.case_id)?;
    let lock = Lock::Case {
        case_id: &case.case_id,
    };
    out.extend_from_slice(&encrypt(
        &case.key,
        &content_aad(place, &lock, flags),
        &body,
    )?);
    Ok(out)
}

/// Opens an `hv2` value. A value sealed under a case key needs that `case` (the key of the
/// case its header names); one under its own key needs `master`, the key its header names.
pub fn open(
    master: Option<&MasterKey>,
    case: Option<&CaseKey>,
    place: Place<'_>,
    sealed: &Sealed<'_>,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let key = content_key(master, case, place, sealed)?;
    let body = decrypt(&key, &sealed.aad(place), sealed.content)?;
    if sealed.flags & FLAG_DEFLATE == 0 {
        return Ok(body);
    }
    miniz_oxide::inflate::decompress_to_vec_with_limit(&body, INFLATE_LIMIT)
        .map(Zeroizing::new)
        .map_err(|_| EnvelopeError::Malformed("compressed content does not inflate"))
}

fn content_key(
    master: Option<&MasterKey>,
    case: Option<&CaseKey>,
    place: Place<'_>,
    sealed: &Sealed<'_>,
) -> Result<Zeroizing<[u8; KEY_LEN]>, EnvelopeError> {
    match sealed.lock {
        Lock::ValueKey {
            key_id,
            wrapped_key,
        } => {
            let master = master
                .filter(|m| m.id() == key_id)
                .ok_or_else(|| EnvelopeError::UnknownKey(key_id.to_owned()))?;
            let dek = decrypt(master.bytes(), &value_key_aad(place, key_id), wrapped_key)?;
            let bytes: [u8; KEY_LEN] = dek
                .as_slice()
                .try_into()
                .map_err(|_| EnvelopeError::Malformed("data key of the wrong length"))?;
            Ok(Zeroizing::new(bytes))
        }
        Lock::Case { case_id } => match case {
            Some(case) if case.case_id == case_id => Ok(case.key.clone()),
            // Another case's value copied into this case's row.
            Some(_) => Err(EnvelopeError::Tampered),
            None => Err(EnvelopeError::NoCaseKey),
        },
    }
}

/// The same value with its own key wrapped under `new` instead of `old` (the key its header
/// names); the content bytes are copied unchanged after checking they still open.
pub fn rewrap(
    old: &MasterKey,
    new: &MasterKey,
    place: Place<'_>,
    sealed: &Sealed<'_>,
) -> Result<Vec<u8>, EnvelopeError> {
    let Lock::ValueKey { .. } = sealed.lock else {
        return Err(EnvelopeError::Malformed(
            "a case's value is re-wrapped with its case key",
        ));
    };
    let dek = content_key(Some(old), None, place, sealed)?;
    // Prove the content still opens: rotation must not launder a tampered value.
    decrypt(&dek, &sealed.aad(place), sealed.content)?;
    let mut out = header(MODE_VALUE_KEY, sealed.flags, new.id())?;
    out.extend_from_slice(&encrypt(
        new.bytes(),
        &value_key_aad(place, new.id()),
        dek.as_ref(),
    )?);
    out.extend_from_slice(sealed.content);
    Ok(out)
}

/// A fresh data key for a chunked file at `place`, and its stored form (the key as the
/// content of a value: under the case key when the file belongs to a case, else wrapped
/// under `master`).
pub fn seal_file_key(
    master: &MasterKey,
    case: Option<&CaseKey>,
    place: Place<'_>,
) -> Result<(Vec<u8>, Zeroizing<[u8; KEY_LEN]>), EnvelopeError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(key.as_mut())?;
    let stored = match case {
        Some(case) => seal_in_case(case, place, key.as_ref())?,
        None => seal_with_value_key(master, place, key.as_ref())?,
    };
    Ok((stored, key))
}

/// Whether a v2 header's plaintext was compressed (for tests and size reports).
pub fn is_compressed(sealed: &Sealed<'_>) -> bool {
    sealed.flags & FLAG_DEFLATE != 0
}

/// Some bytes from the operating system's generator.
fn fill_random(buf: &mut [u8]) -> Result<(), EnvelopeError> {
    rand::rngs::OsRng
        .try_fill_bytes(buf)
        .map_err(|_| EnvelopeError::Random)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Place<'static> = Place {
        table: "referrals",
        column: "answers",
        id: "r1",
    };

    fn master(id: &str, byte: u8) -> MasterKey {
        MasterKey::new(id, [byte; 32])
    }

    fn open_v2(
        m: Option<&MasterKey>,
        c: Option<&CaseKey>,
        place: Place<'_>,
        stored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        open(m, c, place, &Sealed::parse(stored)?)
    }

    #[test]
    fn a_value_key_seals_compresses_and_opens() {
        let m = master("k1", 1);
        let text = "Zephyrine ".repeat(50);
        let stored = seal_with_value_key(&m, HERE, text.as_bytes()).unwrap();
        assert!(stored.starts_with(b"hv2"));
        assert!(stored.len() < text.len(), "compressed before sealing");
        assert!(is_compressed(&Sealed::parse(&stored).unwrap()));
        assert_eq!(
            &open_v2(Some(&m), None, HERE, &stored).unwrap()[..],
            text.as_bytes()
        );
        // Short values are sealed as they are.
        let short = seal_with_value_key(&m, HERE, b"x").unwrap();
        assert!(!is_compressed(&Sealed::parse(&short).unwrap()));
        assert_eq!(&open_v2(Some(&m), None, HERE, &short).unwrap()[..], b"x");
    }

    #[test]
    fn a_case_value_opens_only_with_its_case_key_in_its_place() {
        let case = CaseKey::generate("r1").unwrap();
        let stored = seal_in_case(&case, HERE, b"answers of r1").unwrap();
        assert_eq!(
            &open_v2(None, Some(&case), HERE, &stored).unwrap()[..],
            b"answers of r1"
        );
        assert_eq!(
            open_v2(None, None, HERE, &stored).unwrap_err(),
            EnvelopeError::NoCaseKey
        );
        let other = CaseKey::generate("r2").unwrap();
        assert_eq!(
            open_v2(None, Some(&other), HERE, &stored).unwrap_err(),
            EnvelopeError::Tampered
        );
        // Another key claiming the same case id (a destroyed key re-created) does not open.
        let forged = CaseKey::generate("r1").unwrap();
        assert_eq!(
            open_v2(None, Some(&forged), HERE, &stored).unwrap_err(),
            EnvelopeError::Tampered
        );
        for moved in [
            Place { id: "r2", ..HERE },
            Place {
                column: "screening",
                ..HERE
            },
        ] {
            assert_eq!(
                open_v2(None, Some(&case), moved, &stored).unwrap_err(),
                EnvelopeError::Tampered
            );
        }
    }

    #[test]
    fn an_edited_header_or_content_does_not_open() {
        let m = master("k1", 1);
        let stored = seal_with_value_key(&m, HERE, "a long answer ".repeat(10).as_bytes()).unwrap();
        for at in [4, stored.len() - 1, stored.len() / 2] {
            let mut edited = stored.clone();
            edited[at] ^= 1;
            assert!(open_v2(Some(&m), None, HERE, &edited).is_err(), "byte {at}");
        }
        assert!(Sealed::parse(b"hv2").is_err());
        assert!(Sealed::parse(b"hv1:k1:a:b").is_err());
    }

    #[test]
    fn case_keys_wrap_and_unwrap_for_their_case_only() {
        let m = master("k1", 1);
        let case = CaseKey::generate("r1").unwrap();
        let wrapped = wrap_case_key(&m, &case).unwrap();
        let again = unwrap_case_key(&m, "r1", &wrapped).unwrap();
        let stored = seal_in_case(&case, HERE, b"x").unwrap();
        assert_eq!(
            &open_v2(None, Some(&again), HERE, &stored).unwrap()[..],
            b"x"
        );
        assert!(unwrap_case_key(&m, "r2", &wrapped).is_err());
        assert!(unwrap_case_key(&master("k1", 2), "r1", &wrapped).is_err());
    }

    #[test]
    fn rewrap_moves_a_value_key_to_the_new_master_key() {
        let (old, new) = (master("k1", 1), master("k2", 2));
        let stored = seal_with_value_key(&old, HERE, b"case notes").unwrap();
        let moved = rewrap(&old, &new, HERE, &Sealed::parse(&stored).unwrap()).unwrap();
        assert_eq!(
            &open_v2(Some(&new), None, HERE, &moved).unwrap()[..],
            b"case notes"
        );
        assert!(open_v2(Some(&old), None, HERE, &moved).is_err());
        // Only the wrapped key changed: the content bytes are the same.
        assert_eq!(stored[stored.len() - 34..], moved[moved.len() - 34..]);
    }
}
