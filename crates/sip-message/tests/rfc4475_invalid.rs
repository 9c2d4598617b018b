//! RFC 4475 §3.1.2: invalid messages. Each message is written from the RFC's
//! description of the case; each must be refused the way the RFC says an
//! element should: by the parser, or by request/response validation, with
//! the status code a server would answer with.

mod common;

use bytes::Bytes;
use common::build;
use sb_sip_message::{
    HeaderName, Message, Method, ParseError, salvage_headers, validate_request, validate_response,
};

/// Where the message must be refused.
enum Refusal {
    /// `Message::parse` fails; requests still yield headers for a 400.
    Parse(fn(&ParseError) -> bool),
    /// Parsing succeeds; validation fails.
    Validate(fn(&ParseError) -> bool),
    /// RFC 4475 lets an element that does not use the broken field accept
    /// the message.
    Tolerated,
}

struct Case {
    name: &'static str,
    section: &'static str,
    message: fn() -> Bytes,
    refusal: Refusal,
    /// The status a server answers with (0 for a response, which is dropped).
    status: u16,
}

/// The usual header block of a request, with the given extra lines.
fn options(start: &str, extra: &[&str]) -> Bytes {
    let mut lines = vec![
        start,
        "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdju43234",
        "Max-Forwards: 70",
        "From: <sip:caller@example.net>;tag=3413an89KU",
        "Call-ID: invalid.0ha0isndaksdj@192.0.2.1",
    ];
    lines.extend_from_slice(extra);
    build(&lines, b"")
}

fn is_header(err: &ParseError, name: &str) -> bool {
    matches!(err, ParseError::Header { name: n, .. } if n == name)
}

