//! Sign-in attempt limits shared by every server: each attempt is counted in the database
//! (`storage::throttle`) before the password or code is checked, so parallel attempts on
//! any number of servers cannot get past the limit; a success takes its count back.
//!
//! A password attempt is counted against three things, so that someone who knows a staff
//! email cannot lock its owner out from elsewhere:
//! - the (account, address) pair, with a growing delay after a few failures
//!   ([`super::pair_delay_secs`]): the attacker's address slows down, the owner's does not;
//! - the address, whatever the accounts ([`super::ADDRESS_FAILURES`] per window);
//! - the account from every address together, a far higher ceiling
//!   ([`super::ACCOUNT_CEILING`]) that only a distributed attack reaches.
//!
//! Second-factor codes (only reachable with the password) are counted per account
//! ([`super::ACCOUNT_FAILURES`]).

use chrono::TimeDelta;

use super::error::StaffError;
use super::{
    ACCOUNT_CEILING, ACCOUNT_FAILURES, ADDRESS_FAILURES, FAILURE_WINDOW_MINUTES, pair_delay_secs,
};
use crate::auth::throttle::{failure_key, seconds_left};
use crate::storage::throttle::{DelayClaim, FailedSignins};
use crate::web::AppState;

/// The counters one sign-in attempt is counted against.
pub struct Counters {
    /// Per account: the password ceiling, or the second-factor limit.
    account: String,
    account_limit: u32,
    /// Per client address, for password attempts.
    address: Option<String>,
    /// Per (account, address), with growing delays, for password attempts.
    pair: Option<String>,
    /// The password ceiling, forgotten too when a second factor completes the sign-in.
    ceiling: String,
}

impl Counters {
    /// The counters of a password attempt for `email` from `address`.
    pub fn password(state: &AppState, email: &str, address: &str) -> Self {
        let ceiling = failure_key(&state.key, "account", email);
        Self {
            account: ceiling.clone(),
            account_limit: ACCOUNT_CEILING,
            address: Some(failure_key(&state.key, "address", address)),
            pair: Some(failure_key(
                &state.key,
                "account-address",
                &format!("{email}\n{address}"),
            )),
            ceiling,
        }
    }

    /// The counter of a second-factor attempt for `email`.
    pub fn second_factor(state: &AppState, email: &str) -> Self {
        Self {
            account: failure_key(&state.key, "second-factor", email),
            account_limit: ACCOUNT_FAILURES,
            address: None,
            pair: None,
            ceiling: failure_key(&state.key, "account", email),
        }
    }

    /// Counts this attempt; `Some(seconds to wait)` when it must not be made now (answer 429
    /// without checking the password or code).
    pub async fn attempt(&self, state: &AppState) -> Result<Option<u64>, StaffError> {
        let window = TimeDelta::minutes(FAILURE_WINDOW_MINUTES);
        let now = state.now();
        if let Some(pair) = &self.pair
            && let DelayClaim::Wait(secs) = state
                .storage
                .claim_signin_delay(pair, pair_delay_secs, now)
                .await?
        {
            return Ok(Some(secs));
        }
        let mut wait = None;
        let limits = [
            (Some(&self.account), self.account_limit),
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

    /// The attempt succeeded. The address's count of it is taken back, and the pair's
    /// delay forgotten. The account's failures are forgotten when `finished` (signed in, or
    /// nothing is left to guess: the next step is choosing a password or enrolling); a
    /// password accepted before a second factor only takes its own count back, so
    /// re-entering the password does not reset the count of wrong codes.
    pub async fn succeeded(&self, state: &AppState, finished: bool) -> Result<(), StaffError> {
        if finished {
            state.storage.clear_signin_attempts(&self.account).await?;
            if self.ceiling != self.account {
                state.storage.clear_signin_attempts(&self.ceiling).await?;
            }
        } else {
            state.storage.uncount_signin_attempt(&self.account).await?;
        }
        if let Some(address) = &self.address {
            state.storage.uncount_signin_attempt(address).await?;
        }
        if let Some(pair) = &self.pair {
            state.storage.clear_signin_delay(pair).await?;
        }
        Ok(())
    }
}

/// What the owner of an account is told after signing in: "3 failed sign-in attempts since
/// your last sign-in, the last on 6 December 2026 at 10:14" (UK time).
pub fn notice_text(failed: &FailedSignins) -> String {
    let attempts = if failed.count == 1 {
        "1 failed sign-in attempt".to_owned()
    } else {
        format!("{} failed sign-in attempts", failed.count)
    };
    let last = failed
        .last_at
        .with_timezone(&chrono_tz::Europe::London)
        .format("%-d %B %Y at %H:%M");
    format!("{attempts} since your last sign-in, the last on {last}")
}
