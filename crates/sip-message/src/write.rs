//! Serialization without `core::fmt`: every typed value writes its wire form
//! through [`WriteSip::write_to`] into a [`TextSink`] (a `String`, a
//! `BytesMut`, or a `Formatter` when `Display` is used), so there is one
//! implementation of each wire form and the hot path (building and encoding
//! responses) never goes through format strings.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};

use crate::bytestr::ByteStr;

/// A destination for serialized SIP text.
pub trait TextSink {
    /// Appends `s`.
    fn push_str(&mut self, s: &str);

    /// Appends one character.
    fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.push_str(c.encode_utf8(&mut buf));
    }
}

impl TextSink for String {
    #[inline]
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }

    #[inline]
    fn push_char(&mut self, c: char) {
        self.push(c);
    }
}

impl TextSink for Vec<u8> {
    #[inline]
    fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

impl TextSink for BytesMut {
    #[inline]
    fn push_str(&mut self, s: &str) {
        self.put_slice(s.as_bytes());
    }

    #[inline]
    fn push_char(&mut self, c: char) {
        if c.is_ascii() {
            self.put_u8(c as u8);
        } else {
            let mut buf = [0u8; 4];
            self.put_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

/// Counts the bytes that would be written, to size a buffer exactly.
#[derive(Debug, Default)]
struct Measure(usize);

impl TextSink for Measure {
    #[inline]
    fn push_str(&mut self, s: &str) {
        self.0 += s.len();
    }

    #[inline]
    fn push_char(&mut self, c: char) {
        self.0 += c.len_utf8();
    }
}

/// Text gathered on the stack, so that `Display` hands a `Formatter` one
/// string (which `to_string` then allocates once) instead of many pieces.
struct StackText {
    buf: [u8; STACK_TEXT],
    len: usize,
    overflow: bool,
}

/// Longest text [`display`] gathers on the stack.
const STACK_TEXT: usize = 256;

impl TextSink for StackText {
    #[inline]
    fn push_str(&mut self, s: &str) {
        let end = self.len + s.len();
        match self.buf.get_mut(self.len..end) {
            Some(room) => {
                room.copy_from_slice(s.as_bytes());
                self.len = end;
            }
            None => self.overflow = true,
        }
    }

    #[inline]
    fn push_char(&mut self, c: char) {
        match self.buf.get_mut(self.len) {
            Some(slot) if c.is_ascii() => {
                *slot = c as u8;
                self.len += 1;
            }
            _ => {
                let mut utf8 = [0u8; 4];
                self.push_str(c.encode_utf8(&mut utf8));
            }
        }
    }
}

/// Forwards to a `Formatter`, keeping the first error.
struct FmtSink<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    result: fmt::Result,
}

impl TextSink for FmtSink<'_, '_> {
    fn push_str(&mut self, s: &str) {
        if self.result.is_ok() {
            self.result = self.f.write_str(s);
        }
    }

    fn push_char(&mut self, c: char) {
        if self.result.is_ok() {
            self.result = fmt::Write::write_char(self.f, c);
        }
    }
}

/// A value with a SIP wire form (RFC 3261 §25.1 grammar). `Display` of these
/// types prints the same text.
pub trait WriteSip {
    /// Appends the wire form to `out`.
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S);

    /// The wire form in a new [`ByteStr`], allocated once at its exact size.
    fn to_byte_str(&self) -> ByteStr {
        let mut text = String::with_capacity(written_len(self));
        self.write_to(&mut text);
        ByteStr::from(text)
    }
}

/// The number of bytes `value` writes.
pub(crate) fn written_len<T: WriteSip + ?Sized>(value: &T) -> usize {
    let mut len = Measure::default();
    value.write_to(&mut len);
    len.0
}

/// A string made by `write`, allocated once at its exact size.
pub(crate) fn build_byte_str(write: impl Fn(&mut dyn TextSink)) -> ByteStr {
    let mut len = Measure::default();
    write(&mut len);
    let mut text = String::with_capacity(len.0);
    write(&mut text);
    ByteStr::from(text)
}

/// `Display` through [`WriteSip::write_to`]: gathered on the stack and
/// written at once, or piece by piece when longer.
pub(crate) fn display<T: WriteSip + ?Sized>(value: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut text = StackText {
        buf: [0; STACK_TEXT],
        len: 0,
        overflow: false,
    };
    value.write_to(&mut text);
    // Whole strings and characters were copied, so the text is UTF-8.
    if !text.overflow
        && let Ok(s) = std::str::from_utf8(&text.buf[..text.len])
    {
        return f.write_str(s);
    }
    let mut sink = FmtSink { f, result: Ok(()) };
    value.write_to(&mut sink);
    sink.result
}

/// Appends `n` in decimal, without the formatting machinery.
pub fn push_u32<S: TextSink + ?Sized>(out: &mut S, n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push_char(char::from(d));
    }
}

/// Appends `ip` as `IpAddr`'s `Display` prints it (IPv6 without brackets, as
/// in a `received` parameter), without the formatting machinery.
pub fn push_ip<S: TextSink + ?Sized>(out: &mut S, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => push_ipv4(out, a),
        IpAddr::V6(a) => push_ipv6(out, a),
    }
}

