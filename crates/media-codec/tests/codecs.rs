//! Codec behaviour end to end: tones through every codec, the resampler and concealment.

use sb_media_codec::{
    CodecError, CodecKind, Decoder, Encoder, OPUS_DTX_MAX_BYTES, OpusConfig, Resampler,
    ToneGenerator, tone_power,
};

const AMPLITUDE: i16 = 8_000;

/// `frames` frames of `ms` milliseconds of a `hz` tone at the codec's rate.
fn tone_frames(kind: CodecKind, hz: u32, ms: u32, frames: usize) -> Vec<Vec<i16>> {
    tone_frames_at(kind.sample_rate(), hz, ms, frames)
}

/// `frames` frames of `ms` milliseconds of a `hz` tone sampled at `rate`.
fn tone_frames_at(rate: u32, hz: u32, ms: u32, frames: usize) -> Vec<Vec<i16>> {
    let mut tone = ToneGenerator::new(hz, rate, AMPLITUDE);
    (0..frames)
        .map(|_| {
            let mut frame = vec![0; (rate / 1000 * ms) as usize];
            tone.fill(&mut frame);
            frame
        })
        .collect()
}

fn encode_all(encoder: &mut Encoder, frames: &[Vec<i16>]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .map(|frame| {
            let mut payload = Vec::new();
            encoder.encode(frame, &mut payload).expect("encode");
            payload
        })
        .collect()
}

fn decode_all(decoder: &mut Decoder, payloads: &[Vec<u8>]) -> Vec<i16> {
    let mut pcm = Vec::new();
    for payload in payloads {
        let before = pcm.len();
        let n = decoder.decode(payload, &mut pcm).expect("decode");
        assert_eq!(pcm.len() - before, n);
    }
    pcm
}

/// The tone at `hz` dominates `pcm` (100× the power 500 Hz away) at about the level sent.
fn assert_tone(pcm: &[i16], rate: u32, hz: u32, what: &str) {
    let on = tone_power(pcm, rate, hz);
    let off = tone_power(pcm, rate, hz + 500);
    let sent = f64::from(AMPLITUDE).powi(2);
    assert!(
        on > 100.0 * off,
        "{what}: {on:.0} at {hz} Hz vs {off:.0} at {} Hz",
        hz + 500
    );
    assert!(
        on > sent / 2.0 && on < sent * 2.0,
        "{what}: power {on:.0}, sent {sent:.0}"
    );
}

#[test]
fn every_codec_carries_a_1khz_tone() {
    for kind in CodecKind::ALL {
        let mut encoder = Encoder::new(kind, &OpusConfig::default()).expect("encoder");
        let mut decoder = Decoder::new(kind).expect("decoder");
        let frames = tone_frames(kind, 1_000, 20, 25);
        let payloads = encode_all(&mut encoder, &frames);
        let pcm = decode_all(&mut decoder, &payloads);
        assert_eq!(pcm.len(), kind.samples(500), "{kind:?}");
        // Skip the codec's start-up (Opus look-ahead and level adaptation, ADPCM adaptation).
        let tail = &pcm[kind.samples(100)..];
        assert_tone(tail, kind.sample_rate(), 1_000, kind.encoding_name());
    }
}

#[test]
fn every_codec_takes_10_to_60_ms_frames() {
    for kind in CodecKind::ALL {
        for ms in [10, 20, 40, 60] {
            let mut encoder = Encoder::new(kind, &OpusConfig::default()).expect("encoder");
            let mut decoder = Decoder::new(kind).expect("decoder");
            let frames = tone_frames(kind, 1_000, ms, 3);
            let payloads = encode_all(&mut encoder, &frames);
            let pcm = decode_all(&mut decoder, &payloads);
            assert_eq!(pcm.len(), kind.samples(ms * 3), "{kind:?} {ms} ms");
        }
    }
}

#[test]
fn g722_frames_are_one_byte_per_two_samples() {
    let mut encoder = Encoder::new(CodecKind::G722, &OpusConfig::default()).expect("encoder");
    let frame = &tone_frames(CodecKind::G722, 1_000, 20, 1)[0];
    assert_eq!(frame.len(), 320);
    let mut payload = Vec::new();
    encoder.encode(frame, &mut payload).expect("encode");
    assert_eq!(payload.len(), 160);
    let mut decoder = Decoder::new(CodecKind::G722).expect("decoder");
    let mut pcm = Vec::new();
    assert_eq!(decoder.decode(&payload, &mut pcm).expect("decode"), 320);
    // Any payload length decodes: RTP may carry odd sizes from other senders.
    assert_eq!(decoder.decode(&[0x55; 3], &mut pcm).expect("decode"), 6);
}

