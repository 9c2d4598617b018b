//! Content-Length framing for stream transports (RFC 3261 §18.3) and CRLF
//! keep-alives (RFC 5626 §3.5.1).

use bytes::{Buf, BytesMut};

use crate::error::ParseError;
use crate::framer::Frame;

use super::header_section::{find_head_end, note_content_length};

/// What the framer remembers between reads so that a message arriving in many
/// small pieces is scanned once, not once per piece.
#[derive(Debug, Default)]
pub(crate) struct FrameState {
    /// Where the search for the end of the header section resumes.
    scan_from: usize,
    /// Length of the message at the front of the buffer, once its header
    /// section has been read.
    total: Option<usize>,
}

pub(crate) fn next_frame(
    buf: &mut BytesMut,
    state: &mut FrameState,
    max_message: usize,
) -> Result<Option<Frame>, ParseError> {
    if state.total.is_none() && state.scan_from == 0 {
        loop {
            match buf.first() {
                Some(b'\r') => match (buf.get(1), buf.get(2), buf.get(3)) {
                    (None, ..) | (Some(b'\n'), Some(b'\r'), None) => return Ok(None),
                    (Some(b'\n'), Some(b'\r'), Some(b'\n')) => {
                        buf.advance(4);
                        return Ok(Some(Frame::Ping));
                    }
                    // A single CRLF; when it is all there is, it is reported at
                    // once so that a pong is never held back waiting for data.
                    (Some(b'\n'), ..) => {
                        buf.advance(2);
                        return Ok(Some(Frame::Pong));
                    }
                    // A stray CR: ignored like the CRLFs before a start line.
                    (Some(_), ..) => buf.advance(1),
                },
                // A bare LF between messages is ignored (RFC 3261 §7.5).
                Some(b'\n') => buf.advance(1),
                _ => break,
            }
        }
    }

    let total = match state.total {
        Some(total) => total,
        None => match find_head_end(buf, state.scan_from) {
            None => {
                if buf.len() > max_message {
                    return Err(ParseError::TooLarge {
                        size: buf.len(),
                        limit: max_message,
                    });
                }
                // A line feed in the last two bytes may start the empty line.
                state.scan_from = buf.len().saturating_sub(2);
                return Ok(None);
            }
            Some((head_end, body_start)) => {
                // A header section over the limit is refused as such, whether or not
                // its end arrived in the same read (the error must not depend on reads).
                if body_start > max_message {
                    return Err(ParseError::TooLarge {
                        size: body_start,
                        limit: max_message,
                    });
                }
                let length = content_length_in(&buf[..head_end])?
                    .ok_or_else(|| ParseError::MissingHeader("Content-Length"))?;
                let total = body_start.saturating_add(length);
                if total > max_message {
                    return Err(ParseError::TooLarge {
                        size: total,
                        limit: max_message,
                    });
                }
                state.total = Some(total);
                total
            }
        },
    };
    if buf.len() < total {
        return Ok(None);
    }
    *state = FrameState::default();
    Ok(Some(Frame::Message(buf.split_to(total).freeze())))
}

fn trim_wsp(s: &[u8]) -> &[u8] {
    let start = s.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    let end = s.len()
        - s[start..]
            .iter()
            .rev()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
    &s[start..end]
}

/// The Content-Length of a header section given as bytes (the start line
/// first), read the way the message parser reads it: names case-insensitive,
/// compact `l`, folded values joined with a space, repeated values must agree.
fn content_length_in(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut seen = None;
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .skip(1)
        .peekable();
    let is_continuation = |l: &[u8]| matches!(l.first(), Some(b' ' | b'\t'));
    while let Some(line) = lines.next() {
        if is_continuation(line) {
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = trim_wsp(&line[..colon]);
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let mut value = trim_wsp(&line[colon + 1..]).to_vec();
        while let Some(next) = lines.next_if(|l| is_continuation(l)) {
            let part = trim_wsp(next);
            if part.is_empty() {
                continue;
            }
            if !value.is_empty() {
                value.push(b' ');
            }
            value.extend_from_slice(part);
        }
        note_content_length(&mut seen, &value)?;
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_scan() {
        let head = b"INVITE sip:a SIP/2.0\r\nl: 4\r\nX: y\r\n z\r\n";
        assert_eq!(content_length_in(head), Ok(Some(4)));
        let head = b"INVITE sip:a SIP/2.0\r\nContent-Length:\r\n  12\r\n";
        assert_eq!(content_length_in(head), Ok(Some(12)));
        let head = b"l: 4 SIP/2.0\r\nCall-ID: x\r\n";
        assert_eq!(content_length_in(head), Ok(None));
        let head = b"INVITE sip:a SIP/2.0\r\nl: 4\r\nContent-Length: 5\r\n";
        assert!(content_length_in(head).is_err());
    }
}
