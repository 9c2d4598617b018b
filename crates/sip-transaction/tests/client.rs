//! Client transactions: the ACK for non-2xx, RFC 6026 Accepted, Via checks,
//! API misuse, transport errors, determinism.

mod common;

use common::*;
use sb_sip_message::Transport::{Tcp, Udp};
use sb_sip_message::{HeaderName, Message, Method, Request};
use sb_sip_transaction::{TimerConfig, TransactionLayer, TxError, TxEvent, TxState};

fn transmitted_request(sim: &Sim, index: usize) -> Request {
    match Message::parse(sim.transmits[index].1.payload.clone()).expect("we send valid SIP") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

#[test]
fn ack_for_a_non_2xx_is_generated_and_repeated() {
    let mut sim = Sim::new(TimerConfig::default());
    let branch = sim.layer.new_branch();
    let invite = outgoing("INVITE", Udp, branch.as_str());
    let tx = sim.send_request(ms(0), invite.clone(), dest(Udp));
    sim.inbound(ms(100), reply(&invite, 100).into_message(), peer(Udp));
    let busy = reply(&invite, 486);
    sim.inbound(ms(200), busy.clone().into_message(), peer(Udp));

    // INVITE, then the ACK to the same destination.
    assert_eq!(sim.send_times(), [ms(0), ms(200)]);
    assert_eq!(sim.transmits[1].1.dest, dest(Udp));
    let ack = transmitted_request(&sim, 1);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, invite.uri);
    let h = |r: &Request, name: HeaderName| -> Vec<String> {
        r.headers.get_all(&name).map(|v| v.to_string()).collect()
    };
    for name in [
        HeaderName::Via,
        HeaderName::Route,
        HeaderName::From,
        HeaderName::CallId,
        HeaderName::MaxForwards,
    ] {
        assert_eq!(h(&ack, name.clone()), h(&invite, name.clone()), "{name}");
    }
    assert_eq!(
        h(&ack, HeaderName::To),
        [busy.headers.get(&HeaderName::To).expect("To").to_string()]
    );
    assert_eq!(h(&ack, HeaderName::CSeq), ["17 ACK"]);
    assert!(h(&ack, HeaderName::Contact).is_empty());

    // The 486 went to the TU once; its retransmission only repeats the ACK.
    sim.inbound(ms(300), busy.into_message(), peer(Udp));
    assert_eq!(sim.send_times(), [ms(0), ms(200), ms(300)]);
    assert_eq!(sim.transmits[2].1.payload, sim.transmits[1].1.payload);
    let responses = sim
        .events()
        .into_iter()
        .filter(|(_, e)| matches!(e, TxEvent::Response { .. }))
        .count();
    assert_eq!(responses, 2, "100 and the first 486");
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Completed));
}

#[test]
fn accepted_passes_2xx_retransmissions_and_sends_no_ack() {
    let mut sim = Sim::new(TimerConfig::default());
    let branch = sim.layer.new_branch();
    let invite = outgoing("INVITE", Udp, branch.as_str());
    let tx = sim.send_request(ms(0), invite.clone(), dest(Udp));
    let ok = reply(&invite, 200);
    sim.inbound(ms(100), ok.clone().into_message(), peer(Udp));
    sim.inbound(ms(600), ok.clone().into_message(), peer(Udp));
    // A 2xx from another fork also goes up; non-2xx are ignored.
    let mut forked = ok.clone();
    forked
        .headers
        .set(HeaderName::To, "Bob <sip:bob@example.com>;tag=fork2");
    sim.inbound(ms(700), forked.clone().into_message(), peer(Udp));
    sim.inbound(ms(800), reply(&invite, 503).into_message(), peer(Udp));
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Accepted));
    assert_eq!(
        sim.events(),
        [
            (
                ms(100),
                TxEvent::Response {
                    tx,
                    response: ok.clone()
                }
            ),
            (
                ms(600),
                TxEvent::Response {
                    tx,
                    response: ok.clone()
                }
            ),
            (
                ms(700),
                TxEvent::Response {
                    tx,
                    response: forked
                }
            ),
        ]
    );
    assert_eq!(sim.send_times(), [ms(0)], "the TU sends the ACK for a 2xx");
    // The request stays available while Accepted, for building that ACK.
    assert_eq!(sim.layer.request_of(tx), Some(&invite));

    // After Timer M, 2xx retransmissions are strays (RFC 6026 §8.4).
    sim.run_until(ms(40_000));
    sim.take_log();
    sim.inbound(ms(40_000), ok.into_message(), peer(Udp));
    assert!(matches!(
        sim.take_log()[..],
        [Out::Event(_, TxEvent::StrayResponse { .. })]
    ));
}

