//! Attachments sealed in chunks (the STREAM construction), so a file is encrypted and
//! decrypted a piece at a time and never held whole in memory.
//!
//! Each file has its own random 256-bit key, stored sealed as the attachment's `file_key`. The file
//! is cut into chunks of [`CHUNK_LEN`] bytes (the last may be shorter, or empty for an empty
//! file); chunk `seq` is sealed with XChaCha20-Poly1305 under the file key, a fresh random
//! 192-bit nonce, and associated data
//!
//! ```text
//! "hv1-chunk" \0 <attachment id> \0 <seq as 8 bytes big-endian> <last: 1 byte 0/1>
//! ```
//!
//! so a chunk moved to another file or position fails to open, and because only the final
//! chunk is sealed with `last = 1`, a reader that stops at the first `last` chunk and refuses
//! a gap detects reordered, dropped and cut-off chunks (a file truncated at a chunk boundary
//! has no chunk marked last). Each stored chunk is binary, `2 ‖ nonce ‖ ciphertext ‖ tag`
//! (chunks stored before were `base64url(nonce ‖ ciphertext ‖ tag)` text and still open).
//!
//! The file key is sealed like any value (`hv2`, crypto/sealed.rs): under the case's key once
//! the file belongs to a case (so destroying the case key makes the chunks unreadable too),
//! under a key of its own while it is a draft's or an unclaimed upload.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::envelope::{EnvelopeError, KEY_LEN, decrypt, encrypt};

/// Plaintext bytes per chunk (the last chunk may be shorter).
pub const CHUNK_LEN: usize = 64 * 1024;

/// A file's content key (zeroed when dropped).
pub type FileKey = Zeroizing<[u8; KEY_LEN]>;

fn chunk_aad(attachment_id: &str, seq: u64, last: bool) -> Vec<u8> {
    let mut aad = Vec::with_capacity(attachment_id.len() + 24);
    aad.extend_from_slice(b"hv1-chunk\0");
    aad.extend_from_slice(attachment_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&seq.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

/// The first byte of a binary chunk (format 2). A chunk stored before is base64url text, which
/// never starts with this byte.
const BINARY_CHUNK: u8 = 2;

/// Seals chunk `seq` of the file `attachment_id`; `last` marks the final chunk. The stored
/// form is binary: [`BINARY_CHUNK`] ‖ nonce ‖ ciphertext ‖ tag.
pub fn seal_chunk(
    key: &FileKey,
    attachment_id: &str,
    seq: u64,
    last: bool,
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let sealed = encrypt(key, &chunk_aad(attachment_id, seq, last), plaintext)?;
    let mut out = Vec::with_capacity(1 + sealed.len());
    out.push(BINARY_CHUNK);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens chunk `seq` of the file `attachment_id`, stored with this `last` flag.
pub fn open_chunk(
    key: &FileKey,
    attachment_id: &str,
    seq: u64,
    last: bool,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let aad = chunk_aad(attachment_id, seq, last);
    match stored.split_first() {
        Some((&BINARY_CHUNK, data)) => decrypt(key, &aad, data),
        // A chunk stored before the binary format: base64url text, kept as its bytes.
        _ => {
            let data = URL_SAFE_NO_PAD
                .decode(stored)
                .map_err(|_| EnvelopeError::Malformed("not base64url"))?;
            decrypt(key, &aad, &data)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> FileKey {
        Zeroizing::new([byte; KEY_LEN])
    }

    #[test]
    fn a_chunk_opens_only_in_its_place() {
        let k = key(7);
        let sealed = seal_chunk(&k, "att_1", 3, false, b"middle").unwrap();
        assert_eq!(sealed.len(), 1 + 24 + 6 + 16, "binary, not base64");
        assert_eq!(
            &open_chunk(&k, "att_1", 3, false, &sealed).unwrap()[..],
            b"middle"
        );
        // Another file, another position, a forged last flag, another key: all refused.
        assert!(open_chunk(&k, "att_2", 3, false, &sealed).is_err());
        assert!(open_chunk(&k, "att_1", 2, false, &sealed).is_err());
        assert!(open_chunk(&k, "att_1", 3, true, &sealed).is_err());
        assert!(open_chunk(&key(8), "att_1", 3, false, &sealed).is_err());
        assert!(open_chunk(&k, "att_1", 3, false, b"not base64!").is_err());
    }

    #[test]
    fn a_base64_chunk_from_before_the_binary_format_still_opens() {
        let k = key(7);
        let sealed = encrypt(&k, &chunk_aad("att_1", 0, true), b"old").unwrap();
        let text = URL_SAFE_NO_PAD.encode(sealed);
        assert_eq!(
            &open_chunk(&k, "att_1", 0, true, text.as_bytes()).unwrap()[..],
            b"old"
        );
    }
}
