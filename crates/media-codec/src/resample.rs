//! [`Resampler`]: fixed-ratio conversion between the gateway's PCM rates with rubato's FFT
//! resampler, i16 in and out, buffering input so any whole number of 10 ms frames works.

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler as _};

use crate::error::CodecError;

/// The rates the gateway converts between.
pub const SUPPORTED_RATES: [u32; 3] = [8_000, 16_000, 48_000];
/// Milliseconds of input one resampler chunk covers.
const CHUNK_MS: u32 = 10;

/// A fixed-ratio resampler (rubato FFT) between 8000, 16000 and 48000 Hz, one per direction
/// of a call. Input is buffered in 10 ms chunks, so 20 ms frames (or any whole number of
/// 10 ms frames) come out complete; other lengths come out as soon as a chunk fills. Equal
/// rates pass the samples through.
///
/// ```
/// use sb_media_codec::Resampler;
///
/// let mut up = Resampler::new(8_000, 48_000)?;
/// let mut out = Vec::new();
/// up.process(&[0; 160], &mut out)?;
/// assert_eq!(out.len(), 960);
/// # Ok::<(), sb_media_codec::CodecError>(())
/// ```
pub struct Resampler {
    from_hz: u32,
    to_hz: u32,
    /// `None` when the rates are equal.
    fft: Option<Box<Fft<f32>>>,
    chunk_in: usize,
    chunk_out: usize,
    /// Input not yet resampled (fewer than `chunk_in` samples between calls).
    pending: Vec<f32>,
    /// One chunk of output.
    scratch: Vec<f32>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from_hz", &self.from_hz)
            .field("to_hz", &self.to_hz)
            .field("pending", &self.pending.len())
            .field("delay_samples", &self.delay_samples())
            .finish()
    }
}

impl Resampler {
    /// A resampler from `from_hz` to `to_hz`, both in [`SUPPORTED_RATES`].
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Resampler, CodecError> {
        if !SUPPORTED_RATES.contains(&from_hz) || !SUPPORTED_RATES.contains(&to_hz) {
            return Err(CodecError::UnsupportedRate { from_hz, to_hz });
        }
        let chunk_in = (from_hz / 1000 * CHUNK_MS) as usize;
        let chunk_out = (to_hz / 1000 * CHUNK_MS) as usize;
        let fft = if from_hz == to_hz {
            None
        } else {
            let fft = Fft::<f32>::new(
                from_hz as usize,
                to_hz as usize,
                chunk_in,
                1,
                FixedSync::Both,
            )
            .map_err(|e| CodecError::Resample {
                from_hz,
                to_hz,
                reason: e.to_string(),
            })?;
            // The supported rates divide 10 ms evenly: one chunk is one FFT block each side.
            assert_eq!(
                fft.input_frames_next(),
                chunk_in,
                "rubato input chunk is 10 ms"
            );
            assert_eq!(
                fft.output_frames_next(),
                chunk_out,
                "rubato output chunk is 10 ms"
            );
            Some(Box::new(fft))
        };
        Ok(Resampler {
            from_hz,
            to_hz,
            fft,
            chunk_in,
            chunk_out,
            pending: Vec::with_capacity(chunk_in),
            scratch: vec![0.0; chunk_out],
        })
    }

    /// The input rate.
    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    /// The output rate.
    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Appends the resampled output of `input` to `out`. The output lags the input by
    /// [`Resampler::delay_samples`] (leading silence on the first call), plus whatever part
    /// of the input does not fill a 10 ms chunk yet.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) -> Result<(), CodecError> {
        let Some(fft) = self.fft.as_deref_mut() else {
            out.extend_from_slice(input);
            return Ok(());
        };
        out.reserve((self.pending.len() + input.len()) / self.chunk_in * self.chunk_out);
        let mut input = input;
        while !input.is_empty() {
            let take = (self.chunk_in - self.pending.len()).min(input.len());
            let filled = self.pending.len();
            self.pending.resize(filled + take, 0.0);
            for (dst, &src) in self.pending[filled..].iter_mut().zip(&input[..take]) {
                *dst = f32::from(src);
            }
            input = &input[take..];
            if self.pending.len() < self.chunk_in {
                break;
            }
            let reason = |e: &dyn std::fmt::Display| CodecError::Resample {
                from_hz: self.from_hz,
                to_hz: self.to_hz,
                reason: e.to_string(),
            };
            let wave_in = SequentialSlice::new(&self.pending[..], 1, self.chunk_in)
                .map_err(|e| reason(&e))?;
            let mut wave_out = SequentialSlice::new_mut(&mut self.scratch[..], 1, self.chunk_out)
                .map_err(|e| reason(&e))?;
            let (_, produced) = fft
                .process_into_buffer(&wave_in, &mut wave_out, None)
                .map_err(|e| reason(&e))?;
            let start = out.len();
            out.resize(start + produced, 0);
            // Slice to slice so the conversion vectorises.
            for (dst, &src) in out[start..].iter_mut().zip(&self.scratch[..produced]) {
                *dst = to_i16(src);
            }
            self.pending.clear();
        }
        Ok(())
    }

    /// The resampler's latency in output samples (zero for equal rates).
    pub fn delay_samples(&self) -> usize {
        self.fft.as_ref().map_or(0, |fft| fft.output_delay())
    }
}

