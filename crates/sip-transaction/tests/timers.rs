//! Exact timer schedules (RFC 3261 §17, RFC 6026 §8), over UDP and TCP, with the
//! default T1 and with T1 = 100 ms.

mod common;

use std::time::Duration;

use common::*;
use sb_sip_message::Transport::{self, Tcp, Udp};
use sb_sip_transaction::{TimerConfig, TxEvent, TxId};

fn ms_list(list: &[u64]) -> Vec<Duration> {
    list.iter().map(|&n| ms(n)).collect()
}

fn default() -> TimerConfig {
    TimerConfig::default()
}

/// Every transmit of the scenario carries the same bytes (retransmissions are
/// exact copies).
fn assert_identical_payloads(sim: &Sim) {
    let first = &sim.transmits[0].1.payload;
    assert!(sim.transmits.iter().all(|(_, t)| t.payload == *first));
}

#[test]
fn client_invite_without_answer() {
    #[rustfmt::skip]
    let rows: [(TimerConfig, Transport, &[u64], u64); 4] = [
        (default(), Udp, &[0, 500, 1500, 3500, 7500, 15500, 31500], 32_000),
        (default(), Tcp, &[0], 32_000),
        (fast(), Udp, &[0, 100, 300, 700, 1500, 3100, 6300], 6_400),
        (fast(), Tcp, &[0], 6_400),
    ];
    for (config, transport, sends, timeout) in rows {
        let mut sim = Sim::new(config);
        let branch = sim.layer.new_branch();
        let tx = sim.send_request(
            ms(0),
            outgoing("INVITE", transport, branch.as_str()),
            dest(transport),
        );
        sim.run_to_end();
        let row = format!("{transport} T1={:?}", config.t1);
        assert_eq!(sim.send_times(), ms_list(sends), "{row}");
        assert_identical_payloads(&sim);
        assert_eq!(
            sim.events(),
            [
                (ms(timeout), TxEvent::Timeout { tx }),
                (ms(timeout), TxEvent::Terminated { tx })
            ],
            "{row}"
        );
        assert_eq!(sim.layer.stats().live(), 0, "{row}");
    }
}

#[test]
fn client_non_invite_without_answer() {
    let small_t2 = TimerConfig {
        t1: ms(100),
        t2: ms(400),
        ..TimerConfig::default()
    };
    #[rustfmt::skip]
    let rows: [(TimerConfig, Transport, &[u64], u64); 5] = [
        (default(), Udp, &[0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500], 32_000),
        (default(), Tcp, &[0], 32_000),
        (fast(), Udp, &[0, 100, 300, 700, 1500, 3100, 6300], 6_400),
        (fast(), Tcp, &[0], 6_400),
        // The cap follows T2.
        (small_t2, Udp, &[0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300,
                          4700, 5100, 5500, 5900, 6300], 6_400),
    ];
    for (config, transport, sends, timeout) in rows {
        let mut sim = Sim::new(config);
        let branch = sim.layer.new_branch();
        let tx = sim.send_request(
            ms(0),
            outgoing("OPTIONS", transport, branch.as_str()),
            dest(transport),
        );
        sim.run_to_end();
        let row = format!("{transport} T1={:?} T2={:?}", config.t1, config.t2);
        assert_eq!(sim.send_times(), ms_list(sends), "{row}");
        assert_identical_payloads(&sim);
        assert_eq!(
            sim.events(),
            [
                (ms(timeout), TxEvent::Timeout { tx }),
                (ms(timeout), TxEvent::Terminated { tx })
            ],
            "{row}"
        );
    }
}

/// After a provisional response the running Timer E keeps its deadline; every
/// later retransmission comes T2 after the previous one (RFC 3261 §17.1.2.2).
#[test]
fn client_non_invite_after_provisional_retransmits_every_t2() {
    #[rustfmt::skip]
    let rows: [(TimerConfig, u64, &[u64], u64); 2] = [
        (default(), 600, &[0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500], 32_000),
        (fast(), 150, &[0, 100, 300, 4300], 6_400),
    ];
    for (config, provisional_at, sends, timeout) in rows {
        let mut sim = Sim::new(config);
        let branch = sim.layer.new_branch();
        let request = outgoing("SUBSCRIBE", Udp, branch.as_str());
        let tx = sim.send_request(ms(0), request.clone(), dest(Udp));
        let trying = reply(&request, 100);
        sim.inbound(ms(provisional_at), trying.clone().into_message(), peer(Udp));
        sim.run_to_end();
        assert_eq!(sim.send_times(), ms_list(sends), "T1={:?}", config.t1);
        assert_eq!(
            sim.events(),
            [
                (
                    ms(provisional_at),
                    TxEvent::Response {
                        tx,
                        response: trying
                    }
                ),
                (ms(timeout), TxEvent::Timeout { tx }),
                (ms(timeout), TxEvent::Terminated { tx }),
            ]
        );
    }
}

