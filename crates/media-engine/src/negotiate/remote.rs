//! What a device's SDP says about its audio stream: where to send, what it accepts, its
//! direction and its SDES keys; and the layout of all its `m=` lines, which every SDP we
//! write back keeps (RFC 3264 §6, §8).

use std::net::{IpAddr, SocketAddr};

use sb_sdp::{Media, MediaDirection, Sdp};

use super::NegotiateError;
use super::formats::{Format, Role, read_formats};
use super::keys::RemoteCrypto;
use crate::webrtc::WebRtcAttributes;

/// One `m=` line as the device wrote it (kept to decline it with the same formats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    /// `audio`, `video`, …
    pub media: String,
    /// The transport protocol.
    pub proto: String,
    /// The formats.
    pub formats: Vec<String>,
    /// `a=mid` (kept on declined sections towards a browser, RFC 8843 §7.3.3).
    pub mid: Option<String>,
}

/// The audio stream of a device's offer or answer.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    /// Every `m=` line.
    pub layout: Vec<Section>,
    /// The index of the audio stream among them.
    pub index: usize,
    /// Its port (0: declined or disabled).
    pub port: u16,
    /// Its protocol.
    pub proto: String,
    /// Where its RTP goes.
    pub rtp: Option<SocketAddr>,
    /// Where its RTCP goes.
    pub rtcp: Option<SocketAddr>,
    /// `a=rtcp-mux` present.
    pub rtcp_mux: bool,
    /// The formats, in `m=` order (audio codecs, events, auxiliary).
    pub formats: Vec<Format>,
    /// The direction from the device's point of view (a `c=` of 0.0.0.0 counts as not
    /// receiving, the RFC 2543 hold).
    pub direction: MediaDirection,
    /// The `a=crypto` lines the gateway can use, in order.
    pub cryptos: Vec<RemoteCrypto>,
    /// Whether any `a=crypto` line was present.
    pub crypto_present: bool,
    /// `a=ptime`.
    pub ptime: Option<u16>,
    /// The browser attributes (ICE, DTLS, mid, SSRCs) of a DTLS-SRTP section on a WebRTC
    /// leg.
    pub webrtc: Option<WebRtcAttributes>,
}

impl Remote {
    /// Reads the audio stream of `sdp`: the first `audio` section (an offer), or the section
    /// at `index` (an answer, matched to our offer by position; RFC 3264 §6). `fallback`
    /// resolves payload types written without an rtpmap. `webrtc_leg`: the SDP comes from a
    /// browser (DTLS-SRTP is then expected, and `c=0.0.0.0` with port 9 is ICE's placeholder,
    /// not a hold).
    pub(crate) fn read(
        sdp: &Sdp,
        index: Option<usize>,
        fallback: &[Format],
        webrtc_leg: bool,
    ) -> Result<Remote, NegotiateError> {
        let (index, media) = match index {
            None => sdp.first_audio().ok_or(NegotiateError::NoAudio)?,
            Some(i) => sdp
                .media
                .get(i)
                .filter(|m| m.is_audio())
                .map(|m| (i, m))
                .ok_or(NegotiateError::MissingStream { index: i })?,
        };
        let cryptos = RemoteCrypto::read_all(&media.attributes);
        let crypto_present = media.attributes.has("crypto");
        let webrtc = (webrtc_leg && media.is_dtls()).then(|| WebRtcAttributes::read(sdp, media));
        if media.port != 0 && media.is_dtls() && !crypto_present && webrtc.is_none() {
            return Err(NegotiateError::UnsupportedTransport {
                proto: media.proto.clone(),
            });
        }
        let connection = sdp.connection_for(media).and_then(|c| c.ip());
        let held = webrtc.is_none() && connection.is_some_and(|ip| ip.is_unspecified());
        let ip = connection.filter(|ip| !ip.is_unspecified());
        let mut direction = sdp.direction_for(media);
        if held {
            direction = MediaDirection::from_flags(direction.sends(), false);
        }
        let rtcp_mux = media.attributes.rtcp_mux();
        let (rtp, rtcp) = addresses(media, ip, rtcp_mux);
        Ok(Remote {
            layout: sdp
                .media
                .iter()
                .map(|m| Section {
                    media: m.media.clone(),
                    proto: m.proto.clone(),
                    formats: m.formats.clone(),
                    mid: m.attributes.mid().map(str::to_owned),
                })
                .collect(),
            index,
            port: media.port,
            proto: media.proto.clone(),
            rtp,
            rtcp,
            rtcp_mux,
            formats: read_formats(media, fallback),
            direction,
            cryptos,
            crypto_present,
            ptime: media.attributes.ptime().and_then(|p| u16::try_from(p).ok()),
            webrtc,
        })
    }

    /// The audio codecs, in order.
    pub(crate) fn audio(&self) -> impl Iterator<Item = &Format> {
        self.formats.iter().filter(|f| f.role() == Role::Audio)
    }

    /// The telephone-event format to use next to a codec at `clock_rate`: the same clock,
    /// else 8000, else the first.
    pub(crate) fn event_for(&self, clock_rate: u32) -> Option<&Format> {
        let events = || self.formats.iter().filter(|f| f.role() == Role::Event);
        events()
            .find(|f| f.codec.clock_rate() == clock_rate)
            .or_else(|| events().find(|f| f.codec.clock_rate() == 8000))
            .or_else(|| events().next())
    }

