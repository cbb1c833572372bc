//! Schools named without a school word, found by the phrase around them: by type and town
//! ("a grammar school in Ripon", "the high school in Stroud") or by a capitalised name
//! after the words that say a child is at a school ("in Year 9 at Bishop Fenwick", "moved up
//! to Kendrick Girls", "excluded from Ashdown Park"). Names with a school word ("Oakwood
//! Academy") are found in `places`.

use std::sync::LazyLock;

use regex::Regex;

use super::contact::compile;
use super::lexicon;
use super::places::{CAP, first_distinctive_word};
use super::{FindingKind, Hit};

/// "a grammar school in Ripon", "the girls' grammar in Stroud", "one of the high
/// schools in Stroud", "the only secondary school in Hay-on-Wye". Captures the article, the
/// words before the type, the type and the place.
static BY_TOWN: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?-u:\b)(?i:(a|an|the|one\s+of\s+the|one\s+of\s+two))\s+((?i:[a-z'’]+\s+){{0,3}}?)(?i:(grammar|high|secondary|comprehensive|primary|junior|infant|prep|middle|upper|catholic|independent|private|sixth[\s\-]form|school|academy|college)s?)(?:\s+(?i:schools?|academy|academies|college|colleges))?\s+(?i:in|at|near|outside|just\s+outside)\s+({CAP}(?:(?:\s+|-)(?:on|upon|under|in|le|by|{CAP})){{0,3}})"
    ))
});

/// Types of which a town has few, so "a grammar school in X" narrows it to one or two.
const FEW_PER_TOWN: &[&str] = &[
    "grammar",
    "independent",
    "private",
    "prep",
    "sixth form",
    "sixth-form",
    "college",
    "catholic",
];

/// Words that show a child is at (or has left) a school, followed by its name: "in Year 9
/// at Bishop Fenwick", "attends Lady Margaret's", "moved up to Kendrick Girls".
static AFTER_CUE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?-u:\b)(?i:(?:year|yr)\s*\d{{1,2}}\s+at|(?:sixth\s+form|pupil|student|on\s+roll)\s+at|attends|attended|attending|moved\s+up\s+to|moved\s+(?:to\s+us\s+)?from|transferred\s+(?:to|from)|excluded\s+from|expelled\s+from|(?:is|was)\s+at|goes\s+to|started\s+at)\s+({CAP}(?:[ \t]+{CAP}){{0,3}})"
    ))
});

/// Last words of a capitalised phrase after "goes to" or "is at" that make it a venue,
/// not a school.
#[rustfmt::skip]
const VENUES: &[&str] = &[
    "festival", "carnival", "fair", "market", "centre", "center", "station", "airport", "stadium", "arena", "zoo",
    "museum", "cinema", "mall", "hospital", "towers", "world", "land", "pier", "beach", "shopping", "retail",
    "street", "road", "lane", "court", "club", "con", "expo", "show", "games", "cup", "league", "hotel", "theatre",
    "library", "church", "mosque", "temple", "gurdwara", "synagogue", "camp", "leisure", "gym", "services",
    "prison", "police", "office", "council", "bank", "store", "shop", "cafe", "café", "restaurant", "hut",
    "king", "kingdom", "resort", "cadets", "brigade", "scouts", "guides", "brownies", "cubs", "gp", "surgery",
];

/// Titles that begin schools' names.
const SCHOOL_TITLES: &[&str] = &[
    "Lady",
    "Lord",
    "Sir",
    "Dame",
    "Queen",
    "Queen's",
    "King",
    "King's",
    "Bishop",
    "Archbishop",
    "Cardinal",
    "Saint",
    "St",
    "St.",
    "Prince",
    "Princess",
    "Duke",
    "Duchess",
];

