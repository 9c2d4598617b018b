//! Writing the SDP we send on a leg: our own origin, `c=` and ports, the audio formats chosen,
//! every other `m=` line declined with port 0 (RFC 3264 §6, §8), and nothing of the device on
//! the other side that would mislead this one (no `a=ssrc`, `a=msid`, ICE or DTLS lines).

use std::net::IpAddr;

use sb_sdp::{Attribute, Connection, Media, MediaDirection, Origin, Rtpmap, Sdp};

use super::formats::Format;
use super::keys;
use super::remote::Section;
use crate::plan::{Codec, SrtpKey};

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
    for f in audio.formats {
        attrs.push(rtpmap(f));
        if let Some(params) = &f.fmtp {
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
            },
            Section {
                media: "video".into(),
                proto: "RTP/AVPF".into(),
                formats: vec!["96".into(), "97".into()],
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