#[test]
fn responses_with_the_wrong_number_of_vias_are_dropped() {
    let mut sim = Sim::new(TimerConfig::default());
    let branch = sim.layer.new_branch();
    let options = outgoing("OPTIONS", Udp, branch.as_str());
    let tx = sim.send_request(ms(0), options.clone(), dest(Udp));
    let mut two_vias = reply(&options, 200);
    two_vias.headers.push(
        HeaderName::Via,
        "SIP/2.0/UDP 192.0.2.200;branch=z9hG4bKextra",
    );
    sim.inbound(ms(10), two_vias.into_message(), peer(Udp));
    assert_eq!(sim.layer.stats().dropped_responses, 1);
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Trying));

    // A request forwarded as a proxy has two Vias; so has its response.
    let branch = sim.layer.new_branch();
    let mut forwarded = outgoing("MESSAGE", Udp, branch.as_str());
    forwarded.headers.push(
        HeaderName::Via,
        "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKuac",
    );
    let proxied = sim.send_request(ms(20), forwarded.clone(), dest(Udp));
    sim.inbound(ms(30), reply(&forwarded, 200).into_message(), peer(Udp));
    assert_eq!(sim.layer.state_of(proxied), Some(TxState::Completed));

    // No Via or no CSeq at all: dropped.
    let mut no_via = reply(&options, 200);
    no_via.headers.remove_all(&HeaderName::Via);
    sim.inbound(ms(40), no_via.into_message(), peer(Udp));
    let mut no_cseq = reply(&options, 200);
    no_cseq.headers.remove_all(&HeaderName::CSeq);
    sim.inbound(ms(40), no_cseq.into_message(), peer(Udp));
    assert_eq!(sim.layer.stats().dropped_responses, 3);
}

#[test]
fn unmatched_responses_are_strays() {
    let mut sim = Sim::new(TimerConfig::default());
    let options = outgoing("OPTIONS", Udp, "z9hG4bKnobody");
    let ok = reply(&options, 200);
    sim.inbound(ms(0), ok.clone().into_message(), peer(Udp));
    assert_eq!(
        sim.take_log(),
        [Out::Event(
            ms(0),
            TxEvent::StrayResponse {
                response: ok,
                peer: peer(Udp)
            }
        )]
    );
}

#[test]
fn send_request_refusals() {
    let mut layer = TransactionLayer::new(TimerConfig::default(), SEED);
    let now = std::time::Instant::now();
    let branch = layer.new_branch();
    assert_eq!(
        layer.send_request(now, outgoing("ACK", Udp, branch.as_str()), dest(Udp)),
        Err(TxError::AckRequest)
    );
    assert_eq!(
        layer.send_request(now, outgoing("OPTIONS", Udp, "1234"), dest(Udp)),
        Err(TxError::MissingBranch)
    );
    let mut no_via = outgoing("OPTIONS", Udp, branch.as_str());
    no_via.headers.remove_all(&HeaderName::Via);
    assert!(matches!(
        layer.send_request(now, no_via, dest(Udp)),
        Err(TxError::InvalidVia { .. })
    ));
    let mut no_cseq = outgoing("INVITE", Udp, branch.as_str());
    no_cseq.headers.remove_all(&HeaderName::CSeq);
    assert!(matches!(
        layer.send_request(now, no_cseq, dest(Udp)),
        Err(TxError::InvalidCSeq { .. })
    ));
    let tx = layer
        .send_request(now, outgoing("OPTIONS", Udp, branch.as_str()), dest(Udp))
        .expect("first use of the branch");
    assert_eq!(
        layer.send_request(now, outgoing("OPTIONS", Udp, branch.as_str()), dest(Udp)),
        Err(TxError::DuplicateBranch {
            branch: branch.clone(),
            method: Method::Options,
            tx
        })
    );
    // Nothing was sent for the refused requests.
    assert!(layer.poll_transmit().is_some());
    assert!(layer.poll_transmit().is_none());
}

