//! Server transactions: stamping, retransmission absorption in every state,
//! RFC 6026 Accepted, response destinations, API misuse, memory release.

mod common;

use bytes::Bytes;
use common::*;
use sb_sip_message::Transport::{Tcp, Udp};
use sb_sip_message::{Destination, FlowId, HeaderName, Message, Peer, StatusCode, Transport};
use sb_sip_transaction::{TimerConfig, TxError, TxEvent, TxKind, TxState};

fn udp_via(branch: &str) -> String {
    format!("SIP/2.0/UDP 192.0.2.10:5060;branch={branch}")
}

#[test]
fn top_via_is_stamped_before_the_tu_sees_it() {
    let mut sim = Sim::new(TimerConfig::default());
    // NAT: the sent-by differs from the source and rport is asked for.
    let via = "SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKnat";
    sim.inbound(
        ms(0),
        inbound(request_with("REGISTER", via, 1, None)),
        peer(Udp),
    );
    let (_, register) = sim.last_server_tx();
    let stamped = register.headers.top_via().expect("Via");
    assert_eq!(stamped.received(), Some("192.0.2.10".parse().expect("ip")));
    assert_eq!(stamped.rport(), Some(Some(40000)));

    // sent-by equals the source and no rport: the Via is left as it was.
    let plain = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKplain";
    sim.inbound(
        ms(0),
        inbound(request_with("REGISTER", plain, 2, None)),
        peer(Udp),
    );
    let (_, register) = sim.last_server_tx();
    assert_eq!(
        register.headers.get(&HeaderName::Via).map(|v| v.as_str()),
        Some(plain)
    );
}

#[test]
fn responses_go_to_the_computed_destination() {
    // (transport, top Via, expected remote, flow)
    let rows = [
        (
            Udp,
            "SIP/2.0/UDP 10.0.0.5:5070;rport;branch=z9hG4bKd1",
            "192.0.2.10:40000",
            None,
        ),
        (
            Udp,
            "SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKd2",
            "192.0.2.10:5070",
            None,
        ),
        (
            Tcp,
            "SIP/2.0/TCP 10.0.0.5:5070;branch=z9hG4bKd3",
            "192.0.2.10:5070",
            Some(FlowId(7)),
        ),
    ];
    for (transport, via, remote, flow) in rows {
        let mut sim = Sim::new(TimerConfig::default());
        sim.inbound(
            ms(0),
            inbound(request_with("OPTIONS", via, 1, None)),
            peer(transport),
        );
        let (tx, options) = sim.last_server_tx();
        sim.respond(ms(0), tx, reply(&options, 200));
        let expected = Destination {
            transport,
            remote: remote.parse().expect("address"),
            flow,
            local: Some(peer(transport).local),
        };
        assert_eq!(sim.transmits[0].1.dest, expected, "{via}");
    }
}

#[test]
fn non_invite_retransmissions_in_each_state() {
    let mut sim = Sim::new(TimerConfig::default());
    let register = || inbound(request_with("REGISTER", &udp_via("z9hG4bKr1"), 1, None));
    sim.inbound(ms(0), register(), peer(Udp));
    let (tx, request) = sim.last_server_tx();
    sim.take_log();

    // Trying: absorbed, nothing sent, no new transaction.
    sim.inbound(ms(500), register(), peer(Udp));
    assert_eq!(sim.take_log(), []);
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Trying));

    // Proceeding: the last provisional response again.
    sim.respond(ms(600), tx, reply(&request, 100));
    sim.respond(ms(700), tx, reply(&request, 183));
    sim.take_log();
    sim.inbound(ms(1500), register(), peer(Udp));
    assert_eq!(
        sim.take_log(),
        [Out::Sent(ms(1500), "SIP/2.0 183 Session Progress".into())]
    );
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Proceeding));

    // Completed: the final response again.
    sim.respond(ms(2000), tx, reply(&request, 200));
    sim.take_log();
    sim.inbound(ms(3500), register(), peer(Udp));
    assert_eq!(
        sim.take_log(),
        [Out::Sent(ms(3500), "SIP/2.0 200 OK".into())]
    );
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Completed));
    assert_eq!(sim.layer.stats().server_non_invite.completed, 1);

    // After Timer J the same request is a new transaction.
    sim.run_until(ms(34_100));
    sim.take_log();
    sim.inbound(ms(34_100), register(), peer(Udp));
    let (new_tx, _) = sim.last_server_tx();
    assert!(new_tx > tx);
}

