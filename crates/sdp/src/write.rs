//! The writer: RFC 8866 §5 line order, CRLF line ends.

use std::fmt::{self, Write};

use crate::model::{Attribute, Bandwidth, Connection, Line, Media, Sdp};

impl Sdp {
    /// Writes the description with CRLF line ends, lines in the order of RFC 8866 §5:
    /// `v o s [i u e p] c b [t r z k …] a`, then each media section `m [i] c b […] a`.
    pub fn write_to<W: Write>(&self, out: &mut W) -> fmt::Result {
        let o = &self.origin;
        write!(
            out,
            "v=0\r\no={} {} {} {} {} {}\r\ns={}\r\n",
            o.username,
            o.session_id,
            o.session_version,
            o.net_type,
            o.addr_type,
            o.address,
            self.session_name
        )?;
        write_lines(
            out,
            self.lines
                .iter()
                .filter(|l| l.before_connection_in_session()),
        )?;
        if let Some(c) = &self.connection {
            write_connection(out, c)?;
        }
        write_bandwidths(out, &self.bandwidths)?;
        write_lines(
            out,
            self.lines
                .iter()
                .filter(|l| !l.before_connection_in_session()),
        )?;
        write_attributes(out, &self.attributes)?;
        for media in &self.media {
            write_media(out, media)?;
        }
        Ok(())
    }

    /// The description as bytes (CRLF line ends).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.estimated_len());
        self.write_to(&mut out)
            .expect("writing to a String cannot fail");
        out.into_bytes()
    }

    /// A rough size of the written description, to allocate once.
    fn estimated_len(&self) -> usize {
        let attributes = |list: &[Attribute]| {
            list.iter()
                .map(|a| a.name.len() + a.value.as_ref().map_or(0, String::len) + 5)
                .sum::<usize>()
        };
        128 + attributes(&self.attributes)
            + self
                .media
                .iter()
                .map(|m| 64 + m.formats.len() * 4 + attributes(&m.attributes))
                .sum::<usize>()
    }
}

impl fmt::Display for Sdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

fn write_media<W: Write>(out: &mut W, m: &Media) -> fmt::Result {
    write!(out, "m={} {}", m.media, m.port)?;
    if let Some(count) = m.port_count {
        write!(out, "/{count}")?;
    }
    write!(out, " {}", m.proto)?;
    for format in &m.formats {
        write!(out, " {format}")?;
    }
    out.write_str("\r\n")?;
    write_lines(
        out,
        m.lines.iter().filter(|l| l.before_connection_in_media()),
    )?;
    for c in &m.connections {
        write_connection(out, c)?;
    }
    write_bandwidths(out, &m.bandwidths)?;
    write_lines(
        out,
        m.lines.iter().filter(|l| !l.before_connection_in_media()),
    )?;
    write_attributes(out, &m.attributes)
}

fn write_lines<'a, W: Write>(out: &mut W, lines: impl Iterator<Item = &'a Line>) -> fmt::Result {
    for line in lines {
        write!(out, "{}={}\r\n", line.kind, line.value)?;
    }
    Ok(())
}

fn write_connection<W: Write>(out: &mut W, c: &Connection) -> fmt::Result {
    write!(out, "c={} {} {}\r\n", c.net_type, c.addr_type, c.address)
}

fn write_bandwidths<W: Write>(out: &mut W, list: &[Bandwidth]) -> fmt::Result {
    for b in list {
        write!(out, "b={}:{}\r\n", b.kind, b.value)?;
    }
    Ok(())
}

fn write_attributes<W: Write>(out: &mut W, list: &[Attribute]) -> fmt::Result {
    for a in list {
        out.write_str("a=")?;
        out.write_str(&a.name)?;
        if let Some(value) = &a.value {
            out.write_char(':')?;
            out.write_str(value)?;
        }
        out.write_str("\r\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::model::{Attribute, Origin};

    #[test]
    fn built_description_in_rfc_order() {
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5));
        let mut sdp = Sdp::new(Origin::new(42, 1, ip), "-");
        sdp.connection = Some(Connection::new(ip));
        sdp.lines.insert(0, Line::new('i', "info"));
        let mut audio = Media::new("audio", 40000, "RTP/AVP");
        audio.formats = vec!["0".into(), "101".into()];
        audio
            .attributes
            .push(Attribute::new("rtpmap", "0 PCMU/8000"));
        audio.attributes.push(Attribute::flag("sendrecv"));
        sdp.media.push(audio);
        let text = String::from_utf8(sdp.to_bytes()).unwrap();
        assert_eq!(
            text,
            "v=0\r\no=- 42 1 IN IP4 192.0.2.5\r\ns=-\r\ni=info\r\nc=IN IP4 192.0.2.5\r\n\
             t=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        );
        assert_eq!(sdp.to_string(), text);
        assert_eq!(Sdp::parse(text.as_bytes()).unwrap(), sdp);
    }

    #[test]
    fn ipv6_connection() {
        let ip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7));
        let c = Connection::new(ip);
        assert_eq!(
            (c.addr_type.as_str(), c.address.as_str()),
            ("IP6", "2001:db8::7")
        );
        assert_eq!(c.ip(), Some(ip));
        let multicast = Connection {
            net_type: "IN".into(),
            addr_type: "IP4".into(),
            address: "233.252.0.1/127".into(),
        };
        assert_eq!(
            multicast.ip(),
            Some(IpAddr::V4(Ipv4Addr::new(233, 252, 0, 1)))
        );
    }
}
