//! A filled referral form (`.docx`, laid out as the paper form) → a definition's answers.
//!
//! Matching is by meaning, never by position: every label on the form (the first cell of a
//! table row, or a line such as "Name: Jo Bloggs", or a line on its own with the answer under
//! it) is compared with the words of the definition's question labels, help texts and
//! option labels ([`crate::labels`]), and the best match above a threshold wins. When two
//! questions match equally well ("Date of birth" of the young person and of a parent), the
//! one not yet answered that comes next in the definition's order wins: definitions follow
//! the paper form's sections in order.
//!
//! What it reads:
//! - text, phone, email (the address found in the text), number;
//! - dates in any common UK style ([`crate::dates`]) → `YYYY-MM-DD`;
//! - yes/no: "Yes", "Y", "No", "N", a ticked box next to one, or "Yes / No" with the other
//!   struck through or deleted; text after the yes or no goes to the question that the
//!   definition asks only for that answer (`required_when` or `when`, "please give details");
//! - choices: by option label, initial ("F", "M") or "none"/"neither";
//! - tick rows: an option's label with a tick (X, ✓, ✔, ☒, Yes) in a following cell, in
//!   the cell before it, or written before it in the same cell ("☒ Low self-esteem");
//!   for an indicator grid (the screening tool), the column is the one whose header cell
//!   matches the column's label, or the first / second tick cell in order;
//! - repeatable questions (parents and carers) from their fields' labels, one item per block.
//!
//! Layouts: a label and its answer in one cell ("Name: Jo", "Name – Jo", "Name<tab>Jo"),
//! the answer in the next cell, in the row below (one label, or a row of labels over a row
//! of answers), or on the lines under a label. A short heading ("Young person's details",
//! "Section 1 – Referrer") sets the section: a bare label under it ("Name") goes to the
//! question of that part of the definition (its page title or label shares the heading's
//! words) when that question matches nearly as well as the best.
//!
//! Every question of the stage that was not read is listed in [`FormReading::unread`] with
//! the reason, and rows of the form that matched no question in [`FormReading::extra`], so a
//! person completes the rest from the original.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::LazyLock;

use chrono::NaiveDate;
use haven_core::definition::{Question, QuestionKind, Stage};
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Quarantine;
use crate::dates::parse_uk_date;
use crate::docx::{Block, Document, DocxLimits, read_docx};
use crate::labels::{after_label, same_word, similarity, words};

/// What was read from a form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormReading {
    /// An answers document for the stage (nested by the keys' dots), ready for validation.
    pub answers: Value,
    /// Each question of the stage that was not read, in the definition's order.
    pub unread: Vec<Unread>,
    /// Rows of the form with text that matched no question: label and value as written.
    pub extra: Vec<(String, String)>,
}

/// A question the form did not answer, and why, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unread {
    pub key: String,
    pub label: String,
    pub reason: String,
}

/// Reads a `.docx` form for `stage` (size caps and refusals: [`crate::docx`]).
pub fn read_form(
    bytes: &[u8],
    stage: &Stage,
    today: NaiveDate,
    limits: &DocxLimits,
) -> Result<FormReading, Quarantine> {
    let doc = read_docx(bytes, limits)?;
    Ok(read_document(&doc, stage, today))
}

/// Targets (by index) and their scores for one label.
type Scores = Rc<Vec<(usize, f64)>>;

/// Characters of a text compared as a label (a label with its help text fits).
const MAX_LABEL_CHARS: usize = 400;

/// The first `max` bytes of `text`, cut at a character boundary.
fn head(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Lowest similarity at which a form's label is taken for a question's.
const THRESHOLD: f64 = 0.72;
/// Two matches closer than this are a tie (broken by the definition's order).
const TIE: f64 = 0.03;
/// A match this much below the best still wins when it is in the heading's section.
const SECTION_MARGIN: f64 = 0.25;
/// How much lower a label matched without its page's words scores.
const LABEL_ALONE_PENALTY: f64 = 0.08;
/// Words that only join others ("Name of YP" without "YP" is "Name").
const JOINING: &[&str] = &["of", "and", "or", "to", "in", "for", "with"];
/// Most words in a heading.
const MAX_HEADING_WORDS: usize = 6;
/// Words of a heading that name no part of the form.
const GENERIC: &[&str] = &[
    "section",
    "part",
    "details",
    "detail",
    "information",
    "info",
    "contact",
    "about",
    "of",
    "and",
    "for",
    "to",
    "on",
    "in",
    "form",
    "referral",
    "page",
    "with",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The question itself (its label or help).
    Question,
    /// One option of a multiple choice or indicator grid: index into `options`.
    Option(usize),
    /// One field of a repeatable question: index into `fields`.
    Field(usize),
}

struct Target<'d> {
    question: &'d Question,
    kind: Kind,
    order: usize,
    label: Vec<String>,
    help: Vec<String>,
    /// Words of the page title (and of the question, for a field): a form may repeat them
    /// in its label ("Referrer email", "Young person's name").
    context: Vec<String>,
    /// Words of the page title: which part of the form the target is in (for headings).
    page: Vec<String>,
}

impl Target<'_> {
    fn score(&self, text: &[String]) -> f64 {
        let mut by_label = similarity(text, &self.label);
        let without_context: Vec<String> = text
            .iter()
            .filter(|w| !self.context.contains(w) || self.label.contains(w))
            .cloned()
            .collect();
        if !without_context.is_empty() && without_context.len() < text.len() {
            by_label = by_label.max(similarity(&without_context, &self.label) - 0.02);
        }
        // The form may leave out what its section heading says ("Address" under "Young
        // person" for "YP's address"): the label without its page's words, a little lower
        // than the question that is only that word ("Address" of the referrer).
        // Only when the form says exactly those words: a prefix of them proves little.
        let label_alone: Vec<&String> = self
            .label
            .iter()
            .filter(|w| !self.context.contains(w) && !JOINING.contains(&w.as_str()))
            .collect();
        if !label_alone.is_empty()
            && label_alone.len() < self.label.len()
            && text.len() == label_alone.len()
            && text.iter().zip(&label_alone).all(|(t, l)| t == *l)
        {
            by_label = by_label.max(1.0 - LABEL_ALONE_PENALTY);
        }
        let by_help = if self.help.len() >= 4 {
            0.95 * similarity(text, &self.help)
        } else {
            0.0
        };
        by_label.max(by_help)
    }
}

struct Reader<'d> {
    targets: Vec<Target<'d>>,
    questions: Vec<&'d Question>,
    today: NaiveDate,
    answers: Value,
    /// Keys (or `key[i].field`) answered, and keys whose label was seen.
    filled: BTreeSet<String>,
    seen: BTreeSet<String>,
    problems: BTreeMap<String, String>,
    extra: Vec<(String, String)>,
    cursor: usize,
    /// Current item of each repeatable question.
    items: BTreeMap<String, usize>,
    /// The indicator grid being read: its question key and each cell's column key.
    grid: Option<(String, Vec<Option<String>>)>,
    /// Words of the last heading that named a part of the definition.
    section: Vec<String>,
    score_cache: RefCell<HashMap<String, Scores>>,
    words_cache: RefCell<HashMap<String, Rc<Vec<String>>>>,
}