    /// Whether the device asked for SRTP: an SRTP profile, or RTP/AVP with `a=crypto`
    /// (RFC 4568 §7.1.1 lets an offer propose SDES without requiring it).
    pub(crate) fn wants_srtp(&self) -> bool {
        self.crypto_present || self.requires_srtp()
    }

    /// Whether the profile is an SRTP one (`RTP/SAVP`, `RTP/SAVPF`).
    pub(crate) fn requires_srtp(&self) -> bool {
        let last = self.proto.rsplit('/').next().unwrap_or_default();
        last.eq_ignore_ascii_case("SAVP") || last.eq_ignore_ascii_case("SAVPF")
    }
}

/// RTP and RTCP destinations: `c=` and the port; RTCP from `a=rtcp` (RFC 3605), else the
/// next port (RFC 3550 §11), or the RTP address when multiplexed (RFC 5761).
fn addresses(
    media: &Media,
    ip: Option<IpAddr>,
    rtcp_mux: bool,
) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let Some(ip) = ip.filter(|_| media.port != 0) else {
        return (None, None);
    };
    let rtp = SocketAddr::new(ip, media.port);
    if rtcp_mux {
        return (Some(rtp), Some(rtp));
    }
    let rtcp = match media.attributes.rtcp() {
        Some(attr) if attr.port != 0 => Some(SocketAddr::new(attr.ip().unwrap_or(ip), attr.port)),
        _ => media.port.checked_add(1).map(|p| SocketAddr::new(ip, p)),
    };
    (Some(rtp), rtcp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Remote, NegotiateError> {
        let sdp = Sdp::parse(text.as_bytes()).unwrap();
        Remote::read(&sdp, None, &[], false)
    }

    const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";

    #[test]
    fn addresses_from_session_connection_and_rtcp_attribute() {
        let r = read(&format!(
            "{HEAD}m=video 0 RTP/AVP 31\r\nm=audio 5004 RTP/AVP 0\r\n\
             a=rtcp:6000 IN IP4 192.0.2.9\r\na=ptime:30\r\n"
        ))
        .unwrap();
        assert_eq!(r.index, 1);
        assert_eq!(r.layout.len(), 2);
        assert_eq!(r.rtp, Some("192.0.2.1:5004".parse().unwrap()));
        assert_eq!(r.rtcp, Some("192.0.2.9:6000".parse().unwrap()));
        assert_eq!(r.ptime, Some(30));
        let plain = read(&format!("{HEAD}m=audio 5004 RTP/AVP 0\r\n")).unwrap();
        assert_eq!(plain.rtcp, Some("192.0.2.1:5005".parse().unwrap()));
        let muxed = read(&format!("{HEAD}m=audio 5004 RTP/AVP 0\r\na=rtcp-mux\r\n")).unwrap();
        assert_eq!(muxed.rtcp, muxed.rtp);
        let media_level = read(&format!(
            "{HEAD}m=audio 5004 RTP/AVP 0\r\nc=IN IP6 2001:db8::5\r\n"
        ))
        .unwrap();
        assert_eq!(media_level.rtp, Some("[2001:db8::5]:5004".parse().unwrap()));
    }

    #[test]
    fn legacy_hold_and_declined_stream() {
        let held = read(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n\
             m=audio 5004 RTP/AVP 0\r\n",
        )
        .unwrap();
        assert_eq!(held.rtp, None);
        assert_eq!(held.direction, MediaDirection::SendOnly);
        let declined = read(&format!("{HEAD}m=audio 0 RTP/AVP 0\r\n")).unwrap();
        assert_eq!(
            (declined.port, declined.rtp, declined.rtcp),
            (0, None, None)
        );
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            read(&format!("{HEAD}m=video 5004 RTP/AVP 31\r\n")),
            Err(NegotiateError::NoAudio)
        ));
        assert!(matches!(
            read(&format!(
                "{HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
            )),
            Err(NegotiateError::UnsupportedTransport { .. })
        ));
        let sdp = Sdp::parse(format!("{HEAD}m=audio 5004 RTP/AVP 0\r\n").as_bytes()).unwrap();
        assert!(matches!(
            Remote::read(&sdp, Some(1), &[], false),
            Err(NegotiateError::MissingStream { index: 1 })
        ));
    }

    #[test]
    fn events_next_to_a_codec() {
        let r = read(&format!(
            "{HEAD}m=audio 5004 RTP/AVP 96 0 110 126\r\na=rtpmap:96 opus/48000/2\r\n\
             a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n"
        ))
        .unwrap();
        assert_eq!(r.event_for(48000).map(|f| f.pt), Some(110));
        assert_eq!(r.event_for(8000).map(|f| f.pt), Some(126));
        assert_eq!(r.event_for(16000).map(|f| f.pt), Some(126));
        assert_eq!(r.audio().map(|f| f.pt).collect::<Vec<_>>(), vec![96, 0]);
        assert!(!r.wants_srtp());
    }
}
