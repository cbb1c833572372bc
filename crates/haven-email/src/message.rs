//! One raw email message → an [`EmailItem`], or a [`Quarantine`] with a reason.
//!
//! Parsed with `mail-parser` (lenient, never panics). Everything a person will read is
//! plain text: HTML bodies are reduced to text with `html2text` (scripts, styles and markup
//! dropped; nothing is ever kept for rendering as HTML). Attachment types are sniffed from
//! their bytes with `infer`, as uploads are (`web/public/uploads.rs`); the name and the
//! declared `Content-Type` are never trusted.
//!
//! The plain Message-ID is never kept: only a keyed hash of it ([`EmailItem::message_id_hash`])
//! and a keyed hash of the content ([`content_hash`]) so a reused Message-ID with different
//! content can be told apart from a true duplicate. Both are HMAC-SHA256 under a key the
//! caller passes (a secret of the installation), with a label per use.
//!
//! Bounded work: the raw size is checked before anything is parsed; the MIME tree is walked
//! without recursion and refused past [`Limits::max_depth`]; HTML is converted only up to
//! [`Limits::max_html_bytes`].

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};
use regex::Regex;
use serde::Serialize;
use sha2::Sha256;

use crate::auth::{self, AuthenticationResults};
use crate::{Quarantine, size_words};

/// Limits on one message. [`Limits::default`] matches the web forms' upload limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The whole raw message, in bytes.
    pub max_message_bytes: usize,
    /// Levels of MIME nesting (multipart inside multipart, forwarded messages inside
    /// messages). The top-level message is level 0.
    pub max_depth: usize,
    /// Attachments, counted across forwarded messages too.
    pub max_attachments: usize,
    /// One attachment, decoded (the upload limit of a file question).
    pub max_attachment_bytes: u64,
    /// All attachments together, decoded.
    pub max_total_attachment_bytes: u64,
    /// HTML converted to text; a larger HTML body is quarantined.
    pub max_html_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 40 * 1024 * 1024,
            max_depth: 8,
            max_attachments: 20,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_total_attachment_bytes: 30 * 1024 * 1024,
            max_html_bytes: 2 * 1024 * 1024,
        }
    }
}

/// A mailbox: an address and, when given, the display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    /// The address as written, trimmed.
    pub address: String,
    pub name: Option<String>,
}

impl Mailbox {
    /// The domain after the last `@`, lower-cased.
    pub fn domain(&self) -> Option<String> {
        let (_, domain) = self.address.rsplit_once('@')?;
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        (!domain.is_empty()).then_some(domain)
    }
}

/// Which header a recipient came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientKind {
    /// `Delivered-To` / `X-Original-To`: set by the receiving server, the envelope address.
    DeliveredTo,
    To,
    Cc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub address: String,
    pub kind: RecipientKind,
}

/// One attachment, decoded.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// A safe file name: no folders, no control characters, at most 100 characters;
    /// "attachment" when the message gave none.
    pub file_name: String,
    /// Sniffed from the bytes (`infer`, as for uploads); `application/octet-stream` when
    /// nothing is recognised. Never the declared type.
    pub media_type: String,
    pub size: u64,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("file_name", &self.file_name)
            .field("media_type", &self.media_type)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A readable message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailItem {
    /// The first `From` mailbox. `None` when the message names none.
    pub sender: Option<Mailbox>,
    /// How many mailboxes `From` names (more than one is never "verified").
    pub from_count: usize,
    /// Delivered-To first (the envelope), then To, then Cc; lower-cased, without repeats.
    pub recipients: Vec<Recipient>,
    pub subject: Option<String>,
    /// The `Date` header, in UTC; `None` when missing or unreadable.
    pub date: Option<DateTime<Utc>>,
    /// HMAC-SHA256 (hex) of the Message-ID under the caller's key; `None` without one.
    pub message_id_hash: Option<String>,
    /// HMAC-SHA256 (hex) of the content ([`content_hash`]).
    pub content_hash: String,
    /// The text: text/plain parts preferred, HTML reduced to plain text otherwise; forwarded
    /// messages follow, each under a line naming who sent it.
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// The subject or text says it is urgent ([`says_urgent`]).
    pub urgent: bool,
    /// Every `Authentication-Results` header, parsed; only [`EmailItem::authentication`]
    /// with the configured authserv-id should be believed.
    pub authentication_results: Vec<AuthenticationResults>,
}

