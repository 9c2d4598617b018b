//! The parser: RFC 8866 §5 line grammar `<type>=<value>`, tolerant of LF-only line ends,
//! trailing whitespace, blank lines and bytes that are not UTF-8 (replaced), strict about the
//! lines the gateway interprets.

use std::borrow::Cow;

use crate::error::SdpError;
use crate::model::{Attribute, Attributes, Bandwidth, Connection, Line, Media, Origin, Sdp};

impl Sdp {
    /// Parses a session description (CRLF or LF line ends).
    ///
    /// The first line must be `v=0` and an `o=` line must be present; a missing `s=` reads as
    /// an empty session name. Lines with a type letter the model does not interpret are kept
    /// ([`Sdp::lines`], [`Media::lines`]). Errors name the line (counting from 1) and why.
    pub fn parse(input: &[u8]) -> Result<Sdp, SdpError> {
        let mut builder = Builder::default();
        // Valid UTF-8 (the common case) is checked once; otherwise line by line, replacing
        // what is not.
        let text = match std::str::from_utf8(input) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => Cow::Owned(
                input
                    .split(|b| *b == b'\n')
                    .map(String::from_utf8_lossy)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        };
        for (index, raw) in text.split('\n').enumerate() {
            let line = raw.trim_end();
            if line.is_empty() {
                continue;
            }
            builder.line(line).map_err(|reason| SdpError::Line {
                line: index + 1,
                reason,
            })?;
        }
        builder.finish()
    }
}

#[derive(Default)]
struct Builder {
    version_seen: bool,
    origin: Option<Origin>,
    session_name: Option<String>,
    lines: Vec<Line>,
    connection: Option<Connection>,
    bandwidths: Vec<Bandwidth>,
    attributes: Attributes,
    media: Vec<Media>,
}

type LineResult = Result<(), &'static str>;

impl Builder {
    fn line(&mut self, line: &str) -> LineResult {
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' {
            return Err("expected <type>=<value>");
        }
        if !bytes[0].is_ascii_alphabetic() {
            return Err("the type must be a letter");
        }
        let kind = char::from(bytes[0]);
        let value = &line[2..];
        if !self.version_seen {
            if kind != 'v' {
                return Err("the first line must be v=0");
            }
            if value.trim() != "0" {
                return Err("unsupported SDP version (only v=0 exists)");
            }
            self.version_seen = true;
            return Ok(());
        }
        match kind {
            'v' => Err("more than one v= line"),
            'm' => {
                self.media.push(parse_media(value)?);
                Ok(())
            }
            'o' | 's' if !self.media.is_empty() => Err("session-level line inside a media section"),
            'o' if self.origin.is_some() => Err("more than one o= line"),
            'o' => {
                self.origin = Some(parse_origin(value)?);
                Ok(())
            }
            's' if self.session_name.is_some() => Err("more than one s= line"),
            's' => {
                self.session_name = Some(value.to_owned());
                Ok(())
            }
            'c' => {
                let connection = parse_connection(value)?;
                match self.media.last_mut() {
                    Some(media) => media.connections.push(connection),
                    None if self.connection.is_some() => {
                        return Err("more than one session-level c= line");
                    }
                    None => self.connection = Some(connection),
                }
                Ok(())
            }
            'b' => {
                let bandwidth = parse_bandwidth(value)?;
                match self.media.last_mut() {
                    Some(media) => media.bandwidths.push(bandwidth),
                    None => self.bandwidths.push(bandwidth),
                }
                Ok(())
            }
            'a' => {
                let attribute = parse_attribute(value);
                match self.media.last_mut() {
                    Some(media) => media.attributes.push(attribute),
                    None => self.attributes.push(attribute),
                }
                Ok(())
            }
            _ => {
                let kept = Line::new(kind, value);
                match self.media.last_mut() {
                    Some(media) => media.lines.push(kept),
                    None => self.lines.push(kept),
                }
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<Sdp, SdpError> {
        if !self.version_seen {
            return Err(SdpError::Missing { kind: 'v' });
        }
        let origin = self.origin.ok_or(SdpError::Missing { kind: 'o' })?;
        let mut lines = self.lines;
        // The writer groups kept lines around c=/b=; the model holds them in that grouping so
        // that writing and reading again gives the same model.
        lines.sort_by_key(|l| !l.before_connection_in_session());
        let mut media = self.media;
        for m in &mut media {
            m.lines.sort_by_key(|l| !l.before_connection_in_media());
        }
        Ok(Sdp {
            origin,
            session_name: self.session_name.unwrap_or_default(),
            lines,
            connection: self.connection,
            bandwidths: self.bandwidths,
            attributes: self.attributes,
            media,
        })
    }
}

fn parse_origin(value: &str) -> Result<Origin, &'static str> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    if fields.len() < 6 {
        return Err("o= needs <username> <sess-id> <sess-version> <nettype> <addrtype> <address>");
    }
    // A user name with spaces (seen in the wild) takes every field before the last five.
    let split = fields.len() - 5;
    let username = if split == 1 {
        Cow::Borrowed(fields[0])
    } else {
        Cow::Owned(fields[..split].join(" "))
    };
    Ok(Origin {
        username: username.into_owned(),
        session_id: fields[split].to_owned(),
        session_version: fields[split + 1].to_owned(),
        net_type: fields[split + 2].to_owned(),
        addr_type: fields[split + 3].to_owned(),
        address: fields[split + 4].to_owned(),
    })
}

