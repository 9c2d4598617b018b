//! Transcoding one direction of a call, and generated tones: a jitter buffer for what the
//! device sends, decoding (with loss concealment and Opus FEC), resampling, repacketizing to
//! the other leg's packet time, and encoding for the other leg. Driven by the session's 20 ms
//! tick; time is passed in.
//!
//! Opus runs at the PCM rate of the other side: audio from a G.711 leg goes into the Opus
//! encoder at 8 kHz (G.722: 16 kHz), and Opus towards a G.711 leg decodes straight to 8 kHz,
//! so no resampling happens there and libopus does about half the work it does at 48 kHz.
//! Only G.711 ↔ G.722 resamples (8 ↔ 16 kHz). Sample counts therefore follow the PCM rates
//! of the decoder and the encoder ([`Decoder::pcm_rate`], [`Encoder::pcm_rate`]); RTP
//! timestamps follow the codecs' clocks (Opus: 48000, 960 units per 20 ms at any PCM rate).

use std::time::{Duration, Instant};

use sb_media_codec::{
    CodecError, CodecKind, Decoder, Encoder, OPUS_PCM_RATES, OpusConfig, Resampler, ToneGenerator,
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

/// Encoder side shared by transcoding and tones: a PCM queue at the encoder's rate, cut into
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
        let encoder = Encoder::new(output.codec, opus)?;
        Ok(Packetizer {
            output,
            pcm: Vec::with_capacity(tick_samples(encoder.pcm_rate()) * 4),
            encoder,
            credit_ms: 0,
        })
    }

    /// The PCM rate the queue holds and the encoder takes.
    fn rate(&self) -> u32 {
        self.encoder.pcm_rate()
    }

    /// [`Encoder::set_source_rate`]; PCM queued at a rate the encoder no longer takes is
    /// dropped. Returns whether the rate changed.
    fn set_source_rate(&mut self, source_hz: u32) -> Result<bool, CodecError> {
        let before = self.rate();
        self.encoder.set_source_rate(source_hz)?;
        let changed = self.rate() != before;
        if changed {
            self.pcm.clear();
        }
        Ok(changed)
    }

    fn tick(&mut self) {
        self.credit_ms = (self.credit_ms + 20).min(self.output.frame_ms.max(20) * 2);
    }

    /// Encodes the next frame into `out` (appending) when a whole frame is queued and its
    /// time has come.
    fn encode_next(&mut self, out: &mut Vec<u8>) -> Result<Option<Frame>, CodecError> {
        let codec = self.output.codec;
        let samples = (self.rate() / 1000 * self.output.frame_ms) as usize;
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
            self.switch_input(codec)?;
        }
        if self.ssrc != Some(ssrc) {
            self.ssrc = Some(ssrc);
            self.jitter.reset(codec.rtp_clock_rate());
        }
        Ok(self.jitter.push(now, seq, ts, payload))
    }

    /// Sets up decoding of `codec`, the codec the device now sends. On an error nothing is
    /// decoded until a packet sets it up.
    fn switch_input(&mut self, codec: CodecKind) -> Result<(), CodecError> {
        let previous = self.input.take();
        let out_codec = self.out.output.codec;
        // Opus towards another codec decodes straight to that codec's rate.
        let decode_hz = if codec == CodecKind::Opus && out_codec != CodecKind::Opus {
            out_codec.sample_rate()
        } else {
            codec.sample_rate()
        };
        let decoder = Decoder::with_rate(codec, decode_hz)?;
        let rate = decoder.pcm_rate();
        // Opus takes the PCM at the rate it was decoded at and spends no bits (and no CPU)
        // on a band the source never had: G.711 audio coded as narrowband from 8 kHz, G.722
        // as wideband from 16 kHz. Other codecs ignore it.
        let rate_changed = self.out.set_source_rate(rate)?;
        let resampler = Resampler::new(rate, self.out.rate())?;
        self.input = Some(Input {
            codec,
            decoder,
            resampler,
        });
        // Samples owed by the tick are counted at the decoder's rate; queued output at a
        // rate the encoder no longer takes was dropped, and with it what was owed.
        self.owed = match previous {
            Some(old) if !rate_changed => {
                self.owed * rate as isize / old.decoder.pcm_rate() as isize
            }
            _ => 0,
        };
        self.jitter.reset(codec.rtp_clock_rate());
        Ok(())
    }

    /// One tick of playout at `now`: takes 20 ms of the device's audio from the jitter
    /// buffer (decoding or concealing), resamples it into the output queue. Then call
    /// [`Transcoder::encode_next`] until it returns `None`.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.out.tick();
        let Some(input) = self.input.as_mut() else {
            return;
        };
        let rate = input.decoder.pcm_rate();
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
                    // Opus conceals whole 2.5 ms steps (20 samples at 8 kHz).
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
            // Resampling equal rates (G.711 ↔ Opus) copies; errors lose this tick's audio
            // only.
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
    /// A sine of `frequency_hz` encoded into `output` until `until`. Towards Opus the tone is
    /// generated and coded at the lowest PCM rate that carries it (8 kHz, narrowband, for
    /// call-progress tones); other codecs take it at their own rate.
    pub(crate) fn new(
        output: Output,
        opus: &OpusConfig,
        frequency_hz: u32,
        until: Instant,
    ) -> Result<TonePlayer, CodecError> {
        let mut out = Packetizer::new(output, opus)?;
        if output.codec == CodecKind::Opus {
            out.set_source_rate(tone_rate(frequency_hz))?;
        }
        Ok(TonePlayer {
            generator: ToneGenerator::new(frequency_hz, out.rate(), TONE_AMPLITUDE),
            out,
            until,
        })
    }

    /// One tick: 20 ms more of the tone. Then call [`TonePlayer::encode_next`].
    pub(crate) fn tick(&mut self) {
        self.out.tick();
        let n = tick_samples(self.out.rate());
        let start = self.out.pcm.len();
        self.out.pcm.resize(start + n, 0);
        self.generator.fill(&mut self.out.pcm[start..]);
    }

    /// Encodes the next due frame into `out`.
    pub(crate) fn encode_next(&mut self, out: &mut Vec<u8>) -> Result<Option<Frame>, CodecError> {
        self.out.encode_next(out)
    }
}

/// The lowest Opus PCM rate whose coded band holds a tone of `frequency_hz` with room to
/// spare (below 40 % of the rate, under the edge of the band Opus codes at that rate).
fn tone_rate(frequency_hz: u32) -> u32 {
    OPUS_PCM_RATES
        .into_iter()
        .find(|&rate| u64::from(frequency_hz) * 5 < u64::from(rate) * 2)
        .unwrap_or(48_000)
}

#[cfg(test)]
mod tests;
