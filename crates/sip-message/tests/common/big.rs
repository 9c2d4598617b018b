//! The larger RFC 4475 §3.1.1 messages: multipart MIME (§3.1.1.11) and long
//! values (§3.1.1.7).

use bytes::Bytes;

use super::build;

pub const MULTIPART_HEAD: &[&str] = &[
    "MESSAGE sip:kumiko@example.org SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.11:5060;branch=z9hG4bK-161-5-60-1",
    "Max-Forwards: 70",
    "From: \"Bob\" <sip:bob@example.com>;tag=ldw22z",
    "To: \"Kumiko\" <sip:kumiko@example.org>",
    "Call-ID: mpart01.0iif3kr2ur-ngm@192.0.2.11",
    "CSeq: 1 MESSAGE",
    "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655",
    "Date: Sat, 15 Oct 2005 04:44:56 GMT",
    "User-Agent: SIPimp.org/0.2.5 (curses)",
    "Content-Length: {len}",
];

/// A text part and a binary part; the binary part holds bytes that are not
/// UTF-8, a NUL and an empty line, none of which may confuse the parser.
pub fn multipart_body() -> Vec<u8> {
    let mut body = b"--7a9cbec02ceef655\r\nContent-Type: text/plain\r\n\
        Content-Transfer-Encoding: binary\r\n\r\nHello\r\n--7a9cbec02ceef655\r\n\
        Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        .to_vec();
    body.extend_from_slice(
        b"\x30\x82\x01\xe6\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x00\r\n\r\n\xff\xfe",
    );
    body.extend_from_slice(b"\r\n--7a9cbec02ceef655--\r\n");
    body
}

/// Long values everywhere: a 100-character display name, long URI parameter
/// names and values, a 400-character tag, a long Call-ID, 34 Via values (some
/// comma-separated, some in their own fields), a long extension header.
pub fn long_request() -> Bytes {
    let display = "I".repeat(100);
    let pname = "unknownparamname".repeat(10);
    let pvalue = "unknownvalue".repeat(16) + &"x".repeat(8);
    let tag = "12982982928".repeat(36) + "1298";
    let call_id = format!("longreq.{}@example.com", "x".repeat(400));
    let xname = format!("x-{}", "long-header-name".repeat(20));
    let xvalue = "v".repeat(1000);
    let user = "amazinglylongcallername".repeat(13) + "z";
    let mut lines = vec![
        "INVITE sip:user@example.com SIP/2.0".to_owned(),
        format!("To: \"{display}\" <sip:user@example.com;{pname}={pvalue}>"),
        format!("From: sip:caller@example.net;tag={tag}"),
        format!("Call-ID: {call_id}"),
        "CSeq: 13 INVITE".to_owned(),
        "Max-Forwards: 70".to_owned(),
        format!("{xname}: {xvalue}"),
        format!("Contact: <sip:{user}@host.example.net>"),
    ];
    let vias: Vec<String> = (0..34)
        .map(|i| format!("SIP/2.0/TCP sip{i}.example.com:5060;branch=z9hG4bK{i:03}abcdef"))
        .collect();
    // First 10 one per field, then groups of three joined by commas.
    for via in &vias[..10] {
        lines.push(format!("Via: {via}"));
    }
    for group in vias[10..].chunks(3) {
        lines.push(format!("v: {}", group.join(" , ")));
    }
    lines.push("Content-Length: 0".to_owned());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    build(&refs, b"")
}
