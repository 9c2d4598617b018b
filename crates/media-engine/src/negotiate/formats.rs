//! Payload formats on one leg: reading them from `m=`/`a=rtpmap` (RFC 3551 static types when
//! there is no rtpmap), their role in negotiation, and payload type numbers that never collide
//! with what a leg already uses (RFC 3264 §8.3.2: a number keeps its codec for the session).

use std::sync::Arc;

use sb_media_codec::CodecKind;
use sb_sdp::Media;

use crate::plan::{Codec, PayloadFormat};

/// The RFC 4733 encoding name.
pub(crate) const TELEPHONE_EVENT: &str = "telephone-event";

/// Parameters we announce for Opus (RFC 7587 §6.1).
pub(crate) const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";

/// Events we announce when we add telephone-event ourselves (RFC 4733 §7.1.1: 0–15 are the
/// DTMF digits, 16 flash).
pub(crate) const EVENTS_FMTP: &str = "0-16";

/// A payload format of one leg's SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Format {
    /// The payload type number on that leg.
    pub pt: u8,
    /// The codec.
    pub codec: Codec,
    /// `a=fmtp` parameters, when given.
    pub fmtp: Option<String>,
}

/// What a format is for in negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An audio codec that can carry the call.
    Audio,
    /// RFC 4733 telephone-event.
    Event,
    /// Comfort noise, redundancy, retransmission, FEC: never the chosen codec.
    Auxiliary,
}

impl Format {
    /// The format's role.
    pub(crate) fn role(&self) -> Role {
        let name = self.codec.name();
        if name.eq_ignore_ascii_case(TELEPHONE_EVENT) {
            Role::Event
        } else if ["CN", "red", "rtx", "ulpfec", "flexfec"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
        {
            Role::Auxiliary
        } else {
            Role::Audio
        }
    }

    /// The plan's view of the format.
    pub(crate) fn payload(&self) -> PayloadFormat {
        PayloadFormat {
            pt: self.pt,
            codec: self.codec.clone(),
        }
    }

    /// A codec the gateway decodes.
    pub(crate) fn known(&self) -> Option<CodecKind> {
        match self.codec {
            Codec::Known(kind) => Some(kind),
            Codec::Other { .. } => None,
        }
    }
}

/// The codec of a telephone-event format at `clock_rate`.
pub(crate) fn telephone_event(clock_rate: u32) -> Codec {
    Codec::Other {
        name: Arc::from(TELEPHONE_EVENT),
        clock_rate,
        channels: None,
    }
}

/// The static payload types of RFC 3551 table 4 that still see use.
fn static_codec(pt: u8) -> Option<Codec> {
    let (name, clock_rate, channels) = match pt {
        0 => return Some(Codec::Known(CodecKind::Pcmu)),
        8 => return Some(Codec::Known(CodecKind::Pcma)),
        9 => return Some(Codec::Known(CodecKind::G722)),
        3 => ("GSM", 8000, None),
        4 => ("G723", 8000, None),
        5 => ("DVI4", 8000, None),
        6 => ("DVI4", 16000, None),
        7 => ("LPC", 8000, None),
        10 => ("L16", 44100, Some(2)),
        11 => ("L16", 44100, None),
        12 => ("QCELP", 8000, None),
        13 => ("CN", 8000, None),
        14 => ("MPA", 90000, None),
        15 => ("G728", 8000, None),
        16 => ("DVI4", 11025, None),
        17 => ("DVI4", 22050, None),
        18 => ("G729", 8000, None),
        _ => return None,
    };
    Some(Codec::Other {
        name: Arc::from(name),
        clock_rate,
        channels,
    })
}

/// The codec an rtpmap names.
fn rtpmap_codec(encoding: &str, clock_rate: u32, channels: Option<u8>) -> Codec {
    match CodecKind::from_rtpmap(encoding, clock_rate) {
        // Opus is always `opus/48000/2` (RFC 7587 §7); the others are mono.
        Some(kind) if kind == CodecKind::Opus || channels.unwrap_or(1) == 1 => Codec::Known(kind),
        _ => Codec::Other {
            name: Arc::from(encoding),
            clock_rate,
            channels,
        },
    }
}

/// The formats of an RTP media section, in `m=` order. A number without an rtpmap is a static
/// type (RFC 3551) or, failing that, resolved through `fallback` (an answer that leaves out the
/// rtpmap of a type we offered); formats that stay unknown are left out.
pub(crate) fn read_formats(media: &Media, fallback: &[Format]) -> Vec<Format> {
    let mut formats: Vec<Format> = Vec::with_capacity(media.formats.len());
    for (text, pt) in media
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok().map(|pt| (f, pt)))
        .filter(|(_, pt)| *pt < 128)
    {
        if formats.iter().any(|f| f.pt == pt) {
            continue;
        }
        let codec = match media.attributes.rtpmap(pt) {
            Some(map) => Some(rtpmap_codec(map.encoding, map.clock_rate, map.channels)),
            None => static_codec(pt).or_else(|| {
                fallback
                    .iter()
                    .find(|f| f.pt == pt)
                    .map(|f| f.codec.clone())
            }),
        };
        if let Some(codec) = codec {
            formats.push(Format {
                pt,
                codec,
                fmtp: media.attributes.fmtp(text).map(str::to_owned),
            });
        }
    }
    formats
}

/// The payload type numbers bound to codecs on one leg, from every SDP exchanged on it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bindings(Vec<(u8, Codec)>);

