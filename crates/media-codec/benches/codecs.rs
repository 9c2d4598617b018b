//! Cost of one 20 ms frame through each codec, the resampler and a full transcoding step,
//! and of setting up a resampler and an Opus encoder and decoder (once per call).
//!
//! `cargo bench -p sb-media-codec --bench codecs`

use std::f64::consts::TAU;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sb_media_codec::{CodecKind, Decoder, Encoder, OpusConfig, Resampler};

/// 50 consecutive 20 ms frames (one second) of a stand-in for voiced speech: a 125 Hz pitch
/// (vibrato ±10 %) with harmonics up to 3.5 kHz falling at 1/k, a 4 Hz syllable envelope and
/// a little noise. Pure tones would make Opus pick its music (CELT) mode and understate the
/// cost of speech.
fn frames(rate: u32) -> Vec<Vec<i16>> {
    let per_frame = (rate / 50) as usize;
    let mut seed: u32 = 0x5EED;
    let samples: Vec<i16> = (0..per_frame * 50)
        .map(|n| {
            let t = n as f64 / f64::from(rate);
            let pitch = 125.0 * (1.0 + 0.1 * (TAU * 1.5 * t).sin());
            let voiced: f64 = (1..)
                .map(f64::from)
                .take_while(|k| pitch * k < 3_500.0)
                .map(|k| (TAU * pitch * k * t).sin() / k)
                .sum();
            let envelope = 0.5 - 0.5 * (TAU * 4.0 * t).cos();
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (f64::from(seed >> 16) / 65_536.0 - 0.5) * 300.0;
            (voiced * 5_000.0 * envelope + noise) as i16
        })
        .collect();
    samples.chunks(per_frame).map(<[i16]>::to_vec).collect()
}

fn payloads(kind: CodecKind, config: &OpusConfig) -> Vec<Vec<u8>> {
    let mut encoder = Encoder::new(kind, config).expect("encoder");
    frames(kind.sample_rate())
        .iter()
        .map(|frame| {
            let mut out = Vec::new();
            encoder.encode(frame, &mut out).expect("encode");
            out
        })
        .collect()
}

fn codecs(c: &mut Criterion) {
    let config = OpusConfig::default();
    let mut group = c.benchmark_group("codec_20ms");
    for kind in [
        CodecKind::Pcmu,
        CodecKind::Pcma,
        CodecKind::G722,
        CodecKind::Opus,
    ] {
        let input = frames(kind.sample_rate());
        let mut encoder = Encoder::new(kind, &config).expect("encoder");
        let mut out = Vec::with_capacity(1_500);
        let mut i = 0;
        group.bench_function(BenchmarkId::new("encode", kind.encoding_name()), |b| {
            b.iter(|| {
                out.clear();
                encoder.encode(&input[i % 50], &mut out).expect("encode");
                i += 1;
                black_box(out.len())
            });
        });

        let encoded = payloads(kind, &config);
        let mut decoder = Decoder::new(kind).expect("decoder");
        let mut pcm = Vec::with_capacity(kind.samples(120));
        let mut i = 0;
        group.bench_function(BenchmarkId::new("decode", kind.encoding_name()), |b| {
            b.iter(|| {
                pcm.clear();
                decoder.decode(&encoded[i % 50], &mut pcm).expect("decode");
                i += 1;
                black_box(pcm.len())
            });
        });
    }
    group.finish();
}

/// Opus encoding per complexity, with the band left to the encoder (`auto`) and limited to
/// narrowband as for audio transcoded from G.711 (`nb`, [`Encoder::set_source_rate`]).
fn opus_complexity(c: &mut Criterion) {
    let input = frames(48_000);
    let mut group = c.benchmark_group("opus_encode_20ms");
    for complexity in [0u8, 3, 5, 10] {
        for narrowband in [false, true] {
            let config = OpusConfig {
                complexity,
                ..OpusConfig::default()
            };
            let mut encoder = Encoder::new(CodecKind::Opus, &config).expect("encoder");
            if narrowband {
                encoder.set_source_rate(8_000).expect("band limit");
            }
            let mut out = Vec::with_capacity(1_500);
            let mut i = 0;
            let name = if narrowband { "nb" } else { "auto" };
            group.bench_function(BenchmarkId::new(name, complexity), |b| {
                b.iter(|| {
                    out.clear();
                    encoder.encode(&input[i % 50], &mut out).expect("encode");
                    i += 1;
                    black_box(out.len())
                });
            });
        }
    }
    group.finish();
}