fn parse_connection(value: &str) -> Result<Connection, &'static str> {
    let mut fields = value.split_ascii_whitespace();
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(net_type), Some(addr_type), Some(address), None) => Ok(Connection {
            net_type: net_type.to_owned(),
            addr_type: addr_type.to_owned(),
            address: address.to_owned(),
        }),
        _ => Err("c= needs <nettype> <addrtype> <connection-address>"),
    }
}

fn parse_bandwidth(value: &str) -> Result<Bandwidth, &'static str> {
    let (kind, amount) = value
        .split_once(':')
        .ok_or("b= needs <bwtype>:<bandwidth>")?;
    let value = amount
        .trim()
        .parse()
        .map_err(|_| "b= bandwidth is not a number")?;
    Ok(Bandwidth {
        kind: kind.to_owned(),
        value,
    })
}

fn parse_media(value: &str) -> Result<Media, &'static str> {
    let mut fields = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(proto)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err("m= needs <media> <port> <proto> <fmt> ...");
    };
    let (port, port_count) = match port.split_once('/') {
        Some((port, count)) => (
            port,
            Some(
                count
                    .parse()
                    .map_err(|_| "m= number of ports is not a number")?,
            ),
        ),
        None => (port, None),
    };
    let port = port
        .parse()
        .map_err(|_| "m= port is not a number from 0 to 65535")?;
    let mut section = Media::new(media, port, proto);
    section.port_count = port_count;
    section.formats = fields.map(str::to_owned).collect();
    Ok(section)
}