/// Reads an already opened document (the matching without the zip).
pub fn read_document(doc: &Document, stage: &Stage, today: NaiveDate) -> FormReading {
    let mut reader = Reader::new(stage, today);
    reader.read(doc);
    reader.finish()
}

impl<'d> Reader<'d> {
    fn new(stage: &'d Stage, today: NaiveDate) -> Self {
        let mut targets = Vec::new();
        let mut questions = Vec::new();
        for page in &stage.pages {
            let title = words(&page.title);
            for q in &page.questions {
                questions.push(q);
                let order = targets.len();
                let help = q.help.as_deref().map(words).unwrap_or_default();
                match q.kind {
                    QuestionKind::File => {}
                    QuestionKind::Repeatable => {
                        for (i, f) in q.fields.iter().enumerate() {
                            targets.push(Target {
                                question: q,
                                kind: Kind::Field(i),
                                order: order + i,
                                label: words(&f.label),
                                help: f.help.as_deref().map(words).unwrap_or_default(),
                                context: title.iter().chain(&words(&q.label)).cloned().collect(),
                                page: title.clone(),
                            });
                        }
                    }
                    QuestionKind::MultipleChoice | QuestionKind::IndicatorMatrix => {
                        targets.push(Target {
                            question: q,
                            kind: Kind::Question,
                            order,
                            label: words(&q.label),
                            help,
                            context: title.clone(),
                            page: title.clone(),
                        });
                        for (i, o) in q.options.iter().enumerate() {
                            targets.push(Target {
                                question: q,
                                kind: Kind::Option(i),
                                order: order + 1 + i,
                                label: words(&o.label),
                                help: Vec::new(),
                                context: Vec::new(),
                                page: title.clone(),
                            });
                        }
                    }
                    _ => targets.push(Target {
                        question: q,
                        kind: Kind::Question,
                        order,
                        label: words(&q.label),
                        help,
                        context: title.clone(),
                        page: title.clone(),
                    }),
                }
            }
        }
        // Orders are positions in the list (the pushes above keep definition order).
        for (i, t) in targets.iter_mut().enumerate() {
            t.order = i;
        }
        Self {
            targets,
            questions,
            today,
            answers: Value::Object(Map::new()),
            filled: BTreeSet::new(),
            seen: BTreeSet::new(),
            problems: BTreeMap::new(),
            extra: Vec::new(),
            cursor: 0,
            items: BTreeMap::new(),
            grid: None,
            section: Vec::new(),
            score_cache: RefCell::new(HashMap::new()),
            words_cache: RefCell::new(HashMap::new()),
        }
    }

    /// The best target for a label, with its score.
    fn best(&self, text: &str, only: impl Fn(&Target<'_>) -> bool) -> Option<(usize, f64)> {
        let all = self.scores(text);
        let mut scored: Vec<(usize, f64)> = all
            .iter()
            .filter(|(i, _)| only(&self.targets[*i]))
            .copied()
            .collect();
        let mut top = scored.iter().map(|(_, s)| *s).fold(0.0f64, f64::max);
        // Under a heading, the near matches in its section win ("Name" under "Young
        // person's details" is the young person's name, not the referrer's).
        if !self.section.is_empty() {
            let near = |s: f64| s >= top - SECTION_MARGIN;
            let best_affinity = scored
                .iter()
                .filter(|(_, s)| near(*s))
                .map(|(i, _)| self.affinity(&self.targets[*i]))
                .max()
                .unwrap_or(0);
            if best_affinity > 0 {
                scored
                    .retain(|(i, s)| near(*s) && self.affinity(&self.targets[*i]) == best_affinity);
                top = scored.iter().map(|(_, s)| *s).fold(0.0f64, f64::max);
            }
        }
        scored.retain(|(_, s)| *s >= top - TIE);
        // Ties: not yet answered first, then the next in definition order after the cursor.
        scored.sort_by_key(|(i, _)| {
            let t = &self.targets[*i];
            let done = self.target_done(t);
            let distance = if t.order >= self.cursor {
                t.order - self.cursor
            } else {
                10_000 + (self.cursor - t.order)
            };
            (done, distance)
        });
        scored.first().copied()
    }

    /// Every target's score for a label at or above the threshold, remembered per text (a
    /// row's label is looked at several times).
    fn scores(&self, text: &str) -> Scores {
        // Labels are short: the first words are enough, and keep the work bounded.
        let text = head(text, MAX_LABEL_CHARS);
        if let Some(found) = self.score_cache.borrow().get(text) {
            return Rc::clone(found);
        }
        let w = self.words_of(text);
        let scored: Vec<(usize, f64)> = if w.is_empty() {
            Vec::new()
        } else {
            self.targets
                .iter()
                .enumerate()
                .map(|(i, t)| (i, t.score(&w)))
                .filter(|(_, s)| *s >= THRESHOLD)
                .collect()
        };
        let scored = Rc::new(scored);
        let mut cache = self.score_cache.borrow_mut();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(text.to_string(), Rc::clone(&scored));
        scored
    }

    /// [`words`] of a text, remembered per text.
    fn words_of(&self, text: &str) -> Rc<Vec<String>> {
        if let Some(found) = self.words_cache.borrow().get(text) {
            return Rc::clone(found);
        }
        let w = Rc::new(words(text));
        let mut cache = self.words_cache.borrow_mut();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(text.to_string(), Rc::clone(&w));
        w
    }

    /// How many of the current heading's words the target's page title or label has (an
    /// option: its page title only; its own label is matched in full anyway).
    fn affinity(&self, t: &Target<'_>) -> usize {
        let label: &[String] = match t.kind {
            Kind::Option(_) => &[],
            _ => &t.label,
        };
        self.section
            .iter()
            .filter(|h| {
                t.page
                    .iter()
                    .chain(label)
                    .any(|w| same_word(w, h) || same_word(h, w))
            })
            .count()
    }

    /// Remembers `text` as the section's heading when it is one: short, and sharing a word
    /// with some question's page title or label.
    fn note_heading(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty()
            || text.contains('@')
            || text.lines().count() > 1
            || text.split_whitespace().count() > MAX_HEADING_WORDS
        {
            return;
        }
        let all = words(head(text, MAX_LABEL_CHARS));
        if all.is_empty() || all.len() > MAX_HEADING_WORDS {
            return;
        }
        let named: Vec<String> = all
            .into_iter()
            .filter(|w| !GENERIC.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit()))
            .collect();
        if named.is_empty() {
            return;
        }
        let previous = std::mem::replace(&mut self.section, named);
        if !self.targets.iter().any(|t| self.affinity(t) > 0) {
            self.section = previous;
        }
    }

    fn target_done(&self, t: &Target<'_>) -> bool {
        match t.kind {
            Kind::Question => self.filled.contains(&t.question.key),
            Kind::Option(i) => self
                .filled
                .contains(&format!("{}#{}", t.question.key, t.question.options[i].key)),
            Kind::Field(_) => false,
        }
    }

