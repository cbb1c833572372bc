//! Finding people's names: known first names and surnames from the embedded lists, plus
//! the contexts in which any capitalised word is a name ("Mr X", "a boy called X",
//! "his friend X", "X's mum").

use super::lexicon::{self, NameTier};
use super::tokens::Token;
use super::{FindingKind, Hit};

/// Titles that put a name after them. "PC" is a police constable; "PC Dawson" is a name,
/// "his PC" is not, because the next word must be a capitalised non-word. Family words used
/// as titles ("Uncle Dev", "Nanny Pat") count too.
#[rustfmt::skip]
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "sir", "master", "prof", "pc", "pcso", "dc", "ds", "sgt", "aunty",
    "auntie", "aunt", "uncle", "nan", "nana", "nanna", "nanny", "gran", "granny", "grandad", "grandma", "grandpa",
    "cousin",
];

/// Words that, just before a capitalised word, say it is a person: "his friend Kacper",
/// "co-accused Connor Walsh", "staff member Precious Nwosu".
#[rustfmt::skip]
const RELATIONS: &[&str] = &[
    "friend", "friends", "mate", "mates", "brother", "sister", "cousin", "boyfriend", "girlfriend", "son",
    "daughter", "stepson", "stepdaughter", "stepbrother", "stepsister", "nephew", "niece", "dad", "mum",
    "mother", "father", "stepdad", "stepmum", "uncle", "aunt", "grandson", "granddaughter", "classmate",
    "neighbour", "partner", "carer", "worker", "teacher", "tutor", "mentor", "member", "nurse", "co-accused",
    "accomplice", "peer", "nan", "gran", "grandma", "grandad",
];

/// Person nouns that make "called X" / "named X" a name rather than an app or a game.
#[rustfmt::skip]
const PERSON_NOUNS: &[&str] = &[
    "boy", "girl", "man", "woman", "lad", "guy", "bloke", "male", "female", "person", "someone", "somebody",
    "pupil", "student", "child", "kid", "teenager", "adult", "youth", "friend", "brother", "sister", "cousin",
    "son", "daughter", "he", "she", "who", "older", "mate",
];

/// What may follow "X's" to show X is a person: "Ryan's mum", "Charlie's parents".
#[rustfmt::skip]
const FAMILY_AFTER: &[&str] = &[
    "mum", "mom", "dad", "mother", "father", "parents", "parent", "brother", "sister", "nan", "nana", "gran",
    "grandma", "grandad", "family", "house", "home", "carer", "carers", "stepdad", "stepmum", "aunt", "auntie",
    "uncle", "cousin", "friend", "friends", "girlfriend", "boyfriend", "bedroom",
];

/// Verbs after a sentence-initial word-like name that show it is the subject person
/// ("Will has been…", "Grace told…") rather than a modal or noun ("Will be discussed").
#[rustfmt::skip]
const PERSON_VERBS: &[&str] = &[
    "has", "is", "was", "had", "said", "says", "told", "tells", "and", "plays", "played", "uses", "used",
    "admitted", "started", "lives", "lived", "attends", "attended", "goes", "went", "got", "gets", "disclosed",
    "claims", "claimed", "wants", "bought", "sent", "made", "created", "hacked", "showed", "asked", "took",
    "who",
];

