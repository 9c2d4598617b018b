//! Matching of requests to server transactions (RFC 3261 §17.2.3), of responses
//! to client transactions (§17.1.3), of CANCEL to INVITE (§9.2), and the RFC 2543
//! fallback.

mod common;

use common::*;
use sb_sip_message::HeaderName;
use sb_sip_message::Transport::Udp;
use sb_sip_transaction::{TimerConfig, TxEvent, TxId, TxKind, TxState};

/// Server transactions created so far, in order.
fn created(sim: &Sim) -> Vec<TxId> {
    sim.events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            TxEvent::Request { tx, .. } => Some(tx),
            _ => None,
        })
        .collect()
}

#[test]
fn branch_sent_by_and_method_separate_server_transactions() {
    let mut sim = Sim::new(TimerConfig::default());
    let send = |sim: &mut Sim, method: &str, via: &str| {
        sim.inbound(
            ms(0),
            inbound(request_with(method, via, 1, None)),
            peer(Udp),
        );
    };
    send(
        &mut sim,
        "OPTIONS",
        "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa",
    );
    // Same everything, branch in another case: a retransmission.
    send(
        &mut sim,
        "OPTIONS",
        "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKA",
    );
    // Same everything, sent-by host in another case: a retransmission.
    send(
        &mut sim,
        "OPTIONS",
        "SIP/2.0/UDP Phone.Example.com:5060;branch=z9hG4bKd",
    );
    send(
        &mut sim,
        "OPTIONS",
        "SIP/2.0/UDP phone.example.com:5060;branch=z9hG4bKd",
    );
    assert_eq!(created(&sim).len(), 2);
    // Another branch, another sent-by port, another sent-by host, another method.
    send(
        &mut sim,
        "OPTIONS",
        "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKb",
    );
    send(
        &mut sim,
        "OPTIONS",
        "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKa",
    );
    send(
        &mut sim,
        "OPTIONS",
        "SIP/2.0/UDP 192.0.2.11:5060;branch=z9hG4bKa",
    );
    send(
        &mut sim,
        "INFO",
        "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa",
    );
    assert_eq!(created(&sim).len(), 6);
    // Source address and transport port do not matter for matching.
    let mut moved = peer(Udp);
    moved.remote = "192.0.2.99:41000".parse().expect("address");
    sim.inbound(
        ms(0),
        inbound(request_with(
            "INFO",
            "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa",
            1,
            None,
        )),
        moved,
    );
    assert_eq!(created(&sim).len(), 6);
}

#[test]
fn ack_matches_its_invite_and_cancel_is_its_own_transaction() {
    let mut sim = Sim::new(TimerConfig::default());
    let via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv";
    sim.inbound(
        ms(0),
        inbound(request_with("INVITE", via, 1, None)),
        peer(Udp),
    );
    let (invite_tx, invite) = sim.last_server_tx();

    sim.inbound(
        ms(10),
        inbound(request_with("CANCEL", via, 1, None)),
        peer(Udp),
    );
    let (cancel_tx, cancel) = sim.last_server_tx();
    assert_ne!(cancel_tx, invite_tx);
    assert_eq!(sim.layer.kind_of(cancel_tx), Some(TxKind::ServerNonInvite));
    assert_eq!(sim.layer.matching_invite(&cancel), Some(invite_tx));

    sim.respond(ms(20), cancel_tx, reply(&cancel, 200));
    sim.respond(ms(20), invite_tx, reply(&invite, 487));
    sim.inbound(
        ms(30),
        inbound(request_with("ACK", via, 1, Some("a6c85cf"))),
        peer(Udp),
    );
    assert_eq!(sim.layer.state_of(invite_tx), Some(TxState::Confirmed));
    assert!(
        !sim.events()
            .iter()
            .any(|(_, e)| matches!(e, TxEvent::Ack { .. }))
    );
}

#[test]
fn cancel_with_another_branch_or_sent_by_matches_nothing() {
    let mut sim = Sim::new(TimerConfig::default());
    sim.inbound(
        ms(0),
        inbound(request_with(
            "INVITE",
            "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx",
            1,
            None,
        )),
        peer(Udp),
    );
    for via in [
        "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKy",
        "SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bKx",
    ] {
        sim.inbound(
            ms(0),
            inbound(request_with("CANCEL", via, 1, None)),
            peer(Udp),
        );
        let (_, cancel) = sim.last_server_tx();
        assert_eq!(sim.layer.matching_invite(&cancel), None, "{via}");
    }
    // A CANCEL never matches a non-INVITE transaction.
    sim.inbound(
        ms(0),
        inbound(request_with(
            "MESSAGE",
            "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKm",
            1,
            None,
        )),
        peer(Udp),
    );
    sim.inbound(
        ms(0),
        inbound(request_with(
            "CANCEL",
            "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKm",
            1,
            None,
        )),
        peer(Udp),
    );
    let (_, cancel) = sim.last_server_tx();
    assert_eq!(sim.layer.matching_invite(&cancel), None);
}

