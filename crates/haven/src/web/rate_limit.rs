//! An in-memory, per-client fixed-window rate limiter for public submissions (and budgets of
//! an amount, such as upload bytes).
//!
//! Addresses are held only in memory, for one window, and never stored or logged: a
//! reporter's IP address is personal data we have no other use for. Hand-written (a map and
//! a mutex) rather than `governor`: one counter per address per window is all that is needed,
//! and it keeps the memory bound and forgetting explicit.
//!
//! Each server instance counts on its own; behind a load balancer the effective limit is
//! the per-instance limit times the number of instances.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most addresses remembered; past this, expired windows are swept before adding more.
const MAX_TRACKED: usize = 100_000;

/// Counts requests per client address.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u64,
    window: Duration,
    windows: Mutex<HashMap<IpAddr, (Instant, u64)>>,
}

/// The client is over the limit; it may retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u64,
}

impl RateLimiter {
    /// Allows `limit` requests per client per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self::budget(u64::from(limit), window)
    }

    /// Allows `limit` units (e.g. bytes, taken with [`RateLimiter::take`]) per client per
    /// `window`.
    pub fn budget(limit: u64, window: Duration) -> Self {
        Self {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip` (unknown clients share one bucket).
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), Limited> {
        self.take_at(ip, 1, Instant::now())
    }

    /// Takes `amount` units of `ip`'s budget; refused (nothing taken) when that would go past
    /// the limit.
    pub fn take(&self, ip: Option<IpAddr>, amount: u64) -> Result<(), Limited> {
        self.take_at(ip, amount, Instant::now())
    }

    #[cfg(test)]
    fn check_at(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), Limited> {
        self.take_at(ip, 1, now)
    }

    fn take_at(&self, ip: Option<IpAddr>, amount: u64, now: Instant) -> Result<(), Limited> {
        let key = bucket(ip);
        // A poisoned lock only means another request panicked mid-update; the counts are
        // still usable.
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&key) {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = windows.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1.saturating_add(amount) > self.limit {
            let elapsed = now.duration_since(entry.0);
            let retry = self.window.saturating_sub(elapsed).as_secs().max(1);
            return Err(Limited {
                retry_after_secs: retry,
            });
        }
        entry.1 = entry.1.saturating_add(amount);
        Ok(())
    }
}

/// IPv6 clients usually hold a whole /64, so they are counted per /64.
fn bucket(ip: Option<IpAddr>) -> IpAddr {
    match ip {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::from(segments)
        }
        Some(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        Some(v4) => v4,
        None => IpAddr::from([0, 0, 0, 0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_then_refuses_until_the_window_ends() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let ip = Some(IpAddr::from([192, 0, 2, 1]));
        let t0 = Instant::now();
        assert!(limiter.check_at(ip, t0).is_ok());
        assert!(limiter.check_at(ip, t0).is_ok());
        assert!(limiter.check_at(ip, t0).is_err());
        assert!(
            limiter
                .check_at(Some(IpAddr::from([192, 0, 2, 2])), t0)
                .is_ok()
        );
        assert!(limiter.check_at(ip, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn ipv6_addresses_in_one_64_share_a_bucket() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        assert_eq!(bucket(Some(a)), bucket(Some(b)));
    }
}