fn resample(c: &mut Criterion) {
    let mut group = c.benchmark_group("resample_20ms");
    for (from, to) in [
        (8_000, 48_000),
        (48_000, 8_000),
        (16_000, 8_000),
        (8_000, 16_000),
    ] {
        let input = frames(from);
        let mut resampler = Resampler::new(from, to).expect("resampler");
        let mut out = Vec::with_capacity((to / 50) as usize);
        let mut i = 0;
        group.bench_function(format!("{}k_to_{}k", from / 1000, to / 1000), |b| {
            b.iter(|| {
                out.clear();
                resampler
                    .process(&input[i % 50], &mut out)
                    .expect("resample");
                i += 1;
                black_box(out.len())
            });
        });
    }
    group.finish();
}

fn setup(c: &mut Criterion) {
    let config = OpusConfig::default();
    let mut group = c.benchmark_group("setup");
    group.bench_function("resampler_8k_to_48k", |b| {
        b.iter(|| black_box(Resampler::new(8_000, 48_000).expect("resampler")));
    });
    group.bench_function("resampler_48k_to_8k", |b| {
        b.iter(|| black_box(Resampler::new(48_000, 8_000).expect("resampler")));
    });
    group.bench_function("opus_encoder", |b| {
        b.iter(|| black_box(Encoder::new(CodecKind::Opus, &config).expect("encoder")));
    });
    group.bench_function("opus_decoder", |b| {
        b.iter(|| black_box(Decoder::new(CodecKind::Opus).expect("decoder")));
    });
    group.finish();
}

/// One gateway direction per 20 ms frame: decode, resample, encode.
fn transcode(c: &mut Criterion) {
    let config = OpusConfig::default();
    let mut group = c.benchmark_group("transcode_20ms");

    let pcmu = payloads(CodecKind::Pcmu, &config);
    for narrowband in [false, true] {
        let mut decoder = Decoder::new(CodecKind::Pcmu).expect("decoder");
        let mut up = Resampler::new(8_000, 48_000).expect("resampler");
        let mut encoder = Encoder::new(CodecKind::Opus, &config).expect("encoder");
        if narrowband {
            encoder.set_source_rate(8_000).expect("band limit");
        }
        let (mut pcm, mut wide, mut out) = (Vec::new(), Vec::new(), Vec::with_capacity(1_500));
        let mut i = 0;
        let name = if narrowband {
            "pcmu_to_opus_nb"
        } else {
            "pcmu_to_opus"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                pcm.clear();
                wide.clear();
                out.clear();
                decoder.decode(&pcmu[i % 50], &mut pcm).expect("decode");
                up.process(&pcm, &mut wide).expect("resample");
                encoder.encode(&wide, &mut out).expect("encode");
                i += 1;
                black_box(out.len())
            });
        });
    }

    let opus = payloads(CodecKind::Opus, &config);
    let mut decoder = Decoder::new(CodecKind::Opus).expect("decoder");
    let mut down = Resampler::new(48_000, 8_000).expect("resampler");
    let mut encoder = Encoder::new(CodecKind::Pcmu, &config).expect("encoder");
    let (mut pcm, mut narrow, mut out) = (Vec::new(), Vec::new(), Vec::with_capacity(160));
    let mut i = 0;
    group.bench_function("opus_to_pcmu", |b| {
        b.iter(|| {
            pcm.clear();
            narrow.clear();
            out.clear();
            decoder.decode(&opus[i % 50], &mut pcm).expect("decode");
            down.process(&pcm, &mut narrow).expect("resample");
            encoder.encode(&narrow, &mut out).expect("encode");
            i += 1;
            black_box(out.len())
        });
    });
    group.finish();
}

criterion_group!(benches, codecs, opus_complexity, resample, setup, transcode);
criterion_main!(benches);
