//! [`Decoder`]: one codec's decoder and its packet-loss concealment behind one type.

use crate::conceal::RepeatConcealer;
use crate::error::CodecError;
use crate::g711;
use crate::g722::G722Dec;
use crate::kind::CodecKind;
use crate::opus_codec::{OpusDecoder, is_pcm_rate};

/// Concealment of G.711 and G.722 fades to silence over this many milliseconds.
pub const CONCEAL_FADE_MS: u32 = 60;
/// Longest gap one [`Decoder::conceal`] call fills, in milliseconds.
pub const MAX_CONCEAL_MS: u32 = 120;

#[derive(Debug)]
enum Inner {
    Pcmu(RepeatConcealer),
    Pcma(RepeatConcealer),
    G722(Box<G722Dec>, RepeatConcealer),
    Opus(OpusDecoder),
}

/// A decoder for one [`CodecKind`] and one direction of one call.
///
/// ```
/// use sb_media_codec::{CodecKind, Decoder};
///
/// let mut decoder = Decoder::new(CodecKind::Pcma)?;
/// let mut pcm = Vec::new();
/// assert_eq!(decoder.decode(&[0xD5; 160], &mut pcm)?, 160);
/// assert_eq!(decoder.conceal(160, None, &mut pcm)?, 160);
/// assert_eq!(pcm.len(), 320);
/// # Ok::<(), sb_media_codec::CodecError>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    kind: CodecKind,
    /// The PCM rate produced.
    rate: u32,
    inner: Inner,
}

impl Decoder {
    /// A decoder for `kind`, producing PCM at `kind.sample_rate()`.
    pub fn new(kind: CodecKind) -> Result<Decoder, CodecError> {
        Decoder::with_rate(kind, kind.sample_rate())
    }

    /// A decoder for `kind` producing PCM at `rate`: Opus decodes and conceals at any of
    /// [`crate::OPUS_PCM_RATES`] (whatever rate the sender encoded at), so an Opus leg
    /// transcoded to G.711 decodes straight to 8 kHz; the other codecs only at their native
    /// rate ([`CodecKind::sample_rate`]). Any other rate is [`CodecError::PcmRate`].
    ///
    /// ```
    /// use sb_media_codec::{CodecError, CodecKind, Decoder};
    ///
    /// let decoder = Decoder::with_rate(CodecKind::Opus, 8_000)?;
    /// assert_eq!(decoder.pcm_rate(), 8_000);
    /// assert!(matches!(
    ///     Decoder::with_rate(CodecKind::Pcmu, 16_000),
    ///     Err(CodecError::PcmRate { kind: CodecKind::Pcmu, rate: 16_000 })
    /// ));
    /// # Ok::<(), CodecError>(())
    /// ```
    pub fn with_rate(kind: CodecKind, rate: u32) -> Result<Decoder, CodecError> {
        let supported = match kind {
            CodecKind::Opus => is_pcm_rate(rate),
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => rate == kind.sample_rate(),
        };
        if !supported {
            return Err(CodecError::PcmRate { kind, rate });
        }
        let concealer = || RepeatConcealer::new(kind.samples(CONCEAL_FADE_MS));
        let inner = match kind {
            CodecKind::Pcmu => Inner::Pcmu(concealer()),
            CodecKind::Pcma => Inner::Pcma(concealer()),
            CodecKind::G722 => Inner::G722(Box::new(G722Dec::new()), concealer()),
            CodecKind::Opus => Inner::Opus(OpusDecoder::new(rate)?),
        };
        Ok(Decoder { kind, rate, inner })
    }

    /// The codec this decoder reads.
    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// The PCM rate [`Decoder::decode`] and [`Decoder::conceal`] produce.
    pub fn pcm_rate(&self) -> u32 {
        self.rate
    }

