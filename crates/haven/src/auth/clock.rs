//! The clock sessions, throttles and TOTP codes read. Real time plus an offset that tests
//! move forward, so expiry is tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// Wall-clock time, shifted by an offset (zero outside tests).
#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves this clock forward (tests: "31 minutes later").
    pub fn advance(&self, by: TimeDelta) {
        self.offset_secs
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}
