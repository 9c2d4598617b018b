//! Audio codecs for the Switchboard media gateway.
//!
//! Owns: the codec list ([`CodecKind`]) with its RTP facts (RFC 3551), G.711 µ-law/A-law
//! (written here from ITU-T G.711, see [`g711`]), G.722 at 64 kbit/s (`audio-codec` crate),
//! Opus through libopus at 48 kHz mono ([`OpusConfig`]), packet-loss concealment, resampling
//! between 8, 16 and 48 kHz ([`Resampler`], rubato FFT), a sine source ([`ToneGenerator`])
//! and a single-frequency power meter ([`tone_power`]).
//!
//! Must not depend on: time, sockets, tokio, RTP, SDP or the media engine. Everything here is
//! plain computation on PCM frames and payload bytes; one codec state serves one direction of
//! one call and is `Send`, so a call's media task owns its encoders and decoders.
//!
//! How to drive it: PCM is mono `i16` at [`CodecKind::sample_rate`]; frames are whole
//! numbers of 10 ms (the gateway uses 20 ms). A transcoding direction is *decode → resample →
//! encode*, reusing its buffers:
//!
//! ```
//! use sb_media_codec::{CodecKind, Decoder, Encoder, OpusConfig, Resampler};
//!
//! let mut decoder = Decoder::new(CodecKind::Pcmu)?;
//! let mut resampler = Resampler::new(8_000, 48_000)?;
//! let mut encoder = Encoder::new(CodecKind::Opus, &OpusConfig::default())?;
//! encoder.set_source_rate(8_000)?;
//! let (mut pcm, mut wide, mut payload) = (Vec::new(), Vec::new(), Vec::new());
//!
//! let rtp_payload = [0xFFu8; 160]; // 20 ms of µ-law silence
//! decoder.decode(&rtp_payload, &mut pcm)?;
//! resampler.process(&pcm, &mut wide)?;
//! encoder.encode(&wide[..CodecKind::Opus.samples(20)], &mut payload)?;
//! assert!(!payload.is_empty());
//! # Ok::<(), sb_media_codec::CodecError>(())
//! ```
//!
//! When the Opus side is fed from G.711 or G.722, call [`Encoder::set_source_rate`] with the
//! source rate: Opus then codes only the band the audio has, at about half the CPU.
//!
//! A lost packet becomes [`Decoder::conceal`] (Opus PLC or in-band FEC; G.711/G.722 repeat
//! the last frame and fade out over 60 ms). Opus packets from stereo senders decode to mono.

mod conceal;
mod decoder;
mod encoder;
mod error;
pub mod g711;
mod g722;
mod kind;
mod opus_codec;
mod resample;
mod tone;

pub use decoder::{CONCEAL_FADE_MS, Decoder, MAX_CONCEAL_MS};
pub use encoder::Encoder;
pub use error::CodecError;
pub use kind::CodecKind;
pub use opus_codec::{OPUS_DTX_MAX_BYTES, OpusConfig};
pub use resample::{Resampler, SUPPORTED_RATES};
pub use tone::{ToneGenerator, tone_power};
