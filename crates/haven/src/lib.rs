//! Haven's server, storage and command line, around the pure domain core `haven-core`.
//!
//! - [`config`]: typed settings (defaults → file → `HAVEN_*` env → flags).
//! - [`services`]: the registry of loaded service definitions.
//! - [`storage`]: SQLite and PostgreSQL through one sqlx `Any` code path; all SQL lives here.
//! - [`intake`]: the submission use-case (target → validate → store).
//! - [`web`]: the HTTP API (routers per resource, errors, middleware, OpenAPI).
//! - [`cli`]: the `haven` command.
//! - [`crypto`]: the server secret key, receipt codes, tokens, references.
//! - [`access`]: staff roles; [`policy`]: what each role may do (`policy/access.toml`).
//! - [`auth`]: staff passwords, the TOTP second factor, throttling, the clock.
#![forbid(unsafe_code)]

pub mod access;
pub mod auth;
pub mod cases;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod documents;
pub mod intake;
pub mod mail;
pub mod notify;
pub mod policy;
pub mod services;
pub mod storage;
pub mod web;
