//! Haven's integration tests, compiled as one test binary: one link of the server instead of
//! one per file (the build and the disk were most of CI's time), and one process whose test
//! threads run every file's tests side by side. Each file is a module; run one with
//! `cargo test -p haven --test suite linked_cases::` (or a single test by its full name).

mod common;
mod public_support;

mod api_attachments;
mod api_queue;
mod api_referrals;
mod api_services;
mod api_submissions;
mod api_triage;
mod audit;
mod audit_sequencer;
mod band_actions;
mod case_attachments;
mod casework;
mod cli;
mod cli_checks;
mod control_characters;
mod dashboard;
mod email;
mod faults;
mod health;
mod hostile_accounts;
mod hostile_quotas;
mod hostile_sessions;
mod hostile_uploads;
mod house;
mod hsts;
mod inbox;
mod inbox_retention;
mod invites;
mod linked_cases;
mod mail_corpus;
mod mail_imap;
mod mail_ingest;
mod migrations;
mod onward;
mod outbox;
mod people;
mod public_drafts;
mod public_journeys;
mod public_security;
mod queue_order;
mod recipients_and_family;
mod reopen;
mod retention;
mod schema;
mod sealed_format;
mod self_report;
mod serve_faults;
mod sharing_register;
mod slow_connections;
mod staff_accounts;
mod staff_admin;
mod staff_case;
mod staff_matrix;
mod staff_queue_rows;
mod staff_sign_in;
mod staff_words;
mod storage;
mod subject_access;
mod vault;
