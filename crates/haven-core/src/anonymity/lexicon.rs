//! The word lists behind the name check, embedded at compile time from
//! `data/anonymity/*.txt` so the pure core needs no files at run time.

use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

/// How much evidence a capitalised word needs before it counts as a person's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameTier {
    /// A first name that is nothing else: a name wherever it is capitalised.
    First,
    /// A first name that is also an everyday word (Will, Grace): a name when capitalised
    /// mid-sentence outside a title-case phrase, or with naming evidence.
    WordName,
    /// A first name that is also a month, place or brand (May, Chelsea): a name only with
    /// naming evidence.
    ContextName,
    /// A surname that is nothing else: a name wherever it is capitalised.
    Surname,
    /// A surname that is also a word, place or brand (Baker, Norton): a name only after a
    /// first name or a title.
    SurnameWord,
}

/// Words of an embedded list: whitespace-separated, lines starting with `#` are comments.
fn words(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
}

static TIERS: LazyLock<HashMap<String, NameTier>> = LazyLock::new(|| {
    // Later lists win: a word that is both a first name and a month is a context name.
    let lists: [(&str, NameTier); 5] = [
        (
            include_str!("../../data/anonymity/surname_words.txt"),
            NameTier::SurnameWord,
        ),
        (
            include_str!("../../data/anonymity/surnames.txt"),
            NameTier::Surname,
        ),
        (
            include_str!("../../data/anonymity/first_names.txt"),
            NameTier::First,
        ),
        (
            include_str!("../../data/anonymity/word_names.txt"),
            NameTier::WordName,
        ),
        (
            include_str!("../../data/anonymity/context_names.txt"),
            NameTier::ContextName,
        ),
    ];
    let mut map = HashMap::new();
    for (list, tier) in lists {
        for word in words(list) {
            map.insert(word.to_lowercase(), tier);
        }
    }
    map
});

static NOT_NAMES: LazyLock<HashSet<String>> = LazyLock::new(|| {
    words(include_str!("../../data/anonymity/not_names.txt"))
        .map(str::to_lowercase)
        .collect()
});

/// Towns, counties and regions: not names, but distinctive in a school or street name.
static PLACES: LazyLock<HashSet<String>> = LazyLock::new(|| {
    words(include_str!("../../data/anonymity/place_names.txt"))
        .map(str::to_lowercase)
        .collect()
});

/// Phrases (games, products, organisations, public figures) whose words must not be read
/// as a name, school, street or handle. One alternation, compiled once.
static MASK: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let phrases: Vec<String> = include_str!("../../data/anonymity/mask_phrases.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|phrase| {
            let body = phrase
                .split_whitespace()
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+");
            // Word boundaries only where the phrase starts or ends with a word character:
            // `\b` next to "'" or "&" would demand a letter on the other side.
            let word_char = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let open = if word_char(phrase.chars().next()) {
                r"\b"
            } else {
                ""
            };
            let close = if word_char(phrase.chars().last()) {
                r"\b"
            } else {
                ""
            };
            format!("{open}{body}{close}")
        })
        .collect();
    // Longest first so "Google Street View" wins over "Street View".
    let mut phrases = phrases;
    phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
    // The list is ours and escaped, so this only fails if the file is broken; a broken
    // list must not take the check down, it just masks nothing.
    Regex::new(&format!("(?i)(?:{})", phrases.join("|"))).ok()
});

/// The tier of a word (any case), if it is a known name.
pub(crate) fn tier(word: &str) -> Option<NameTier> {
    TIERS.get(&word.to_lowercase()).copied()
}

/// Whether a capitalised word is known never to be a person's name.
pub(crate) fn is_not_name(word: &str) -> bool {
    let lower = word.to_lowercase();
    NOT_NAMES.contains(&lower) || PLACES.contains(&lower)
}

/// Whether a capitalised word says nothing about which school or street is meant ("Local",
/// "The", "Head", "Discord"); place names are not generic ("Kent College").
pub(crate) fn is_generic(word: &str) -> bool {
    NOT_NAMES.contains(&word.to_lowercase())
}

/// Byte ranges of masked phrases in `text`, in order.
pub(crate) fn masked_ranges(text: &str) -> Vec<(usize, usize)> {
    match MASK.as_ref() {
        Some(re) => re.find_iter(text).map(|m| (m.start(), m.end())).collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load_with_the_expected_tiers() {
        assert_eq!(tier("Tyler"), Some(NameTier::First));
        assert_eq!(tier("siobhán"), Some(NameTier::First));
        assert_eq!(tier("Will"), Some(NameTier::WordName));
        assert_eq!(tier("May"), Some(NameTier::ContextName));
        assert_eq!(tier("Patel"), Some(NameTier::Surname));
        assert_eq!(tier("Baker"), Some(NameTier::SurnameWord));
        assert_eq!(tier("Minecraft"), None);
        assert!(
            TIERS.len() > 1300,
            "name lists unexpectedly small: {}",
            TIERS.len()
        );
        assert!(is_not_name("Discord"));
        assert!(is_not_name("Reading") && !is_generic("Reading"));
        assert!(MASK.is_some());
    }

    #[test]
    fn masks_are_whole_phrases() {
        let text = "He played Call of Duty and watched Mr Robot.";
        let ranges = masked_ranges(text);
        let got: Vec<&str> = ranges.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(got, vec!["Call of Duty", "Mr Robot"]);
    }
}
