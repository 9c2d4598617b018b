//! What the media gateway measured during a call, for its call-detail record
//! ([`super::cdr::CdrRecord::media`]). The switch carries the field; the
//! driver fills it from the call's media session and stores it as the JSON
//! text of [`MediaSummary::to_json`].

use std::fmt::Write as _;

/// Which party a measured leg belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaLegRole {
    /// The caller's leg ([`crate::LegId::A`]).
    Caller,
    /// The answering device's leg ([`super::cdr::CdrRecord::answered_leg`]).
    Callee,
}

impl MediaLegRole {
    /// `caller` or `callee`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaLegRole::Caller => "caller",
            MediaLegRole::Callee => "callee",
        }
    }
}

/// The media of one leg over the whole call.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaLegSummary {
    /// Whose leg.
    pub leg: MediaLegRole,
    /// The codec the leg sent with (`PCMU`, `opus`…), when one was agreed.
    pub codec: Option<String>,
    /// RTP packets received from the device.
    pub packets_received: u64,
    /// RTP packets sent to the device.
    pub packets_sent: u64,
    /// RTP payload bytes received.
    pub bytes_received: u64,
    /// RTP payload bytes sent.
    pub bytes_sent: u64,
    /// Packets of the device's stream that never arrived.
    pub packets_lost: u64,
    /// Interarrival jitter of the device's stream (RFC 3550 §6.4.1), ms.
    pub jitter_ms: f64,
    /// Audio frames decoded from the device (0 when relayed untouched).
    pub frames_decoded: u64,
    /// Audio frames encoded for the device (transcoding, tones).
    pub frames_encoded: u64,
    /// Whether the leg was SRTP.
    pub srtp: bool,
}

/// The media of a call: how it was carried and each measured leg.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaSummary {
    /// How the gateway carried it: `relay`, `transcode`, `echo`, `tone`, or
    /// `pass-through` (not through the gateway).
    pub path: String,
    /// The caller's leg, then the callee's.
    pub legs: Vec<MediaLegSummary>,
}

impl MediaSummary {
    /// The summary as one JSON object, the form call records store:
    /// `{"path":"relay","legs":[{"leg":"caller","codec":"PCMU",
    /// "packets_received":…,"packets_sent":…,"bytes_received":…,
    /// "bytes_sent":…,"packets_lost":…,"jitter_ms":…,"frames_decoded":…,
    /// "frames_encoded":…,"srtp":false}]}`
    /// (`codec` is `null` when none was agreed; `jitter_ms` has at most three
    /// decimals, `null` when not finite).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + 200 * self.legs.len());
        out.push_str("{\"path\":");
        push_json_string(&mut out, &self.path);
        out.push_str(",\"legs\":[");
        for (i, leg) in self.legs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"leg\":\"");
            out.push_str(leg.leg.as_str());
            out.push_str("\",\"codec\":");
            match &leg.codec {
                Some(codec) => push_json_string(&mut out, codec),
                None => out.push_str("null"),
            }
            for (name, value) in [
                ("packets_received", leg.packets_received),
                ("packets_sent", leg.packets_sent),
                ("bytes_received", leg.bytes_received),
                ("bytes_sent", leg.bytes_sent),
                ("packets_lost", leg.packets_lost),
            ] {
                write!(out, ",\"{name}\":{value}").expect("writing to a String");
            }
            out.push_str(",\"jitter_ms\":");
            if leg.jitter_ms.is_finite() {
                let rounded = (leg.jitter_ms * 1000.0).round() / 1000.0;
                write!(out, "{rounded}").expect("writing to a String");
            } else {
                out.push_str("null");
            }
            write!(
                out,
                ",\"frames_decoded\":{},\"frames_encoded\":{},\"srtp\":{}}}",
                leg.frames_decoded, leg.frames_encoded, leg.srtp
            )
            .expect("writing to a String");
        }
        out.push_str("]}");
        out
    }
}

/// `text` as a JSON string (RFC 8259 §7).
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                write!(out, "\\u{:04x}", u32::from(c)).expect("writing to a String");
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(role: MediaLegRole, codec: Option<&str>, jitter_ms: f64) -> MediaLegSummary {
        MediaLegSummary {
            leg: role,
            codec: codec.map(str::to_owned),
            packets_received: 1_500,
            packets_sent: 1_498,
            bytes_received: 240_000,
            bytes_sent: 239_680,
            packets_lost: 2,
            jitter_ms,
            frames_decoded: 0,
            frames_encoded: 0,
            srtp: false,
        }
    }

    #[test]
    fn json_names_every_field_in_order() {
        let summary = MediaSummary {
            path: "relay".to_owned(),
            legs: vec![
                leg(MediaLegRole::Caller, Some("PCMU"), 1.25),
                leg(MediaLegRole::Callee, None, 0.0),
            ],
        };
        assert_eq!(
            summary.to_json(),
            "{\"path\":\"relay\",\"legs\":[\
             {\"leg\":\"caller\",\"codec\":\"PCMU\",\"packets_received\":1500,\
             \"packets_sent\":1498,\"bytes_received\":240000,\"bytes_sent\":239680,\
             \"packets_lost\":2,\"jitter_ms\":1.25,\"frames_decoded\":0,\"frames_encoded\":0,\"srtp\":false},\
             {\"leg\":\"callee\",\"codec\":null,\"packets_received\":1500,\
             \"packets_sent\":1498,\"bytes_received\":240000,\"bytes_sent\":239680,\
             \"packets_lost\":2,\"jitter_ms\":0,\"frames_decoded\":0,\"frames_encoded\":0,\"srtp\":false}]}"
        );
    }

    #[test]
    fn json_escapes_text_and_rounds_jitter() {
        let summary = MediaSummary {
            path: "x\"\\\n\u{1}".to_owned(),
            legs: vec![
                leg(MediaLegRole::Caller, Some("op\"us"), 2.123_456),
                leg(MediaLegRole::Callee, Some("G722"), f64::NAN),
            ],
        };
        let json = summary.to_json();
        assert!(
            json.starts_with("{\"path\":\"x\\\"\\\\\\n\\u0001\","),
            "{json}"
        );
        assert!(json.contains("\"codec\":\"op\\\"us\""), "{json}");
        assert!(json.contains("\"jitter_ms\":2.123,"), "{json}");
        assert!(json.contains("\"jitter_ms\":null,"), "{json}");
        let empty = MediaSummary {
            path: "pass-through".to_owned(),
            legs: Vec::new(),
        };
        assert_eq!(empty.to_json(), "{\"path\":\"pass-through\",\"legs\":[]}");
    }
}
