//! The TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of skew —
//! what every authenticator app supports), its enrolment QR code, and recovery codes.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use qrcode::{Color, EcLevel, QrCode};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::crypto;

/// Seconds per step.
pub const STEP_SECS: u64 = 30;

/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// A new random secret (160 bits, as RFC 4226 recommends), base32 without padding.
pub fn new_secret() -> String {
    let bytes: [u8; 20] = rand::random();
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => String::new(),
    }
}

fn totp(secret_base32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECS, bytes).ok()
}

/// The time step of `at`.
pub fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECS as i64)
}

/// The step whose code `code` is, within one step of `now`, and later than `last_step`
/// (a code that was already used, or an older one, is refused: no replay). `None` when the
/// code is wrong, stale or reused.
pub fn accepted_step(
    secret_base32: &str,
    code: &str,
    now: DateTime<Utc>,
    last_step: Option<i64>,
) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret_base32)?;
    let current = step_of(now);
    (current - 1..=current + 1)
        .filter(|step| last_step.is_none_or(|last| *step > last))
        .find(|step| {
            let time = u64::try_from(*step).unwrap_or(0) * STEP_SECS;
            totp.check(&code, time) && totp.generate(time) == code
        })
}

/// The code for `at` (tests and the CLI's own checks).
pub fn code_at(secret_base32: &str, at: DateTime<Utc>) -> Option<String> {
    let time = u64::try_from(at.timestamp()).ok()?;
    Some(totp(secret_base32)?.generate(time))
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_url(secret_base32: &str, account: &str) -> String {
    format!(
        "otpauth://totp/Haven:{}?secret={secret_base32}&issuer=Haven&algorithm=SHA1&digits=6&period={STEP_SECS}",
        percent_encode(account)
    )
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The QR code of `data` as an inline SVG: one `<path>` with presentation attributes only
/// (no `style`), so it passes a CSP without `unsafe-inline` and needs no `data:` URL.
pub fn qr_svg(data: &str, label: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut path = String::new();
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            let _ = write!(path, "M{x} {y}h1v1h-1z");
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"haven-qr\" role=\"img\" aria-label=\"{}\" width=\"240\" height=\"240\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#ffffff\"/><path fill=\"#000000\" d=\"{path}\"/></svg>",
        escape_attr(label)
    ))
}

fn escape_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// New recovery codes, grouped for reading (`XXXXX-XXXXX`, 50 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let s = crypto::random_symbols(10);
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn a_code_is_accepted_once_and_only_near_its_time() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        let now = Utc::now();
        let code = code_at(&secret, now).unwrap();
        let step = accepted_step(&secret, &code, now, None).unwrap();
        assert_eq!(accepted_step(&secret, &code, now, Some(step)), None);
        assert_eq!(
            accepted_step(&secret, &code, now + TimeDelta::minutes(5), None),
            None
        );
        assert_eq!(accepted_step(&secret, "12345", now, None), None);
        assert_eq!(accepted_step(&secret, "abcdef", now, None), None);
    }

    #[test]
    fn the_qr_code_is_an_svg_without_style() {
        let svg = qr_svg(&otpauth_url(&new_secret(), "a@example.org"), "QR \"code\"").unwrap();
        assert!(svg.starts_with("<svg") && !svg.contains("style"));
        assert!(svg.contains("&quot;code&quot;"));
        assert!(otpauth_url("ABC", "a@example.org").contains("Haven:a%40example.org"));
    }
}