#[test]
fn g722_keeps_wideband_content() {
    // 6 kHz lies in G.722's upper sub-band (4–8 kHz), out of reach of narrowband codecs.
    let mut encoder = Encoder::new(CodecKind::G722, &OpusConfig::default()).expect("encoder");
    let mut decoder = Decoder::new(CodecKind::G722).expect("decoder");
    let payloads = encode_all(&mut encoder, &tone_frames(CodecKind::G722, 6_000, 20, 25));
    let pcm = decode_all(&mut decoder, &payloads);
    let tail = &pcm[CodecKind::G722.samples(100)..];
    let on = tone_power(tail, 16_000, 6_000);
    assert!(
        on > 100.0 * tone_power(tail, 16_000, 5_000),
        "6 kHz tone: {on}"
    );
    assert!(on > f64::from(AMPLITUDE).powi(2) / 4.0, "6 kHz tone: {on}");
}

#[test]
fn opus_config_is_applied_and_can_change() {
    let config = OpusConfig {
        fec: false,
        dtx: true,
        bitrate: 32_000,
        complexity: 3,
        packet_loss_pct: 12,
    };
    let mut encoder = Encoder::new(CodecKind::Opus, &config).expect("encoder");
    assert_eq!(encoder.opus_config().expect("read back"), Some(config));
    let default = OpusConfig::default();
    assert_eq!(
        (
            default.fec,
            default.dtx,
            default.bitrate,
            default.complexity,
            default.packet_loss_pct
        ),
        (true, false, 24_000, 1, 5)
    );
    encoder.set_opus_config(&default).expect("apply");
    assert_eq!(encoder.opus_config().expect("read back"), Some(default));
    let bad = OpusConfig {
        packet_loss_pct: 101,
        ..default
    };
    assert!(matches!(
        encoder.set_opus_config(&bad),
        Err(CodecError::OpusConfig {
            field: "packet_loss_pct",
            value: 101,
            ..
        })
    ));
    assert_eq!(encoder.opus_config().expect("read back"), Some(default));
}

#[test]
fn opus_source_rate_limits_the_coded_band_and_sets_the_pcm_rate() {
    for (source_hz, band) in [
        (8_000, opus::Bandwidth::Narrowband),
        (12_000, opus::Bandwidth::Mediumband),
        (16_000, opus::Bandwidth::Wideband),
        (24_000, opus::Bandwidth::Superwideband),
    ] {
        let mut encoder = Encoder::new(CodecKind::Opus, &OpusConfig::default()).expect("encoder");
        assert_eq!(encoder.pcm_rate(), 48_000);
        encoder.set_source_rate(source_hz).expect("source rate");
        assert_eq!(encoder.pcm_rate(), source_hz);
        assert_eq!(
            encoder.opus_config().expect("read back"),
            Some(OpusConfig::default()),
            "same settings at {source_hz} Hz"
        );
        let payloads = encode_all(&mut encoder, &tone_frames_at(source_hz, 1_000, 20, 20));
        for payload in &payloads[5..] {
            assert_eq!(
                opus::packet::get_bandwidth(payload).expect("toc"),
                band,
                "{source_hz} Hz"
            );
            // The RTP clock stays 48000: 20 ms is 960 units whatever the PCM rate.
            assert_eq!(
                opus::packet::get_nb_samples(payload, 48_000).expect("toc"),
                960
            );
        }
        let mut decoder = Decoder::new(CodecKind::Opus).expect("decoder");
        let pcm = decode_all(&mut decoder, &payloads);
        assert_eq!(pcm.len(), 960 * 20);
        assert_tone(&pcm[4_800..], 48_000, 1_000, "band-limited opus");
    }
    // Other codecs have nothing to limit and keep their rate.
    let mut pcmu = Encoder::new(CodecKind::Pcmu, &OpusConfig::default()).expect("encoder");
    pcmu.set_source_rate(16_000).expect("ignored");
    assert_eq!(pcmu.pcm_rate(), 8_000);
}

