//! When this server last stored a new referral, so that background work (the "known
//! elsewhere" matcher) can give way to intake while submissions are arriving: on a small
//! machine every core a background pass takes is one a submission waits for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Monotonic time of the last referral stored, kept as milliseconds since this value was
/// made (an `Instant` cannot be stored atomically).
#[derive(Debug)]
pub struct IntakeActivity {
    since: Instant,
    /// Milliseconds after `since`, plus one (0: nothing stored yet).
    last: AtomicU64,
}

impl Default for IntakeActivity {
    fn default() -> Self {
        Self {
            since: Instant::now(),
            last: AtomicU64::new(0),
        }
    }
}

impl IntakeActivity {
    /// A referral was stored now.
    pub fn record(&self) {
        let millis = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last.store(millis.saturating_add(1), Ordering::Relaxed);
    }

    /// How long since the last referral was stored (`Duration::MAX` when none has been).
    pub fn quiet_for(&self) -> Duration {
        match self.last.load(Ordering::Relaxed) {
            0 => Duration::MAX,
            last => self
                .since
                .elapsed()
                .saturating_sub(Duration::from_millis(last - 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_stored_is_quiet_for_ever_and_a_store_makes_it_busy() {
        let activity = IntakeActivity::default();
        assert_eq!(activity.quiet_for(), Duration::MAX);
        activity.record();
        assert!(activity.quiet_for() < Duration::from_secs(60));
    }
}