impl EmailItem {
    /// The results the receiving server (`authserv_id`) recorded, if any.
    pub fn authentication(&self, authserv_id: &str) -> Option<&AuthenticationResults> {
        auth::results_for(&self.authentication_results, authserv_id)
    }

    /// True only when the sender's domain is on `trusted_domains` AND the receiving server
    /// (`authserv_id`) recorded DMARC pass for it, or SPF and DKIM both passing for that
    /// domain. Headers with any other authserv-id are ignored (anyone can add them).
    pub fn sender_verified(&self, trusted_domains: &[&str], authserv_id: &str) -> bool {
        if self.from_count != 1 {
            return false;
        }
        let Some(domain) = self.sender.as_ref().and_then(Mailbox::domain) else {
            return false;
        };
        if !trusted_domains
            .iter()
            .any(|t| t.trim().trim_end_matches('.').eq_ignore_ascii_case(&domain))
        {
            return false;
        }
        self.authentication(authserv_id)
            .is_some_and(|r| r.verifies(&domain))
    }
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Parsed {
    Item(Box<EmailItem>),
    Quarantined {
        #[serde(flatten)]
        quarantine: Quarantine,
        /// Keyed hashes, so a quarantined message is not taken twice either.
        message_id_hash: Option<String>,
        content_hash: String,
    },
}

impl Parsed {
    pub fn item(&self) -> Option<&EmailItem> {
        match self {
            Parsed::Item(item) => Some(item),
            Parsed::Quarantined { .. } => None,
        }
    }

    pub fn quarantine(&self) -> Option<&Quarantine> {
        match self {
            Parsed::Item(_) => None,
            Parsed::Quarantined { quarantine, .. } => Some(quarantine),
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

fn keyed(key: &[u8], label: &[u8], parts: &[&[u8]]) -> String {
    // HMAC takes keys of any length, so this cannot fail; keep the match total anyway.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return String::new();
    };
    mac.update(label);
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The keyed hash of a Message-ID (angle brackets and surrounding space ignored).
pub fn message_id_hash(key: &[u8], message_id: &str) -> Option<String> {
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty()).then(|| keyed(key, b"haven-email message-id v1", &[id.as_bytes()]))
}

/// The keyed hash of a message's content: its `From`, `To`, `Cc`, `Subject` and `Date` header
/// values (whitespace runs folded) and its body (line endings normalised). Stable across
/// delivery (added `Received` or `Delivered-To` headers, CRLF or LF) and different whenever
/// what the sender wrote differs.
pub fn content_hash(key: &[u8], raw: &[u8]) -> String {
    let (headers, body) = split_header_block(raw);
    let wanted = ["from", "to", "cc", "subject", "date"];
    let mut values: Vec<Vec<u8>> = vec![Vec::new(); wanted.len()];
    let mut current: Option<usize> = None;
    for line in headers.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some(i) = current {
                values[i].push(b' ');
                values[i].extend_from_slice(line);
            }
            continue;
        }
        current = None;
        if let Some(colon) = line.iter().position(|b| *b == b':') {
            let name = String::from_utf8_lossy(&line[..colon])
                .trim()
                .to_ascii_lowercase();
            if let Some(i) = wanted.iter().position(|w| *w == name) {
                if !values[i].is_empty() {
                    values[i].push(b'\n');
                }
                values[i].extend_from_slice(&line[colon + 1..]);
                current = Some(i);
            }
        }
    }
    let folded: Vec<Vec<u8>> = values.iter().map(|v| fold_space(v)).collect();
    let body: Vec<u8> = normalise_line_endings(body);
    let mut parts: Vec<&[u8]> = folded.iter().map(Vec::as_slice).collect();
    parts.push(&body);
    keyed(key, b"haven-email content v1", &parts)
}

fn split_header_block(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\n' {
            let rest = &raw[i + 1..];
            if rest.starts_with(b"\n") {
                return (&raw[..i], &rest[1..]);
            }
            if rest.starts_with(b"\r\n") {
                return (&raw[..i], &rest[2..]);
            }
        }
        i += 1;
    }
    (raw, &[])
}

