//! Writing lower-cased text into byte buffers (transaction keys are built for
//! every inbound message). Numbers and addresses: `sb_sip_message::push_u32`
//! and `push_ip`.

/// Appends `s` lower-cased (ASCII).
pub(crate) fn push_lower(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(s.iter().map(u8::to_ascii_lowercase));
}

#[cfg(test)]
mod tests {
    use sb_sip_message::{push_ip, push_u32};

    use super::*;

    #[test]
    fn numbers_and_addresses() {
        let mut out = Vec::new();
        for n in [0u16, 7, 10, 65535] {
            out.clear();
            push_u32(&mut out, u32::from(n));
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
