//! Counting failed attempts in memory (per account, per client address, per receipt-code
//! guesser), so that guessing is answered with 429. Addresses are kept only here, in
//! memory, never in the database or logs.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

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