/// Rounds half away from zero to the nearest i16, saturating (`as` saturates). Cheaper than
/// `f32::round`, a library call on baseline x86-64.
#[inline]
fn to_i16(sample: f32) -> i16 {
    (sample + 0.5f32.copysign(sample)).clamp(-32_768.0, 32_767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_rounds_and_saturates() {
        assert_eq!(to_i16(0.49), 0);
        assert_eq!(to_i16(0.5), 1);
        assert_eq!(to_i16(-0.5), -1);
        assert_eq!(to_i16(-1.49), -1);
        assert_eq!(to_i16(40_000.0), i16::MAX);
        assert_eq!(to_i16(-40_000.0), i16::MIN);
        assert_eq!(to_i16(f32::NAN), 0);
    }

    #[test]
    fn unsupported_rates_are_refused() {
        let err = Resampler::new(44_100, 48_000).expect_err("44.1 kHz");
        assert!(matches!(
            err,
            CodecError::UnsupportedRate {
                from_hz: 44_100,
                to_hz: 48_000
            }
        ));
        assert!(Resampler::new(8_000, 0).is_err());
    }

    #[test]
    fn equal_rates_pass_through() {
        let mut r = Resampler::new(16_000, 16_000).expect("resampler");
        let mut out = Vec::new();
        r.process(&[1, 2, 3], &mut out).expect("process");
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(r.delay_samples(), 0);
    }

    #[test]
    fn output_length_follows_the_ratio_for_every_pair() {
        for from in SUPPORTED_RATES {
            for to in SUPPORTED_RATES {
                let mut r = Resampler::new(from, to).expect("resampler");
                let mut out = Vec::new();
                let frame = vec![0i16; (from / 50) as usize];
                for _ in 0..5 {
                    r.process(&frame, &mut out).expect("process");
                }
                assert_eq!(out.len(), (to / 10) as usize, "{from} -> {to}");
                assert!(r.delay_samples() < (to / 50) as usize, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn partial_chunks_are_buffered() {
        let mut r = Resampler::new(8_000, 16_000).expect("resampler");
        let mut out = Vec::new();
        r.process(&[0; 50], &mut out).expect("process");
        assert!(out.is_empty(), "less than 10 ms in");
        r.process(&[0; 50], &mut out).expect("process");
        assert_eq!(out.len(), 160);
        r.process(&[0; 60], &mut out).expect("process");
        assert_eq!(out.len(), 320);
        r.process(&[], &mut out).expect("process");
        assert_eq!(out.len(), 320);
    }

    #[test]
    fn delay_matches_the_fft_block() {
        assert_eq!(
            Resampler::new(8_000, 48_000).expect("r").delay_samples(),
            240
        );
        assert_eq!(
            Resampler::new(48_000, 8_000).expect("r").delay_samples(),
            40
        );
        assert_eq!(
            Resampler::new(16_000, 8_000).expect("r").delay_samples(),
            40
        );
    }

    #[test]
    fn full_scale_input_saturates_instead_of_wrapping() {
        let mut r = Resampler::new(8_000, 16_000).expect("resampler");
        let mut out = Vec::new();
        // A full-scale square wave overshoots after band-limiting (Gibbs).
        let square: Vec<i16> = (0..800)
            .map(|i| if (i / 8) % 2 == 0 { i16::MAX } else { i16::MIN })
            .collect();
        r.process(&square, &mut out).expect("process");
        let skip = r.delay_samples() + 20;
        let peak_pos = out[skip..].iter().copied().max().expect("output");
        let peak_neg = out[skip..].iter().copied().min().expect("output");
        assert!(peak_pos > 30_000 && peak_neg < -30_000);
        // Sign flips between neighbours at full scale would mean wrap-around.
        for w in out[skip..].windows(2) {
            assert!((i32::from(w[0]) - i32::from(w[1])).abs() < 40_000, "{w:?}");
        }
    }
}
