//! Round trip: generated requests and responses (varied URIs, quoted display
//! names, IPv6 Vias, compact names, folding, binary bodies) parse, serialize
//! and parse again to the same message.

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use sb_sip_message::{HeaderName, Message};

fn domain() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9-]{0,8}",
        prop::sample::select(vec!["example.com", "test", "EXAMPLE.test"]),
    )
        .prop_map(|(label, tld)| format!("{label}.{tld}"))
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => domain(),
        1 => (1u8..=254).prop_map(|n| format!("192.0.2.{n}")),
        1 => (1u16..=0xffff).prop_map(|n| format!("[2001:db8::{n:x}]")),
    ]
}

fn port() -> impl Strategy<Value = String> {
    prop::option::of(1u16..=65535).prop_map(|p| p.map(|p| format!(":{p}")).unwrap_or_default())
}

fn sip_uri() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec!["sip", "sips", "SIP"]);
    let user = prop::option::of("[a-zA-Z0-9._~+-]{1,8}(%[0-9A-F]{2})?(;x=[a-z]{1,3})?");
    let password = prop::option::of("[a-z0-9&=+$]{0,6}");
    let params = prop::collection::vec(
        prop::sample::select(vec![
            ";transport=tcp",
            ";transport=ws",
            ";lr",
            ";maddr=192.0.2.9",
            ";user=phone",
            ";x-p=a%20b",
        ]),
        0..3,
    );
    let headers = prop::option::of("\\?subject=[a-z%0-9]{0,6}(&h=[0-9]{1,3})?");
    (scheme, user, password, host(), port(), params, headers).prop_map(
        |(scheme, user, password, host, port, params, headers)| {
            let userinfo = match (user, password) {
                (Some(u), Some(p)) => format!("{u}:{p}@"),
                (Some(u), None) => format!("{u}@"),
                (None, _) => String::new(),
            };
            format!(
                "{scheme}:{userinfo}{host}{port}{}{}",
                params.concat(),
                headers.unwrap_or_default()
            )
        },
    )
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => sip_uri(),
        1 => "tel:\\+[0-9]{1,3}-[0-9]{3}-[0-9]{4}(;ext=[0-9]{1,3})?",
        1 => Just("tel:7042;phone-context=example.com".to_owned()),
    ]
}