const CASES: &[Case] = &[
    Case {
        name: "badinv01",
        section: "3.1.2.1",
        message: || {
            build(
                &[
                    "INVITE sip:user@example.com SIP/2.0",
                    "To: sip:j.user@example.com",
                    "From: sip:caller@example.net;tag=134161461246",
                    "Max-Forwards: 7",
                    "Call-ID: badinv01.0ha0isndaksdjasdf3234nas",
                    "CSeq: 8 INVITE",
                    "Via: SIP/2.0/UDP 192.0.2.15;;,;,,",
                    "Contact: \"Joe\" <sip:joe@example.org>;;;;",
                    "Content-Type: application/sdp",
                    "Content-Length: 0",
                ],
                b"",
            )
        },
        refusal: Refusal::Validate(|e| is_header(e, "Via")),
        status: 400,
    },
    Case {
        name: "clerr",
        section: "3.1.2.2",
        message: || {
            build(
                &[
                    "INVITE sip:user@example.com SIP/2.0",
                    "Max-Forwards: 80",
                    "To: sip:j.user@example.com",
                    "From: sip:caller@example.net;tag=93942939o2",
                    "Contact: <sip:caller@hungry.example.net>",
                    "Call-ID: clerr.0ha0isndaksdjweiafasdk3",
                    "CSeq: 8 INVITE",
                    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523",
                    "Content-Type: application/sdp",
                    "Content-Length: 9999",
                ],
                b"v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.155\r\ns=-\r\n",
            )
        },
        refusal: Refusal::Parse(|e| {
            matches!(
                e,
                ParseError::ContentLength {
                    declared: 9999,
                    available: 55
                }
            )
        }),
        status: 400,
    },
    Case {
        name: "ncl",
        section: "3.1.2.3",
        message: || {
            build(
                &[
                    "INVITE sip:user@example.com SIP/2.0",
                    "Max-Forwards: 254",
                    "To: sip:j.user@example.com",
                    "From: sip:caller@example.net;tag=32394234",
                    "Call-ID: ncl.0ha0isndaksdj2193423r542w35",
                    "CSeq: 0 INVITE",
                    "Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw",
                    "Contact: <sip:caller@example53.example.net>",
                    "Content-Type: application/sdp",
                    "Content-Length: -999",
                ],
                b"v=0\r\ns=-\r\n",
            )
        },
        refusal: Refusal::Parse(|e| is_header(e, "Content-Length")),
        status: 400,
    },
    Case {
        name: "scalar02",
        section: "3.1.2.4",
        message: || {
            let expires = format!("Expires: 1{}", "0".repeat(100));
            build(
                &[
                    "REGISTER sip:example.com SIP/2.0",
                    "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3",
                    "To: <sip:user@example.com>",
                    "From: <sip:user@example.com>;tag=239232jh3",
                    "CSeq: 36893488147419103232 REGISTER",
                    "Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32",
                    "Max-Forwards: 300",
                    &expires,
                    "Contact: <sip:user@host129.example.com>;expires=280297596632815",
                    "Content-Length: 0",
                ],
                b"",
            )
        },
        // The CSeq makes it a 400; the other overlarge values alone could be
        // treated as absent.
        refusal: Refusal::Validate(|e| is_header(e, "CSeq")),
        status: 400,
    },
    Case {
        name: "scalarlg",
        section: "3.1.2.5",
        message: || {
            build(
                &[
                    "SIP/2.0 503 Service Unavailable",
                    "Via: SIP/2.0/TCP host129.example.com;branch=zzz;received=192.0.2.129",
                    "To: <sip:user@example.com>",
                    "From: <sip:other@example.net>;tag=2easdjfejw",
                    "CSeq: 9292394834772304023312 OPTIONS",
                    "Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r",
                    "Retry-After: 949302838503028349304023988",
                    "Warning: 1812 overture \"In Progress\"",
                    "Content-Length: 0",
                ],
                b"",
            )
        },
        refusal: Refusal::Validate(|e| is_header(e, "CSeq")),
        status: 0,
    },
    Case {
        name: "quotbal",
        section: "3.1.2.6",
        message: || {
            options(
                "INVITE sip:user@example.com SIP/2.0",
                &[
                    "To: \"Mr. J. User <sip:j.user@example.com>",
                    "CSeq: 8 INVITE",
                ],
            )
        },
        refusal: Refusal::Validate(|e| is_header(e, "To")),
        status: 400,
    },
    Case {
        name: "ltgtruri",
        section: "3.1.2.7",
        message: || {
            options(
                "INVITE <sip:user@example.com> SIP/2.0",
                &["To: sip:user@example.com", "CSeq: 1 INVITE"],
            )
        },
        refusal: Refusal::Parse(|e| matches!(e, ParseError::Uri { .. })),
        status: 400,
    },
    Case {
        name: "lwsruri",
        section: "3.1.2.8",
        message: || {
            options(
                "INVITE sip:user@example.com; lr SIP/2.0",
                &[
                    "To: sip:user@example.com;tag=3xfe-9921883-z9f",
                    "CSeq: 1 INVITE",
                ],
            )
        },
        refusal: Refusal::Parse(|e| matches!(e, ParseError::StartLine { .. })),
        status: 400,
    },
    Case {
        name: "lwsstart",
        section: "3.1.2.9",
        message: || {
            options(
                "INVITE  sip:user@example.com  SIP/2.0",
                &["To: sip:user@example.com", "CSeq: 1 INVITE"],
            )
        },
        refusal: Refusal::Parse(|e| matches!(e, ParseError::StartLine { .. })),
        status: 400,
    },
    Case {
        name: "trws",
        section: "3.1.2.10",
        message: || {
            options(
                "OPTIONS sip:remote-target@example.com SIP/2.0  ",
                &["To: <sip:remote-target@example.com>", "CSeq: 1 OPTIONS"],
            )
        },
        refusal: Refusal::Parse(|e| matches!(e, ParseError::StartLine { .. })),
        status: 400,
    },
    Case {
        name: "escruri",
        section: "3.1.2.11",
        message: || {
            options(
                "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0",
                &["To: sip:user@example.com", "CSeq: 1 INVITE"],
            )
        },
        refusal: Refusal::Validate(|e| matches!(e, ParseError::StartLine { .. })),
        status: 400,
    },
    Case {
        name: "baddate",
        section: "3.1.2.12",
        message: || {
            options(
                "INVITE sip:user@example.com SIP/2.0",
                &[
                    "To: sip:user@example.com",
                    "CSeq: 1 INVITE",
                    "Date: Fri, 01 Jan 2010 16:00:00 EST",
                ],
            )
        },
        refusal: Refusal::Tolerated,
        status: 0,
    },
    Case {
        name: "regbadct",
        section: "3.1.2.13",
        message: || {
            build(
                &[
                    "REGISTER sip:example.com SIP/2.0",
                    "To: sip:user@example.com?Route=%3Csip:sip.example.com%3E",
                    "From: sip:user@example.com;tag=998332",
                    "Max-Forwards: 70",
                    "Call-ID: regbadct.k345asrl3fdbv@192.0.2.1",
                    "CSeq: 1 REGISTER",
                    "Via: SIP/2.0/UDP 192.0.2.133:5060;branch=z9hG4bKkdjuw",
                    "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E",
                    "l: 0",
                ],
                b"",
            )
        },
        refusal: Refusal::Validate(|e| is_header(e, "To")),
        status: 400,
    },
    Case {
        name: "badaspec",
        section: "3.1.2.14",
        message: || {
            options(
                "OPTIONS sip:user@example.org SIP/2.0",
                &[
                    "To: \"Watson, Thomas\" < sip:t.watson@example.org >",
                    "Accept: application/sdp",
                    "CSeq: 3923239 OPTIONS",
                ],
            )
        },
        refusal: Refusal::Validate(|e| is_header(e, "To")),
        status: 400,
    },
    Case {
        name: "baddn",
        section: "3.1.2.15",
        message: || {
            build(
                &[
                    "OPTIONS sip:t.watson@example.org SIP/2.0",
                    "Via: SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw",
                    "Max-Forwards: 70",
                    "From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
                    "To:      Watson, Thomas <sip:t.watson@example.org>",
                    "Call-ID: baddn.31415@c.example.com",
                    "Accept: application/sdp",
                    "CSeq: 3923239 OPTIONS",
                    "l: 0",
                ],
                b"",
            )
        },
        refusal: Refusal::Validate(|e| is_header(e, "To")),
        status: 400,
    },
    Case {
        name: "badvers",
        section: "3.1.2.16",
        message: || {
            options(
                "OPTIONS sip:t.watson@example.org SIP/7.0",
                &["To: <sip:t.watson@example.org>", "CSeq: 1 OPTIONS"],
            )
        },
        refusal: Refusal::Parse(|e| *e == ParseError::Version),
        status: 505,
    },
    Case {
        name: "mismatch01",
        section: "3.1.2.17",
        message: || {
            options(
                "OPTIONS sip:user@example.com SIP/2.0",
                &["To: sip:j.user@example.com", "CSeq: 8 INVITE"],
            )
        },
        refusal: Refusal::Validate(|e| {
            matches!(
                e,
                ParseError::CSeqMethod {
                    request: Method::Options,
                    cseq: Method::Invite
                }
            )
        }),
        status: 400,
    },
    Case {
        name: "mismatch02",
        section: "3.1.2.18",
        message: || {
            options(
                "NEWMETHOD sip:user@example.com SIP/2.0",
                &["To: sip:j.user@example.com", "CSeq: 8 INVITE"],
            )
        },
        refusal: Refusal::Validate(
            |e| matches!(e, ParseError::CSeqMethod { request: Method::Extension(m), .. } if m == "NEWMETHOD"),
        ),
        status: 400,
    },
    Case {
        name: "bigcode",
        section: "3.1.2.19",
        message: || {
            build(
                &[
                    "SIP/2.0 4294967301 better not break the receiver",
                    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
                    "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i",
                    "CSeq: 353494 INVITE",
                    "From: <sip:user@example.com>;tag=39ansfi3",
                    "To: <sip:user@example.test>;tag=902jndnke3",
                    "Content-Length: 0",
                    "Contact: <sip:user@host105.example.com>",
                ],
                b"",
            )
        },
        refusal: Refusal::Parse(|e| matches!(e, ParseError::StartLine { .. })),
        status: 0,
    },
];

