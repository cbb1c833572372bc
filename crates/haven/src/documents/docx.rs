//! Word (.docx) output with docx-rs: a title, headings, label/value rows and paragraphs in
//! DejaVu Sans (Word substitutes a similar font where it is not installed).

use docx_rs::{BreakType, Docx, Paragraph, Run, RunFonts};

use super::DocumentError;
use super::fill::{Block, CaseDocument};

fn run(text: &str) -> Run {
    // Defence in depth: `render` already cleaned the document; a run never holds a
    // character XML forbids, whoever calls this.
    let text = super::writable_text(text);
    // A line break inside a value becomes a break in the run, not a lost newline.
    let mut run = Run::new().fonts(RunFonts::new().ascii("DejaVu Sans").hi_ansi("DejaVu Sans"));
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            run = run.add_break(BreakType::TextWrapping);
        }
        run = run.add_text(line);
    }
    run
}

/// Writes `document` as a .docx file.
pub fn render(document: &CaseDocument) -> Result<Vec<u8>, DocumentError> {
    let document = &super::writable(document);
    let mut docx =
        Docx::new().add_paragraph(Paragraph::new().add_run(run(&document.title).bold().size(36)));
    if let Some(subtitle) = &document.subtitle {
        docx = docx.add_paragraph(Paragraph::new().add_run(run(subtitle).size(20)));
    }
    for block in &document.blocks {
        docx = match block {
            Block::Heading(text) => {
                docx.add_paragraph(Paragraph::new().add_run(run(text).bold().size(28)))
            }
            Block::Row { label, value } => docx
                .add_paragraph(Paragraph::new().add_run(run(label).bold().size(20)))
                .add_paragraph(
                    Paragraph::new()
                        .indent(Some(240), None, None, None)
                        .add_run(run(value).size(22)),
                ),
            Block::Paragraph(text) => {
                docx.add_paragraph(Paragraph::new().add_run(run(text).size(22)))
            }
        };
    }
    let mut out = std::io::Cursor::new(Vec::new());
    docx.pack(&mut out)
        .map_err(|e| DocumentError::Docx(e.to_string()))?;
    Ok(out.into_inner())
}
