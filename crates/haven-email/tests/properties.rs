//! Properties: the parsers return on any input (the form reader on any table of form-like
//! cells too), and every UK date style reads back as the date it was written from.

mod support;

use chrono::{Datelike, NaiveDate};
use haven_email::dates::parse_uk_date;
use haven_email::docx::{Block, Document, DocxLimits, parse_document_xml};
use haven_email::form::read_document;
use haven_email::message::{Limits, Parsed, parse};
use proptest::prelude::*;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 6).expect("a date")
}

proptest! {
    #[test]
    fn every_uk_style_reads_back(days in 0i64..(100 * 365)) {
        let date = NaiveDate::from_ymd_opt(1930, 1, 1).expect("a date") + chrono::Duration::days(days);
        let (d, m, y) = (date.day(), date.month(), date.year());
        let month = MONTHS[(m - 1) as usize];
        let suffix = match d { 1 | 21 | 31 => "st", 2 | 22 => "nd", 3 | 23 => "rd", _ => "th" };
        for text in [
            format!("{d:02}/{m:02}/{y}"),
            format!("{d}/{m}/{y}"),
            format!("{d:02}.{m:02}.{y}"),
            format!("{d}-{m}-{y}"),
            format!("{d} {month} {y}"),
            format!("{d}{suffix} {month} {y}"),
            format!("{d} {} {y}", &month[..3]),
            format!("{y}-{m:02}-{d:02}"),
        ] {
            prop_assert_eq!(parse_uk_date(&text, today()), Some(date), "{}", text);
        }
    }

    #[test]
    fn message_parser_returns_on_any_bytes(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
        match parse(&raw, b"key", &Limits::default()) {
            Parsed::Item(item) => prop_assert_eq!(item.content_hash.len(), 64),
            Parsed::Quarantined { quarantine, .. } => prop_assert!(!quarantine.reason.is_empty()),
        }
    }

    #[test]
    fn message_parser_returns_on_mime_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("--b\r\n".to_string()),
                Just("--b--\r\n".to_string()),
                Just("Content-Type: multipart/mixed; boundary=\"b\"\r\n".to_string()),
                Just("Content-Type: message/rfc822\r\n".to_string()),
                Just("Content-Type: text/html; charset=x-unknown\r\n".to_string()),
                Just("Content-Transfer-Encoding: base64\r\n".to_string()),
                Just("\r\n".to_string()),
                "[a-zA-Z0-9 =<>/:;\"]{0,40}\r\n",
            ],
            0..60,
        )
    ) {
        let raw = format!("From: a@b.example\r\nSubject: s\r\n{}", parts.concat());
        let _ = parse(raw.as_bytes(), b"key", &Limits::default());
    }

    /// Tables and lines of labels, answers, ticks, headings and gaps in any order and
    /// layout: the reader returns, and what it reads is an object.
    #[test]
    fn form_reader_returns_on_any_form_like_table(
        blocks in proptest::collection::vec(
            (
                any::<bool>(),
                proptest::collection::vec(
                    proptest::collection::vec(
                        prop_oneof![
                            Just("Name".to_string()),
                            Just("Name:".to_string()),
                            Just("Name: Jo Bloggs\tEmail: jo@school.example".to_string()),
                            Just("Young person".to_string()),
                            Just("Referrer details".to_string()),
                            Just("D.O.B.".to_string()),
                            Just("3rd March 2012".to_string()),
                            Just("Address".to_string()),
                            Just("Low self-esteem".to_string()),
                            Just("☒ Looked after child".to_string()),
                            Just("Periods of going missing day and/or night".to_string()),
                            Just("Current or within 6 months".to_string()),
                            Just("Historic".to_string()),
                            Just("X".to_string()),
                            Just("✓".to_string()),
                            Just("Yes / ~No".to_string()),
                            Just(String::new()),
                            "[a-zA-Z0-9 :\t–/@.☒☐✓-]{0,30}",
                        ],
                        0..4,
                    ),
                    1..5,
                ),
            ),
            0..30,
        )
    ) {
        let def = support::secos();
        let stage = support::referral_stage(&def);
        let doc = Document {
            blocks: blocks
                .into_iter()
                .map(|(paragraph, cells)| {
                    if paragraph {
                        Block::Paragraph(cells.concat().join("\n"))
                    } else {
                        Block::Row(cells)
                    }
                })
                .collect(),
        };
        let reading = read_document(&doc, stage, today());
        prop_assert!(reading.answers.is_object());
    }

    #[test]
    fn document_xml_reader_returns_on_any_text(xml in "(<w:[a-zA-Z]{1,4}( w:val=\"[01]\")?/?>|</w:[a-zA-Z]{1,4}>|[a-zA-Z &;#0-9]{0,8}){0,80}") {
        let _ = parse_document_xml(xml.as_bytes(), &DocxLimits::default());
    }
}
