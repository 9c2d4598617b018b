//! The part of a SIP or SIPS URI after the scheme (RFC 3261 §19.1.1, §25.1),
//! parsed from the delimiters that one pass over the text finds. A URI is
//! short, and a pass per delimiter would cost more than parsing itself.

use smallvec::SmallVec;

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::params::{Param, Params, param_name};
use crate::uri::SipUri;

use super::uri::{parse_host_str, parse_port, uri_err};

/// A delimiter of the SIP URI grammar: `:`, `@`, `;`, `?`, `[`, `]`, `=`, `&`.
const MARK: u8 = 1;
/// A byte that never appears unescaped in a URI (RFC 3986 §2): whitespace,
/// control characters, quotes and angle brackets (they delimit a URI in a
/// name-addr).
const BAD: u8 = 2;
/// SP or HTAB (also [`BAD`]).
const WSP: u8 = 4;

const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if matches!(c, b':' | b'@' | b';' | b'?' | b'[' | b']' | b'=' | b'&') {
            MARK
        } else if c == b' ' || c == b'\t' {
            BAD | WSP
        } else if c <= 0x20 || c == 0x7f || c == b'<' || c == b'>' || c == b'"' {
            BAD
        } else {
            0
        };
        b += 1;
    }
    table
};

/// What one pass over a URI finds.
#[derive(Debug)]
pub(crate) struct UriScan {
    /// Offsets of the delimiters (see [`MARK`]), in order.
    marks: SmallVec<[usize; 16]>,
    /// The text holds a byte that never appears unescaped in a URI.
    pub(crate) bad: bool,
    /// The text holds SP or HTAB.
    pub(crate) wsp: bool,
}

impl UriScan {
    /// Nothing scanned yet.
    pub(crate) fn new() -> UriScan {
        UriScan {
            marks: SmallVec::new(),
            bad: false,
            wsp: false,
        }
    }

    /// Scans `text`; with `stop_at_gt`, up to (not including) the first `>`,
    /// whose offset is returned.
    pub(crate) fn run(&mut self, text: &[u8], stop_at_gt: bool) -> Option<usize> {
        for (i, &b) in text.iter().enumerate() {
            let class = CLASS[usize::from(b)];
            if class == 0 {
                continue;
            }
            if class == MARK {
                self.marks.push(i);
            } else if stop_at_gt && b == b'>' {
                return Some(i);
            } else {
                self.bad = true;
                self.wsp |= class & WSP != 0;
            }
        }
        None
    }

    /// The first delimiter in `from..to` that `want` accepts.
    #[inline]
    pub(crate) fn find(
        &self,
        text: &[u8],
        from: usize,
        to: usize,
        want: impl Fn(u8) -> bool,
    ) -> Option<usize> {
        self.marks
            .iter()
            .copied()
            .skip_while(|&m| m < from)
            .take_while(|&m| m < to)
            .find(|&m| want(text[m]))
    }
}

/// The part of the SIP URI `text` after its scheme, which ends at `rest`,
/// filled into `out` (fresh from [`SipUri::empty`]). Parts share `s`'s
/// buffer; `text` is a slice of it.
pub(crate) fn sip_uri_after_scheme(
    s: &ByteStr,
    text: &str,
    scan: &UriScan,
    rest: usize,
    out: &mut SipUri,
) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    let end = bytes.len();
    // userinfo: '@' appears nowhere else in the grammar, so the first one ends
    // it; the user part may hold ';', '?', ',' and '/' (RFC 3261 §25.1).
    let host_start = match scan.find(bytes, rest, end, |b| b == b'@') {
        Some(at) => {
            let user_end = match scan.find(bytes, rest, at, |b| b == b':') {
                Some(colon) => {
                    out.password = Some(s.slice_ref(&text[colon + 1..at]));
                    colon
                }
                None => at,
            };
            if user_end == rest {
                return Err(uri_err("empty user part"));
            }
            out.user = Some(s.slice_ref(&text[rest..user_end]));
            at + 1
        }
        None => rest,
    };

    let hostport_end = scan
        .find(bytes, host_start, end, |b| b == b';' || b == b'?')
        .unwrap_or(end);
    let (host_text, port_text) = if bytes.get(host_start) == Some(&b'[') {
        let close = scan
            .find(bytes, host_start, hostport_end, |b| b == b']')
            .ok_or_else(|| uri_err("unterminated IPv6 reference"))?;
        let after = &text[close + 1..hostport_end];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(uri_err("unexpected text after IPv6 reference")),
        };
        (&text[host_start..=close], port)
    } else {
        match scan.find(bytes, host_start, hostport_end, |b| b == b':') {
            Some(colon) => (
                &text[host_start..colon],
                Some(&text[colon + 1..hostport_end]),
            ),
            None => (&text[host_start..hostport_end], None),
        }
    };
    out.host = parse_host_str(s, host_text)?;
    out.port = port_text.map(parse_port).transpose()?;

    let query = scan.find(bytes, hostport_end, end, |b| b == b'?');
    let params_end = query.unwrap_or(end);
    if hostport_end < params_end && bytes[hostport_end] == b';' {
        parse_uri_params(s, text, scan, hostport_end + 1, params_end, &mut out.params)?;
    }
    if let Some(q) = query {
        parse_uri_headers(s, text, scan, q + 1, &mut out.headers)?;
    }
    Ok(())
}

/// `name[=value]` pieces separated by `;` in `text[from..to]`, appended to
/// `params`.
pub(crate) fn parse_uri_params(
    src: &ByteStr,
    text: &str,
    scan: &UriScan,
    from: usize,
    to: usize,
    params: &mut Params,
) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    let mut start = from;
    loop {
        let piece_end = scan.find(bytes, start, to, |b| b == b';').unwrap_or(to);
        let (name, value) = match scan.find(bytes, start, piece_end, |b| b == b'=') {
            Some(eq) => {
                if eq + 1 == piece_end {
                    return Err(uri_err("empty URI parameter value"));
                }
                (
                    &text[start..eq],
                    Some(src.slice_ref(&text[eq + 1..piece_end])),
                )
            }
            None => (&text[start..piece_end], None),
        };
        if name.is_empty() {
            return Err(uri_err("empty URI parameter"));
        }
        params.push(Param {
            name: param_name(src, name),
            value,
        });
        if piece_end == to {
            return Ok(());
        }
        start = piece_end + 1;
    }
}

/// `hname=hvalue` pieces separated by `&` in `text[from..]`, appended to
/// `headers`.
fn parse_uri_headers(
    src: &ByteStr,
    text: &str,
    scan: &UriScan,
    from: usize,
    headers: &mut Params,
) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    let end = bytes.len();
    let mut start = from;
    loop {
        let piece_end = scan.find(bytes, start, end, |b| b == b'&').unwrap_or(end);
        let eq = scan
            .find(bytes, start, piece_end, |b| b == b'=')
            .ok_or_else(|| uri_err("URI header without '='"))?;
        if eq == start {
            return Err(uri_err("empty URI header name"));
        }
        headers.push(Param {
            name: src.slice_ref(&text[start..eq]),
            value: Some(src.slice_ref(&text[eq + 1..piece_end])),
        });
        if piece_end == end {
            return Ok(());
        }
        start = piece_end + 1;
    }
}
