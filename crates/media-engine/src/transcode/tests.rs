//! The transcoder and the tone player: tones through each direction, the PCM rates Opus
//! runs at, timestamps, packet times and loss concealment.

use sb_media_codec::tone_power;

use super::*;

const AMPLITUDE: i16 = 8000;

/// `n` 20 ms frames of a `hz` tone encoded in `kind` from PCM at its native rate (Opus: a
/// 48 kHz sender such as a browser).
fn tone_payloads(kind: CodecKind, hz: u32, n: usize) -> Vec<Vec<u8>> {
    let mut generator = ToneGenerator::new(hz, kind.sample_rate(), AMPLITUDE);
    let mut enc = Encoder::new(kind, &OpusConfig::default()).unwrap();
    (0..n)
        .map(|_| {
            let mut pcm = vec![0i16; kind.samples(20)];
            generator.fill(&mut pcm);
            let mut out = Vec::new();
            enc.encode(&pcm, &mut out).unwrap();
            out
        })
        .collect()
}

fn output(codec: CodecKind, pt: u8, frame_ms: u32) -> Output {
    Output {
        codec,
        pt,
        frame_ms,
    }
}

/// Feeds `input` (20 ms frames of `codec` from SSRC 7, one per tick starting at `first`,
/// leaving out the indices in `lost`), then ticks 10 more times; returns what came out.
/// A transcoder into `codec` (payload type `pt`, `frame_ms` packets) with
/// default Opus settings and a 20–200 ms jitter buffer.
fn transcoder(codec: CodecKind, pt: u8, frame_ms: u32) -> Transcoder {
    Transcoder::new(output(codec, pt, frame_ms), &OpusConfig::default(), 20, 200).unwrap()
}

fn run(
    t: &mut Transcoder,
    t0: Instant,
    (codec, first): (CodecKind, usize),
    input: &[Vec<u8>],
    lost: &[usize],
) -> Vec<(Frame, Vec<u8>)> {
    let mut frames = Vec::new();
    for i in 0..input.len() + 10 {
        let tick = first + i;
        let at = t0 + TICK * tick as u32;
        if i < input.len() && !lost.contains(&i) {
            let header = (tick as u16, codec.rtp_units(20) * tick as u32);
            let pushed = t.push(at, codec, 7, header, &input[i]).unwrap();
            assert_eq!(pushed, Pushed::Buffered);
        }
        t.tick(at);
        let mut buf = Vec::new();
        while let Some(f) = t.encode_next(&mut buf).unwrap() {
            frames.push((f, std::mem::take(&mut buf)));
        }
    }
    frames
}

/// Decodes `frames` of `kind` at `rate`; every frame must decode to `frame_ms` of audio.
fn decode_at(kind: CodecKind, rate: u32, frames: &[(Frame, Vec<u8>)]) -> Vec<i16> {
    let mut dec = Decoder::with_rate(kind, rate).unwrap();
    let mut pcm = Vec::new();
    for (f, payload) in frames {
        let n = dec.decode(payload, &mut pcm).unwrap();
        assert_eq!(n as u128, u128::from(rate) * f.duration.as_millis() / 1000);
    }
    pcm
}

/// The middle half of `pcm` carries `hz` (100 times the power 500 Hz away) at about the
/// level sent.
fn assert_tone(pcm: &[i16], rate: u32, hz: u32) {
    let middle = &pcm[pcm.len() / 4..pcm.len() * 3 / 4];
    let on = tone_power(middle, rate, hz);
    let off = tone_power(middle, rate, hz + 500);
    assert!(
        on > 100.0 * off,
        "{hz} Hz: {on:.0}, {} Hz: {off:.0}",
        hz + 500
    );
    let sent = f64::from(AMPLITUDE).powi(2);
    assert!(
        on > sent / 4.0 && on < sent * 4.0,
        "power {on:.0}, sent {sent:.0}"
    );
}

#[test]
fn pcmu_to_opus_codes_8khz_pcm_and_conceals_loss() {
    let t0 = Instant::now();
    let mut t = transcoder(CodecKind::Opus, 111, 20);
    let frames = run(
        &mut t,
        t0,
        (CodecKind::Pcmu, 0),
        &tone_payloads(CodecKind::Pcmu, 1000, 50),
        &[25],
    );
    // No resampling: the encoder takes the G.711 audio at 8 kHz.
    assert_eq!(t.out.rate(), 8000);
    let input = t.input.as_ref().unwrap();
    assert_eq!(input.decoder.pcm_rate(), 8000);
    assert_eq!(
        (input.resampler.from_hz(), input.resampler.to_hz()),
        (8000, 8000)
    );

    assert!(frames.len() >= 48, "{}", frames.len());
    for (f, _) in &frames {
        assert_eq!(
            (f.pt, f.units),
            (111, 960),
            "48000 Hz clock at any PCM rate"
        );
        assert_eq!(f.duration, TICK);
    }
    assert_eq!(t.frames_decoded, 49);
    assert!(t.frames_concealed >= 1);
    // The far side decodes at 48 kHz (a browser) or at any other rate.
    assert_tone(&decode_at(CodecKind::Opus, 48000, &frames), 48000, 1000);
    assert_tone(&decode_at(CodecKind::Opus, 8000, &frames), 8000, 1000);
}