fn fold_space(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut space = false;
    for b in value {
        if b.is_ascii_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(b' ');
            }
            space = false;
            out.push(*b);
        }
    }
    out
}

fn normalise_line_endings(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\r' && body.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(body[i]);
        i += 1;
    }
    while out.last().is_some_and(|b| b.is_ascii_whitespace()) {
        out.pop();
    }
    out
}

/// Parses one raw message. Never panics; work is bounded by `limits`.
pub fn parse(raw: &[u8], key: &[u8], limits: &Limits) -> Parsed {
    let content = content_hash(key, raw);
    let quarantine = |reason: String, message_id_hash: Option<String>| Parsed::Quarantined {
        quarantine: Quarantine::new(reason),
        message_id_hash,
        content_hash: content.clone(),
    };
    if raw.len() > limits.max_message_bytes {
        return quarantine(
            format!(
                "The message is {}, more than the {} an email may be",
                size_words(raw.len() as u64),
                size_words(limits.max_message_bytes as u64)
            ),
            None,
        );
    }
    // mail-parser never panics in release builds, but some damaged multiparts trip a
    // `debug_assert!` inside it (found by the fuzzer): in a debug build that must be a
    // quarantine too, not a crash of the worker.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        MessageParser::default().parse(raw)
    }));
    let Ok(parsed) = parsed else {
        return quarantine(
            "Its MIME structure is damaged, so it cannot be read safely".to_string(),
            None,
        );
    };
    let Some(message) = parsed else {
        return quarantine(
            "It is not a readable email message (no headers were found)".to_string(),
            None,
        );
    };
    let id_hash = message.message_id().and_then(|id| message_id_hash(key, id));
    match read(&message, limits) {
        Ok(read) => {
            let sender = message
                .from()
                .and_then(|a| a.first())
                .and_then(|a| mailbox(a.address(), a.name()));
            let from_count = message.from().map_or(0, |a| a.iter().count());
            let subject = message.subject().map(clean_line);
            let urgent =
                says_urgent(subject.as_deref().unwrap_or_default()) || says_urgent(&read.text);
            Parsed::Item(Box::new(EmailItem {
                sender,
                from_count,
                recipients: recipients(&message),
                date: message
                    .date()
                    .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0)),
                subject,
                message_id_hash: id_hash,
                content_hash: content.clone(),
                text: read.text,
                attachments: read.attachments,
                urgent,
                authentication_results: message
                    .header_values("Authentication-Results")
                    .filter_map(|v| v.as_text())
                    .filter_map(auth::parse_header)
                    .collect(),
            }))
        }
        Err(reason) => quarantine(reason, id_hash),
    }
}

fn mailbox(address: Option<&str>, name: Option<&str>) -> Option<Mailbox> {
    let address = address?.trim();
    if address.is_empty() {
        return None;
    }
    Some(Mailbox {
        address: clean_line(address),
        name: name
            .map(clean_line)
            .filter(|n| !n.is_empty() && n != address),
    })
}

