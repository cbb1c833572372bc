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
    let lists: [(&str, NameTier); 6] = [
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
            include_str!("../../data/anonymity/short_names.txt"),
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

/// A case-insensitive, whole-word alternation of `phrases` (longest first, so "Google
/// Street View" wins over "Street View"), or `None` if there are none.
fn phrase_regex<'a>(phrases: impl Iterator<Item = &'a str>) -> Option<Regex> {
    let mut bodies: Vec<String> = phrases
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|phrase| {
            let body = phrase
                .split_whitespace()
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+");
            // Word boundaries only where the phrase starts or ends with a word character:
            // `\b` next to "'" or "&" would demand a letter on the other side. ASCII word
            // boundaries, because the Unicode ones make this long alternation several
            // times slower; the phrases that begin or end with any other character get no boundary there.
            let word_char =
                |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let open = if word_char(phrase.chars().next()) {
                r"(?-u:\b)"
            } else {
                ""
            };
            let close = if word_char(phrase.chars().last()) {
                r"(?-u:\b)"
            } else {
                ""
            };
            format!("{open}{body}{close}")
        })
        .collect();
    if bodies.is_empty() {
        return None;
    }
    bodies.sort_by_key(|p| std::cmp::Reverse(p.len()));
    // The lists are ours and escaped, so this only fails if a file is broken; a broken list
    // must not take the check down, it just masks nothing.
    Regex::new(&format!("(?i)(?:{})", bodies.join("|"))).ok()
}

/// Phrases (games, products, organisations, public figures) whose words must not be read
/// as a name, school, street or handle, plus characters' full names from `works.txt`. One
/// alternation, compiled once.
static MASK: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let full_names = WORKS
        .iter()
        .flat_map(|w| w.characters.iter())
        .filter(|c| c.contains(' '))
        .map(String::as_str);
    phrase_regex(
        include_str!("../../data/anonymity/mask_phrases.txt")
            .lines()
            .chain(full_names),
    )
});

/// "Reading Festival", "Notting Hill Carnival", "Leeds Pride": events, not people or places.
static EVENT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:\p{Lu}[\p{L}'’\-]*\s+){1,3}(?:Festival|Carnival|Mela|Fest|Pride|Eisteddfod|Fair)\b",
    )
    .ok()
});

/// The last words of [`EVENT`].
const EVENT_WORDS: &[&str] = &[
    "Festival",
    "Carnival",
    "Mela",
    "Fest",
    "Pride",
    "Eisteddfod",
    "Fair",
];

/// Tools and assistants named like people (`tools.txt`).
static TOOLS: LazyLock<Option<Regex>> =
    LazyLock::new(|| phrase_regex(include_str!("../../data/anonymity/tools.txt").lines()));

/// Words after a tool's name that show it is the tool: "Jenkins pipeline", "Claude AI".
const TECH_AFTER: &[&str] = &[
    "ai",
    "pipeline",
    "pipelines",
    "tutorial",
    "tutorials",
    "server",
    "script",
    "scripts",
    "app",
    "assistant",
    "linux",
    "bot",
    "chatbot",
    "code",
    "speaker",
    "device",
    "install",
    "plugin",
];

/// A film, series or game and its characters (`works.txt`).
struct Work {
    /// Its titles, normalised (see [`normalise`]).
    titles: Vec<String>,
    characters: Vec<String>,
    names: Option<Regex>,
}

static WORKS: LazyLock<Vec<Work>> = LazyLock::new(|| {
    include_str!("../../data/anonymity/works.txt")
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| {
            let (titles, names) = line.split_once(':')?;
            let characters: Vec<String> = names
                .split(',')
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .collect();
            Some(Work {
                titles: titles.split('|').map(normalise).collect(),
                names: phrase_regex(characters.iter().map(String::as_str)),
                characters,
            })
        })
        .collect()
});

/// Every work's titles in one alternation: one pass over the text finds which are named.
static WORK_TITLES: LazyLock<Option<Regex>> = LazyLock::new(|| {
    phrase_regex(
        WORKS
            .iter()
            .flat_map(|w| w.titles.iter().map(String::as_str)),
    )
});

/// Counties, regions and big cities (`regions.txt`).
static REGIONS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    words(include_str!("../../data/anonymity/regions.txt"))
        .map(str::to_lowercase)
        .collect()
});

/// National employers (`employers.txt`), one name per line.
static EMPLOYERS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../../data/anonymity/employers.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(normalise)
        .collect()
});