/// Timer G retransmits the non-2xx final response (T1 doubling, capped at T2)
/// until Timer H gives up on the ACK.
#[test]
fn server_invite_final_response_until_timer_h() {
    #[rustfmt::skip]
    let rows: [(TimerConfig, Transport, &[u64], u64); 4] = [
        (default(), Udp, &[0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500], 32_000),
        (default(), Tcp, &[0], 32_000),
        (fast(), Udp, &[0, 100, 300, 700, 1500, 3100, 6300], 6_400),
        (fast(), Tcp, &[0], 6_400),
    ];
    for (config, transport, sends, timeout) in rows {
        let mut sim = Sim::new(config);
        sim.inbound(
            ms(0),
            inbound(request("INVITE", transport, "z9hG4bKg1")),
            peer(transport),
        );
        let (tx, invite) = sim.last_server_tx();
        sim.take_log();
        sim.respond(ms(0), tx, reply(&invite, 486));
        sim.run_to_end();
        let row = format!("{transport} T1={:?}", config.t1);
        assert_eq!(sim.send_times(), ms_list(sends), "{row}");
        assert_identical_payloads(&sim);
        assert_eq!(
            sim.events(),
            [
                (ms(timeout), TxEvent::Timeout { tx }),
                (ms(timeout), TxEvent::Terminated { tx })
            ],
            "{row}"
        );
    }
}

/// The time of the `Terminated` event of `tx`.
fn terminated_at(sim: &Sim, tx: TxId) -> Duration {
    sim.events()
        .into_iter()
        .find_map(|(t, e)| (e == TxEvent::Terminated { tx }).then_some(t))
        .expect("terminated")
}

#[test]
fn timer_d() {
    // (config, transport, Terminated at) for a 486 received at 1 s.
    let rows = [
        (default(), Udp, 33_000),
        (default(), Tcp, 1_000),
        // D is at least 32 s whatever T1 (RFC 3261 §17.1.1.2).
        (fast(), Udp, 33_000),
        (fast(), Tcp, 1_000),
    ];
    for (config, transport, end) in rows {
        let mut sim = Sim::new(config);
        let branch = sim.layer.new_branch();
        let invite = outgoing("INVITE", transport, branch.as_str());
        let tx = sim.send_request(ms(0), invite.clone(), dest(transport));
        sim.inbound(ms(50), reply(&invite, 100).into_message(), peer(transport));
        sim.inbound(
            ms(1_000),
            reply(&invite, 486).into_message(),
            peer(transport),
        );
        sim.run_to_end();
        assert_eq!(
            terminated_at(&sim, tx),
            ms(end),
            "{transport} T1={:?}",
            config.t1
        );
        // INVITE at 0, ACK at 1 s.
        assert_eq!(sim.send_times(), ms_list(&[0, 1_000]));
    }
}

#[test]
fn timer_i() {
    // (config, transport, Terminated at) for an ACK received at 2 s.
    let rows = [
        (default(), Udp, 7_000),
        (default(), Tcp, 2_000),
        (fast(), Udp, 7_000),
        (fast(), Tcp, 2_000),
    ];
    for (config, transport, end) in rows {
        let mut sim = Sim::new(config);
        sim.inbound(
            ms(0),
            inbound(request("INVITE", transport, "z9hG4bKi1")),
            peer(transport),
        );
        let (tx, invite) = sim.last_server_tx();
        sim.respond(ms(0), tx, reply(&invite, 603));
        // The ACK comes before the first Timer G retransmission (UDP, T1 = 500 ms)
        // only in the default configuration; either way it stops Timer G.
        let via = format!(
            "SIP/2.0/{} 192.0.2.10:5060;branch=z9hG4bKi1",
            transport.as_str()
        );
        let ack = request_with("ACK", &via, 1, Some("a6c85cf"));
        sim.inbound(ms(2_000), inbound(ack), peer(transport));
        let sent_before_ack = sim.send_times().len();
        sim.run_to_end();
        assert_eq!(
            terminated_at(&sim, tx),
            ms(end),
            "{transport} T1={:?}",
            config.t1
        );
        assert_eq!(
            sim.send_times().len(),
            sent_before_ack,
            "nothing sent after the ACK"
        );
        assert!(
            !sim.events()
                .iter()
                .any(|(_, e)| matches!(e, TxEvent::Ack { .. })),
            "the ACK for a non-2xx is absorbed"
        );
    }
}

#[test]
fn timer_j() {
    // (config, transport, Terminated at) for a 200 sent at 1 s.
    let rows = [
        (default(), Udp, 33_000),
        (default(), Tcp, 1_000),
        (fast(), Udp, 7_400),
        (fast(), Tcp, 1_000),
    ];
    for (config, transport, end) in rows {
        let mut sim = Sim::new(config);
        sim.inbound(
            ms(0),
            inbound(request("REGISTER", transport, "z9hG4bKj1")),
            peer(transport),
        );
        let (tx, register) = sim.last_server_tx();
        sim.respond(ms(1_000), tx, reply(&register, 200));
        sim.run_to_end();
        assert_eq!(
            terminated_at(&sim, tx),
            ms(end),
            "{transport} T1={:?}",
            config.t1
        );
    }
}