fn parse_attribute(value: &str) -> Attribute {
    match value.split_once(':') {
        Some((name, value)) => Attribute::new(name, value),
        None => Attribute::flag(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_description_with_lf_only_and_trailing_spaces() {
        let sdp = Sdp::parse(
            b"v=0\no=- 1 2 IN IP4 192.0.2.1  \ns=\nc=IN IP4 192.0.2.1\nt=0 0\n\
              m=audio 49170 RTP/AVP 0 8\na=rtpmap:0 PCMU/8000\t\na=sendrecv\n\n",
        )
        .unwrap();
        assert_eq!(sdp.origin.address, "192.0.2.1");
        assert_eq!(sdp.session_name, "");
        assert_eq!(sdp.lines, vec![Line::new('t', "0 0")]);
        let m = &sdp.media[0];
        assert_eq!((m.port, m.proto.as_str()), (49170, "RTP/AVP"));
        assert_eq!(m.formats, vec!["0", "8"]);
        assert_eq!(m.attributes[0], Attribute::new("rtpmap", "0 PCMU/8000"));
        assert_eq!(m.attributes[1], Attribute::flag("sendrecv"));
    }

    #[test]
    fn errors_name_the_line() {
        let err = |input: &[u8]| Sdp::parse(input).unwrap_err();
        assert_eq!(err(b""), SdpError::Missing { kind: 'v' });
        assert_eq!(err(b"v=0\r\ns=x\r\n"), SdpError::Missing { kind: 'o' });
        assert_eq!(
            err(b"o=- 1 1 IN IP4 192.0.2.1\r\n"),
            SdpError::Line {
                line: 1,
                reason: "the first line must be v=0"
            }
        );
        assert_eq!(
            err(b"v=1\r\n"),
            SdpError::Line {
                line: 1,
                reason: "unsupported SDP version (only v=0 exists)"
            }
        );
        assert_eq!(
            err(b"v=0\r\no=- 1 1 IN IP4\r\n"),
            SdpError::Line {
                line: 2,
                reason: "o= needs <username> <sess-id> <sess-version> <nettype> <addrtype> <address>"
            }
        );
        let base = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n\r\n";
        let with = |extra: &str| err(format!("{base}{extra}").as_bytes());
        // Line 4 is blank; errors count it.
        assert_eq!(
            with("m=audio 70000 RTP/AVP 0\r\n"),
            SdpError::Line {
                line: 5,
                reason: "m= port is not a number from 0 to 65535"
            }
        );
        assert_eq!(
            with("m=audio 5004/x RTP/AVP 0\r\n"),
            SdpError::Line {
                line: 5,
                reason: "m= number of ports is not a number"
            }
        );
        assert_eq!(
            with("m=audio 5004\r\n"),
            SdpError::Line {
                line: 5,
                reason: "m= needs <media> <port> <proto> <fmt> ..."
            }
        );
        assert_eq!(
            with("c=IN IP4\r\n"),
            SdpError::Line {
                line: 5,
                reason: "c= needs <nettype> <addrtype> <connection-address>"
            }
        );
        assert_eq!(
            with("c=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.2\r\n"),
            SdpError::Line {
                line: 6,
                reason: "more than one session-level c= line"
            }
        );
        assert_eq!(
            with("b=AS\r\n"),
            SdpError::Line {
                line: 5,
                reason: "b= needs <bwtype>:<bandwidth>"
            }
        );
        assert_eq!(
            with("b=AS:lots\r\n"),
            SdpError::Line {
                line: 5,
                reason: "b= bandwidth is not a number"
            }
        );
        assert_eq!(
            with("a rtpmap\r\n"),
            SdpError::Line {
                line: 5,
                reason: "expected <type>=<value>"
            }
        );
        assert_eq!(
            with("1=x\r\n"),
            SdpError::Line {
                line: 5,
                reason: "the type must be a letter"
            }
        );
        assert_eq!(
            with("m=audio 0 RTP/AVP 0\r\ns=late\r\n"),
            SdpError::Line {
                line: 6,
                reason: "session-level line inside a media section"
            }
        );
        assert_eq!(
            with("o=- 2 2 IN IP4 192.0.2.1\r\n"),
            SdpError::Line {
                line: 5,
                reason: "more than one o= line"
            }
        );
        assert_eq!(
            with("v=0\r\n"),
            SdpError::Line {
                line: 5,
                reason: "more than one v= line"
            }
        );
    }

    #[test]
    fn levels_and_unknown_lines() {
        let sdp = Sdp::parse(
            b"v=0\r\no=alice 2890844526 2890844526 IN IP4 198.51.100.1\r\ns=Call\r\n\
              i=A call\r\nt=0 0\r\nx=vendor line\r\nb=AS:256\r\na=tool:x\r\n\
              m=audio 49170/2 RTP/AVP 0\r\ni=voice\r\nc=IN IP4 192.0.2.10\r\nb=TIAS:64000\r\n\
              y=media vendor line\r\na=ptime:20\r\nm=video 0 RTP/AVP 31\r\n",
        )
        .unwrap();
        assert_eq!(
            sdp.lines,
            vec![
                Line::new('i', "A call"),
                Line::new('t', "0 0"),
                Line::new('x', "vendor line")
            ]
        );
        assert_eq!(sdp.bandwidths[0].value, 256);
        assert_eq!(sdp.attributes.value("tool"), Some("x"));
        let audio = &sdp.media[0];
        assert_eq!(audio.port_count, Some(2));
        assert_eq!(
            audio.lines,
            vec![Line::new('i', "voice"), Line::new('y', "media vendor line")]
        );
        assert_eq!(audio.connections[0].address, "192.0.2.10");
        assert_eq!(audio.bandwidths[0].kind, "TIAS");
        assert_eq!(sdp.media[1].media, "video");
        assert!(sdp.media[1].attributes.is_empty());
        assert_eq!(sdp.first_audio().map(|(i, _)| i), Some(0));
    }

    #[test]
    fn tolerated_oddities() {
        // A user name with spaces, a non-UTF-8 session name, a declined m= line without
        // formats, an attribute with an empty value.
        let sdp = Sdp::parse(
            b"v=0\r\no=Some Phone 1 1 IN IP4 192.0.2.1\r\ns=\xe9t\xe9\r\nt=0 0\r\n\
              m=video 0 RTP/AVP\r\na=foo:\r\n",
        )
        .unwrap();
        assert_eq!(sdp.origin.username, "Some Phone");
        assert_eq!(sdp.origin.session_id, "1");
        assert_eq!(sdp.session_name, "\u{fffd}t\u{fffd}");
        assert!(sdp.media[0].formats.is_empty());
        assert_eq!(sdp.media[0].attributes[0].value.as_deref(), Some(""));
    }
}
