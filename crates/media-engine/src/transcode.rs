//! Transcoding one direction of a call, and generated tones: a jitter buffer for what the
//! device sends, decoding (with loss concealment and Opus FEC), resampling, repacketizing to
//! the other leg's packet time, and encoding for the other leg. Driven by the session's 20 ms
//! tick; time is passed in.

use std::time::{Duration, Instant};

use sb_media_codec::{
    CodecError, CodecKind, Decoder, Encoder, OpusConfig, Resampler, ToneGenerator,
};

use crate::jitter::{JitterBuffer, Pop, Pushed};

/// The playout tick.
pub(crate) const TICK: Duration = Duration::from_millis(20);
/// Tone level: about −12 dBFS.
const TONE_AMPLITUDE: i16 = 8192;

/// Samples in one tick at `rate`.
fn tick_samples(rate: u32) -> usize {
    (rate / 50) as usize
}

/// A packet time the encoders take (10, 20, 40 or 60 ms); anything else becomes 20.
pub(crate) fn frame_ms(ptime_ms: u16) -> u32 {
    match ptime_ms {
        10 | 20 | 40 | 60 => u32::from(ptime_ms),
        _ => 20,
    }
}

/// What the other leg receives: codec, payload type and packet time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Output {
    /// Codec to encode.
    pub(crate) codec: CodecKind,
    /// Its payload type on the leg.
    pub(crate) pt: u8,
    /// Packet time in milliseconds (10, 20, 40 or 60).
    pub(crate) frame_ms: u32,
}

/// One encoded frame waiting in the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Payload type to send it with.
    pub(crate) pt: u8,
    /// Timestamp units it covers.
    pub(crate) units: u32,
    /// Its duration.
    pub(crate) duration: Duration,
}

/// Encoder side shared by transcoding and tones: a PCM queue at the codec's rate, cut into
/// frames of the packet time, sent at the pace of the tick.
struct Packetizer {
    output: Output,
    encoder: Encoder,
    pcm: Vec<i16>,
    credit_ms: u32,
}

impl std::fmt::Debug for Packetizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packetizer")
            .field("output", &self.output)
            .field("queued", &self.pcm.len())
            .finish_non_exhaustive()
    }
}

impl Packetizer {
    fn new(output: Output, opus: &OpusConfig) -> Result<Packetizer, CodecError> {
        Ok(Packetizer {
            output,
            encoder: Encoder::new(output.codec, opus)?,
            pcm: Vec::with_capacity(tick_samples(output.codec.sample_rate()) * 4),
            credit_ms: 0,
        })
    }

    fn tick(&mut self) {
        self.credit_ms = (self.credit_ms + 20).min(self.output.frame_ms.max(20) * 2);
    }

    /// Encodes the next frame into `out` (appending) when a whole frame is queued and its
    /// time has come.
    fn encode_next(&mut self, out: &mut Vec<u8>) -> Result<Option<Frame>, CodecError> {
        let codec = self.output.codec;
        let samples = codec.samples(self.output.frame_ms);
        if self.pcm.len() < samples || self.credit_ms < self.output.frame_ms {
            return Ok(None);
        }
        self.credit_ms -= self.output.frame_ms;
        let result = self.encoder.encode(&self.pcm[..samples], out);
        self.pcm.drain(..samples);
        result?;
        Ok(Some(Frame {
            pt: self.output.pt,
            units: codec.rtp_units(self.output.frame_ms),
            duration: Duration::from_millis(u64::from(self.output.frame_ms)),
        }))
    }
}

/// Decoding state for the codec the device currently sends.
struct Input {
    codec: CodecKind,
    decoder: Decoder,
    resampler: Resampler,
}

/// One direction of a transcoded call: the device's packets in, the other leg's frames out.
pub(crate) struct Transcoder {
    jitter: JitterBuffer,
    input: Option<Input>,
    ssrc: Option<u32>,
    decoded: Vec<i16>,
    owed: isize,
    out: Packetizer,
    jitter_min_ms: u16,
    jitter_max_ms: u16,
    /// Frames decoded.
    pub(crate) frames_decoded: u64,
    /// Frames concealed (loss, lateness, undecodable payloads).
    pub(crate) frames_concealed: u64,
}

impl std::fmt::Debug for Transcoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcoder")
            .field("input", &self.input.as_ref().map(|i| i.codec))
            .field("out", &self.out)
            .finish_non_exhaustive()
    }
}

impl Transcoder {
    /// A transcoder into `output`, with jitter buffer bounds in milliseconds.
    pub(crate) fn new(
        output: Output,
        opus: &OpusConfig,
        jitter_min_ms: u16,
        jitter_max_ms: u16,
    ) -> Result<Transcoder, CodecError> {
        Ok(Transcoder {
            jitter: JitterBuffer::new(8000, jitter_min_ms, jitter_max_ms),
            input: None,
            ssrc: None,
            decoded: Vec::with_capacity(2048),
            owed: 0,
            out: Packetizer::new(output, opus)?,
            jitter_min_ms,
            jitter_max_ms,
            frames_decoded: 0,
            frames_concealed: 0,
        })
    }

