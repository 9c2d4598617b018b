//! G.722 at 64 kbit/s (ITU-T G.722 mode 1) through the `audio-codec` crate: 16 kHz PCM, one
//! byte per two samples, unpacked (RFC 3551 §4.5.2).

use audio_codec::g722::{Bitrate, G722Decoder, G722Encoder};
use audio_codec::{Decoder as _, Encoder as _};

use crate::error::CodecError;

fn reason(err: audio_codec::CodecError) -> &'static str {
    match err {
        audio_codec::CodecError::BufferTooSmall => "output buffer too small",
        audio_codec::CodecError::InvalidInput => "invalid input",
        _ => "codec failure",
    }
}

/// A G.722 64 kbit/s encoder.
pub(crate) struct G722Enc {
    inner: G722Encoder,
}

impl std::fmt::Debug for G722Enc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("G722Enc").finish_non_exhaustive()
    }
}

impl G722Enc {
    pub(crate) fn new() -> Self {
        G722Enc {
            inner: G722Encoder::with_options(Bitrate::Mode1_64000, false, false),
        }
    }

    /// Encodes 16 kHz `pcm` (an even number of samples), appending `pcm.len() / 2` bytes.
    pub(crate) fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let start = out.len();
        out.resize(start + pcm.len() / 2, 0);
        match self.inner.encode_into(pcm, &mut out[start..]) {
            Ok(written) => {
                out.truncate(start + written);
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(CodecError::G722 {
                    operation: "encode",
                    reason: reason(e),
                })
            }
        }
    }
}

/// A G.722 64 kbit/s decoder.
pub(crate) struct G722Dec {
    inner: G722Decoder,
}

impl std::fmt::Debug for G722Dec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("G722Dec").finish_non_exhaustive()
    }
}

impl G722Dec {
    pub(crate) fn new() -> Self {
        G722Dec {
            // Argument order of this constructor: rate, packed, eight_k.
            inner: G722Decoder::with_options(Bitrate::Mode1_64000, false, false),
        }
    }

    /// Decodes `payload`, appending two 16 kHz samples per byte.
    pub(crate) fn decode(
        &mut self,
        payload: &[u8],
        out: &mut Vec<i16>,
    ) -> Result<usize, CodecError> {
        let start = out.len();
        out.resize(start + payload.len() * 2, 0);
        match self.inner.decode_into(payload, &mut out[start..]) {
            Ok(written) => {
                out.truncate(start + written);
                Ok(written)
            }
            Err(e) => {
                out.truncate(start);
                Err(CodecError::G722 {
                    operation: "decode",
                    reason: reason(e),
                })
            }
        }
    }
}
