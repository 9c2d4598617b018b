//! The browser profile in SDP: reading a browser's ICE, DTLS, mid and SSRC attributes
//! (RFC 8839, RFC 8842, RFC 8843, RFC 5576) and writing ours (ICE-lite with one host
//! candidate, `a=setup`, `a=fingerprint`, `a=mid`, `a=rtcp-mux`, `a=ssrc`).

use std::net::SocketAddr;

use sb_sdp::{Attribute, Media, Sdp};

use crate::negotiate::NegotiateError;
use crate::webrtc::{
    DtlsFingerprint, DtlsRole, IceCredentials, MID_EXTENSION_URI, MediaId, WebRtcLocal,
    WebRtcRemote,
};

/// The profile of a browser's audio section (`m=` protocol).
pub(crate) const PROTO: &str = "UDP/TLS/RTP/SAVPF";
/// The mid of the audio section in offers the gateway makes to a browser.
pub(crate) const OFFER_MID: &str = "0";
/// The id of the mid header extension in offers the gateway makes to a browser.
pub(crate) const OFFER_MID_EXTENSION: u8 = 1;

/// The WebRTC attributes of a browser's audio section, media level first, then session
/// level (RFC 8839 §5.4 and RFC 8122 §5 allow both).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct WebRtcAttributes {
    pub(crate) ice: Option<IceCredentials>,
    pub(crate) fingerprint: Option<DtlsFingerprint>,
    /// `a=setup` as written.
    pub(crate) setup: Option<String>,
    pub(crate) mid: Option<MediaId>,
    pub(crate) ssrcs: Vec<u32>,
    pub(crate) mid_extension: Option<u8>,
}

impl WebRtcAttributes {
    /// Reads the attributes of `media` in `sdp`. Candidates are not read: the gateway is
    /// ICE-lite and learns the browser's address from its binding requests, so `.local`
    /// mDNS names (which it could not resolve) do no harm.
    pub(crate) fn read(sdp: &Sdp, media: &Media) -> WebRtcAttributes {
        let (m, s) = (&media.attributes, &sdp.attributes);
        let ufrag = m.ice_ufrag().or_else(|| s.ice_ufrag());
        let pwd = m.ice_pwd().or_else(|| s.ice_pwd());
        let ice = ufrag
            .zip(pwd)
            .and_then(|(ufrag, pwd)| IceCredentials::new(ufrag, pwd));
        let fingerprint = m
            .all("fingerprint")
            .chain(s.all("fingerprint"))
            .find_map(|a| DtlsFingerprint::parse(a.value_str()));
        let setup = m
            .value("setup")
            .or_else(|| s.value("setup"))
            .map(|v| v.trim().to_ascii_lowercase());
        let mut ssrcs: Vec<u32> = Vec::new();
        for ssrc in m.ssrcs() {
            if !ssrcs.contains(&ssrc.id) {
                ssrcs.push(ssrc.id);
            }
        }
        let mid_extension = m.all("extmap").chain(s.all("extmap")).find_map(|a| {
            let mut parts = a.value_str().split_ascii_whitespace();
            let id = parts.next()?;
            let uri = parts.next()?;
            // `<id>[/<direction>]`, ids 1–14 in the one-byte form (RFC 8285 §4.2).
            let id: u8 = id.split('/').next()?.parse().ok()?;
            (uri == MID_EXTENSION_URI && (1..=14).contains(&id)).then_some(id)
        });
        WebRtcAttributes {
            ice,
            fingerprint,
            setup,
            mid: m.mid().and_then(MediaId::new),
            ssrcs,
            mid_extension,
        }
    }

    /// The browser's end of the leg, with the gateway in `role`. A browser section without
    /// ICE credentials, a fingerprint or a mid cannot be connected.
    pub(crate) fn remote(
        &self,
        role: DtlsRole,
        local_ice: IceCredentials,
    ) -> Result<WebRtcRemote, NegotiateError> {
        let missing = |attribute| NegotiateError::MissingWebRtcAttribute { attribute };
        Ok(WebRtcRemote {
            ice: self.ice.clone().ok_or(missing("ice-ufrag/ice-pwd"))?,
            fingerprint: self.fingerprint.clone().ok_or(missing("fingerprint"))?,
            role,
            mid: self.mid.clone().ok_or(missing("mid"))?,
            ssrcs: self.ssrcs.clone(),
            mid_extension: self.mid_extension,
            local_ice,
        })
    }
}

