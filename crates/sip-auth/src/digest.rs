//! The request-digest: server-side verification and client-side answering
//! (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1, RFC 3261 §22.4).

use std::fmt::{self, Write as _};

use subtle::ConstantTimeEq;

use crate::algorithm::{Algorithm, DigestBytes, Ha1, Hasher, MAX_DIGEST_LEN, compute_ha1};
use crate::challenge::Challenge;
use crate::credentials::Credentials;
use crate::error::AuthError;
use crate::params::{is_quotable, write_quoted};

/// Why [`verify`] refused credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyFailure {
    /// The credentials use another algorithm than the HA1 supplied: look up the
    /// HA1 for [`Credentials::algorithm`] instead.
    AlgorithmMismatch {
        /// Algorithm named in the credentials.
        credentials: Algorithm,
        /// Algorithm of the stored HA1.
        stored: Algorithm,
    },
    /// The response does not match: wrong password, realm, method, uri, nonce,
    /// cnonce or nc.
    WrongResponse,
}

/// `request-digest` for the given inputs; no allocation.
///
/// With qop: `H(HA1:nonce:nc:cnonce:qop:H(method:uri))`; without (RFC 2069):
/// `H(HA1:nonce:H(method:uri))`.
fn request_digest(
    algorithm: Algorithm,
    ha1_hex: &[u8],
    nonce: &str,
    qop: Option<(&str, &str, &str)>,
    method: &str,
    uri: &str,
) -> DigestBytes {
    let mut h = Hasher::new(algorithm);
    h.update_joined(&[method.as_bytes(), uri.as_bytes()]);
    let ha2 = h.finalize().to_hex();
    let mut h = Hasher::new(algorithm);
    h.update_joined(&[ha1_hex, nonce.as_bytes()]);
    if let Some((nc, cnonce, qop)) = qop {
        h.update(b":");
        h.update_joined(&[nc.as_bytes(), cnonce.as_bytes(), qop.as_bytes()]);
    }
    h.update(b":");
    h.update(ha2.as_bytes());
    h.finalize()
}

/// Checks `creds` against the stored `ha1` for the request `method`
/// (RFC 3261 §22.4), comparing in constant time.
///
/// Accepts `qop=auth` responses and, for RFC 2069 clients, responses without
/// qop. The latter carry no nonce count, so pair them with
/// [`Credentials::nonce_count`] (which is 1 for them) in
/// [`crate::NonceCounter::check_and_record`]: each such nonce is then usable
/// once and the client is re-challenged with `stale=true` for the next request.
///
/// Not checked here, by design: the nonce (see [`crate::NonceIssuer::check`]),
/// the realm (compare [`Credentials::realm`] with the challenged realm before
/// looking the HA1 up) and the digest-uri against the Request-URI.
pub fn verify(creds: &Credentials<'_>, method: &str, ha1: &Ha1) -> Result<(), VerifyFailure> {
    if creds.algorithm() != ha1.algorithm() {
        return Err(VerifyFailure::AlgorithmMismatch {
            credentials: creds.algorithm(),
            stored: ha1.algorithm(),
        });
    }
    let qop = creds
        .qop_fields()
        .map(|q| (q.nc_raw, &*q.cnonce, q.qop_raw));
    let expected = request_digest(
        creds.algorithm(),
        ha1.hex_bytes(),
        creds.nonce(),
        qop,
        method,
        creds.uri(),
    );
    let mut received = [0u8; MAX_DIGEST_LEN];
    let received = &mut received[..creds.algorithm().digest_len()];
    // The parser checked the length and the digits, so this does not fail;
    // if it ever did, the response could not match anyway.
    if hex::decode_to_slice(creds.response_hex(), received).is_err() {
        return Err(VerifyFailure::WrongResponse);
    }
    if bool::from(expected.as_bytes().ct_eq(received)) {
        Ok(())
    } else {
        Err(VerifyFailure::WrongResponse)
    }
}

/// What the client proves its identity with. `Debug` redacts the password.
#[derive(Clone, Copy)]
pub enum ClientSecret<'a> {
    /// The password; HA1 is derived for the challenge's realm and algorithm.
    Password(&'a str),
    /// A precomputed HA1; its algorithm must be the challenge's.
    Ha1(&'a Ha1),
}

impl fmt::Debug for ClientSecret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientSecret::Password(_) => f.write_str("Password(<redacted>)"),
            ClientSecret::Ha1(ha1) => f.debug_tuple("Ha1").field(ha1).finish(),
        }
    }
}

