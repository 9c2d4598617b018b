//! Cost of one 20 ms frame through each codec, the resampler and a full transcoding step,
//! and of setting up a resampler and an Opus encoder and decoder (once per call).
//!
//! Opus rows name the PCM rate libopus runs at: `8k` is how the gateway runs Opus against a
//! G.711 leg (no resampling), `48k_nb` the former path (resampling to 48 kHz, coding limited
//! to narrowband), measured for comparison with libopus directly.
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
    encode_frames(Encoder::new(kind, config).expect("encoder"))
}

/// One second of speech encoded by `encoder` at its PCM rate.
fn encode_frames(mut encoder: Encoder) -> Vec<Vec<u8>> {
    frames(encoder.pcm_rate())
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

    // Opus against a G.711 leg: encoding from 8 kHz PCM, and decoding a browser's full-band
    // packets straight to 8 kHz.
    let input = frames(8_000);
    let mut encoder = Encoder::new(CodecKind::Opus, &config).expect("encoder");
    encoder.set_source_rate(8_000).expect("8 kHz");
    let mut out = Vec::with_capacity(1_500);
    let mut i = 0;
    group.bench_function(BenchmarkId::new("encode", "opus_8k"), |b| {
        b.iter(|| {
            out.clear();
            encoder.encode(&input[i % 50], &mut out).expect("encode");
            i += 1;
            black_box(out.len())
        });
    });
    let encoded = payloads(CodecKind::Opus, &config);
    let mut decoder = Decoder::with_rate(CodecKind::Opus, 8_000).expect("decoder");
    let mut pcm = Vec::with_capacity(960);
    let mut i = 0;
    group.bench_function(BenchmarkId::new("decode", "opus_8k"), |b| {
        b.iter(|| {
            pcm.clear();
            decoder.decode(&encoded[i % 50], &mut pcm).expect("decode");
            i += 1;
            black_box(pcm.len())
        });
    });
    // Narrowband packets (a sender told to code narrowband) decoded at 8 kHz.
    let mut narrowband = Encoder::new(CodecKind::Opus, &config).expect("encoder");
    narrowband.set_source_rate(8_000).expect("8 kHz");
    let encoded = encode_frames(narrowband);
    let mut i = 0;
    group.bench_function(BenchmarkId::new("decode", "opus_nb_8k"), |b| {
        b.iter(|| {
            pcm.clear();
            decoder.decode(&encoded[i % 50], &mut pcm).expect("decode");
            i += 1;
            black_box(pcm.len())
        });
    });
    group.finish();
}

/// A libopus encoder as the gateway ran it before Opus took PCM at the other leg's rate:
/// 48 kHz input, coding limited to narrowband, the settings of `config`.
fn legacy_48k_nb_encoder(config: &OpusConfig) -> opus::Encoder {
    let mut e = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
        .expect("libopus encoder");
    let bitrate = i32::try_from(config.bitrate).expect("bitrate fits in i32");
    e.set_bitrate(opus::Bitrate::Bits(bitrate))
        .and_then(|()| e.set_complexity(i32::from(config.complexity)))
        .and_then(|()| e.set_inband_fec(config.fec))
        .and_then(|()| e.set_dtx(config.dtx))
        .and_then(|()| e.set_packet_loss_perc(i32::from(config.packet_loss_pct)))
        .and_then(|()| e.set_max_bandwidth(opus::Bandwidth::Narrowband))
        .expect("libopus settings");
    e
}