#[test]
fn invite_retransmissions_in_each_state() {
    let invite = |branch: &str| inbound(request_with("INVITE", &udp_via(branch), 1, None));
    let ack = |branch: &str| inbound(request_with("ACK", &udp_via(branch), 1, Some("a6c85cf")));

    // Proceeding without a provisional response: nothing to resend.
    let mut sim = Sim::new(TimerConfig::default());
    sim.inbound(ms(0), invite("z9hG4bKv1"), peer(Udp));
    let (tx, request) = sim.last_server_tx();
    sim.take_log();
    sim.inbound(ms(500), invite("z9hG4bKv1"), peer(Udp));
    assert_eq!(sim.take_log(), []);

    // Proceeding: the last provisional response.
    sim.respond(ms(600), tx, reply(&request, 100));
    sim.respond(ms(700), tx, reply(&request, 180));
    sim.take_log();
    sim.inbound(ms(1500), invite("z9hG4bKv1"), peer(Udp));
    assert_eq!(
        sim.take_log(),
        [Out::Sent(ms(1500), "SIP/2.0 180 Ringing".into())]
    );

    // Completed: the final response.
    sim.respond(ms(2000), tx, reply(&request, 486));
    sim.take_log();
    sim.inbound(ms(2100), invite("z9hG4bKv1"), peer(Udp));
    assert_eq!(
        sim.take_log(),
        [Out::Sent(ms(2100), "SIP/2.0 486 Busy Here".into())]
    );

    // Confirmed: INVITEs and ACKs are absorbed.
    sim.inbound(ms(2200), ack("z9hG4bKv1"), peer(Udp));
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Confirmed));
    sim.inbound(ms(2300), invite("z9hG4bKv1"), peer(Udp));
    sim.inbound(ms(2400), ack("z9hG4bKv1"), peer(Udp));
    assert_eq!(sim.take_log(), []);

    // Accepted: INVITE retransmissions are absorbed (RFC 6026 §8.7).
    let mut sim = Sim::new(TimerConfig::default());
    sim.inbound(ms(0), invite("z9hG4bKv2"), peer(Udp));
    let (tx, request) = sim.last_server_tx();
    sim.respond(ms(100), tx, reply(&request, 200));
    sim.take_log();
    sim.inbound(ms(500), invite("z9hG4bKv2"), peer(Udp));
    assert_eq!(sim.take_log(), []);
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Accepted));
}

#[test]
fn accepted_passes_acks_up_and_sends_2xx_retransmissions() {
    let mut sim = Sim::new(TimerConfig::default());
    sim.inbound(
        ms(0),
        inbound(request_with("INVITE", &udp_via("z9hG4bKacc"), 1, None)),
        peer(Udp),
    );
    let (tx, request) = sim.last_server_tx();
    let ok = reply(&request, 200);
    sim.respond(ms(100), tx, ok.clone());
    // The TU retransmits its 2xx (RFC 3261 §13.3.1.4) through the transaction.
    sim.respond(ms(600), tx, ok);
    // A non-2xx is refused now.
    let refused = sim.layer.send_response(sim.now, tx, reply(&request, 500));
    assert_eq!(
        refused,
        Err(TxError::InvalidState {
            tx,
            state: TxState::Accepted,
            status: StatusCode::SERVER_INTERNAL_ERROR
        })
    );
    sim.take_log();

    // The ACK for the 2xx has its own branch: it matches nothing and goes to the TU.
    let ack = request_with("ACK", &udp_via("z9hG4bKack2xx"), 1, Some("a6c85cf"));
    sim.inbound(ms(700), inbound(ack.clone()), peer(Udp));
    // An ACK that matches the transaction (same branch) in Accepted also goes up
    // (RFC 6026 §7.1).
    let same_branch = request_with("ACK", &udp_via("z9hG4bKacc"), 1, Some("a6c85cf"));
    sim.inbound(ms(800), inbound(same_branch.clone()), peer(Udp));
    assert_eq!(
        sim.take_log(),
        [
            Out::Event(
                ms(700),
                TxEvent::Ack {
                    request: ack,
                    peer: peer(Udp)
                }
            ),
            Out::Event(
                ms(800),
                TxEvent::Ack {
                    request: same_branch,
                    peer: peer(Udp)
                }
            ),
        ]
    );
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Accepted));
}

#[test]
fn stray_ack_goes_to_the_tu() {
    let mut sim = Sim::new(TimerConfig::default());
    let ack = request_with(
        "ACK",
        "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKstray",
        1,
        Some("x"),
    );
    sim.inbound(ms(0), inbound(ack), peer(Udp));
    let events = sim.events();
    assert_eq!(events.len(), 1);
    let TxEvent::Ack { request, .. } = &events[0].1 else {
        panic!("expected an Ack event, got {events:?}");
    };
    // Stamped like every inbound request.
    assert!(request.headers.top_via().expect("Via").received().is_some());
    assert_eq!(sim.layer.stats().live(), 0);
}

