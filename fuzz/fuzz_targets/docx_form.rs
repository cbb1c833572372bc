//! The Word form reader on any input: a whole `.docx` (zip) or its `document.xml`, read
//! against the SECOS definition's referral stage.
//!
//! Input: a first byte choosing the mode (even: the rest is a .docx, through
//! `haven_email::form::read_form` with its zip size caps; odd: the rest is document.xml,
//! through `docx::parse_document_xml` and `form::read_document`), then the bytes (seeds:
//! crates/haven-email/tests/fixtures, via seeds.py).
#![no_main]

use haven_email::docx::{DocxLimits, parse_document_xml};
use haven_email::form::{read_document, read_form};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let def = &common::DEFINITIONS[1];
    let Some(stage) = def.stages.first() else {
        return;
    };
    let limits = DocxLimits {
        max_file_bytes: 1024 * 1024,
        max_entry_bytes: 2 * 1024 * 1024,
        max_total_bytes: 4 * 1024 * 1024,
        ..DocxLimits::default()
    };
    let reading = if mode % 2 == 0 {
        read_form(rest, stage, common::today(), &limits).ok()
    } else {
        parse_document_xml(rest, &limits)
            .ok()
            .map(|doc| read_document(&doc, stage, common::today()))
    };
    if let Some(reading) = reading {
        assert!(reading.answers.is_object());
        // Whatever was read has the JSON type its question wants.
        let keys: Vec<String> = def
            .questions()
            .map(|(_, _, q)| q.key.clone())
            .filter(|k| haven_core::definition::condition::lookup(&reading.answers, k).is_some())
            .collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let _ = haven_core::answers::validate_only(def, &keys, &reading.answers, common::today());
    }
});