fn validate(m: &Message) -> Result<(), ParseError> {
    match m {
        Message::Request(r) => validate_request(r).map(|_| ()),
        Message::Response(r) => validate_response(r),
    }
}

#[test]
fn rfc4475_invalid_messages() {
    for case in CASES {
        let label = format!("RFC 4475 §{} {}", case.section, case.name);
        let buf = (case.message)();
        let is_request = !buf.starts_with(b"SIP/");
        let err = match (&case.refusal, Message::parse(buf.clone())) {
            (Refusal::Parse(expected), Err(e)) => {
                assert!(expected(&e), "{label}: unexpected parse error {e:?}");
                if is_request {
                    // Enough is left to answer with a 400.
                    let h = salvage_headers(&buf).unwrap_or_else(|| panic!("{label}: no salvage"));
                    assert!(h.call_id().is_ok() && h.cseq().is_ok(), "{label}");
                }
                e
            }
            (Refusal::Parse(_), Ok(m)) => panic!("{label}: parsed as {m:?}"),
            (Refusal::Validate(expected), Ok(m)) => {
                let e = validate(&m).expect_err(&label);
                assert!(expected(&e), "{label}: unexpected validation error {e:?}");
                e
            }
            (Refusal::Validate(_), Err(e)) => panic!("{label}: parse failed early: {e}"),
            (Refusal::Tolerated, Ok(m)) => {
                validate(&m).unwrap_or_else(|e| panic!("{label}: {e}"));
                continue;
            }
            (Refusal::Tolerated, Err(e)) => panic!("{label}: {e}"),
        };
        if case.status != 0 {
            assert_eq!(err.status_code().as_u16(), case.status, "{label}");
        }
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn baddate_keeps_the_date_text() {
    let case = CASES.iter().find(|c| c.name == "baddate").unwrap();
    let m = Message::parse((case.message)()).unwrap();
    assert_eq!(
        m.headers().get(&HeaderName::Date).unwrap(),
        "Fri, 01 Jan 2010 16:00:00 EST"
    );
}

#[test]
fn reason_phrases_name_the_problem() {
    let find = |name: &str| CASES.iter().find(|c| c.name == name).unwrap();
    let m = Message::parse((find("mismatch01").message)()).unwrap();
    assert_eq!(
        validate(&m).unwrap_err().to_string(),
        "CSeq method INVITE does not match request method OPTIONS"
    );
    let m = Message::parse((find("quotbal").message)()).unwrap();
    assert_eq!(
        validate(&m).unwrap_err().to_string(),
        "malformed To header: unterminated quoted display name"
    );
    let m = Message::parse((find("badinv01").message)()).unwrap();
    assert_eq!(
        validate(&m).unwrap_err().to_string(),
        "malformed Via header: empty parameter"
    );
}

#[test]
fn every_invalid_case_is_covered() {
    let sections: Vec<&str> = CASES.iter().map(|c| c.section).collect();
    let expected: Vec<String> = (1..=19).map(|i| format!("3.1.2.{i}")).collect();
    assert_eq!(sections, expected);
}
