//! Stream identities: `ssrc` and `ssrc-group` (RFC 5576), `mid` and `group` (RFC 5888).

use std::fmt;

use super::number;
use crate::error::SdpError;
use crate::model::Attributes;

/// `a=ssrc:<ssrc-id> <attribute>[:<value>]` (RFC 5576 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ssrc<'a> {
    /// The synchronization source.
    pub id: u32,
    /// The source attribute name (`cname`, `msid`, …).
    pub attribute: &'a str,
    /// Its value.
    pub value: Option<&'a str>,
}

impl<'a> Ssrc<'a> {
    /// Parses an `ssrc` value.
    pub fn parse(value: &'a str) -> Result<Ssrc<'a>, SdpError> {
        let (id, rest) = value
            .trim()
            .split_once(|c: char| c.is_ascii_whitespace())
            .ok_or(SdpError::Attribute {
                name: "ssrc",
                reason: "expected <ssrc-id> <attribute>[:<value>]",
            })?;
        let (attribute, value) = match rest.trim().split_once(':') {
            Some((a, v)) => (a, Some(v)),
            None => (rest.trim(), None),
        };
        Ok(Ssrc {
            id: number(id, "ssrc", "SSRC is not a 32-bit number")?,
            attribute,
            value,
        })
    }
}

impl fmt::Display for Ssrc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.attribute)?;
        match self.value {
            Some(v) => write!(f, ":{v}"),
            None => Ok(()),
        }
    }
}

/// `a=ssrc-group:<semantics> <ssrc-id> …` (RFC 5576 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsrcGroup<'a> {
    /// The semantics (`FID`, `SIM`, …).
    pub semantics: &'a str,
    ids: &'a str,
}

impl<'a> SsrcGroup<'a> {
    /// Parses an `ssrc-group` value (every id must be a 32-bit number).
    pub fn parse(value: &'a str) -> Result<SsrcGroup<'a>, SdpError> {
        let value = value.trim();
        let (semantics, ids) = value
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((value, ""));
        if semantics.is_empty() {
            return Err(SdpError::Attribute {
                name: "ssrc-group",
                reason: "missing semantics",
            });
        }
        for id in ids.split_ascii_whitespace() {
            number::<u32>(id, "ssrc-group", "SSRC is not a 32-bit number")?;
        }
        Ok(SsrcGroup { semantics, ids })
    }

    /// The SSRCs of the group, in order.
    pub fn ssrcs(&self) -> impl Iterator<Item = u32> + 'a {
        // Checked by `parse`.
        self.ids
            .split_ascii_whitespace()
            .filter_map(|id| id.parse().ok())
    }
}

/// `a=group:<semantics> <identification-tag> …` (RFC 5888 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group<'a> {
    /// The semantics (`BUNDLE`, `LS`, `FID`).
    pub semantics: &'a str,
    mids: &'a str,
}

impl<'a> Group<'a> {
    /// Parses a `group` value.
    pub fn parse(value: &'a str) -> Result<Group<'a>, SdpError> {
        let value = value.trim();
        let (semantics, mids) = value
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((value, ""));
        if semantics.is_empty() {
            return Err(SdpError::Attribute {
                name: "group",
                reason: "missing semantics",
            });
        }
        Ok(Group { semantics, mids })
    }

    /// The media identification tags (`a=mid` values) of the group, in order.
    pub fn mids(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.mids.split_ascii_whitespace()
    }
}

impl Attributes {
    /// Every well-formed `ssrc`, in order.
    pub fn ssrcs(&self) -> impl Iterator<Item = Ssrc<'_>> {
        self.all("ssrc")
            .filter_map(|a| Ssrc::parse(a.value_str()).ok())
    }

    /// Every well-formed `ssrc-group`, in order.
    pub fn ssrc_groups(&self) -> impl Iterator<Item = SsrcGroup<'_>> {
        self.all("ssrc-group")
            .filter_map(|a| SsrcGroup::parse(a.value_str()).ok())
    }

    /// `a=mid`.
    pub fn mid(&self) -> Option<&str> {
        self.value("mid").map(str::trim)
    }

    /// Every well-formed `group`, in order.
    pub fn groups(&self) -> impl Iterator<Item = Group<'_>> {
        self.all("group")
            .filter_map(|a| Group::parse(a.value_str()).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Attribute;

    #[test]
    fn lookups() {
        let attrs: Attributes = vec![
            Attribute::new("ssrc", "3735928559 cname:user@example.com"),
            Attribute::new("ssrc", "12 label"),
            Attribute::new("ssrc", "bogus"),
            Attribute::new("ssrc-group", "FID 1 2"),
            Attribute::new("mid", " audio"),
            Attribute::new("group", "BUNDLE 0 1"),
        ]
        .into();
        let ssrcs: Vec<_> = attrs.ssrcs().collect();
        assert_eq!(ssrcs.len(), 2);
        assert_eq!(ssrcs[0].id, 0xdead_beef);
        assert_eq!(ssrcs[0].value, Some("user@example.com"));
        assert_eq!(ssrcs[1].to_string(), "12 label");
        let group = attrs.ssrc_groups().next().unwrap();
        assert_eq!(group.ssrcs().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(attrs.mid(), Some("audio"));
        let bundle = attrs.groups().next().unwrap();
        assert_eq!(bundle.semantics, "BUNDLE");
        assert_eq!(bundle.mids().collect::<Vec<_>>(), vec!["0", "1"]);
    }

    #[test]
    fn malformed_values_are_errors() {
        assert!(Ssrc::parse("12").is_err());
        assert!(Ssrc::parse("4294967296 cname:x").is_err());
        assert!(SsrcGroup::parse("FID 1 x").is_err());
        assert!(SsrcGroup::parse("").is_err());
        assert!(Group::parse("").is_err());
        assert_eq!(Group::parse("LS").unwrap().mids().count(), 0);
    }
}