/// Schools named by phrase in `text`.
pub(crate) fn find(text: &str, out: &mut Vec<Hit>) {
    for caps in BY_TOWN.captures_iter(text) {
        let (Some(article), Some(before), Some(kind), Some(place)) =
            (caps.get(1), caps.get(2), caps.get(3), caps.get(4))
        else {
            continue;
        };
        if lexicon::is_generic(place.as_str().split_whitespace().next().unwrap_or("")) {
            continue;
        }
        let kind = kind.as_str().to_lowercase();
        let before = before.as_str().to_lowercase();
        let definite = !article.as_str().eq_ignore_ascii_case("a")
            && !article.as_str().eq_ignore_ascii_case("an");
        let only = before.split_whitespace().any(|w| w == "only");
        let few = FEW_PER_TOWN.contains(&kind.as_str())
            || before.split_whitespace().any(|w| FEW_PER_TOWN.contains(&w));
        let narrow = only || ((few || definite) && !lexicon::is_region(place.as_str()));
        if narrow {
            out.push(Hit {
                kind: FindingKind::School,
                start: before_start(&caps),
                end: place.end(),
            });
        }
    }
    for caps in AFTER_CUE.captures_iter(text) {
        let Some(words) = caps.get(1) else { continue };
        let name = words.as_str().trim_end();
        // Titles start many schools' names ("Lady Margaret's", "Sir John Lawes"), so they
        // stay; other generic words ("Year", "Local") are trimmed.
        let titled = name
            .split_whitespace()
            .next()
            .is_some_and(|w| SCHOOL_TITLES.contains(&w));
        let Some(offset) = (if titled {
            Some(0)
        } else {
            first_distinctive_word(name)
        }) else {
            continue;
        };
        let distinctive = &name[offset..];
        let count = distinctive.split_whitespace().count();
        let last = distinctive
            .split_whitespace()
            .last()
            .unwrap_or("")
            .trim_end_matches("'s")
            .trim_end_matches("’s")
            .to_lowercase();
        let all_places = distinctive.split_whitespace().all(lexicon::is_place);
        let employer = lexicon::is_big_employer(distinctive);
        // One word ("goes to Spain", "is at Tesco") is too often a place or a shop; the
        // name needs two words, or a possessive ("Lady Margaret's", "Churcher's").
        let possessive = name.ends_with("'s") || name.ends_with("’s");
        if (count >= 2 || possessive)
            && !VENUES.contains(&last.as_str())
            && !all_places
            && !employer
        {
            out.push(Hit {
                kind: FindingKind::School,
                start: words.start() + offset,
                end: words.start() + name.len(),
            });
        }
    }
}

/// Where the finding for a "by town" phrase starts: at the words before the type, or at
/// the type.
fn before_start(caps: &regex::Captures<'_>) -> usize {
    match (caps.get(2), caps.get(3)) {
        (Some(b), _) if !b.as_str().is_empty() => b.start(),
        (_, Some(k)) => k.start(),
        _ => caps.get(0).map_or(0, |m| m.start()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter().map(|f| &text[f.start..f.end]).collect()
    }

    #[test]
    fn schools_by_type_and_town() {
        assert_eq!(
            found("She is at a grammar school in Ripon and"),
            ["grammar school in Ripon"]
        );
        assert_eq!(
            found("He was at the high school in Stroud until"),
            ["high school in Stroud"]
        );
        assert_eq!(
            found("the only secondary school in Hay-on-Wye"),
            ["only secondary school in Hay-on-Wye"]
        );
        for text in [
            "He goes to a secondary school in Bristol.",
            "She is at a grammar school in Kent.",
            "a large comprehensive in the Midlands",
            "the school in the village",
        ] {
            assert_eq!(found(text), Vec::<&str>::new(), "{text}");
        }
    }

    #[test]
    fn schools_by_name_after_school_words() {
        assert_eq!(
            found("He is in Year 8 at Bishop Fenwick and"),
            ["Bishop Fenwick"]
        );
        assert_eq!(
            found("She attends Lady Margaret's now"),
            ["Lady Margaret's"]
        );
        assert_eq!(
            found("He was excluded from Millfield Park last year"),
            ["Millfield Park"]
        );
        for text in [
            "He went to Leeds Festival in August.",
            "He went to Chessington World or Thorpe Park.",
            "She goes to Tesco after school.",
            "He moved up to Year 7 in September.",
            "He went to London last week.",
            "They went to Milton Keynes and then Burger King.",
            "He goes to Pizza Hut on Fridays.",
        ] {
            assert_eq!(found(text), Vec::<&str>::new(), "{text}");
        }
    }
}