#[test]
fn send_stateless_transmits_as_is() {
    let mut layer = TransactionLayer::new(TimerConfig::default(), SEED);
    let ack = outgoing("ACK", Udp, "z9hG4bKack2xx");
    layer.send_stateless(Message::Request(ack.clone()), dest(Udp));
    let t = layer.poll_transmit().expect("sent");
    assert_eq!((t.dest, t.payload), (dest(Udp), ack.to_bytes()));
    assert_eq!(layer.stats().live(), 0);
    assert_eq!(layer.poll_timeout(), None);
}

#[test]
fn transport_errors() {
    let mut sim = Sim::new(TimerConfig::default());
    let b1 = sim.layer.new_branch();
    let b2 = sim.layer.new_branch();
    let b3 = sim.layer.new_branch();
    let b4 = sim.layer.new_branch();
    // Client INVITE in Calling and client non-INVITE in Trying: both end.
    let calling = sim.send_request(ms(0), outgoing("INVITE", Udp, b1.as_str()), dest(Udp));
    let trying = sim.send_request(ms(0), outgoing("OPTIONS", Udp, b2.as_str()), dest(Udp));
    // Client INVITE in Proceeding: sends nothing, not affected.
    let invite = outgoing("INVITE", Udp, b3.as_str());
    let proceeding = sim.send_request(ms(0), invite.clone(), dest(Udp));
    sim.inbound(ms(10), reply(&invite, 180).into_message(), peer(Udp));
    // Another destination: not affected.
    let mut elsewhere = dest(Udp);
    elsewhere.remote = "198.51.100.99:5060".parse().expect("address");
    let other = sim.send_request(ms(0), outgoing("OPTIONS", Udp, b4.as_str()), elsewhere);
    sim.take_log();

    sim.transport_error(ms(20), dest(Udp));
    assert_eq!(
        sim.events(),
        [
            (ms(20), TxEvent::TransportError { tx: calling }),
            (ms(20), TxEvent::Terminated { tx: calling }),
            (ms(20), TxEvent::TransportError { tx: trying }),
            (ms(20), TxEvent::Terminated { tx: trying }),
        ]
    );
    assert_eq!(sim.layer.state_of(proceeding), Some(TxState::Proceeding));
    assert_eq!(sim.layer.state_of(other), Some(TxState::Trying));
    // Their timers are gone with them: only the others' retransmissions follow.
    sim.take_log();
    sim.run_until(ms(600));
    assert_eq!(sim.send_times(), [ms(500)]);
}

