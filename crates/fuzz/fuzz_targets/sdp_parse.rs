//! Fuzz target for the SDP parser and writer.
//!
//! For any input: parsing never panics; a description that parses is written as bytes that
//! parse to the same model and are written again identically; every typed attribute value that
//! parses prints a value that parses to the same typed value (`a=crypto` and `a=fingerprint`
//! among them); an SDES key that decodes is written back as a key that decodes to the same
//! octets.
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz sdp_parse -- -max_total_time=600`.
//! Seeds are in `corpus/sdp_parse/seed-*`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sb_sdp::{Attributes, Crypto, Fingerprint, Fmtp, KeyParam, Rtcp, Rtpmap, Sdp, Ssrc};

fn check_attributes(attributes: &Attributes) {
    for a in attributes.iter() {
        let value = a.value_str();
        if let Ok(r) = Rtpmap::parse(value) {
            assert_eq!(Rtpmap::parse(&r.to_string()), Ok(r));
        }
        if let Ok(f) = Fmtp::parse(value) {
            let printed = f.to_string();
            assert_eq!(Fmtp::parse(&printed), Ok(f));
        }
        if let Ok(r) = Rtcp::parse(value) {
            assert_eq!(Rtcp::parse(&r.to_string()), Ok(r));
        }
        if let Ok(s) = Ssrc::parse(value) {
            assert_eq!(Ssrc::parse(&s.to_string()), Ok(s));
        }
        if let Ok(c) = Crypto::parse(value) {
            let printed = c.to_string();
            assert_eq!(Crypto::parse(&printed), Ok(c.clone()));
            for key in &c.keys {
                // A key that decodes is written (as we write our own) into one that decodes
                // to the same octets.
                if let Ok(octets) = key.decode_key_salt() {
                    let written = format!("inline:{}", KeyParam::encode_key_salt(&octets));
                    let again = KeyParam::parse(&written)
                        .unwrap_or_else(|e| panic!("written key {written:?} does not parse: {e}"));
                    assert_eq!(again.decode_key_salt().as_ref(), Ok(&octets));
                }
            }
        }
        if let Ok(f) = Fingerprint::parse(value) {
            assert_eq!(Fingerprint::parse(&f.to_string()), Ok(f));
            let _ = f.bytes();
        }
    }
    let _ = attributes.direction();
    let _ = attributes.ptime();
    let _ = attributes.candidates().count();
    let _ = attributes.groups().map(|g| g.mids().count()).sum::<usize>();
    let _ = attributes
        .ssrc_groups()
        .map(|g| g.ssrcs().count())
        .sum::<usize>();
    let _ = attributes.setup();
}

fuzz_target!(|data: &[u8]| {
    let Ok(first) = Sdp::parse(data) else {
        return;
    };
    let bytes = first.to_bytes();
    let second = Sdp::parse(&bytes)
        .unwrap_or_else(|e| panic!("written description does not parse ({e}): {bytes:?}"));
    assert_eq!(first, second);
    assert_eq!(second.to_bytes(), bytes);
    check_attributes(&first.attributes);
    for media in &first.media {
        check_attributes(&media.attributes);
        let _ = first.connection_for(media).and_then(|c| c.ip());
        let _ = first.direction_for(media);
        let _ = media.payload_types().count();
    }
});
