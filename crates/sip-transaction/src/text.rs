//! Writing numbers and addresses into byte buffers without the formatting
//! machinery (they are written for every inbound request).

use std::io::Write as _;
use std::net::IpAddr;

/// Appends `n` in decimal.
pub(crate) fn push_u16(out: &mut Vec<u8>, n: u16) {
    let mut buf = [0u8; 5];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends an address as in a `received` parameter: dotted IPv4, or IPv6 in
/// its canonical text form without brackets.
pub(crate) fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            for (i, octet) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_u16(out, u16::from(octet));
            }
        }
        IpAddr::V6(a) => {
            let _ = write!(out, "{a}");
        }
    }
}

/// Appends `s` lower-cased (ASCII).
pub(crate) fn push_lower(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(s.iter().map(u8::to_ascii_lowercase));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses() {
        let mut out = Vec::new();
        for n in [0u16, 7, 10, 65535] {
            out.clear();
            push_u16(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        for ip in [
            "0.10.200.255",
            "192.0.2.1",
            "2001:db8::10",
            "::ffff:192.0.2.1",
        ] {
            out.clear();
            push_ip(&mut out, ip.parse().expect("ip"));
            assert_eq!(out, ip.as_bytes());
        }
        out.clear();
        push_lower(&mut out, b"z9hG4bK.Example");
        assert_eq!(out, b"z9hg4bk.example");
    }
}
