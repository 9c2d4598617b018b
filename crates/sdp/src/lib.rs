//! SDP (RFC 8866): a model that keeps every line it does not interpret, a parser with line
//! numbers in its errors, a writer, and typed access to the attributes the media gateway needs
//! (RFC 3264 offer/answer, RFC 4568 `a=crypto`, RFC 3605 `a=rtcp`, RFC 5761 `a=rtcp-mux`,
//! RFC 5576 `a=ssrc`, RFC 5888 `a=mid`/`a=group`, and read-only ICE/DTLS attributes).
//!
//! Owns: the [`Sdp`] model, [`Sdp::parse`], [`Sdp::write_to`]/[`Sdp::to_bytes`], and the typed
//! attribute views ([`Rtpmap`], [`Fmtp`], [`MediaDirection`], [`Rtcp`], [`Crypto`], [`Ssrc`],
//! [`SsrcGroup`], [`Group`], [`Candidate`], [`Fingerprint`], [`Setup`]).
//!
//! Must not depend on: media (codecs, RTP), sockets, time, or any other Switchboard crate.
//!
//! How to drive it: parse a body with [`Sdp::parse`]; read fields and attributes (the typed
//! accessors live on [`Attributes`], shared by the session and each [`Media`] section); edit
//! the model or build one with [`Sdp::new`] and [`Media::new`]; write it with
//! [`Sdp::to_bytes`] (CRLF line ends, RFC 8866 §5 line order). Parsing what was written gives
//! the same model back.
//! ```
//! use sb_sdp::{MediaDirection, Sdp};
//!
//! let sdp = Sdp::parse(
//!     b"v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
//!       m=audio 49170 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\na=sendonly\n",
//! )
//! .unwrap();
//! let (_, audio) = sdp.first_audio().unwrap();
//! assert_eq!(audio.port, 49170);
//! assert_eq!(audio.attributes.rtpmap(101).unwrap().encoding, "telephone-event");
//! assert_eq!(sdp.direction_for(audio), MediaDirection::SendOnly);
//! assert_eq!(Sdp::parse(&sdp.to_bytes()).unwrap(), sdp);
//! ```
//!
//! Malformed input never panics: [`Sdp::parse`] returns [`SdpError`] naming the line. The
//! parser tolerates LF-only line ends, trailing whitespace, blank lines, a missing `s=`, and
//! bytes that are not UTF-8 (replaced by U+FFFD). Typed attribute accessors skip values that
//! do not follow their grammar; `T::parse` reports why.

mod attr;
mod error;
mod model;
mod parse;
mod write;

pub use attr::{
    Candidate, Crypto, Fingerprint, Fmtp, Group, KeyParam, MediaDirection, Mki, Rtcp, RtcpAddress,
    Rtpmap, Setup, Ssrc, SsrcGroup,
};
pub use error::SdpError;
pub use model::{
    Attribute, Attributes, Bandwidth, Connection, Line, Media, Origin, Sdp, addr_type,
};
