//! The `user_text` filter of the staff templates: text someone outside typed, isolated and
//! with its invisible characters shown.
//!
//! Bidi controls and zero-width characters are allowed in answers (they occur in real names
//! and right-to-left languages), but on a staff page U+202E could reorder what staff read
//! ("gpj.exe" shown as "exe.jpg") and a zero-width space hides a difference between two
//! names. So each value is put in `<bdi dir="auto">` (its direction cannot leak into the
//! page around it) and every such character is also shown as a visible marker, such as
//! `[U+202E]`, in `<span class="haven-invisible">` with a title saying what it is. Everything
//! is HTML-escaped; a value that had control characters stored before intake refused them
//! shows U+FFFD in their place.

use minijinja::Value;

/// What an invisible character is, for the marker's title; `None` for visible ones.
fn invisible_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{200B}' => "zero-width space",
        '\u{200C}' => "zero-width non-joiner",
        '\u{200D}' => "zero-width joiner",
        '\u{200E}' => "left-to-right mark",
        '\u{200F}' => "right-to-left mark",
        '\u{202A}' => "left-to-right embedding",
        '\u{202B}' => "right-to-left embedding",
        '\u{202C}' => "pop directional formatting",
        '\u{202D}' => "left-to-right override",
        '\u{202E}' => "right-to-left override",
        '\u{2066}' => "left-to-right isolate",
        '\u{2067}' => "right-to-left isolate",
        '\u{2068}' => "first strong isolate",
        '\u{2069}' => "pop directional isolate",
        '\u{FEFF}' => "zero-width no-break space",
        _ => return None,
    })
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#x27;"),
        c if haven_core::answers::is_forbidden_character(c) => out.push('\u{FFFD}'),
        c => out.push(c),
    }
}

/// `text` as safe HTML: isolated, escaped, invisible characters marked.
pub fn user_text_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 24);
    out.push_str("<bdi dir=\"auto\">");
    for c in text.chars() {
        match invisible_name(c) {
            Some(name) => {
                let code = u32::from(c);
                out.push_str(&format!(
                    "<span class=\"haven-invisible\" title=\"Invisible character: {name}\">[U+{code:04X}]</span>"
                ));
            }
            None => escape_into(&mut out, c),
        }
    }
    out.push_str("</bdi>");
    out
}

/// The minijinja filter (any value: strings as above, others by their text).
pub fn user_text(value: &Value) -> Value {
    let text = match value.as_str() {
        Some(s) => s.to_owned(),
        None if value.is_undefined() || value.is_none() => String::new(),
        None => value.to_string(),
    };
    Value::from_safe_string(user_text_html(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolates_escapes_and_marks() {
        assert_eq!(
            user_text_html("a<b>\u{202E}gpj.exe"),
            "<bdi dir=\"auto\">a&lt;b&gt;<span class=\"haven-invisible\" title=\"Invisible character: right-to-left override\">[U+202E]</span>gpj.exe</bdi>"
        );
        assert!(user_text_html("Zo\u{200B}ë").contains("[U+200B]"));
        assert!(user_text_html("x\u{0}y").contains("x\u{FFFD}y"));
        assert_eq!(
            user_text_html("Zoë Ó'Brien"),
            "<bdi dir=\"auto\">Zoë Ó&#x27;Brien</bdi>"
        );
    }
}