/// Lower case with runs of white space made single, for comparing multi-word names.
fn normalise(name: &str) -> String {
    name.replace('’', "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The tier of a word (any case), if it is a known name. A word with accents is also
/// looked up without them, so "Siân", "Zoë" and "Seán" match "Sian", "Zoe" and "Sean".
pub(crate) fn tier(word: &str) -> Option<NameTier> {
    let lower = word.to_lowercase();
    if let Some(tier) = TIERS.get(&lower) {
        return Some(*tier);
    }
    if lower.is_ascii() {
        return None;
    }
    TIERS.get(&without_accents(&lower)).copied()
}

/// `word` with combining accents removed (canonical decomposition, then marks dropped).
fn without_accents(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    word.nfd().filter(|c| !is_combining_mark(*c)).collect()
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

/// Whether every word of `place` is a county, region or big city.
pub(crate) fn is_region(place: &str) -> bool {
    let mut words = place
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
        .peekable();
    words.peek().is_some() && words.all(|w| REGIONS.contains(&w.to_lowercase()))
}

/// Whether `word` is a town, county, region or big city.
pub(crate) fn is_place(word: &str) -> bool {
    let lower = word.to_lowercase();
    PLACES.contains(&lower) || REGIONS.contains(&lower)
}

/// Whether `name` is a national employer, where working says nothing about who you are.
pub(crate) fn is_big_employer(name: &str) -> bool {
    EMPLOYERS.contains(&normalise(name))
}

/// Byte ranges of masked phrases in `text`: listed phrases, events, tools named like people
/// (in a sentence about tools), and the characters of a work the text names.
pub(crate) fn masked_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    // The event pattern starts with any capital, so it is only run when an event word is
    // in the text (a substring search is far cheaper than the pattern).
    let events = EVENT_WORDS.iter().any(|w| text.contains(w));
    let event = EVENT.as_ref().filter(|_| events);
    for re in [MASK.as_ref(), event].into_iter().flatten() {
        ranges.extend(re.find_iter(text).map(|m| (m.start(), m.end())));
    }
    if let Some(tools) = TOOLS.as_ref() {
        let found: Vec<(usize, usize)> = tools
            .find_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        let mut in_context = Vec::new();
        for &(start, end) in &found {
            let sentence = sentence_around(text, start);
            let others = found
                .iter()
                .chain(ranges.iter())
                .any(|&(s, e)| (s, e) != (start, end) && sentence.contains(&s));
            let next = text[end..]
                .split(|c: char| !c.is_alphanumeric())
                .find(|w| !w.is_empty())
                .map(str::to_lowercase);
            let tech_after = next.is_some_and(|w| TECH_AFTER.contains(&w.as_str()));
            if others || tech_after {
                in_context.push((start, end));
            }
        }
        ranges.extend(in_context);
    }
    if let Some(titles) = WORK_TITLES.as_ref() {
        let named: HashSet<String> = titles
            .find_iter(text)
            .map(|m| normalise(m.as_str()))
            .collect();
        for work in WORKS
            .iter()
            .filter(|w| w.titles.iter().any(|t| named.contains(t)))
        {
            if let Some(names) = &work.names {
                ranges.extend(
                    names
                        .find_iter(text)
                        .filter(|m| !person_word_before(&text[..m.start()]))
                        .map(|m| (m.start(), m.end())),
                );
            }
        }
    }
    ranges.sort_unstable();
    ranges
}

/// Words just before a character's name that show it is a real person after all: "he
/// watches Peaky Blinders with his brother Tommy".
const PERSON_BEFORE: &[&str] = &[
    "brother",
    "sister",
    "cousin",
    "friend",
    "mate",
    "son",
    "daughter",
    "dad",
    "mum",
    "uncle",
    "aunt",
    "nephew",
    "niece",
    "boyfriend",
    "girlfriend",
    "classmate",
    "neighbour",
    "mr",
    "mrs",
    "ms",
    "miss",
];

/// Whether the last word of `before` is one of [`PERSON_BEFORE`].
fn person_word_before(before: &str) -> bool {
    before
        .trim_end_matches([' ', ','])
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .is_some_and(|w| PERSON_BEFORE.contains(&w.to_lowercase().as_str()))
}

/// The byte range of the sentence (or line) containing `at`.
fn sentence_around(text: &str, at: usize) -> std::ops::Range<usize> {
    let is_end = |c: char| matches!(c, '.' | '!' | '?' | '\n' | ';');
    let start = text[..at].rfind(is_end).map_or(0, |i| i + 1);
    let end = text[at..].find(is_end).map_or(text.len(), |i| at + i);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load_with_the_expected_tiers() {
        assert_eq!(tier("Tyler"), Some(NameTier::First));
        assert_eq!(tier("siobhán"), Some(NameTier::First));
        assert_eq!(tier("Siân"), Some(NameTier::First));
        assert_eq!(tier("Seán"), Some(NameTier::First));
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