    /// What it produces.
    pub(crate) fn output(&self) -> Output {
        self.out.output
    }

    /// The jitter buffer's bounds.
    pub(crate) fn jitter_bounds(&self) -> (u16, u16) {
        (self.jitter_min_ms, self.jitter_max_ms)
    }

    /// Packets dropped by the jitter buffer (late, duplicated, or for delay).
    pub(crate) fn dropped(&self) -> u64 {
        self.jitter.late + self.jitter.duplicates + self.jitter.discarded
    }

    /// Whether the tick has work: packets waiting or playout running.
    pub(crate) fn is_active(&self) -> bool {
        self.jitter.is_active()
    }

    /// Offers a packet of `codec` from SSRC `ssrc` to the jitter buffer.
    pub(crate) fn push(
        &mut self,
        now: Instant,
        codec: CodecKind,
        ssrc: u32,
        header: (u16, u32),
        payload: &[u8],
    ) -> Result<Pushed, CodecError> {
        let (seq, ts) = header;
        if self.input.as_ref().is_none_or(|i| i.codec != codec) {
            self.input = Some(Input {
                codec,
                decoder: Decoder::new(codec)?,
                resampler: Resampler::new(
                    codec.sample_rate(),
                    self.out.output.codec.sample_rate(),
                )?,
            });
            // Opus spends no bits (and no CPU) on a band the source never had:
            // G.711 audio coded as narrowband, G.722 as wideband.
            self.out.encoder.set_source_rate(codec.sample_rate())?;
            self.jitter.reset(codec.rtp_clock_rate());
        }
        if self.ssrc != Some(ssrc) {
            self.ssrc = Some(ssrc);
            self.jitter.reset(codec.rtp_clock_rate());
        }
        Ok(self.jitter.push(now, seq, ts, payload))
    }

    /// One tick of playout at `now`: takes 20 ms of the device's audio from the jitter
    /// buffer (decoding or concealing), resamples it into the output queue. Then call
    /// [`Transcoder::encode_next`] until it returns `None`.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.out.tick();
        let Some(input) = self.input.as_mut() else {
            return;
        };
        let rate = input.codec.sample_rate();
        let clock = input.codec.rtp_clock_rate();
        let frame_units = input.codec.rtp_units(20);
        self.owed += tick_samples(rate) as isize;
        while self.owed > 0 {
            let produced = match self.jitter.pop(now, frame_units) {
                Pop::Packet(slot) => {
                    let n = match input.decoder.decode(&slot.payload, &mut self.decoded) {
                        Ok(n) => {
                            self.frames_decoded += 1;
                            n
                        }
                        Err(_) => {
                            // Undecodable payload: conceal one tick instead.
                            self.frames_concealed += 1;
                            input
                                .decoder
                                .conceal(tick_samples(rate), None, &mut self.decoded)
                                .unwrap_or(0)
                        }
                    };
                    let units = (n as u64 * u64::from(clock) / u64::from(rate)) as u32;
                    self.jitter.played(units);
                    self.jitter.recycle(slot.payload);
                    n
                }
                Pop::Missing { units, fec } => {
                    let mut samples =
                        (u64::from(units) * u64::from(rate) / u64::from(clock)) as usize;
                    // Opus conceals whole 2.5 ms steps.
                    let step = (rate / 400) as usize;
                    samples -= samples % step;
                    if samples == 0 {
                        continue;
                    }
                    let next = if fec {
                        self.jitter.front_payload()
                    } else {
                        None
                    };
                    self.frames_concealed += 1;
                    input
                        .decoder
                        .conceal(samples, next, &mut self.decoded)
                        .unwrap_or(0)
                }
                Pop::Nothing => {
                    self.owed = 0;
                    break;
                }
            };
            if produced == 0 {
                self.owed = 0;
                break;
            }
            self.owed -= produced as isize;
        }
        if !self.decoded.is_empty() {
            // Resampling equal rates copies; errors lose this tick's audio only.
            let _ = input.resampler.process(&self.decoded, &mut self.out.pcm);
            self.decoded.clear();
        }
    }

    /// Encodes the next due frame into `out`.
    pub(crate) fn encode_next(&mut self, out: &mut Vec<u8>) -> Result<Option<Frame>, CodecError> {
        self.out.encode_next(out)
    }
}

/// A tone played to a leg for a while.
pub(crate) struct TonePlayer {
    generator: ToneGenerator,
    out: Packetizer,
    /// When the tone ends.
    pub(crate) until: Instant,
}

impl std::fmt::Debug for TonePlayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TonePlayer")
            .field("out", &self.out)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