/// What our SDP on a WebRTC leg says about the gateway's end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalLines<'a> {
    pub(crate) local: &'a WebRtcLocal,
    /// `actpass` in offers, `active` or `passive` in answers.
    pub(crate) setup: &'a str,
    pub(crate) mid: &'a str,
    pub(crate) mid_extension: Option<u8>,
    /// The one host candidate: the advertised address and the leg's port.
    pub(crate) candidate: SocketAddr,
}

/// Appends the media-level WebRTC attributes of our audio section.
pub(crate) fn write_local_attributes(attrs: &mut Vec<Attribute>, lines: &LocalLines<'_>) {
    let local = lines.local;
    attrs.push(Attribute::new("mid", lines.mid));
    attrs.push(Attribute::new("ice-ufrag", local.ice.ufrag()));
    attrs.push(Attribute::new("ice-pwd", local.ice.pwd()));
    attrs.push(Attribute::new("fingerprint", local.fingerprint.to_string()));
    attrs.push(Attribute::new("setup", lines.setup));
    // RFC 8839 §5.1: foundation, component 1 (RTP, muxed), UDP, host priority
    // (type preference 126, local preference 65535, RFC 8445 §5.1.2.1).
    let c = lines.candidate;
    attrs.push(Attribute::new(
        "candidate",
        format!("1 1 udp 2130706431 {} {} typ host", c.ip(), c.port()),
    ));
    attrs.push(Attribute::flag("end-of-candidates"));
    if let Some(id) = lines.mid_extension {
        attrs.push(Attribute::new(
            "extmap",
            format!("{id} {MID_EXTENSION_URI}"),
        ));
    }
}

/// Appends the `a=ssrc` line of our stream (after the direction, where browsers write it).
pub(crate) fn write_ssrc(attrs: &mut Vec<Attribute>, local: &WebRtcLocal) {
    attrs.push(Attribute::new(
        "ssrc",
        format!("{} cname:{}", local.ssrc, local.cname),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> WebRtcAttributes {
        let sdp = Sdp::parse(text.as_bytes()).expect("SDP");
        let (_, media) = sdp.first_audio().expect("audio");
        WebRtcAttributes::read(&sdp, media)
    }

    #[test]
    fn session_level_ice_and_fingerprint_are_used() {
        let attrs = read(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.30\r\ns=-\r\nt=0 0\r\na=ice-ufrag:Yx5T\r\n\
             a=ice-pwd:mXo0cXcKq1f8xEVcHhQ6Qk6p\r\na=fingerprint:sha-256 AB:CD\r\n\
             a=setup:ACTPASS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n\
             a=mid:a1\r\na=extmap:9/sendrecv urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
             a=ssrc:7 cname:x\r\na=ssrc:7 msid:y z\r\na=ssrc:8 cname:x\r\n",
        );
        assert_eq!(attrs.ice.as_ref().map(IceCredentials::ufrag), Some("Yx5T"));
        assert_eq!(attrs.fingerprint.as_ref().map(|f| f.bytes.len()), Some(2));
        assert_eq!(attrs.setup.as_deref(), Some("actpass"));
        assert_eq!(attrs.mid.as_ref().map(MediaId::as_str), Some("a1"));
        assert_eq!(attrs.mid_extension, Some(9));
        assert_eq!(attrs.ssrcs, vec![7, 8]);
        let ours = IceCredentials::new("ours", "0123456789abcdefghijkl").expect("valid");
        let remote = attrs
            .remote(DtlsRole::Client, ours.clone())
            .expect("complete");
        assert_eq!((remote.role, remote.local_ice), (DtlsRole::Client, ours));
    }

    #[test]
    fn missing_attributes_are_named() {
        let ours = IceCredentials::new("ours", "0123456789abcdefghijkl").expect("valid");
        let attrs = read(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.30\r\ns=-\r\nt=0 0\r\n\
             m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=ice-ufrag:Yx5T\r\n\
             a=ice-pwd:mXo0cXcKq1f8xEVcHhQ6Qk6p\r\na=fingerprint:sha-256 AB:CD\r\n",
        );
        assert!(matches!(
            attrs.remote(DtlsRole::Server, ours.clone()),
            Err(NegotiateError::MissingWebRtcAttribute { attribute: "mid" })
        ));
        let no_ice = WebRtcAttributes { ice: None, ..attrs };
        assert!(matches!(
            no_ice.remote(DtlsRole::Server, ours),
            Err(NegotiateError::MissingWebRtcAttribute {
                attribute: "ice-ufrag/ice-pwd"
            })
        ));
    }
}
