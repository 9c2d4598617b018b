//! WebRTC legs: a browser reached over one UDP port with ICE-lite (RFC 8445 §2.5), DTLS-SRTP
//! (RFC 5763, RFC 5764) and RTP/RTCP multiplexing (RFC 5761), in one BUNDLE group of one audio
//! section (RFC 8843).
//!
//! str0m owns the wire protocols of the leg: STUN binding answers, the DTLS handshake in the
//! role the SDP gave, SRTP keys exported from DTLS, SRTP/SRTCP protection and its own RTCP.
//! The engine owns everything else: SDP ([`crate::Negotiator`] writes and reads the browser
//! profile), payload types, the outgoing SSRC and timeline (the same [`crate::MediaSession`]
//! stream as on a phone leg), relay, transcoding and DTMF. This module is the only place that
//! names str0m types, so another WebRTC stack could replace it.
//!
//! A driver gives a WebRTC leg a [`WebRtcIdentity`] (a DTLS certificate) when it adds the
//! leg ([`crate::MediaSession::add_webrtc_leg`]), which answers the local ICE credentials,
//! fingerprint and SSRC for the SDP ([`WebRtcLocal`]); negotiation turns the browser's SDP into
//! a [`WebRtcRemote`] for [`crate::MediaSession::configure_webrtc`].

mod sdp;
mod transport;

use std::fmt;
use std::sync::Arc;

use rand::RngExt;
use str0m::config::DtlsCert;

use crate::error::EngineError;

pub(crate) use sdp::{
    LocalLines, OFFER_MID, OFFER_MID_EXTENSION, PROTO, WebRtcAttributes, write_local_attributes,
    write_ssrc,
};
pub(crate) use transport::{Inbound, WebRtcTransport};

/// An ICE username fragment and password (RFC 8839 §5.4).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IceCredentials {
    ufrag: Arc<str>,
    pwd: Arc<str>,
}

impl IceCredentials {
    /// Credentials from SDP values; `None` unless both are non-empty ICE characters
    /// (RFC 8839 §5.4: ALPHA / DIGIT / "+" / "/", 4–256 and 22–256 characters).
    pub fn new(ufrag: &str, pwd: &str) -> Option<IceCredentials> {
        let ice_chars = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        };
        let valid = (4..=256).contains(&ufrag.len())
            && (22..=256).contains(&pwd.len())
            && ice_chars(ufrag)
            && ice_chars(pwd);
        valid.then(|| IceCredentials {
            ufrag: ufrag.into(),
            pwd: pwd.into(),
        })
    }

    /// Fresh credentials from `rng`: a 16-character fragment and a 32-character password
    /// (RFC 8445 §5.3: at least 24 and 128 random bits).
    pub(crate) fn random(rng: &mut impl RngExt) -> IceCredentials {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut draw = |n: usize| -> Arc<str> {
            (0..n)
                .map(|_| char::from(ALPHABET[usize::from(rng.random::<u8>() & 63)]))
                .collect::<String>()
                .into()
        };
        let ufrag = draw(16);
        let pwd = draw(32);
        IceCredentials { ufrag, pwd }
    }

    /// The `a=ice-ufrag` value.
    pub fn ufrag(&self) -> &str {
        &self.ufrag
    }

    /// The `a=ice-pwd` value.
    pub fn pwd(&self) -> &str {
        &self.pwd
    }
}

impl fmt::Debug for IceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password authenticates connectivity checks: never printed.
        f.debug_struct("IceCredentials")
            .field("ufrag", &self.ufrag)
            .finish_non_exhaustive()
    }
}

/// A certificate fingerprint from `a=fingerprint` (RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DtlsFingerprint {
    /// The hash function, lower case (`sha-256`).
    pub hash: Arc<str>,
    /// The digest.
    pub bytes: Vec<u8>,
}

impl DtlsFingerprint {
    /// Parses the value of `a=fingerprint` (`sha-256 AB:CD:…`); `None` when malformed.
    pub fn parse(value: &str) -> Option<DtlsFingerprint> {
        let (hash, hex) = value.trim().split_once(' ')?;
        let bytes = hex
            .trim()
            .split(':')
            .map(|pair| {
                (pair.len() == 2)
                    .then(|| u8::from_str_radix(pair, 16).ok())
                    .flatten()
            })
            .collect::<Option<Vec<u8>>>()?;
        if hash.is_empty() || bytes.is_empty() {
            return None;
        }
        Some(DtlsFingerprint {
            hash: hash.to_ascii_lowercase().into(),
            bytes,
        })
    }
}

