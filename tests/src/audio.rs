//! Audio for the media tests: WAV files (what a phone plays as its
//! microphone, what it recorded of the audio it decoded), pure tones, and
//! tone detection with the Goertzel algorithm.
//!
//! A test gives every party its own pure tone (e.g. 700 Hz and 1300 Hz) and
//! checks each recording with [`ToneCheck`]: the expected tone must dominate
//! the other party's tone, carry most of the recording's energy, and be loud
//! enough not to be silence or noise.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::HarnessError;

/// The expected tone must be at least this many times stronger (in power)
/// than the other party's tone.
pub const MIN_RATIO_TO_OTHER: f64 = 10.0;
/// The expected tone must carry at least this share of the total energy.
pub const MIN_SHARE_OF_TOTAL: f64 = 0.5;
/// The expected tone's RMS level (full scale 32767) must reach this: about
/// -40 dBFS, far above the codecs' idle noise, far below any test tone.
pub const MIN_LEVEL: f64 = 300.0;

/// 16-bit PCM audio with interleaved channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wav {
    /// Samples per second (per channel).
    pub sample_rate: u32,
    /// Channels (interleaved in `samples`).
    pub channels: u16,
    /// The samples, interleaved.
    pub samples: Vec<i16>,
}

impl Wav {
    /// A mono sine tone of `duration`.
    pub fn tone(frequency_hz: u32, sample_rate: u32, amplitude: i16, duration: Duration) -> Wav {
        let count = usize::try_from(u128::from(sample_rate) * duration.as_millis() / 1000)
            .expect("a test tone fits in memory");
        Wav {
            sample_rate,
            channels: 1,
            samples: tone_samples(frequency_hz, sample_rate, amplitude, count),
        }
    }

