//! The one clock of the service: storage's timestamps, sessions, throttles, TOTP codes, the case pages and the
//! email worker read it. Real time plus an offset that tests move forward, so expiry is
//! tested without sleeping. Clones share the offset, so the worker the server starts moves
//! with the server's clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// Wall-clock time, shifted by an offset (zero outside tests).
#[derive(Debug, Default, Clone)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
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
