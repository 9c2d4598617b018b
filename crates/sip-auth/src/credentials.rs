//! `Authorization` / `Proxy-Authorization` values (RFC 3261 §22.2, §22.3,
//! §25.1 `credentials`; RFC 2617 §3.2.2; RFC 7616 §3.4).

use std::borrow::Cow;
use std::fmt;

use crate::algorithm::Algorithm;
use crate::challenge::Qop;
use crate::error::{AuthError, echo};
use crate::params::{Params, UnknownNames, set_once, strip_digest_scheme};

/// The `qop=auth` part of a response: present together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QopFields<'a> {
    /// `qop` as sent (hashed verbatim).
    pub(crate) qop_raw: &'a str,
    pub(crate) cnonce: Cow<'a, str>,
    /// `nc` as sent: 8 hex digits, hashed verbatim.
    pub(crate) nc_raw: &'a str,
    pub(crate) nc: u32,
}

/// Digest credentials parsed from an `Authorization` or `Proxy-Authorization`
/// value. Borrows from the header value; values are unescaped only when they
/// contain quoted-pairs.
///
/// `Debug` redacts `response` (it allows an offline guess of the password).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    username: Cow<'a, str>,
    realm: Cow<'a, str>,
    nonce: Cow<'a, str>,
    uri: Cow<'a, str>,
    response: &'a str,
    algorithm: Algorithm,
    opaque: Option<Cow<'a, str>>,
    qop: Option<QopFields<'a>>,
}

impl<'a> Credentials<'a> {
    /// Parses a credentials value.
    ///
    /// Required: `username`, `realm`, `nonce`, `uri`, `response`. `algorithm`
    /// defaults to `MD5`. With `qop` (which must be `auth`), `cnonce` and `nc`
    /// are required; without it they are refused. `response` must be a hex
    /// digest of the algorithm's length, `nc` exactly 8 hex digits and not zero.
    /// `userhash=true` is refused (hashed usernames are never offered). Unknown
    /// parameters are ignored; any parameter given twice is an error.
    pub fn parse(value: &'a str) -> Result<Credentials<'a>, AuthError> {
        let (list, base) = strip_digest_scheme(value)?;
        let mut username = None;
        let mut realm = None;
        let mut nonce = None;
        let mut uri = None;
        let mut response = None;
        let mut algorithm = None;
        let mut cnonce = None;
        let mut nc = None;
        let mut qop = None;
        let mut opaque = None;
        let mut userhash = None;
        let mut unknown = UnknownNames::new();
        for param in Params::new(list, base) {
            let param = param?;
            let name = param.name;
            let value = param.value;
            let is = |known: &str| name.eq_ignore_ascii_case(known);
            if is("username") {
                set_once(&mut username, name, value.unescape())?;
            } else if is("realm") {
                set_once(&mut realm, name, value.unescape())?;
            } else if is("nonce") {
                set_once(&mut nonce, name, value.unescape())?;
            } else if is("uri") {
                set_once(&mut uri, name, value.unescape())?;
            } else if is("response") {
                set_once(&mut response, name, value.raw())?;
            } else if is("algorithm") {
                set_once(&mut algorithm, name, value.raw())?;
            } else if is("cnonce") {
                set_once(&mut cnonce, name, value.unescape())?;
            } else if is("nc") {
                set_once(&mut nc, name, value.raw())?;
            } else if is("qop") {
                set_once(&mut qop, name, value.raw())?;
            } else if is("opaque") {
                set_once(&mut opaque, name, value.unescape())?;
            } else if is("userhash") {
                set_once(&mut userhash, name, value.raw())?;
            } else {
                unknown.insert(name)?;
            }
        }

        let username = non_empty(username, "username")?;
        let realm = realm.ok_or(AuthError::MissingParam { name: "realm" })?;
        let nonce = non_empty(nonce, "nonce")?;
        let uri = non_empty(uri, "uri")?;
        let response = response.ok_or(AuthError::MissingParam { name: "response" })?;
        let algorithm = algorithm.map_or(Ok(Algorithm::Md5), Algorithm::parse)?;
        if response.len() != algorithm.hex_len() || !response.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(AuthError::InvalidParam {
                name: "response",
                reason: "not a hex digest of the algorithm's length",
            });
        }
        if userhash.is_some_and(|u| u.eq_ignore_ascii_case("true")) {
            return Err(AuthError::InvalidParam {
                name: "userhash",
                reason: "hashed usernames are not offered",
            });
        }
        let qop = match qop {
            Some(qop_raw) => Some(qop_fields(qop_raw, cnonce, nc)?),
            None if cnonce.is_some() => return Err(AuthError::ParamWithoutQop { name: "cnonce" }),
            None if nc.is_some() => return Err(AuthError::ParamWithoutQop { name: "nc" }),
            None => None,
        };
        Ok(Credentials {
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            opaque,
            qop,
        })
    }