#[test]
fn server_transport_errors() {
    let mut sim = Sim::new(TimerConfig::default());
    let via = |b: &str| format!("SIP/2.0/TCP 192.0.2.10:5060;branch={b}");
    sim.inbound(
        ms(0),
        inbound(request_with("REGISTER", &via("z9hG4bKt1"), 1, None)),
        peer(Tcp),
    );
    let (trying, _) = sim.last_server_tx();
    sim.inbound(
        ms(0),
        inbound(request_with("REGISTER", &via("z9hG4bKt2"), 2, None)),
        peer(Tcp),
    );
    let (proceeding, register) = sim.last_server_tx();
    sim.respond(ms(0), proceeding, reply(&register, 100));
    sim.inbound(
        ms(0),
        inbound(request_with("INVITE", &via("z9hG4bKt3"), 3, None)),
        peer(Tcp),
    );
    let (invite_tx, invite) = sim.last_server_tx();
    sim.respond(ms(0), invite_tx, reply(&invite, 486));
    // A UDP server transaction towards the same address is not indexed for
    // transport errors (a UDP response has no delivery feedback).
    sim.inbound(
        ms(0),
        inbound(request_with(
            "REGISTER",
            "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKt4",
            4,
            None,
        )),
        peer(Udp),
    );
    let (udp_tx, udp_register) = sim.last_server_tx();
    sim.respond(ms(0), udp_tx, reply(&udp_register, 100));
    sim.take_log();

    let d = sim.layer.destination_of(proceeding).expect("live");
    sim.transport_error(ms(100), d);
    assert_eq!(
        sim.events(),
        [
            (ms(100), TxEvent::TransportError { tx: proceeding }),
            (ms(100), TxEvent::Terminated { tx: proceeding }),
            // RFC 6026 Figure 7: reported, no state change.
            (ms(100), TxEvent::TransportError { tx: invite_tx }),
        ]
    );
    assert_eq!(sim.layer.state_of(trying), Some(TxState::Trying));
    assert_eq!(sim.layer.state_of(invite_tx), Some(TxState::Completed));
    let udp_dest = sim.layer.destination_of(udp_tx).expect("live");
    sim.transport_error(ms(200), udp_dest);
    assert_eq!(sim.layer.state_of(udp_tx), Some(TxState::Proceeding));
}

#[test]
fn reliable_client_error_before_any_answer() {
    let mut sim = Sim::new(TimerConfig::default());
    let branch = sim.layer.new_branch();
    let tx = sim.send_request(ms(0), outgoing("INVITE", Tcp, branch.as_str()), dest(Tcp));
    sim.transport_error(ms(1), dest(Tcp));
    assert_eq!(sim.layer.state_of(tx), None);
    assert_eq!(sim.layer.poll_timeout(), None, "Timer B is cancelled");
}

/// The same seed and inputs give byte-identical outputs.
#[test]
fn deterministic() {
    fn run() -> Vec<Out> {
        let mut sim = Sim::new(TimerConfig::default());
        for i in 0..20 {
            let branch = sim.layer.new_branch();
            let method = if i % 2 == 0 { "INVITE" } else { "OPTIONS" };
            let request = outgoing(method, Udp, branch.as_str());
            sim.send_request(ms(i * 10), request, dest(Udp));
            let via = format!("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKdet{i}");
            sim.inbound(
                ms(i * 10),
                inbound(request_with(method, &via, 1, None)),
                peer(Udp),
            );
            let (tx, r) = sim.last_server_tx();
            sim.respond(ms(i * 10 + 5), tx, reply(&r, 404));
        }
        sim.run_to_end();
        // The log has first lines and events; the payloads carry the branches.
        let payloads = sim
            .transmits
            .iter()
            .map(|(t, x)| Out::Sent(*t, String::from_utf8_lossy(&x.payload).into_owned()));
        sim.log.clone().into_iter().chain(payloads).collect()
    }
    assert_eq!(run(), run());
}

/// RFC 3261 §9.1: an INVITE in Proceeding that never gets a final response
/// after its CANCEL is given up by the TU; later responses are strays.
#[test]
fn abandoned_transaction_is_gone() {
    let mut sim = Sim::new(TimerConfig::default());
    let invite = outgoing("INVITE", Udp, "z9hG4bKabandon");
    let tx = sim.send_request(ms(0), invite.clone(), dest(Udp));
    sim.inbound(ms(10), reply(&invite, 180).into_message(), peer(Udp));
    assert_eq!(sim.layer.state_of(tx), Some(TxState::Proceeding));
    sim.take_log();
    assert!(sim.layer.abandon(tx));
    assert!(!sim.layer.abandon(tx));
    assert_eq!(sim.layer.poll_event(), Some(TxEvent::Terminated { tx }));
    assert_eq!(sim.layer.state_of(tx), None);
    assert_eq!(sim.layer.stats().live(), 0);
    let late = reply(&invite, 487);
    sim.inbound(ms(20), late.clone().into_message(), peer(Udp));
    assert_eq!(
        sim.take_log(),
        [Out::Event(
            ms(20),
            TxEvent::StrayResponse {
                response: late,
                peer: peer(Udp)
            }
        )]
    );
    sim.run_to_end();
}
