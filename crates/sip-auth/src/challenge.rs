//! `WWW-Authenticate` / `Proxy-Authenticate` values: built by the server, parsed
//! by the client (RFC 3261 §22.1, §25.1 `challenge`; RFC 7616 §3.3).

use std::borrow::Cow;
use std::fmt;

use crate::algorithm::Algorithm;
use crate::error::{AuthError, echo};
use crate::params::{Params, UnknownNames, set_once, strip_digest_scheme, write_quoted};

/// Quality of protection. Only `auth` exists here: `auth-int` (a hash over the
/// body) is never offered and is rejected when received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: the response covers method, digest-uri, nonce, cnonce and nc.
    Auth,
}

impl Qop {
    /// The token as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
        }
    }
}

/// A Digest challenge (RFC 3261 §22.1, RFC 7616 §3.3).
///
/// Borrows from the parsed header value; [`Challenge::into_owned`] detaches it.
/// `Display` writes the header value, e.g.
/// `Digest realm="example.test", nonce="…", algorithm=SHA-256, qop="auth"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge<'a> {
    /// Protection space, shown to users and part of HA1.
    pub realm: Cow<'a, str>,
    /// Server nonce (see [`crate::NonceIssuer`]).
    pub nonce: Cow<'a, str>,
    /// Opaque string the client echoes back unchanged.
    pub opaque: Option<Cow<'a, str>>,
    /// Digest algorithm; `MD5` when the parameter is absent.
    pub algorithm: Algorithm,
    /// Offered quality of protection; `None` means an RFC 2069 style challenge.
    pub qop: Option<Qop>,
    /// The previous request was refused only because its nonce was stale: the
    /// client retries with the new nonce without asking the user again.
    pub stale: bool,
}

