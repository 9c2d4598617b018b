//! The server's media gateway as the media tests configure and observe it:
//! the `[media]` table, a dialplan whose rule chooses pass-through, and the
//! `media` object of live calls (`/api/calls`) and call records
//! (`/api/cdrs`).

use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde_json::Value;

/// The `[media]` table of the server's configuration; keys left unset keep
/// the server's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaSection {
    enabled: Option<bool>,
    ports: Option<RangeInclusive<u16>>,
    codecs: Option<Vec<String>>,
    timeout: Option<Duration>,
    srtp_offer: Option<String>,
}

impl MediaSection {
    /// A table with no keys.
    pub fn new() -> MediaSection {
        MediaSection::default()
    }

    /// `enabled`: `false` passes SDP through unchanged for every call.
    pub fn enabled(mut self, enabled: bool) -> MediaSection {
        self.enabled = Some(enabled);
        self
    }

    /// `port_min` and `port_max`.
    pub fn ports(mut self, ports: RangeInclusive<u16>) -> MediaSection {
        self.ports = Some(ports);
        self
    }

    /// `codecs`: the gateway's preference list (`opus`, `G722`, `PCMU`, `PCMA`).
    pub fn codecs(mut self, codecs: &[&str]) -> MediaSection {
        self.codecs = Some(codecs.iter().map(|c| (*c).to_owned()).collect());
        self
    }

    /// `timeout`: a device silent this long ends its call.
    pub fn timeout(mut self, timeout: Duration) -> MediaSection {
        self.timeout = Some(timeout);
        self
    }

    /// `srtp_offer`: `never`, `optional` or `mandatory`.
    pub fn srtp_offer(mut self, policy: &str) -> MediaSection {
        self.srtp_offer = Some(policy.to_owned());
        self
    }

    /// The table as TOML (with its `[media]` header), to append to the
    /// configuration (the `extra` of [`crate::config_text`]).
    pub fn to_toml(&self) -> String {
        let mut out = String::from("[media]\n");
        if let Some(e) = self.enabled {
            let _ = writeln!(out, "enabled = {e}");
        }
        if let Some(p) = &self.ports {
            let _ = writeln!(out, "port_min = {}\nport_max = {}", p.start(), p.end());
        }
        if let Some(c) = &self.codecs {
            let quoted: Vec<String> = c.iter().map(|c| format!("{c:?}")).collect();
            let _ = writeln!(out, "codecs = [{}]", quoted.join(", "));
        }
        if let Some(t) = self.timeout {
            let _ = writeln!(out, "timeout = \"{}ms\"", t.as_millis());
        }
        if let Some(s) = &self.srtp_offer {
            let _ = writeln!(out, "srtp_offer = {s:?}");
        }
        out
    }
}

/// A dialplan (one file) that rings users by name with
/// `media = "pass-through"`: devices exchange RTP directly.
pub const PASS_THROUGH_DIALPLAN: &str = r#"[[context]]
name = "internal"

[[context.rule]]
name = "users with direct media"
to_regex = '[A-Za-z][A-Za-z0-9._-]*'
media = "pass-through"
actions = [{ ring_user = "${to}" }]
"#;

/// The configuration table naming a dialplan directory `dir` (relative to
/// the server's directory, see [`crate::Server::start_with_files`]).
pub fn dialplan_dir(dir: &str) -> String {
    format!("[dialplan]\ndir = {dir:?}\n")
}

/// The media statistics of one leg, as the API reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct LegMedia {
    /// `caller` or `callee`.
    pub leg: String,
    /// The codec the leg sends (`PCMU`, `opus`, …), when negotiated.
    pub codec: Option<String>,
    /// RTP packets received from the device.
    pub packets_received: u64,
    /// RTP packets sent to the device.
    pub packets_sent: u64,
    /// Bytes received from the device.
    pub bytes_received: u64,
    /// Bytes sent to the device.
    pub bytes_sent: u64,
    /// Packets lost on the way from the device.
    pub packets_lost: u64,
    /// Interarrival jitter of the device's packets.
    pub jitter_ms: f64,
    /// Audio frames decoded from the device's packets.
    pub frames_decoded: u64,
    /// Audio frames encoded for the device (absent in call records).
    pub frames_encoded: Option<u64>,
    /// Whether the leg uses SRTP (absent in call records).
    pub srtp: Option<bool>,
}

