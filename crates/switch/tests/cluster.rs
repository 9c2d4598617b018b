//! Cluster mode: other nodes' bindings, calls handed to the node that holds
//! a phone's flow, calls handed over by another node, and what happens when
//! a node is gone.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use sb_sip_message::{Aor, ByteStr, CallId, Method, Peer, StatusCode, Transport};
use sb_switch::{BindingId, BindingRecord, Effect};
use support::calls::{Callee, Phone, SDP_A, SDP_B, codes, methods, request_text, to_addr};
use support::{Harness, UNIX_START};

/// The other node's SIP address.
const NODE_2: &str = "192.0.2.20:5060";

fn node2() -> SocketAddr {
    NODE_2.parse().unwrap()
}

fn bob_aor() -> Aor {
    Aor::new("bob", "example.test")
}

/// bob's binding as node `node` wrote it: a phone at `source` over
/// `transport`, registered at `updated` (unix ms).
fn remote_binding(
    node: Option<&str>,
    id: &str,
    source: &str,
    transport: Transport,
    updated: u64,
) -> BindingRecord {
    BindingRecord {
        aor: bob_aor(),
        binding_id: BindingId(ByteStr::from(id)),
        contact: ByteStr::from(format!("<sip:bob@{source}>")),
        instance: None,
        reg_id: None,
        q: None,
        call_id: CallId::from(format!("reg-{id}")),
        cseq: 1,
        expires_unix_ms: UNIX_START + 3_600_000,
        transport,
        source: source.parse().unwrap(),
        local: "192.0.2.20:5060".parse().unwrap(),
        user_agent: None,
        path: None,
        updated_unix_ms: updated,
        node: node.map(ByteStr::from),
    }
}

fn apply(h: &mut Harness, records: &[BindingRecord]) -> usize {
    let (now, unix) = (h.now, h.unix_ms());
    let n = h
        .switch
        .apply_remote_bindings(now, unix, &bob_aor(), records);
    h.drain();
    n
}

fn bob_contacts(h: &Harness) -> Vec<String> {
    let mut c: Vec<String> = h
        .switch
        .location()
        .bindings(&bob_aor())
        .map(|b| b.contact.to_string())
        .collect();
    c.sort();
    c
}

/// A node where alice registered, node 2 lives, and node 2's bindings of
/// bob are `bob` (ids and sources; UDP unless the id is `soft`, over TCP).
fn alice_here_bob_on_node2(bob: &[(&str, &str)]) -> (Harness, Phone) {
    let mut h = Harness::new();
    let alice = Phone::alice();
    assert_eq!(h.register_phone(&alice).status, StatusCode::OK);
    h.switch
        .set_cluster_peers(vec![(ByteStr::from("sb-2"), node2())]);
    let records: Vec<BindingRecord> = bob
        .iter()
        .map(|(id, source)| {
            let transport = if *id == "soft" {
                Transport::Tcp
            } else {
                Transport::Udp
            };
            remote_binding(Some("sb-2"), id, source, transport, UNIX_START)
        })
        .collect();
    assert_eq!(apply(&mut h, &records), records.len());
    h.take_sent();
    h.effects.clear();
    (h, alice)
}

#[test]
fn a_call_to_another_nodes_binding_goes_to_that_node() {
    let (mut h, alice) = alice_here_bob_on_node2(&[("desk", "192.0.2.60:5060")]);

    h.call(&alice, "sip:bob@example.test", "hop-1", SDP_A);
    let sent = h.take_sent();
    let (to_node, _) = to_addr(&sent, node2());
    assert_eq!(methods(&to_node), [Method::Invite], "{sent:?}");
    let invite = &to_node[0];
    // The binding's contact as Request-URI, the AOR in To: the node rings
    // its own binding with that contact.
    assert_eq!(invite.uri.to_string(), "sip:bob@192.0.2.60:5060");
    assert!(
        invite
            .headers
            .get(&sb_sip_message::HeaderName::To)
            .unwrap()
            .contains("sip:bob@example.test"),
        "{invite:?}"
    );
    assert!(
        to_addr(&sent, "192.0.2.60:5060".parse().unwrap())
            .0
            .is_empty(),
        "nothing goes to the phone itself while its node lives"
    );
    // Nothing about another node's binding goes to the store.
    assert!(
        !h.effects
            .iter()
            .any(|(_, e)| matches!(e, Effect::PersistBinding(_) | Effect::RemoveBinding { .. }))
    );
}

