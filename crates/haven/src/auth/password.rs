//! Staff passwords: Argon2id hashes (PHC strings), and the rules a new password must meet.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;

/// The 10,000 most common passwords (and every longer one in the same list), lower-case,
/// from zxcvbn-ts' `language-common` (MIT, `data/common-passwords.LICENSE.txt`). Loaded once.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// A hash to verify against when the account does not exist, so that an unknown email
/// costs the same work as a wrong password (no timing difference to probe accounts).
static DUMMY_HASH: LazyLock<Option<String>> =
    LazyLock::new(|| hash("dummy password for unknown accounts").ok());

/// Why a new password is refused (the message is shown next to the field).
pub fn check_new(password: &str, email: &str) -> Result<(), &'static str> {
    if password.chars().count() < MIN_LENGTH {
        return Err("Password must be 12 characters or more");
    }
    if password.chars().count() > 200 {
        return Err("Password must be 200 characters or fewer");
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err("Password is too common: choose one that is not on lists of common passwords");
    }
    if lower == email.to_lowercase() {
        return Err("Password must not be your email address");
    }
    Ok(())
}

/// Argon2id with the crate's defaults (OWASP's recommended parameters), random salt.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    // 16 random bytes from rand's CSPRNG (argon2's own generator needs a feature that would
    // pull in a second `getrandom`).
    let bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&bytes)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the stored hash. `stored = None` (no such account) does the
/// same work against a dummy hash and answers `false`.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let target = stored.or(DUMMY_HASH.as_deref());
    let Some(parsed) = target.and_then(|t| PasswordHash::new(t).ok()) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_common_passwords_are_refused() {
        assert!(check_new("short", "a@b.c").is_err());
        assert!(check_new("1QAZ2wsx3edc", "a@b.c").is_err());
        assert!(check_new("Horse-Battery-Staple-42", "a@b.c").is_ok());
        assert!(COMMON.len() >= 10_000);
    }

    #[test]
    fn hashes_verify_and_unknown_accounts_never_do() {
        let h = hash("Horse-Battery-Staple-42").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Horse-Battery-Staple-42", Some(&h)));
        assert!(!verify("wrong password!!", Some(&h)));
        assert!(!verify("dummy password for unknown accounts", None));
    }
}
