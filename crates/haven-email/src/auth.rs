//! `Authentication-Results` (RFC 8601): what the receiving server found when it checked SPF,
//! DKIM and DMARC.
//!
//! Anyone can put such a header in a message, so only the one carrying the configured
//! authserv-id (the receiving server's own name) is believed, and of several carrying it
//! only the topmost (the last added, by the receiving server itself). The receiving server
//! should also remove incoming headers with its own id; this does not rely on it.

use serde::Serialize;

/// One `Authentication-Results` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthenticationResults {
    /// Lower-cased.
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// One `method=result` with its properties (`header.d=…`, `smtp.mailfrom=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodResult {
    /// Lower-cased, without a version (`dkim`, `spf`, `dmarc`, …).
    pub method: String,
    /// Lower-cased (`pass`, `fail`, `softfail`, `none`, …).
    pub result: String,
    /// `ptype.property` (lower-cased) → value.
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A method's overall verdict for the staff page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not checked, or neither pass nor fail (none, neutral, temperror, …).
    Other,
}

impl AuthenticationResults {
    /// The verdict of one method: pass if any result for it passed, fail if any failed
    /// (and none passed), otherwise other.
    pub fn verdict(&self, method: &str) -> Verdict {
        let mut verdict = Verdict::Other;
        for r in self.results.iter().filter(|r| r.method == method) {
            match r.result.as_str() {
                "pass" => return Verdict::Pass,
                "fail" | "softfail" | "permerror" => verdict = Verdict::Fail,
                _ => {}
            }
        }
        verdict
    }

    pub fn spf(&self) -> Verdict {
        self.verdict("spf")
    }

    pub fn dkim(&self) -> Verdict {
        self.verdict("dkim")
    }

    pub fn dmarc(&self) -> Verdict {
        self.verdict("dmarc")
    }

    /// The results vouch for `from_domain`: DMARC passed (for that domain, when the result
    /// names it), or SPF passed for that domain (or a subdomain of it) and DKIM passed with
    /// a signing domain that is that domain (or a subdomain of it).
    pub fn verifies(&self, from_domain: &str) -> bool {
        let from_domain = from_domain.to_ascii_lowercase();
        let dmarc = self.results.iter().any(|r| {
            r.method == "dmarc"
                && r.result == "pass"
                && r.property("header.from")
                    .is_none_or(|d| domain_of(d) == from_domain)
        });
        if dmarc {
            return true;
        }
        let spf = self.results.iter().any(|r| {
            r.method == "spf"
                && r.result == "pass"
                && r.property("smtp.mailfrom")
                    .or_else(|| r.property("smtp.helo"))
                    .is_some_and(|d| aligned(&domain_of(d), &from_domain))
        });
        let dkim = self.results.iter().any(|r| {
            r.method == "dkim"
                && r.result == "pass"
                && r.property("header.d")
                    .or_else(|| r.property("header.i"))
                    .is_some_and(|d| aligned(&domain_of(d), &from_domain))
        });
        spf && dkim
    }
}

/// The domain part of `user@domain`, `@domain` or `domain`, lower-cased.
fn domain_of(value: &str) -> String {
    let value = value.trim().trim_matches(['<', '>', '"']);
    let domain = value.rsplit_once('@').map_or(value, |(_, d)| d);
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// The same domain, or a subdomain of the sender's (`mail.example.org` for `example.org`).
fn aligned(domain: &str, from_domain: &str) -> bool {
    !domain.is_empty()
        && (domain == from_domain
            || domain
                .strip_suffix(from_domain)
                .is_some_and(|head| head.ends_with('.')))
}

/// The first (topmost) header with this authserv-id; `None` if none carries it.
pub fn results_for<'a>(
    all: &'a [AuthenticationResults],
    authserv_id: &str,
) -> Option<&'a AuthenticationResults> {
    let wanted = authserv_id.trim();
    if wanted.is_empty() {
        return None;
    }
    all.iter()
        .find(|r| r.authserv_id.eq_ignore_ascii_case(wanted))
}

/// Parses one header value. `None` when it has no authserv-id.
pub fn parse_header(value: &str) -> Option<AuthenticationResults> {
    let text = strip_comments(value);
    let mut segments = split_outside_quotes(&text, ';').into_iter();
    let head = segments.next()?;
    let authserv_id = head.split_whitespace().next()?.to_ascii_lowercase();
    if authserv_id.is_empty() || authserv_id.len() > 255 {
        return None;
    }
    let mut results = Vec::new();
    for segment in segments.take(64) {
        let mut tokens = split_outside_quotes(&segment, ' ')
            .into_iter()
            .flat_map(|t| {
                t.split(['\t', '\r', '\n'])
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|t| !t.is_empty());
        let Some(first) = tokens.next() else {
            continue;
        };
        let Some((method, result)) = first.split_once('=') else {
            continue;
        };
        let method = method
            .split('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let result = result.trim_matches('"').to_ascii_lowercase();
        if method.is_empty() || method == "none" {
            continue;
        }
        let properties = tokens
            .take(32)
            .filter_map(|t| {
                let (k, v) = t.split_once('=')?;
                Some((k.to_ascii_lowercase(), v.trim_matches('"').to_string()))
            })
            .collect();
        results.push(MethodResult {
            method,
            result,
            properties,
        });
    }
    Some(AuthenticationResults {
        authserv_id,
        results,
    })
}

/// Removes RFC 5322 comments `( … )` (nested), leaving quoted strings alone.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                out.push(' ');
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn split_outside_quotes(text: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c == sep && !quoted {
            out.push(std::mem::take(&mut current).trim().to_string());
        } else {
            current.push(c);
        }
    }
    out.push(current.trim().to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_typical_header() {
        let r = parse_header(
            "mx.haven.test; spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=referrer@school.example; \
             dkim=pass (2048-bit key) header.d=school.example header.s=sel; dmarc=pass action=none header.from=school.example",
        )
        .expect("parsed");
        assert_eq!(r.authserv_id, "mx.haven.test");
        assert_eq!(r.spf(), Verdict::Pass);
        assert_eq!(r.dkim(), Verdict::Pass);
        assert_eq!(r.dmarc(), Verdict::Pass);
        assert!(r.verifies("school.example"));
        assert!(!r.verifies("other.example"));
    }

    #[test]
    fn spf_and_dkim_must_both_align_without_dmarc() {
        let r = parse_header(
            "mx.haven.test 1; spf=pass smtp.mailfrom=bounce@mail.school.example; dkim=pass header.d=school.example",
        )
        .expect("parsed");
        assert!(r.verifies("school.example"));
        let spf_only =
            parse_header("mx.haven.test; spf=pass smtp.mailfrom=school.example; dkim=fail header.d=school.example")
                .expect("parsed");
        assert!(!spf_only.verifies("school.example"));
        assert_eq!(spf_only.dkim(), Verdict::Fail);
        let other_signer = parse_header(
            "mx.haven.test; spf=pass smtp.mailfrom=school.example; dkim=pass header.d=evilschool.example",
        )
        .expect("parsed");
        assert!(!other_signer.verifies("school.example"));
    }

    #[test]
    fn none_and_junk_never_panic() {
        let r = parse_header("mx.haven.test; none").expect("parsed");
        assert!(r.results.is_empty());
        assert!(parse_header("").is_none());
        assert!(parse_header(";;;").is_none());
        let _ = parse_header("a; b=\"unterminated; (c (d) e=f");
    }
}
