//! Opus (RFC 6716) through libopus: mono, VoIP application, PCM at any of libopus's rates
//! (8, 12, 16, 24 or 48 kHz; the RTP clock stays 48000 whatever the PCM rate, RFC 7587 §4.1),
//! settings from [`OpusConfig`], packet-loss concealment and in-band FEC (RFC 7587 §3.2).

use opus::{Application, Bandwidth, Bitrate, Channels};

use crate::error::CodecError;
use crate::kind::CodecKind;

/// The PCM rates libopus encodes from and decodes to.
pub const OPUS_PCM_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];
/// The PCM rate Opus runs at unless told otherwise.
const DEFAULT_RATE: u32 = 48_000;
/// Opus frames are whole multiples of 2.5 ms (RFC 6716 §2.1.4): 400 per second.
const GRANULES_PER_SECOND: u32 = 400;
/// The longest Opus packet, 120 ms (RFC 6716 §3.2.5).
const MAX_PACKET_MS: u32 = 120;
/// Room given to one encoded packet: keeps a payload inside a typical MTU (libopus lowers the
/// bitrate of a frame to fit).
const MAX_PAYLOAD_BYTES: usize = 1_500;

/// Encoder payloads of this many bytes or fewer carry no audio: with DTX on, libopus emits
/// them during silence and they need not be sent.
pub const OPUS_DTX_MAX_BYTES: usize = 2;

/// Opus encoder settings (`[media.opus]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusConfig {
    /// In-band forward error correction (LBRR, RFC 6716 §2.1.7).
    pub fec: bool,
    /// Discontinuous transmission: tiny packets during silence.
    pub dtx: bool,
    /// Target bitrate in bit/s, 6000..=510000.
    pub bitrate: u32,
    /// Encoder complexity, 0..=10 (CPU against quality); see [`OpusConfig::default`].
    pub complexity: u8,
    /// Expected packet loss in percent, 0..=100; tunes how much FEC the encoder spends.
    pub packet_loss_pct: u8,
}

impl Default for OpusConfig {
    /// FEC on, DTX off, 24 kbit/s, 5 % expected loss, complexity 1.
    ///
    /// Complexity 1 because the gateway's Opus encoder only codes audio transcoded from G.711
    /// or G.722, or generated tones: narrowband or wideband speech, coded by SILK. There
    /// complexity 0 and 1 cost the same, 2–3 about twice as much, 5 about three times and 10
    /// about four times (bench `codecs`, rows `opus_encode_20ms/8k/*`), while on synthetic
    /// voiced speech the higher settings measured no lower spectral distortion — what they
    /// buy is small next to G.711's own coding noise, and complexity 1 lets one core carry
    /// several times more transcoded calls. Higher complexities remain a configuration choice.
    fn default() -> Self {
        OpusConfig {
            fec: true,
            dtx: false,
            bitrate: 24_000,
            complexity: 1,
            packet_loss_pct: 5,
        }
    }
}

impl OpusConfig {
    /// Checks every field against the range libopus accepts.
    pub fn validate(&self) -> Result<(), CodecError> {
        check_range("bitrate", self.bitrate, 6_000, 510_000)?;
        check_range("complexity", u32::from(self.complexity), 0, 10)?;
        check_range("packet_loss_pct", u32::from(self.packet_loss_pct), 0, 100)
    }
}

fn check_range(field: &'static str, value: u32, min: u32, max: u32) -> Result<(), CodecError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(CodecError::OpusConfig {
            field,
            value,
            min,
            max,
        })
    }
}

/// Whether `rate` is a PCM rate libopus works at.
pub(crate) fn is_pcm_rate(rate: u32) -> bool {
    OPUS_PCM_RATES.contains(&rate)
}

/// Whether `samples` is a frame length the Opus encoder takes at `rate`: 10, 20, 40, 60, 80,
/// 100 or 120 ms.
pub(crate) fn is_encoder_frame(samples: usize, rate: u32) -> bool {
    let per_10ms = (rate / 100) as usize;
    per_10ms > 0
        && samples.is_multiple_of(per_10ms)
        && matches!(samples / per_10ms, 1 | 2 | 4 | 6 | 8 | 10 | 12)
}

/// The widest audio band PCM sampled at `source_hz` can hold.
fn bandwidth_for(source_hz: u32) -> Bandwidth {
    match source_hz {
        0..=8_000 => Bandwidth::Narrowband,
        8_001..=12_000 => Bandwidth::Mediumband,
        12_001..=16_000 => Bandwidth::Wideband,
        16_001..=24_000 => Bandwidth::Superwideband,
        _ => Bandwidth::Fullband,
    }
}

