use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{Message, Transport};

use super::*;

fn req(contacts: &str, extra: &str) -> Request {
    let text = format!(
        "REGISTER sip:example.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.50;branch=z9hG4bKu1\r\n\
         From: <sip:alice@example.test>;tag=1\r\n\
         To: <sip:alice@example.test>\r\n\
         Call-ID: unit1\r\n\
         CSeq: 7 REGISTER\r\n\
         Contact: {contacts}\r\n{extra}\
         Content-Length: 0\r\n\r\n"
    );
    match Message::parse(Bytes::from(text)).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

fn run(table: &mut LocationTable, request: &Request) -> Result<Vec<BindingChange>, RegisterError> {
    let aor = Aor::new("alice", "example.test");
    let core = sb_sip_message::validate_request(request).expect("valid request");
    let input = RegisterInput {
        aor: &aor,
        request,
        core: &core,
        peer: Peer {
            transport: Transport::Udp,
            remote: "192.0.2.50:5060".parse().unwrap(),
            local: "192.0.2.10:5060".parse().unwrap(),
            flow: None,
        },
        now: Instant::now(),
        unix_ms: 0,
    };
    process(table, &RegistrarPolicy::default(), &input)
}

#[test]
fn a_refused_request_changes_nothing() {
    let mut table = LocationTable::new(1);
    // The second contact is too brief: the first must not be bound either.
    let r = req("<sip:a@192.0.2.1>, <sip:b@192.0.2.2>;expires=5", "");
    assert_eq!(
        run(&mut table, &r),
        Err(RegisterError::IntervalTooBrief { min_expires: 60 })
    );
    assert!(table.is_empty());
}

#[test]
fn binding_ids_follow_rfc_5626_then_the_uri() {
    let mut table = LocationTable::new(1);
    let r = req(
        "<sip:a@192.0.2.1>;+sip.instance=\"<urn:uuid:1>\";reg-id=2, \
         <sip:b@192.0.2.2>;+sip.instance=\"<urn:uuid:3>\", <sip:c@192.0.2.3>",
        "",
    );
    let changes = run(&mut table, &r).unwrap();
    let ids: Vec<String> = changes
        .iter()
        .map(|c| match c {
            BindingChange::Upserted(b) => b.id.to_string(),
            BindingChange::Removed(b) => b.id.to_string(),
        })
        .collect();
    assert_eq!(
        ids,
        [
            "inst:urn:uuid:1:2",
            "inst:urn:uuid:3",
            "uri:sip:c@192.0.2.3"
        ]
    );
}

#[test]
fn expires_param_beats_header_which_beats_default() {
    let mut table = LocationTable::new(1);
    let r = req(
        "<sip:a@192.0.2.1>;expires=120, <sip:b@192.0.2.2>",
        "Expires: 300\r\n",
    );
    let changes = run(&mut table, &r).unwrap();
    let secs: Vec<u64> = changes
        .iter()
        .map(|c| match c {
            BindingChange::Upserted(b) => b.expires_unix_ms / 1000,
            BindingChange::Removed(_) => 0,
        })
        .collect();
    assert_eq!(secs, [120, 300]);
}

#[test]
fn non_sip_contacts_and_bad_expires_are_bad_requests() {
    let mut table = LocationTable::new(1);
    let r = req("<mailto:alice@example.test>", "");
    assert!(matches!(
        run(&mut table, &r),
        Err(RegisterError::BadRequest(_))
    ));
    let r = req("<sip:a@192.0.2.1>", "Expires: soon\r\n");
    assert!(matches!(
        run(&mut table, &r),
        Err(RegisterError::BadRequest(_))
    ));
}
