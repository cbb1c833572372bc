//! Staff session ids: the random id the cookie carries and the hash the database keeps
//! (the web layer's sessions and `haven dev session` make them the same way).

use crate::crypto;

/// A new session id for the cookie.
pub fn new_session_id() -> String {
    crypto::random_symbols(52)
}

/// The stored form of a session id.
pub fn session_hash(id: &str) -> String {
    crypto::sha256_hex(format!("session:{id}").as_bytes())
}
