//! Haven's server, storage and command line, around the pure domain core `haven-core`.
//!
//! - [`config`]: typed settings (defaults → file → `HAVEN_*` env → flags).
//! - [`services`]: the registry of loaded service definitions.
//! - [`storage`]: the `haven-storage` crate: SQLite and PostgreSQL through one sqlx `Any`
//!   code path; all SQL lives there.
//! - [`intake`]: the submission use-case (target → validate → store).
//! - [`web`]: the HTTP API (routers per resource, errors, middleware, OpenAPI).
//! - [`cli`]: the `haven` command.
//! - [`crypto`]: the `haven-crypto` crate: the server secret key, master keys, sealing,
//!   receipt codes, tokens, references.
//! - [`access`]: staff roles; [`policy`]: what each role may do (`policy/access.toml`).
//! - [`auth`]: staff passwords, the TOTP second factor, throttling, the clock.
#![forbid(unsafe_code)]

pub mod access;
pub mod auth;
pub mod cases;
pub mod cli;
pub mod config;
pub mod documents;
pub mod intake;
pub mod intake_email;
pub mod mail;
pub mod mail_sources;
pub mod notify;
pub mod policy;
pub mod services;
pub mod web;

// Storage and crypto are crates of their own (`haven-storage`, `haven-crypto`), so the
// compiler keeps SQL out of the web code and the web out of storage. Re-exported under their
// old names so every `crate::storage::…` / `crate::crypto::…` path keeps working.
pub use haven_crypto as crypto;
pub use haven_storage as storage;