/// Names among `tokens` (words of `text`).
pub(crate) fn find(text: &str, tokens: &[Token<'_>], out: &mut Vec<Hit>) {
    if written_in_lower_case(tokens) {
        for tok in tokens.iter().filter(|t| is_lower_case_name(t)) {
            out.push(Hit {
                kind: FindingKind::Name,
                start: tok.start,
                end: tok.end,
            });
        }
    }
    let mut i = 0;
    while i < tokens.len() {
        let tok = &tokens[i];
        if !is_name_shaped(tok) {
            i += 1;
            continue;
        }
        let title = title_before(text, tokens, i);
        if !is_name(text, tokens, i, title.is_some()) {
            i += 1;
            continue;
        }
        let start = title.map_or(tok.start, |t| tokens[t].start);
        let mut last = i;
        // A name runs on over capitalised words that are not ordinary words: "Oliver
        // Bennett", "Sinéad O'Brien". Two more words at most.
        while last + 1 < tokens.len() && last < i + 2 && !tokens[last].is_possessive() {
            let next = &tokens[last + 1];
            if !adjacent(text, &tokens[last], next) || !continues_name(next) {
                break;
            }
            last += 1;
        }
        let end = tokens[last].start + tokens[last].base().len();
        out.push(Hit {
            kind: FindingKind::Name,
            start,
            end,
        });
        i = last + 1;
    }
}

/// A word that could be written as a name: title case, not a known non-name.
fn is_name_shaped(tok: &Token<'_>) -> bool {
    tok.is_capitalised() && !tok.base().chars().any(|c| c.is_ascii_digit() || c == '_')
}

/// Whether the word at `i` is a name, given its list tier and its context.
fn is_name(text: &str, tokens: &[Token<'_>], i: usize, has_title: bool) -> bool {
    let tok = &tokens[i];
    let base = tok.base();
    let tier = name_tier(base);
    let strong = has_title
        || named_before(tokens, i)
        || relation_before(text, tokens, i)
        || family_after(tokens, i);
    match tier {
        Some(NameTier::First | NameTier::Surname) => true,
        Some(NameTier::WordName) => {
            strong
                || surname_after(text, tokens, i)
                || if tok.sentence_start {
                    tokens.get(i + 1).is_some_and(|next| {
                        adjacent(text, tok, next) && PERSON_VERBS.contains(&next.lower().as_str())
                    })
                } else {
                    !in_title_case_phrase(text, tokens, i)
                }
        }
        Some(NameTier::ContextName) => strong || surname_after(text, tokens, i),
        Some(NameTier::SurnameWord) => has_title,
        None => strong && !lexicon::is_not_name(base),
    }
}

/// The index of a title ("Mr", "Dr.") directly before word `i`, or before initials that
/// come before it ("Mrs J. Fairbanks").
fn title_before(text: &str, tokens: &[Token<'_>], i: usize) -> Option<usize> {
    let mut at = i;
    for _ in 0..3 {
        let prev_index = at.checked_sub(1)?;
        let prev = &tokens[prev_index];
        let gap = &text[prev.end..tokens[at].start];
        let gap_ok = !gap.is_empty()
            && gap.len() <= 3
            && gap.trim_start_matches('.').chars().all(|c| c == ' ');
        if !gap_ok {
            return None;
        }
        let is_title = prev.text.chars().next().is_some_and(char::is_uppercase)
            && TITLES.contains(&prev.lower().as_str());
        if is_title {
            let word = tokens[i].base();
            return (lexicon::tier(word).is_some() || !lexicon::is_not_name(word))
                .then_some(prev_index);
        }
        if !prev.is_initial() {
            return None;
        }
        at = prev_index;
    }
    None
}

/// The list tier of a word; a hyphenated word ("Sofia-Rose", "Harrington-Smith") whose
/// parts are all capitalised takes the strongest tier of its parts.
fn name_tier(word: &str) -> Option<NameTier> {
    if let Some(tier) = lexicon::tier(word) {
        return Some(tier);
    }
    if is_gaelic_surname(word) {
        return Some(NameTier::Surname);
    }
    if !word.contains('-') {
        return None;
    }
    let parts: Vec<&str> = word.split('-').collect();
    let capitalised = parts
        .iter()
        .all(|p| p.chars().next().is_some_and(char::is_uppercase));
    if !capitalised {
        return None;
    }
    let tiers: Vec<NameTier> = parts.iter().filter_map(|p| lexicon::tier(p)).collect();
    if tiers
        .iter()
        .any(|t| matches!(t, NameTier::First | NameTier::Surname))
    {
        Some(NameTier::First)
    } else {
        tiers.first().copied()
    }
}

/// "McAllister", "O'Donoghue": Scottish and Irish surname prefixes make any such word a
/// surname, whether or not it is in the list ("Mac" is left out: "MacBook").
fn is_gaelic_surname(word: &str) -> bool {
    let rest = word
        .strip_prefix("Mc")
        .or_else(|| word.strip_prefix("O'"))
        .or_else(|| word.strip_prefix("O’"));
    rest.is_some_and(|r| {
        let mut chars = r.chars();
        chars.next().is_some_and(char::is_uppercase)
            && chars.count() >= 2
            && r.chars().all(char::is_alphabetic)
    }) && !lexicon::is_not_name(word)
}

/// Text written without capitals ("my son brayden is 14"): the sentences do not start with
/// capitals, so capitalisation is no evidence and a known first name counts in lower case.
fn written_in_lower_case(tokens: &[Token<'_>]) -> bool {
    let starts: Vec<&Token<'_>> = tokens
        .iter()
        .filter(|t| t.sentence_start && t.text.chars().next().is_some_and(char::is_alphabetic))
        .collect();
    let capitalised = starts
        .iter()
        .filter(|t| t.text.chars().next().is_some_and(char::is_uppercase))
        .count();
    !starts.is_empty() && capitalised * 2 < starts.len()
}

/// A lower-case word in lower-case text that is a first name and nothing else.
fn is_lower_case_name(tok: &Token<'_>) -> bool {
    tok.text.chars().count() >= 3
        && tok.text.chars().all(|c| c.is_lowercase())
        && lexicon::tier(tok.text) == Some(NameTier::First)
        && !lexicon::is_not_name(tok.text)
}

/// "a boy called X", "an older lad named X", "known as X" (after a person noun).
fn named_before(tokens: &[Token<'_>], i: usize) -> bool {
    let Some(prev) = i.checked_sub(1).map(|p| &tokens[p]) else {
        return false;
    };
    let verb = prev.lower();
    let naming = matches!(verb.as_str(), "called" | "named" | "nicknamed")
        || (verb == "as" && i >= 2 && tokens[i - 2].lower() == "known");
    if !naming {
        return false;
    }
    let from = i.saturating_sub(5);
    tokens[from..i - 1]
        .iter()
        .any(|t| PERSON_NOUNS.contains(&t.lower().as_str()))
}

/// "his friend X", "his dad, X" (a relation word directly before, a comma allowed).
fn relation_before(text: &str, tokens: &[Token<'_>], i: usize) -> bool {
    let Some(prev) = i.checked_sub(1).map(|p| &tokens[p]) else {
        return false;
    };
    let gap = &text[prev.end..tokens[i].start];
    let gap_ok =
        gap.chars().all(|c| c == ' ' || c == ',') && gap.chars().filter(|&c| c == ',').count() <= 1;
    gap_ok && prev.text.chars().all(|c| !c.is_uppercase()) && RELATIONS.contains(&prev.text)
}

/// "X's mum", "X's house".
fn family_after(tokens: &[Token<'_>], i: usize) -> bool {
    tokens[i].is_possessive()
        && tokens
            .get(i + 1)
            .is_some_and(|next| FAMILY_AFTER.contains(&next.text))
}

/// "April Jones": a known surname right after.
fn surname_after(text: &str, tokens: &[Token<'_>], i: usize) -> bool {
    tokens.get(i + 1).is_some_and(|next| {
        adjacent(text, &tokens[i], next)
            && next.is_capitalised()
            && matches!(
                lexicon::tier(next.base()),
                Some(NameTier::Surname | NameTier::SurnameWord)
            )
    })
}

/// A word-like name inside a title-case phrase ("Amazing Grace", "Grace Period") is part
/// of a product or heading, not a person.
fn in_title_case_phrase(text: &str, tokens: &[Token<'_>], i: usize) -> bool {
    let plain_capital = |t: &Token<'_>| t.is_capitalised() && lexicon::tier(t.base()).is_none();
    let before = i
        .checked_sub(1)
        .is_some_and(|p| adjacent(text, &tokens[p], &tokens[i]) && plain_capital(&tokens[p]));
    let after = tokens
        .get(i + 1)
        .is_some_and(|n| adjacent(text, &tokens[i], n) && plain_capital(n));
    before || after
}

/// Whether the capitalised word after a name carries the name on (a surname).
fn continues_name(next: &Token<'_>) -> bool {
    if !is_name_shaped(next) {
        return next.is_initial();
    }
    match name_tier(next.base()) {
        Some(NameTier::ContextName) => false,
        Some(_) => true,
        None => !lexicon::is_not_name(next.base()),
    }
}

/// Two words separated only by spaces on one line.
fn adjacent(text: &str, a: &Token<'_>, b: &Token<'_>) -> bool {
    let gap = &text[a.end..b.start];
    !gap.is_empty() && gap.chars().all(|c| c == ' ' || c == '\t')
}