impl<'a> Challenge<'a> {
    /// A server challenge: `qop="auth"`, no opaque, not stale.
    pub fn new(
        realm: impl Into<Cow<'a, str>>,
        nonce: impl Into<Cow<'a, str>>,
        algorithm: Algorithm,
    ) -> Challenge<'a> {
        Challenge {
            realm: realm.into(),
            nonce: nonce.into(),
            opaque: None,
            algorithm,
            qop: Some(Qop::Auth),
            stale: false,
        }
    }

    /// One challenge per supported algorithm in [`Algorithm::PREFERENCE`] order,
    /// all with the same nonce: the server sends each as its own header field,
    /// preferred first (RFC 8760 §2.4).
    pub fn offer(realm: &'a str, nonce: &'a str, stale: bool) -> [Challenge<'a>; 2] {
        Algorithm::PREFERENCE.map(|algorithm| Challenge {
            stale,
            ..Challenge::new(realm, nonce, algorithm)
        })
    }

    /// Parses a `WWW-Authenticate` or `Proxy-Authenticate` value.
    ///
    /// `realm` and `nonce` are required; `qop` is a list of which `auth` must be
    /// a member if present; `stale` is true only for `true` (case-insensitive,
    /// RFC 2617 §3.2.1); `domain`, `charset`, `userhash` and unknown parameters
    /// are ignored; a repeated parameter is an error.
    pub fn parse(value: &'a str) -> Result<Challenge<'a>, AuthError> {
        let (list, base) = strip_digest_scheme(value)?;
        let mut realm = None;
        let mut nonce = None;
        let mut opaque = None;
        let mut algorithm = None;
        let mut qop = None;
        let mut stale = None;
        let mut unknown = UnknownNames::new();
        for param in Params::new(list, base) {
            let param = param?;
            let name = param.name;
            let is = |known: &str| name.eq_ignore_ascii_case(known);
            if is("realm") {
                set_once(&mut realm, name, param.value.unescape())?;
            } else if is("nonce") {
                set_once(&mut nonce, name, param.value.unescape())?;
            } else if is("opaque") {
                set_once(&mut opaque, name, param.value.unescape())?;
            } else if is("algorithm") {
                set_once(&mut algorithm, name, param.value.raw())?;
            } else if is("qop") {
                set_once(&mut qop, name, param.value.raw())?;
            } else if is("stale") {
                set_once(&mut stale, name, param.value.raw())?;
            } else {
                unknown.insert(name)?;
            }
        }
        let realm = realm.ok_or(AuthError::MissingParam { name: "realm" })?;
        let nonce = nonce.ok_or(AuthError::MissingParam { name: "nonce" })?;
        if nonce.is_empty() {
            return Err(AuthError::InvalidParam {
                name: "nonce",
                reason: "empty",
            });
        }
        Ok(Challenge {
            realm,
            nonce,
            opaque,
            algorithm: algorithm.map_or(Ok(Algorithm::Md5), Algorithm::parse)?,
            qop: qop.map(parse_qop_options).transpose()?,
            stale: stale.is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// Picks the challenge to answer among several header values: the one with
    /// the most preferred supported algorithm, the first of equals. Values that
    /// do not parse (other schemes, unsupported algorithms) are skipped.
    pub fn choose<I>(values: I) -> Option<Challenge<'a>>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let rank = |c: &Challenge<'_>| {
            Algorithm::PREFERENCE
                .iter()
                .position(|&a| a == c.algorithm)
                .expect("every algorithm has a preference rank")
        };
        let mut best: Option<Challenge<'a>> = None;
        for challenge in values.into_iter().filter_map(|v| Challenge::parse(v).ok()) {
            if best.as_ref().is_none_or(|b| rank(&challenge) < rank(b)) {
                best = Some(challenge);
            }
        }
        best
    }

    /// Detaches the challenge from the buffer it was parsed from.
    pub fn into_owned(self) -> Challenge<'static> {
        Challenge {
            realm: Cow::Owned(self.realm.into_owned()),
            nonce: Cow::Owned(self.nonce.into_owned()),
            opaque: self.opaque.map(|o| Cow::Owned(o.into_owned())),
            algorithm: self.algorithm,
            qop: self.qop,
            stale: self.stale,
        }
    }
}

/// A challenge's `qop-options`: a comma-separated list that must contain `auth`.
fn parse_qop_options(list: &str) -> Result<Qop, AuthError> {
    if list
        .split(',')
        .any(|q| q.trim_matches([' ', '\t']).eq_ignore_ascii_case("auth"))
    {
        Ok(Qop::Auth)
    } else {
        Err(AuthError::UnsupportedQop { qop: echo(list) })
    }
}

impl Challenge<'_> {
    /// Writes the header value (the same text as `Display`) without going
    /// through the formatting machinery: the hot path of every 401/407.
    pub fn write_value(&self, out: &mut impl fmt::Write) -> fmt::Result {
        out.write_str("Digest realm=")?;
        write_quoted(out, &self.realm)?;
        out.write_str(", nonce=")?;
        write_quoted(out, &self.nonce)?;
        if let Some(opaque) = &self.opaque {
            out.write_str(", opaque=")?;
            write_quoted(out, opaque)?;
        }
        out.write_str(", algorithm=")?;
        out.write_str(self.algorithm.as_str())?;
        if let Some(qop) = self.qop {
            out.write_str(", qop=\"")?;
            out.write_str(qop.as_str())?;
            out.write_str("\"")?;
        }
        if self.stale {
            out.write_str(", stale=true")?;
        }
        Ok(())
    }
}