    /// Parses a RIFF/WAVE file of 16-bit PCM. A `data` chunk whose size is
    /// not final yet (0, or beyond the end: the writer has not closed the
    /// file) is taken to run to the end of the file.
    pub fn parse(bytes: &[u8]) -> Result<Wav, HarnessError> {
        let bad = |reason| HarnessError::Wav { reason };
        if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(bad("no RIFF/WAVE header"));
        }
        let mut at = 12;
        let mut format: Option<(u32, u16)> = None;
        while at + 8 <= bytes.len() {
            let id = &bytes[at..at + 4];
            let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
            let body = at + 8;
            let declared = usize::try_from(size).unwrap_or(usize::MAX);
            if id == b"data" {
                let (sample_rate, channels) = format.ok_or(bad("data before fmt"))?;
                let end = if declared == 0 || declared > bytes.len() - body {
                    bytes.len()
                } else {
                    body + declared
                };
                let samples = bytes[body..end]
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                return Ok(Wav {
                    sample_rate,
                    channels,
                    samples,
                });
            }
            let end = body
                .checked_add(declared)
                .filter(|&e| e <= bytes.len())
                .ok_or(bad("a chunk runs past the end"))?;
            if id == b"fmt " {
                format = Some(parse_fmt(&bytes[body..end])?);
            }
            // Chunks are padded to an even length.
            at = end + (declared & 1);
        }
        Err(bad("no data chunk"))
    }

    /// Reads and parses a WAV file.
    pub fn read(path: &Path) -> Result<Wav, HarnessError> {
        let bytes = std::fs::read(path).map_err(|source| HarnessError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Wav::parse(&bytes)
    }

    /// The file's bytes: a canonical 44-byte header and the samples.
    pub fn to_bytes(&self) -> Vec<u8> {
        let data_len = u32::try_from(self.samples.len() * 2).expect("a test file under 4 GiB");
        let block_align = self.channels * 2;
        let byte_rate = self.sample_rate * u32::from(block_align);
        let mut out = Vec::with_capacity(44 + self.samples.len() * 2);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // PCM
        out.extend_from_slice(&self.channels.to_le_bytes());
        out.extend_from_slice(&self.sample_rate.to_le_bytes());
        out.extend_from_slice(&byte_rate.to_le_bytes());
        out.extend_from_slice(&block_align.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> Result<(), HarnessError> {
        std::fs::write(path, self.to_bytes()).map_err(|source| HarnessError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The first channel.
    pub fn mono(&self) -> Vec<i16> {
        self.samples
            .iter()
            .step_by(usize::from(self.channels.max(1)))
            .copied()
            .collect()
    }

    /// How long the audio lasts.
    pub fn duration(&self) -> Duration {
        let frames = self.samples.len() / usize::from(self.channels.max(1));
        Duration::from_secs_f64(frames as f64 / f64::from(self.sample_rate.max(1)))
    }
}

/// The sample rate and channel count of a `fmt ` chunk of 16-bit PCM
/// (plain, or WAVE_FORMAT_EXTENSIBLE).
fn parse_fmt(body: &[u8]) -> Result<(u32, u16), HarnessError> {
    let bad = |reason| HarnessError::Wav { reason };
    if body.len() < 16 {
        return Err(bad("fmt chunk too short"));
    }
    let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
    let tag = u16_at(0);
    if tag != 1 && tag != 0xFFFE {
        return Err(bad("not PCM"));
    }
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes(body[4..8].try_into().expect("4 bytes"));
    if u16_at(14) != 16 {
        return Err(bad("not 16 bits per sample"));
    }
    if channels == 0 || sample_rate == 0 {
        return Err(bad("no channels or no sample rate"));
    }
    Ok((sample_rate, channels))
}

/// `count` samples of a sine of `frequency_hz` at `sample_rate`.
pub fn tone_samples(frequency_hz: u32, sample_rate: u32, amplitude: i16, count: usize) -> Vec<i16> {
    let step = std::f64::consts::TAU * f64::from(frequency_hz) / f64::from(sample_rate);
    (0..count)
        .map(|i| {
            let v = f64::from(amplitude) * (step * i as f64).sin();
            // |v| ≤ |amplitude|: the cast cannot overflow.
            v.round() as i16
        })
        .collect()
}

/// The mean-square power of the `frequency_hz` component of `pcm`
/// (Goertzel): a sine of amplitude A at that frequency gives A²/2, the same
/// scale as [`mean_square`].
pub fn tone_power(pcm: &[i16], sample_rate: u32, frequency_hz: u32) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    let w = std::f64::consts::TAU * f64::from(frequency_hz) / f64::from(sample_rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let magnitude_sq = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let n = pcm.len() as f64;
    2.0 * magnitude_sq / (n * n)
}

/// The mean square of `pcm` (its total power).
pub fn mean_square(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    pcm.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / pcm.len() as f64
}

/// How strongly an expected tone is present in some audio, compared with
/// another party's tone and with everything in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneCheck {
    /// The tone that should be heard.
    pub expected_hz: u32,
    /// The tone that should not be heard (the listener's own, say).
    pub other_hz: u32,
    /// Power of the expected tone.
    pub expected_power: f64,
    /// Power of the other tone.
    pub other_power: f64,
    /// Total power.
    pub total_power: f64,
    /// Samples measured (after the skipped start).
    pub samples: usize,
    /// Their sample rate.
    pub sample_rate: u32,
}

impl ToneCheck {
    /// Measures `pcm` (mono, at `sample_rate`) from `skip` on: the start of
    /// a recording holds the silence before the first packets.
    pub fn measure(
        pcm: &[i16],
        sample_rate: u32,
        skip: Duration,
        expected_hz: u32,
        other_hz: u32,
    ) -> ToneCheck {
        let skipped = usize::try_from(u128::from(sample_rate) * skip.as_millis() / 1000)
            .unwrap_or(usize::MAX)
            .min(pcm.len());
        let pcm = &pcm[skipped..];
        ToneCheck {
            expected_hz,
            other_hz,
            expected_power: tone_power(pcm, sample_rate, expected_hz),
            other_power: tone_power(pcm, sample_rate, other_hz),
            total_power: mean_square(pcm),
            samples: pcm.len(),
            sample_rate,
        }
    }

    /// [`ToneCheck::measure`] on the first channel of a WAV.
    pub fn of_wav(wav: &Wav, skip: Duration, expected_hz: u32, other_hz: u32) -> ToneCheck {
        ToneCheck::measure(&wav.mono(), wav.sample_rate, skip, expected_hz, other_hz)
    }

    /// Expected tone power over the other tone's (infinite when the other
    /// is absent entirely).
    pub fn ratio_to_other(&self) -> f64 {
        if self.other_power > 0.0 {
            self.expected_power / self.other_power
        } else if self.expected_power > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    }

    /// The expected tone's share of the total power (0 to about 1).
    pub fn share_of_total(&self) -> f64 {
        if self.total_power > 0.0 {
            self.expected_power / self.total_power
        } else {
            0.0
        }
    }

    /// The expected tone's RMS level.
    pub fn level(&self) -> f64 {
        self.expected_power.sqrt()
    }

    /// Whether the expected tone dominates, carries most of the energy and
    /// is loud enough (see the constants of this module), over at least a
    /// second of audio.
    pub fn heard(&self) -> bool {
        self.samples >= self.sample_rate as usize
            && self.ratio_to_other() >= MIN_RATIO_TO_OTHER
            && self.share_of_total() >= MIN_SHARE_OF_TOTAL
            && self.level() >= MIN_LEVEL
    }

    /// Panics with the measured figures unless [`ToneCheck::heard`].
    pub fn assert_heard(&self, what: &str) {
        assert!(
            self.heard(),
            "{what}: the expected tone was not heard: {self}"
        );
    }
}

impl fmt::Display for ToneCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} Hz vs {} Hz: ratio {:.1} (need ≥ {MIN_RATIO_TO_OTHER}), share of total {:.3} \
             (need ≥ {MIN_SHARE_OF_TOTAL}), level {:.0} RMS (need ≥ {MIN_LEVEL}), total {:.0} \
             RMS, over {:.2} s at {} Hz",
            self.expected_hz,
            self.other_hz,
            self.ratio_to_other(),
            self.share_of_total(),
            self.level(),
            self.total_power.sqrt(),
            self.samples as f64 / f64::from(self.sample_rate.max(1)),
            self.sample_rate
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_tone_reads_back_identically() {
        let wav = Wav::tone(700, 8000, 8000, Duration::from_millis(250));
        assert_eq!(wav.samples.len(), 2000);
        let back = Wav::parse(&wav.to_bytes()).unwrap();
        assert_eq!(back, wav);
        assert_eq!(back.duration(), Duration::from_millis(250));
    }

    #[test]
    fn an_unfinished_data_chunk_runs_to_the_end_of_the_file() {
        let wav = Wav::tone(700, 8000, 8000, Duration::from_millis(10));
        let mut bytes = wav.to_bytes();
        bytes[40..44].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(Wav::parse(&bytes).unwrap().samples, wav.samples);
    }

    #[test]
    fn other_chunks_are_skipped_and_stereo_gives_its_first_channel() {
        let mut bytes = Wav {
            sample_rate: 48000,
            channels: 2,
            samples: vec![1, -1, 2, -2, 3, -3],
        }
        .to_bytes();
        // A LIST chunk of odd length (padded) between fmt and data.
        let list = [b"LIST".as_slice(), &3u32.to_le_bytes(), b"abc\0"].concat();
        bytes.splice(36..36, list);
        let wav = Wav::parse(&bytes).unwrap();
        assert_eq!((wav.sample_rate, wav.channels), (48000, 2));
        assert_eq!(wav.mono(), [1, 2, 3]);
    }

    #[test]
    fn broken_files_are_errors() {
        assert!(Wav::parse(b"RIFF").is_err());
        assert!(Wav::parse(b"RIFX\0\0\0\0WAVE").is_err());
        let mut bytes = Wav::tone(700, 8000, 100, Duration::from_millis(1)).to_bytes();
        bytes[34] = 8; // 8 bits per sample
        assert!(Wav::parse(&bytes).is_err());
        let mut bytes = Wav::tone(700, 8000, 100, Duration::from_millis(1)).to_bytes();
        bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes()); // fmt size past the end
        assert!(Wav::parse(&bytes).is_err());
        // A data chunk with no fmt before it.
        assert!(Wav::parse(b"RIFF\0\0\0\0WAVEdata\x02\0\0\0\x01\x02").is_err());
    }

    #[test]
    fn goertzel_power_matches_the_mean_square_of_a_pure_tone() {
        let pcm = tone_samples(700, 8000, 8000, 16000);
        let power = tone_power(&pcm, 8000, 700);
        let total = mean_square(&pcm);
        assert!((power / total - 1.0).abs() < 0.01, "{power} {total}");
        assert!(tone_power(&pcm, 8000, 1300) < total * 1e-4);
    }

    #[test]
    fn a_mix_is_judged_by_the_dominant_tone() {
        let a = tone_samples(700, 16000, 8000, 32000);
        let b = tone_samples(1300, 16000, 800, 32000);
        let mix: Vec<i16> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let check = ToneCheck::measure(&mix, 16000, Duration::from_millis(500), 700, 1300);
        assert_eq!(check.samples, 24000);
        assert!(check.heard(), "{check}");
        assert!((check.ratio_to_other() - 100.0).abs() < 5.0, "{check}");
        let reverse = ToneCheck::measure(&mix, 16000, Duration::ZERO, 1300, 700);
        assert!(!reverse.heard(), "{reverse}");
    }

    #[test]
    fn silence_and_a_quiet_tone_are_not_heard() {
        let silence = vec![0i16; 16000];
        let check = ToneCheck::measure(&silence, 8000, Duration::ZERO, 700, 1300);
        assert!(!check.heard(), "{check}");
        let quiet = tone_samples(700, 8000, 100, 16000);
        let check = ToneCheck::measure(&quiet, 8000, Duration::ZERO, 700, 1300);
        assert!(check.ratio_to_other() > 100.0 && !check.heard(), "{check}");
        let short = tone_samples(700, 8000, 8000, 4000);
        assert!(!ToneCheck::measure(&short, 8000, Duration::ZERO, 700, 1300).heard());
    }
}