/// One line of header text: control characters removed, whitespace runs folded.
fn clean_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn recipients(message: &Message<'_>) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    let mut add = |address: &str, kind: RecipientKind| {
        let address = address
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        if address.is_empty() || !address.contains('@') {
            return;
        }
        let address = address.to_lowercase();
        if !out.iter().any(|r| r.address == address) {
            out.push(Recipient { address, kind });
        }
    };
    for name in ["Delivered-To", "X-Original-To"] {
        for value in message.header_values(name) {
            if let Some(text) = value.as_text() {
                add(text, RecipientKind::DeliveredTo);
            } else if let Some(list) = value.as_address() {
                for a in list.iter() {
                    add(a.address().unwrap_or_default(), RecipientKind::DeliveredTo);
                }
            }
        }
    }
    for a in message.to().into_iter().flat_map(|a| a.iter()) {
        add(a.address().unwrap_or_default(), RecipientKind::To);
    }
    for a in message.cc().into_iter().flat_map(|a| a.iter()) {
        add(a.address().unwrap_or_default(), RecipientKind::Cc);
    }
    out
}

struct Read {
    text: String,
    attachments: Vec<Attachment>,
}

/// Walks the MIME tree without recursion: checks depth, encryption, charsets and limits,
/// and collects the text and the attachments.
fn read(message: &Message<'_>, limits: &Limits) -> Result<Read, String> {
    let mut texts: Vec<String> = Vec::new();
    let mut attachments: Vec<Attachment> = Vec::new();
    let mut total: u64 = 0;
    // (message, its depth, who sent it when forwarded)
    let mut messages: Vec<(&Message<'_>, usize, Option<String>)> = vec![(message, 0, None)];
    let mut readable_parts = 0usize;
    let mut unreadable: Option<&'static str> = None;
    while let Some((msg, base_depth, forwarded_from)) = messages.pop() {
        // Depth of each part: walk the tree from the root part.
        let mut stack: Vec<(u32, usize)> = vec![(0, base_depth)];
        let mut seen = 0usize;
        let mut nested: Vec<(&Message<'_>, usize, Option<String>)> = Vec::new();
        while let Some((id, depth)) = stack.pop() {
            seen += 1;
            if seen > msg.parts.len().saturating_add(1) {
                return Err("Its MIME structure refers to itself".to_string());
            }
            if depth > limits.max_depth {
                return Err(format!(
                    "It is nested more than {} levels deep (messages or parts inside each other)",
                    limits.max_depth
                ));
            }
            let Some(part) = msg.parts.get(id as usize) else {
                continue;
            };
            if let Some(reason) = encrypted(part) {
                unreadable = Some(reason);
            }
            if let Some(reason) = unknown_charset(part) {
                return Err(reason);
            }
            let declared_multipart = part
                .content_type()
                .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"));
            if declared_multipart && !matches!(part.body, PartType::Multipart(_)) {
                return Err(
                    "Its parts are not marked the way the message says (a broken MIME boundary), so it cannot be read safely"
                        .to_string(),
                );
            }
            match &part.body {
                PartType::Multipart(children) => {
                    for child in children.iter().rev() {
                        if *child > id {
                            stack.push((*child, depth + 1));
                        }
                    }
                }
                PartType::Message(inner) => {
                    let from = inner
                        .from()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .map(clean_line);
                    nested.push((inner, depth + 1, Some(from.unwrap_or_default())));
                }
                PartType::Binary(_) | PartType::InlineBinary(_)
                    if is_message_type(part) && part.is_encoding_problem =>
                {
                    // mail-parser stops parsing forwarded messages past its own depth (3).
                    return Err(
                        "It has forwarded messages nested inside each other too deeply to read"
                            .to_string(),
                    );
                }
                _ => {}
            }
        }
        // The message's own text, then its attachments.
        let text = message_text(msg, limits)?;
        if !text.trim().is_empty() {
            readable_parts += 1;
            match &forwarded_from {
                None => texts.push(text),
                Some(from) if from.is_empty() => {
                    texts.push(format!("Forwarded message:\n{text}"));
                }
                Some(from) => texts.push(format!("Forwarded message from {from}:\n{text}")),
            }
        }
        for id in &msg.attachments {
            let Some(part) = msg.parts.get(*id as usize) else {
                continue;
            };
            let bytes: &[u8] = match &part.body {
                PartType::Binary(b) | PartType::InlineBinary(b) => b,
                PartType::Text(t) | PartType::Html(t) => t.as_bytes(),
                // Forwarded messages are read for their text and attachments, below.
                PartType::Message(_) | PartType::Multipart(_) => continue,
            };
            if attachments.len() >= limits.max_attachments {
                return Err(format!(
                    "It has more than {} attachments",
                    limits.max_attachments
                ));
            }
            let size = bytes.len() as u64;
            let file_name = safe_file_name(part.attachment_name());
            if size > limits.max_attachment_bytes {
                return Err(format!(
                    "The attachment \u{201c}{file_name}\u{201d} is {}, more than the {} a file may be",
                    size_words(size),
                    size_words(limits.max_attachment_bytes)
                ));
            }
            total = total.saturating_add(size);
            if total > limits.max_total_attachment_bytes {
                return Err(format!(
                    "Its attachments come to more than {} together",
                    size_words(limits.max_total_attachment_bytes)
                ));
            }
            let media_type = infer::get(bytes)
                .map(|t| t.mime_type().to_string())
                .unwrap_or_else(|| "application/octet-stream".to_string());
            readable_parts += 1;
            attachments.push(Attachment {
                file_name,
                media_type,
                size,
                bytes: bytes.to_vec(),
            });
        }
        // Forwarded messages in the order they appear.
        messages.extend(nested.into_iter().rev());
    }
    if let Some(reason) = unreadable.filter(|_| texts.is_empty()) {
        // An encrypted body (its blob may look like an attachment) with no readable text.
        return Err(reason.to_string());
    }
    if readable_parts == 0 {
        return Err(match unreadable {
            Some(reason) => reason.to_string(),
            None => "It has no text or attachments that could be read (the message may be damaged)"
                .to_string(),
        });
    }
    Ok(Read {
        text: texts.join("\n\n"),
        attachments,
    })
}

fn is_message_type(part: &MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("message")
            && ct.subtype().is_some_and(|s| {
                s.eq_ignore_ascii_case("rfc822") || s.eq_ignore_ascii_case("global")
            })
    })
}