impl fmt::Display for Challenge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_value(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_the_wire_format() {
        let mut c = Challenge::new("example.test", "abc123", Algorithm::Sha256);
        assert_eq!(
            c.to_string(),
            r#"Digest realm="example.test", nonce="abc123", algorithm=SHA-256, qop="auth""#
        );
        c.opaque = Some("op\"aque".into());
        c.stale = true;
        assert_eq!(
            c.to_string(),
            r#"Digest realm="example.test", nonce="abc123", opaque="op\"aque", algorithm=SHA-256, qop="auth", stale=true"#
        );
    }

    #[test]
    fn offer_lists_sha256_first_with_one_nonce() {
        let [first, second] = Challenge::offer("example.test", "n1", true);
        assert_eq!(first.algorithm, Algorithm::Sha256);
        assert_eq!(second.algorithm, Algorithm::Md5);
        assert!(first.stale && second.stale);
        assert_eq!(first.nonce, second.nonce);
    }

    #[test]
    fn display_then_parse_round_trips() {
        let mut c = Challenge::new(r#"odd "realm" \ here"#, "n0nce", Algorithm::Md5);
        c.opaque = Some("5ccc069c403ebaf9f0171e9517f40e41".into());
        c.stale = true;
        let text = c.to_string();
        assert_eq!(Challenge::parse(&text).unwrap(), c);
    }

    #[test]
    fn parses_rfc_7616_challenge() {
        let value = "Digest\n realm=\"http-auth@example.org\",\n qop=\"auth, auth-int\",\n \
                     algorithm=SHA-256,\n nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\n \
                     opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
        let c = Challenge::parse(value).unwrap();
        assert_eq!(c.realm, "http-auth@example.org");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.qop, Some(Qop::Auth));
        assert_eq!(c.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
        assert_eq!(
            c.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
        assert!(!c.stale);
    }

    #[test]
    fn parse_table() {
        let ok = [
            (
                "Digest realm=\"r\", nonce=\"n\"",
                Algorithm::Md5,
                None,
                false,
            ),
            (
                "digest REALM=r,NONCE=n,qop=auth",
                Algorithm::Md5,
                Some(Qop::Auth),
                false,
            ),
            (
                "Digest realm=\"r\", nonce=\"n\", stale=TRUE",
                Algorithm::Md5,
                None,
                true,
            ),
            (
                "Digest realm=\"r\", nonce=\"n\", stale=\"true\"",
                Algorithm::Md5,
                None,
                true,
            ),
            (
                "Digest realm=\"r\", nonce=\"n\", stale=no",
                Algorithm::Md5,
                None,
                false,
            ),
            (
                "Digest realm=\"r\", nonce=\"n\", algorithm=sha-256, domain=\"sip:example.test\"",
                Algorithm::Sha256,
                None,
                false,
            ),
        ];
        for (value, alg, qop, stale) in ok {
            let c = Challenge::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!((c.algorithm, c.qop, c.stale), (alg, qop, stale), "{value}");
        }
        let bad = [
            ("Basic realm=\"r\"", AuthError::NotDigest),
            (
                "Digest nonce=\"n\"",
                AuthError::MissingParam { name: "realm" },
            ),
            (
                "Digest realm=\"r\"",
                AuthError::MissingParam { name: "nonce" },
            ),
            (
                "Digest realm=\"r\", nonce=\"\"",
                AuthError::InvalidParam {
                    name: "nonce",
                    reason: "empty",
                },
            ),
            (
                "Digest realm=\"r\", realm=\"s\", nonce=\"n\"",
                AuthError::DuplicateParam {
                    name: "realm".into(),
                },
            ),
            (
                "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
                AuthError::UnsupportedQop {
                    qop: "auth-int".into(),
                },
            ),
            (
                "Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess",
                AuthError::SessionAlgorithm {
                    base: Algorithm::Md5,
                },
            ),
            (
                "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256",
                AuthError::UnsupportedAlgorithm {
                    algorithm: "SHA-512-256".into(),
                },
            ),
        ];
        for (value, want) in bad {
            assert_eq!(Challenge::parse(value), Err(want), "{value}");
        }
    }

    #[test]
    fn choose_prefers_the_strongest_supported_algorithm() {
        let values = [
            "Digest realm=\"r\", nonce=\"a\", algorithm=MD5, qop=\"auth\"",
            "Digest realm=\"r\", nonce=\"b\", algorithm=SHA-512-256, qop=\"auth\"",
            "Digest realm=\"r\", nonce=\"c\", algorithm=SHA-256, qop=\"auth\"",
            "Digest realm=\"r\", nonce=\"d\", algorithm=SHA-256, qop=\"auth\"",
        ];
        let chosen = Challenge::choose(values).unwrap();
        assert_eq!(chosen.nonce, "c");
        assert_eq!(Challenge::choose(["Basic realm=\"r\""]), None);
        assert_eq!(
            Challenge::choose(values[..2].iter().copied())
                .unwrap()
                .nonce,
            "a"
        );
    }

    #[test]
    fn into_owned_keeps_every_field() {
        let text = String::from("Digest realm=\"r\", nonce=\"n\", opaque=\"o\", stale=true");
        let owned = Challenge::parse(&text).unwrap().into_owned();
        drop(text);
        assert_eq!(owned.realm, "r");
        assert_eq!(owned.opaque.as_deref(), Some("o"));
        assert!(owned.stale);
    }
}
