//! The answers validator (`haven_core::answers::validate`) on every stage and audience of
//! the built-in services with any JSON document.
//!
//! Input: 4 bytes choosing service and stage (the page byte is unused) and audience; the
//! rest is the answers document as JSON (inputs that are not JSON are skipped).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((target, rest)) = common::pick(data) else {
        return;
    };
    let Ok(answers) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let _ = haven_core::answers::validate(target.stage, target.audience, &answers, common::today());
    // The audience check the API makes first must not panic on any stage either.
    let _ = haven_core::answers::target(target.def, &target.stage.key, target.audience);
});
