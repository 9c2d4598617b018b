//! Fuzz target for the values the dialplan reads outside TOML structure: number patterns
//! ([`NumberPattern`], the `to`/`from` matcher the switch's call permissions and the HTTP API
//! also use), call times ([`UnixTime`], `switchboard dialplan test --at`) and call sources
//! ([`Source::parse`], `--source`).
//!
//! Input: a pattern on the first line, candidate numbers on the following lines. For any input,
//! nothing panics, and:
//! - a pattern compiles exactly when it follows the grammar of `dialplans/README.md`, and then
//!   matches a candidate exactly when an independent translation of it into an anchored regular
//!   expression does; a literal matches only itself; the text reads back unchanged;
//! - a time that parses prints (RFC 3339, UTC) a text that parses to the same second, for
//!   years 0000–9999;
//! - a source that parses is `unknown` or has a non-empty name.
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz dialplan_values -- -max_total_time=600`.
//! Seeds are in `corpus/dialplan_values/seed-*`.

#![no_main]

use std::fmt::Write as _;

use libfuzzer_sys::fuzz_target;
use regex::bytes::Regex;
use sb_dialplan::{NumberPattern, Source, UnixTime};

/// The characters a class or a literal element may hold: printable ASCII but space.
fn printable(b: u8) -> bool {
    b.is_ascii_graphic()
}

/// Appends a regex class matching exactly the bytes of `set`.
fn push_class(re: &mut String, set: &[bool; 128]) {
    re.push('[');
    for (b, _) in set.iter().enumerate().filter(|&(_, &on)| on) {
        write!(re, "\\x{{{b:02x}}}").expect("writing to a String cannot fail");
    }
    re.push(']');
}

/// The pattern (after `_`) as an anchored byte regex, following the README's table; `None`
/// when the README's grammar refuses it.
fn reference(pattern: &[u8]) -> Option<String> {
    let mut re = String::from("(?s-u)^");
    let mut elements = 0;
    let mut tail = None;
    let mut i = 0;
    while i < pattern.len() {
        let b = pattern[i];
        if tail.is_some() || !printable(b) {
            return None;
        }
        match b {
            b'X' | b'x' => re.push_str("[0-9]"),
            b'Z' | b'z' => re.push_str("[1-9]"),
            b'N' | b'n' => re.push_str("[2-9]"),
            b'.' => tail = Some(".+"),
            b'!' => tail = Some(".*"),
            b'-' => {}
            b']' => return None,
            b'[' => {
                let mut set = [false; 128];
                i += 1;
                loop {
                    let c = *pattern.get(i)?;
                    if c == b']' {
                        break;
                    }
                    if !printable(c) || c == b'[' {
                        return None;
                    }
                    match (pattern.get(i + 1), pattern.get(i + 2)) {
                        (Some(b'-'), Some(&last)) if last != b']' => {
                            if !(last.is_ascii() && !last.is_ascii_control() && last >= c) {
                                return None;
                            }
                            set[usize::from(c)..=usize::from(last)].fill(true);
                            i += 3;
                        }
                        _ => {
                            set[usize::from(c)] = true;
                            i += 1;
                        }
                    }
                }
                if !set.contains(&true) {
                    return None;
                }
                push_class(&mut re, &set);
            }
            _ => write!(re, "\\x{{{b:02x}}}").expect("writing to a String cannot fail"),
        }
        if !matches!(b, b'.' | b'!' | b'-') {
            elements += 1;
        }
        i += 1;
    }
    if elements == 0 && tail.is_none() {
        return None;
    }
    re.push_str(tail.unwrap_or(""));
    re.push('$');
    Some(re)
}

fn check_pattern(text: &str, candidates: &[&str]) {
    let parsed = NumberPattern::parse(text);
    if let Ok(p) = &parsed {
        assert_eq!(p.as_str(), text);
        assert_eq!(p.to_string(), text);
        assert_eq!(p.is_pattern(), text.starts_with('_'));
    }
    let Some(body) = text.strip_prefix('_') else {
        assert_eq!(parsed.is_ok(), !text.is_empty(), "literal {text:?}");
        if let Ok(p) = parsed {
            assert!(p.matches(text));
            for c in candidates {
                assert_eq!(p.matches(c), *c == text, "literal {text:?} against {c:?}");
            }
        }
        return;
    };
    let expected = reference(body.as_bytes());
    assert_eq!(
        parsed.is_ok(),
        expected.is_some(),
        "pattern {text:?}: compiler says {parsed:?}, the README's grammar {expected:?}"
    );
    let (Ok(p), Some(re)) = (parsed, expected) else {
        return;
    };
    let re = Regex::new(&re).expect("the reference regex is well formed");
    for c in candidates {
        assert_eq!(
            p.matches(c),
            re.is_match(c.as_bytes()),
            "pattern {text:?} against {c:?} (reference {re})"
        );
    }
}

fn check_time(text: &str) {
    let Ok(t) = text.parse::<UnixTime>() else {
        return;
    };
    let printed = t.to_string();
    // Years 0000–9999 print as `YYYY-MM-DDTHH:MM:SSZ`; others have no RFC 3339 form.
    if printed.len() == 20 && printed.starts_with(|c: char| c.is_ascii_digit()) {
        assert_eq!(
            printed.parse::<UnixTime>().ok(),
            Some(t),
            "{text:?} printed as {printed}"
        );
    }
}

fn check_source(text: &str) {
    match Source::parse(text) {
        Ok(Source::User { name, groups }) => assert!(!name.is_empty() && groups.is_empty()),
        Ok(Source::Trunk { name }) => assert!(!name.is_empty()),
        Ok(Source::Unknown) => assert_eq!(text, "unknown"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    let candidates: Vec<&str> = lines.collect();
    check_pattern(first, &candidates);
    check_time(first);
    check_source(first);
});
