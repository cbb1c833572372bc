//! Online handles: @mentions, Discord tags, profile links, names given after "username",
//! "gamertag", "on Xbox as", and words shaped like handles (xX_Sniper_Xx, dark_lord99).

use std::sync::LazyLock;

use regex::Regex;

use super::contact::compile;
use super::tokens::Token;
use super::{FindingKind, Hit};

static AT_HANDLE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?:^|[^\w.@])(@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?)"));

static DISCORD_TAG: LazyLock<Regex> = LazyLock::new(|| compile(r"\b[\w.]{2,32}#\d{4}\b"));

static PROFILE_URL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:https?://)?(?:www\.|m\.)?(?:twitch\.tv|youtube\.com/(?:@|c/|channel/|user/)?|youtu\.be|tiktok\.com/@?|instagram\.com|twitter\.com|x\.com|github\.com|gitlab\.com|steamcommunity\.com/(?:id|profiles)|facebook\.com|reddit\.com/u(?:ser)?|roblox\.com/users|snapchat\.com/add|discord\.gg|discord\.com/users|t\.me|kick\.com)/@?[\w.\-]+",
    )
});

/// Steam's 64-bit account ids.
static STEAM_ID: LazyLock<Regex> = LazyLock::new(|| compile(r"\b7656119\d{10}\b"));

/// A handle named by the words before it: "username: NightCrawler_07", "gamertag is X",
/// "goes by X", "known online as 'X'", "an account named X".
static AFTER_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r#"(?i)(?-u:\b)(user\s?name|gamer\s?tag|tag|handle|screen\s?name|display\s?name|account\s+(?:name|called|named)|alias|ign|psn(?:\s+id)?|steam\s+(?:id|name)|epic\s+(?:id|name)|discord\s+(?:name|tag|username|handle)|known\s+(?:online\s+)?as|goes\s+by|calls\s+(?:himself|herself|themselves)|(?:posts|plays|streams)\s+as)(?-u:\b)\s*(?:is\s+|was\s+|:\s*|=\s*|-\s*|of\s+)?(['"“‘]?)([\w.\-]{3,32})"#,
    )
});

/// A handle named with its platform: "his tag on Roblox is quietstorm", "name on Discord:
/// nightowl". Any word counts, even a plain lower-case one.
static ON_PLATFORM_IS: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r#"(?i)(?-u:\b)(?:(?:gamer\s?)?tag|user\s?name|name|handle|account|profile|id)\s+(?:on|for|in)\s+(?:xbox(?:\s+live)?|psn|playstation|discord|steam|twitch|roblox|minecraft|fortnite|tiktok|instagram|insta|snapchat|snap|youtube|telegram|reddit|github|twitter|kick|hypixel|whatsapp|valorant|epic)\s*(?:is|was|:|=|-)\s*()(['"“‘]?)([\w.\-]{3,32})"#,
    )
});

/// "a user called moonbeam", "an account named nightshade": after an online noun, any word is
/// a handle; after a person noun ("a boy called moonbeam") only one that is not capitalised (a
/// capitalised one is a name, for the name check).
static CALLED: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r#"(?i)(?-u:\b)(user|player|account|profile|channel|gamer|streamer|youtuber|tiktoker|someone\s+online|boy|girl|man|lad|guy|person|someone|teenager|friend)\s+(?:on\s+\w+\s+)?(?:called|named|going\s+by|calling\s+(?:himself|herself|themselves))\s+(['"“‘]?)([\w.\-]{3,32})"#,
    )
});

/// Game roles and characters' types that follow "plays as" without being a handle.
#[rustfmt::skip]
const ROLES: &[&str] = &[
    "sniper", "medic", "support", "tank", "healer", "striker", "goalkeeper", "keeper", "defender", "attacker",
    "mage", "ranger", "assassin", "warrior", "soldier", "girl", "boy", "character", "team", "duo", "squad",
    "solo", "guest", "default", "himself", "herself", "themselves", "someone", "somebody", "another", "other",
    "part", "one", "well", "much", "long", "often", "if", "though", "usual", "normal", "such", "well",
];

/// "on Xbox as DarkLord99", "via Discord as shadowfox".
static ON_PLATFORM_AS: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r#"(?i)(?-u:\b)(on|via)\s+(?:xbox(?:\s+live)?|psn|playstation|discord|steam|twitch|roblox|minecraft|fortnite|tiktok|instagram|insta|snapchat|snap|youtube|telegram|reddit|github|twitter|kick|hypixel)\s+as\s+(['"“‘]?)([\w.\-]{3,32})"#,
    )
});

/// Words that follow "username is" without being one.
#[rustfmt::skip]
const NOT_HANDLES: &[&str] = &[
    "unknown", "not", "known", "the", "a", "an", "his", "her", "their", "and", "or", "unclear", "private",
    "hidden", "deleted", "changed", "different", "same", "anonymous", "redacted", "withheld", "blank", "him",
    "them",
];