#[test]
fn opus_from_8khz_pcm_decodes_at_48_and_8_khz() {
    let mut encoder = Encoder::new(CodecKind::Opus, &OpusConfig::default()).expect("encoder");
    encoder.set_source_rate(8_000).expect("8 kHz");
    let frames = tone_frames_at(8_000, 1_000, 20, 25);
    assert_eq!(frames[0].len(), 160);
    let payloads = encode_all(&mut encoder, &frames);

    let mut wide = Decoder::new(CodecKind::Opus).expect("decoder");
    let pcm = decode_all(&mut wide, &payloads);
    assert_eq!(pcm.len(), 48_000 / 2);
    assert_tone(&pcm[4_800..], 48_000, 1_000, "8 kHz opus decoded at 48 kHz");

    let mut narrow = Decoder::with_rate(CodecKind::Opus, 8_000).expect("decoder");
    let pcm = decode_all(&mut narrow, &payloads);
    assert_eq!(pcm.len(), 8_000 / 2);
    assert_tone(&pcm[800..], 8_000, 1_000, "8 kHz opus decoded at 8 kHz");
    // A tone at 1.5 kHz lands at 1.5 kHz, not elsewhere: the rates line up.
    let mut encoder = Encoder::new(CodecKind::Opus, &OpusConfig::default()).expect("encoder");
    encoder.set_source_rate(8_000).expect("8 kHz");
    let payloads = encode_all(&mut encoder, &tone_frames_at(8_000, 1_500, 20, 25));
    let mut narrow = Decoder::with_rate(CodecKind::Opus, 8_000).expect("decoder");
    let pcm = decode_all(&mut narrow, &payloads);
    assert_tone(&pcm[800..], 8_000, 1_500, "1.5 kHz at 8 kHz");
}

#[test]
fn full_band_opus_decodes_at_every_rate() {
    // A 48 kHz sender (a browser) and a decoder at the other leg's rate.
    let mut encoder = Encoder::new(CodecKind::Opus, &OpusConfig::default()).expect("encoder");
    let payloads = encode_all(&mut encoder, &tone_frames(CodecKind::Opus, 1_000, 20, 25));
    for rate in sb_media_codec::OPUS_PCM_RATES {
        let mut decoder = Decoder::with_rate(CodecKind::Opus, rate).expect("decoder");
        let pcm = decode_all(&mut decoder, &payloads);
        assert_eq!(pcm.len(), (rate / 2) as usize, "{rate} Hz");
        assert_tone(&pcm[(rate / 10) as usize..], rate, 1_000, "decoded");
    }
}

fn mean_payload_bytes(config: &OpusConfig, frames: &[Vec<i16>]) -> f64 {
    let mut encoder = Encoder::new(CodecKind::Opus, config).expect("encoder");
    let payloads = encode_all(&mut encoder, frames);
    let tail = &payloads[10..];
    tail.iter().map(Vec::len).sum::<usize>() as f64 / tail.len() as f64
}

#[test]
fn opus_bitrate_sets_the_payload_size() {
    let frames = tone_frames(CodecKind::Opus, 1_000, 20, 50);
    let low = OpusConfig {
        bitrate: 12_000,
        ..OpusConfig::default()
    };
    let high = OpusConfig {
        bitrate: 64_000,
        ..OpusConfig::default()
    };
    let (low_bytes, high_bytes) = (
        mean_payload_bytes(&low, &frames),
        mean_payload_bytes(&high, &frames),
    );
    // 20 ms at 12 kbit/s is 30 bytes, at 64 kbit/s 160 bytes.
    assert!(
        (15.0..=45.0).contains(&low_bytes),
        "12 kbit/s: {low_bytes} bytes"
    );
    assert!(
        (110.0..=200.0).contains(&high_bytes),
        "64 kbit/s: {high_bytes} bytes"
    );
}

