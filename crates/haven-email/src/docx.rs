//! A `.docx` (a zip of WordprocessingML parts) → its paragraphs and table rows, in order.
//!
//! Never trusted: the zip's declared sizes are not believed, every entry is read through
//! `Read::take` with a cap per entry and in total, so a zip bomb stops at the cap and is
//! refused. Old or encrypted Word files (an OLE compound file, signature `D0 CF 11 E0`),
//! password-protected zip entries and macro-enabled documents (`vbaProject.bin`, a
//! `macroEnabled` content type) are refused with a reason. XML is read with `quick-xml` as a
//! stream of events (no entity expansion beyond the five predefined ones and character
//! references, no DTDs), with a cap on element nesting and on the amount of text.
//!
//! Tick boxes come out as text: content-control check boxes (`w14:checkbox`), legacy form
//! field check boxes (`w:ffData/w:checkBox`) and Wingdings box symbols (`w:sym`) become
//! `☒` (ticked) or `☐` (not ticked), so the form reader sees them as a person does.

use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::{Quarantine, size_words};

/// Caps on reading one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocxLimits {
    /// The `.docx` file itself.
    pub max_file_bytes: u64,
    /// One part, decompressed.
    pub max_entry_bytes: u64,
    /// Everything decompressed, together.
    pub max_total_bytes: u64,
    /// Entries in the zip.
    pub max_entries: usize,
    /// Nesting of XML elements.
    pub max_xml_depth: usize,
    /// Paragraphs and rows kept.
    pub max_blocks: usize,
}

impl Default for DocxLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 10 * 1024 * 1024,
            max_entry_bytes: 20 * 1024 * 1024,
            max_total_bytes: 40 * 1024 * 1024,
            max_entries: 1000,
            max_xml_depth: 256,
            max_blocks: 5_000,
        }
    }
}

/// A paragraph outside any table, or a table row (each cell's paragraphs as lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(String),
    Row(Vec<Vec<String>>),
}

/// The document's body, in reading order. Rows of tables nested in a cell come before the
/// row that holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub blocks: Vec<Block>,
}

const OLE_SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Reads a `.docx` into blocks, or says why it will not.
pub fn read_docx(bytes: &[u8], limits: &DocxLimits) -> Result<Document, Quarantine> {
    if bytes.starts_with(&OLE_SIGNATURE) {
        return Err(Quarantine::new(
            "The Word document is encrypted (password-protected) or in the old .doc format, so it cannot be read safely; ask for an unprotected .docx",
        ));
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(Quarantine::new(format!(
            "The Word document is {}, more than the {} a file may be",
            size_words(bytes.len() as u64),
            size_words(limits.max_file_bytes)
        )));
    }
    if !bytes.starts_with(b"PK") {
        return Err(Quarantine::new("The file is not a Word (.docx) document"));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| {
        Quarantine::new("The Word document is damaged (its zip structure cannot be read)")
    })?;
    if archive.len() > limits.max_entries {
        return Err(Quarantine::new(format!(
            "The Word document has more than {} parts, more than a form can have",
            limits.max_entries
        )));
    }
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    if names.iter().any(|n| {
        let lower = n.to_ascii_lowercase();
        lower.ends_with("vbaproject.bin") || lower.ends_with("vbadata.xml")
    }) {
        return Err(macros());
    }
    let mut budget = Budget {
        left: limits.max_total_bytes,
        per_entry: limits.max_entry_bytes,
    };
    let content_types =
        read_entry(&mut archive, "[Content_Types].xml", &mut budget)?.ok_or_else(|| {
            Quarantine::new("The file is not a Word (.docx) document (it has no content types)")
        })?;
    let content_types = String::from_utf8_lossy(&content_types).to_ascii_lowercase();
    if content_types.contains("macroenabled") || content_types.contains("vbaproject") {
        return Err(macros());
    }
    if !content_types.contains("wordprocessingml.document.main") {
        return Err(Quarantine::new("The file is not a Word (.docx) document"));
    }
    let main = main_part(&mut archive, &mut budget)?;
    let xml = read_entry(&mut archive, &main, &mut budget)?
        .ok_or_else(|| Quarantine::new("The Word document is damaged (it has no main text)"))?;
    parse_document_xml(&xml, limits)
}

fn macros() -> Quarantine {
    Quarantine::new(
        "The Word document contains macros (it is macro-enabled), so it is not opened; ask for a plain .docx",
    )
}

struct Budget {
    left: u64,
    per_entry: u64,
}

