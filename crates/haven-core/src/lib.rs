//! Haven's domain core: the rules of a safeguarding referral service, with no I/O.
//!
//! Everything here is pure and deterministic (the current day is always passed in), so the
//! web server, the CLI and background jobs share one implementation, and property tests can
//! run it millions of times.
//!
//! - [`definition`]: service definitions (the data that describes a service) and their loader.
//! - [`answers`]: validating an answers document against a stage and audience.
//! - [`role`]: the staff roles.
//! - [`answer_words`]: the one "answer in words" formatter (pages, staff, documents).
//! - [`disclosure`]: answers without third-party information, for whoever may not see it.
//! - [`people`]: normalising who a referral is about, blocking keys, Fellegi–Sunter scoring.
//! - [`reporter`]: who made a report (a young person about themselves?) and their contact wishes.
#![forbid(unsafe_code)]

pub mod anonymity;
pub mod answer_words;
pub mod answers;
pub mod calendar;
pub mod casework;
pub mod definition;
pub mod disclosure;
pub mod export;
pub mod people;
pub mod reporter;
pub mod retention;
pub mod role;
pub mod screening;
pub mod statistics;
pub mod subject_access;
pub mod workflow;
pub mod young_person;