/// An encrypted body, or one only signed in a form that hides the text.
fn encrypted(part: &MessagePart<'_>) -> Option<&'static str> {
    let ct = part.content_type()?;
    let main = ct.ctype().to_ascii_lowercase();
    let sub = ct.subtype().unwrap_or_default().to_ascii_lowercase();
    match (main.as_str(), sub.as_str()) {
        ("multipart", "encrypted") | ("application", "pgp-encrypted") => {
            Some("It is encrypted (PGP), so it cannot be read here")
        }
        ("application", "pkcs7-mime") | ("application", "x-pkcs7-mime") => {
            let smime = ct.attribute("smime-type").unwrap_or_default();
            if smime.eq_ignore_ascii_case("signed-data") {
                Some(
                    "It is signed in a form (S/MIME signed-data) that hides its text, so it cannot be read here",
                )
            } else {
                Some("It is encrypted (S/MIME), so it cannot be read here")
            }
        }
        _ => None,
    }
}

/// A text part in a character set neither mail-parser nor encoding_rs knows.
fn unknown_charset(part: &MessagePart<'_>) -> Option<String> {
    let ct = part.content_type()?;
    if !ct.ctype().eq_ignore_ascii_case("text") {
        return None;
    }
    let charset = ct.attribute("charset")?.trim().trim_matches('"');
    if charset.is_empty() || charset_known(charset) {
        return None;
    }
    let shown: String = charset
        .chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect();
    Some(format!(
        "Its text is in a character set that cannot be read (\u{201c}{shown}\u{201d})"
    ))
}

fn charset_known(charset: &str) -> bool {
    let lower = charset.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "us-ascii" | "ascii" | "utf-8" | "utf8" | "7bit" | "8bit" | "default"
    ) || mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes()).is_some()
        || encoding_rs::Encoding::for_label(charset.as_bytes()).is_some()
}

