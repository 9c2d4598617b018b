//! Typed views of the attributes the gateway reads. Each type parses from an attribute value
//! (`T::parse`), borrows from it, and prints the value back through `Display`.
//!
//! The accessors on [`Attributes`](crate::Attributes) skip values that do not follow their
//! grammar (a malformed line from a device is ignored, as if absent); parse an
//! [`Attribute`](crate::Attribute)'s value with `T::parse` to see the error instead.

mod crypto;
mod ice;
mod rtp;
mod streams;

pub use crypto::{Crypto, KeyParam, Mki};
pub use ice::{Candidate, Fingerprint, Setup};
pub use rtp::{Fmtp, MediaDirection, Rtcp, RtcpAddress, Rtpmap};
pub use streams::{Group, Ssrc, SsrcGroup};

use crate::error::SdpError;

/// Parses an unsigned decimal number of a typed attribute (no sign, no spaces).
fn number<T: std::str::FromStr>(
    text: &str,
    name: &'static str,
    reason: &'static str,
) -> Result<T, SdpError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SdpError::Attribute { name, reason });
    }
    text.parse()
        .map_err(|_| SdpError::Attribute { name, reason })
}

/// An RTP payload type number (0–127).
fn payload_type(text: &str, name: &'static str) -> Result<u8, SdpError> {
    let pt: u8 = number(text, name, "payload type is not a number from 0 to 127")?;
    if pt > 127 {
        return Err(SdpError::Attribute {
            name,
            reason: "payload type is not a number from 0 to 127",
        });
    }
    Ok(pt)
}

/// Splits the next whitespace-separated field off `rest` (empty at the end).
fn next_field<'a>(rest: &mut &'a str) -> &'a str {
    let text = rest.trim_start();
    let end = text
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(text.len());
    let (head, tail) = text.split_at(end);
    *rest = tail;
    head
}