#[test]
fn send_response_refusals() {
    let mut sim = Sim::new(TimerConfig::default());
    sim.inbound(
        ms(0),
        inbound(request_with("MESSAGE", &udp_via("z9hG4bKm1"), 1, None)),
        peer(Udp),
    );
    let (tx, request) = sim.last_server_tx();
    sim.respond(ms(0), tx, reply(&request, 202));
    let again = sim.layer.send_response(sim.now, tx, reply(&request, 200));
    assert_eq!(
        again,
        Err(TxError::InvalidState {
            tx,
            state: TxState::Completed,
            status: StatusCode::OK
        })
    );

    let branch = sim.layer.new_branch();
    let client = sim.send_request(ms(0), outgoing("OPTIONS", Udp, branch.as_str()), dest(Udp));
    assert_eq!(
        sim.layer
            .send_response(sim.now, client, reply(&request, 200)),
        Err(TxError::NotServerTransaction {
            tx: client,
            kind: TxKind::ClientNonInvite
        })
    );

    // Over TCP the transaction ends with its final response: the id is gone.
    sim.inbound(
        ms(0),
        inbound(request_with(
            "MESSAGE",
            "SIP/2.0/TCP 192.0.2.10;branch=z9hG4bKm2",
            1,
            None,
        )),
        peer(Tcp),
    );
    let (tcp_tx, request) = sim.last_server_tx();
    sim.respond(ms(0), tcp_tx, reply(&request, 200));
    assert_eq!(
        sim.layer
            .send_response(sim.now, tcp_tx, reply(&request, 200)),
        Err(TxError::UnknownTransaction { tx: tcp_tx })
    );
}

#[test]
fn timer_h_reports_a_missing_ack() {
    let mut sim = Sim::new(TimerConfig::default());
    sim.inbound(
        ms(0),
        inbound(request_with("INVITE", &udp_via("z9hG4bKh"), 1, None)),
        peer(Udp),
    );
    let (tx, request) = sim.last_server_tx();
    sim.respond(ms(0), tx, reply(&request, 404));
    sim.run_to_end();
    let events: Vec<TxEvent> = sim.events().into_iter().map(|(_, e)| e).collect();
    assert_eq!(
        events[1..],
        [TxEvent::Timeout { tx }, TxEvent::Terminated { tx }]
    );
}

#[test]
fn non_invite_server_keeps_no_request_and_releases_everything_at_terminated() {
    let raw = Bytes::from(
        "REGISTER sip:example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKmem\r\n\
         Max-Forwards: 70\r\nTo: <sip:alice@example.com>\r\n\
         From: <sip:alice@example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
            .to_owned(),
    );
    let message = Message::parse(raw.clone()).expect("parses");
    let mut sim = Sim::new(TimerConfig::default());
    sim.inbound(ms(0), message, peer(Udp));
    let (tx, request) = sim.last_server_tx();
    assert_eq!(sim.layer.request_of(tx), None);
    let ok = reply(&request, 200);
    drop(request);
    sim.take_log();

    sim.respond(ms(0), tx, ok);
    sim.take_log();
    assert!(
        raw.is_unique(),
        "the transaction holds no copy of the request, only the serialized response"
    );
    assert_eq!(sim.layer.stats().server_non_invite.completed, 1);

    sim.run_to_end();
    assert_eq!(sim.layer.state_of(tx), None);
    let stats = sim.layer.stats();
    assert_eq!((stats.live(), stats.queued_timers), (0, 0));
    // The retransmission buffer is gone too: a new request with the same
    // branch is a new transaction.
    sim.take_log();
    sim.inbound(ms(40_000), Message::parse(raw).expect("parses"), peer(Udp));
    assert!(sim.last_server_tx().0 > tx);
}

#[test]
fn stats_follow_states() {
    let mut sim = Sim::new(TimerConfig::default());
    sim.inbound(
        ms(0),
        inbound(request_with("INVITE", &udp_via("z9hG4bKs1"), 1, None)),
        peer(Udp),
    );
    let (invite_tx, invite) = sim.last_server_tx();
    sim.inbound(
        ms(0),
        inbound(request_with("OPTIONS", &udp_via("z9hG4bKs2"), 1, None)),
        peer(Udp),
    );
    let stats = sim.layer.stats();
    assert_eq!(
        (
            stats.server_invite.proceeding,
            stats.server_non_invite.trying
        ),
        (1, 1)
    );
    sim.respond(ms(0), invite_tx, reply(&invite, 480));
    let stats = sim.layer.stats();
    assert_eq!(
        (
            stats.server_invite.proceeding,
            stats.server_invite.completed
        ),
        (0, 1)
    );
    assert_eq!(stats.live(), 2);
}

#[test]
fn reliable_peer_address_is_not_the_reconnect_address() {
    // A TCP request from an ephemeral port: responses prefer the flow, and the
    // fallback address uses the sent-by port.
    let tcp = Peer {
        transport: Transport::Tcp,
        remote: "192.0.2.10:51000".parse().expect("address"),
        local: "192.0.2.1:5060".parse().expect("address"),
        flow: Some(FlowId(99)),
    };
    let mut sim = Sim::new(TimerConfig::default());
    let via = "SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bKtcp";
    sim.inbound(ms(0), inbound(request_with("INVITE", via, 1, None)), tcp);
    let (tx, _) = sim.last_server_tx();
    let d = sim.layer.destination_of(tx).expect("live");
    assert_eq!((d.flow, d.remote.port()), (Some(FlowId(99)), 5062));
}