/// A display name and how it is written.
fn display() -> impl Strategy<Value = (Option<String>, String)> {
    prop_oneof![
        1 => Just((None, String::new())),
        2 => "[ a-zA-Z0-9\"\\\\,;<>@äöü€]{1,12}".prop_map(|name| {
            let escaped: String = name
                .chars()
                .flat_map(|c| match c {
                    '"' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            (Some(name), format!("\"{escaped}\" "))
        }),
        1 => "[A-Za-z][A-Za-z0-9.!%*_+`'~-]{0,6}( [A-Za-z]{1,6})?"
            .prop_map(|name| (Some(name.clone()), format!("{name} "))),
    ]
}

fn name_addr() -> impl Strategy<Value = String> {
    (display(), uri(), "[a-zA-Z0-9]{1,10}")
        .prop_map(|((_, written), uri, tag)| format!("{written}<{uri}>;tag={tag}"))
}

fn via() -> impl Strategy<Value = (String, String)> {
    let transport = prop::sample::select(vec!["UDP", "TCP", "TLS", "WS", "WSS", "SCTP"]);
    let extra = prop::sample::select(vec![
        "",
        ";rport",
        ";rport=5060",
        ";received=2001:db8::9",
        ";alias",
    ]);
    (transport, host(), port(), "[a-zA-Z0-9.-]{1,12}", extra).prop_map(
        |(transport, host, port, branch, extra)| {
            let branch = format!("z9hG4bK{branch}");
            (
                format!("SIP/2.0/{transport} {host}{port};branch={branch}{extra}"),
                branch,
            )
        },
    )
}

/// A header name in one of its spellings: long, compact, odd case, or with
/// whitespace before the colon.
fn spelled(name: &'static str, compact: Option<&'static str>) -> impl Strategy<Value = String> {
    (0u8..4).prop_map(move |form| match (form, compact) {
        (0, Some(c)) => c.to_owned(),
        (1, _) => name.to_ascii_uppercase(),
        (2, _) => format!("{name} "),
        _ => name.to_owned(),
    })
}

/// Folds a value at its first space with a CRLF and whitespace.
fn fold(value: &str, on: bool) -> String {
    if on {
        value.replacen(' ', "\r\n \t", 1)
    } else {
        value.to_owned()
    }
}

#[derive(Debug, Clone)]
struct Generated {
    text: Vec<u8>,
    branch: String,
    call_id: String,
}

fn common_headers() -> impl Strategy<Value = (Vec<String>, String, String)> {
    (
        prop::collection::vec(via(), 1..4),
        any::<bool>(),
        (
            name_addr(),
            name_addr(),
            "[a-zA-Z0-9.@_-]{1,20}",
            prop::collection::vec(any::<bool>(), 4),
        ),
        (
            spelled("Via", Some("v")),
            spelled("From", Some("f")),
            spelled("To", Some("t")),
        ),
        (
            spelled("Call-ID", Some("i")),
            spelled("Contact", Some("m")),
            spelled("Subject", Some("s")),
        ),
        (prop::collection::vec(name_addr(), 0..3), "[ -~]{0,30}"),
    )
        .prop_map(
            |(vias, join, (from, to, call_id, folds), names, names2, (contacts, subject))| {
                let (via_n, from_n, to_n) = names;
                let (call_n, contact_n, subject_n) = names2;
                let branch = vias[0].1.clone();
                let mut lines = Vec::new();
                let via_values: Vec<String> = vias.into_iter().map(|(v, _)| v).collect();
                if join {
                    lines.push(format!(
                        "{via_n}: {}",
                        fold(&via_values.join(" , "), folds[0])
                    ));
                } else {
                    for v in &via_values {
                        lines.push(format!("{via_n}: {}", fold(v, folds[0])));
                    }
                }
                lines.push(format!("{from_n}: {from}"));
                lines.push(format!("{to_n}:{to}"));
                lines.push(format!("{call_n}: {call_id}"));
                if !contacts.is_empty() {
                    lines.push(format!("{contact_n}: {}", contacts.join(", ")));
                }
                lines.push(format!("{subject_n}: {}", fold(subject.trim(), folds[1])));
                lines.push(format!(
                    "X-Extension-{}: {}",
                    folds.len(),
                    fold("a b c", folds[2])
                ));
                (lines, branch, call_id)
            },
        )
}

fn request() -> impl Strategy<Value = Generated> {
    let method = prop::sample::select(vec![
        "INVITE",
        "REGISTER",
        "OPTIONS",
        "BYE",
        "MESSAGE",
        "SUBSCRIBE",
        "X-CUSTOM.1",
    ]);
    (
        method,
        uri(),
        common_headers(),
        0u32..(1 << 31),
        prop::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(method, uri, (lines, branch, call_id), seq, body)| {
            let mut text = format!("{method} {uri} SIP/2.0\r\n");
            for l in &lines {
                text.push_str(l);
                text.push_str("\r\n");
            }
            text.push_str(&format!("CSeq: {seq} {method}\r\nMax-Forwards: 70\r\n"));
            text.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            let mut text = text.into_bytes();
            text.extend_from_slice(&body);
            Generated {
                text,
                branch,
                call_id,
            }
        })
}

fn response() -> impl Strategy<Value = Generated> {
    (
        100u16..700,
        "[ -~]{0,20}|[a-zа-я ]{1,10}",
        common_headers(),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(code, reason, (lines, branch, call_id), body)| {
            let mut text = format!("SIP/2.0 {code} {reason}\r\n");
            for l in &lines {
                text.push_str(l);
                text.push_str("\r\n");
            }
            text.push_str("CSeq: 1 INVITE\r\n");
            // Without Content-Length the body runs to the end of the datagram.
            text.push_str("\r\n");
            let mut text = text.into_bytes();
            text.extend_from_slice(&body);
            Generated {
                text,
                branch,
                call_id,
            }
        })
}

fn without_length(m: &Message) -> sb_sip_message::Headers {
    let mut h = m.headers().clone();
    h.remove_all(&HeaderName::ContentLength);
    h
}

fn check_round_trip(generated: &Generated) -> Result<(), TestCaseError> {
    let text = Bytes::from(generated.text.clone());
    let first = Message::parse(text.clone())
        .map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&text))))?;
    let h = first.headers();
    let branch = h.top_via().unwrap().branch().unwrap();
    prop_assert_eq!(branch.as_str(), generated.branch.as_str());
    let call_id = h.call_id().unwrap();
    prop_assert_eq!(call_id.as_str(), generated.call_id.as_str());
    h.to_addr().unwrap();
    h.from_addr().unwrap();
    for c in h.contacts() {
        c.unwrap();
    }
    for v in h.vias() {
        v.unwrap();
    }

    // Serialized at exactly the announced size, the same through both paths.
    let bytes = first.to_bytes();
    prop_assert_eq!(bytes.len(), first.encoded_len());
    let mut encoded = bytes::BytesMut::from(&b"prefix"[..]);
    first.encode(&mut encoded);
    prop_assert_eq!(&encoded[6..], &bytes[..]);

    let second = Message::parse(bytes).unwrap();
    match (&first, &second) {
        (Message::Request(a), Message::Request(b)) => {
            prop_assert_eq!(&a.method, &b.method);
            prop_assert_eq!(&a.uri, &b.uri);
        }
        (Message::Response(a), Message::Response(b)) => {
            prop_assert_eq!(a.status, b.status);
            prop_assert_eq!(&a.reason, &b.reason);
        }
        _ => prop_assert!(false, "kind changed"),
    }
    prop_assert_eq!(without_length(&first), without_length(&second));
    prop_assert_eq!(first.body(), second.body());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        rng_seed: RngSeed::Fixed(0x5151_0002),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn requests_round_trip(generated in request()) {
        check_round_trip(&generated)?;
    }

    #[test]
    fn responses_round_trip(generated in response()) {
        check_round_trip(&generated)?;
    }

    #[test]
    fn name_addr_display_parses_back(
        (display, written) in display(),
        uri in uri(),
        tag in "[a-z0-9]{1,8}",
    ) {
        let text = format!("{written}<{uri}>;tag={tag}");
        let parsed = sb_sip_message::NameAddr::parse(&text.as_str().into()).unwrap();
        prop_assert_eq!(parsed.display_name.as_deref(), display.as_deref());
        let again = sb_sip_message::NameAddr::parse(&parsed.to_string().as_str().into()).unwrap();
        prop_assert_eq!(&again, &parsed);
    }
}
