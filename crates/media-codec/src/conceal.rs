//! Packet-loss concealment for codecs without their own: repeat the last good frame with a
//! gain that falls linearly to silence (in the spirit of ITU-T G.711 Appendix I, without its
//! pitch search).
//!
//! States: *no history* (nothing decoded yet: concealment is silence), *playing* (a frame was
//! decoded; `lost == 0`), *concealing* (`lost` samples of the gap produced so far). A decoded
//! frame always returns to *playing*.

/// Concealment of a frame-repetition decoder.
#[derive(Debug)]
pub(crate) struct RepeatConcealer {
    /// The last decoded frame.
    history: Vec<i16>,
    /// Samples concealed since the last decoded frame.
    lost: usize,
    /// Samples over which the repeated audio fades to silence.
    fade: usize,
}

impl RepeatConcealer {
    /// A concealer that fades to silence over `fade` samples (at least one).
    pub(crate) fn new(fade: usize) -> Self {
        RepeatConcealer {
            history: Vec::new(),
            lost: 0,
            fade: fade.max(1),
        }
    }

    /// Remembers `frame` (just decoded) as the audio to repeat.
    pub(crate) fn decoded(&mut self, frame: &[i16]) {
        if frame.is_empty() {
            return;
        }
        self.history.clear();
        self.history.extend_from_slice(frame);
        self.lost = 0;
    }

    /// Appends `samples` concealment samples to `out`.
    pub(crate) fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        out.reserve(samples);
        let len = self.history.len();
        for _ in 0..samples {
            let remaining = self.fade.saturating_sub(self.lost);
            let sample = if len == 0 || remaining == 0 {
                0
            } else {
                let source = i64::from(self.history[self.lost % len]);
                // |source| <= 32768 and remaining <= fade: the product fits in i64 and the
                // quotient stays within the i16 range of `source`.
                (source * remaining as i64 / self.fade as i64) as i16
            };
            out.push(sample);
            self.lost = self.lost.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_without_history() {
        let mut c = RepeatConcealer::new(480);
        let mut out = Vec::new();
        c.conceal(160, &mut out);
        assert_eq!(out, vec![0; 160]);
    }

    #[test]
    fn repeats_and_fades_to_silence() {
        let mut c = RepeatConcealer::new(400);
        c.decoded(&[1000; 100]);
        let mut out = Vec::new();
        c.conceal(500, &mut out);
        assert_eq!(out[0], 1000);
        assert_eq!(out[100], 750);
        assert_eq!(out[200], 500);
        assert_eq!(out[300], 250);
        assert!(out[..400].windows(2).all(|w| w[0] >= w[1]));
        assert!(out[399] > 0);
        assert!(out[400..].iter().all(|&s| s == 0));
    }

    #[test]
    fn fade_continues_across_calls_and_resets_on_decode() {
        let mut c = RepeatConcealer::new(200);
        c.decoded(&[-2000, 2000]);
        let mut out = Vec::new();
        c.conceal(100, &mut out);
        c.conceal(100, &mut out);
        assert_eq!(out[..2], [-2000, 1990]);
        assert_eq!(out[100], -1000);
        assert_eq!(out[199], 10);
        out.clear();
        c.conceal(10, &mut out);
        assert_eq!(out, vec![0; 10]);
        c.decoded(&[300]);
        out.clear();
        c.conceal(1, &mut out);
        assert_eq!(out, vec![300]);
    }
}