    /// The user name (unquoted).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The realm the client answered; compare it with the realm challenged.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The nonce the client answered; check it with [`crate::NonceIssuer::check`].
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The digest-uri; the caller compares it with the Request-URI
    /// (RFC 2617 §3.2.2.5) since that needs SIP URI comparison.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The digest algorithm (`MD5` when absent).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The opaque value echoed from the challenge, if any.
    pub fn opaque(&self) -> Option<&str> {
        self.opaque.as_deref()
    }

    /// `Some(Qop::Auth)` for RFC 2617 responses, `None` for RFC 2069 ones.
    pub fn qop(&self) -> Option<Qop> {
        self.qop.as_ref().map(|_| Qop::Auth)
    }

    /// The client nonce, present exactly when `qop` is.
    pub fn cnonce(&self) -> Option<&str> {
        self.qop.as_ref().map(|q| &*q.cnonce)
    }

    /// The nonce count `nc`, present exactly when `qop` is.
    pub fn nc(&self) -> Option<u32> {
        self.qop.as_ref().map(|q| q.nc)
    }

    /// The count to give [`crate::NonceCounter::check_and_record`]: `nc`, or 1
    /// for an RFC 2069 response without qop, so such a nonce is accepted once.
    pub fn nonce_count(&self) -> u32 {
        self.nc().unwrap_or(1)
    }

    /// The `response` hex digest as sent.
    pub(crate) fn response_hex(&self) -> &'a str {
        self.response
    }

    pub(crate) fn qop_fields(&self) -> Option<&QopFields<'a>> {
        self.qop.as_ref()
    }
}

fn non_empty<'a>(
    value: Option<Cow<'a, str>>,
    name: &'static str,
) -> Result<Cow<'a, str>, AuthError> {
    match value {
        None => Err(AuthError::MissingParam { name }),
        Some(v) if v.is_empty() => Err(AuthError::InvalidParam {
            name,
            reason: "empty",
        }),
        Some(v) => Ok(v),
    }
}

fn qop_fields<'a>(
    qop_raw: &'a str,
    cnonce: Option<Cow<'a, str>>,
    nc: Option<&'a str>,
) -> Result<QopFields<'a>, AuthError> {
    if !qop_raw.eq_ignore_ascii_case(Qop::Auth.as_str()) {
        return Err(AuthError::UnsupportedQop { qop: echo(qop_raw) });
    }
    let cnonce = cnonce.ok_or(AuthError::MissingQopParam { name: "cnonce" })?;
    if cnonce.is_empty() {
        return Err(AuthError::InvalidParam {
            name: "cnonce",
            reason: "empty",
        });
    }
    let nc_raw = nc.ok_or(AuthError::MissingQopParam { name: "nc" })?;
    let nc = parse_nc(nc_raw)?;
    Ok(QopFields {
        qop_raw,
        cnonce,
        nc_raw,
        nc,
    })
}

