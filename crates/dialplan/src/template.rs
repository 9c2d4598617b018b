//! `${…}` substitution in action values.
//!
//! Variables: `${to}` (the dialed number as rewritten so far by `strip`/`prepend`/`set_to`),
//! `${from}` (the caller's user part), `${to_domain}`, `${from_domain}`, `${0}`…`${9}`… (groups of
//! `to_regex`, or of `from_regex` when the rule has no `to_regex`; `${0}` is the whole match) and
//! `${name}` (a named group `(?<name>…)` of either regex). `$$` writes a single `$`; a `$` not
//! followed by `{` or `$` is kept as is. Every reference is checked when the plan compiles.
//! Control characters are dropped from substituted values, so caller data can never inject
//! header lines.

use regex::{CaptureLocations, Regex};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(Box<str>),
    To,
    From,
    ToDomain,
    FromDomain,
    /// A group of the rule's `to_regex`.
    ToGroup(usize),
    /// A group of the rule's `from_regex`.
    FromGroup(usize),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Box<[Piece]>,
}

/// Why a template does not compile, and the byte offset in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError {
    pub(crate) offset: usize,
    pub(crate) reason: String,
}

/// The regular expressions of the rule the template belongs to (for capture references).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Captures<'a> {
    pub(crate) to: Option<&'a Regex>,
    pub(crate) from: Option<&'a Regex>,
}

/// The values a template is rendered with.
#[derive(Debug)]
pub(crate) struct Env<'a> {
    pub(crate) number: &'a str,
    pub(crate) from: &'a str,
    pub(crate) to_domain: &'a str,
    pub(crate) from_domain: &'a str,
    /// The string `to_regex` matched and its group locations, when the rule uses them.
    pub(crate) to_groups: Option<(&'a str, &'a CaptureLocations)>,
    /// The string `from_regex` matched and its group locations, when the rule uses them.
    pub(crate) from_groups: Option<(&'a str, &'a CaptureLocations)>,
}

const BUILTINS: &str = "to, from, to_domain, from_domain";

impl Template {
    /// Compiles `text` for a rule with the given regular expressions.
    pub(crate) fn parse(text: &str, captures: Captures<'_>) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(dollar) = rest.find('$') {
            literal.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                literal.push('$');
                offset += dollar + 2;
                rest = tail;
                continue;
            }
            let Some(inner) = after.strip_prefix('{') else {
                literal.push('$');
                offset += dollar + 1;
                rest = after;
                continue;
            };
            let start = offset + dollar;
            let Some(close) = inner.find('}') else {
                return Err(TemplateError {
                    offset: start,
                    reason: "`${` without a closing `}`".to_owned(),
                });
            };
            let name = &inner[..close];
            let piece = resolve(name, captures).map_err(|reason| TemplateError {
                offset: start,
                reason,
            })?;
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal).into()));
            }
            pieces.push(piece);
            offset += dollar + 2 + close + 1;
            rest = &inner[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal.into()));
        }
        Ok(Template {
            pieces: pieces.into_boxed_slice(),
        })
    }

    /// Whether rendering needs the groups of `to_regex`.
    pub(crate) fn uses_to_groups(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::ToGroup(_)))
    }

    /// Whether rendering needs the groups of `from_regex`.
    pub(crate) fn uses_from_groups(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::FromGroup(_)))
    }

    /// Appends the rendered template to `out`.
    pub(crate) fn render_into(&self, env: &Env<'_>, out: &mut String) {
        for piece in &*self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::To => push_clean(out, env.number),
                Piece::From => push_clean(out, env.from),
                Piece::ToDomain => push_clean(out, env.to_domain),
                Piece::FromDomain => push_clean(out, env.from_domain),
                Piece::ToGroup(i) => push_group(out, env.to_groups, *i),
                Piece::FromGroup(i) => push_group(out, env.from_groups, *i),
            }
        }
    }

    /// The rendered template.
    pub(crate) fn render(&self, env: &Env<'_>) -> String {
        let mut out = String::with_capacity(32);
        self.render_into(env, &mut out);
        out
    }
}

fn resolve(name: &str, captures: Captures<'_>) -> Result<Piece, String> {
    match name {
        "to" => return Ok(Piece::To),
        "from" => return Ok(Piece::From),
        "to_domain" => return Ok(Piece::ToDomain),
        "from_domain" => return Ok(Piece::FromDomain),
        "" => return Err("empty variable name `${}`".to_owned()),
        _ => {}
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        let index: usize = name
            .parse()
            .map_err(|_| format!("group number `{name}` is too large"))?;
        let (regex, piece): (_, fn(usize) -> Piece) = match (captures.to, captures.from) {
            (Some(r), _) => (r, Piece::ToGroup),
            (None, Some(r)) => (r, Piece::FromGroup),
            (None, None) => {
                return Err(format!(
                    "`${{{name}}}` refers to a regex group, but the rule has no `to_regex` or `from_regex`"
                ));
            }
        };
        let groups = regex.captures_len() - 1;
        if index > groups {
            return Err(format!(
                "`${{{name}}}` refers to group {index}, but the regex has {groups} group(s)"
            ));
        }
        return Ok(piece(index));
    }
    if let Some(i) = captures.to.and_then(|r| group_index(r, name)) {
        return Ok(Piece::ToGroup(i));
    }
    if let Some(i) = captures.from.and_then(|r| group_index(r, name)) {
        return Ok(Piece::FromGroup(i));
    }
    Err(format!(
        "unknown variable `${{{name}}}`; known: {BUILTINS}, regex group numbers and names"
    ))
}

