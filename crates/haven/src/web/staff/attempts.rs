//! Sign-in attempt limits shared by every server: each attempt is counted in the database
//! (`storage::throttle`) before the password or code is checked, so parallel attempts on
//! any number of servers cannot get past the limit; a success takes its count back.

use chrono::TimeDelta;

use super::error::StaffError;
use super::{ACCOUNT_FAILURES, ADDRESS_FAILURES, FAILURE_WINDOW_MINUTES};
use crate::auth::throttle::{failure_key, seconds_left};
use crate::web::AppState;

/// The counters one sign-in attempt is counted against.
pub struct Counters {
    /// Per account (normalised email).
    pub account: String,
    /// Per client address, when the attempt is a password (not a second-factor code).
    pub address: Option<String>,
}

impl Counters {
    /// The counters of a password attempt for `email` from `address`.
    pub fn password(state: &AppState, email: &str, address: &str) -> Self {
        Self {
            account: failure_key(&state.key, "account", email),
            address: Some(failure_key(&state.key, "address", address)),
        }
    }

    /// The counter of a second-factor attempt for `email`.
    pub fn second_factor(state: &AppState, email: &str) -> Self {
        Self {
            account: failure_key(&state.key, "account", email),
            address: None,
        }
    }

    /// Counts this attempt; `Some(seconds to wait)` when a limit is now exceeded (answer 429
    /// without checking the password or code).
    pub async fn attempt(&self, state: &AppState) -> Result<Option<u64>, StaffError> {
        let window = TimeDelta::minutes(FAILURE_WINDOW_MINUTES);
        let now = state.staff.clock.now();
        let mut wait = None;
        let limits = [
            (Some(&self.account), ACCOUNT_FAILURES),
            (self.address.as_ref(), ADDRESS_FAILURES),
        ];
        for (key, limit) in limits {
            let Some(key) = key else { continue };
            let attempts = state.storage.count_signin_attempt(key, window, now).await?;
            if attempts.count > i64::from(limit) {
                let left = seconds_left(attempts.window_start, window, now);
                wait = Some(wait.map_or(left, |w: u64| w.max(left)));
            }
        }
        Ok(wait)
    }

    /// The attempt succeeded. The address's count of it is taken back. The account's
    /// failures are forgotten when `finished` (signed in, or nothing is left to guess: the
    /// next step is choosing a password or enrolling); a password accepted before a second
    /// factor only takes its own count back, so re-entering the password does not reset
    /// the count of wrong codes.
    pub async fn succeeded(&self, state: &AppState, finished: bool) -> Result<(), StaffError> {
        if finished {
            state.storage.clear_signin_attempts(&self.account).await?;
        } else {
            state.storage.uncount_signin_attempt(&self.account).await?;
        }
        if let Some(address) = &self.address {
            state.storage.uncount_signin_attempt(address).await?;
        }
        Ok(())
    }
}
