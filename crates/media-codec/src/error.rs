//! The one error type of the crate.

use crate::kind::CodecKind;

/// Why a codec, resampler or configuration call failed.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// A PCM frame whose length is not a frame duration the codec encodes.
    #[error("{kind:?} cannot encode a frame of {samples} samples at {rate} Hz")]
    FrameSize {
        /// The codec asked to encode.
        kind: CodecKind,
        /// The number of PCM samples handed over.
        samples: usize,
        /// The PCM rate the encoder takes.
        rate: u32,
    },
    /// A concealment request for a duration the codec cannot produce.
    #[error("{kind:?} cannot conceal {samples} samples at {rate} Hz")]
    ConcealSize {
        /// The decoder asked to conceal.
        kind: CodecKind,
        /// The number of samples asked for.
        samples: usize,
        /// The PCM rate the decoder produces.
        rate: u32,
    },
    /// A PCM rate the codec does not encode from or decode to.
    #[error("{kind:?} does not code PCM at {rate} Hz")]
    PcmRate {
        /// The codec asked for.
        kind: CodecKind,
        /// The rejected PCM rate.
        rate: u32,
    },
    /// An RTP payload of zero bytes.
    #[error("{kind:?} payload is empty")]
    EmptyPayload {
        /// The codec of the payload.
        kind: CodecKind,
    },
    /// An RTP payload the codec cannot decode.
    #[error("{kind:?} payload of {len} bytes is malformed: {reason}")]
    InvalidPayload {
        /// The codec of the payload.
        kind: CodecKind,
        /// The payload length in bytes.
        len: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value of [`crate::OpusConfig`] out of its range.
    #[error("opus setting {field} = {value} is out of range {min}..={max}")]
    OpusConfig {
        /// The field name, as in the `[media.opus]` configuration table.
        field: &'static str,
        /// The rejected value.
        value: u32,
        /// The smallest accepted value.
        min: u32,
        /// The largest accepted value.
        max: u32,
    },
    /// libopus refused a call.
    #[error("libopus {function} failed: {reason}")]
    Opus {
        /// The libopus function that failed.
        function: &'static str,
        /// libopus's description of the failure.
        reason: &'static str,
    },
    /// The G.722 codec refused a frame.
    #[error("G.722 {operation} failed: {reason}")]
    G722 {
        /// `"encode"` or `"decode"`.
        operation: &'static str,
        /// The codec's description of the failure.
        reason: &'static str,
    },
    /// A resampling between rates the gateway does not convert.
    #[error("cannot resample from {from_hz} Hz to {to_hz} Hz (supported: 8000, 16000, 48000)")]
    UnsupportedRate {
        /// The input rate.
        from_hz: u32,
        /// The output rate.
        to_hz: u32,
    },
    /// The resampler failed on a chunk (a broken internal size invariant).
    #[error("resampling {from_hz} Hz to {to_hz} Hz failed: {reason}")]
    Resample {
        /// The input rate.
        from_hz: u32,
        /// The output rate.
        to_hz: u32,
        /// What the resampler reported.
        reason: String,
    },
}

impl CodecError {
    /// Maps a libopus error into [`CodecError::Opus`].
    pub(crate) fn opus(err: &opus::Error) -> CodecError {
        CodecError::Opus {
            function: err.function(),
            reason: err.description(),
        }
    }
}
