//! Envelope encryption of one stored value.
//!
//! Every value gets its own random 256-bit data key (DEK). The content is encrypted under the
//! DEK with XChaCha20-Poly1305, with associated data naming its place (`table`, `column`,
//! record id), so a value copied to another row or column fails to open. The DEK is itself
//! encrypted ("wrapped") under a master key from the key ring, with associated data naming
//! the master key's id and the same place. The stored form is one TEXT value:
//!
//! ```text
//! hv1:<master key id>:<base64url wrapped DEK>:<base64url content nonce + ciphertext>
//! ```
//!
//! Rotating the master key re-wraps only the DEK (the third part); the content part never
//! changes, so rotation is cheap and cannot damage the content.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::TryRngCore;
use zeroize::Zeroizing;

use super::keyring::MasterKey;

/// The prefix (and version) of every sealed value.
pub const SEALED_PREFIX: &str = "hv1:";

const NONCE_LEN: usize = 24;
pub const KEY_LEN: usize = 32;

/// Where a value lives; bound into both ciphertexts as associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub id: &'a str,
}

impl Place<'_> {
    /// `hv1\0table\0column\0id`: NUL cannot occur in table or column names, so no two
    /// places share a byte string.
    fn content_aad(&self) -> Vec<u8> {
        [
            b"hv1".as_slice(),
            self.table.as_bytes(),
            self.column.as_bytes(),
            self.id.as_bytes(),
        ]
        .join(&0u8)
    }

    fn wrap_aad(&self, key_id: &str) -> Vec<u8> {
        [
            b"hv1-dek".as_slice(),
            key_id.as_bytes(),
            self.table.as_bytes(),
            self.column.as_bytes(),
            self.id.as_bytes(),
        ]
        .join(&0u8)
    }
}

/// Why a value could not be sealed or opened. The messages never include the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("not a sealed value (expected the `hv1:` or `hv2` prefix)")]
    NotSealed,
    /// An `hv2` value sealed under its case's key, and that key was not given: it was
    /// destroyed (crypto-shredding) or not loaded.
    #[error("sealed under its case's key, which is not available (destroyed, or not loaded)")]
    NoCaseKey,
    #[error("malformed sealed value: {0}")]
    Malformed(&'static str),
    #[error("sealed under master key `{0}`, which is not in the key ring")]
    UnknownKey(String),
    /// Wrong key, wrong place or edited bytes: AEAD cannot tell which, by design.
    #[error(
        "authentication failed: the value was altered, moved from another place, or sealed under another key"
    )]
    Tampered,
    #[error("the operating system's random number generator failed")]
    Random,
}

/// A sealed value split into its parts (nothing decrypted yet).
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub key_id: &'a str,
    pub wrapped_dek: &'a str,
    pub content: &'a str,
}

impl<'a> Envelope<'a> {
    /// Splits a stored value; checks only its shape.
    pub fn parse(stored: &'a str) -> Result<Self, EnvelopeError> {
        let rest = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(EnvelopeError::NotSealed)?;
        let mut parts = rest.split(':');
        let (Some(key_id), Some(wrapped_dek), Some(content), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(EnvelopeError::Malformed(
                "expected four `:`-separated parts",
            ));
        };
        if key_id.is_empty() {
            return Err(EnvelopeError::Malformed("empty master key id"));
        }
        Ok(Self {
            key_id,
            wrapped_dek,
            content,
        })
    }
}

/// Seals `plaintext` for `place` under `master`.
pub fn seal(
    master: &MasterKey,
    place: Place<'_>,
    plaintext: &[u8],
) -> Result<String, EnvelopeError> {
    let mut dek = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(dek.as_mut())?;
    let content = encrypt(&dek, &place.content_aad(), plaintext)?;
    let wrapped = encrypt(master.bytes(), &place.wrap_aad(master.id()), dek.as_ref())?;
    Ok(format!(
        "{SEALED_PREFIX}{}:{}:{}",
        master.id(),
        URL_SAFE_NO_PAD.encode(wrapped),
        URL_SAFE_NO_PAD.encode(content)
    ))
}

/// A fresh data key for `place`, and its envelope: the key wrapped under `master` exactly as
/// [`seal`] wraps a value's key, with an empty content part (which still authenticates the
/// place). A chunked attachment ([`super::stream`]) keeps this as its `file_key`, so rotation
/// re-wraps it like any sealed value and never touches the chunks.
pub fn seal_data_key(
    master: &MasterKey,
    place: Place<'_>,
) -> Result<(String, Zeroizing<[u8; KEY_LEN]>), EnvelopeError> {
    let mut dek = Zeroizing::new([0u8; KEY_LEN]);
    fill_random(dek.as_mut())?;
    let content = encrypt(&dek, &place.content_aad(), b"")?;
    let wrapped = encrypt(master.bytes(), &place.wrap_aad(master.id()), dek.as_ref())?;
    let stored = format!(
        "{SEALED_PREFIX}{}:{}:{}",
        master.id(),
        URL_SAFE_NO_PAD.encode(wrapped),
        URL_SAFE_NO_PAD.encode(content)
    );
    Ok((stored, dek))
}

/// The data key of an envelope made by [`seal_data_key`] (its empty content is checked, so a
/// key moved from another place does not open).
pub fn open_data_key(
    master: &MasterKey,
    place: Place<'_>,
    envelope: &Envelope<'_>,
) -> Result<Zeroizing<[u8; KEY_LEN]>, EnvelopeError> {
    let dek = unwrap_dek(master, place, envelope)?;
    let content = decrypt(&dek, &place.content_aad(), &decode(envelope.content)?)?;
    if !content.is_empty() {
        return Err(EnvelopeError::Malformed(
            "a data key envelope holds content",
        ));
    }
    Ok(dek)
}