impl fmt::Display for DtlsFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hash)?;
        for (i, b) in self.bytes.iter().enumerate() {
            let sep = if i == 0 { ' ' } else { ':' };
            write!(f, "{sep}{b:02X}")?;
        }
        Ok(())
    }
}

/// The gateway's DTLS role on a leg (RFC 5763 §5, from `a=setup`, RFC 4145 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsRole {
    /// `a=setup:active`: the gateway is the DTLS client and sends the ClientHello.
    Client,
    /// `a=setup:passive`: the gateway is the DTLS server.
    Server,
}

impl DtlsRole {
    /// Our role when the browser's SDP says `setup` (its own role); `None` for a value that
    /// leaves none (`holdconn`, unknown). An offer's `actpass` is answered `active`, as
    /// RFC 5763 §5 recommends: the gateway starts the handshake as soon as ICE connects.
    pub fn answering(remote_setup: &str) -> Option<DtlsRole> {
        match remote_setup.trim().to_ascii_lowercase().as_str() {
            "actpass" | "passive" => Some(DtlsRole::Client),
            "active" => Some(DtlsRole::Server),
            _ => None,
        }
    }

    /// Our role after offering `actpass` and receiving an answer with `setup`.
    pub fn after_offer(remote_setup: &str) -> Option<DtlsRole> {
        match remote_setup.trim().to_ascii_lowercase().as_str() {
            "active" => Some(DtlsRole::Server),
            "passive" => Some(DtlsRole::Client),
            _ => None,
        }
    }

    /// The `a=setup` value that announces this role.
    pub fn setup(self) -> &'static str {
        match self {
            DtlsRole::Client => "active",
            DtlsRole::Server => "passive",
        }
    }
}

/// A media identification tag (`a=mid`, RFC 8843 §7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaId(Arc<str>);

impl MediaId {
    /// A tag from SDP; `None` when empty or longer than the 16 bytes carried in RTP
    /// (RFC 8843 §15.1 limits only the token; str0m and browsers keep them short).
    pub fn new(tag: &str) -> Option<MediaId> {
        let valid = !tag.is_empty() && tag.len() <= 16 && tag.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| MediaId(tag.into()))
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MediaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DTLS certificate and its fingerprint: one per WebRTC leg.
pub struct WebRtcIdentity {
    cert: DtlsCert,
    fingerprint: DtlsFingerprint,
}

impl WebRtcIdentity {
    /// A fresh self-signed ECDSA P-256 certificate. Its key pair and serial number come from
    /// the crypto library's generator (aws-lc, seeded by the operating system): the one
    /// randomness of a WebRTC leg that a session seed does not fix.
    pub fn generate() -> Result<WebRtcIdentity, EngineError> {
        let provider = str0m::crypto::from_feature_flags();
        let cert = provider
            .dtls_provider
            .generate_certificate()
            .ok_or(EngineError::DtlsCertificate)?;
        let fingerprint = DtlsFingerprint {
            hash: "sha-256".into(),
            bytes: provider.sha256_provider.sha256(&cert.certificate).to_vec(),
        };
        Ok(WebRtcIdentity { cert, fingerprint })
    }

    /// The certificate's `a=fingerprint`.
    pub fn fingerprint(&self) -> &DtlsFingerprint {
        &self.fingerprint
    }