#[test]
fn once_the_node_is_gone_its_udp_binding_is_called_directly_and_its_stream_binding_forgotten() {
    let (mut h, alice) =
        alice_here_bob_on_node2(&[("desk", "192.0.2.60:5060"), ("soft", "192.0.2.61:5070")]);

    assert_eq!(
        h.switch.set_cluster_peers(Vec::new()),
        1,
        "the TCP binding goes"
    );
    assert_eq!(bob_contacts(&h), ["<sip:bob@192.0.2.60:5060>"]);
    h.take_sent();
    h.call(&alice, "sip:bob@example.test", "direct-1", SDP_A);
    let sent = h.take_sent();
    let (to_desk, _) = to_addr(&sent, "192.0.2.60:5060".parse().unwrap());
    assert_eq!(methods(&to_desk), [Method::Invite], "{sent:?}");
    let dest = sent
        .iter()
        .find(|(d, _)| d.remote == "192.0.2.60:5060".parse().unwrap())
        .map(|(d, _)| *d)
        .unwrap();
    assert_eq!(dest.transport, Transport::Udp);
    assert_eq!(dest.local, None, "from this node's own socket");
    assert!(to_addr(&sent, node2()).0.is_empty());
}

#[test]
fn other_nodes_bindings_follow_the_store_and_yield_to_newer_local_ones() {
    let mut h = Harness::new();
    let bob = Phone::bob();
    // bob's desk phone registered here...
    assert_eq!(h.register_phone(&bob).status, StatusCode::OK);
    let local_id = h
        .switch
        .location()
        .bindings(&bob_aor())
        .next()
        .unwrap()
        .id
        .clone();
    h.effects.clear();
    // ...an older row of the same binding from another node does not
    // replace it; a soft phone on that node is added.
    let stale = BindingRecord {
        binding_id: local_id.clone(),
        ..remote_binding(
            Some("sb-2"),
            "x",
            "192.0.2.60:5060",
            Transport::Udp,
            UNIX_START - 1,
        )
    };
    let soft = remote_binding(
        Some("sb-2"),
        "soft",
        "192.0.2.61:5070",
        Transport::Udp,
        UNIX_START,
    );
    assert_eq!(apply(&mut h, &[stale.clone(), soft]), 1);
    assert_eq!(
        bob_contacts(&h),
        ["<sip:bob@192.0.2.60:5060>", "<sip:bob@192.0.2.61:5070>"]
    );
    assert!(
        h.switch
            .location()
            .bindings(&bob_aor())
            .any(|b| b.id == local_id && b.node.is_none())
    );
    // The soft phone unregisters on the other node: its row is gone.
    assert_eq!(apply(&mut h, &[]), 0);
    assert_eq!(bob_contacts(&h), ["<sip:bob@192.0.2.60:5060>"]);
    // The desk phone moved to the other node (a newer row of its binding).
    let moved = BindingRecord {
        updated_unix_ms: h.unix_ms() + 1_000,
        ..stale
    };
    assert_eq!(apply(&mut h, &[moved]), 1);
    let b = h.switch.location().bindings(&bob_aor()).next().unwrap();
    assert_eq!(b.node.as_deref(), Some("sb-2"));
    // None of this goes back to the store, and another node's binding
    // expires here without a word to the store either.
    h.advance(Duration::from_secs(3_700));
    assert_eq!(h.switch.location().bindings(&bob_aor()).count(), 0);
    assert!(
        !h.effects
            .iter()
            .any(|(_, e)| matches!(e, Effect::PersistBinding(_) | Effect::RemoveBinding { .. })),
        "{:?}",
        h.effects
    );
}

/// An INVITE node 2 hands over for `contact` (To: bob), as node 2 sends it.
fn handed_over(contact: &str, call_id: &str) -> sb_sip_message::Request {
    request_text(
        &format!(
            "INVITE {contact} SIP/2.0\n\
             Via: SIP/2.0/UDP {NODE_2};rport;branch=z9hG4bKhop{call_id}\n\
             Max-Forwards: 69\n\
             From: \"alice\" <sip:alice@example.test>;tag=n2-{call_id}\n\
             To: <sip:bob@example.test>\n\
             Call-ID: {call_id}\n\
             CSeq: 1 INVITE\n\
             Contact: <sip:{NODE_2}>\n\
             Content-Type: application/sdp\n"
        ),
        SDP_A,
    )
}

fn from_node(addr: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: addr.parse().unwrap(),
        local: "192.0.2.10:5060".parse().unwrap(),
        flow: None,
    }
}