/// Tech words shaped like handles (letters then digits) that are not handles.
#[rustfmt::skip]
const TECH_PREFIXES: &[&str] = &[
    "windows", "win", "office", "sha", "aes", "fifa", "ipv", "http", "covid", "python", "php", "ubuntu",
    "iphone", "galaxy", "pixel", "xbox", "year", "room", "level", "base", "rtx", "gtx", "microsoft", "utf",
    "log4", "web3", "mp3", "mp4", "ipv6", "ipv4", "h264", "x264", "win32", "win64",
];

/// Online handles in `text` (whose words are `tokens`).
pub(crate) fn find(text: &str, tokens: &[Token<'_>], out: &mut Vec<Hit>) {
    let mut push = |start: usize, end: usize| {
        out.push(Hit {
            kind: FindingKind::OnlineHandle,
            start,
            end,
        })
    };
    for caps in AT_HANDLE.captures_iter(text) {
        if let Some(h) = caps.get(1)
            && !matches!(h.as_str().to_lowercase().as_str(), "@everyone" | "@here")
        {
            push(h.start(), h.end());
        }
    }
    for m in DISCORD_TAG
        .find_iter(text)
        .chain(PROFILE_URL.find_iter(text))
        .chain(STEAM_ID.find_iter(text))
    {
        push(m.start(), m.end());
    }
    for re in [&*AFTER_KEYWORD, &*ON_PLATFORM_AS] {
        for caps in re.captures_iter(text) {
            // Both patterns capture (keyword, opening quote, handle).
            let (Some(quote), Some(h)) = (caps.get(2), caps.get(3)) else {
                continue;
            };
            let handle = h.as_str().trim_end_matches(['.', '-']);
            let lower = handle.to_lowercase();
            if NOT_HANDLES.contains(&lower.as_str()) || handle.len() < 3 {
                continue;
            }
            // Quoted, or shaped like a handle, or any word straight after "is"/":" — but
            // not a plain lower-case word ("goes by car").
            let quoted = !quote.as_str().is_empty();
            let shaped = handle
                .chars()
                .any(|c| c.is_ascii_digit() || c == '_' || c == '.')
                || handle.chars().skip(1).any(char::is_uppercase)
                || handle.chars().next().is_some_and(char::is_uppercase);
            // "known as Tee" / "calls himself Tee" is a nickname: a name, left to the name
            // check, unless it is shaped like a handle or said to be online.
            let keyword = caps
                .get(1)
                .map(|k| k.as_str().to_lowercase())
                .unwrap_or_default();
            let nickname = (keyword.starts_with("known") && !keyword.contains("online"))
                || keyword.starts_with("calls");
            let plain_word = handle.chars().all(char::is_alphabetic);
            let capitalised = handle.chars().next().is_some_and(char::is_uppercase);
            // A capitalised plain nickname ("known as 'Dozer'") is a name, for the name
            // and nickname checks.
            if nickname && plain_word && capitalised {
                continue;
            }
            // "known as trouble": a lower-case word after plain "known as" is just a word.
            if keyword.starts_with("known") && !keyword.contains("online") && plain_word && !quoted
            {
                continue;
            }
            // After "plays as", "gamertag", "on Xbox as" a plain lower-case word is a
            // handle too ("plays as embertail"); "goes by car" and "known as a" are not.
            // Loose only after an explicit "is"/":" or after "as" ("plays as", "known online
            // as", "calls himself"): "handle this" and "tag along" are verbs.
            let separated = caps
                .get(1)
                .is_some_and(|k| !text[k.end()..quote.start()].trim().is_empty());
            let by_as = keyword.ends_with(" as") || keyword.starts_with("calls");
            let loose = (separated || by_as)
                && !keyword.starts_with("goes")
                && !keyword.starts_with("handle")
                && !ROLES.contains(&lower.as_str());
            if quoted || shaped || loose {
                push(h.start(), h.start() + handle.len());
            }
        }
    }
    for caps in ON_PLATFORM_IS.captures_iter(text) {
        if let Some(h) = caps.get(3) {
            let handle = h.as_str().trim_end_matches(['.', '-']);
            let lower = handle.to_lowercase();
            if !NOT_HANDLES.contains(&lower.as_str()) && handle.len() >= 3 {
                push(h.start(), h.start() + handle.len());
            }
        }
    }
    let lower = text.to_lowercase();
    let called = ["called", "named", "going by", "calling"]
        .iter()
        .any(|w| lower.contains(w));
    for caps in CALLED.captures_iter(if called { text } else { "" }) {
        let (Some(noun), Some(quote), Some(h)) = (caps.get(1), caps.get(2), caps.get(3)) else {
            continue;
        };
        let handle = h.as_str().trim_end_matches(['.', '-']);
        let lower = handle.to_lowercase();
        if NOT_HANDLES.contains(&lower.as_str()) || handle.len() < 3 {
            continue;
        }
        let online = matches!(
            noun.as_str().to_lowercase().as_str(),
            "user"
                | "player"
                | "account"
                | "profile"
                | "channel"
                | "gamer"
                | "streamer"
                | "youtuber"
                | "tiktoker"
        ) || noun.as_str().to_lowercase().contains("online");
        // After a person noun, "called" is often the verb ("a man called today"), so only
        // a quoted lower-case word or one shaped like a handle counts; a capitalised plain
        // word is a name, for the name check.
        let quoted = !quote.as_str().is_empty();
        let capitalised = handle.chars().next().is_some_and(char::is_uppercase);
        let shaped = handle
            .chars()
            .any(|c| c.is_ascii_digit() || c == '_' || c == '.');
        if online || shaped || (quoted && !capitalised) {
            push(h.start(), h.start() + handle.len());
        }
    }
    for tok in tokens {
        if looks_like_handle(tok.text) {
            push(tok.start, tok.end);
        }
    }
}

/// A word that only makes sense as a handle: underscores (xX_Sniper_Xx, dark_lord99),
/// letters then two or more digits (ghost2011, jdonee07), digits inside letters (r3aper,
/// k1ngz), or the xX…Xx decoration.
fn looks_like_handle(word: &str) -> bool {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 || word.chars().count() < 4 {
        return false;
    }
    let lower = word.to_lowercase();
    if TECH_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return false;
    }
    if word.contains('_') {
        return !word.starts_with("__");
    }
    if word.starts_with("xX") && word.ends_with("Xx") {
        return true;
    }
    if !word.chars().all(|c| c.is_ascii_alphanumeric())
        || word.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        return false;
    }
    let trailing_digits = word.chars().rev().take_while(char::is_ascii_digit).count();
    let head = &word[..word.len() - trailing_digits];
    let head_letters_only = head.chars().all(|c| c.is_ascii_alphabetic());
    if head_letters_only {
        return head.len() >= 3 && trailing_digits >= 2;
    }
    // Digits inside letters: a leetspeak word at least five long, lower case (so tech
    // names like "Log4j" or "G2G" in capitals are left alone), or six long with at least
    // four lower-case letters whatever its capitals ("R4zorback", "Gh0stRider9").
    let lower_letters = word.chars().filter(char::is_ascii_lowercase).count();
    (word.len() >= 5
        && word.chars().all(|c| !c.is_ascii_uppercase())
        && !lower.ends_with(char::is_numeric))
        || (word.len() >= 6 && lower_letters >= 4)
}

