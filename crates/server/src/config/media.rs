//! `[media]`: the media gateway — where RTP is received, which ports, which codecs.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use super::duration;

/// `[media]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Anchor media in the gateway. `false`: SDP passes through unchanged
    /// and devices exchange RTP directly, for every call.
    pub enabled: bool,
    /// Address the RTP sockets bind to.
    pub bind: IpAddr,
    /// Address written in SDP (`c=`); default: `bind`, or the first
    /// non-loopback local address when `bind` is unspecified (0.0.0.0).
    pub advertised: Option<IpAddr>,
    /// Lowest RTP port (even ports for RTP, the next odd one for RTCP).
    pub port_min: u16,
    /// Highest port.
    pub port_max: u16,
    /// Codecs the gateway offers and transcodes between, most preferred
    /// first: `opus`, `G722`, `PCMU`, `PCMA`.
    pub codecs: Vec<String>,
    /// SDES-SRTP in offers the gateway sends to devices: `never`,
    /// `optional` (RTP/AVP with `a=crypto`) or `mandatory` (RTP/SAVP).
    pub srtp_offer: String,
    /// A call whose device sends no RTP for this long is hung up
    /// (`0s`: never).
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Jitter buffer bounds on transcoded paths.
    #[serde(with = "duration")]
    pub jitter_min: Duration,
    /// Upper bound of the jitter buffer.
    #[serde(with = "duration")]
    pub jitter_max: Duration,
    /// Media worker threads, each an event loop owning whole calls
    /// (`0`: one per core).
    pub workers: usize,
    /// Opus encoder settings.
    pub opus: OpusSettings,
}

/// `[media.opus]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OpusSettings {
    /// In-band forward error correction.
    pub fec: bool,
    /// Discontinuous transmission (silence sends almost nothing).
    pub dtx: bool,
    /// Target bit rate in bit/s.
    pub bitrate: u32,
    /// Encoder complexity, 0–10 (CPU against quality).
    pub complexity: u8,
    /// Expected packet loss in percent (tunes FEC).
    pub packet_loss_pct: u8,
}

impl Default for OpusSettings {
    fn default() -> Self {
        let d = sb_media_codec::OpusConfig::default();
        OpusSettings {
            fec: d.fec,
            dtx: d.dtx,
            bitrate: d.bitrate,
            complexity: d.complexity,
            packet_loss_pct: d.packet_loss_pct,
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            enabled: true,
            bind: IpAddr::from([127, 0, 0, 1]),
            advertised: None,
            port_min: 16384,
            port_max: 32767,
            codecs: ["opus", "G722", "PCMU", "PCMA"].map(String::from).to_vec(),
            srtp_offer: "optional".into(),
            timeout: Duration::from_secs(60),
            jitter_min: Duration::from_millis(20),
            jitter_max: Duration::from_millis(200),
            workers: 0,
            opus: OpusSettings::default(),
        }
    }
}

impl MediaConfig {
    /// Checks values; `Err((key, message))`.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.port_min < 1024 || !self.port_min.is_multiple_of(2) {
            return Err(("media.port_min", "must be an even port ≥ 1024".into()));
        }
        if self.port_max <= self.port_min {
            return Err(("media.port_max", "must be above port_min".into()));
        }
        self.codec_list().map_err(|m| ("media.codecs", m))?;
        self.srtp().map_err(|m| ("media.srtp_offer", m))?;
        if self.jitter_min.is_zero() || self.jitter_max < self.jitter_min {
            return Err((
                "media.jitter_max",
                "jitter_min must be positive and at most jitter_max".into(),
            ));
        }
        if self.jitter_max > Duration::from_secs(1) {
            return Err(("media.jitter_max", "must be at most 1s".into()));
        }
        if self.opus.complexity > 10 {
            return Err(("media.opus.complexity", "must be 0 to 10".into()));
        }
        if !(6_000..=510_000).contains(&self.opus.bitrate) {
            return Err(("media.opus.bitrate", "must be 6000 to 510000".into()));
        }
        if self.opus.packet_loss_pct > 100 {
            return Err(("media.opus.packet_loss_pct", "must be 0 to 100".into()));
        }
        if self.workers > 1024 {
            return Err(("media.workers", "must be 0 (one per core) to 1024".into()));
        }
        if self.advertised.is_some_and(|a| a.is_unspecified()) {
            return Err(("media.advertised", "must be a concrete address".into()));
        }
        Ok(())
    }

    /// The codec preference list.
    pub fn codec_list(&self) -> Result<Vec<sb_media_codec::CodecKind>, String> {
        if self.codecs.is_empty() {
            return Err("at least one codec is needed".into());
        }
        let mut list = Vec::new();
        for name in &self.codecs {
            let kind = sb_media_codec::CodecKind::ALL
                .into_iter()
                .find(|k| k.encoding_name().eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("unknown codec `{name}` (opus, G722, PCMU, PCMA)"))?;
            if list.contains(&kind) {
                return Err(format!("`{name}` is listed twice"));
            }
            list.push(kind);
        }
        Ok(list)
    }

    /// The SRTP offer policy.
    pub fn srtp(&self) -> Result<sb_media_engine::SrtpOffer, String> {
        match self.srtp_offer.as_str() {
            "never" => Ok(sb_media_engine::SrtpOffer::Never),
            "optional" => Ok(sb_media_engine::SrtpOffer::Optional),
            "mandatory" => Ok(sb_media_engine::SrtpOffer::Mandatory),
            other => Err(format!(
                "`{other}` is not one of never, optional, mandatory"
            )),
        }
    }

    /// The Opus encoder settings.
    pub fn opus_config(&self) -> sb_media_codec::OpusConfig {
        sb_media_codec::OpusConfig {
            fec: self.opus.fec,
            dtx: self.opus.dtx,
            bitrate: self.opus.bitrate,
            complexity: self.opus.complexity,
            packet_loss_pct: self.opus.packet_loss_pct,
        }
    }
}