impl Bindings {
    /// Records `pt` → `codec` (a device's own mapping replaces an older one).
    pub(crate) fn bind(&mut self, pt: u8, codec: &Codec) {
        match self.0.iter_mut().find(|(p, _)| *p == pt) {
            Some(entry) => entry.1 = codec.clone(),
            None => self.0.push((pt, codec.clone())),
        }
    }

    /// Records every format.
    pub(crate) fn bind_all(&mut self, formats: &[Format]) {
        for f in formats {
            self.bind(f.pt, &f.codec);
        }
    }

    fn codec(&self, pt: u8) -> Option<&Codec> {
        self.0.iter().find(|(p, _)| *p == pt).map(|(_, c)| c)
    }

    fn pt_of<'s>(&'s self, codec: &'s Codec) -> impl Iterator<Item = u8> + 's {
        self.0
            .iter()
            .filter(move |(_, c)| c.relays_to(codec))
            .map(|(p, _)| *p)
    }
}

/// Chooses payload type numbers for an SDP we write on a leg: numbers the leg already binds
/// to the same codec first, then the number asked for, then a free dynamic one.
#[derive(Debug)]
pub(crate) struct Numbering<'a> {
    bindings: &'a Bindings,
    used: [bool; 128],
}

impl<'a> Numbering<'a> {
    /// Numbering for a leg with these bindings.
    pub(crate) fn new(bindings: &'a Bindings) -> Numbering<'a> {
        Numbering {
            bindings,
            used: [false; 128],
        }
    }

    /// A number for `codec`, preferring `wanted`; `None` when every usable number is taken.
    pub(crate) fn assign(&mut self, codec: &Codec, wanted: Option<u8>) -> Option<u8> {
        let free_for = |this: &Self, pt: u8| {
            !this.used[usize::from(pt)]
                && this
                    .bindings
                    .codec(pt)
                    .is_none_or(|bound| bound.relays_to(codec))
        };
        let bound = self.bindings.pt_of(codec).find(|pt| free_for(self, *pt));
        let pt = bound
            .or(wanted.filter(|pt| *pt < 128 && free_for(self, *pt)))
            // Dynamic numbers (RFC 3551 §3); 64–95 would clash with RTCP under rtcp-mux
            // (RFC 5761 §4), so the unassigned 35–63 come after 96–127.
            .or_else(|| (96..=127).chain(35..=63).find(|pt| free_for(self, *pt)))?;
        self.used[usize::from(pt)] = true;
        Some(pt)
    }
}

#[cfg(test)]
mod tests {
    use sb_sdp::Sdp;

    use super::*;

    fn media(text: &str) -> Media {
        let sdp = format!("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n{text}");
        Sdp::parse(sdp.as_bytes()).unwrap().media.remove(0)
    }

    #[test]
    fn formats_from_rtpmap_static_types_and_fallback() {
        let m = media(
            "m=audio 5004 RTP/AVP 96 0 18 97 98 99 0 13 200 x\r\na=rtpmap:96 opus/48000/2\r\n\
             a=fmtp:96 useinbandfec=1\r\na=rtpmap:97 PCMU/8000/2\r\n\
             a=rtpmap:98 telephone-event/8000\r\n",
        );
        let fallback = [Format {
            pt: 99,
            codec: Codec::Known(CodecKind::G722),
            fmtp: None,
        }];
        let formats = read_formats(&m, &fallback);
        let summary: Vec<(u8, &str, Role)> = formats
            .iter()
            .map(|f| (f.pt, f.codec.name(), f.role()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (96, "opus", Role::Audio),
                (0, "PCMU", Role::Audio),
                (18, "G729", Role::Audio),
                (97, "PCMU", Role::Audio),
                (98, "telephone-event", Role::Event),
                (99, "G722", Role::Audio),
                (13, "CN", Role::Auxiliary),
            ]
        );
        assert_eq!(formats[0].fmtp.as_deref(), Some("useinbandfec=1"));
        assert_eq!(formats[0].known(), Some(CodecKind::Opus));
        // Stereo PCMU is not the mono codec the gateway decodes.
        assert_eq!(formats[3].known(), None);
        assert_eq!(formats[2].known(), None);
    }

    #[test]
    fn numbering_keeps_bindings_and_avoids_collisions() {
        let mut bindings = Bindings::default();
        bindings.bind(96, &telephone_event(8000));
        bindings.bind(111, &Codec::Known(CodecKind::Opus));
        let mut n = Numbering::new(&bindings);
        // Opus keeps its number on this leg whatever the other leg used.
        assert_eq!(
            n.assign(&Codec::Known(CodecKind::Opus), Some(96)),
            Some(111)
        );
        // 96 is telephone-event here: G.722 from the other leg's 96 moves.
        assert_eq!(n.assign(&Codec::Known(CodecKind::G722), Some(96)), Some(97));
        assert_eq!(n.assign(&telephone_event(8000), Some(101)), Some(96));
        assert_eq!(n.assign(&Codec::Known(CodecKind::Pcmu), Some(0)), Some(0));
        // Already used in this SDP.
        assert_eq!(n.assign(&Codec::Known(CodecKind::Pcma), Some(0)), Some(98));
        let mut full = Numbering::new(&bindings);
        for _ in 0..(32 + 29 - 2) {
            assert!(full.assign(&telephone_event(16000), None).is_some());
        }
        assert_eq!(full.assign(&telephone_event(16000), None), None);
    }
}