/// A libopus encoder, mono, taking PCM at one of [`OPUS_PCM_RATES`].
#[derive(Debug)]
pub(crate) struct OpusEncoder {
    inner: opus::Encoder,
    /// The PCM rate `inner` was created for.
    rate: u32,
    /// The settings last applied, kept to rebuild the encoder at another rate.
    config: OpusConfig,
}

impl OpusEncoder {
    /// An encoder taking PCM at 48 kHz.
    pub(crate) fn new(config: &OpusConfig) -> Result<Self, CodecError> {
        Self::with_rate(config, DEFAULT_RATE)
    }

    fn with_rate(config: &OpusConfig, rate: u32) -> Result<Self, CodecError> {
        config.validate()?;
        let inner = opus::Encoder::new(rate, Channels::Mono, Application::Voip)
            .map_err(|e| CodecError::opus(&e))?;
        let mut encoder = OpusEncoder {
            inner,
            rate,
            config: *config,
        };
        encoder.apply(config)?;
        Ok(encoder)
    }

    /// The PCM rate [`OpusEncoder::encode`] takes.
    pub(crate) fn rate(&self) -> u32 {
        self.rate
    }

    /// Applies `config` to the running encoder.
    pub(crate) fn apply(&mut self, config: &OpusConfig) -> Result<(), CodecError> {
        config.validate()?;
        let e = &mut self.inner;
        let bitrate = i32::try_from(config.bitrate).expect("validated bitrate fits in i32");
        e.set_bitrate(Bitrate::Bits(bitrate))
            .and_then(|()| e.set_complexity(i32::from(config.complexity)))
            .and_then(|()| e.set_inband_fec(config.fec))
            .and_then(|()| e.set_dtx(config.dtx))
            .and_then(|()| e.set_packet_loss_perc(i32::from(config.packet_loss_pct)))
            .map_err(|e| CodecError::opus(&e))?;
        self.config = *config;
        Ok(())
    }

    /// Caps the coded audio band to what PCM sampled at `source_hz` can hold and, when
    /// `source_hz` is one of [`OPUS_PCM_RATES`], takes PCM at that rate from now on (a new
    /// libopus encoder with the same settings; the old one's state is dropped).
    pub(crate) fn set_source_rate(&mut self, source_hz: u32) -> Result<(), CodecError> {
        if is_pcm_rate(source_hz) && source_hz != self.rate {
            *self = OpusEncoder::with_rate(&self.config, source_hz)?;
        }
        self.inner
            .set_max_bandwidth(bandwidth_for(source_hz))
            .map_err(|e| CodecError::opus(&e))
    }

    /// Reads the settings back from libopus.
    pub(crate) fn applied(&mut self) -> Result<OpusConfig, CodecError> {
        let e = &mut self.inner;
        let read = |e: &mut opus::Encoder| -> opus::Result<OpusConfig> {
            let bitrate = match e.get_bitrate()? {
                Bitrate::Bits(bits) => u32::try_from(bits).unwrap_or(0),
                Bitrate::Max | Bitrate::Auto => 0,
            };
            Ok(OpusConfig {
                fec: e.get_inband_fec()?,
                dtx: e.get_dtx()?,
                bitrate,
                complexity: u8::try_from(e.get_complexity()?).unwrap_or(u8::MAX),
                packet_loss_pct: u8::try_from(e.get_packet_loss_perc()?).unwrap_or(u8::MAX),
            })
        };
        read(e).map_err(|e| CodecError::opus(&e))
    }

    /// Encodes one frame of PCM at [`OpusEncoder::rate`] (length checked by the caller).
    pub(crate) fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let start = out.len();
        out.resize(start + MAX_PAYLOAD_BYTES, 0);
        match self.inner.encode(pcm, &mut out[start..]) {
            Ok(written) => {
                out.truncate(start + written);
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(CodecError::opus(&e))
            }
        }
    }
}

/// A libopus decoder, mono (stereo packets are downmixed by libopus), producing PCM at one of
/// [`OPUS_PCM_RATES`]. Any Opus packet decodes at any of them.
#[derive(Debug)]
pub(crate) struct OpusDecoder {
    inner: opus::Decoder,
    rate: u32,
}

impl OpusDecoder {
    /// A decoder producing PCM at `rate`, one of [`OPUS_PCM_RATES`] (checked by the caller).
    pub(crate) fn new(rate: u32) -> Result<Self, CodecError> {
        let inner = opus::Decoder::new(rate, Channels::Mono).map_err(|e| CodecError::opus(&e))?;
        Ok(OpusDecoder { inner, rate })
    }

