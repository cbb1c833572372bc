//! A value read from the database and kept in memory for a while: what several servers on
//! one PostgreSQL, or a CLI command beside a server, may change under this process is used
//! at most its age out of date; what this process changes itself is forgotten at once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One remembered value and when it was read.
#[derive(Debug)]
pub struct Fresh<T>(Mutex<Option<(Instant, T)>>);

impl<T> Default for Fresh<T> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<T: Clone> Fresh<T> {
    /// The value, if it was read less than `fresh_for` ago.
    pub fn get(&self, fresh_for: Duration) -> Option<T> {
        let held = self.0.lock().ok()?;
        let (read_at, value) = held.as_ref()?;
        (read_at.elapsed() < fresh_for).then(|| value.clone())
    }

    /// Remembers `value`, read now.
    pub fn set(&self, value: T) {
        if let Ok(mut held) = self.0.lock() {
            *held = Some((Instant::now(), value));
        }
    }

    /// Forgets the value (this process just changed what it was read from).
    pub fn forget(&self) {
        if let Ok(mut held) = self.0.lock() {
            *held = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_kept_until_forgotten_or_too_old() {
        let fresh = Fresh::default();
        assert_eq!(fresh.get(Duration::from_secs(60)), None);
        fresh.set(7);
        assert_eq!(fresh.get(Duration::from_secs(60)), Some(7));
        assert_eq!(fresh.get(Duration::ZERO), None);
        fresh.forget();
        assert_eq!(fresh.get(Duration::from_secs(60)), None);
    }
}