#[test]
fn timer_k() {
    // (config, transport, Terminated at) for a 200 received at 1 s.
    let rows = [
        (default(), Udp, 6_000),
        (default(), Tcp, 1_000),
        (fast(), Udp, 6_000),
        (fast(), Tcp, 1_000),
    ];
    for (config, transport, end) in rows {
        let mut sim = Sim::new(config);
        let branch = sim.layer.new_branch();
        let options = outgoing("OPTIONS", transport, branch.as_str());
        let tx = sim.send_request(ms(0), options.clone(), dest(transport));
        sim.inbound(
            ms(1_000),
            reply(&options, 200).into_message(),
            peer(transport),
        );
        sim.run_to_end();
        assert_eq!(
            terminated_at(&sim, tx),
            ms(end),
            "{transport} T1={:?}",
            config.t1
        );
    }
}

#[test]
fn timer_l() {
    // (config, transport, Terminated at) for a 200 sent at 1 s: 64·T1 on any transport.
    let rows = [
        (default(), Udp, 33_000),
        (default(), Tcp, 33_000),
        (fast(), Udp, 7_400),
        (fast(), Tcp, 7_400),
    ];
    for (config, transport, end) in rows {
        let mut sim = Sim::new(config);
        sim.inbound(
            ms(0),
            inbound(request("INVITE", transport, "z9hG4bKl1")),
            peer(transport),
        );
        let (tx, invite) = sim.last_server_tx();
        sim.respond(ms(1_000), tx, reply(&invite, 200));
        sim.run_to_end();
        assert_eq!(
            terminated_at(&sim, tx),
            ms(end),
            "{transport} T1={:?}",
            config.t1
        );
        // The transaction never retransmits a 2xx itself.
        assert_eq!(sim.send_times(), ms_list(&[1_000]));
    }
}

#[test]
fn timer_m() {
    // (config, transport, INVITE sends before the answer, Terminated at) for a
    // 200 received at 1 s: M is 64·T1 on any transport.
    #[rustfmt::skip]
    let rows: [(TimerConfig, Transport, &[u64], u64); 4] = [
        (default(), Udp, &[0, 500], 33_000),
        (default(), Tcp, &[0], 33_000),
        (fast(), Udp, &[0, 100, 300, 700], 7_400),
        (fast(), Tcp, &[0], 7_400),
    ];
    for (config, transport, sends, end) in rows {
        let mut sim = Sim::new(config);
        let branch = sim.layer.new_branch();
        let invite = outgoing("INVITE", transport, branch.as_str());
        let tx = sim.send_request(ms(0), invite.clone(), dest(transport));
        sim.inbound(
            ms(1_000),
            reply(&invite, 200).into_message(),
            peer(transport),
        );
        sim.run_to_end();
        assert_eq!(
            terminated_at(&sim, tx),
            ms(end),
            "{transport} T1={:?}",
            config.t1
        );
        // No ACK from the transaction for a 2xx (RFC 6026 §8.4), and no more
        // INVITE retransmissions.
        assert_eq!(sim.send_times(), ms_list(sends));
    }
}

/// Timer A retransmissions stop at the first provisional response, and so does
/// Timer B: an INVITE in Proceeding waits for the TU (Timer C is the proxy's).
#[test]
fn client_invite_provisional_stops_a_and_b() {
    let mut sim = Sim::new(default());
    let branch = sim.layer.new_branch();
    let invite = outgoing("INVITE", Udp, branch.as_str());
    let tx = sim.send_request(ms(0), invite.clone(), dest(Udp));
    sim.inbound(ms(700), reply(&invite, 180).into_message(), peer(Udp));
    sim.run_until(Duration::from_secs(600));
    assert_eq!(sim.send_times(), ms_list(&[0, 500]));
    assert_eq!(sim.layer.poll_timeout(), None);
    assert_eq!(
        sim.layer.state_of(tx),
        Some(sb_sip_transaction::TxState::Proceeding)
    );
}

/// Timer values too large for `Instant` never fire instead of panicking.
#[test]
fn absurd_timer_values_do_not_panic() {
    let config = TimerConfig {
        t1: Duration::MAX,
        t2: Duration::MAX,
        t4: Duration::MAX,
    };
    let mut sim = Sim::new(config);
    let branch = sim.layer.new_branch();
    let tx = sim.send_request(ms(0), outgoing("INVITE", Udp, branch.as_str()), dest(Udp));
    sim.run_until(Duration::from_secs(3600));
    assert_eq!(sim.layer.poll_timeout(), None);
    assert_eq!(
        sim.layer.state_of(tx),
        Some(sb_sip_transaction::TxState::Calling)
    );
}