    fn read(&mut self, doc: &Document) {
        let mut i = 0;
        while i < doc.blocks.len() {
            match &doc.blocks[i] {
                Block::Paragraph(text) => {
                    // Paragraphs outside tables: a label line, then its answer in the
                    // following paragraphs until a blank line or another label.
                    let mut lines: Vec<&str> = text.split('\n').collect();
                    let mut j = i + 1;
                    while let Some(Block::Paragraph(next)) = doc.blocks.get(j) {
                        if next.trim().is_empty()
                            && lines.last().is_some_and(|l| l.trim().is_empty())
                        {
                            break;
                        }
                        lines.extend(next.split('\n'));
                        j += 1;
                    }
                    self.scan_lines(&lines, None);
                    i = j;
                    continue;
                }
                Block::Row(cells) => {
                    let non_empty: Vec<String> = cells
                        .iter()
                        .map(|c| cell_text(c))
                        .filter(|t| !t.is_empty())
                        .collect();
                    if let [only] = non_empty.as_slice() {
                        self.note_heading(only);
                    }
                    if let Some(Block::Row(next)) = doc.blocks.get(i + 1) {
                        if self.read_label_row(cells, next) {
                            i += 2;
                            continue;
                        }
                    }
                    let next_value = match doc.blocks.get(i + 1) {
                        Some(Block::Row(next)) if self.is_value_row(next) => Some(next),
                        _ => None,
                    };
                    if self.read_row(cells, next_value.map(|v| v.as_slice())) {
                        i += 2;
                        continue;
                    }
                }
            }
            i += 1;
        }
    }

    /// A row of labels over a row of their answers, cell for cell ("Referrer's name | Job
    /// title" over "Jo Bloggs | Teacher"). Returns whether the two rows were read so.
    fn read_label_row(&mut self, cells: &[Vec<String>], next: &[Vec<String>]) -> bool {
        if cells.len() < 2 || next.len() != cells.len() {
            return false;
        }
        let labels: Vec<String> = cells.iter().map(|c| cell_text(c)).collect();
        let values: Vec<String> = next.iter().map(|c| cell_text(c)).collect();
        let non_empty = labels.iter().filter(|l| !l.is_empty()).count();
        if non_empty < 2 || values.iter().all(String::is_empty) {
            return false;
        }
        let mut matched: Vec<Option<usize>> = Vec::with_capacity(labels.len());
        for label in &labels {
            if label.is_empty() {
                matched.push(None);
                continue;
            }
            // Labels only: a cell with its answer after a colon is not one.
            if label.lines().count() > 1 || self.separated_label(label).is_some() {
                return false;
            }
            let found = self.best(label, |t| !matches!(t.kind, Kind::Option(_)));
            match found {
                Some((t, _)) => {
                    let q = self.targets[t].question;
                    if matches!(
                        q.kind,
                        QuestionKind::MultipleChoice | QuestionKind::IndicatorMatrix
                    ) {
                        // A grid or a list of ticks: read row by row.
                        return false;
                    }
                    matched.push(Some(t));
                }
                None => {
                    // An unknown column must still look like a label, not an answer.
                    let label_like = !label.chars().any(|c| c.is_ascii_digit())
                        && words(label).len() <= MAX_HEADING_WORDS
                        && tick(label).is_none()
                        && self.best(label, |_| true).is_none();
                    if !label_like {
                        return false;
                    }
                    matched.push(None);
                }
            }
        }
        let count = matched.iter().flatten().count();
        if count == 0 || count * 2 < non_empty {
            return false;
        }
        // The row below holds answers only.
        for value in values.iter().filter(|v| !v.is_empty()) {
            let first_line = value
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default();
            if self.best(first_line, |_| true).is_some() || self.inline_label(first_line).is_some()
            {
                return false;
            }
        }
        for ((label, value), t) in labels.iter().zip(&values).zip(matched) {
            match t {
                Some(t) => self.assign(t, value),
                None if !label.is_empty() && !value.is_empty() => {
                    self.extra.push((label.clone(), value.clone()));
                }
                None => {}
            }
        }
        true
    }

    /// A row that holds only an answer: one non-empty cell that does not start with a label.
    fn is_value_row(&self, cells: &[Vec<String>]) -> bool {
        let texts: Vec<String> = cells.iter().map(|c| cell_text(c)).collect();
        let non_empty: Vec<&String> = texts.iter().filter(|t| !t.trim().is_empty()).collect();
        match non_empty.as_slice() {
            [only] => {
                let first_line = only
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default();
                self.best(first_line, |_| true).is_none() && self.inline_label(first_line).is_none()
            }
            _ => false,
        }
    }

