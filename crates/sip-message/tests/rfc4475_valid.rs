//! RFC 4475 §3.1.1: valid messages a parser must accept. Each message is
//! written from the RFC's description of the case (example.com / .test names,
//! documentation addresses) and checked for the properties the RFC states.

mod common;

use bytes::Bytes;
use common::big::{MULTIPART_HEAD, long_request, multipart_body};
use common::{build, request, response, sdp};
use sb_sip_message::{
    ByteStr, Contact, HeaderName, Headers, Host, Message, Method, RequestCore, StatusCode,
    Transport, Uri, validate_request, validate_response,
};

struct Case {
    /// The RFC 4475 test name.
    name: &'static str,
    /// Section of RFC 4475.
    section: &'static str,
    message: fn() -> Bytes,
    check: fn(Message),
}

fn sip_uri(uri: &Uri) -> &sb_sip_message::SipUri {
    uri.as_sip().expect("a SIP URI")
}

fn header<'a>(m: &'a Message, name: &str) -> &'a ByteStr {
    m.headers()
        .get(&HeaderName::parse(name))
        .unwrap_or_else(|| panic!("no {name}"))
}

const CASES: &[Case] = &[
    Case {
        name: "wsinv",
        section: "3.1.1.1",
        message: || {
            build(
                &[
                    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
                    "TO :",
                    " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
                    r#"from   : "J Rosenberg \\\""       <sip:jdrosen@example.com>"#,
                    "  ;",
                    "  tag = 98asjd8",
                    "MaX-fOrWaRdS: 0068",
                    "Call-ID: wsinv.ndaksdj@192.0.2.1",
                    "Content-Length   : {len}",
                    "cseq: 0009",
                    "  INVITE",
                    "Via  : SIP  /   2.0",
                    " /UDP",
                    "    192.0.2.2;branch=390skdjuw",
                    "s :",
                    "NewFangledHeader:   newfangled value",
                    " continued newfangled value",
                    "UnknownHeaderWithUnusualValue: ;;,,;;,;",
                    "Content-Type: application/sdp",
                    "Route:",
                    " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
                    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;",
                    "  branch  =   z9hG4bK9ikj8  ,",
                    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=",
                    " z9hG4bK30239",
                    r#"m:"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam ="#,
                    "      newvalue ;",
                    "  secondparam ; q = 0.33",
                ],
                &sdp("192.0.2.2", 3456),
            )
        },
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            assert_eq!(req.method, Method::Invite);
            assert!(sip_uri(&req.uri).params.contains("unknownparam"));
            let h = &req.headers;
            let to = h.to_addr().unwrap();
            assert_eq!(to.tag().unwrap().as_str(), "1918181833n");
            assert!(to.display_name.is_none());
            let from = h.from_addr().unwrap();
            assert_eq!(from.display_name.as_deref(), Some(r#"J Rosenberg \""#));
            assert_eq!(from.tag().unwrap().as_str(), "98asjd8");
            assert_eq!(h.max_forwards().unwrap(), Some(68));
            let cseq = h.cseq().unwrap();
            assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
            let vias: Vec<_> = h.vias().map(Result::unwrap).collect();
            assert_eq!(vias.len(), 3);
            assert_eq!(vias[0].branch().unwrap().as_str(), "390skdjuw");
            assert_eq!(vias[1].host, Host::Domain("spindle.example.com".into()));
            assert_eq!(vias[1].transport(), Some(Transport::Tcp));
            assert_eq!(vias[2].branch().unwrap().as_str(), "z9hG4bK30239");
            assert_eq!(header(&m, "Subject"), "");
            assert_eq!(
                header(&m, "newfangledheader"),
                "newfangled value continued newfangled value"
            );
            assert_eq!(header(&m, "UnknownHeaderWithUnusualValue"), ";;,,;;,;");
            assert_eq!(h.count(&HeaderName::Route), 1);
            let contact = h.contacts().next().unwrap().unwrap();
            let contact = contact.addr().unwrap();
            assert_eq!(contact.display_name.as_deref(), Some(r#"Quoted string """#));
            assert_eq!(contact.params.value("newparam").unwrap(), "newvalue");
            assert!(contact.params.contains("secondparam"));
            assert_eq!(contact.q_millis(), Some(330));
            assert!(req.body.starts_with(b"v=0\r\n"));
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "intmeth",
        section: "3.1.1.2",
        message: || {
            build(
                &[
                    "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0",
                    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
                    "To: \"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>",
                    "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.",
                    "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
                    "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~",
                    "Max-Forwards: 255",
                    "extensionHeader-!.%*+_`'~:\u{feff}大停電",
                    "Content-Length: 0",
                ],
                b"",
            )
        },
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            assert_eq!(
                req.method.as_str(),
                "!interesting-Method0123456789_*+`.%indeed'~"
            );
            assert!(matches!(req.method, Method::Extension(_)));
            let uri = sip_uri(&req.uri);
            assert_eq!(
                uri.user.as_deref(),
                Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
            );
            assert_eq!(
                uri.password.as_deref(),
                Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
            );
            assert_eq!(uri.host, Host::Domain("example.com".into()));
            let h = &req.headers;
            let via = h.top_via().unwrap();
            assert_eq!(via.branch().unwrap().as_str(), "z9hG4bK-.!%66*_+`'~");
            let to = h.to_addr().unwrap();
            assert_eq!(to.display_name.as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
            let from = h.from_addr().unwrap();
            assert_eq!(
                from.display_name.as_deref(),
                Some("token1~` token2'+_ token3*%!.-")
            );
            assert_eq!(
                from.params
                    .find("fromParam''~+*_!.-%")
                    .unwrap()
                    .unquoted()
                    .unwrap(),
                "работающий"
            );
            assert_eq!(from.tag().unwrap().as_str(), "_token~1'+`*%!-.");
            assert_eq!(
                h.call_id().unwrap().as_str(),
                "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
            );
            assert_eq!(h.cseq().unwrap().method, req.method);
            assert_eq!(header(&m, "extensionHeader-!.%*+_`'~"), "\u{feff}大停電");
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "esc01",
        section: "3.1.1.3",
        message: || {
            build(
                &[
                    "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0",
                    "To: sip:%75se%72@example.com",
                    "From: <sip:I%20have%20spaces@example.net>;tag=938",
                    "Max-Forwards: 87",
                    "i: esc01.239409asdfakjkn23onasd0-3234",
                    "CSeq: 234234 INVITE",
                    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw",
                    "C: application/sdp",
                    "Contact:",
                    "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>",
                    "Content-Length: {len}",
                ],
                &sdp("192.0.2.5", 4000),
            )
        },
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            let uri = sip_uri(&req.uri);
            assert_eq!(uri.user_unescaped().unwrap(), "sips:user@example.com");
            assert_eq!(uri.host, Host::Domain("example.net".into()));
            let h = &req.headers;
            let to = h.to_addr().unwrap();
            let plain = Uri::parse(&"sip:user@example.com".into()).unwrap();
            assert!(to.uri.equivalent(&plain));
            let from = h.from_addr().unwrap();
            assert_eq!(
                sip_uri(&from.uri).user_unescaped().unwrap(),
                "I have spaces"
            );
            let Contact::Addr(contact) = h.contacts().next().unwrap().unwrap() else {
                panic!()
            };
            let curi = sip_uri(&contact.uri);
            assert_eq!(curi.user_unescaped().unwrap(), "caller");
            let same =
                Uri::parse(&"sip:caller@host5.example.net;lr;name=value%2541".into()).unwrap();
            assert!(contact.uri.equivalent(&same));
            assert_eq!(header(&m, "Content-Type"), "application/sdp");
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "escnull",
        section: "3.1.1.4",
        message: || {
            build(
                &[
                    "REGISTER sip:example.com SIP/2.0",
                    "To: sip:null-%00-null@example.com",
                    "From: sip:null-%00-null@example.com;tag=839923423",
                    "Max-Forwards: 70",
                    "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
                    "CSeq: 14398234 REGISTER",
                    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw",
                    "Contact: <sip:%00@host5.example.com>",
                    "Contact: <sip:%00%00@host5.example.com>",
                    "L:0",
                ],
                b"",
            )
        },
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            let h = &req.headers;
            let to = h.to_addr().unwrap();
            let to_uri = sip_uri(&to.uri);
            assert_eq!(to_uri.user_unescaped().unwrap(), "null-\0-null");
            assert_eq!(to_uri.aor().as_str(), "sip:null-\0-null@example.com");
            let users: Vec<String> = h
                .contacts()
                .map(|c| {
                    let c = c.unwrap();
                    sip_uri(&c.addr().unwrap().uri)
                        .user_unescaped()
                        .unwrap()
                        .into_owned()
                })
                .collect();
            assert_eq!(users, ["\0", "\0\0"]);
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "esc02",
        section: "3.1.1.5",
        message: || {
            build(
                &[
                    "RE%47IST%45R sip:registrar.example.com SIP/2.0",
                    "To: \"%Z%45\" <sip:resource@example.com>",
                    "From: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23",
                    "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf",
                    "Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209asdjkfa",
                    "CSeq: 29344 RE%47IST%45R",
                    "Max-Forwards: 70",
                    "Contact: <sip:alias1@host1.example.com>",
                    "C%6Fntact: <sip:alias2@host2.example.com>",
                    "Contact: <sip:alias3@host3.example.com>",
                    "l: 0",
                ],
                b"",
            )
        },
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            // Not REGISTER: escapes mean nothing in a method token.
            assert_eq!(req.method, Method::Extension("RE%47IST%45R".into()));
            let h = &req.headers;
            assert_eq!(h.to_addr().unwrap().display_name.as_deref(), Some("%Z%45"));
            assert_eq!(h.count(&HeaderName::Contact), 2);
            assert_eq!(header(&m, "C%6Fntact"), "<sip:alias2@host2.example.com>");
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "lwsdisp",
        section: "3.1.1.6",
        message: || {
            build(
                &[
                    "OPTIONS sip:user@example.com SIP/2.0",
                    "To: sip:user@example.com",
                    "From: caller<sip:caller@example.com>;tag=323",
                    "Max-Forwards: 70",
                    "Call-ID: lwsdisp.1234abcd@funky.example.com",
                    "CSeq: 60 OPTIONS",
                    "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw",
                    "l: 0",
                ],
                b"",
            )
        },
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            let from = req.headers.from_addr().unwrap();
            assert_eq!(from.display_name.as_deref(), Some("caller"));
            assert_eq!(from.tag().unwrap().as_str(), "323");
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "longreq",
        section: "3.1.1.7",
        message: long_request,
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            let h = &req.headers;
            let to = h.to_addr().unwrap();
            assert_eq!(to.display_name.as_deref().map(str::len), Some(100));
            let to_uri = sip_uri(&to.uri);
            assert_eq!(
                to_uri
                    .params
                    .value(&"unknownparamname".repeat(10))
                    .unwrap()
                    .len(),
                200
            );
            assert_eq!(h.from_addr().unwrap().tag().unwrap().as_str().len(), 400);
            assert_eq!(h.call_id().unwrap().as_str().len(), 20 + 400);
            let vias: Vec<_> = h.vias().map(Result::unwrap).collect();
            assert_eq!(vias.len(), 34);
            assert_eq!(vias[33].host, Host::Domain("sip33.example.com".into()));
            assert_eq!(
                header(&m, &format!("x-{}", "long-header-name".repeat(20))).len(),
                1000
            );
            let contact = h.contacts().next().unwrap().unwrap();
            assert_eq!(
                sip_uri(&contact.addr().unwrap().uri)
                    .user
                    .as_ref()
                    .unwrap()
                    .len(),
                300
            );
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "dblreq",
        section: "3.1.1.8",
        message: || {
            let register = build(
                &[
                    "REGISTER sip:example.com SIP/2.0",
                    "To: sip:j.user@example.com",
                    "From: sip:j.user@example.com;tag=43251j3j324",
                    "Max-Forwards: 8",
                    "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412",
                    "Contact: sip:j.user@host.example.com",
                    "CSeq: 8 REGISTER",
                    "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492",
                    "Content-Length: 0",
                ],
                b"",
            );
            let invite = build(
                &[
                    "INVITE sip:joe@example.com SIP/2.0",
                    "t: sip:joe@example.com",
                    "From: sip:caller@example.net;tag=141334",
                    "Max-Forwards: 8",
                    "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15",
                    "CSeq: 8 INVITE",
                    "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234",
                    "Content-Type: application/sdp",
                    "Content-Length: {len}",
                ],
                &sdp("192.0.2.15", 49217),
            );
            Bytes::from([&register[..], &invite[..]].concat())
        },
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            // The trailing octets are noise: only the REGISTER counts.
            assert_eq!(req.method, Method::Register);
            assert!(req.body.is_empty());
            assert_eq!(req.headers.count(&HeaderName::Via), 1);
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "semiuri",
        section: "3.1.1.9",
        message: || {
            build(
                &[
                    "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0",
                    "To: sip:j_user@example.com",
                    "From: sip:caller@example.org;tag=33242",
                    "Max-Forwards: 3",
                    "Call-ID: semiuri.0ha0isndaksdj",
                    "CSeq: 8 OPTIONS",
                    "Accept: application/sdp, application/pkcs7-mime,",
                    "        multipart/mixed, multipart/signed,",
                    "        message/sip, message/sipfrag",
                    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw",
                    "l: 0",
                ],
                b"",
            )
        },
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            let uri = sip_uri(&req.uri);
            assert_eq!(uri.user.as_deref(), Some("user;par=u%40example.net"));
            assert_eq!(uri.host, Host::Domain("example.com".into()));
            assert!(uri.params.is_empty());
            assert_eq!(
                header(&m, "Accept"),
                "application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, \
                 message/sip, message/sipfrag"
            );
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "transports",
        section: "3.1.1.10",
        message: || {
            build(
                &[
                    "OPTIONS sip:user@example.com SIP/2.0",
                    "To: sip:user@example.com",
                    "From: <sip:caller@example.com>;tag=323",
                    "Max-Forwards: 70",
                    "Call-ID:  transports.kijh4akdnaqjkwendsasfdj",
                    "Accept: application/sdp",
                    "CSeq: 60 OPTIONS",
                    "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw",
                    "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf",
                    "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj",
                    "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
                    "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee",
                    "l: 0",
                ],
                b"",
            )
        },
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            let transports: Vec<_> = req
                .headers
                .vias()
                .map(|v| {
                    let v = v.unwrap();
                    (v.transport_token.to_string(), v.transport())
                })
                .collect();
            assert_eq!(
                transports,
                [
                    ("UDP".to_owned(), Some(Transport::Udp)),
                    ("SCTP".to_owned(), None),
                    ("TLS".to_owned(), Some(Transport::Tls)),
                    ("UNKNOWN".to_owned(), None),
                    ("TCP".to_owned(), Some(Transport::Tcp)),
                ]
            );
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "mpart01",
        section: "3.1.1.11",
        message: || build(MULTIPART_HEAD, &multipart_body()),
        check: |m| {
            let Message::Request(req) = &m else { panic!() };
            assert_eq!(req.body, multipart_body());
            assert!(
                std::str::from_utf8(&req.body).is_err(),
                "the body is binary"
            );
            assert!(header(&m, "Content-Type").contains("boundary=7a9cbec02ceef655"));
            validate_request(req).unwrap();
        },
    },
    Case {
        name: "unreason",
        section: "3.1.1.12",
        message: || {
            build(
                &[
                    "SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое",
                    "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
                    "Call-ID: unreason.1234ksdfak3j2erwedfsASdf",
                    "CSeq: 35 INVITE",
                    "From: sip:user@example.com;tag=11141343",
                    "To: sip:user@example.test;tag=2229",
                    "Content-Length: {len}",
                    "Content-Type: application/sdp",
                    "Contact: <sip:user@192.0.2.198>",
                ],
                &sdp("192.0.2.198", 3456),
            )
        },
        check: |m| {
            let Message::Response(resp) = &m else {
                panic!()
            };
            assert_eq!(resp.status, StatusCode::OK);
            assert_eq!(
                resp.reason,
                "= 2**3 * 5**2 но сто девяносто девять - простое"
            );
            validate_response(resp).unwrap();
        },
    },
    Case {
        name: "noreason",
        section: "3.1.1.13",
        message: || {
            build(
                &[
                    "SIP/2.0 100 ",
                    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
                    "Call-ID: noreason.asndj203insdf99223ndf",
                    "CSeq: 35 INVITE",
                    "From: <sip:user@example.com>;tag=39ansfi3",
                    "To: <sip:user@example.test>;tag=902jndnke3",
                    "Content-Length: 0",
                    "Contact: <sip:user@host105.example.com>",
                ],
                b"",
            )
        },
        check: |m| {
            let Message::Response(resp) = &m else {
                panic!()
            };
            assert_eq!(resp.status, StatusCode::TRYING);
            assert_eq!(resp.reason, "");
            validate_response(resp).unwrap();
        },
    },
];

#[test]
fn rfc4475_valid_messages() {
    for case in CASES {
        let message = (case.message)();
        let parsed = Message::parse(message.clone())
            .unwrap_or_else(|e| panic!("RFC 4475 §{} {}: rejected: {e}", case.section, case.name));
        (case.check)(parsed.clone());
        if let Message::Request(req) = &parsed
            && let Ok(core) = validate_request(req)
        {
            same_as_typed_access(&core, &req.headers);
        }
        // Serializing and parsing again keeps every field.
        let again = Message::parse(parsed.to_bytes())
            .unwrap_or_else(|e| panic!("§{} {}: reparse failed: {e}", case.section, case.name));
        assert_eq!(
            again.body(),
            parsed.body(),
            "§{} {}",
            case.section,
            case.name
        );
        let strip = |m: &Message| {
            let mut h = m.headers().clone();
            h.remove_all(&HeaderName::ContentLength);
            h
        };
        assert_eq!(
            strip(&again),
            strip(&parsed),
            "§{} {}",
            case.section,
            case.name
        );
    }
}

/// What validation returns is what the typed accessors parse.
fn same_as_typed_access(core: &RequestCore, h: &Headers) {
    assert_eq!(core.top_via, h.top_via().unwrap());
    assert_eq!(core.from, h.from_addr().unwrap());
    assert_eq!(core.to, h.to_addr().unwrap());
    assert_eq!(core.call_id, h.call_id().unwrap());
    assert_eq!(core.cseq, h.cseq().unwrap());
    assert_eq!(core.max_forwards, h.max_forwards().unwrap());
    let contacts: Vec<Contact> = h.contacts().map(Result::unwrap).collect();
    assert_eq!(core.contacts, contacts);
}

#[test]
fn every_valid_case_is_covered() {
    let sections: Vec<&str> = CASES.iter().map(|c| c.section).collect();
    let expected: Vec<String> = (1..=13).map(|i| format!("3.1.1.{i}")).collect();
    assert_eq!(sections, expected);
}

#[test]
fn helpers_build_what_they_say() {
    let req = request(build(
        &["OPTIONS sip:a@example.com SIP/2.0", "Content-Length: {len}"],
        b"abc",
    ));
    assert_eq!(&req.body[..], b"abc");
    let resp = response(build(&["SIP/2.0 200 OK", "l: 0"], b""));
    assert_eq!(resp.status, StatusCode::OK);
}
