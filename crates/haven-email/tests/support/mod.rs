//! Test helpers: the SECOS definition, and `.docx` forms written as WordprocessingML into a
//! zip, laid out as the paper form (tables of label and answer cells).
//!
//! Inside a line, markup stands for what Word writes:
//! `~~text~~` struck-through text, `[[x]]` / `[[ ]]` a content-control check box (ticked /
//! not), `[[?]]` an empty text content control showing Word's prompt, `{{x}}` / `{{ }}` a legacy form-field check box, `<<x>>` / `<< >>` a Wingdings box
//! symbol.
#![allow(dead_code)]

pub mod paper;

use std::io::Write;

use chrono::NaiveDate;
use haven_core::definition::{ServiceDefinition, Stage};

pub fn secos() -> ServiceDefinition {
    let source = include_str!("../../../../services/secos.toml");
    match haven_core::definition::load::parse_definition("secos.toml", source) {
        Ok(def) => def,
        Err(e) => panic!("services/secos.toml: {e:?}"),
    }
}

pub fn referral_stage(def: &ServiceDefinition) -> &Stage {
    def.stage("referral").expect("secos has a referral stage")
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 6).expect("a date")
}

/// A block of the form: a paragraph, or a table row of cells (each cell's lines).
pub enum Bl {
    P(String),
    Row(Vec<Vec<String>>),
    /// Ends the current table: the next rows start a new one.
    EndTable,
}

/// A row: each cell given as text, lines split on '\n'.
pub fn row(cells: &[&str]) -> Bl {
    Bl::Row(
        cells
            .iter()
            .map(|c| c.split('\n').map(str::to_string).collect())
            .collect(),
    )
}

pub fn p(text: &str) -> Bl {
    Bl::P(text.to_string())
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn run(text: &str, struck: bool) -> String {
    let props = if struck {
        "<w:rPr><w:strike/></w:rPr>"
    } else {
        ""
    };
    format!(
        "<w:r>{props}<w:t xml:space=\"preserve\">{}</w:t></w:r>",
        esc(text)
    )
}

/// One line → runs, with the markup above.
fn runs(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let next = ["~~", "[[", "{{", "<<"]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i, *m)))
            .min();
        let Some((i, mark)) = next else {
            out.push_str(&run(rest, false));
            break;
        };
        if i > 0 {
            out.push_str(&run(&rest[..i], false));
        }
        let close = match mark {
            "~~" => "~~",
            "[[" => "]]",
            "{{" => "}}",
            _ => ">>",
        };
        let after = &rest[i + 2..];
        let Some(end) = after.find(close) else {
            out.push_str(&run(&rest[i..], false));
            break;
        };
        let inner = &after[..end];
        let on = inner.trim() == "x";
        if mark == "[[" && inner == "?" {
            // An untouched text content control showing Word's prompt.
            out.push_str("<w:sdt><w:sdtPr><w:showingPlcHdr/><w:text/></w:sdtPr><w:sdtContent><w:r><w:rPr><w:rStyle w:val=\"PlaceholderText\"/></w:rPr><w:t>Click or tap here to enter text.</w:t></w:r></w:sdtContent></w:sdt>");
            rest = &after[end + close.len()..];
            continue;
        }
        match mark {
            "~~" => out.push_str(&run(inner, true)),
            "[[" => out.push_str(&format!(
                "<w:sdt><w:sdtPr><w14:checkbox><w14:checked w14:val=\"{}\"/><w14:checkedState w14:val=\"2612\" w14:font=\"MS Gothic\"/><w14:uncheckedState w14:val=\"2610\" w14:font=\"MS Gothic\"/></w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:rPr><w:rFonts w:ascii=\"MS Gothic\"/></w:rPr><w:t>{}</w:t></w:r></w:sdtContent></w:sdt>",
                if on { 1 } else { 0 },
                if on { "☒" } else { "☐" }
            )),
            "{{" => out.push_str(&format!(
                "<w:r><w:fldChar w:fldCharType=\"begin\"><w:ffData><w:name w:val=\"Check1\"/><w:enabled/><w:calcOnExit w:val=\"0\"/><w:checkBox><w:sizeAuto/><w:default w:val=\"0\"/>{}</w:checkBox></w:ffData></w:fldChar></w:r><w:r><w:instrText xml:space=\"preserve\"> FORMCHECKBOX </w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r>",
                if on { "<w:checked/>" } else { "" }
            )),
            _ => out.push_str(&format!(
                "<w:r><w:sym w:font=\"Wingdings\" w:char=\"{}\"/></w:r>",
                if on { "F0FE" } else { "F0A8" }
            )),
        }
        rest = &after[end + close.len()..];
    }
    out
}

fn paragraph(line: &str) -> String {
    format!(
        "<w:p><w:pPr><w:spacing w:after=\"0\"/></w:pPr>{}</w:p>",
        runs(line)
    )
}

fn table_xml(rows: &[Vec<Vec<String>>]) -> String {
    let mut xml = String::from(
        "<w:tbl><w:tblPr><w:tblStyle w:val=\"TableGrid\"/><w:tblW w:w=\"0\" w:type=\"auto\"/></w:tblPr>",
    );
    for r in rows {
        xml.push_str("<w:tr>");
        for cell in r {
            xml.push_str("<w:tc><w:tcPr><w:tcW w:w=\"4508\" w:type=\"dxa\"/></w:tcPr>");
            for line in cell {
                xml.push_str(&paragraph(line));
            }
            xml.push_str("</w:tc>");
        }
        xml.push_str("</w:tr>");
    }
    xml.push_str("</w:tbl>");
    xml
}

/// WordprocessingML for the blocks (consecutive `Row`s form one table).
pub fn document_xml(blocks: &[Bl]) -> String {
    let mut body = String::new();
    let mut pending: Vec<Vec<Vec<String>>> = Vec::new();
    for b in blocks {
        match b {
            Bl::Row(cells) => pending.push(cells.clone()),
            other => {
                if !pending.is_empty() {
                    body.push_str(&table_xml(&pending));
                    pending.clear();
                }
                if let Bl::P(text) = other {
                    for line in text.split('\n') {
                        body.push_str(&paragraph(line));
                    }
                }
            }
        }
    }
    if !pending.is_empty() {
        body.push_str(&table_xml(&pending));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" xmlns:w14=\"http://schemas.microsoft.com/office/word/2010/wordml\"><w:body>{body}<w:sectPr/></w:body></w:document>"
    )
}

pub const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";

pub const RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";

pub const DOCUMENT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/></Relationships>";

pub const STYLES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:style w:type=\"table\" w:styleId=\"TableGrid\"><w:name w:val=\"Table Grid\"/></w:style></w:styles>";

/// A zip of the given entries (deflated).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).expect("zip entry");
            zip.write_all(bytes).expect("zip write");
        }
        zip.finish().expect("zip finish");
    }
    out.into_inner()
}

/// A `.docx` of the blocks.
pub fn docx(blocks: &[Bl]) -> Vec<u8> {
    let xml = document_xml(blocks);
    // The parts in Word's order (content types, package relationships, the document's
    // relationships, the document, styles), as sniffers expect.
    zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELS.as_bytes()),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS.as_bytes()),
        ("word/document.xml", xml.as_bytes()),
        ("word/styles.xml", STYLES.as_bytes()),
    ])
}