    /// Reads one table row; returns true when it also used `next` (a row holding its answer).
    fn read_row(&mut self, cells: &[Vec<String>], next: Option<&[Vec<String>]>) -> bool {
        let texts: Vec<String> = cells.iter().map(|c| cell_text(c)).collect();
        let filled_cells = texts.iter().filter(|t| !t.trim().is_empty()).count();
        if filled_cells == 0 {
            return false;
        }
        // A grid's header row: its cells name the grid's columns.
        if cells.len() >= 3 && self.read_grid_header(&texts) {
            return false;
        }
        // "Early Help | X | Single Ass | | Other (please state) | CAMHS": label and answer pairs.
        if cells.len() >= 4 && self.read_pairs(&texts) {
            return false;
        }
        // "X | Low self-esteem": the box in a column before the options.
        if cells.len() >= 2
            && (texts[0].trim().is_empty() || tick(&texts[0]).is_some())
            && texts[2..].iter().all(|t| t.trim().is_empty())
        {
            if let Some((t, _)) = self.best(texts[1].trim(), |t| matches!(t.kind, Kind::Option(_)))
            {
                let question = self.targets[t].question;
                if let (Kind::Option(o), QuestionKind::MultipleChoice) =
                    (self.targets[t].kind, question.kind)
                {
                    self.option_row(question, o, &[texts[0].trim()]);
                    return false;
                }
            }
        }
        let label = texts[0].trim();
        let first_line = cells
            .first()
            .and_then(|c| c.iter().find(|l| !l.trim().is_empty()))
            .map(String::as_str)
            .unwrap_or_default();
        let rest: Vec<&str> = texts[1..].iter().map(|t| t.trim()).collect();
        let rest_text = rest
            .iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        // A one-line cell holding both the label and the answer ("Name of YP:<tab>Sam").
        if rest_text.is_empty() {
            let lines: Vec<&String> = cells[0].iter().filter(|l| !l.trim().is_empty()).collect();
            if let [only] = lines.as_slice() {
                if self.split_labelled(only).len() >= 2 {
                    self.scan_lines(&[only.as_str()], None);
                    return false;
                }
                if let Some((t, value)) = self.separated_label(only) {
                    let value = value.to_string();
                    self.assign(t, &value);
                    return false;
                }
            }
        }
        // Several cells, each a label with its answer ("Child's name:\nRiley" | "DOB:\n…"):
        // each cell read on its own.
        if filled_cells >= 2
            && cells.iter().filter(|c| !cell_text(c).is_empty()).all(|c| {
                let lines: Vec<&str> = c
                    .iter()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty())
                    .collect();
                match lines.as_slice() {
                    [first, _, ..] => self.line_label(first).is_some(),
                    [only] => self.separated_label(only).is_some(),
                    [] => false,
                }
            })
        {
            for c in cells {
                self.scan_lines(&c.iter().map(String::as_str).collect::<Vec<_>>(), None);
            }
            return false;
        }
        // The label may be the cell's first paragraph with the answer in the next ones.
        let candidate = if label.is_empty() {
            None
        } else {
            self.best(label, |_| true)
                .or_else(|| self.best(first_line, |_| true).map(|(i, s)| (i, s - 0.01)))
        };
        if let Some((t, _)) = candidate {
            // A cell with several labelled lines ("Name: …", "Email: …") is read line by line.
            let labelled_lines = cells[0]
                .iter()
                .filter(|l| self.inline_label(l).is_some() || self.line_label(l).is_some())
                .count();
            if labelled_lines >= 2 {
                self.read_label_lines(&cells[0], cells.get(1).map(Vec::as_slice));
                for c in cells.iter().skip(2) {
                    self.scan_lines(&c.iter().map(String::as_str).collect::<Vec<_>>(), None);
                }
                return false;
            }
            let target_kind = self.targets[t].kind;
            let question = self.targets[t].question;
            match (target_kind, question.kind) {
                (Kind::Option(o), QuestionKind::IndicatorMatrix) => {
                    self.grid_row(question, o, &rest);
                    return false;
                }
                (Kind::Option(o), _) => {
                    // "☒ Low self-esteem": the box written in the label's own cell.
                    let own_mark = [box_in(label).unwrap_or_default()];
                    let marks: &[&str] = if rest.iter().all(|c| c.is_empty()) {
                        &own_mark
                    } else {
                        &rest
                    };
                    self.option_row(question, o, marks);
                    return false;
                }
                (Kind::Question, QuestionKind::MultipleChoice | QuestionKind::IndicatorMatrix) => {
                    // A section heading such as "Vulnerabilities | Please tick".
                    self.seen.insert(question.key.clone());
                    self.cursor = self.targets[t].order;
                    return false;
                }
                _ => {}
            }
            // The answer: the other cells, else the label cell's later lines, else the next row.
            let mut value = rest_text;
            if value.is_empty() {
                let label_line_index = cells[0]
                    .iter()
                    .position(|l| !l.trim().is_empty())
                    .unwrap_or(0);
                let later: Vec<&str> = cells[0]
                    .iter()
                    .skip(label_line_index + 1)
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty())
                    .collect();
                // Later lines count as the answer only when the first line is the label.
                if !later.is_empty() && self.best(first_line, |_| true).is_some_and(|(b, _)| b == t)
                {
                    value = later.join("\n");
                }
            }
            let mut used_next = false;
            if value.is_empty() {
                if let Some(next) = next {
                    value = next
                        .iter()
                        .map(|c| cell_text(c))
                        .collect::<Vec<_>>()
                        .join("\n")
                        .trim()
                        .to_string();
                    used_next = true;
                }
            }
            if !self.assign_split(label, &value) {
                self.assign(t, &value);
            }
            return used_next;
        }
        // No label matched: perhaps labelled lines inside the cells.
        let mut any = false;
        for c in cells {
            any |= self.scan_lines(&c.iter().map(String::as_str).collect::<Vec<_>>(), None);
        }
        if !any && filled_cells >= 2 && !label.is_empty() && !rest_text.is_empty() {
            self.extra.push((label.to_string(), rest_text));
        }
        false
    }

    /// A row of (label, answer) pairs whose labels are options or questions.
    fn read_pairs(&mut self, texts: &[String]) -> bool {
        let pairs: Vec<(&str, &str)> = texts
            .chunks(2)
            .map(|c| (c[0].trim(), c.get(1).map_or("", |v| v.trim())))
            .collect();
        let labelled: Vec<Option<usize>> = pairs
            .iter()
            .map(|(label, _)| self.best(label, |_| true).map(|(t, _)| t))
            .collect();
        if labelled.iter().filter(|t| t.is_some()).count() < 2 {
            return false;
        }
        for ((label, value), t) in pairs.iter().zip(labelled) {
            match t {
                Some(t) => self.assign(t, value),
                None if !label.is_empty() && !value.is_empty() => {
                    self.extra.push((label.to_string(), value.to_string()));
                }
                None => {}
            }
        }
        true
    }

    /// A label naming two or three questions ("Position/Organisation") with one answer:
    /// split the answer on "/", "," or a line break when it has as many parts. Returns
    /// whether the label was such a label (and its answers recorded).
    fn assign_split(&mut self, label: &str, value: &str) -> bool {
        let parts: Vec<&str> = label.split('/').map(str::trim).collect();
        if !(2..=3).contains(&parts.len()) {
            return false;
        }
        let mut targets = Vec::new();
        for part in &parts {
            match self.best(part, |t| t.kind == Kind::Question) {
                Some((t, score)) if score >= 0.85 && !targets.contains(&t) => targets.push(t),
                _ => return false,
            }
        }
        let mut values: Vec<&str> = value
            .split(['/', '\n'])
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if values.len() != targets.len() {
            values = value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect();
        }
        if values.len() == targets.len() {
            for (t, v) in targets.into_iter().zip(values) {
                self.assign(t, v);
            }
        } else {
            let first = targets[0];
            self.assign(first, value);
            let first_label = self.targets[first].question.label.clone();
            for t in targets.into_iter().skip(1) {
                let key = self.targets[t].question.key.clone();
                self.seen.insert(key.clone());
                self.problems.insert(
                    key,
                    format!(
                        "Written together with \u{201c}{first_label}\u{201d}: check the original"
                    ),
                );
            }
        }
        true
    }

    /// A line that is a label and nothing else (ends in ':' or '?', or matches closely).
    fn line_label(&self, line: &str) -> Option<usize> {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return None;
        }
        let (t, score) = self.best(trimmed, |t| !matches!(t.kind, Kind::Option(_)))?;
        let ends_like_label =
            trimmed.ends_with(':') || trimmed.ends_with('?') || trimmed.ends_with('*');
        // A long sentence that only resembles a help text is an instruction, not a label.
        let short = self.words_of(head(trimmed, MAX_LABEL_CHARS)).len() <= 15;
        (ends_like_label || (score >= 0.85 && short)).then_some(t)
    }

    /// "Label: value", "Label<tab>value" or "Label   value": the target and the value.
    fn separated_label<'l>(&self, line: &'l str) -> Option<(usize, &'l str)> {
        let line = line.trim();
        for sep in [":", "\t", "   ", " - ", " \u{2013} ", " \u{2014} "] {
            if let Some((head, tail)) = line.split_once(sep) {
                let tail = tail.trim_start_matches([':', ' ', '\t']).trim();
                if !tail.is_empty() {
                    if let Some((t, _)) = self.best(head, |t| !matches!(t.kind, Kind::Option(_))) {
                        return Some((t, tail));
                    }
                }
            }
        }
        None
    }

    /// A line holding several "Label: value" parts apart (a tab or three spaces between):
    /// the parts, each from its label to the next; otherwise the line itself.
    fn split_labelled<'l>(&self, line: &'l str) -> Vec<&'l str> {
        let Some(gap) = GAP.as_ref() else {
            return vec![line];
        };
        // Each piece between gaps, with its offset.
        let mut pieces: Vec<(usize, &str)> = Vec::new();
        let mut from = 0;
        for m in gap.find_iter(line).take(50) {
            pieces.push((from, &line[from..m.start()]));
            from = m.end();
        }
        pieces.push((from, &line[from..]));
        if pieces.len() < 2 {
            return vec![line];
        }
        // Parts start where a piece is a label with its value after a colon.
        let starts: Vec<usize> = pieces
            .iter()
            .filter(|(_, piece)| piece.contains(':') && self.separated_label(piece).is_some())
            .map(|(offset, _)| *offset)
            .collect();
        let first_piece = pieces.iter().find(|(_, p)| !p.trim().is_empty());
        if starts.len() < 2 || first_piece.map(|(o, _)| *o) != starts.first().copied() {
            return vec![line];
        }
        starts
            .iter()
            .enumerate()
            .filter_map(|(i, &start)| {
                let end = starts.get(i + 1).copied().unwrap_or(line.len());
                line.get(start..end).map(str::trim)
            })
            .collect()
    }

    /// "Label: value" or "Label value" on one line: the target and the value.
    fn inline_label<'l>(&self, line: &'l str) -> Option<(usize, &'l str)> {
        let line = line.trim();
        if let Some(found) = self.separated_label(line) {
            return Some(found);
        }
        // The longest question label that the line starts with.
        let line_words = self.words_of(head(line, MAX_LABEL_CHARS));
        let mut found: Option<(usize, &str, usize)> = None;
        for (i, t) in self.targets.iter().enumerate() {
            if matches!(t.kind, Kind::Option(_))
                || t.label.is_empty()
                || line_words.len() <= t.label.len()
                || line_words[..t.label.len()] != t.label[..]
            {
                continue;
            }
            if let Some(tail) = after_label(line, &t.label) {
                // Without a colon, the answer must look like one: "Name Jo Bloggs", not
                // "Name of school nurse".
                let looks_like_answer = tail
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
                    || tail.contains('@');
                if tail.is_empty() || !looks_like_answer {
                    continue;
                }
                let better = found.is_none_or(|(_, _, len)| t.label.len() > len);
                let tie_better = found.is_some_and(|(j, _, len)| {
                    t.label.len() == len
                        && self.target_done(&self.targets[j])
                        && !self.target_done(t)
                });
                if better || tie_better {
                    found = Some((i, tail, t.label.len()));
                }
            }
        }
        found.map(|(i, tail, _)| (i, tail))
    }

    /// A cell of label lines, with their answers on the same lines or, line for line, in
    /// the next cell.
    fn read_label_lines(&mut self, lines: &[String], answers: Option<&[String]>) {
        let answer_lines: Vec<&str> = answers
            .unwrap_or_default()
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        let labels_only: Vec<usize> = lines
            .iter()
            .filter(|l| self.inline_label(l).is_none())
            .filter_map(|l| self.line_label(l))
            .collect();
        if !labels_only.is_empty() && labels_only.len() == answer_lines.len() {
            for (t, v) in labels_only.into_iter().zip(answer_lines) {
                self.assign(t, v);
            }
            for l in lines {
                if let Some((t, v)) = self.inline_label(l) {
                    self.assign(t, v);
                }
            }
            return;
        }
        let any_answer_labelled = answer_lines
            .iter()
            .any(|l| self.inline_label(l).is_some() || self.line_label(l).is_some());
        if !labels_only.is_empty() && !answer_lines.is_empty() && !any_answer_labelled {
            // As many answers as labels only when every answer is one line: otherwise place
            // them by what they look like (an address is several lines).
            self.place_by_kind(&labels_only, &answer_lines);
            for l in lines {
                if let Some((t, v)) = self.inline_label(l) {
                    self.assign(t, v);
                }
            }
            return;
        }
        self.scan_lines(&lines.iter().map(String::as_str).collect::<Vec<_>>(), None);
        if !answer_lines.is_empty() {
            self.scan_lines(&answer_lines, None);
        }
    }

    /// Answers beside a column of labels, not line for line: the email address to the email
    /// question, the phone number to the phone question, the first other line to the first
    /// one-line question, and what is left to the long-text question (an address).
    fn place_by_kind(&mut self, labels: &[usize], answers: &[&str]) {
        let mut used = vec![false; answers.len()];
        let take = |pred: &dyn Fn(&str) -> bool, used: &mut Vec<bool>| -> Option<String> {
            let i = (0..answers.len()).find(|i| !used[*i] && pred(answers[*i]))?;
            used[i] = true;
            Some(answers[i].to_string())
        };
        let kind_of = |this: &Self, t: usize| this.targets[t].question.kind;
        let mut placed: Vec<(usize, String)> = Vec::new();
        for &t in labels {
            let value = match kind_of(self, t) {
                QuestionKind::Email => take(&|l: &str| l.contains('@'), &mut used),
                QuestionKind::Phone => take(&looks_like_phone, &mut used),
                _ => None,
            };
            if let Some(v) = value {
                placed.push((t, v));
            }
        }
        for &t in labels {
            if kind_of(self, t) == QuestionKind::Text {
                if let Some(v) = take(&|_: &str| true, &mut used) {
                    placed.push((t, v));
                }
            }
        }
        let rest: Vec<&str> = answers
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(a, _)| *a)
            .collect();
        if let Some(&t) = labels
            .iter()
            .find(|t| kind_of(self, **t) == QuestionKind::LongText)
        {
            if !rest.is_empty() {
                placed.push((t, rest.join("\n")));
            }
        }
        for (t, v) in placed {
            self.assign(t, &v);
        }
    }

    /// Lines: "Label: value" lines, and label lines whose answer is on the following lines.
    /// Returns whether any label was found.
    fn scan_lines(&mut self, lines: &[&str], mut pending: Option<(usize, Vec<String>)>) -> bool {
        let mut any = false;
        // "Name: Jo Bloggs      D.O.B: 3/3/12": one line, two labels.
        let lines: Vec<&str> = lines.iter().flat_map(|l| self.split_labelled(l)).collect();
        for line in &lines {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(t) = self.line_label(trimmed) {
                // A label on its own (its answer follows) unless the line carries a value.
                let inline = self.inline_label(trimmed).filter(|(i, _)| *i == t);
                if inline.is_none() {
                    self.flush(pending.take());
                    pending = Some((t, Vec::new()));
                    any = true;
                    continue;
                }
            }
            if let Some((t, value)) = self.inline_label(trimmed) {
                self.flush(pending.take());
                let value = value.to_string();
                self.assign(t, &value);
                any = true;
                continue;
            }
            match pending.as_mut() {
                Some((_, values)) => values.push(trimmed.to_string()),
                None => self.note_heading(trimmed),
            }
        }
        self.flush(pending);
        any
    }

    fn flush(&mut self, pending: Option<(usize, Vec<String>)>) {
        if let Some((t, values)) = pending {
            let value = values.join("\n");
            self.assign(t, &value);
        }
    }

    /// A header row naming an indicator grid's columns: remembers which cell is which.
    fn read_grid_header(&mut self, texts: &[String]) -> bool {
        for q in &self.questions {
            if q.kind != QuestionKind::IndicatorMatrix || q.columns.is_empty() {
                continue;
            }
            let mut mapping: Vec<Option<String>> = vec![None; texts.len()];
            let mut matched = 0;
            for (i, text) in texts.iter().enumerate().skip(1) {
                let w = recency(words(text));
                let best = q
                    .columns
                    .iter()
                    .map(|c| (c, similarity(&w, &recency(words(&c.label)))))
                    .filter(|(_, s)| *s >= 0.6)
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                if let Some((c, _)) = best {
                    mapping[i] = Some(c.key.clone());
                    matched += 1;
                }
            }
            if matched >= 1
                && matched
                    == texts.len() - 1 - texts[1..].iter().filter(|t| t.trim().is_empty()).count()
            {
                self.seen.insert(q.key.clone());
                self.grid = Some((q.key.clone(), mapping));
                return true;
            }
        }
        false
    }

    /// An indicator row: which of its cells are ticked, as columns.
    fn grid_row(&mut self, q: &Question, option: usize, cells: &[&str]) {
        self.seen.insert(q.key.clone());
        self.move_cursor(&q.key, Some(option));
        let opt = &q.options[option];
        self.filled.insert(format!("{}#{}", q.key, opt.key));
        let mapping = self
            .grid
            .as_ref()
            .filter(|(key, _)| *key == q.key)
            .map(|(_, m)| m.clone());
        let mut columns: Vec<String> = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            if tick(cell) != Some(true) {
                continue;
            }
            // Cell i of `cells` is cell i + 1 of the row.
            let column = match &mapping {
                Some(m) => m.get(i + 1).cloned().flatten(),
                None => q.columns.get(i).map(|c| c.key.clone()),
            };
            if let Some(c) = column {
                if !columns.contains(&c) {
                    columns.push(c);
                }
            }
        }
        if columns.is_empty() {
            return;
        }
        let value = if columns.len() >= 2 && q.columns.len() == 2 {
            "both".to_string()
        } else {
            columns[0].clone()
        };
        let slot = self.slot(&q.key);
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        if let Some(o) = slot.as_object_mut() {
            o.insert(opt.key.clone(), Value::String(value));
        }
        self.filled.insert(q.key.clone());
    }

    /// A multiple-choice option's row: ticked, or written in ("Other (please state) | CAMHS").
    fn option_row(&mut self, q: &Question, option: usize, cells: &[&str]) {
        self.seen.insert(q.key.clone());
        self.move_cursor(&q.key, Some(option));
        let opt = &q.options[option];
        self.filled.insert(format!("{}#{}", q.key, opt.key));
        let marks: Vec<Option<bool>> = cells.iter().map(|c| tick(c)).collect();
        let written: Vec<&str> = cells
            .iter()
            .zip(&marks)
            .filter(|(c, m)| m.is_none() && !c.trim().is_empty())
            .map(|(c, _)| *c)
            .collect();
        let ticked = marks.contains(&Some(true)) || !written.is_empty();
        if !ticked {
            return;
        }
        match q.kind {
            QuestionKind::Choice => {
                set_path(&mut self.answers, &q.key, Value::String(opt.key.clone()));
            }
            _ => {
                let slot = self.slot(&q.key);
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Some(list) = slot.as_array_mut() {
                    let v = Value::String(opt.key.clone());
                    if !list.contains(&v) {
                        list.push(v);
                    }
                }
            }
        }
        self.filled.insert(q.key.clone());
        // Written-in text goes to the question asked for that option ("please state").
        if !written.is_empty() {
            let text = written.join("\n");
            if let Some(follow) = self.follow_up(&q.key, Some(&opt.label)) {
                let key = follow.key.clone();
                self.answer_text(follow, &key, &text);
            }
        }
    }

    fn move_cursor(&mut self, key: &str, option: Option<usize>) {
        if let Some(t) = self.targets.iter().find(|t| {
            t.question.key == key
                && match option {
                    Some(o) => t.kind == Kind::Option(o),
                    None => t.kind == Kind::Question,
                }
        }) {
            self.cursor = t.order;
        }
    }

    /// The question the definition asks only after `key` is answered (a "please give
    /// details" question): the one whose `required_when` or `when` names `key`, best matching
    /// `option_label` when given.
    fn follow_up(&self, key: &str, option_label: Option<&str>) -> Option<&'d Question> {
        let candidates: Vec<&'d Question> = self
            .questions
            .iter()
            .copied()
            .filter(|q| {
                matches!(q.kind, QuestionKind::Text | QuestionKind::LongText)
                    && [&q.required_when, &q.when].into_iter().any(|c| {
                        c.as_ref()
                            .is_some_and(|c| c.question.as_deref() == Some(key))
                    })
            })
            .collect();
        match option_label {
            None => candidates.first().copied(),
            Some(label) => {
                let w = words(label);
                candidates
                    .into_iter()
                    .map(|q| {
                        (
                            q,
                            similarity(&words(&q.label), &w).max(similarity(&w, &words(&q.label))),
                        )
                    })
                    .filter(|(_, s)| *s >= 0.5)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(q, _)| q)
            }
        }
    }

    /// The answer slot for a dotted key, created as null.
    fn slot(&mut self, key: &str) -> &mut Value {
        let mut current = &mut self.answers;
        for part in key.split('.') {
            if !current.is_object() {
                *current = Value::Object(Map::new());
            }
            current = match current {
                Value::Object(map) => map.entry(part.to_string()).or_insert(Value::Null),
                // Made an object just above.
                other => other,
            };
        }
        current
    }

    /// Records `value` (as written on the form) for target `t`.
    fn assign(&mut self, t: usize, value: &str) {
        let target = &self.targets[t];
        let question = target.question;
        let kind = target.kind;
        self.cursor = target.order;
        match kind {
            Kind::Question => {
                self.seen.insert(question.key.clone());
                if self.filled.contains(&question.key) {
                    // Answered already: a different answer under a similar label is kept for
                    // a person to see, never silently dropped or overwritten.
                    let value = value.trim();
                    let same = lookup_str(&self.answers, &question.key).is_some_and(|v| v == value);
                    if !value.is_empty() && !same && !self.extra.iter().any(|(_, v)| v == value) {
                        self.extra.push((question.label.clone(), value.to_string()));
                    }
                    return;
                }
                let key = question.key.clone();
                self.answer_question(question, &key, value);
            }
            Kind::Field(f) => {
                let field = &question.fields[f];
                let value = value.trim();
                self.seen.insert(question.key.clone());
                if value.is_empty() || is_placeholder(value) {
                    return;
                }
                let item = *self.items.get(&question.key).unwrap_or(&0);
                let field_key = format!("{}[{item}].{}", question.key, field.key);
                let item = if self.filled.contains(&field_key) {
                    item + 1
                } else {
                    item
                };
                if question.max_items.is_some_and(|m| item >= m) {
                    return;
                }
                self.items.insert(question.key.clone(), item);
                let Some(v) =
                    self.read_value(field, &format!("{}.{}", question.key, field.key), value)
                else {
                    return;
                };
                let slot = self.slot(&question.key);
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Some(list) = slot.as_array_mut() {
                    while list.len() <= item {
                        list.push(Value::Object(Map::new()));
                    }
                    if let Some(obj) = list[item].as_object_mut() {
                        obj.insert(field.key.clone(), v);
                    }
                }
                self.filled
                    .insert(format!("{}[{item}].{}", question.key, field.key));
                self.filled.insert(question.key.clone());
            }
            Kind::Option(o) => {
                // An option named on a line with its mark: "Early Help ☒".
                let cells = [value];
                if question.kind == QuestionKind::IndicatorMatrix {
                    self.grid_row(question, o, &cells);
                } else {
                    self.option_row(question, o, &cells);
                }
            }
        }
    }

    fn answer_question(&mut self, q: &'d Question, key: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() || is_placeholder(value) {
            return;
        }
        if q.kind == QuestionKind::YesNo {
            match yes_no(value) {
                YesNo::Yes(rest) => {
                    set_path(&mut self.answers, key, Value::Bool(true));
                    self.filled.insert(key.to_string());
                    self.problems.remove(key);
                    if !rest.is_empty() {
                        if let Some(follow) = self.follow_up(key, None) {
                            let fk = follow.key.clone();
                            self.answer_text(follow, &fk, &rest);
                        }
                    }
                }
                YesNo::No(rest) => {
                    set_path(&mut self.answers, key, Value::Bool(false));
                    self.filled.insert(key.to_string());
                    self.problems.remove(key);
                    let _ = rest;
                }
                YesNo::Both => {
                    self.problems
                        .entry(key.to_string())
                        .or_insert_with(|| "Both Yes and No are left on the form".to_string());
                }
                YesNo::Unknown => {
                    self.problems.entry(key.to_string()).or_insert_with(|| {
                        format!(
                            "Could not tell Yes or No from \u{201c}{}\u{201d}",
                            shorten(value)
                        )
                    });
                }
            }
            return;
        }
        if q.kind == QuestionKind::Choice {
            if let Some(v) = self.read_value(q, key, value) {
                set_path(&mut self.answers, key, v);
                self.filled.insert(key.to_string());
                self.problems.remove(key);
                // The written text also goes to the "details" question when there is one.
                if words(value).len() > 3 {
                    if let Some(follow) = self.follow_up(key, None) {
                        let fk = follow.key.clone();
                        self.answer_text(follow, &fk, value);
                    }
                }
            }
            return;
        }
        if let Some(v) = self.read_value(q, key, value) {
            set_path(&mut self.answers, key, v);
            self.filled.insert(key.to_string());
            self.problems.remove(key);
        }
    }

    fn answer_text(&mut self, q: &Question, key: &str, text: &str) {
        if self.filled.contains(key) || text.trim().is_empty() {
            return;
        }
        if let Some(v) = self.read_value(q, key, text) {
            set_path(&mut self.answers, key, v);
            self.filled.insert(key.to_string());
            self.seen.insert(key.to_string());
        }
    }

    /// The JSON answer for a question of `q`'s kind, or `None` with the problem recorded.
    fn read_value(&mut self, q: &Question, key: &str, value: &str) -> Option<Value> {
        let value = value.trim();
        let problem = |this: &mut Self, reason: String| {
            this.problems.entry(key.to_string()).or_insert(reason);
            None
        };
        match q.kind {
            QuestionKind::Text | QuestionKind::Phone => Some(Value::String(
                value
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
            QuestionKind::LongText => Some(Value::String(value.to_string())),
            QuestionKind::Email => match EMAIL.as_ref().and_then(|re| re.find(value)) {
                Some(m) if haven_core::answers::is_email_address(m.as_str()) => {
                    Some(Value::String(m.as_str().to_string()))
                }
                _ => problem(
                    self,
                    format!("No email address in \u{201c}{}\u{201d}", shorten(value)),
                ),
            },
            QuestionKind::Date => match find_date(value, self.today) {
                Some(d) => Some(Value::String(d.format("%Y-%m-%d").to_string())),
                None => problem(
                    self,
                    format!(
                        "Could not read \u{201c}{}\u{201d} as a date",
                        shorten(value)
                    ),
                ),
            },
            QuestionKind::Number => {
                let cleaned: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && *c != ',')
                    .collect();
                match cleaned
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    Some(n) => Some(Value::Number(n)),
                    None => problem(
                        self,
                        format!(
                            "Could not read \u{201c}{}\u{201d} as a number",
                            shorten(value)
                        ),
                    ),
                }
            }
            QuestionKind::YesNo => match yes_no(value) {
                YesNo::Yes(_) => Some(Value::Bool(true)),
                YesNo::No(_) => Some(Value::Bool(false)),
                YesNo::Both => problem(self, "Both Yes and No are left on the form".to_string()),
                YesNo::Unknown => problem(
                    self,
                    format!(
                        "Could not tell Yes or No from \u{201c}{}\u{201d}",
                        shorten(value)
                    ),
                ),
            },
            QuestionKind::Choice => match choose(q, value) {
                Some(k) => Some(Value::String(k)),
                None => problem(
                    self,
                    format!(
                        "\u{201c}{}\u{201d} is not one of the choices",
                        shorten(value)
                    ),
                ),
            },
            QuestionKind::MultipleChoice => {
                let w = words(value);
                let picked: Vec<Value> = q
                    .options
                    .iter()
                    .filter(|o| {
                        let ow = words(&o.label);
                        !ow.is_empty() && ow.iter().all(|x| w.contains(x))
                    })
                    .map(|o| Value::String(o.key.clone()))
                    .collect();
                if picked.is_empty() {
                    problem(
                        self,
                        format!(
                            "Could not tell which options \u{201c}{}\u{201d} means",
                            shorten(value)
                        ),
                    )
                } else {
                    Some(Value::Array(picked))
                }
            }
            QuestionKind::IndicatorMatrix | QuestionKind::Repeatable | QuestionKind::File => None,
        }
    }

    fn finish(self) -> FormReading {
        let mut unread = Vec::new();
        for q in &self.questions {
            if self.filled.contains(&q.key) {
                continue;
            }
            let reason = match q.kind {
                QuestionKind::File => {
                    "A file: attach it from the email's attachments".to_string()
                }
                QuestionKind::MultipleChoice | QuestionKind::IndicatorMatrix
                    if self.seen.contains(&q.key) =>
                {
                    // Seen and nothing ticked: an answer ("none of these"), not a gap.
                    continue;
                }
                QuestionKind::Repeatable if !self.seen.contains(&q.key) => {
                    "Not found on the form (the paper form lists these as free text): enter them from the original".to_string()
                }
                _ => match self.problems.get(&q.key) {
                    Some(reason) => reason.clone(),
                    None if self.seen.contains(&q.key) => "Left blank".to_string(),
                    None => "Not found on the form".to_string(),
                },
            };
            unread.push(Unread {
                key: q.key.clone(),
                label: q.label.clone(),
                reason,
            });
        }
        FormReading {
            answers: self.answers,
            unread,
            extra: self.extra,
        }
    }
}

