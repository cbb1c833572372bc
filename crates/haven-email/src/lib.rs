//! Haven's email intake parsing core (issue 15): pure, I/O-free, no clock.
//!
//! Everything here takes bytes (and keys, limits and definitions as parameters) and returns
//! values; nothing reads files, opens sockets, looks at the time or keeps state. The mailbox
//! pollers, storage (sealed at rest) and the staff inbox sit on top of it, in `crates/haven`.
//!
//! - [`message`]: one raw RFC 5322 message (via `mail-parser`) → an [`message::EmailItem`]
//!   (sender, recipients, subject, UTC date, keyed hashes of the Message-ID and the content,
//!   the text with HTML reduced to plain text, sniffed attachments, the urgent flag), or a
//!   [`Quarantine`] with a reason a person can read. Bounded work: the size is checked before
//!   parsing, nesting and attachment counts after.
//! - [`auth`]: the receiving server's `Authentication-Results` (only the header carrying the
//!   configured authserv-id) and whether a sender counts as verified.
//! - [`routing`]: which service a message is for, from its recipients and the definitions'
//!   intake addresses.
//! - [`docx`]: a `.docx` (zip of WordprocessingML) read with size caps while decompressing,
//!   macro-enabled and encrypted documents refused, into paragraphs and table rows.
//! - [`form`]: the paper form's rows matched to a service definition's questions by their
//!   labels (normalised text similarity, never positions) into an answers document, listing
//!   each question it could not read.
//! - [`dates`]: UK date styles → ISO dates.
#![forbid(unsafe_code)]

pub mod auth;
pub mod dates;
pub mod docx;
pub mod form;
pub mod labels;
pub mod message;
pub mod routing;

use serde::Serialize;

/// Why a message or document was set aside for a person instead of being read. The reason is
/// written for staff: plain words, no keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quarantine {
    /// What was wrong, in plain words (for example "It has more than 20 attachments").
    pub reason: String,
}

impl Quarantine {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Quarantine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// "1.5 MB", "300 KB", "12 bytes": sizes in reasons.
pub fn size_words(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        let tenths = bytes.saturating_mul(10) / MB;
        if tenths % 10 == 0 {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else if bytes >= KB {
        format!("{} KB", bytes / KB)
    } else if bytes == 1 {
        "1 byte".to_string()
    } else {
        format!("{bytes} bytes")
    }
}