/// Opens a value sealed for `place`; `master` must be the key named by the envelope.
pub fn open(
    master: &MasterKey,
    place: Place<'_>,
    envelope: &Envelope<'_>,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let dek = unwrap_dek(master, place, envelope)?;
    let content = decode(envelope.content)?;
    decrypt(&dek, &place.content_aad(), &content)
}

/// The same value with its data key wrapped under `new` instead of `old` (the key named by
/// the envelope). The content part is copied unchanged.
pub fn rewrap(
    old: &MasterKey,
    new: &MasterKey,
    place: Place<'_>,
    envelope: &Envelope<'_>,
) -> Result<String, EnvelopeError> {
    let dek = unwrap_dek(old, place, envelope)?;
    // Prove the content still opens before re-wrapping it: rotation must not launder a
    // tampered value into a fresh-looking one.
    decrypt(&dek, &place.content_aad(), &decode(envelope.content)?)?;
    let wrapped = encrypt(new.bytes(), &place.wrap_aad(new.id()), dek.as_ref())?;
    Ok(format!(
        "{SEALED_PREFIX}{}:{}:{}",
        new.id(),
        URL_SAFE_NO_PAD.encode(wrapped),
        envelope.content
    ))
}

fn unwrap_dek(
    master: &MasterKey,
    place: Place<'_>,
    envelope: &Envelope<'_>,
) -> Result<Zeroizing<[u8; KEY_LEN]>, EnvelopeError> {
    if master.id() != envelope.key_id {
        return Err(EnvelopeError::UnknownKey(envelope.key_id.to_owned()));
    }
    let wrapped = decode(envelope.wrapped_dek)?;
    let dek = decrypt(master.bytes(), &place.wrap_aad(master.id()), &wrapped)?;
    let bytes: [u8; KEY_LEN] = dek
        .as_slice()
        .try_into()
        .map_err(|_| EnvelopeError::Malformed("data key of the wrong length"))?;
    Ok(Zeroizing::new(bytes))
}

fn decode(part: &str) -> Result<Vec<u8>, EnvelopeError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| EnvelopeError::Malformed("not base64url"))
}

/// `nonce ‖ ciphertext+tag` with a fresh random 192-bit nonce (large enough that random
/// nonces never repeat in practice, which is why XChaCha rather than ChaCha).
pub(crate) fn encrypt(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    msg: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg, aad })
        // Only fails for messages beyond 256 GiB.
        .map_err(|_| EnvelopeError::Malformed("value too large to seal"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

pub(crate) fn decrypt(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    if data.len() < NONCE_LEN + 16 {
        return Err(EnvelopeError::Malformed("ciphertext too short"));
    }
    let (nonce, sealed) = data.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad })
        .map(Zeroizing::new)
        .map_err(|_| EnvelopeError::Tampered)
}

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

    fn key(id: &str, byte: u8) -> MasterKey {
        MasterKey::new(id, [byte; 32])
    }

    #[test]
    fn seals_and_opens() {
        let k = key("k1", 1);
        let stored = seal(&k, HERE, b"Zephyrine").unwrap();
        assert!(stored.starts_with("hv1:k1:"));
        assert!(!stored.contains("Zephyrine"));
        let env = Envelope::parse(&stored).unwrap();
        assert_eq!(&open(&k, HERE, &env).unwrap()[..], b"Zephyrine");
        // A fresh data key and nonces each time.
        assert_ne!(stored, seal(&k, HERE, b"Zephyrine").unwrap());
    }

    #[test]
    fn a_moved_value_does_not_open() {
        let k = key("k1", 1);
        let stored = seal(&k, HERE, b"x").unwrap();
        let env = Envelope::parse(&stored).unwrap();
        for other in [
            Place { id: "r2", ..HERE },
            Place {
                column: "screening",
                ..HERE
            },
            Place {
                table: "notes",
                ..HERE
            },
        ] {
            assert_eq!(open(&k, other, &env).unwrap_err(), EnvelopeError::Tampered);
        }
    }

    #[test]
    fn an_edited_value_does_not_open() {
        let k = key("k1", 1);
        let stored = seal(&k, HERE, b"some answers").unwrap();
        let mut bytes = stored.clone().into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(bytes).unwrap();
        let env = Envelope::parse(&edited).unwrap();
        assert!(open(&k, HERE, &env).is_err());
        assert_eq!(
            Envelope::parse("plain text").unwrap_err(),
            EnvelopeError::NotSealed
        );
        assert!(Envelope::parse("hv1:k1:abc").is_err());
        // A key id swapped for another key's fails on the wrap's associated data.
        let other = key("k2", 1);
        let swapped = stored.replacen("hv1:k1:", "hv1:k2:", 1);
        let env = Envelope::parse(&swapped).unwrap();
        assert_eq!(
            open(&other, HERE, &env).unwrap_err(),
            EnvelopeError::Tampered
        );
    }

    #[test]
    fn rewrap_changes_only_the_wrapped_key() {
        let (old, new) = (key("k1", 1), key("k2", 2));
        let stored = seal(&old, HERE, b"case notes").unwrap();
        let env = Envelope::parse(&stored).unwrap();
        let rewrapped = rewrap(&old, &new, HERE, &env).unwrap();
        let env2 = Envelope::parse(&rewrapped).unwrap();
        assert_eq!(env2.key_id, "k2");
        assert_eq!(env2.content, env.content);
        assert_ne!(env2.wrapped_dek, env.wrapped_dek);
        assert_eq!(&open(&new, HERE, &env2).unwrap()[..], b"case notes");
        assert!(open(&old, HERE, &env2).is_err());
    }
}
