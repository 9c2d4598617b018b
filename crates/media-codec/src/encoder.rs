//! [`Encoder`]: one codec's encoder behind one type.

use crate::error::CodecError;
use crate::g711;
use crate::g722::G722Enc;
use crate::kind::CodecKind;
use crate::opus_codec::{OpusConfig, OpusEncoder, is_encoder_frame};

/// Longest frame the G.711 and G.722 encoders take, in milliseconds.
const MAX_FRAME_MS: u32 = 120;

#[derive(Debug)]
enum Inner {
    Pcmu,
    Pcma,
    G722(Box<G722Enc>),
    Opus(OpusEncoder),
}

/// An encoder for one [`CodecKind`] and one direction of one call.
///
/// ```
/// use sb_media_codec::{CodecKind, Encoder, OpusConfig};
///
/// let mut encoder = Encoder::new(CodecKind::Pcmu, &OpusConfig::default())?;
/// let mut payload = Vec::new();
/// encoder.encode(&[0; 160], &mut payload)?;
/// assert_eq!(payload, vec![0xFF; 160]);
/// # Ok::<(), sb_media_codec::CodecError>(())
/// ```
#[derive(Debug)]
pub struct Encoder {
    kind: CodecKind,
    inner: Inner,
}

impl Encoder {
    /// An encoder for `kind`; `opus` configures Opus and is ignored by the other codecs.
    pub fn new(kind: CodecKind, opus: &OpusConfig) -> Result<Encoder, CodecError> {
        let inner = match kind {
            CodecKind::Pcmu => Inner::Pcmu,
            CodecKind::Pcma => Inner::Pcma,
            CodecKind::G722 => Inner::G722(Box::new(G722Enc::new())),
            CodecKind::Opus => Inner::Opus(OpusEncoder::new(opus)?),
        };
        Ok(Encoder { kind, inner })
    }

    /// The codec this encoder produces.
    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// The PCM rate [`Encoder::encode`] takes: the codec's native rate
    /// ([`CodecKind::sample_rate`]; G.711 8000, G.722 16000, Opus 48000), or for Opus the rate
    /// chosen with [`Encoder::set_source_rate`].
    pub fn pcm_rate(&self) -> u32 {
        match &self.inner {
            Inner::Opus(enc) => enc.rate(),
            Inner::Pcmu | Inner::Pcma | Inner::G722(_) => self.kind.sample_rate(),
        }
    }

