//! Content-Length framing for stream transports.

use bytes::BytesMut;

use crate::error::ParseError;
use crate::framer::Frame;

pub(crate) fn next_frame(
    _buf: &mut BytesMut,
    _max_message: usize,
) -> Result<Option<Frame>, ParseError> {
    todo!()
}