#[test]
fn opus_dtx_shrinks_silence() {
    let silence = vec![vec![0i16; 960]; 50];
    let with_dtx = OpusConfig {
        dtx: true,
        ..OpusConfig::default()
    };
    let mut encoder = Encoder::new(CodecKind::Opus, &with_dtx).expect("encoder");
    let payloads = encode_all(&mut encoder, &silence);
    let tiny = payloads
        .iter()
        .filter(|p| p.len() <= OPUS_DTX_MAX_BYTES)
        .count();
    assert!(tiny >= 30, "{tiny} of 50 silent frames in DTX");

    let mut encoder = Encoder::new(CodecKind::Opus, &OpusConfig::default()).expect("encoder");
    let payloads = encode_all(&mut encoder, &silence);
    assert!(
        payloads.iter().all(|p| p.len() > OPUS_DTX_MAX_BYTES),
        "no DTX when off"
    );

    // The decoder takes DTX payloads and produces a frame of (comfort) silence.
    let mut decoder = Decoder::new(CodecKind::Opus).expect("decoder");
    let pcm = decode_all(&mut decoder, &payloads);
    assert_eq!(pcm.len(), 960 * 50);
}

/// A 500 Hz tone for `switch_at` frames, then 1 kHz, encoded from PCM at `encode_hz` and
/// decoded at `decode_hz`: concealing the first 1 kHz frame with PLC extrapolates 500 Hz; the
/// in-band FEC of the next packet carries 1 kHz.
fn conceal_switching_tone(
    config: &OpusConfig,
    (encode_hz, decode_hz): (u32, u32),
    fec: bool,
) -> Vec<i16> {
    let switch_at = 20;
    let mut frames = tone_frames_at(encode_hz, 500, 20, switch_at);
    frames.extend(tone_frames_at(encode_hz, 1_000, 20, 10));
    let mut encoder = Encoder::new(CodecKind::Opus, config).expect("encoder");
    encoder.set_source_rate(encode_hz).expect("source rate");
    let payloads = encode_all(&mut encoder, &frames);
    let mut decoder = Decoder::with_rate(CodecKind::Opus, decode_hz).expect("decoder");
    decode_all(&mut decoder, &payloads[..switch_at]);
    // Frame `switch_at`, the first of the 1 kHz tone, is lost.
    let next = payloads[switch_at + 1].as_slice();
    let samples = (decode_hz / 50) as usize;
    let mut out = Vec::new();
    let n = decoder
        .conceal(samples, fec.then_some(next), &mut out)
        .expect("conceal");
    assert_eq!(n, samples);
    assert_eq!(out.len(), samples);
    out
}

#[test]
fn opus_fec_recovers_a_lost_frame_better_than_plc() {
    let config = OpusConfig {
        packet_loss_pct: 20,
        ..OpusConfig::default()
    };
    // A browser's 48 kHz stream decoded at 48 kHz and at 8 kHz (towards a G.711 leg), and a
    // stream from 8 kHz PCM (from a G.711 leg) decoded at 48 kHz.
    for rates in [(48_000, 48_000), (48_000, 8_000), (8_000, 48_000)] {
        let decode_hz = rates.1;
        let fec = conceal_switching_tone(&config, rates, true);
        let plc = conceal_switching_tone(&config, rates, false);
        let fec_1k = tone_power(&fec, decode_hz, 1_000);
        let plc_1k = tone_power(&plc, decode_hz, 1_000);
        assert!(
            fec_1k > 4.0 * plc_1k,
            "{rates:?}: FEC 1 kHz power {fec_1k:.0}, PLC {plc_1k:.0}"
        );
        assert!(
            fec_1k > tone_power(&fec, decode_hz, 500),
            "{rates:?}: FEC carries the new tone"
        );

        // Without FEC in the stream, the next packet cannot help: the result is plain PLC.
        let no_fec = OpusConfig {
            fec: false,
            ..config
        };
        let without = conceal_switching_tone(&no_fec, rates, true);
        let without_1k = tone_power(&without, decode_hz, 1_000);
        assert!(
            fec_1k > 4.0 * without_1k,
            "{rates:?}: FEC {fec_1k:.0}, none in stream {without_1k:.0}"
        );
    }
}

#[test]
fn opus_plc_continues_the_signal() {
    let mut encoder = Encoder::new(CodecKind::Opus, &OpusConfig::default()).expect("encoder");
    let payloads = encode_all(&mut encoder, &tone_frames(CodecKind::Opus, 1_000, 20, 20));
    let mut decoder = Decoder::new(CodecKind::Opus).expect("decoder");
    decode_all(&mut decoder, &payloads);
    let mut out = Vec::new();
    decoder.conceal(960, None, &mut out).expect("plc");
    let on = tone_power(&out, 48_000, 1_000);
    assert!(
        on > 100.0 * tone_power(&out, 48_000, 1_500),
        "PLC keeps 1 kHz: {on}"
    );
    // A broken next packet falls back to PLC instead of failing.
    out.clear();
    assert_eq!(
        decoder.conceal(960, Some(&[0x03]), &mut out).expect("plc"),
        960
    );
}

