//! Fuzz target for the typed SIP header values: Via (RFC 3261 §20.42, RFC 3581), name-addr
//! (From, To; RFC 3261 §20.20, §20.39), Contact (RFC 3261 §20.10, RFC 5626) and CSeq
//! (RFC 3261 §20.16).
//!
//! Input: one octet choosing the grammar, then the header value. For any input: parsing never
//! panics; a value that parses prints (the same through `Display` and `WriteSip`) a form that
//! parses to the same value; the accessors never panic; a Via stamped with a source address
//! (RFC 3261 §18.2.1) still prints and parses, and reports that address.
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz sip_header_value -- -max_total_time=600`.
//! Seeds are in `corpus/sip_header_value/seed-*`.

#![no_main]

use std::fmt::{Debug, Display};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use sb_sip_message::{ByteStr, CSeq, Contact, NameAddr, ParseError, Via, WriteSip};

/// Prints `value`, parses the print with `parse` and expects `value` back.
fn reparse<T>(value: &T, parse: fn(&ByteStr) -> Result<T, ParseError>)
where
    T: WriteSip + Display + Debug + PartialEq,
{
    let printed = value.to_string();
    assert_eq!(
        value.to_byte_str(),
        printed.as_str(),
        "WriteSip and Display differ"
    );
    let again = parse(&printed.as_str().into())
        .unwrap_or_else(|e| panic!("printed value {printed:?} does not parse: {e}"));
    assert_eq!(
        &again, value,
        "printed value {printed:?} parses differently"
    );
}

fn check_name_addr(addr: &NameAddr) {
    reparse(addr, NameAddr::parse);
    assert!(addr.uri.equivalent(&addr.uri));
    let _ = (addr.tag(), addr.expires(), addr.q_millis());
    let _ = (addr.sip_instance(), addr.reg_id());
    if let Some(sip) = addr.uri.as_sip() {
        let _ = (sip.aor(), sip.user_unescaped(), sip.transport_param());
    }
}

fn check_via(via: &Via, source: &[u8]) {
    reparse(via, Via::parse);
    let _ = (via.transport(), via.branch(), via.received(), via.rport());
    // The source address of the datagram, from the last octets of the input.
    let ip = match source {
        [a, b, ..] if a & 1 == 0 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, *b)),
        [_, b, ..] => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(*b))),
        _ => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
    };
    let port = match source {
        [.., p, q] => u16::from_be_bytes([*p, *q]),
        _ => 5060,
    };
    let mut stamped = via.clone();
    stamped.stamp_source(ip, port);
    reparse(&stamped, Via::parse);
    let asked_rport = via.rport().is_some();
    if asked_rport {
        assert_eq!(stamped.rport(), Some(Some(port)), "rport not filled in");
    }
    if asked_rport || via.host.ip() != Some(ip) {
        assert_eq!(stamped.received(), Some(ip), "received not stamped");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let value: ByteStr = text.into();
    match which % 4 {
        0 => {
            if let Ok(via) = Via::parse(&value) {
                check_via(
                    &via,
                    rest.get(rest.len().saturating_sub(3)..).unwrap_or_default(),
                );
            }
        }
        1 => {
            if let Ok(addr) = NameAddr::parse(&value) {
                check_name_addr(&addr);
            }
        }
        2 => {
            if let Ok(contact) = Contact::parse(&value) {
                reparse(&contact, Contact::parse);
                match &contact {
                    Contact::Addr(addr) => check_name_addr(addr),
                    Contact::Star => assert_eq!(value.trim(), "*"),
                }
            }
        }
        _ => {
            if let Ok(cseq) = CSeq::parse(&value) {
                reparse(&cseq, CSeq::parse);
            }
        }
    }
});