/// Answers `challenge` with an `Authorization` / `Proxy-Authorization` value
/// (RFC 3261 §22.2, RFC 7616 §3.4).
///
/// `cnonce` must be fresh client randomness (the caller supplies it) and `nc`
/// the count of requests sent with this nonce, starting at 1; both are only
/// used when the challenge offers `qop="auth"`, otherwise an RFC 2069 response
/// is produced. A value that cannot be written as a quoted string (a control
/// character: the challenge's realm, nonce or opaque included) is an
/// [`AuthError::InvalidParam`].
pub fn respond(
    challenge: &Challenge<'_>,
    method: &str,
    uri: &str,
    username: &str,
    secret: ClientSecret<'_>,
    cnonce: &str,
    nc: u32,
) -> Result<String, AuthError> {
    let algorithm = challenge.algorithm;
    for (name, value) in [
        ("username", username),
        ("uri", uri),
        ("cnonce", cnonce),
        ("realm", &*challenge.realm),
        ("nonce", &*challenge.nonce),
        // Echoed back unchanged (RFC 7616 §3.4): refused rather than altered.
        ("opaque", challenge.opaque.as_deref().unwrap_or_default()),
    ] {
        if !is_quotable(value) {
            return Err(AuthError::InvalidParam {
                name,
                reason: "control character",
            });
        }
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthError::InvalidParam {
            name: "method",
            reason: "not a token",
        });
    }
    let derived;
    let ha1 = match secret {
        ClientSecret::Password(password) => {
            derived = compute_ha1(algorithm, username, &challenge.realm, password);
            &derived
        }
        ClientSecret::Ha1(ha1) if ha1.algorithm() == algorithm => ha1,
        ClientSecret::Ha1(ha1) => {
            return Err(AuthError::AlgorithmMismatch {
                ha1: ha1.algorithm(),
                challenge: algorithm,
            });
        }
    };
    let mut nc_buf = [0u8; 8];
    let qop = match challenge.qop {
        Some(qop) => {
            if cnonce.is_empty() {
                return Err(AuthError::InvalidParam {
                    name: "cnonce",
                    reason: "empty",
                });
            }
            if nc == 0 {
                return Err(AuthError::InvalidParam {
                    name: "nc",
                    reason: "nonce counts start at 1",
                });
            }
            hex::encode_to_slice(nc.to_be_bytes(), &mut nc_buf)
                .expect("8 hex digits encode 4 bytes");
            let nc_str = std::str::from_utf8(&nc_buf).expect("hex digits are ASCII");
            Some((nc_str, cnonce, qop.as_str()))
        }
        None => None,
    };
    let digest = request_digest(
        algorithm,
        ha1.hex_bytes(),
        &challenge.nonce,
        qop,
        method,
        uri,
    )
    .to_hex();

    let mut out = String::with_capacity(
        160 + username.len()
            + challenge.realm.len()
            + challenge.nonce.len()
            + uri.len()
            + cnonce.len()
            + challenge.opaque.as_ref().map_or(0, |o| o.len()),
    );
    write_authorization(&mut out, challenge, username, uri, digest.as_str(), qop)
        .expect("writing to a String cannot fail");
    Ok(out)
}