#[cfg(test)]
mod tests {
    use super::super::tokens::tokenize;
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(text, &tokenize(text), &mut out);
        super::super::merge(out)
            .iter()
            .map(|f| &text[f.start..f.end])
            .collect()
    }

    #[test]
    fn handles_by_shape_and_by_context() {
        assert_eq!(
            found("His Discord is shadowfox#4821 and"),
            ["shadowfox#4821"]
        );
        assert_eq!(found("posts as @zero.cool.uk showing"), ["@zero.cool.uk"]);
        assert_eq!(found("Gamertag is xX_Sniper_Xx; he"), ["xX_Sniper_Xx"]);
        assert_eq!(found("He plays on Xbox as DarkLord99 and"), ["DarkLord99"]);
        assert_eq!(found("goes by dark_lord99 on"), ["dark_lord99"]);
        assert_eq!(found("known as 'lil.hackz' and"), ["lil.hackz"]);
        assert_eq!(
            found("channel twitch.tv/k1ngzgaming shows"),
            ["twitch.tv/k1ngzgaming"]
        );
        assert_eq!(found("from his account jdonee07 and"), ["jdonee07"]);
        assert_eq!(found("a handle of Shadowfox, he"), ["Shadowfox"]);
    }

    #[test]
    fn plain_lower_case_handles_after_strong_cues() {
        assert_eq!(found("she calls herself moonbeam online"), ["moonbeam"]);
        assert_eq!(found("her tag on Xbox is quietstorm and"), ["quietstorm"]);
        assert_eq!(found("On Minecraft he plays as embertail."), ["embertail"]);
        assert_eq!(found("a player called hollowpine sent it"), ["hollowpine"]);
        assert_eq!(found("a boy called 'stormy' messaged"), ["stormy"]);
        assert_eq!(found("the tag on it was R3dSh1ft"), ["R3dSh1ft"]);
        assert_eq!(found("then Gh0stRider9 joined"), ["Gh0stRider9"]);
        for text in [
            "he plays as a sniper",
            "she plays as support",
            "they tag along",
            "he cannot handle this",
            "known as trouble",
            "a boy called Dexter",
            "a man called today about it",
            "Log4Shell and Web3 and MP3s",
        ] {
            assert_eq!(found(text), Vec::<&str>::new(), "{text}");
        }
    }

    #[test]
    fn tech_words_and_mentions_are_not_handles() {
        for text in [
            "He spammed @everyone with links.",
            "Windows 11, Log4j, SHA256, base64, x86, PS5, G2G, 2FA, Office365, Year10",
            "his username is unknown",
            "his username and password",
            "he goes by car to school",
            "an email to it@school.org",
        ] {
            assert_eq!(found(text), Vec::<&str>::new(), "{text}");
        }
    }
}
