//! Framing of SIP messages on stream transports (RFC 3261 §18.3): messages are
//! delimited by Content-Length; CRLF keep-alives (RFC 5626 §3.5.1) may appear
//! between them.

use bytes::{Bytes, BytesMut};

use crate::error::ParseError;
use crate::parse::framing::FrameState;

/// One unit read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete message (start line to the end of the body), ready for
    /// [`crate::Message::parse`].
    Message(Bytes),
    /// A double-CRLF keep-alive "ping"; the answer is a single CRLF "pong"
    /// (RFC 5626 §3.5.1).
    Ping,
    /// A single CRLF "pong" (an answer to our ping). A CRLF that is the whole
    /// buffered input is reported at once, so a ping split between two reads
    /// after its first CRLF shows up as two pongs.
    Pong,
}

/// Accumulates bytes from a connection and yields whole frames.
///
/// ```
/// use sb_sip_message::{Frame, StreamFramer};
///
/// let mut framer = StreamFramer::new(65_535);
/// framer.push(b"\r\n\r\nOPTIONS sip:example.com SIP/2.0\r\nContent-Le");
/// assert_eq!(framer.next_frame().unwrap(), Some(Frame::Ping));
/// assert_eq!(framer.next_frame().unwrap(), None);
/// framer.push(b"ngth: 2\r\n\r\nhi");
/// assert!(matches!(framer.next_frame().unwrap(), Some(Frame::Message(_))));
/// assert_eq!(framer.buffered(), 0);
/// ```
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    max_message: usize,
    state: FrameState,
}

impl StreamFramer {
    /// A framer that refuses messages larger than `max_message` bytes.
    pub fn new(max_message: usize) -> StreamFramer {
        StreamFramer {
            buf: BytesMut::new(),
            max_message,
            state: FrameState::default(),
        }
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed. An error
    /// (no Content-Length, a malformed one, or a message over the limit) means
    /// the stream cannot be resynchronised and the connection must be closed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        crate::parse::framing::next_frame(&mut self.buf, &mut self.state, self.max_message)
    }
}
