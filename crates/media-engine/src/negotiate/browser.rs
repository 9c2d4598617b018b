//! The browser profile of negotiation: which legs are WebRTC legs, the DTLS role and mid
//! each one settled on, and the lines our SDP carries on them. Phone legs never get any of
//! it, and a browser leg gets no `a=crypto` or `a=rtcp` port.

use sb_media_codec::CodecKind;

use super::NegotiateError;
use super::formats::Role;
use super::negotiator::{Negotiator, Sent};
use super::remote::Remote;
use crate::plan::{Codec, LegId, LocalPorts};
use crate::webrtc::{
    DtlsRole, IceCredentials, LocalLines, OFFER_MID, OFFER_MID_EXTENSION, WebRtcLocal, WebRtcRemote,
};

/// Codecs a browser decodes (RFC 7874 §3: Opus and G.711 are mandatory; Chromium also does
/// G.722).
const BROWSER_CODECS: [CodecKind; 4] = [
    CodecKind::Opus,
    CodecKind::Pcmu,
    CodecKind::Pcma,
    CodecKind::G722,
];

/// Owned parts of [`LocalLines`], cloned out of the negotiator's state so that it can be
/// borrowed again to write.
#[derive(Debug, Clone)]
pub(super) struct Lines {
    local: WebRtcLocal,
    setup: &'static str,
    mid: String,
    mid_extension: Option<u8>,
    candidate: std::net::SocketAddr,
}

impl Lines {
    pub(super) fn borrow(&self) -> LocalLines<'_> {
        LocalLines {
            local: &self.local,
            setup: self.setup,
            mid: &self.mid,
            mid_extension: self.mid_extension,
            candidate: self.candidate,
        }
    }
}

impl Negotiator {
    /// Makes `leg` a WebRTC leg (a browser: a SIP peer on a WebSocket, or one whose offer is
    /// `UDP/TLS/RTP/SAVPF`): offers to it use the browser profile with `local` (from
    /// [`crate::MediaSession::add_webrtc_leg`]), and its SDP is read as a browser's.
    pub fn set_webrtc(&mut self, leg: LegId, ports: LocalPorts, local: WebRtcLocal) {
        let state = self.ensure_leg(leg, ports);
        state.webrtc = Some(local);
        state.webrtc_remote = None;
    }

    /// Whether `leg` was made a WebRTC leg.
    pub fn is_webrtc(&self, leg: LegId) -> bool {
        self.legs.iter().any(|l| l.id == leg && l.webrtc.is_some())
    }

    /// The browser's end after its offer on `leg`: our role answers its `a=setup` (kept from
    /// an earlier exchange: a running DTLS connection keeps its roles).
    pub(super) fn browser_offer(
        &mut self,
        leg: LegId,
        remote: &Remote,
    ) -> Result<WebRtcRemote, NegotiateError> {
        self.browser_end(leg, remote, true, |setup| {
            DtlsRole::answering(setup.unwrap_or("actpass"))
        })
    }

    /// The browser's end after its answer on `leg` to our `actpass` offer.
    pub(super) fn browser_answer(
        &mut self,
        leg: LegId,
        remote: &Remote,
    ) -> Result<WebRtcRemote, NegotiateError> {
        self.browser_end(leg, remote, false, |setup| {
            setup.and_then(DtlsRole::after_offer)
        })
    }

    /// The browser's end of `leg` as its SDP (an offer when `offered`) tells it: the DTLS
    /// role settled earlier, else `role_for` its `a=setup`; and, when a browser's offer
    /// changes its ICE credentials (an ICE restart), new credentials of ours for the answer
    /// (RFC 8839 §4.4.1.1.2).
    fn browser_end(
        &mut self,
        leg: LegId,
        remote: &Remote,
        offered: bool,
        role_for: impl FnOnce(Option<&str>) -> Option<DtlsRole>,
    ) -> Result<WebRtcRemote, NegotiateError> {
        let attrs = remote
            .webrtc
            .as_ref()
            .ok_or(NegotiateError::MissingWebRtcAttribute {
                attribute: "fingerprint",
            })?;
        let previous = self.state_mut(leg).webrtc_remote.as_ref();
        let restart = offered
            && previous.is_some_and(|r| attrs.ice.as_ref().is_some_and(|ice| *ice != r.ice));
        let role = previous
            .map(|r| r.role)
            .or_else(|| role_for(attrs.setup.as_deref()))
            .ok_or(NegotiateError::MissingWebRtcAttribute { attribute: "setup" })?;
        if restart {
            let fresh = IceCredentials::random(&mut self.rng);
            if let Some(local) = self.state_mut(leg).webrtc.as_mut() {
                local.ice = fresh;
            }
        }
        let local_ice = self
            .state_mut(leg)
            .webrtc
            .as_ref()
            .map(|l| l.ice.clone())
            .ok_or(NegotiateError::MissingWebRtcAttribute {
                attribute: "ice-ufrag/ice-pwd",
            })?;
        let browser = attrs.remote(role, local_ice)?;
        self.state_mut(leg).webrtc_remote = Some(browser.clone());
        Ok(browser)
    }

    /// The lines of our SDP on `leg`, when it is a WebRTC leg: `actpass` and our mid in an
    /// offer (the settled role and the browser's mid once there is one), our role in an
    /// answer.
    pub(super) fn webrtc_lines(&self, leg: LegId) -> Option<Lines> {
        let state = self.legs.iter().find(|l| l.id == leg)?;
        let local = state.webrtc.clone()?;
        let candidate = std::net::SocketAddr::new(self.advertised, state.ports.rtp.port());
        Some(match &state.webrtc_remote {
            Some(remote) => Lines {
                local,
                setup: remote.role.setup(),
                mid: remote.mid.as_str().to_owned(),
                mid_extension: remote.mid_extension,
                candidate,
            },
            None => Lines {
                local,
                setup: "actpass",
                mid: OFFER_MID.to_owned(),
                mid_extension: Some(OFFER_MID_EXTENSION),
                candidate,
            },
        })
    }
}

/// Keeps what a browser can take of an offer's formats: its codecs and telephone-event.
pub(super) fn browser_formats(sent: &mut Vec<Sent>) {
    sent.retain(|s| match s.format.role() {
        Role::Event => true,
        Role::Audio => matches!(s.format.codec, Codec::Known(k) if BROWSER_CODECS.contains(&k)),
        Role::Auxiliary => false,
    });
}

/// Whether an SDP offer comes from a browser: its first audio section is DTLS-SRTP
/// (`UDP/TLS/RTP/SAVPF`) with a fingerprint and no SDES keys. A driver that does not know
/// the peer's transport uses it to choose [`Negotiator::set_webrtc`] for the offering leg.
pub fn is_webrtc_offer(sdp: &[u8]) -> bool {
    let Ok(parsed) = sb_sdp::Sdp::parse(sdp) else {
        return false;
    };
    parsed.first_audio().is_some_and(|(_, m)| {
        m.is_dtls()
            && !m.attributes.has("crypto")
            && (m.attributes.has("fingerprint") || parsed.attributes.has("fingerprint"))
    })
}