/// One entry, decompressed through `take` so no more than the caps is ever inflated.
fn read_entry(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    budget: &mut Budget,
) -> Result<Option<Vec<u8>>, Quarantine> {
    let file = match archive.by_name(name) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(zip::result::ZipError::UnsupportedArchive(msg))
            if msg.to_ascii_lowercase().contains("password") =>
        {
            return Err(Quarantine::new(
                "The Word document is encrypted (password-protected), so it cannot be read",
            ));
        }
        Err(_) => {
            return Err(Quarantine::new(
                "The Word document is damaged (a part of it cannot be read)",
            ));
        }
    };
    if file.encrypted() {
        return Err(Quarantine::new(
            "The Word document is encrypted (password-protected), so it cannot be read",
        ));
    }
    let cap = budget.per_entry.min(budget.left);
    let mut out = Vec::new();
    let mut limited = file.take(cap.saturating_add(1));
    limited.read_to_end(&mut out).map_err(|_| {
        Quarantine::new("The Word document is damaged (a part of it cannot be decompressed)")
    })?;
    if out.len() as u64 > cap {
        return Err(Quarantine::new(format!(
            "The Word document expands to more than {} when opened (it may be a zip bomb), so it is not read",
            size_words(cap)
        )));
    }
    budget.left = budget.left.saturating_sub(out.len() as u64);
    Ok(Some(out))
}

/// The main document part named by `_rels/.rels` (`word/document.xml` by default).
fn main_part(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    budget: &mut Budget,
) -> Result<String, Quarantine> {
    let fallback = "word/document.xml".to_string();
    let Some(rels) = read_entry(archive, "_rels/.rels", budget)? else {
        return Ok(fallback);
    };
    let mut reader = Reader::from_reader(&rels[..]);
    let mut buf = Vec::new();
    for _ in 0..10_000 {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e))
                if e.local_name().as_ref() == b"Relationship" =>
            {
                let kind = attr(&e, b"Type").unwrap_or_default();
                if kind.ends_with("/officeDocument") {
                    if let Some(target) = attr(&e, b"Target") {
                        let target = target.trim_start_matches('/').to_string();
                        if !target.is_empty() && !target.contains("..") {
                            return Ok(target);
                        }
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        buf.clear();
    }
    Ok(fallback)
}

fn attr(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = a.key.local_name();
        (key.as_ref() == local)
            .then(|| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .ok()
            })
            .flatten()
    })
}

/// Most text kept in one paragraph (characters); the rest is dropped.
const MAX_PARAGRAPH_CHARS: usize = 100_000;