/// `nc-value = 8LHEX` (RFC 2617 §3.2.2); uppercase digits are tolerated.
fn parse_nc(raw: &str) -> Result<u32, AuthError> {
    let invalid = |reason| AuthError::InvalidParam { name: "nc", reason };
    if raw.len() != 8 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("not 8 hex digits"));
    }
    match u32::from_str_radix(raw, 16) {
        Ok(0) => Err(invalid("nonce counts start at 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(invalid("not 8 hex digits")),
    }
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("realm", &self.realm)
            .field("nonce", &self.nonce)
            .field("uri", &self.uri)
            .field("response", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("opaque", &self.opaque)
            .field("qop", &self.qop())
            .field("cnonce", &self.cnonce())
            .field("nc", &self.nc())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5_RESPONSE: &str = "6629fae49393a05397450978507c4ef1";

    fn value(params: &str) -> String {
        format!(
            "Digest username=\"bob\", realm=\"example.test\", nonce=\"n1\", \
             uri=\"sip:example.test\", response=\"{MD5_RESPONSE}\"{params}"
        )
    }

    #[test]
    fn parses_rfc_3261_example() {
        // RFC 3261 §22.4 / RFC 2617 §3.5 shaped credentials.
        let v = "Digest username=\"bob\",\n realm=\"biloxi.com\",\n \
                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\n uri=\"sip:bob@biloxi.com\",\n \
                 qop=auth,\n nc=00000001,\n cnonce=\"0a4f113b\",\n \
                 response=\"6629fae49393a05397450978507c4ef1\",\n \
                 opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
        let c = Credentials::parse(v).unwrap();
        assert_eq!(c.username(), "bob");
        assert_eq!(c.realm(), "biloxi.com");
        assert_eq!(c.nonce(), "dcd98b7102dd2f0e8b11d0f600bfb0c093");
        assert_eq!(c.uri(), "sip:bob@biloxi.com");
        assert_eq!(c.algorithm(), Algorithm::Md5);
        assert_eq!(c.qop(), Some(Qop::Auth));
        assert_eq!(c.cnonce(), Some("0a4f113b"));
        assert_eq!(c.nc(), Some(1));
        assert_eq!(c.nonce_count(), 1);
        assert_eq!(c.opaque(), Some("5ccc069c403ebaf9f0171e9517f40e41"));
    }

    #[test]
    fn accepted_variants_table() {
        let sha = "a".repeat(64);
        let cases: Vec<(String, Algorithm, Option<u32>)> = vec![
            (value(""), Algorithm::Md5, None),
            (value(", algorithm=MD5"), Algorithm::Md5, None),
            (
                value(", qop=\"auth\", nc=\"0000000A\", cnonce=abc"),
                Algorithm::Md5,
                Some(10),
            ),
            (
                value(", QOP=AUTH, NC=ffffffff, CNONCE=\"x\""),
                Algorithm::Md5,
                Some(u32::MAX),
            ),
            (value(", x-vendor=1, domain=\"a,b\""), Algorithm::Md5, None),
            (value(", userhash=false"), Algorithm::Md5, None),
            (
                format!(
                    "DIGEST username=bob,realm=r,nonce=n,uri=\"sip:x\",response={sha},algorithm=sha-256"
                ),
                Algorithm::Sha256,
                None,
            ),
        ];
        for (v, alg, nc) in cases {
            let c = Credentials::parse(&v).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!((c.algorithm(), c.nc()), (alg, nc), "{v}");
        }
    }

    #[test]
    fn escaped_values_are_unescaped() {
        let v = r#"Digest username="a\"b", realm="r, with comma", nonce="n", uri="sip:x", response="6629fae49393a05397450978507c4ef1""#;
        let c = Credentials::parse(v).unwrap();
        assert_eq!(c.username(), "a\"b");
        assert_eq!(c.realm(), "r, with comma");
    }

    #[test]
    fn rejected_inputs_table() {
        let without = |drop: &str| {
            value("")
                .split(", ")
                .filter(|p| !p.starts_with(drop))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let cases: Vec<(String, AuthError)> = vec![
            ("Basic Ym9iOnB3".into(), AuthError::NotDigest),
            (
                "Digest".into(),
                AuthError::MissingParam { name: "username" },
            ),
            (without("realm"), AuthError::MissingParam { name: "realm" }),
            (without("nonce"), AuthError::MissingParam { name: "nonce" }),
            (without("uri"), AuthError::MissingParam { name: "uri" }),
            (
                without("response"),
                AuthError::MissingParam { name: "response" },
            ),
            (
                value(", username=\"eve\""),
                AuthError::DuplicateParam {
                    name: "username".into(),
                },
            ),
            (
                value(", x=1, X=2"),
                AuthError::DuplicateParam { name: "X".into() },
            ),
            (
                value(", qop=auth, nc=00000001"),
                AuthError::MissingQopParam { name: "cnonce" },
            ),
            (
                value(", qop=auth, cnonce=\"c\""),
                AuthError::MissingQopParam { name: "nc" },
            ),
            (
                value(", cnonce=\"c\""),
                AuthError::ParamWithoutQop { name: "cnonce" },
            ),
            (
                value(", nc=00000001"),
                AuthError::ParamWithoutQop { name: "nc" },
            ),
            (
                value(", qop=auth-int, nc=00000001, cnonce=\"c\""),
                AuthError::UnsupportedQop {
                    qop: "auth-int".into(),
                },
            ),
            (
                value(", algorithm=SHA-256"),
                AuthError::InvalidParam {
                    name: "response",
                    reason: "not a hex digest of the algorithm's length",
                },
            ),
            (
                value(", algorithm=MD5-sess"),
                AuthError::SessionAlgorithm {
                    base: Algorithm::Md5,
                },
            ),
            (
                value(", qop=auth, nc=1, cnonce=\"c\""),
                AuthError::InvalidParam {
                    name: "nc",
                    reason: "not 8 hex digits",
                },
            ),
            (
                value(", qop=auth, nc=+0000001, cnonce=\"c\""),
                AuthError::InvalidParam {
                    name: "nc",
                    reason: "not 8 hex digits",
                },
            ),
            (
                value(", qop=auth, nc=00000000, cnonce=\"c\""),
                AuthError::InvalidParam {
                    name: "nc",
                    reason: "nonce counts start at 1",
                },
            ),
            (
                value(", qop=auth, nc=00000001, cnonce=\"\""),
                AuthError::InvalidParam {
                    name: "cnonce",
                    reason: "empty",
                },
            ),
            (
                value(", userhash=true"),
                AuthError::InvalidParam {
                    name: "userhash",
                    reason: "hashed usernames are not offered",
                },
            ),
            (
                value("").replace("\"bob\"", "\"\""),
                AuthError::InvalidParam {
                    name: "username",
                    reason: "empty",
                },
            ),
        ];
        for (v, want) in cases {
            assert_eq!(Credentials::parse(&v), Err(want), "{v}");
        }
        let not_hex = value("").replace(MD5_RESPONSE, &"z".repeat(32));
        assert!(matches!(
            Credentials::parse(&not_hex),
            Err(AuthError::InvalidParam {
                name: "response",
                ..
            })
        ));
    }

    #[test]
    fn debug_redacts_the_response() {
        let v = value("");
        let debug = format!("{:?}", Credentials::parse(&v).unwrap());
        assert!(debug.contains("bob"));
        assert!(!debug.contains(MD5_RESPONSE));
    }
}
