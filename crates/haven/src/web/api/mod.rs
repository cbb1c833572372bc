//! The JSON API under `/api/v1`, one module per resource.

pub mod actions;
pub mod attachments;
pub mod case_attachments;
pub mod checks;
pub mod follow_up;
pub mod meetings;
pub mod onward;
pub mod plans;
pub mod queue;
pub mod referrals;
pub mod services;
pub mod submissions;
pub mod triage;
