//! Start line, header section and body.

use bytes::Bytes;

use crate::error::ParseError;
use crate::headers::Headers;
use crate::message::Message;

pub(crate) fn parse_message(_buf: Bytes) -> Result<Message, ParseError> {
    todo!("sip-message parser")
}

/// For a message that failed to parse: the header fields that could be read, when
/// the input looks like a request (so a 400 can be built from its Via, From, To,
/// Call-ID and CSeq). `None` when nothing usable was found.
pub fn salvage_headers(_buf: &Bytes) -> Option<Headers> {
    todo!("sip-message salvage")
}