/// The `media` object of a live call or a call record.
#[derive(Debug, Clone, PartialEq)]
pub struct CallMedia {
    /// `relay`, `transcode`, `echo`, `tone` or `pass-through`.
    pub path: String,
    /// One entry per leg.
    pub legs: Vec<LegMedia>,
}

impl CallMedia {
    /// Reads the `media` member of a call or record; `Err` says which field
    /// is missing or of the wrong type (the shape is part of the API).
    pub fn from_json(media: &Value) -> Result<CallMedia, String> {
        let obj = media
            .as_object()
            .ok_or_else(|| format!("media is not an object: {media}"))?;
        let path = obj
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("media.path is not a string: {media}"))?
            .to_owned();
        let legs = obj
            .get("legs")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("media.legs is not an array: {media}"))?
            .iter()
            .map(leg_from_json)
            .collect::<Result<_, _>>()?;
        Ok(CallMedia { path, legs })
    }

    /// The leg named `leg` (`caller` or `callee`).
    pub fn leg(&self, leg: &str) -> Option<&LegMedia> {
        self.legs.iter().find(|l| l.leg == leg)
    }
}

fn leg_from_json(v: &Value) -> Result<LegMedia, String> {
    let count = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("leg field {k} is not a count: {v}"))
    };
    let leg = v
        .get("leg")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("leg field leg is not a string: {v}"))?
        .to_owned();
    let codec = match v.get("codec") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(format!("leg field codec is not a string: {other}")),
    };
    Ok(LegMedia {
        leg,
        codec,
        packets_received: count("packets_received")?,
        packets_sent: count("packets_sent")?,
        bytes_received: count("bytes_received")?,
        bytes_sent: count("bytes_sent")?,
        packets_lost: count("packets_lost")?,
        jitter_ms: v
            .get("jitter_ms")
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("leg field jitter_ms is not a number: {v}"))?,
        frames_decoded: count("frames_decoded")?,
        frames_encoded: v.get("frames_encoded").and_then(Value::as_u64),
        srtp: v.get("srtp").and_then(Value::as_bool),
    })
}

/// The value of the sample `name` (without labels) in a Prometheus text
/// exposition; `None` when absent.
pub fn metric_value(exposition: &str, name: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        let value = rest.strip_prefix(' ')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_media_table_is_toml_with_the_keys_set() {
        let t = MediaSection::new()
            .ports(20000..=20999)
            .timeout(Duration::from_secs(2))
            .codecs(&["PCMU", "opus"])
            .srtp_offer("never")
            .enabled(true)
            .to_toml();
        assert_eq!(
            t,
            "[media]\nenabled = true\nport_min = 20000\nport_max = 20999\n\
             codecs = [\"PCMU\", \"opus\"]\ntimeout = \"2000ms\"\nsrtp_offer = \"never\"\n"
        );
        assert_eq!(MediaSection::new().to_toml(), "[media]\n");
    }

    #[test]
    fn the_media_object_is_read_strictly() {
        let v = serde_json::json!({"path": "relay", "legs": [
            {"leg": "caller", "codec": "PCMU", "packets_received": 10, "packets_sent": 9,
             "bytes_received": 1720, "bytes_sent": 1548, "packets_lost": 0, "jitter_ms": 0.5,
             "frames_decoded": 0, "frames_encoded": 0, "srtp": false}]});
        let m = CallMedia::from_json(&v).unwrap();
        assert_eq!(m.path, "relay");
        let caller = m.leg("caller").unwrap();
        assert_eq!(caller.codec.as_deref(), Some("PCMU"));
        assert_eq!((caller.packets_received, caller.srtp), (10, Some(false)));
        assert!(m.leg("callee").is_none());
        let missing = serde_json::json!({"path": "relay", "legs": [{"leg": "caller"}]});
        assert!(CallMedia::from_json(&missing).is_err());
        assert!(CallMedia::from_json(&Value::Null).is_err());
    }

    #[test]
    fn metric_values_are_found_by_exact_name() {
        let text = "# TYPE switchboard_media_frames_decoded_total counter\n\
                    switchboard_media_frames_decoded_total_x 3\n\
                    switchboard_media_frames_decoded_total 250\n";
        assert_eq!(
            metric_value(text, "switchboard_media_frames_decoded_total"),
            Some(250.0)
        );
        assert_eq!(metric_value(text, "switchboard_media_sessions"), None);
    }
}