#[test]
fn a_handed_over_call_rings_only_that_binding_passes_sdp_and_leaves_no_record() {
    let mut h = Harness::new();
    let desk = Phone::new("bob", "hunter2", "192.0.2.60:5060", "192.0.2.60:5060");
    let soft = Phone::new("bob", "hunter2", "192.0.2.61:5070", "192.0.2.61:5070");
    for p in [&desk, &soft] {
        assert_eq!(h.register_phone(p).status, StatusCode::OK);
    }
    h.switch
        .set_cluster_peers(vec![(ByteStr::from("sb-2"), node2())]);
    h.take_sent();
    h.effects.clear();

    h.send_request(
        &handed_over("sip:bob@192.0.2.60:5060", "hop-2"),
        from_node(NODE_2),
    );
    let sent = h.take_sent();
    // No challenge: the node is admitted by its address.
    assert_eq!(codes(&to_addr(&sent, node2()).1), [100], "{sent:?}");
    let (to_desk, _) = to_addr(&sent, desk.addr());
    assert_eq!(methods(&to_desk), [Method::Invite]);
    assert!(
        to_addr(&sent, soft.addr()).0.is_empty(),
        "only that binding rings"
    );
    // Pass-through: the caller's SDP as it came.
    assert_eq!(to_desk[0].body.as_ref(), SDP_A.as_bytes());

    let mut callee = Callee::new(&desk, to_desk[0].clone(), "desk");
    h.send_response(&callee.response(200, SDP_B), desk.peer);
    let sent = h.take_sent();
    let (_, to_node) = to_addr(&sent, node2());
    assert_eq!(codes(&to_node), [200]);
    assert_eq!(to_node[0].body.as_ref(), SDP_B.as_bytes());
    // The phone hangs up: its BYE is answered at once (no record to wait
    // for) and goes on to the node.
    let bye = callee.request("BYE", "", "");
    h.send_request(&bye, desk.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, desk.addr()).1), [200]);
    assert_eq!(methods(&to_addr(&sent, node2()).0), [Method::Bye]);
    assert!(
        h.cdrs().is_empty(),
        "the node that placed the call writes its record"
    );
}

#[test]
fn a_handed_over_call_goes_no_further_and_strangers_are_challenged() {
    let mut h = Harness::new();
    h.switch.set_cluster_peers(vec![
        (ByteStr::from("sb-2"), node2()),
        (ByteStr::from("sb-3"), "192.0.2.30:5060".parse().unwrap()),
    ]);
    // bob's only binding lives on a third node: the call is not handed on.
    let far = remote_binding(
        Some("sb-3"),
        "far",
        "192.0.2.60:5060",
        Transport::Udp,
        UNIX_START,
    );
    apply(&mut h, &[far]);
    h.take_sent();
    h.send_request(
        &handed_over("sip:bob@192.0.2.60:5060", "hop-3"),
        from_node(NODE_2),
    );
    let sent = h.take_sent();
    let mut got = codes(&to_addr(&sent, node2()).1);
    got.dedup();
    assert_eq!(got, [100, 480], "{sent:?}");
    assert!(
        to_addr(&sent, "192.0.2.30:5060".parse().unwrap())
            .0
            .is_empty()
    );
    assert!(
        to_addr(&sent, "192.0.2.60:5060".parse().unwrap())
            .0
            .is_empty()
    );

    // The same INVITE from another port of the node's host, or from a TCP
    // connection, is an ordinary caller: challenged.
    for (peer, id) in [
        (from_node("192.0.2.20:5099"), "hop-4"),
        (
            Peer {
                transport: Transport::Tcp,
                ..from_node(NODE_2)
            },
            "hop-5",
        ),
    ] {
        h.send_request(&handed_over("sip:bob@192.0.2.60:5060", id), peer);
        let r = h.response();
        assert_eq!(r.status, StatusCode::PROXY_AUTHENTICATION_REQUIRED, "{id}");
    }
}

#[test]
fn a_binding_deleted_elsewhere_goes_unless_written_again_since() {
    let mut h = Harness::new();
    let bob = Phone::bob();
    assert_eq!(h.register_phone(&bob).status, StatusCode::OK);
    let (id, written) = {
        let b = h.switch.location().bindings(&bob_aor()).next().unwrap();
        (b.id.clone(), b.updated_unix_ms)
    };
    h.effects.clear();
    // A deletion of an older row (the phone registered again since) and of
    // a binding this node does not have change nothing.
    assert!(!h.switch.forget_binding(&bob_aor(), &id, written - 1));
    let other = BindingId(ByteStr::from("uri:sip:bob@192.0.2.99"));
    assert!(!h.switch.forget_binding(&bob_aor(), &other, written));
    assert_eq!(h.switch.location().bindings(&bob_aor()).count(), 1);
    // The row as this node wrote it was deleted: the binding goes, without a
    // word to the store.
    assert!(h.switch.forget_binding(&bob_aor(), &id, written));
    h.drain();
    assert_eq!(h.switch.location().bindings(&bob_aor()).count(), 0);
    assert!(h.effects.is_empty(), "{:?}", h.effects);
}
