//! The public form-post parser (`haven_pages::parse_page_form`) on any question page of the
//! built-in services with any urlencoded body and any earlier answers.
//!
//! Input: 4 bytes choosing service, stage, page and audience; then optional earlier answers
//! (JSON) ended by a NUL byte; then the urlencoded body. A field name starting with a digit
//! `d` has that digit replaced by the key of the page's question `d`, so `0-day=31` reaches
//! a date question's day box without the fuzzer knowing the key.
#![no_main]

use haven_pages::PageRequest;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((target, rest)) = common::pick(data) else {
        return;
    };
    let (before, body) = match rest.iter().position(|b| *b == 0) {
        Some(nul) => (&rest[..nul], &rest[nul + 1..]),
        None => (&[][..], rest),
    };
    let answers: Value =
        serde_json::from_slice(before).unwrap_or_else(|_| Value::Object(Default::default()));
    let Ok(mut form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) else {
        return;
    };
    let questions = &target.page.questions;
    for (name, _) in &mut form {
        let Some(digit) = name.chars().next().and_then(|c| c.to_digit(10)) else {
            continue;
        };
        if let Some(q) = questions.get(digit as usize % questions.len().max(1)) {
            *name = format!("{}{}", q.key, &name[1..]);
        }
    }
    let request = PageRequest {
        def: target.def,
        stage: target.stage,
        page: target.page,
        audience: target.audience,
        answers: &answers,
        today: common::today(),
    };
    let input = haven_pages::parse_page_form(&request, &form);
    // What the server does next with a page's answers: merge them into the draft.
    let mut merged = answers.clone();
    haven_pages::apply_patch(&mut merged, &input.answers_patch);
});
