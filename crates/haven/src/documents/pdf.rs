//! PDF output with krilla: A4 pages, DejaVu Sans (Bitstream Vera licence, in
//! `crates/haven/data/fonts/`) embedded and subset, so any name (Zoë Ó'Brien) prints and
//! `pdftotext` reads the text back. Text is wrapped by measuring glyph advances.

use krilla::Document;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};

use super::DocumentError;
use super::fill::{Block, CaseDocument};

static REGULAR: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../data/fonts/DejaVuSans-Bold.ttf");

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// One line of text placed on a page (baseline at `y`, from the top).
struct Line {
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    text: String,
}

/// Measures text in one font.
struct Measure<'a> {
    face: ttf_parser::Face<'a>,
}

impl Measure<'_> {
    fn width(&self, text: &str, size: f32) -> f32 {
        let units = f32::from(self.face.units_per_em());
        let advance: f32 = text
            .chars()
            .map(|c| {
                self.face
                    .glyph_index(c)
                    .and_then(|g| self.face.glyph_hor_advance(g))
                    .map_or(units / 2.0, f32::from)
            })
            .sum();
        advance * size / units
    }

    /// `text` broken into lines no wider than `max` (words longer than a line are split).
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.lines() {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the line on its own: split it by characters.
                for c in word.chars() {
                    line.push(c);
                    if self.width(&line, size) > max {
                        line.pop();
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    }
                }
            }
            lines.push(line);
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }
}

/// Lays the document out into pages of lines.
fn lay_out(document: &CaseDocument, regular: &Measure<'_>, bold: &Measure<'_>) -> Vec<Vec<Line>> {
    let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
    let mut y = MARGIN;
    let width = PAGE_WIDTH - 2.0 * MARGIN;
    let put = |pages: &mut Vec<Vec<Line>>,
               y: &mut f32,
               text: String,
               size: f32,
               is_bold: bool,
               x: f32| {
        let height = size * 1.35;
        if *y + height > PAGE_HEIGHT - MARGIN {
            pages.push(Vec::new());
            *y = MARGIN;
        }
        *y += height;
        if let Some(page) = pages.last_mut() {
            page.push(Line {
                x,
                y: *y - size * 0.3,
                size,
                bold: is_bold,
                text,
            });
        }
    };
    for line in bold.wrap(&document.title, 20.0, width) {
        put(&mut pages, &mut y, line, 20.0, true, MARGIN);
    }
    if let Some(subtitle) = &document.subtitle {
        for line in regular.wrap(subtitle, 10.0, width) {
            put(&mut pages, &mut y, line, 10.0, false, MARGIN);
        }
    }
    y += 8.0;
    for block in &document.blocks {
        match block {
            Block::Heading(text) => {
                y += 10.0;
                for line in bold.wrap(text, 14.0, width) {
                    put(&mut pages, &mut y, line, 14.0, true, MARGIN);
                }
                y += 2.0;
            }
            Block::Row { label, value } => {
                for line in bold.wrap(label, 10.0, width) {
                    put(&mut pages, &mut y, line, 10.0, true, MARGIN);
                }
                for line in regular.wrap(value, 11.0, width - 12.0) {
                    put(&mut pages, &mut y, line, 11.0, false, MARGIN + 12.0);
                }
                y += 4.0;
            }
            Block::Paragraph(text) => {
                for line in regular.wrap(text, 11.0, width) {
                    put(&mut pages, &mut y, line, 11.0, false, MARGIN);
                }
                y += 6.0;
            }
        }
    }
    pages
}

/// Writes `document` as a PDF.
pub fn render(document: &CaseDocument) -> Result<Vec<u8>, DocumentError> {
    // Text also goes into the XMP metadata (XML): no character XML forbids.
    let document = &super::writable(document);
    let face = |data: &'static [u8]| {
        ttf_parser::Face::parse(data, 0).map_err(|e| DocumentError::Pdf(format!("font: {e}")))
    };
    let regular_measure = Measure {
        face: face(REGULAR)?,
    };
    let bold_measure = Measure { face: face(BOLD)? };
    let regular = Font::new(REGULAR.into(), 0)
        .ok_or_else(|| DocumentError::Pdf("the regular font did not load".into()))?;
    let bold = Font::new(BOLD.into(), 0)
        .ok_or_else(|| DocumentError::Pdf("the bold font did not load".into()))?;
    let pages = lay_out(document, &regular_measure, &bold_measure);
    let mut pdf = Document::new();
    pdf.set_metadata(
        Metadata::new()
            .title(document.title.clone())
            .creator("Haven".to_owned())
            .language("en-GB".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| DocumentError::Pdf("bad page size".into()))?;
    for lines in pages {
        let mut page = pdf.start_page_with(settings.clone());
        let mut surface = page.surface();
        for line in lines {
            if line.text.is_empty() {
                continue;
            }
            let font = if line.bold {
                bold.clone()
            } else {
                regular.clone()
            };
            surface.draw_text(
                Point::from_xy(line.x, line.y),
                font,
                line.size,
                &line.text,
                false,
                TextDirection::LeftToRight,
            );
        }
        surface.finish();
        page.finish();
    }
    pdf.finish()
        .map_err(|e| DocumentError::Pdf(format!("{e:?}")))
}