fn lookup_str<'a>(answers: &'a Value, key: &str) -> Option<&'a str> {
    let mut current = answers;
    for part in key.split('.') {
        current = current.get(part)?;
    }
    current.as_str()
}

fn set_path(answers: &mut Value, key: &str, value: Value) {
    let mut current = answers;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else {
            return;
        };
        if i + 1 == parts.len() {
            map.insert((*part).to_string(), value);
            return;
        }
        current = map.entry((*part).to_string()).or_insert(Value::Null);
    }
}

fn cell_text(lines: &[String]) -> String {
    lines.join("\n").trim().to_string()
}

fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        format!("{}…", one_line.chars().take(60).collect::<String>())
    } else {
        one_line
    }
}

/// A gap between parts of a line: tabs, or three spaces or more.
static GAP: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\t+| {3,}").ok());

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+").ok());

/// Word's prompt in an empty content control, left as it was.
fn is_placeholder(text: &str) -> bool {
    let t = text.trim().trim_end_matches('.').to_lowercase();
    matches!(
        t.as_str(),
        "click or tap here to enter text"
            | "click here to enter text"
            | "click or tap to enter a date"
            | "click here to enter a date"
            | "choose an item"
    )
}

/// Mostly digits (seven at least), as a phone number is.
fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    digits >= 7 && letters <= 4
}

