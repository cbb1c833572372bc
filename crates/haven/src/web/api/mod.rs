//! The JSON API under `/api/v1`, one module per resource.

pub mod checks;
pub mod follow_up;
pub mod referrals;
pub mod services;
pub mod submissions;
pub mod triage;
