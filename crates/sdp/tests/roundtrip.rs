//! Round trip over generated descriptions: whatever parses is written in a form that parses to
//! the same model, and no input makes the parser panic.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use sb_sdp::Sdp;

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        Just("0 0".to_owned()),
        Just("\u{e9}t\u{e9} \u{2014}".to_owned()),
    ]
}

fn attribute() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a=sendrecv".to_owned()),
        Just("a=rtcp-mux".to_owned()),
        (0u8..=127, prop::sample::select(vec!["PCMU/8000", "opus/48000/2", "x/1/2"]))
            .prop_map(|(pt, enc)| format!("a=rtpmap:{pt} {enc}")),
        Just("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk|2^20|1:4".to_owned()),
        ("[a-z-]{0,8}", prop::option::of(value())).prop_map(|(n, v)| match v {
            Some(v) => format!("a={n}:{v}"),
            None => format!("a={n}"),
        }),
    ]
}

fn other_line() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!['i', 'u', 'e', 'p', 't', 'r', 'z', 'k', 'x']),
        value(),
    )
        .prop_map(|(k, v)| format!("{k}={v}"))
}

fn media() -> impl Strategy<Value = Vec<String>> {
    (
        prop::sample::select(vec!["audio", "video", "application"]),
        any::<u16>(),
        prop::option::of(1u16..4),
        prop::sample::select(vec!["RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF"]),
        prop::collection::vec("[0-9]{1,3}", 0..5),
        prop::collection::vec(
            prop_oneof![
                3 => attribute(),
                1 => other_line(),
                1 => Just("c=IN IP6 2001:db8::1".to_owned()),
                1 => Just("b=AS:64".to_owned()),
            ],
            0..8,
        ),
    )
        .prop_map(|(kind, port, count, proto, formats, lines)| {
            let count = count.map(|c| format!("/{c}")).unwrap_or_default();
            let mut out = vec![format!(
                "m={kind} {port}{count} {proto} {}",
                formats.join(" ")
            )];
            out.extend(lines);
            out
        })
}

fn description() -> impl Strategy<Value = (String, bool)> {
    (
        prop::collection::vec(
            prop_oneof![
                2 => other_line(),
                2 => attribute(),
                1 => Just("b=CT:128".to_owned()),
            ],
            0..6,
        ),
        prop::option::of(Just("c=IN IP4 192.0.2.1".to_owned())),
        prop::collection::vec(media(), 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(session, connection, media, crlf, trailing)| {
            let mut lines = vec![
                "v=0".to_owned(),
                "o=- 1 2 IN IP4 192.0.2.1".to_owned(),
                "s=-".to_owned(),
            ];
            lines.extend(connection);
            lines.extend(session);
            lines.extend(media.into_iter().flatten());
            let end = if crlf { "\r\n" } else { "\n" };
            let pad = if trailing { " \t" } else { "" };
            let text = lines
                .iter()
                .map(|l| format!("{l}{pad}{end}"))
                .collect::<String>();
            (text, crlf)
        })
}

fn config() -> Config {
    Config {
        cases: 2000,
        rng_seed: RngSeed::Fixed(0x5d9),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_descriptions_round_trip((text, _crlf) in description()) {
        let first = Sdp::parse(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}: {text:?}"));
        let written = first.to_bytes();
        let second = Sdp::parse(&written).unwrap();
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(second.to_bytes(), written);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut input = b"v=0\no=- 1 1 IN IP4 192.0.2.1\n".to_vec();
        input.extend_from_slice(&bytes);
        if let Ok(first) = Sdp::parse(&input) {
            let second = Sdp::parse(&first.to_bytes()).unwrap();
            prop_assert_eq!(first, second);
        }
    }
}