#[test]
fn opus_packet_time_follows_the_encoder_rate() {
    let t0 = Instant::now();
    let mut t = transcoder(CodecKind::Opus, 111, 40);
    let input = tone_payloads(CodecKind::Pcmu, 1000, 50);
    let frames = run(&mut t, t0, (CodecKind::Pcmu, 0), &input, &[]);
    assert!(frames.len() >= 23, "{}", frames.len());
    for (f, _) in &frames {
        assert_eq!((f.units, f.duration), (1920, TICK * 2));
    }
    // 40 ms frames: 1920 samples each at 48 kHz (checked by the decoding).
    assert_tone(&decode_at(CodecKind::Opus, 48000, &frames), 48000, 1000);
}

#[test]
fn opus_to_pcmu_decodes_at_8khz_with_fec() {
    let t0 = Instant::now();
    let mut t = transcoder(CodecKind::Pcmu, 0, 20);
    // A browser's 48 kHz Opus; frame 25 is lost and comes back from the FEC of frame 26.
    let input = tone_payloads(CodecKind::Opus, 1000, 50);
    let frames = run(&mut t, t0, (CodecKind::Opus, 0), &input, &[25]);
    let dec = &t.input.as_ref().unwrap().decoder;
    assert_eq!((dec.kind(), dec.pcm_rate()), (CodecKind::Opus, 8000));
    assert_eq!(t.out.rate(), 8000);
    assert!(frames.len() >= 48, "{}", frames.len());
    for (f, payload) in &frames {
        assert_eq!((f.pt, f.units, payload.len()), (0, 160, 160));
    }
    assert_eq!(t.frames_decoded, 49);
    // One concealment more than without the loss (the rest is the end of the stream).
    let mut whole = transcoder(CodecKind::Pcmu, 0, 20);
    run(&mut whole, t0, (CodecKind::Opus, 0), &input, &[]);
    assert_eq!(t.frames_concealed, whole.frames_concealed + 1);
    let pcm = decode_at(CodecKind::Pcmu, 8000, &frames);
    assert_tone(&pcm, 8000, 1000);
    // The concealed frame carries the tone too (FEC or PLC, not silence).
    let at_loss = &pcm[160 * 24..160 * 28];
    assert!(tone_power(at_loss, 8000, 1000) > f64::from(AMPLITUDE).powi(2) / 16.0);
}

#[test]
fn opus_to_g722_decodes_at_16khz() {
    let t0 = Instant::now();
    let mut t = transcoder(CodecKind::G722, 9, 20);
    let input = tone_payloads(CodecKind::Opus, 1000, 30);
    let frames = run(&mut t, t0, (CodecKind::Opus, 0), &input, &[]);
    assert_eq!(t.input.as_ref().unwrap().decoder.pcm_rate(), 16000);
    assert!(frames.len() >= 28, "{}", frames.len());
    assert!(frames.iter().all(|(f, p)| f.units == 160 && p.len() == 160));
    assert_tone(&decode_at(CodecKind::G722, 16000, &frames), 16000, 1000);
}

#[test]
fn g722_to_pcmu_still_resamples() {
    let t0 = Instant::now();
    let mut t = transcoder(CodecKind::Pcmu, 0, 20);
    let input = tone_payloads(CodecKind::G722, 1000, 30);
    let frames = run(&mut t, t0, (CodecKind::G722, 0), &input, &[]);
    let input = t.input.as_ref().unwrap();
    assert_eq!(
        (input.resampler.from_hz(), input.resampler.to_hz()),
        (16000, 8000)
    );
    assert!(frames.len() >= 28, "{}", frames.len());
    assert!(frames.iter().all(|(f, p)| f.units == 160 && p.len() == 160));
    assert_tone(&decode_at(CodecKind::Pcmu, 8000, &frames), 8000, 1000);
}