/// The message's own text: its text/plain body parts, or its HTML ones reduced to text.
fn message_text(msg: &Message<'_>, limits: &Limits) -> Result<String, String> {
    let mut plain: Vec<&str> = Vec::new();
    let mut html: Vec<&str> = Vec::new();
    for id in msg.text_body.iter().chain(msg.html_body.iter()) {
        match msg.parts.get(*id as usize).map(|p| &p.body) {
            Some(PartType::Text(t)) if !plain.contains(&t.as_ref()) => plain.push(t),
            Some(PartType::Html(h)) if !html.contains(&h.as_ref()) => html.push(h),
            _ => {}
        }
    }
    let text = if plain.iter().any(|t| !t.trim().is_empty()) {
        plain.join("\n\n")
    } else {
        let mut out = Vec::new();
        for h in html {
            if h.len() > limits.max_html_bytes {
                return Err(format!(
                    "Its HTML text is {}, more than the {} that can be read",
                    size_words(h.len() as u64),
                    size_words(limits.max_html_bytes as u64)
                ));
            }
            out.push(html_to_text(h));
        }
        out.join("\n\n")
    };
    Ok(clean_text(&text))
}

/// HTML reduced to plain text (`html2text`): no markup, no script or style content.
pub fn html_to_text(html: &str) -> String {
    html2text::config::plain_no_decorate()
        .string_from_read(html.as_bytes(), 100)
        .unwrap_or_default()
}

/// Text for display: control characters (other than line breaks and tabs) removed, line
/// endings normalised, trailing space trimmed.
fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.replace("\r\n", "\n").split('\n') {
        let line: String = line
            .chars()
            .filter(|c| *c == '\t' || !c.is_control())
            .filter(|c| !is_bidi_control(*c))
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim().to_string()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A file name safe to store and show: the last path component, no control or reserved
/// characters, at most 100 characters.
pub fn safe_file_name(name: Option<&str>) -> String {
    let name = name.unwrap_or_default();
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .map(|c| {
            if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let cut: String = cleaned.chars().take(100).collect();
    if cut.is_empty() {
        "attachment".to_string()
    } else {
        cut
    }
}

static URGENT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(urgent|urgently|immediate danger|immediate risk|in danger now|emergency)\b")
        .ok()
});

/// The subject or text says it is urgent: "urgent", "immediate danger", "emergency" or 999
/// as a number on its own (not part of a longer phone number), case-insensitive, whole words.
pub fn says_urgent(text: &str) -> bool {
    if URGENT.as_ref().is_some_and(|re| re.is_match(text)) {
        return true;
    }
    let tokens: Vec<&str> = text.split_whitespace().collect();
    tokens.iter().enumerate().any(|(i, t)| {
        let core = t.trim_matches(|c: char| !c.is_alphanumeric());
        if core != "999" {
            return false;
        }
        // "999" must be the token itself (not "999-123"), and not a group of a phone number.
        let numeric = |s: &str| {
            let s = s.trim_matches(|c: char| !c.is_alphanumeric());
            !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
        };
        let joined_by_digits = t.chars().any(|c| c.is_ascii_digit()) && t.len() > 3 && {
            let inner = t.trim_matches(|c: char| !c.is_alphanumeric());
            inner != "999"
        };
        let before_numeric = i > 0 && numeric(tokens[i - 1]);
        let after_numeric = tokens.get(i + 1).is_some_and(|n| numeric(n));
        !(joined_by_digits || before_numeric || after_numeric)
    })
}