/// Reads WordprocessingML (`document.xml`) into blocks.
pub fn parse_document_xml(xml: &[u8], limits: &DocxLimits) -> Result<Document, Quarantine> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut doc = Document::default();
    let mut depth = 0usize;
    // Paragraphs being read (text boxes put paragraphs inside paragraphs).
    let mut paragraphs: Vec<String> = Vec::new();
    // Rows being read (tables nest in cells); each row's cells, each cell's lines.
    let mut rows: Vec<Vec<Vec<String>>> = Vec::new();
    let mut in_text = false;
    // The run is struck through: crossed-out text ("Yes / ~~No~~") is not read.
    let mut struck = false;
    // Content controls being read: whether each shows its placeholder ("Click or tap here
    // to enter text."), which is not an answer.
    let mut controls: Vec<bool> = Vec::new();
    // Inside `mc:Fallback`: the same content again for old readers (text boxes), not read.
    let mut fallback = 0usize;
    // Legacy check box: (checked, default).
    let mut legacy_box: Option<(Option<bool>, Option<bool>)> = None;
    let damaged = || Quarantine::new("The Word document is damaged (its text cannot be read)");
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|_| damaged())?;
        match event {
            Event::Start(e) => {
                depth += 1;
                if depth > limits.max_xml_depth {
                    return Err(Quarantine::new(
                        "The Word document is nested too deeply to read",
                    ));
                }
                match e.local_name().as_ref() {
                    b"p" => paragraphs.push(String::new()),
                    b"r" => struck = false,
                    b"t" => in_text = true,
                    b"strike" | b"dstrike" => struck = is_on(&e),
                    b"tr" => rows.push(Vec::new()),
                    b"tc" => {
                        if let Some(row) = rows.last_mut() {
                            row.push(Vec::new());
                        }
                    }
                    b"checkBox" => legacy_box = Some((None, None)),
                    b"sdt" => controls.push(false),
                    b"Fallback" => fallback += 1,
                    b"showingPlcHdr" => {
                        if let Some(c) = controls.last_mut() {
                            *c = is_on(&e);
                        }
                    }
                    _ => element(&e, &mut paragraphs, &mut legacy_box),
                }
            }
            Event::Empty(e) => match e.local_name().as_ref() {
                b"p" => push_paragraph(String::new(), &mut rows, &mut doc, limits)?,
                b"r" => struck = false,
                b"strike" | b"dstrike" => struck = is_on(&e),
                b"tc" => {
                    if let Some(row) = rows.last_mut() {
                        row.push(Vec::new());
                    }
                }
                _ => element(&e, &mut paragraphs, &mut legacy_box),
            },
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                match e.local_name().as_ref() {
                    b"t" => in_text = false,
                    b"sdt" => {
                        controls.pop();
                    }
                    b"Fallback" => fallback = fallback.saturating_sub(1),
                    b"p" => {
                        let text = paragraphs.pop().unwrap_or_default();
                        push_paragraph(text, &mut rows, &mut doc, limits)?;
                    }
                    b"tr" => {
                        if let Some(row) = rows.pop() {
                            doc.blocks.push(Block::Row(row));
                            if doc.blocks.len() > limits.max_blocks {
                                return Err(too_long(limits));
                            }
                        }
                    }
                    b"checkBox" => {
                        if let Some((checked, default)) = legacy_box.take() {
                            let ticked = checked.or(default).unwrap_or(false);
                            push_text(&mut paragraphs, if ticked { "☒" } else { "☐" });
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) if in_text && !struck && fallback == 0 && !controls.contains(&true) => {
                let text = t.xml10_content().map_err(|_| damaged())?;
                push_text(&mut paragraphs, &text);
            }
            Event::CData(t) if in_text && !struck && fallback == 0 && !controls.contains(&true) => {
                let text = t.decode().map_err(|_| damaged())?;
                push_text(&mut paragraphs, &text);
            }
            Event::GeneralRef(r)
                if in_text && !struck && fallback == 0 && !controls.contains(&true) =>
            {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    Ok(None) => match &*r {
                        b"amp" => Some("&".to_string()),
                        b"lt" => Some("<".to_string()),
                        b"gt" => Some(">".to_string()),
                        b"quot" => Some("\"".to_string()),
                        b"apos" => Some("'".to_string()),
                        _ => None,
                    },
                    Err(_) => None,
                };
                if let Some(text) = resolved {
                    push_text(&mut paragraphs, &text);
                }
            }
            Event::DocType(_) => {
                return Err(Quarantine::new(
                    "The Word document declares its own XML entities, which Word never does; it is not read",
                ));
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    // Unclosed rows (a damaged document) still count.
    while let Some(row) = rows.pop() {
        doc.blocks.push(Block::Row(row));
    }
    Ok(doc)
}

/// A run property that is on unless `w:val` says off.
fn is_on(e: &BytesStart<'_>) -> bool {
    attr(e, b"val").is_none_or(|v| !matches!(v.as_str(), "0" | "false" | "off" | "none"))
}

fn too_long(limits: &DocxLimits) -> Quarantine {
    Quarantine::new(format!(
        "The Word document has more than {} paragraphs and rows, more than a form can have",
        limits.max_blocks
    ))
}

fn push_text(paragraphs: &mut [String], text: &str) {
    if let Some(p) = paragraphs.last_mut() {
        let room = MAX_PARAGRAPH_CHARS.saturating_sub(p.len());
        if room > 0 {
            let cut: String = text.chars().take(room).collect();
            p.push_str(&cut);
        }
    }
}

fn push_paragraph(
    text: String,
    rows: &mut [Vec<Vec<String>>],
    doc: &mut Document,
    limits: &DocxLimits,
) -> Result<(), Quarantine> {
    match rows.last_mut().and_then(|row| row.last_mut()) {
        Some(cell) => {
            // Line breaks inside a paragraph (Shift+Enter) separate lines as paragraphs do.
            for line in text.split('\n') {
                if cell.len() < limits.max_blocks {
                    cell.push(line.to_string());
                }
            }
        }
        None => {
            doc.blocks.push(Block::Paragraph(text));
            if doc.blocks.len() > limits.max_blocks {
                return Err(too_long(limits));
            }
        }
    }
    Ok(())
}

/// Elements that stand for text: tabs, breaks, symbols and check boxes.
fn element(
    e: &BytesStart<'_>,
    paragraphs: &mut [String],
    legacy_box: &mut Option<(Option<bool>, Option<bool>)>,
) {
    match e.local_name().as_ref() {
        b"tab" | b"ptab" => push_text(paragraphs, "\t"),
        b"br" | b"cr" => push_text(paragraphs, "\n"),
        b"noBreakHyphen" => push_text(paragraphs, "-"),
        b"sym" => {
            let code = attr(e, b"char").unwrap_or_default().to_ascii_uppercase();
            let code = code.trim_start_matches("F0");
            match code {
                "FB" | "FC" | "FD" | "FE" | "78" => push_text(paragraphs, "☒"),
                "A8" | "6F" | "70" | "71" => push_text(paragraphs, "☐"),
                _ => {}
            }
        }
        // Content-control check box (w14:checkbox/w14:checked): its glyph is in the content
        // too, but the state is what counts.
        b"checked" => {
            let value = attr(e, b"val");
            let on = value
                .as_deref()
                .is_none_or(|v| matches!(v, "1" | "true" | "on"));
            match legacy_box {
                Some((checked, _)) => *checked = Some(on),
                None if on => push_text(paragraphs, "☒"),
                None => {}
            }
        }
        b"default" => {
            if let Some((_, default)) = legacy_box {
                let value = attr(e, b"val");
                *default = Some(
                    value
                        .as_deref()
                        .is_none_or(|v| matches!(v, "1" | "true" | "on")),
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(body: &str) -> Vec<Block> {
        let xml = format!(
            "<w:document xmlns:w=\"w\" xmlns:w14=\"w14\" xmlns:mc=\"mc\"><w:body>{body}</w:body></w:document>"
        );
        match parse_document_xml(xml.as_bytes(), &DocxLimits::default()) {
            Ok(doc) => doc.blocks,
            Err(q) => panic!("{q}"),
        }
    }

    #[test]
    fn what_word_writes_becomes_what_a_person_sees() {
        let b = blocks(concat!(
            // Soft line breaks split a cell's lines; a tracked deletion is not read.
            "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Name: Jo</w:t><w:br/><w:t>Email: jo@x.example</w:t></w:r></w:p></w:tc>",
            "<w:tc><w:p><w:del><w:r><w:delText>old</w:delText></w:r></w:del><w:ins><w:r><w:t>new</w:t></w:r></w:ins></w:p></w:tc></w:tr></w:tbl>",
            // A text box in mc:AlternateContent is read once, not twice.
            "<w:p><mc:AlternateContent><mc:Choice><w:r><w:t>Boxed</w:t></w:r></mc:Choice><mc:Fallback><w:r><w:t>Boxed</w:t></w:r></mc:Fallback></mc:AlternateContent></w:p>",
            // Entities and character references.
            "<w:p><w:r><w:t>A&amp;E &#8211; &lt;ok&gt;</w:t></w:r></w:p>",
            // Check boxes: legacy (checked), Wingdings symbol (unchecked), content control.
            "<w:p><w:r><w:fldChar><w:ffData><w:checkBox><w:default w:val=\"0\"/><w:checked/></w:checkBox></w:ffData></w:fldChar></w:r>",
            "<w:r><w:sym w:font=\"Wingdings\" w:char=\"F0A8\"/></w:r>",
            "<w:sdt><w:sdtPr><w14:checkbox><w14:checked w14:val=\"1\"/></w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:t>\u{2612}</w:t></w:r></w:sdtContent></w:sdt></w:p>",
        ));
        assert_eq!(
            b,
            vec![
                Block::Row(vec![
                    vec!["Name: Jo".to_string(), "Email: jo@x.example".to_string()],
                    vec!["new".to_string()],
                ]),
                Block::Paragraph("Boxed".to_string()),
                Block::Paragraph("A&E \u{2013} <ok>".to_string()),
                Block::Paragraph("\u{2612}\u{2610}\u{2612}\u{2612}".to_string()),
            ]
        );
    }

    #[test]
    fn nesting_and_entities_are_refused() {
        let deep = format!("{}{}", "<w:p>".repeat(300), "</w:p>".repeat(300));
        let xml = format!("<w:document><w:body>{deep}</w:body></w:document>");
        assert!(parse_document_xml(xml.as_bytes(), &DocxLimits::default()).is_err());
        let dtd = "<!DOCTYPE x [<!ENTITY a \"b\">]><w:document/>";
        assert!(parse_document_xml(dtd.as_bytes(), &DocxLimits::default()).is_err());
    }
}