/// Opus encoding per complexity: 48 kHz PCM with the band left to the encoder (`auto`),
/// 48 kHz PCM limited to narrowband (`48k_nb`, the former path for G.711 audio), and 8 kHz
/// PCM as the gateway now codes G.711 audio (`8k`, [`Encoder::set_source_rate`]).
fn opus_complexity(c: &mut Criterion) {
    let wide = frames(48_000);
    let narrow = frames(8_000);
    let mut group = c.benchmark_group("opus_encode_20ms");
    for complexity in [0u8, 1, 2, 3, 5, 10] {
        let config = OpusConfig {
            complexity,
            ..OpusConfig::default()
        };
        let mut out = vec![0u8; 1_500];
        if matches!(complexity, 0 | 1 | 5 | 10) {
            let mut encoder = Encoder::new(CodecKind::Opus, &config).expect("encoder");
            let mut i = 0;
            group.bench_function(BenchmarkId::new("auto", complexity), |b| {
                b.iter(|| {
                    out.clear();
                    encoder.encode(&wide[i % 50], &mut out).expect("encode");
                    i += 1;
                    black_box(out.len())
                });
            });
            let mut legacy = legacy_48k_nb_encoder(&config);
            out.resize(1_500, 0);
            let mut i = 0;
            group.bench_function(BenchmarkId::new("48k_nb", complexity), |b| {
                b.iter(|| {
                    let n = legacy.encode(&wide[i % 50], &mut out).expect("encode");
                    i += 1;
                    black_box(n)
                });
            });
        }
        let mut encoder = Encoder::new(CodecKind::Opus, &config).expect("encoder");
        encoder.set_source_rate(8_000).expect("8 kHz");
        let mut i = 0;
        group.bench_function(BenchmarkId::new("8k", complexity), |b| {
            b.iter(|| {
                out.clear();
                encoder.encode(&narrow[i % 50], &mut out).expect("encode");
                i += 1;
                black_box(out.len())
            });
        });
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
    // As a transcoding direction sets them up against a G.711 leg.
    group.bench_function("opus_encoder_8k", |b| {
        b.iter(|| {
            let mut encoder = Encoder::new(CodecKind::Opus, &config).expect("encoder");
            encoder.set_source_rate(8_000).expect("8 kHz");
            black_box(encoder)
        });
    });
    group.bench_function("opus_decoder_8k", |b| {
        b.iter(|| black_box(Decoder::with_rate(CodecKind::Opus, 8_000).expect("decoder")));
    });
    group.finish();
}

/// One gateway direction per 20 ms frame: decode, resample, encode; and both directions of
/// a PCMU ↔ Opus call as the gateway runs them (`call_8k`).
fn transcode(c: &mut Criterion) {
    let config = OpusConfig::default();
    let mut group = c.benchmark_group("transcode_20ms");
    let pcmu = payloads(CodecKind::Pcmu, &config);
    let opus = payloads(CodecKind::Opus, &config);

    // PCMU → Opus at 48 kHz: full band left to the encoder.
    let mut decoder = Decoder::new(CodecKind::Pcmu).expect("decoder");
    let mut up = Resampler::new(8_000, 48_000).expect("resampler");
    let mut encoder = Encoder::new(CodecKind::Opus, &config).expect("encoder");
    let (mut pcm, mut wide, mut out) = (Vec::new(), Vec::new(), Vec::with_capacity(1_500));
    let mut i = 0;
    group.bench_function("pcmu_to_opus", |b| {
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

    // The former path: resampled to 48 kHz, coded as narrowband.
    let mut decoder = Decoder::new(CodecKind::Pcmu).expect("decoder");
    let mut up = Resampler::new(8_000, 48_000).expect("resampler");
    let mut legacy = legacy_48k_nb_encoder(&config);
    let mut packet = vec![0u8; 1_500];
    let mut i = 0;
    group.bench_function("pcmu_to_opus_48k_nb", |b| {
        b.iter(|| {
            pcm.clear();
            wide.clear();
            decoder.decode(&pcmu[i % 50], &mut pcm).expect("decode");
            up.process(&pcm, &mut wide).expect("resample");
            let n = legacy.encode(&wide, &mut packet).expect("encode");
            i += 1;
            black_box(n)
        });
    });

    // The gateway's path: Opus takes the 8 kHz PCM.
    let mut decoder = Decoder::new(CodecKind::Pcmu).expect("decoder");
    let mut encoder = Encoder::new(CodecKind::Opus, &config).expect("encoder");
    encoder.set_source_rate(8_000).expect("8 kHz");
    let mut i = 0;
    group.bench_function("pcmu_to_opus_8k", |b| {
        b.iter(|| {
            pcm.clear();
            out.clear();
            decoder.decode(&pcmu[i % 50], &mut pcm).expect("decode");
            encoder.encode(&pcm, &mut out).expect("encode");
            i += 1;
            black_box(out.len())
        });
    });

    // Opus → PCMU, the former path: decoded at 48 kHz, resampled to 8 kHz.
    let mut decoder = Decoder::new(CodecKind::Opus).expect("decoder");
    let mut down = Resampler::new(48_000, 8_000).expect("resampler");
    let mut encoder = Encoder::new(CodecKind::Pcmu, &config).expect("encoder");
    let mut narrow = Vec::new();
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

    // The gateway's path: a browser's packets decoded straight to 8 kHz.
    let mut decoder = Decoder::with_rate(CodecKind::Opus, 8_000).expect("decoder");
    let mut i = 0;
    group.bench_function("opus_to_pcmu_8k", |b| {
        b.iter(|| {
            pcm.clear();
            out.clear();
            decoder.decode(&opus[i % 50], &mut pcm).expect("decode");
            encoder.encode(&pcm, &mut out).expect("encode");
            i += 1;
            black_box(out.len())
        });
    });

    // Both directions of one call per 20 ms.
    let mut pcmu_in = Decoder::new(CodecKind::Pcmu).expect("decoder");
    let mut opus_out = Encoder::new(CodecKind::Opus, &config).expect("encoder");
    opus_out.set_source_rate(8_000).expect("8 kHz");
    let mut opus_in = Decoder::with_rate(CodecKind::Opus, 8_000).expect("decoder");
    let mut pcmu_out = Encoder::new(CodecKind::Pcmu, &config).expect("encoder");
    let mut back = Vec::with_capacity(160);
    let mut i = 0;
    group.bench_function("call_8k", |b| {
        b.iter(|| {
            pcm.clear();
            out.clear();
            pcmu_in.decode(&pcmu[i % 50], &mut pcm).expect("decode");
            opus_out.encode(&pcm, &mut out).expect("encode");
            pcm.clear();
            back.clear();
            opus_in.decode(&opus[i % 50], &mut pcm).expect("decode");
            pcmu_out.encode(&pcm, &mut back).expect("encode");
            i += 1;
            black_box(out.len() + back.len())
        });
    });
    group.finish();
}

criterion_group!(benches, codecs, opus_complexity, resample, setup, transcode);
criterion_main!(benches);