#[test]
fn rfc2543_fallback() {
    let mut sim = Sim::new(TimerConfig::default());
    let via = "SIP/2.0/UDP 192.0.2.10:5060";
    let invite = || inbound(request_with("INVITE", via, 7, None));
    sim.inbound(ms(0), invite(), peer(Udp));
    let (tx, request) = sim.last_server_tx();
    sim.respond(ms(0), tx, reply(&request, 180));
    sim.take_log();

    // A retransmission: same Request-URI, tags, Call-ID, CSeq and top Via.
    sim.inbound(ms(500), invite(), peer(Udp));
    assert_eq!(
        sim.take_log(),
        [Out::Sent(ms(500), "SIP/2.0 180 Ringing".into())]
    );

    // Another CSeq is another transaction; so is another From tag.
    sim.inbound(
        ms(600),
        inbound(request_with("INVITE", via, 8, None)),
        peer(Udp),
    );
    let mut other_from = request_with("INVITE", via, 7, None);
    other_from
        .headers
        .set(HeaderName::From, "Alice <sip:alice@example.com>;tag=other");
    sim.inbound(ms(600), inbound(other_from), peer(Udp));
    assert_eq!(created(&sim).len(), 2);
    sim.take_log();

    // CANCEL finds the INVITE by the same fields (RFC 3261 §9.2).
    sim.inbound(
        ms(700),
        inbound(request_with("CANCEL", via, 7, None)),
        peer(Udp),
    );
    let (cancel_tx, cancel) = sim.last_server_tx();
    assert_ne!(cancel_tx, tx);
    assert_eq!(sim.layer.matching_invite(&cancel), Some(tx));

    // The ACK for the non-2xx carries the response's To tag and matches.
    sim.respond(ms(800), tx, reply(&request, 487));
    sim.take_log();
    sim.inbound(
        ms(900),
        inbound(request_with("ACK", via, 7, Some("a6c85cf"))),
        peer(Udp),
    );
    assert_eq!(sim.take_log(), []);
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Confirmed));
    // An ACK with another To tag is not ours.
    sim.inbound(
        ms(950),
        inbound(request_with("ACK", via, 7, Some("zzz"))),
        peer(Udp),
    );
    assert!(matches!(
        sim.take_log()[..],
        [Out::Event(_, TxEvent::Ack { .. })]
    ));
}

#[test]
fn unmatchable_requests_are_dropped_and_counted() {
    let mut sim = Sim::new(TimerConfig::default());
    let mut no_via = request("OPTIONS", Udp, "z9hG4bKnv");
    no_via.headers.remove_all(&HeaderName::Via);
    sim.inbound(ms(0), inbound(no_via), peer(Udp));
    let mut bad_via = request("OPTIONS", Udp, "z9hG4bKbv");
    bad_via.headers.set(HeaderName::Via, "not a via");
    sim.inbound(ms(0), inbound(bad_via), peer(Udp));
    // RFC 2543 request without From: no key can be built.
    let mut no_from = request_with("OPTIONS", "SIP/2.0/UDP 192.0.2.10", 1, None);
    no_from.headers.remove_all(&HeaderName::From);
    sim.inbound(ms(0), inbound(no_from), peer(Udp));
    assert_eq!(sim.take_log(), []);
    assert_eq!(sim.layer.stats().dropped_requests, 3);
    assert_eq!(sim.layer.stats().live(), 0);
}

#[test]
fn responses_match_by_branch_and_cseq_method() {
    let mut sim = Sim::new(TimerConfig::default());
    let branch = sim.layer.new_branch();
    let invite = outgoing("INVITE", Udp, branch.as_str());
    let invite_tx = sim.send_request(ms(0), invite.clone(), dest(Udp));
    // The CANCEL shares the INVITE's branch (RFC 3261 §9.1).
    let cancel = outgoing("CANCEL", Udp, branch.as_str());
    let cancel_tx = sim.send_request(ms(10), cancel.clone(), dest(Udp));
    sim.take_log();

    sim.inbound(ms(20), reply(&cancel, 200).into_message(), peer(Udp));
    sim.inbound(ms(30), reply(&invite, 487).into_message(), peer(Udp));
    let events: Vec<TxEvent> = sim.events().into_iter().map(|(_, e)| e).collect();
    assert!(
        matches!(&events[0], TxEvent::Response { tx, response } if *tx == cancel_tx && response.status.as_u16() == 200)
    );
    assert!(
        matches!(&events[1], TxEvent::Response { tx, response } if *tx == invite_tx && response.status.as_u16() == 487)
    );

    // A branch in another case still matches (branch comparison is case-insensitive).
    sim.take_log();
    let branch = sim.layer.new_branch();
    let options = outgoing("OPTIONS", Udp, branch.as_str());
    let options_tx = sim.send_request(ms(40), options.clone(), dest(Udp));
    let mut ok = reply(&options, 200);
    let upper = format!(
        "SIP/2.0/UDP 192.0.2.1:5060;branch={}",
        branch.as_str().to_ascii_uppercase()
    );
    ok.headers.set(HeaderName::Via, upper);
    sim.inbound(ms(50), ok.into_message(), peer(Udp));
    assert!(
        sim.events()
            .iter()
            .any(|(_, e)| matches!(e, TxEvent::Response { tx, .. } if *tx == options_tx))
    );

    // Same branch, a CSeq method no transaction has: stray.
    let mut wrong_method = reply(&options, 200);
    wrong_method.headers.set(HeaderName::CSeq, "17 INFO");
    sim.inbound(ms(60), wrong_method.into_message(), peer(Udp));
    assert!(matches!(
        sim.events().last(),
        Some((_, TxEvent::StrayResponse { .. }))
    ));
}
