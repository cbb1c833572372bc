//! Counting failed attempts, so that guessing is answered with 429.
//!
//! Staff sign-in attempts (per account and per client address) are counted in the database,
//! shared by every server (`storage::throttle`), under [`failure_key`]: a keyed hash, so
//! neither the email nor the address is stored. Wrong receipt codes are still counted in
//! memory per server by [`Throttle`] (addresses kept only there, never in the database or
//! logs).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use crate::crypto::SecretKey;

/// The stored key of a sign-in attempt counter: HMAC-SHA256 under the server key of
/// `signin-throttle:<kind>:<value>` (`kind` `account` with a normalised email, or `address`
/// with a client address). Keyed, so a copy of the database cannot be tested against the
/// small space of IPv4 addresses.
pub fn failure_key(key: &SecretKey, kind: &str, value: &str) -> String {
    key.keyed_hash(format!("signin-throttle:{kind}:{value}").as_bytes())
}

/// Seconds until a window of `window` that started at `start` ends (at least 1).
pub fn seconds_left(start: DateTime<Utc>, window: TimeDelta, now: DateTime<Utc>) -> u64 {
    u64::try_from((start + window - now).num_seconds()).map_or(1, |s| s.max(1))
}

/// Failures per key within a sliding window.
#[derive(Debug)]
pub struct Throttle {
    limit: u32,
    window: TimeDelta,
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

/// Keys kept before old ones are swept, so a flood of keys cannot exhaust memory.
const SWEEP_AT: usize = 10_000;

impl Throttle {
    /// At most `limit` failures per key within `window`.
    pub fn new(limit: u32, window: TimeDelta) -> Self {
        Self {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait when `key` has used up its failures, `None` when it may try.
    pub fn blocked(&self, key: &str, now: DateTime<Utc>) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.get_mut(key)?;
        list.retain(|t| *t + self.window > now);
        if list.len() < self.limit as usize {
            return None;
        }
        let oldest = list.first().copied().unwrap_or(now);
        Some((oldest + self.window - now).num_seconds().max(1) as u64)
    }

    /// Records a failure for `key`.
    pub fn fail(&self, key: &str, now: DateTime<Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_AT {
            let window = self.window;
            map.retain(|_, list| list.last().is_some_and(|t| *t + window > now));
        }
        map.entry(key.to_owned()).or_default().push(now);
    }

    /// Forgets `key`'s failures (after a success).
    pub fn clear(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keys_are_keyed_and_hide_the_value() {
        let a = SecretKey::from_hex(&"11".repeat(32)).unwrap();
        let b = SecretKey::from_hex(&"22".repeat(32)).unwrap();
        let key = failure_key(&a, "address", "203.0.113.7");
        assert!(!key.contains("203"));
        assert_ne!(key, failure_key(&b, "address", "203.0.113.7"));
        assert_ne!(key, failure_key(&a, "account", "203.0.113.7"));
        let t0 = Utc::now();
        assert_eq!(seconds_left(t0, TimeDelta::minutes(15), t0), 900);
        assert_eq!(
            seconds_left(t0, TimeDelta::minutes(15), t0 + TimeDelta::hours(1)),
            1
        );
    }

    #[test]
    fn blocks_after_the_limit_until_the_window_passes() {
        let throttle = Throttle::new(2, TimeDelta::minutes(15));
        let t0 = Utc::now();
        assert!(throttle.blocked("a", t0).is_none());
        throttle.fail("a", t0);
        throttle.fail("a", t0);
        assert!(throttle.blocked("a", t0).is_some());
        assert!(throttle.blocked("b", t0).is_none());
        assert!(throttle.blocked("a", t0 + TimeDelta::minutes(16)).is_none());
        throttle.fail("a", t0);
        throttle.clear("a");
        assert!(throttle.blocked("a", t0).is_none());
    }
}
