//! Staff sign-in: passwords (Argon2id, strength rules), the TOTP second factor and recovery
//! codes, in-memory throttling of attempts, and the injectable clock sessions expire by.
//!
//! Pure where it can be: storage and HTTP live in `storage::sessions` and `web::staff`.

pub mod password;
pub mod session_id;
pub mod throttle;
pub mod totp;

pub use crate::storage::clock::Clock;
pub use throttle::Throttle;
