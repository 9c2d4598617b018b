//! Audio codecs for the Switchboard media gateway.
//!
//! Owns: the codec list ([`CodecKind`]) with its RTP facts (RFC 3551), G.711 µ-law/A-law
//! (written here from ITU-T G.711, see [`g711`]), G.722 at 64 kbit/s (`audio-codec` crate),
//! Opus through libopus, mono, with PCM at 8, 12, 16, 24 or 48 kHz ([`OpusConfig`],
//! [`OPUS_PCM_RATES`]), packet-loss concealment, resampling between 8, 16 and 48 kHz
//! ([`Resampler`], rubato FFT), a sine source ([`ToneGenerator`]) and a single-frequency power
//! meter ([`tone_power`]).
//!
//! Must not depend on: time, sockets, tokio, RTP, SDP or the media engine. Everything here is
//! plain computation on PCM frames and payload bytes; one codec state serves one direction of
//! one call and is `Send`, so a call's media task owns its encoders and decoders.
//!
//! How to drive it: PCM is mono `i16` at the codec state's rate ([`Encoder::pcm_rate`],
//! [`Decoder::pcm_rate`]: [`CodecKind::sample_rate`] unless chosen otherwise for Opus); frames
//! are whole numbers of 10 ms (the gateway uses 20 ms). A transcoding direction is *decode →
//! resample → encode*, reusing its buffers. Opus runs at the rate of the other leg, so
//! G.711 ↔ Opus needs no resampling at all ([`Encoder::set_source_rate`],
//! [`Decoder::with_rate`]); libopus then also does less work than at 48 kHz:
//!
//! ```
//! use sb_media_codec::{CodecKind, Decoder, Encoder, OpusConfig};
//!
//! // PCMU → Opus: G.711 audio goes into Opus at 8 kHz, coded as narrowband.
//! let mut pcmu = Decoder::new(CodecKind::Pcmu)?;
//! let mut opus = Encoder::new(CodecKind::Opus, &OpusConfig::default())?;
//! opus.set_source_rate(pcmu.pcm_rate())?;
//! let (mut pcm, mut payload) = (Vec::new(), Vec::new());
//! pcmu.decode(&[0xFFu8; 160], &mut pcm)?; // 20 ms of µ-law silence
//! opus.encode(&pcm, &mut payload)?;
//!
//! // Opus → PCMU: any Opus packet decodes straight to 8 kHz.
//! let mut opus_in = Decoder::with_rate(CodecKind::Opus, 8_000)?;
//! let mut pcmu_out = Encoder::new(CodecKind::Pcmu, &OpusConfig::default())?;
//! pcm.clear();
//! assert_eq!(opus_in.decode(&payload, &mut pcm)?, 160);
//! let mut back = Vec::new();
//! pcmu_out.encode(&pcm, &mut back)?;
//! assert_eq!(back.len(), 160);
//! # Ok::<(), sb_media_codec::CodecError>(())
//! ```
//!
//! Between G.711 and G.722 a [`Resampler`] converts 8 ↔ 16 kHz.
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
pub use opus_codec::{OPUS_DTX_MAX_BYTES, OPUS_PCM_RATES, OpusConfig};
pub use resample::{Resampler, SUPPORTED_RATES};
pub use tone::{ToneGenerator, tone_power};
