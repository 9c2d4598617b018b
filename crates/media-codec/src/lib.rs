//! Audio codecs for the Switchboard media gateway.
//!
//! Owns: the codec list ([`CodecKind`]) with its RTP facts (RFC 3551), and (as it grows)
//! G.711 µ-law/A-law, G.722, Opus encoders and decoders, resampling between 8, 16 and 48 kHz,
//! and PCM helpers.
//!
//! Must not depend on: time, sockets, tokio, the media engine.

mod kind;

pub use kind::CodecKind;
