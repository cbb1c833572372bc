//! Splitting text into words with byte offsets, and the facts about each word that the name
//! and handle checks need (capitalised? first word of a sentence?).
//!
//! Hand-written rather than a Unicode segmentation crate because we need exactly one
//! behaviour the standard rules do not give: apostrophes and hyphens stay inside a word
//! ("O'Brien", "Mary-Jane", "Kai's") so a possessive name is one word.

/// One word of the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// The word as written.
    pub text: &'a str,
    /// The first word of the text or of a sentence, where capitals prove nothing.
    pub sentence_start: bool,
}

impl<'a> Token<'a> {
    /// The word without a trailing possessive `'s` / `’s` (and its length in bytes).
    pub fn base(&self) -> &'a str {
        for suffix in ["'s", "’s", "'S", "’S"] {
            if let Some(stripped) = self.text.strip_suffix(suffix)
                && !stripped.is_empty()
            {
                return stripped;
            }
        }
        self.text
    }

    /// Whether the word ends with a possessive `'s`.
    pub fn is_possessive(&self) -> bool {
        self.base().len() != self.text.len()
    }

    /// Title case: an upper-case first letter followed by at least one lower-case letter
    /// (so acronyms like "DDOS" or "CAMHS" are not capitalised words).
    pub fn is_capitalised(&self) -> bool {
        let base = self.base();
        let mut chars = base.chars();
        chars.next().is_some_and(char::is_uppercase) && chars.any(char::is_lowercase)
    }

    /// A single capital letter, as in an initial ("Mr J Smith").
    pub fn is_initial(&self) -> bool {
        let mut chars = self.text.chars();
        chars.next().is_some_and(char::is_uppercase) && chars.next().is_none()
    }

    /// The word in lower case, for comparing with lists.
    pub fn lower(&self) -> String {
        self.text.to_lowercase()
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Abbreviations whose full stop does not end a sentence.
const ABBREVIATIONS: [&str; 12] = [
    "mr", "mrs", "ms", "mx", "dr", "st", "prof", "sgt", "e.g", "i.e", "no", "approx",
];

/// The words of `text`, in order.
pub(crate) fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens: Vec<Token<'_>> = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut gap_start = 0;
    while let Some((start, c)) = chars.next() {
        if !is_word_char(c) {
            continue;
        }
        let mut end = start + c.len_utf8();
        let mut prev_joiner = false;
        while let Some(&(i, c)) = chars.peek() {
            if is_word_char(c) {
                end = i + c.len_utf8();
                prev_joiner = false;
                chars.next();
            } else if matches!(c, '\'' | '’' | '-') && !prev_joiner {
                // A joiner stays inside the word only if a word character follows it.
                let after = text[i + c.len_utf8()..].chars().next();
                if after.is_some_and(is_word_char) {
                    prev_joiner = true;
                    chars.next();
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        let gap = &text[gap_start..start];
        let sentence_start = match tokens.last() {
            None => true,
            Some(prev) => ends_sentence(gap, prev.text),
        };
        tokens.push(Token {
            start,
            end,
            text: &text[start..end],
            sentence_start,
        });
        gap_start = end;
    }
    tokens
}

/// Whether the characters between two words end a sentence (or a line, list item or
/// heading), after which any word may be capitalised.
fn ends_sentence(gap: &str, prev_word: &str) -> bool {
    if gap.contains(['!', '?', '\n', ':', ';', '•', '*', '"', '“', '(']) {
        // Quotes and brackets: "(Harvey)" proves nothing either way, so treat what follows
        // like a sentence start, which only costs us word-like names there.
        return true;
    }
    if gap.contains('.') {
        let prev = prev_word.to_lowercase();
        return !(ABBREVIATIONS.contains(&prev.as_str()) || prev.chars().count() == 1);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_apostrophes_and_hyphens_and_byte_offsets() {
        let text = "Café: Kai's mum and Mary-Jane O'Brien — Wi-Fi.";
        let toks = tokenize(text);
        let words: Vec<&str> = toks.iter().map(|t| t.text).collect();
        assert_eq!(
            words,
            [
                "Café",
                "Kai's",
                "mum",
                "and",
                "Mary-Jane",
                "O'Brien",
                "Wi-Fi"
            ]
        );
        for t in &toks {
            assert_eq!(&text[t.start..t.end], t.text);
        }
        assert_eq!(toks[1].base(), "Kai");
        assert!(toks[1].is_possessive());
        assert!(toks[1].sentence_start, "after a colon");
        assert!(!toks[4].sentence_start);
    }

    #[test]
    fn titles_do_not_end_sentences() {
        let toks = tokenize("We met Mr. Smith. Then Tom.");
        let starts: Vec<bool> = toks.iter().map(|t| t.sentence_start).collect();
        assert_eq!(starts, [true, false, false, false, true, false]);
    }

    #[test]
    fn acronyms_are_not_capitalised_words() {
        let toks = tokenize("DDOS Tyler I");
        assert!(!toks[0].is_capitalised());
        assert!(toks[1].is_capitalised());
        assert!(!toks[2].is_capitalised());
        assert!(toks[2].is_initial());
    }
}