    pub(crate) fn into_cert(self) -> DtlsCert {
        self.cert
    }
}

impl fmt::Debug for WebRtcIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The private key is never printed.
        f.debug_struct("WebRtcIdentity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// What the SDP sent to the browser announces about the gateway's end of a WebRTC leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebRtcLocal {
    /// `a=ice-ufrag` / `a=ice-pwd`.
    pub ice: IceCredentials,
    /// `a=fingerprint`.
    pub fingerprint: DtlsFingerprint,
    /// The SSRC the gateway sends with (`a=ssrc`: a browser plays silence when the signalled
    /// SSRC differs from the one sent).
    pub ssrc: u32,
    /// `a=ssrc:… cname:` (RFC 7022).
    pub cname: Arc<str>,
}

/// What the browser's SDP says about its end of a WebRTC leg, and the DTLS role that
/// follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebRtcRemote {
    /// The browser's `a=ice-ufrag` / `a=ice-pwd`.
    pub ice: IceCredentials,
    /// The browser's `a=fingerprint`: the certificate it must present.
    pub fingerprint: DtlsFingerprint,
    /// The gateway's DTLS role.
    pub role: DtlsRole,
    /// The `a=mid` of the audio section.
    pub mid: MediaId,
    /// SSRCs the browser announced (`a=ssrc`); its packets are also recognised by the mid
    /// header extension when it sends one.
    pub ssrcs: Vec<u32>,
    /// The `a=extmap` id of `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 8843 §15.2).
    pub mid_extension: Option<u8>,
    /// The gateway's own ICE credentials as this exchange announced them: new ones after the
    /// browser restarted ICE (RFC 8839 §4.4.1.1.2), else those of
    /// [`crate::MediaSession::add_webrtc_leg`].
    pub local_ice: IceCredentials,
}

/// The `a=extmap` URI of the mid header extension.
pub(crate) const MID_EXTENSION_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    #[test]
    fn fingerprint_reads_back_what_it_writes() {
        let text = "sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:\
                    8C:D3:B6:5C:09:5E:D6:BC";
        let f = DtlsFingerprint::parse(text).expect("a fingerprint");
        assert_eq!(
            (f.hash.as_ref(), f.bytes.len(), f.bytes[31]),
            ("sha-256", 32, 0xbc)
        );
        assert_eq!(f.to_string(), text);
        assert_eq!(
            DtlsFingerprint::parse("SHA-256 0a:FF").map(|f| f.to_string()),
            Some("sha-256 0A:FF".to_owned())
        );
        for bad in [
            "",
            "sha-256",
            "sha-256 ",
            "sha-256 0G",
            "sha-256 ABC",
            "sha-256 AB::CD",
        ] {
            assert_eq!(DtlsFingerprint::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ice_credentials_follow_rfc_8839() {
        assert!(IceCredentials::new("Yx5T", "mXo0cXcKq1f8xEVcHhQ6Qk6p").is_some());
        assert!(IceCredentials::new("abc", "mXo0cXcKq1f8xEVcHhQ6Qk6p").is_none());
        assert!(IceCredentials::new("Yx5T", "short").is_none());
        assert!(IceCredentials::new("Yx 5T", "mXo0cXcKq1f8xEVcHhQ6Qk6p").is_none());
        let mut rng = SmallRng::seed_from_u64(3);
        let a = IceCredentials::random(&mut rng);
        let b = IceCredentials::random(&mut rng);
        assert_ne!(a, b);
        assert_eq!((a.ufrag().len(), a.pwd().len()), (16, 32));
        assert_eq!(IceCredentials::new(a.ufrag(), a.pwd()), Some(a.clone()));
        assert!(
            !format!("{a:?}").contains(a.pwd()),
            "the password is not printed"
        );
        let again = IceCredentials::random(&mut SmallRng::seed_from_u64(3));
        assert_eq!(again, a, "seeded: the same credentials");
    }

    #[test]
    fn dtls_roles_from_setup() {
        assert_eq!(DtlsRole::answering("actpass"), Some(DtlsRole::Client));
        assert_eq!(DtlsRole::answering("passive"), Some(DtlsRole::Client));
        assert_eq!(DtlsRole::answering("ACTIVE"), Some(DtlsRole::Server));
        assert_eq!(DtlsRole::answering("holdconn"), None);
        assert_eq!(DtlsRole::after_offer("active"), Some(DtlsRole::Server));
        assert_eq!(DtlsRole::after_offer("passive"), Some(DtlsRole::Client));
        assert_eq!(
            DtlsRole::after_offer("actpass"),
            None,
            "an answer must choose"
        );
        assert_eq!(
            (DtlsRole::Client.setup(), DtlsRole::Server.setup()),
            ("active", "passive")
        );
    }

    #[test]
    fn media_ids_are_short_tokens() {
        assert_eq!(
            MediaId::new("0").map(|m| m.to_string()),
            Some("0".to_owned())
        );
        assert!(MediaId::new("audio").is_some());
        assert!(MediaId::new("").is_none());
        assert!(MediaId::new("a b").is_none());
        assert!(MediaId::new("seventeen-chars-x").is_none());
    }
}