/// Marks that mean "ticked".
const TICKS: &[char] = &['☒', '☑', '✓', '✔', '✗', '✘', '√', '■', '⊠'];

/// Words of a grid's column header with the ways of saying when spelt one way: "recent",
/// "within", "last" → `current`; "historic", "previous", "over", "ago" → `prior`.
fn recency(words: Vec<String>) -> Vec<String> {
    words
        .into_iter()
        .map(|w| {
            let said = match w.as_str() {
                "current" | "currently" | "recent" | "recently" | "within" | "last" | "now"
                | "present" | "ongoing" => "current",
                "prior" | "previous" | "previously" | "historic" | "historical" | "history"
                | "before" | "ago" | "over" | "more" | "older" | "earlier" => "prior",
                _ => return w,
            };
            said.to_string()
        })
        .collect()
}

/// A tick or an empty box written in a label's text ("☒ Looked after child"), as a cell's
/// mark: `"☒"`, `"☐"`, or `None` when there is neither.
fn box_in(text: &str) -> Option<&'static str> {
    if text.chars().any(|c| TICKS.contains(&c)) {
        Some("☒")
    } else if text.contains(['☐', '□']) {
        Some("☐")
    } else {
        None
    }
}

/// Whether a cell's text is a tick (`Some(true)`), an empty box or a "no" (`Some(false)`),
/// or neither (`None`: blank, or words).
pub fn tick(text: &str) -> Option<bool> {
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return None;
    }
    if t.chars().any(|c| TICKS.contains(&c)) {
        return Some(true);
    }
    match t
        .trim_matches(|c: char| c.is_ascii_punctuation() && c != '*')
        .trim()
    {
        "x" | "xx" | "yes" | "y" | "tick" | "ticked" | "v" | "*" => Some(true),
        "☐" | "□" | "no" | "n" | "n/a" | "na" | "-" | "" => Some(false),
        _ => None,
    }
}