    /// Decodes one RTP payload; appends PCM at [`Decoder::pcm_rate`] to `out` and returns
    /// the number of samples appended. An empty or malformed payload is an error and appends
    /// nothing.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload { kind: self.kind });
        }
        let start = out.len();
        let n = match &mut self.inner {
            Inner::Pcmu(concealer) => {
                g711::ulaw_decode_slice(payload, out);
                concealer.decoded(&out[start..]);
                payload.len()
            }
            Inner::Pcma(concealer) => {
                g711::alaw_decode_slice(payload, out);
                concealer.decoded(&out[start..]);
                payload.len()
            }
            Inner::G722(dec, concealer) => {
                let n = dec.decode(payload, out)?;
                concealer.decoded(&out[start..]);
                n
            }
            Inner::Opus(dec) => dec.decode(payload, out)?,
        };
        Ok(n)
    }

    /// Packet-loss concealment for a missing frame of `samples` samples (at
    /// [`Decoder::pcm_rate`], at most [`MAX_CONCEAL_MS`]): Opus uses the decoder's PLC, or the
    /// in-band FEC of `next_payload` (the packet after the gap) when given; G.711/G.722 repeat
    /// the last frame attenuated, fading to silence over [`CONCEAL_FADE_MS`]. Appends the
    /// samples to `out` and returns their number.
    ///
    /// Opus gaps must be whole multiples of 2.5 ms (20 samples at 8 kHz, 120 at 48 kHz). A
    /// `next_payload` that is not a valid Opus packet is left out (plain PLC); decoding it
    /// afterwards reports the error.
    pub fn conceal(
        &mut self,
        samples: usize,
        next_payload: Option<&[u8]>,
        out: &mut Vec<i16>,
    ) -> Result<usize, CodecError> {
        if samples > (self.rate / 1000 * MAX_CONCEAL_MS) as usize {
            return Err(CodecError::ConcealSize {
                kind: self.kind,
                samples,
                rate: self.rate,
            });
        }
        match &mut self.inner {
            Inner::Pcmu(concealer) | Inner::Pcma(concealer) | Inner::G722(_, concealer) => {
                concealer.conceal(samples, out);
                Ok(samples)
            }
            Inner::Opus(dec) => dec.conceal(samples, next_payload, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_payloads_are_errors() {
        for kind in CodecKind::ALL {
            let mut d = Decoder::new(kind).expect("decoder");
            let mut out = Vec::new();
            let err = d.decode(&[], &mut out).expect_err("empty");
            assert!(matches!(err, CodecError::EmptyPayload { kind: k } if k == kind));
            assert!(out.is_empty());
        }
    }

    #[test]
    fn g711_concealment_repeats_then_fades() {
        let mut d = Decoder::new(CodecKind::Pcmu).expect("decoder");
        let mut out = Vec::new();
        // 0x80 decodes to the top positive level, 32124.
        d.decode(&[0x80; 160], &mut out).expect("decode");
        out.clear();
        // 20 ms of a 60 ms fade: from full level to two thirds.
        d.conceal(160, None, &mut out).expect("conceal");
        assert_eq!(out[0], 32124);
        assert_eq!(out[159], (32124_i64 * (480 - 159) / 480) as i16);
        out.clear();
        d.conceal(320, None, &mut out).expect("conceal");
        assert_eq!(out[0], (32124_i64 * 320 / 480) as i16);
        assert_eq!(out[319], (32124_i64 / 480) as i16);
        out.clear();
        d.conceal(160, None, &mut out).expect("conceal");
        assert!(out.iter().all(|&s| s == 0), "silent after 60 ms");
        // A new frame ends the concealment.
        out.clear();
        d.decode(&[0x80; 160], &mut out).expect("decode");
        d.conceal(160, None, &mut out).expect("conceal");
        assert_eq!(out[160], 32124);
    }

    #[test]
    fn conceal_longer_than_limit_is_refused() {
        for kind in CodecKind::ALL {
            let mut d = Decoder::new(kind).expect("decoder");
            let too_long = kind.samples(MAX_CONCEAL_MS) + kind.samples(10);
            let err = d
                .conceal(too_long, None, &mut Vec::new())
                .expect_err("too long");
            assert!(matches!(err, CodecError::ConcealSize { .. }), "{err}");
        }
    }

    #[test]
    fn opus_conceal_needs_whole_granules() {
        let mut d = Decoder::new(CodecKind::Opus).expect("decoder");
        let mut out = Vec::new();
        assert_eq!(d.conceal(960, None, &mut out).expect("plc"), 960);
        assert_eq!(out.len(), 960);
        let err = d
            .conceal(1000, None, &mut out)
            .expect_err("not 2.5 ms units");
        assert!(matches!(
            err,
            CodecError::ConcealSize {
                samples: 1000,
                rate: 48_000,
                ..
            }
        ));
        assert_eq!(out.len(), 960);
        assert_eq!(d.conceal(0, None, &mut out).expect("nothing"), 0);
    }

    #[test]
    fn opus_conceals_at_the_decoder_rate() {
        let mut d = Decoder::with_rate(CodecKind::Opus, 8_000).expect("decoder");
        assert_eq!((d.kind(), d.pcm_rate()), (CodecKind::Opus, 8_000));
        let mut out = Vec::new();
        // A lost 20 ms frame at 8 kHz.
        assert_eq!(d.conceal(160, None, &mut out).expect("plc"), 160);
        assert_eq!(out.len(), 160);
        // 2.5 ms is 20 samples at 8 kHz: 150 samples is not whole steps.
        let err = d
            .conceal(150, None, &mut out)
            .expect_err("not 2.5 ms units");
        assert!(matches!(
            err,
            CodecError::ConcealSize {
                samples: 150,
                rate: 8_000,
                ..
            }
        ));
        assert_eq!(d.conceal(20, None, &mut out).expect("2.5 ms"), 20);
        // 120 ms is the limit: 960 samples at 8 kHz, not the 5760 of 48 kHz.
        assert_eq!(d.conceal(960, None, &mut out).expect("120 ms"), 960);
        assert!(matches!(
            d.conceal(980, None, &mut out),
            Err(CodecError::ConcealSize { samples: 980, .. })
        ));
        assert_eq!(out.len(), 160 + 20 + 960);
    }

    #[test]
    fn with_rate_takes_only_rates_the_codec_codes() {
        for rate in crate::OPUS_PCM_RATES {
            let d = Decoder::with_rate(CodecKind::Opus, rate).expect("opus rate");
            assert_eq!(d.pcm_rate(), rate);
        }
        for (kind, rate) in [
            (CodecKind::Opus, 44_100),
            (CodecKind::Opus, 0),
            (CodecKind::Pcmu, 48_000),
            (CodecKind::Pcma, 16_000),
            (CodecKind::G722, 8_000),
        ] {
            let err = Decoder::with_rate(kind, rate).expect_err("unsupported rate");
            assert!(
                matches!(err, CodecError::PcmRate { kind: k, rate: r } if k == kind && r == rate),
                "{err}"
            );
        }
        for kind in CodecKind::ALL {
            let d = Decoder::with_rate(kind, kind.sample_rate()).expect("native rate");
            assert_eq!(
                d.pcm_rate(),
                Decoder::new(kind).expect("decoder").pcm_rate()
            );
        }
    }

    #[test]
    fn malformed_opus_payload_is_an_error() {
        let mut d = Decoder::new(CodecKind::Opus).expect("decoder");
        let mut out = Vec::new();
        // TOC code 3 (arbitrary frame count) with no frame-count byte.
        let err = d.decode(&[0x03], &mut out).expect_err("truncated");
        assert!(matches!(err, CodecError::InvalidPayload { .. }), "{err}");
        // Code 3 claiming 63 frames of 20 ms (above 120 ms).
        let err = d.decode(&[0x4B, 0x3F], &mut out).expect_err("too long");
        assert!(matches!(err, CodecError::InvalidPayload { .. }), "{err}");
        assert!(out.is_empty());
    }
}