fn group_index(regex: &Regex, name: &str) -> Option<usize> {
    regex.capture_names().position(|n| n == Some(name))
}

fn push_group(out: &mut String, groups: Option<(&str, &CaptureLocations)>, index: usize) {
    if let Some((haystack, locations)) = groups
        && let Some((start, end)) = locations.get(index)
    {
        push_clean(out, &haystack[start..end]);
    }
}

/// Appends `s` without ASCII control characters.
pub(crate) fn push_clean(out: &mut String, s: &str) {
    if s.bytes().any(|b| b.is_ascii_control()) {
        out.extend(s.chars().filter(|c| !c.is_ascii_control()));
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(
        to_groups: Option<(&'a str, &'a CaptureLocations)>,
        from_groups: Option<(&'a str, &'a CaptureLocations)>,
    ) -> Env<'a> {
        Env {
            number: "1234",
            from: "alice",
            to_domain: "example.com",
            from_domain: "example.org",
            to_groups,
            from_groups,
        }
    }

    #[test]
    fn builtins_and_escapes() {
        let cases: &[(&str, &str)] = &[
            ("${to}", "1234"),
            ("x${from}y", "xalicey"),
            ("${from}@${to_domain}", "alice@example.com"),
            ("${from_domain}", "example.org"),
            ("$$5", "$5"),
            ("cost $5", "cost $5"),
            ("end$", "end$"),
            ("plain", "plain"),
            ("", ""),
        ];
        for &(text, expected) in cases {
            let t = Template::parse(text, Captures::default()).expect(text);
            assert_eq!(t.render(&env(None, None)), expected, "{text}");
        }
    }

    #[test]
    fn regex_groups_by_number_and_name() {
        let to = Regex::new(r"^\+?(?<cc>49)(\d+)$").expect("valid");
        let from = Regex::new(r"^(?<dept>[a-z]+)-(\d)$").expect("valid");
        let captures = Captures {
            to: Some(&to),
            from: Some(&from),
        };
        let mut to_locs = to.capture_locations();
        to.captures_read(&mut to_locs, "+4930123").expect("matches");
        let mut from_locs = from.capture_locations();
        from.captures_read(&mut from_locs, "sales-7")
            .expect("matches");
        let env = env(Some(("+4930123", &to_locs)), Some(("sales-7", &from_locs)));
        let cases: &[(&str, &str)] = &[
            ("${0}", "+4930123"),
            ("${1}", "49"),
            ("${2}", "30123"),
            ("0${2}", "030123"),
            ("${cc}/${dept}", "49/sales"),
        ];
        for &(text, expected) in cases {
            let t = Template::parse(text, captures).expect(text);
            assert_eq!(t.render(&env), expected, "{text}");
            assert!(t.uses_to_groups() || t.uses_from_groups());
        }
        // Numbered groups fall back to from_regex when there is no to_regex.
        let only_from = Captures {
            to: None,
            from: Some(&from),
        };
        let t = Template::parse("${2}", only_from).expect("valid");
        assert_eq!(t.render(&env), "7");
    }

    #[test]
    fn optional_group_that_did_not_take_part_renders_empty() {
        let to = Regex::new(r"^(\+)?(\d+)$").expect("valid");
        let mut locs = to.capture_locations();
        to.captures_read(&mut locs, "123").expect("matches");
        let t = Template::parse(
            "[${1}]${2}",
            Captures {
                to: Some(&to),
                from: None,
            },
        )
        .expect("valid");
        assert_eq!(t.render(&env(Some(("123", &locs)), None)), "[]123");
    }

    #[test]
    fn errors_point_at_the_dollar() {
        let to = Regex::new(r"^(\d)$").expect("valid");
        let with_to = Captures {
            to: Some(&to),
            from: None,
        };
        let cases: &[(&str, Captures<'_>, usize, &str)] = &[
            ("ab${to", Captures::default(), 2, "without a closing"),
            ("${}", Captures::default(), 0, "empty variable"),
            (
                "x${nope}",
                Captures::default(),
                1,
                "unknown variable `${nope}`",
            ),
            ("$$${1}", Captures::default(), 2, "has no `to_regex`"),
            ("${to}${2}", with_to, 5, "the regex has 1 group(s)"),
            ("${99999999999999999999999}", with_to, 0, "too large"),
        ];
        for (text, captures, offset, reason) in cases {
            let err = Template::parse(text, *captures).expect_err(text);
            assert_eq!(err.offset, *offset, "{text}");
            assert!(err.reason.contains(reason), "{text}: {}", err.reason);
        }
    }

    #[test]
    fn control_characters_are_dropped_from_values() {
        let t = Template::parse("v=${from}", Captures::default()).expect("valid");
        let mut e = env(None, None);
        e.from = "al\r\nX-Evil: 1";
        assert_eq!(t.render(&e), "v=alX-Evil: 1");
    }
}