enum YesNo {
    Yes(String),
    No(String),
    Both,
    Unknown,
}

fn yes_no(text: &str) -> YesNo {
    let lower = text.trim().to_lowercase();
    // A ticked box beside one of them: "☒ Yes ☐ No".
    if lower.chars().any(|c| TICKS.contains(&c)) {
        let mut ticked_next = false;
        for token in lower.split_whitespace() {
            let starts_ticked = token.chars().next().is_some_and(|c| TICKS.contains(&c));
            let word = token.trim_matches(|c: char| !c.is_alphanumeric());
            if (ticked_next || starts_ticked) && matches!(word, "yes" | "y") {
                return YesNo::Yes(String::new());
            }
            if (ticked_next || starts_ticked) && matches!(word, "no" | "n") {
                return YesNo::No(String::new());
            }
            ticked_next = word.is_empty() && starts_ticked;
        }
    }
    let tokens: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    if matches!(lower.as_str(), "n/a" | "na" | "n.a." | "not applicable") {
        return YesNo::Unknown;
    }
    let is_yes = |t: &str| matches!(t, "yes" | "y");
    let is_no = |t: &str| matches!(t, "no" | "n");
    match tokens.as_slice() {
        [] => YesNo::Unknown,
        [a, b, ..] if (is_yes(a) && is_no(b)) || (is_no(a) && is_yes(b)) => YesNo::Both,
        [a, ..] if is_yes(a) => YesNo::Yes(after_first_word(text)),
        [a, ..] if is_no(a) => YesNo::No(after_first_word(text)),
        _ => YesNo::Unknown,
    }
}

