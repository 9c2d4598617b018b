//! G.711 µ-law and A-law companding (ITU-T G.711), written from the recommendation.
//!
//! Encoding works on the top 14 (µ-law) or 13 (A-law) bits of a 16-bit sample with bit
//! arithmetic; decoding uses 256-entry tables built at compile time from the same rules.

/// µ-law bias added to the 14-bit magnitude before the segment search.
const ULAW_BIAS: i32 = 0x21;
/// Largest 14-bit magnitude kept before the bias is added: biased values then stay within
/// segment 7 (`0x1FFF`), and anything louder maps to the top code.
const ULAW_CLIP: i32 = 0x1FDE;

/// The µ-law code of a 16-bit linear sample.
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    let pcm = i32::from(sample) >> 2;
    let (magnitude, mask) = if pcm < 0 { (-pcm, 0x7F) } else { (pcm, 0xFF) };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // Segment: position of the highest set bit above bit 5 (biased values are 0x21..=0x1FFF).
    let segment = 31 - biased.leading_zeros() as i32 - 5;
    let mantissa = (biased >> (segment + 1)) & 0x0F;
    (((segment << 4) | mantissa) ^ mask) as u8
}

/// The 16-bit linear value of a µ-law code.
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TABLE[usize::from(code)]
}

/// The A-law code of a 16-bit linear sample.
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    let pcm = i32::from(sample) >> 3;
    let (magnitude, mask) = if pcm >= 0 {
        (pcm, 0xD5)
    } else {
        (-pcm - 1, 0x55)
    };
    // 13-bit magnitudes are 0..=0xFFF; segment 0 and 1 share the step size.
    let segment = (32 - magnitude.leading_zeros() as i32 - 5).max(0);
    let mantissa = if segment < 2 {
        (magnitude >> 1) & 0x0F
    } else {
        (magnitude >> segment) & 0x0F
    };
    (((segment << 4) | mantissa) ^ mask) as u8
}

/// The 16-bit linear value of an A-law code.
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[usize::from(code)]
}

/// Encodes `pcm` as µ-law, appending one byte per sample to `out`.
pub fn ulaw_encode_slice(pcm: &[i16], out: &mut Vec<u8>) {
    out.extend(pcm.iter().map(|&s| ulaw_encode(s)));
}

/// Decodes µ-law `codes`, appending one sample per byte to `out`.
pub fn ulaw_decode_slice(codes: &[u8], out: &mut Vec<i16>) {
    out.extend(codes.iter().map(|&c| ulaw_decode(c)));
}

/// Encodes `pcm` as A-law, appending one byte per sample to `out`.
pub fn alaw_encode_slice(pcm: &[i16], out: &mut Vec<u8>) {
    out.extend(pcm.iter().map(|&s| alaw_encode(s)));
}

/// Decodes A-law `codes`, appending one sample per byte to `out`.
pub fn alaw_decode_slice(codes: &[u8], out: &mut Vec<i16>) {
    out.extend(codes.iter().map(|&c| alaw_decode(c)));
}

const fn ulaw_expand(code: u8) -> i16 {
    let inverted = !code;
    let exponent = (inverted >> 4) & 0x07;
    let mantissa = (inverted & 0x0F) as i32;
    // Reconstruct the middle of the quantisation interval in 16-bit scale, then remove the bias.
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if inverted & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

const fn alaw_expand(code: u8) -> i16 {
    let toggled = code ^ 0x55;
    let segment = ((toggled >> 4) & 0x07) as i32;
    let mantissa = (toggled & 0x0F) as i32;
    let magnitude = if segment == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (segment - 1)
    };
    if toggled & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

static ULAW_TABLE: [i16; 256] = {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = ulaw_expand(code as u8);
        code += 1;
    }
    table
};

static ALAW_TABLE: [i16; 256] = {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = alaw_expand(code as u8);
        code += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values() {
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0xFE), 8);
        assert_eq!(ulaw_decode(0x7E), -8);
        assert_eq!(ulaw_decode(0xEF), 132);
        assert_eq!(ulaw_decode(0xDF), 396);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(32124), 0x80);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(-32124), 0x00);
        assert_eq!(ulaw_encode(8), 0xFE);
        assert_eq!(ulaw_encode(-8), 0x7E);
    }

    #[test]
    fn alaw_known_values() {
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_decode(0xD4), 24);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(alaw_encode(24), 0xD4);
    }

    #[test]
    fn ulaw_code_round_trip() {
        for code in 0..=255u8 {
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(ulaw_encode(ulaw_decode(code)), expected, "code {code:#04x}");
        }
    }

    #[test]
    fn alaw_code_round_trip() {
        for code in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(code)), code, "code {code:#04x}");
        }
    }

    /// Every linear value decodes back to within half a quantisation step of itself (plus the
    /// bits dropped before quantising; µ-law clips above 32124), and both curves are monotonic.
    #[test]
    fn linear_round_trip_error_is_bounded() {
        let mut previous_u = i16::MIN;
        let mut previous_a = i16::MIN;
        for sample in i16::MIN..=i16::MAX {
            let magnitude = i32::from(sample).abs();

            let u_code = ulaw_encode(sample);
            let u = ulaw_decode(u_code);
            let u_step = 8 << ((!u_code >> 4) & 0x07);
            let u_err = (i32::from(u) - i32::from(sample)).abs();
            if magnitude > 32124 {
                assert_eq!(i32::from(u).abs(), 32124, "µ-law clips {sample}");
            } else {
                assert!(
                    u_err <= u_step / 2 + 4,
                    "µ-law {sample} -> {u} (step {u_step})"
                );
            }

            let a_code = alaw_encode(sample);
            let a = alaw_decode(a_code);
            let a_segment = ((a_code ^ 0x55) >> 4) & 0x07;
            let a_step = 16 << a_segment.saturating_sub(1);
            let a_err = (i32::from(a) - i32::from(sample)).abs();
            assert!(
                a_err <= a_step / 2 + 8,
                "A-law {sample} -> {a} (step {a_step})"
            );

            assert!(u >= previous_u, "µ-law not monotonic at {sample}");
            assert!(a >= previous_a, "A-law not monotonic at {sample}");
            previous_u = u;
            previous_a = a;
        }
    }

    #[test]
    fn decode_tables_are_odd_symmetric() {
        for code in 0..=127u8 {
            assert_eq!(ulaw_decode(code), -ulaw_decode(code | 0x80));
            assert_eq!(alaw_decode(code), -alaw_decode(code | 0x80));
        }
    }

    #[test]
    fn slices_encode_and_decode_every_sample() {
        let pcm = [0i16, 1000, -1000, 32767, -32768];
        let mut codes = Vec::new();
        ulaw_encode_slice(&pcm, &mut codes);
        alaw_encode_slice(&pcm, &mut codes);
        assert_eq!(codes.len(), 10);
        let mut back = Vec::new();
        ulaw_decode_slice(&codes[..5], &mut back);
        alaw_decode_slice(&codes[5..], &mut back);
        assert_eq!(back.len(), 10);
        assert_eq!(back[0], 0);
        assert_eq!(back[5], 8);
        assert!((i32::from(back[1]) - 1000).abs() < 40);
        assert!((i32::from(back[6]) - 1000).abs() < 40);
    }
}