#[test]
fn opus_from_a_stereo_sender_decodes_to_mono() {
    let mut stereo =
        opus::Encoder::new(48_000, opus::Channels::Stereo, opus::Application::Voip).expect("enc");
    let mut tone = ToneGenerator::new(1_000, 48_000, AMPLITUDE);
    let mut decoder = Decoder::new(CodecKind::Opus).expect("decoder");
    let mut pcm = Vec::new();
    let mut mono = [0i16; 960];
    let mut interleaved = [0i16; 1_920];
    let mut packet = [0u8; 1_500];
    for _ in 0..25 {
        tone.fill(&mut mono);
        for (pair, &s) in interleaved.chunks_mut(2).zip(&mono) {
            pair.fill(s);
        }
        let len = stereo.encode(&interleaved, &mut packet).expect("encode");
        assert_eq!(
            opus::packet::get_nb_channels(&packet[..len]).expect("toc"),
            opus::Channels::Stereo
        );
        assert_eq!(
            decoder.decode(&packet[..len], &mut pcm).expect("decode"),
            960
        );
    }
    assert_tone(&pcm[4_800..], 48_000, 1_000, "stereo opus");
}

#[test]
fn g722_concealment_repeats_then_goes_silent() {
    let kind = CodecKind::G722;
    let mut encoder = Encoder::new(kind, &OpusConfig::default()).expect("encoder");
    let mut decoder = Decoder::new(kind).expect("decoder");
    let payloads = encode_all(&mut encoder, &tone_frames(kind, 1_000, 20, 10));
    decode_all(&mut decoder, &payloads);
    let mut first = Vec::new();
    decoder.conceal(320, None, &mut first).expect("conceal");
    let on = tone_power(&first, 16_000, 1_000);
    assert!(
        on > 100.0 * tone_power(&first, 16_000, 1_500),
        "repeats the tone: {on}"
    );
    let mut rest = Vec::new();
    decoder.conceal(640, None, &mut rest).expect("conceal");
    assert!(tone_power(&rest, 16_000, 1_000) < on, "attenuated");
    let mut after = Vec::new();
    decoder.conceal(320, None, &mut after).expect("conceal");
    assert!(after.iter().all(|&s| s == 0), "silent after 60 ms");
}

fn resample_all(resampler: &mut Resampler, input: &[i16], frame: usize) -> Vec<i16> {
    let mut out = Vec::new();
    for chunk in input.chunks(frame) {
        resampler.process(chunk, &mut out).expect("resample");
    }
    out
}

#[test]
fn resampling_8k_to_48k_and_back_keeps_a_tone() {
    let mut input = vec![0i16; 8_000];
    ToneGenerator::new(1_000, 8_000, AMPLITUDE).fill(&mut input);
    let mut up = Resampler::new(8_000, 48_000).expect("up");
    let mut down = Resampler::new(48_000, 8_000).expect("down");
    let wide = resample_all(&mut up, &input, 160);
    assert_eq!(wide.len(), 48_000);
    assert_tone(
        &wide[up.delay_samples() + 960..],
        48_000,
        1_000,
        "8k -> 48k",
    );
    let narrow = resample_all(&mut down, &wide, 960);
    assert_eq!(narrow.len(), 8_000);
    // Total latency in 8 kHz samples: both resamplers' delays.
    let delay = up.delay_samples() / 6 + down.delay_samples();
    assert_tone(&narrow[delay + 160..], 8_000, 1_000, "8k -> 48k -> 8k");
    // Sample by sample the round trip reproduces the input, shifted by the delay.
    let mut worst = 0i32;
    for (n, &s) in narrow.iter().enumerate().skip(delay + 160) {
        worst = worst.max((i32::from(s) - i32::from(input[n - delay])).abs());
    }
    assert!(
        worst < i32::from(AMPLITUDE) / 20,
        "round trip error {worst}"
    );
}