/// The text after the first word and any punctuation: "Yes - Jo Smith" → "Jo Smith".
fn after_first_word(text: &str) -> String {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map_or(t.len(), |(i, _)| i);
    t[end..]
        .trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, ',' | '.' | '-' | ':' | ';' | '\u{2013}' | '/')
        })
        .trim()
        .to_string()
}

/// The option `value` names: by label (or the label at the start), initial, or "none".
fn choose(q: &Question, value: &str) -> Option<String> {
    let w = words(value);
    let lower = value.trim().to_lowercase();
    // A single letter that starts exactly one option ("F", "M").
    let letters: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    if letters.chars().count() == 1 {
        let found: Vec<&str> = q
            .options
            .iter()
            .filter(|o| o.label.to_lowercase().starts_with(&letters))
            .map(|o| o.key.as_str())
            .collect();
        if let [only] = found.as_slice() {
            return Some((*only).to_string());
        }
    }
    let best = q
        .options
        .iter()
        .map(|o| {
            let ow = words(&o.label);
            let contained = !ow.is_empty() && ow.iter().all(|x| w.contains(x));
            let score = similarity(&w, &ow).max(if contained { 0.8 } else { 0.0 });
            (o, score, ow.len())
        })
        .filter(|(_, s, _)| *s >= 0.6)
        // Most alike, then the most specific label ("Child Protection Plan" over "Plan").
        .max_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)));
    if let Some((o, _, _)) = best {
        return Some(o.key.clone());
    }
    if matches!(
        lower.trim_matches(|c: char| !c.is_alphanumeric()),
        "no" | "none" | "neither" | "n/a" | "na"
    ) {
        return q
            .options
            .iter()
            .find(|o| {
                matches!(o.key.as_str(), "none" | "neither")
                    || matches!(o.label.to_lowercase().as_str(), "none" | "neither")
            })
            .map(|o| o.key.clone());
    }
    None
}

/// A date anywhere in `text`: the whole text, or a run of up to four of its words.
fn find_date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    if let Some(d) = parse_uk_date(text, today) {
        return Some(d);
    }
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|t| !t.is_empty())
        .take(60)
        .collect();
    for len in (1..=4).rev() {
        for window in tokens.windows(len) {
            let candidate = window.join(" ");
            let candidate = candidate.trim_matches(|c: char| matches!(c, ',' | ';' | '.' | ':'));
            if let Some(d) = parse_uk_date(candidate, today) {
                return Some(d);
            }
        }
    }
    None
}