fn write_authorization(
    out: &mut String,
    challenge: &Challenge<'_>,
    username: &str,
    uri: &str,
    response: &str,
    qop: Option<(&str, &str, &str)>,
) -> fmt::Result {
    out.push_str("Digest username=");
    write_quoted(out, username)?;
    out.push_str(", realm=");
    write_quoted(out, &challenge.realm)?;
    out.push_str(", nonce=");
    write_quoted(out, &challenge.nonce)?;
    out.push_str(", uri=");
    write_quoted(out, uri)?;
    write!(
        out,
        ", response=\"{response}\", algorithm={}",
        challenge.algorithm
    )?;
    if let Some((nc, cnonce, qop)) = qop {
        out.push_str(", cnonce=");
        write_quoted(out, cnonce)?;
        write!(out, ", nc={nc}, qop={qop}")?;
    }
    if let Some(opaque) = &challenge.opaque {
        out.push_str(", opaque=");
        write_quoted(out, opaque)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(alg: Algorithm) -> Challenge<'static> {
        Challenge::new("example.test", "bm9uY2U", alg)
    }

    #[test]
    fn respond_then_verify_for_both_algorithms() {
        for alg in Algorithm::PREFERENCE {
            let c = challenge(alg);
            let value = respond(
                &c,
                "REGISTER",
                "sip:example.test",
                "alice",
                ClientSecret::Password("pw"),
                "c1",
                1,
            )
            .unwrap();
            let creds = Credentials::parse(&value).unwrap();
            let ha1 = compute_ha1(alg, "alice", "example.test", "pw");
            assert_eq!(verify(&creds, "REGISTER", &ha1), Ok(()), "{alg}");
            assert_eq!(
                verify(&creds, "INVITE", &ha1),
                Err(VerifyFailure::WrongResponse)
            );
        }
    }

    #[test]
    fn verify_requires_matching_algorithm() {
        let value = respond(
            &challenge(Algorithm::Sha256),
            "REGISTER",
            "sip:example.test",
            "alice",
            ClientSecret::Password("pw"),
            "c1",
            1,
        )
        .unwrap();
        let creds = Credentials::parse(&value).unwrap();
        let md5 = compute_ha1(Algorithm::Md5, "alice", "example.test", "pw");
        assert_eq!(
            verify(&creds, "REGISTER", &md5),
            Err(VerifyFailure::AlgorithmMismatch {
                credentials: Algorithm::Sha256,
                stored: Algorithm::Md5
            })
        );
    }

    #[test]
    fn rfc_2069_response_without_qop() {
        let mut c = challenge(Algorithm::Md5);
        c.qop = None;
        let value = respond(
            &c,
            "INVITE",
            "sip:bob@example.test",
            "alice",
            ClientSecret::Password("pw"),
            "",
            0,
        )
        .unwrap();
        assert!(!value.contains("cnonce") && !value.contains("nc=") && !value.contains("qop"));
        let creds = Credentials::parse(&value).unwrap();
        assert_eq!(creds.nonce_count(), 1);
        let ha1 = compute_ha1(Algorithm::Md5, "alice", "example.test", "pw");
        assert_eq!(verify(&creds, "INVITE", &ha1), Ok(()));
        // Hand-computed RFC 2069 digest: H(HA1:nonce:H(method:uri)).
        let ha2 = md5_hex("INVITE:sip:bob@example.test");
        let want = md5_hex(&format!("{}:bm9uY2U:{ha2}", ha1.expose_hex()));
        assert!(value.contains(&format!("response=\"{want}\"")), "{value}");
    }

    fn md5_hex(s: &str) -> String {
        use md5::Digest as _;
        hex::encode(md5::Md5::digest(s.as_bytes()))
    }

    #[test]
    fn respond_rejects_bad_inputs() {
        let c = challenge(Algorithm::Md5);
        let pw = ClientSecret::Password("pw");
        let call = |method, uri, user, cnonce, nc| respond(&c, method, uri, user, pw, cnonce, nc);
        assert!(matches!(
            call("REGISTER", "sip:x", "a\r\nb", "c", 1),
            Err(AuthError::InvalidParam {
                name: "username",
                ..
            })
        ));
        assert!(matches!(
            call("REG ISTER", "sip:x", "a", "c", 1),
            Err(AuthError::InvalidParam { name: "method", .. })
        ));
        assert!(matches!(
            call("REGISTER", "sip:x", "a", "", 1),
            Err(AuthError::InvalidParam { name: "cnonce", .. })
        ));
        assert!(matches!(
            call("REGISTER", "sip:x", "a", "c", 0),
            Err(AuthError::InvalidParam { name: "nc", .. })
        ));
        let sha = compute_ha1(Algorithm::Sha256, "a", "example.test", "pw");
        assert_eq!(
            respond(
                &c,
                "REGISTER",
                "sip:x",
                "a",
                ClientSecret::Ha1(&sha),
                "c",
                1
            ),
            Err(AuthError::AlgorithmMismatch {
                ha1: Algorithm::Sha256,
                challenge: Algorithm::Md5
            })
        );
    }

    #[test]
    fn client_secret_debug_redacts() {
        let ha1 = compute_ha1(Algorithm::Md5, "a", "r", "hunter2");
        for secret in [ClientSecret::Password("hunter2"), ClientSecret::Ha1(&ha1)] {
            let debug = format!("{secret:?}");
            assert!(debug.contains("<redacted>"), "{debug}");
            assert!(!debug.contains("hunter2") && !debug.contains(&ha1.expose_hex()[..8]));
        }
    }

    #[test]
    fn respond_formats_nc_as_eight_lowercase_hex_digits() {
        let value = respond(
            &challenge(Algorithm::Md5),
            "REGISTER",
            "sip:x",
            "a",
            ClientSecret::Password("pw"),
            "c",
            0xab,
        )
        .unwrap();
        assert!(value.contains("nc=000000ab"), "{value}");
        assert_eq!(Credentials::parse(&value).unwrap().nc(), Some(0xab));
    }
}