    /// Encodes one frame of `ms` milliseconds of PCM at [`Encoder::pcm_rate`]
    /// (`pcm_rate / 1000 * ms` samples), where `ms` is 10, 20, 40 or 60 (Opus also takes 80,
    /// 100 and 120; G.711 and G.722 any multiple of 10 up to 120). Appends the RTP payload to
    /// `out`.
    ///
    /// With DTX on, Opus payloads of [`crate::OPUS_DTX_MAX_BYTES`] or fewer mark silence and
    /// need not be sent.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !self.accepts(pcm.len()) {
            return Err(CodecError::FrameSize {
                kind: self.kind,
                samples: pcm.len(),
                rate: self.pcm_rate(),
            });
        }
        match &mut self.inner {
            Inner::Pcmu => {
                g711::ulaw_encode_slice(pcm, out);
                Ok(())
            }
            Inner::Pcma => {
                g711::alaw_encode_slice(pcm, out);
                Ok(())
            }
            Inner::G722(enc) => enc.encode(pcm, out),
            Inner::Opus(enc) => enc.encode(pcm, out),
        }
    }

    /// Changes the Opus settings of a running encoder (for instance the expected loss after
    /// RTCP reports); other codecs ignore it.
    pub fn set_opus_config(&mut self, config: &OpusConfig) -> Result<(), CodecError> {
        match &mut self.inner {
            Inner::Opus(enc) => enc.apply(config),
            Inner::Pcmu | Inner::Pcma | Inner::G722(_) => Ok(()),
        }
    }

    /// Tells the encoder that its audio has no band above `source_hz / 2` (a leg transcoded
    /// from G.711 or G.722, a generated tone): Opus then codes no band above it, which spends
    /// the bits on the audio there is and saves encoder and decoder CPU. When `source_hz` is
    /// one of [`crate::OPUS_PCM_RATES`], the Opus encoder also takes PCM at `source_hz` from
    /// then on ([`Encoder::pcm_rate`]), so G.711 audio goes in at 8 kHz without resampling:
    /// libopus is rebuilt at that rate with the same settings (its coding history starts
    /// over; nothing happens when the rate is already that one). The RTP clock stays 48000.
    /// Other codecs ignore it.
    ///
    /// ```
    /// use sb_media_codec::{CodecKind, Encoder, OpusConfig};
    ///
    /// let mut encoder = Encoder::new(CodecKind::Opus, &OpusConfig::default())?;
    /// encoder.set_source_rate(8_000)?;
    /// assert_eq!(encoder.pcm_rate(), 8_000);
    /// let mut payload = Vec::new();
    /// encoder.encode(&[0; 160], &mut payload)?; // 20 ms
    /// # Ok::<(), sb_media_codec::CodecError>(())
    /// ```
    pub fn set_source_rate(&mut self, source_hz: u32) -> Result<(), CodecError> {
        match &mut self.inner {
            Inner::Opus(enc) => enc.set_source_rate(source_hz),
            Inner::Pcmu | Inner::Pcma | Inner::G722(_) => Ok(()),
        }
    }

    /// The settings libopus reports for an Opus encoder (`None` for other codecs).
    pub fn opus_config(&mut self) -> Result<Option<OpusConfig>, CodecError> {
        match &mut self.inner {
            Inner::Opus(enc) => enc.applied().map(Some),
            Inner::Pcmu | Inner::Pcma | Inner::G722(_) => Ok(None),
        }
    }

    fn accepts(&self, samples: usize) -> bool {
        match self.kind {
            CodecKind::Opus => is_encoder_frame(samples, self.pcm_rate()),
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => {
                let unit = self.kind.samples(10);
                samples > 0
                    && samples.is_multiple_of(unit)
                    && samples <= self.kind.samples(MAX_FRAME_MS)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_frames_of_other_lengths() {
        let config = OpusConfig::default();
        for (kind, bad) in [
            (CodecKind::Pcmu, 0),
            (CodecKind::Pcmu, 161),
            (CodecKind::Pcma, 8 * 130),
            (CodecKind::G722, 160 * 3 / 2),
            (CodecKind::Opus, 960 * 3 / 2),
            (CodecKind::Opus, 240),
        ] {
            let mut e = Encoder::new(kind, &config).expect("encoder");
            let mut out = Vec::new();
            let err = e.encode(&vec![0; bad], &mut out).expect_err("bad frame");
            assert!(
                matches!(err, CodecError::FrameSize { kind: k, samples, rate } if k == kind && samples == bad && rate == kind.sample_rate()),
                "{err}"
            );
            assert!(out.is_empty());
        }
    }

    #[test]
    fn opus_frame_sizes_follow_the_source_rate() {
        let mut e = Encoder::new(CodecKind::Opus, &OpusConfig::default()).expect("encoder");
        assert_eq!(e.pcm_rate(), 48_000);
        for (rate, good, bad) in [
            (8_000, [80, 160, 480, 960], [120, 40, 320 + 1, 960 * 2]),
            (12_000, [120, 240, 720, 1_440], [180, 60, 1_080, 1_560]),
            (16_000, [160, 320, 960, 1_920], [240, 80, 480, 2_240]),
            (24_000, [240, 480, 1_440, 2_880], [360, 120, 720, 3_360]),
            (48_000, [480, 960, 2_880, 5_760], [720, 240, 160, 6_720]),
        ] {
            e.set_source_rate(rate).expect("source rate");
            assert_eq!(e.pcm_rate(), rate);
            let mut out = Vec::new();
            for n in good {
                out.clear();
                e.encode(&vec![0; n], &mut out).expect("whole frame");
                assert!(!out.is_empty(), "{n} samples at {rate} Hz");
            }
            for n in bad {
                out.clear();
                let err = e.encode(&vec![0; n], &mut out).expect_err("bad frame");
                assert!(
                    matches!(err, CodecError::FrameSize { kind: CodecKind::Opus, samples, rate: r } if samples == n && r == rate),
                    "{err}"
                );
                assert!(out.is_empty());
            }
        }
        // G.711 and G.722 keep their native rate.
        for kind in [CodecKind::Pcmu, CodecKind::G722] {
            let mut e = Encoder::new(kind, &OpusConfig::default()).expect("encoder");
            e.set_source_rate(48_000).expect("ignored");
            assert_eq!(e.pcm_rate(), kind.sample_rate());
        }
    }

    #[test]
    fn g711_payload_is_one_byte_per_sample() {
        let config = OpusConfig::default();
        let mut e = Encoder::new(CodecKind::Pcma, &config).expect("encoder");
        let mut out = vec![0x42];
        e.encode(&[0; 240], &mut out).expect("30 ms frame");
        assert_eq!(out.len(), 241);
        assert_eq!(out[0], 0x42, "appends");
        assert!(out[1..].iter().all(|&b| b == 0xD5));
        assert_eq!(e.kind(), CodecKind::Pcma);
        assert_eq!(e.opus_config().expect("no opus"), None);
    }

    #[test]
    fn invalid_opus_config_is_refused() {
        let config = OpusConfig {
            complexity: 11,
            ..OpusConfig::default()
        };
        let err = Encoder::new(CodecKind::Opus, &config).expect_err("complexity 11");
        assert!(matches!(
            err,
            CodecError::OpusConfig {
                field: "complexity",
                value: 11,
                ..
            }
        ));
        let config = OpusConfig {
            bitrate: 1000,
            ..OpusConfig::default()
        };
        assert!(Encoder::new(CodecKind::Opus, &config).is_err());
        // Other codecs do not use it.
        assert!(Encoder::new(CodecKind::Pcmu, &config).is_ok());
    }
}