#[test]
fn downsampling_filters_what_the_lower_rate_cannot_carry() {
    // 6 kHz at 16 kHz would alias to 2 kHz at 8 kHz without the anti-aliasing filter.
    let mut input = vec![0i16; 16_000];
    ToneGenerator::new(6_000, 16_000, AMPLITUDE).fill(&mut input);
    let mut down = Resampler::new(16_000, 8_000).expect("down");
    let out = resample_all(&mut down, &input, 320);
    let alias = tone_power(&out[down.delay_samples() + 160..], 8_000, 2_000);
    let sent = f64::from(AMPLITUDE).powi(2);
    assert!(
        alias < sent / 1_000.0,
        "alias power {alias:.0} of {sent:.0}"
    );

    // A 1 kHz tone passes 16k -> 8k and 8k -> 16k.
    for (from, to) in [(16_000, 8_000), (8_000, 16_000), (48_000, 16_000)] {
        let mut input = vec![0i16; from as usize];
        ToneGenerator::new(1_000, from, AMPLITUDE).fill(&mut input);
        let mut r = Resampler::new(from, to).expect("resampler");
        let out = resample_all(&mut r, &input, (from / 50) as usize);
        assert_eq!(out.len(), to as usize);
        assert_tone(
            &out[r.delay_samples() + 160..],
            to,
            1_000,
            "1 kHz resampled",
        );
    }
}

#[test]
fn pcmu_to_opus_and_back_keeps_a_tone() {
    // Opus at 48 kHz behind resamplers, and at 8 kHz without any (the gateway's path: the
    // resamplers between equal rates copy).
    for opus_hz in [48_000, 8_000] {
        let config = OpusConfig::default();
        let mut pcmu_in = Encoder::new(CodecKind::Pcmu, &config).expect("pcmu encoder");
        let sent = encode_all(&mut pcmu_in, &tone_frames(CodecKind::Pcmu, 1_000, 20, 50));

        let mut pcmu_dec = Decoder::new(CodecKind::Pcmu).expect("pcmu decoder");
        let mut up = Resampler::new(8_000, opus_hz).expect("up");
        let mut opus_enc = Encoder::new(CodecKind::Opus, &config).expect("opus encoder");
        opus_enc.set_source_rate(opus_hz).expect("source rate");
        let mut opus_dec = Decoder::with_rate(CodecKind::Opus, opus_hz).expect("opus decoder");
        let mut down = Resampler::new(opus_hz, 8_000).expect("down");
        let mut pcmu_out = Encoder::new(CodecKind::Pcmu, &config).expect("pcmu encoder");
        let mut pcmu_final = Decoder::new(CodecKind::Pcmu).expect("pcmu decoder");

        let (mut pcm, mut wide, mut opus_payload) = (Vec::new(), Vec::new(), Vec::new());
        let (mut wide_back, mut narrow, mut pcmu_payload) = (Vec::new(), Vec::new(), Vec::new());
        let mut received = Vec::new();
        for (i, payload) in sent.iter().enumerate() {
            pcm.clear();
            wide.clear();
            opus_payload.clear();
            pcmu_dec.decode(payload, &mut pcm).expect("decode pcmu");
            up.process(&pcm, &mut wide).expect("up");
            opus_enc
                .encode(&wide, &mut opus_payload)
                .expect("encode opus");

            wide_back.clear();
            narrow.clear();
            pcmu_payload.clear();
            // Frame 30 is lost on the way and concealed at the decoder's rate.
            let n = if i == 30 {
                opus_dec
                    .conceal(wide.len(), None, &mut wide_back)
                    .expect("conceal")
            } else {
                opus_dec
                    .decode(&opus_payload, &mut wide_back)
                    .expect("decode opus")
            };
            assert_eq!(n, (opus_hz / 50) as usize);
            down.process(&wide_back, &mut narrow).expect("down");
            pcmu_out
                .encode(&narrow, &mut pcmu_payload)
                .expect("encode pcmu");
            pcmu_final
                .decode(&pcmu_payload, &mut received)
                .expect("decode pcmu");
        }
        assert_eq!(received.len(), 8_000);
        let what = format!("PCMU -> Opus at {opus_hz} Hz -> PCMU");
        assert_tone(&received[1_600..], 8_000, 1_000, &what);
    }
}

#[test]
fn codec_states_move_between_threads() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Encoder>();
    assert_send::<Decoder>();
    assert_send::<Resampler>();
    assert_send::<ToneGenerator>();
    assert_send::<CodecError>();
}
