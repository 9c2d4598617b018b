//! Writing the SDP we send on a leg: our own origin, `c=` and ports, the audio formats chosen,
//! every other `m=` line declined with port 0 (RFC 3264 §6, §8), and nothing of the device on
//! the other side that would mislead this one (no `a=ssrc`, `a=msid`, ICE or DTLS lines of the
//! other device; a WebRTC leg gets the gateway's own, [`crate::webrtc`]).

use std::net::IpAddr;

use sb_sdp::{Attribute, Connection, Media, MediaDirection, Origin, Rtpmap, Sdp};

use super::formats::Format;
use super::keys;
use super::remote::Section;
use crate::plan::{Codec, SrtpKey};
use crate::webrtc::{LocalLines, write_local_attributes, write_ssrc};

/// The audio stream of an SDP we write.
#[derive(Debug)]
pub(crate) struct AudioSection<'a> {
    /// The local RTP port; 0 declines the stream.
    pub port: u16,
    /// The local RTCP port, written as `a=rtcp` when `rtcp_attribute` is set.
    pub rtcp_port: u16,
    /// Write `a=rtcp:<rtcp_port>` (RTCP on its own port, or the fallback of an offer).
    pub rtcp_attribute: bool,
    /// Write `a=rtcp-mux`.
    pub rtcp_mux: bool,
    /// The transport protocol.
    pub proto: &'a str,
    /// The formats, in preference order.
    pub formats: &'a [Format],
    /// `a=ptime`.
    pub ptime: u16,
    /// Our direction.
    pub direction: MediaDirection,
    /// `a=crypto` lines: tag and our key.
    pub cryptos: &'a [(u32, SrtpKey)],
    /// The browser profile: ICE-lite, DTLS and BUNDLE lines (a WebRTC leg only).
    pub webrtc: Option<LocalLines<'a>>,
}

/// Builds the SDP: `layout` gives the `m=` lines to mirror (the audio one at `index` is
/// replaced by `audio`, the others declined); an empty layout means a single audio stream.
pub(crate) fn compose(
    origin: Origin,
    advertised: IpAddr,
    layout: &[Section],
    index: usize,
    audio: &AudioSection<'_>,
) -> Sdp {
    let mut sdp = Sdp::new(origin, "-");
    sdp.connection = Some(Connection::new(advertised));
    if let Some(lines) = audio.webrtc.as_ref().filter(|_| audio.port != 0) {
        // RFC 8445 §2.5 (lite), RFC 8843 §7.2 (one BUNDLE group: the audio section).
        sdp.attributes.push(Attribute::flag("ice-lite"));
        sdp.attributes
            .push(Attribute::new("group", format!("BUNDLE {}", lines.mid)));
    }
    let sections = layout.len().max(index + 1);
    sdp.media.reserve(sections);
    for i in 0..sections {
        if i == index {
            sdp.media.push(audio_media(audio));
            continue;
        }
        let media = match layout.get(i) {
            Some(section) => {
                let mut m = Media::new(section.media.as_str(), 0, section.proto.as_str());
                m.formats.clone_from(&section.formats);
                if let (Some(_), Some(mid)) = (&audio.webrtc, &section.mid) {
                    m.attributes.push(Attribute::new("mid", mid.as_str()));
                }
                m
            }
            None => Media::new("audio", 0, "RTP/AVP"),
        };
        sdp.media.push(media);
    }
    sdp
}

fn audio_media(audio: &AudioSection<'_>) -> Media {
    let mut m = Media::new("audio", audio.port, audio.proto);
    m.formats = audio.formats.iter().map(|f| f.pt.to_string()).collect();
    if audio.port == 0 {
        return m;
    }
    let attrs = &mut m.attributes;
    if let Some(lines) = &audio.webrtc {
        write_local_attributes(attrs, lines);
    }
    for f in audio.formats {
        attrs.push(rtpmap(f));
        // An fmtp without parameters is not written (RFC 8866 §6.15 requires them).
        if let Some(params) = f.fmtp.as_deref().filter(|p| !p.is_empty()) {
            attrs.push(Attribute::new("fmtp", format!("{} {params}", f.pt)));
        }
    }
    attrs.push(Attribute::new("ptime", audio.ptime.to_string()));
    if audio.rtcp_attribute {
        attrs.push(Attribute::new("rtcp", audio.rtcp_port.to_string()));
    }
    if audio.rtcp_mux {
        attrs.push(Attribute::flag("rtcp-mux"));
    }
    for (tag, key) in audio.cryptos {
        attrs.push(keys::attribute(*tag, key));
    }
    attrs.push(Attribute::flag(audio.direction.name()));
    if let Some(lines) = &audio.webrtc {
        write_ssrc(attrs, lines.local);
    }
    m
}

fn rtpmap(f: &Format) -> Attribute {
    let (encoding, clock_rate, channels) = match &f.codec {
        Codec::Known(kind) => (
            kind.encoding_name(),
            kind.rtp_clock_rate(),
            kind.sdp_channels(),
        ),
        Codec::Other {
            name,
            clock_rate,
            channels,
        } => (&**name, *clock_rate, *channels),
    };
    let map = Rtpmap {
        payload_type: f.pt,
        encoding,
        clock_rate,
        channels,
    };
    Attribute::new("rtpmap", map.to_string())
}

#[cfg(test)]
mod tests {
    use sb_media_codec::CodecKind;

    use super::*;
    use crate::negotiate::formats::telephone_event;
    use crate::plan::SrtpSuite;

    #[test]
    fn offer_shape() {
        let formats = [
            Format {
                pt: 96,
                codec: Codec::Known(CodecKind::Opus),
                fmtp: Some("minptime=10;useinbandfec=1".into()),
            },
            Format {
                pt: 0,
                codec: Codec::Known(CodecKind::Pcmu),
                fmtp: None,
            },
            Format {
                pt: 101,
                codec: telephone_event(8000),
                fmtp: Some("0-16".into()),
            },
        ];
        let key = SrtpKey {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            key: [1; 16],
            salt: [2; 14],
        };
        let layout = [
            Section {
                media: "audio".into(),
                proto: "RTP/AVP".into(),
                formats: vec!["0".into()],
                mid: None,
            },
            Section {
                media: "video".into(),
                proto: "RTP/AVPF".into(),
                formats: vec!["96".into(), "97".into()],
                mid: Some("1".into()),
            },
        ];
        let ip: IpAddr = "192.0.2.100".parse().unwrap();
        let sdp = compose(
            Origin::new(7, 3, ip),
            ip,
            &layout,
            0,
            &AudioSection {
                port: 40000,
                rtcp_port: 40001,
                rtcp_attribute: true,
                rtcp_mux: true,
                proto: "RTP/AVP",
                formats: &formats,
                ptime: 20,
                direction: MediaDirection::SendOnly,
                cryptos: &[(1, key)],
                webrtc: None,
            },
        );
        assert_eq!(
            String::from_utf8(sdp.to_bytes()).unwrap(),
            "v=0\r\no=- 7 3 IN IP4 192.0.2.100\r\ns=-\r\nc=IN IP4 192.0.2.100\r\nt=0 0\r\n\
             m=audio 40000 RTP/AVP 96 0 101\r\na=rtpmap:96 opus/48000/2\r\n\
             a=fmtp:96 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n\
             a=rtcp:40001\r\na=rtcp-mux\r\n\
             a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AQEBAQEBAQEBAQEBAQEBAQICAgICAgICAgICAgIC\r\n\
             a=sendonly\r\nm=video 0 RTP/AVPF 96 97\r\n"
        );
    }
}