impl TonePlayer {
    /// A sine of `frequency_hz` encoded into `output` until `until`.
    pub(crate) fn new(
        output: Output,
        opus: &OpusConfig,
        frequency_hz: u32,
        until: Instant,
    ) -> Result<TonePlayer, CodecError> {
        Ok(TonePlayer {
            generator: ToneGenerator::new(frequency_hz, output.codec.sample_rate(), TONE_AMPLITUDE),
            out: Packetizer::new(output, opus)?,
            until,
        })
    }

    /// One tick: 20 ms more of the tone. Then call [`TonePlayer::encode_next`].
    pub(crate) fn tick(&mut self) {
        self.out.tick();
        let n = tick_samples(self.out.output.codec.sample_rate());
        let start = self.out.pcm.len();
        self.out.pcm.resize(start + n, 0);
        self.generator.fill(&mut self.out.pcm[start..]);
    }

    /// Encodes the next due frame into `out`.
    pub(crate) fn encode_next(&mut self, out: &mut Vec<u8>) -> Result<Option<Frame>, CodecError> {
        self.out.encode_next(out)
    }
}

#[cfg(test)]
mod tests {
    use sb_media_codec::tone_power;

    use super::*;

    fn pcmu_tone(frames: usize) -> Vec<Vec<u8>> {
        let mut generator = ToneGenerator::new(1000, 8000, 8000);
        let mut enc = Encoder::new(CodecKind::Pcmu, &OpusConfig::default()).unwrap();
        (0..frames)
            .map(|_| {
                let mut pcm = vec![0i16; 160];
                generator.fill(&mut pcm);
                let mut out = Vec::new();
                enc.encode(&pcm, &mut out).unwrap();
                out
            })
            .collect()
    }

    #[test]
    fn pcmu_to_opus_carries_the_tone_and_conceals_loss() {
        let t0 = Instant::now();
        let out = Output {
            codec: CodecKind::Opus,
            pt: 111,
            frame_ms: 20,
        };
        let mut t = Transcoder::new(out, &OpusConfig::default(), 20, 200).unwrap();
        let input = pcmu_tone(50);
        let mut frames = Vec::new();
        for i in 0..60usize {
            let at = t0 + TICK * i as u32;
            if i < input.len() && i != 25 {
                let header = (i as u16, 160 * i as u32);
                let pushed = t.push(at, CodecKind::Pcmu, 7, header, &input[i]).unwrap();
                assert_eq!(pushed, Pushed::Buffered);
            }
            t.tick(at);
            let mut buf = Vec::new();
            while let Some(f) = t.encode_next(&mut buf).unwrap() {
                assert_eq!((f.pt, f.units), (111, 960));
                frames.push(std::mem::take(&mut buf));
            }
        }
        assert!(frames.len() >= 48, "{}", frames.len());
        assert_eq!(t.frames_decoded, 49);
        assert!(t.frames_concealed >= 1);
        // Decode what came out: the 1 kHz tone is there.
        let mut dec = Decoder::new(CodecKind::Opus).unwrap();
        let mut pcm = Vec::new();
        for f in &frames {
            dec.decode(f, &mut pcm).unwrap();
        }
        let middle = &pcm[pcm.len() / 4..pcm.len() * 3 / 4];
        let at_1k = tone_power(middle, 48000, 1000);
        let at_3k = tone_power(middle, 48000, 3000);
        assert!(at_1k > 100.0 * at_3k, "1 kHz {at_1k} vs 3 kHz {at_3k}");
    }

    #[test]
    fn tone_player_frames_g722() {
        let t0 = Instant::now();
        let out = Output {
            codec: CodecKind::G722,
            pt: 9,
            frame_ms: 20,
        };
        let mut tone = TonePlayer::new(out, &OpusConfig::default(), 440, t0).unwrap();
        let mut payloads = Vec::new();
        for _ in 0..10 {
            tone.tick();
            let mut buf = Vec::new();
            while let Some(f) = tone.encode_next(&mut buf).unwrap() {
                assert_eq!((f.pt, f.units), (9, 160), "G.722: 8000 Hz clock");
                payloads.push(std::mem::take(&mut buf));
            }
        }
        assert_eq!(payloads.len(), 10);
        assert!(
            payloads.iter().all(|p| p.len() == 160),
            "64 kbit/s: 160 octets per 20 ms"
        );
    }

    #[test]
    fn packet_time_is_respected() {
        let out = Output {
            codec: CodecKind::Pcmu,
            pt: 0,
            frame_ms: 40,
        };
        let mut tone = TonePlayer::new(out, &OpusConfig::default(), 440, Instant::now()).unwrap();
        let mut sent = Vec::new();
        for tick in 0..6 {
            tone.tick();
            let mut buf = Vec::new();
            while tone.encode_next(&mut buf).unwrap().is_some() {
                sent.push((tick, buf.len()));
                buf.clear();
            }
        }
        assert_eq!(sent, vec![(1, 320), (3, 320), (5, 320)]);
    }
}