/// Appends `a` in dotted-decimal form, as `Ipv4Addr`'s `Display` does.
pub(crate) fn push_ipv4<S: TextSink + ?Sized>(out: &mut S, a: Ipv4Addr) {
    for (i, octet) in a.octets().into_iter().enumerate() {
        if i > 0 {
            out.push_char('.');
        }
        push_u32(out, u32::from(octet));
    }
}

/// Appends `n` in lower-case hexadecimal without leading zeros.
fn push_hex16<S: TextSink + ?Sized>(out: &mut S, n: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for shift in [12u32, 8, 4, 0] {
        let nibble = usize::from((n >> shift) & 0xf);
        if nibble != 0 || started || shift == 0 {
            started = true;
            out.push_char(char::from(HEX[nibble]));
        }
    }
}

/// Appends `a` in the RFC 5952 text form that `Ipv6Addr`'s `Display` prints:
/// lower-case hex, the first longest run of two or more zero groups written
/// as `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d`.
pub(crate) fn push_ipv6<S: TextSink + ?Sized>(out: &mut S, a: Ipv6Addr) {
    if let Some(v4) = a.to_ipv4_mapped() {
        out.push_str("::ffff:");
        push_ipv4(out, v4);
        return;
    }
    let groups = a.segments();
    // The first longest run of zero groups.
    let (mut best_start, mut best_len) = (0, 0);
    let (mut run_start, mut run_len) = (0, 0);
    for (i, &g) in groups.iter().enumerate() {
        if g == 0 {
            if run_len == 0 {
                run_start = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best_start, best_len) = (run_start, run_len);
            }
        } else {
            run_len = 0;
        }
    }
    let push_groups = |out: &mut S, groups: &[u16]| {
        for (i, &g) in groups.iter().enumerate() {
            if i > 0 {
                out.push_char(':');
            }
            push_hex16(out, g);
        }
    };
    if best_len > 1 {
        push_groups(out, &groups[..best_start]);
        out.push_str("::");
        push_groups(out, &groups[best_start + best_len..]);
    } else {
        push_groups(out, &groups);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn text(f: impl Fn(&mut String)) -> String {
        let mut s = String::new();
        f(&mut s);
        s
    }

    /// Long values are written piece by piece, short ones at once: same text.
    #[test]
    fn display_of_long_and_short_values() {
        struct Repeat(usize);
        impl WriteSip for Repeat {
            fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
                for i in 0..self.0 {
                    out.push_str("ab");
                    out.push_char(if i % 2 == 0 { 'é' } else { 'c' });
                }
            }
        }
        impl fmt::Display for Repeat {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                display(self, f)
            }
        }
        for n in [0, 1, 60, 63, 64, 65, 200] {
            let expected: String = (0..n)
                .map(|i| if i % 2 == 0 { "abé" } else { "abc" })
                .collect();
            assert_eq!(Repeat(n).to_string(), expected);
            assert_eq!(Repeat(n).to_byte_str(), expected.as_str());
        }
    }

    #[test]
    fn integers() {
        for n in [0, 7, 10, 99, 100, 5060, 65535, 2_147_483_647, u32::MAX] {
            assert_eq!(text(|s| push_u32(s, n)), n.to_string());
        }
    }

    #[test]
    fn addresses_print_like_the_standard_library() {
        for a in ["0.0.0.0", "192.0.2.1", "255.255.255.255", "10.0.100.9"] {
            let a: Ipv4Addr = a.parse().unwrap();
            assert_eq!(text(|s| push_ipv4(s, a)), a.to_string());
        }
        for a in [
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1:0:0:0:1",
            "2001:db8:1:2:3:4:5:6",
            "0:1:0:1:0:1:0:1",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
            "64:ff9b::192.0.2.33",
            "fe80::abcd:ef01",
        ] {
            let a: Ipv6Addr = a.parse().unwrap();
            assert_eq!(text(|s| push_ipv6(s, a)), a.to_string());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            rng_seed: proptest::test_runner::RngSeed::Fixed(5952),
            ..ProptestConfig::default()
        })]
        #[test]
        fn any_ipv6_prints_like_the_standard_library(
            groups in prop::array::uniform8(prop_oneof![Just(0u16), Just(0xffff), any::<u16>()])
        ) {
            let a = Ipv6Addr::from(groups);
            prop_assert_eq!(text(|s| push_ipv6(s, a)), a.to_string());
        }

        #[test]
        fn any_ipv4_and_integer(octets in any::<[u8; 4]>(), n in any::<u32>()) {
            let a = Ipv4Addr::from(octets);
            prop_assert_eq!(text(|s| push_ipv4(s, a)), a.to_string());
            prop_assert_eq!(text(|s| push_u32(s, n)), n.to_string());
        }
    }
}
