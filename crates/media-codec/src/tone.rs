//! A steady sine source ([`ToneGenerator`]) and a single-frequency power meter
//! ([`tone_power`], the Goertzel algorithm).

use std::f64::consts::TAU;

/// A steady sine tone at a fixed rate, for the `tone` dialplan action and for tests.
///
/// The phase continues across [`ToneGenerator::fill`] calls and is recomputed exactly at the
/// start of each call, so long tones do not drift.
///
/// ```
/// use sb_media_codec::{ToneGenerator, tone_power};
///
/// let mut tone = ToneGenerator::new(1_000, 8_000, 8_000);
/// let mut frame = [0i16; 160];
/// tone.fill(&mut frame);
/// assert!(tone_power(&frame, 8_000, 1_000) > 100.0 * tone_power(&frame, 8_000, 1_500));
/// ```
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    frequency_hz: u32,
    sample_rate: u32,
    amplitude: f64,
    /// `frequency_hz * samples_so_far mod sample_rate`: the exact phase, in units of
    /// `TAU / sample_rate`.
    phase: u64,
}

impl ToneGenerator {
    /// A tone of `frequency_hz` sampled at `sample_rate` with peak `amplitude`. A zero
    /// sample rate produces silence.
    pub fn new(frequency_hz: u32, sample_rate: u32, amplitude: i16) -> ToneGenerator {
        ToneGenerator {
            frequency_hz,
            sample_rate,
            amplitude: f64::from(amplitude),
            phase: 0,
        }
    }

    /// The tone's frequency.
    pub fn frequency_hz(&self) -> u32 {
        self.frequency_hz
    }

    /// The rate the tone is sampled at.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Overwrites `out` with the next `out.len()` samples of the tone.
    pub fn fill(&mut self, out: &mut [i16]) {
        if self.sample_rate == 0 || out.is_empty() {
            out.fill(0);
            return;
        }
        let rate = u64::from(self.sample_rate);
        let step = TAU * f64::from(self.frequency_hz) / rate as f64;
        let start = TAU * self.phase as f64 / rate as f64;
        // Second-order recurrence sin(x + k·step) = 2cos(step)·sin(x + (k-1)·step) − sin(x +
        // (k-2)·step): one multiply-add per sample instead of a sine.
        let coeff = 2.0 * step.cos();
        let mut previous = (start - step).sin();
        let mut current = start.sin();
        for sample in out.iter_mut() {
            // `as` saturates; |amplitude| <= 32768 keeps the tone in range anyway.
            *sample = (current * self.amplitude).round() as i16;
            let next = coeff * current - previous;
            previous = current;
            current = next;
        }
        let advance = u64::from(self.frequency_hz) % rate * (out.len() as u64 % rate) % rate;
        self.phase = (self.phase + advance) % rate;
    }
}

/// The power of the `frequency_hz` component of `pcm` sampled at `sample_rate` (Goertzel
/// algorithm, rectangular window), scaled so that a sine of amplitude `A` at that frequency
/// measures about `A²`; 0 for empty input or a zero rate.
pub fn tone_power(pcm: &[i16], sample_rate: u32, frequency_hz: u32) -> f64 {
    if pcm.is_empty() || sample_rate == 0 {
        return 0.0;
    }
    let omega = TAU * f64::from(frequency_hz) / f64::from(sample_rate);
    let coeff = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let half = pcm.len() as f64 / 2.0;
    power / (half * half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_matches_the_sine_formula_across_calls() {
        let mut tone = ToneGenerator::new(1_000, 48_000, 10_000);
        let mut frames = vec![0i16; 960 * 50];
        for chunk in frames.chunks_mut(960) {
            tone.fill(chunk);
        }
        for (n, &s) in frames.iter().enumerate() {
            let expected = (10_000.0 * (TAU * 1_000.0 * n as f64 / 48_000.0).sin()).round();
            assert!(
                (f64::from(s) - expected).abs() <= 1.0,
                "sample {n}: {s} vs {expected}"
            );
        }
    }

    #[test]
    fn odd_frame_lengths_keep_phase() {
        let mut a = ToneGenerator::new(440, 8_000, 12_000);
        let mut b = ToneGenerator::new(440, 8_000, 12_000);
        let mut whole = vec![0i16; 1_000];
        a.fill(&mut whole);
        let mut pieces = vec![0i16; 1_000];
        for chunk in pieces.chunks_mut(37) {
            b.fill(chunk);
        }
        for (x, y) in whole.iter().zip(&pieces) {
            assert!((i32::from(*x) - i32::from(*y)).abs() <= 1);
        }
    }

    #[test]
    fn zero_rate_is_silence() {
        let mut tone = ToneGenerator::new(1_000, 0, 1_000);
        let mut out = [7i16; 10];
        tone.fill(&mut out);
        assert_eq!(out, [0; 10]);
        assert_eq!(tone_power(&out, 0, 1_000), 0.0);
        assert_eq!(tone_power(&[], 8_000, 1_000), 0.0);
    }

    #[test]
    fn power_measures_amplitude_squared() {
        let mut tone = ToneGenerator::new(1_000, 8_000, 1_000);
        let mut pcm = vec![0i16; 1_600];
        tone.fill(&mut pcm);
        let p = tone_power(&pcm, 8_000, 1_000);
        assert!((p - 1.0e6).abs() < 1.0e4, "{p}");
        assert!(tone_power(&pcm, 8_000, 1_500) < p / 1_000.0);
        assert!(tone_power(&[0; 1_600], 8_000, 1_000) == 0.0);
    }
}
