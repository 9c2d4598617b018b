//! Opus (RFC 6716) through libopus: 48 kHz mono, VoIP application, settings from
//! [`OpusConfig`], packet-loss concealment and in-band FEC (RFC 7587 §3.2).

use opus::{Application, Bandwidth, Bitrate, Channels};

use crate::error::CodecError;
use crate::kind::CodecKind;

/// The PCM rate the gateway runs Opus at.
const RATE: u32 = 48_000;
/// Samples in 2.5 ms, the Opus frame granularity (RFC 6716 §2.1.4).
const GRANULE: usize = 120;
/// Samples in 120 ms, the longest Opus packet (RFC 6716 §3.2.5).
pub(crate) const MAX_PACKET_SAMPLES: usize = 5_760;
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
    /// Encoder complexity, 0..=10 (CPU against quality).
    pub complexity: u8,
    /// Expected packet loss in percent, 0..=100; tunes how much FEC the encoder spends.
    pub packet_loss_pct: u8,
}

impl Default for OpusConfig {
    fn default() -> Self {
        OpusConfig {
            fec: true,
            dtx: false,
            bitrate: 24_000,
            complexity: 5,
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

/// Whether `samples` is a frame length the Opus encoder takes: 10, 20, 40, 60, 80, 100 or
/// 120 ms at 48 kHz.
pub(crate) fn is_encoder_frame(samples: usize) -> bool {
    matches!(samples, 480 | 960 | 1920 | 2880 | 3840 | 4800 | 5760)
}

/// A libopus encoder at 48 kHz mono.
#[derive(Debug)]
pub(crate) struct OpusEncoder {
    inner: opus::Encoder,
}

impl OpusEncoder {
    pub(crate) fn new(config: &OpusConfig) -> Result<Self, CodecError> {
        config.validate()?;
        let inner = opus::Encoder::new(RATE, Channels::Mono, Application::Voip)
            .map_err(|e| CodecError::opus(&e))?;
        let mut encoder = OpusEncoder { inner };
        encoder.apply(config)?;
        Ok(encoder)
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
            .map_err(|e| CodecError::opus(&e))
    }

    /// Caps the coded audio band to what PCM sampled at `source_hz` can hold.
    pub(crate) fn limit_bandwidth(&mut self, source_hz: u32) -> Result<(), CodecError> {
        let bandwidth = match source_hz {
            0..=8_000 => Bandwidth::Narrowband,
            8_001..=12_000 => Bandwidth::Mediumband,
            12_001..=16_000 => Bandwidth::Wideband,
            16_001..=24_000 => Bandwidth::Superwideband,
            _ => Bandwidth::Fullband,
        };
        self.inner
            .set_max_bandwidth(bandwidth)
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

/// A libopus decoder at 48 kHz mono (stereo packets are downmixed by libopus).
#[derive(Debug)]
pub(crate) struct OpusDecoder {
    inner: opus::Decoder,
}

impl OpusDecoder {
    pub(crate) fn new() -> Result<Self, CodecError> {
        let inner = opus::Decoder::new(RATE, Channels::Mono).map_err(|e| CodecError::opus(&e))?;
        Ok(OpusDecoder { inner })
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
        let samples = opus::packet::get_nb_samples(payload, RATE).map_err(|_| {
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

    /// Conceals `samples` lost samples: libopus PLC, or the in-band FEC of `next` (the packet
    /// after the gap) for the end of the gap when it carries any.
    pub(crate) fn conceal(
        &mut self,
        samples: usize,
        next: Option<&[u8]>,
        out: &mut Vec<i16>,
    ) -> Result<usize, CodecError> {
        if samples == 0 {
            return Ok(0);
        }
        if !samples.is_multiple_of(GRANULE) || samples > MAX_PACKET_SAMPLES {
            return Err(CodecError::ConcealSize {
                kind: CodecKind::Opus,
                samples,
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