    /// Samples in the longest packet, 120 ms, at the decoder's rate.
    pub(crate) fn max_packet_samples(&self) -> usize {
        (self.rate / 1000 * MAX_PACKET_MS) as usize
    }

    pub(crate) fn decode(
        &mut self,
        payload: &[u8],
        out: &mut Vec<i16>,
    ) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload {
                kind: CodecKind::Opus,
            });
        }
        let samples = opus::packet::get_nb_samples(payload, self.rate).map_err(|_| {
            CodecError::InvalidPayload {
                kind: CodecKind::Opus,
                len: payload.len(),
                reason: "TOC and frame count give no valid duration",
            }
        })?;
        self.decode_into(payload, samples, false, out)
            .map_err(|e| CodecError::InvalidPayload {
                kind: CodecKind::Opus,
                len: payload.len(),
                reason: e.description(),
            })
    }

    /// Conceals `samples` lost samples (whole 2.5 ms steps at the decoder's rate): libopus
    /// PLC, or the in-band FEC of `next` (the packet after the gap) for the end of the gap
    /// when it carries any.
    pub(crate) fn conceal(
        &mut self,
        samples: usize,
        next: Option<&[u8]>,
        out: &mut Vec<i16>,
    ) -> Result<usize, CodecError> {
        if samples == 0 {
            return Ok(0);
        }
        let granule = (self.rate / GRANULES_PER_SECOND) as usize;
        if !samples.is_multiple_of(granule) || samples > self.max_packet_samples() {
            return Err(CodecError::ConcealSize {
                kind: CodecKind::Opus,
                samples,
                rate: self.rate,
            });
        }
        if let Some(next) = next.filter(|p| !p.is_empty()) {
            // libopus runs PLC for the part of the gap before the FEC data and falls back to
            // PLC altogether when `next` carries no LBRR frame.
            let start = out.len();
            match self.decode_into(next, samples, true, out) {
                Ok(n) => return Ok(n),
                // A broken next packet: its own decode reports the error; conceal with PLC.
                Err(_) => out.truncate(start),
            }
        }
        self.decode_into(&[], samples, false, out)
            .map_err(|e| CodecError::opus(&e))
    }

    fn decode_into(
        &mut self,
        payload: &[u8],
        samples: usize,
        fec: bool,
        out: &mut Vec<i16>,
    ) -> opus::Result<usize> {
        let start = out.len();
        out.resize(start + samples, 0);
        let result = self.inner.decode(payload, &mut out[start..], fec);
        out.truncate(start + *result.as_ref().unwrap_or(&0));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_frames_follow_the_rate() {
        for rate in OPUS_PCM_RATES {
            let per_ms = (rate / 1000) as usize;
            for ms in [10, 20, 40, 60, 80, 100, 120] {
                assert!(is_encoder_frame(per_ms * ms, rate), "{ms} ms at {rate} Hz");
            }
            for bad in [0, per_ms * 5, per_ms * 30, per_ms * 140, per_ms * 20 + 1] {
                assert!(!is_encoder_frame(bad, rate), "{bad} samples at {rate} Hz");
            }
        }
        assert!(!is_encoder_frame(0, 0));
    }

    #[test]
    fn source_rate_rebuilds_with_the_same_settings() {
        let config = OpusConfig {
            fec: false,
            dtx: true,
            bitrate: 16_000,
            complexity: 3,
            packet_loss_pct: 9,
        };
        let mut encoder = OpusEncoder::new(&config).expect("encoder");
        assert_eq!(encoder.rate(), 48_000);
        encoder.set_source_rate(8_000).expect("8 kHz");
        assert_eq!(encoder.rate(), 8_000);
        assert_eq!(encoder.applied().expect("read back"), config);
        assert_eq!(
            encoder.inner.get_max_bandwidth().expect("read back"),
            Bandwidth::Narrowband
        );
        // Not a libopus rate: only the band changes.
        encoder.set_source_rate(11_025).expect("band only");
        assert_eq!(encoder.rate(), 8_000);
        assert_eq!(
            encoder.inner.get_max_bandwidth().expect("read back"),
            Bandwidth::Mediumband
        );
        encoder.set_source_rate(16_000).expect("16 kHz");
        assert_eq!(
            (encoder.rate(), encoder.applied().expect("read")),
            (16_000, config)
        );
        assert!(encoder.encode(&[0; 320], &mut Vec::new()).is_ok());
    }
}