#[test]
fn a_new_input_codec_moves_the_opus_encoder_to_its_rate() {
    let t0 = Instant::now();
    let mut t = transcoder(CodecKind::Opus, 111, 20);
    let pcmu = tone_payloads(CodecKind::Pcmu, 1000, 20);
    let mut frames = run(&mut t, t0, (CodecKind::Pcmu, 0), &pcmu, &[]);
    assert_eq!(t.out.rate(), 8000);
    let before = frames.len();
    // The phone switches to G.722 (a re-INVITE): Opus now codes wideband from 16 kHz.
    let g722 = tone_payloads(CodecKind::G722, 1000, 40);
    frames.extend(run(&mut t, t0, (CodecKind::G722, 30), &g722, &[]));
    assert_eq!(t.out.rate(), 16000);
    let input = t.input.as_ref().unwrap();
    assert_eq!(
        (input.resampler.from_hz(), input.resampler.to_hz()),
        (16000, 16000)
    );
    assert!(frames.len() - before >= 38, "{}", frames.len() - before);
    assert!(frames.iter().all(|(f, _)| f.units == 960));
    let pcm = decode_at(CodecKind::Opus, 48000, &frames[before..]);
    assert_tone(&pcm, 48000, 1000);
    // And back to Opus from a browser: 48 kHz again.
    let opus = tone_payloads(CodecKind::Opus, 1000, 5);
    run(&mut t, t0, (CodecKind::Opus, 80), &opus, &[]);
    assert_eq!(t.out.rate(), 48000);
    assert_eq!(t.input.as_ref().unwrap().decoder.pcm_rate(), 48000);
}

#[test]
fn tone_player_codes_opus_from_8khz() {
    let t0 = Instant::now();
    let mut tone = TonePlayer::new(
        output(CodecKind::Opus, 111, 20),
        &OpusConfig::default(),
        1000,
        t0,
    )
    .unwrap();
    assert_eq!(tone.generator.sample_rate(), 8000);
    assert_eq!(tone.out.rate(), 8000);
    let mut frames = Vec::new();
    for _ in 0..25 {
        tone.tick();
        let mut buf = Vec::new();
        while let Some(f) = tone.encode_next(&mut buf).unwrap() {
            assert_eq!((f.pt, f.units), (111, 960));
            frames.push((f, std::mem::take(&mut buf)));
        }
    }
    assert_eq!(frames.len(), 25);
    let pcm = decode_at(CodecKind::Opus, 48000, &frames);
    let middle = &pcm[pcm.len() / 4..pcm.len() * 3 / 4];
    let on = tone_power(middle, 48000, 1000);
    assert!(
        on > 100.0 * tone_power(middle, 48000, 1500),
        "1 kHz: {on:.0}"
    );
    assert!(
        on > f64::from(TONE_AMPLITUDE).powi(2) / 4.0,
        "1 kHz: {on:.0}"
    );
}

#[test]
fn tones_get_a_rate_that_carries_them() {
    assert_eq!(tone_rate(425), 8000);
    assert_eq!(tone_rate(3000), 8000);
    assert_eq!(tone_rate(3200), 12000);
    assert_eq!(tone_rate(6000), 16000);
    assert_eq!(tone_rate(9000), 24000);
    assert_eq!(tone_rate(15000), 48000);
    assert_eq!(tone_rate(40000), 48000);
    let tone = TonePlayer::new(
        output(CodecKind::Opus, 111, 20),
        &OpusConfig::default(),
        6000,
        Instant::now(),
    )
    .unwrap();
    assert_eq!(
        (tone.out.rate(), tone.generator.sample_rate()),
        (16000, 16000)
    );
    // Other codecs: their own rate.
    let tone = TonePlayer::new(
        output(CodecKind::G722, 9, 20),
        &OpusConfig::default(),
        425,
        Instant::now(),
    )
    .unwrap();
    assert_eq!(
        (tone.out.rate(), tone.generator.sample_rate()),
        (16000, 16000)
    );
}

#[test]
fn tone_player_frames_g722() {
    let t0 = Instant::now();
    let out = Output {
        codec: CodecKind::G722,
        pt: 9,
        frame_ms: 20,
    };
    let mut tone = TonePlayer::new(out, &OpusConfig::default(), 440, t0).unwrap();
    let mut payloads = Vec::new();
    for _ in 0..10 {
        tone.tick();
        let mut buf = Vec::new();
        while let Some(f) = tone.encode_next(&mut buf).unwrap() {
            assert_eq!((f.pt, f.units), (9, 160), "G.722: 8000 Hz clock");
            payloads.push(std::mem::take(&mut buf));
        }
    }
    assert_eq!(payloads.len(), 10);
    assert!(
        payloads.iter().all(|p| p.len() == 160),
        "64 kbit/s: 160 octets per 20 ms"
    );
}

#[test]
fn packet_time_is_respected() {
    let out = Output {
        codec: CodecKind::Pcmu,
        pt: 0,
        frame_ms: 40,
    };
    let mut tone = TonePlayer::new(out, &OpusConfig::default(), 440, Instant::now()).unwrap();
    let mut sent = Vec::new();
    for tick in 0..6 {
        tone.tick();
        let mut buf = Vec::new();
        while tone.encode_next(&mut buf).unwrap().is_some() {
            sent.push((tick, buf.len()));
            buf.clear();
        }
    }
    assert_eq!(sent, vec![(1, 320), (3, 320), (5, 320)]);
}
