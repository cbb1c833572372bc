//! The email message parser (`haven_email::message::parse`) on any bytes, then everything
//! the intake does with a parsed message: authentication results, trust, routing, and the
//! Word form reader on any attachment sniffed as a .docx.
//!
//! Input: a raw message (seeds: crates/haven-email/tests/corpus, via seeds.py).
#![no_main]

use haven_email::docx::DocxLimits;
use haven_email::message::{Limits, Parsed, parse};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

fuzz_target!(|data: &[u8]| {
    // Smaller limits than the defaults so the fuzzer reaches them.
    let limits = Limits {
        max_message_bytes: 256 * 1024,
        max_depth: 8,
        max_attachments: 8,
        max_attachment_bytes: 64 * 1024,
        max_total_attachment_bytes: 128 * 1024,
        max_html_bytes: 64 * 1024,
    };
    let parsed = parse(data, b"fuzz key", &limits);
    match &parsed {
        Parsed::Item(item) => {
            assert_eq!(item.content_hash.len(), 64);
            assert!(item.attachments.len() <= limits.max_attachments);
            assert!(item.attachments.iter().all(|a| a.size <= limits.max_attachment_bytes));
            assert!(item.attachments.iter().all(|a| !a.file_name.contains('/')));
            let _ = item.authentication("mx.haven.test");
            let _ = item.sender_verified(&["school.example"], "mx.haven.test");
            let _ = haven_email::routing::service_for(
                &item.recipients,
                &[("secos.project@secos.cjsm.net", "secos")],
            );
            let def = &common::DEFINITIONS[1];
            if let Some(stage) = def.stages.first() {
                for a in item.attachments.iter().filter(|a| a.media_type == DOCX) {
                    let _ = haven_email::form::read_form(
                        &a.bytes,
                        stage,
                        common::today(),
                        &DocxLimits::default(),
                    );
                }
            }
        }
        Parsed::Quarantined { quarantine, .. } => assert!(!quarantine.reason.is_empty()),
    }
    let _ = serde_json::to_string(&parsed);
});
