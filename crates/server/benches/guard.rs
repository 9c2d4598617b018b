//! The admission guard's cost per SIP message: a known source within its allowance, a
//! banned source (the flood path), an exempt source, and a spread of 10 000 sources (each
//! message a different table entry, as under many phones), plus reading the clock, which
//! the receive path does once per message.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use sb_server::guard::{Admission, Guard, GuardSettings};

fn guard(settings: &GuardSettings) -> (Guard, Instant) {
    let t0 = Instant::now();
    (Guard::new(t0, settings, 7), t0)
}

fn admit(c: &mut Criterion) {
    let mut group = c.benchmark_group("guard");

    let (g, t0) = guard(&GuardSettings::default());
    let phone: IpAddr = "192.0.2.10".parse().expect("address");
    // 40 messages a second, under the default 50: never banned.
    let step = Duration::from_millis(25);
    let mut now = t0;
    group.bench_function("known source, within its rate", |b| {
        b.iter(|| {
            now += step;
            assert_eq!(g.admit(black_box(now), black_box(phone)), Admission::Pass);
        });
    });

    let flooder: IpAddr = "203.0.113.66".parse().expect("address");
    while g.admit(t0, flooder) == Admission::Pass {}
    group.bench_function("banned source (dropped)", |b| {
        b.iter(|| {
            assert_eq!(g.admit(black_box(t0), black_box(flooder)), Admission::Drop);
        });
    });

    let exempt = GuardSettings {
        exempt: [
            "198.51.100.0/24",
            "192.0.2.0/28",
            "2001:db8::/32",
            "203.0.113.7",
        ]
        .iter()
        .map(|p| p.parse().expect("prefix"))
        .collect(),
        ..GuardSettings::default()
    };
    let (g, t0) = guard(&exempt);
    let trunk: IpAddr = "203.0.113.7".parse().expect("address");
    group.bench_function("exempt source (4 prefixes)", |b| {
        b.iter(|| assert_eq!(g.admit(black_box(t0), black_box(trunk)), Admission::Pass));
    });

    let (g, t0) = guard(&GuardSettings::default());
    let sources: Vec<IpAddr> = (0..10_000u32)
        .map(|i| {
            IpAddr::from(std::net::Ipv6Addr::from(
                0x2001_0db8_u128 << 96 | u128::from(i) << 64,
            ))
        })
        .collect();
    let mut now = t0;
    let mut i = 0;
    group.bench_function("10 000 sources in turn", |b| {
        b.iter(|| {
            i = (i + 1) % sources.len();
            if i == 0 {
                now += Duration::from_secs(1);
            }
            black_box(g.admit(now, sources[i]));
        });
    });

    group.bench_function("Instant::now", |b| b.iter(|| black_box(Instant::now())));
    group.finish();
}

criterion_group!(benches, admit);
criterion_main!(benches);
