//! Session keys of one SRTP or SRTCP direction: derivation from the master key (RFC 3711
//! §4.3), AES counter mode keystream (§4.1.1) and HMAC-SHA1 authentication (§4.2).

use aes::Aes128;
use aes::cipher::{InnerIvInit, KeyInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::plan::SrtpKey;

/// AES-CM: AES-128 in counter mode with a 128-bit big-endian counter (RFC 3711 §4.1.1).
type AesCm = ctr::Ctr128BE<Aes128>;
type AesCmCore = ctr::CtrCore<Aes128, ctr::flavors::Ctr128BE>;

/// The AES-CM keystream generator starting at counter block `iv`, for an expanded key.
fn aes_cm(cipher: &Aes128, iv: [u8; 16]) -> AesCm {
    AesCm::from_core(AesCmCore::inner_iv_init(cipher.clone(), &iv.into()))
}

/// Key derivation labels (RFC 3711 §4.3.1, §4.3.2).
#[derive(Debug, Clone, Copy)]
pub(super) struct Labels {
    cipher: u8,
    auth: u8,
    salt: u8,
}

/// Labels of the SRTP session keys.
pub(super) const SRTP_LABELS: Labels = Labels {
    cipher: 0,
    auth: 1,
    salt: 2,
};

/// Labels of the SRTCP session keys.
pub(super) const SRTCP_LABELS: Labels = Labels {
    cipher: 3,
    auth: 4,
    salt: 5,
};

/// Length of the HMAC-SHA1 authentication key (n_a = 160 bits, RFC 3711 §8.2).
const AUTH_KEY_LEN: usize = 20;

/// The session keys of one stream kind (SRTP or SRTCP) under one master key.
#[derive(Clone)]
pub(super) struct SessionKeys {
    cipher: Aes128,
    salt: [u8; 14],
    mac: Hmac<Sha1>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are never printed (DESIGN §6.8).
        f.debug_struct("SessionKeys").finish_non_exhaustive()
    }
}

/// The AES-CM pseudo-random function of RFC 3711 §4.3.3 with key derivation rate 0:
/// keystream under the master key with IV = (master salt XOR label at bit 48) · 2^16.
fn prf(master: &Aes128, master_salt: &[u8; 14], label: u8, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(master_salt);
    iv[7] ^= label;
    out.fill(0);
    aes_cm(master, iv).apply_keystream(out);
}

impl SessionKeys {
    /// Derives the session keys for `labels` from a master key and salt (RFC 3711 §4.3.1).
    pub(super) fn derive(master: &SrtpKey, labels: Labels) -> SessionKeys {
        let master_cipher = Aes128::new(&master.key.into());
        let mut cipher_key = [0u8; 16];
        let mut auth_key = [0u8; AUTH_KEY_LEN];
        let mut salt = [0u8; 14];
        prf(&master_cipher, &master.salt, labels.cipher, &mut cipher_key);
        prf(&master_cipher, &master.salt, labels.auth, &mut auth_key);
        prf(&master_cipher, &master.salt, labels.salt, &mut salt);
        SessionKeys {
            cipher: Aes128::new(&cipher_key.into()),
            salt,
            mac: <Hmac<Sha1> as hmac::KeyInit>::new_from_slice(&auth_key)
                .expect("HMAC takes a key of any length"),
        }
    }

    /// XORs `data` with the AES-CM keystream for packet `index` of `ssrc`:
    /// IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16) (RFC 3711 §4.1.1).
    pub(super) fn apply_keystream(&self, ssrc: u32, index: u64, data: &mut [u8]) {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&self.salt);
        for (i, b) in ssrc.to_be_bytes().into_iter().enumerate() {
            iv[4 + i] ^= b;
        }
        for (i, b) in index.to_be_bytes()[2..].iter().enumerate() {
            iv[8 + i] ^= b;
        }
        aes_cm(&self.cipher, iv).apply_keystream(data);
    }

    /// HMAC-SHA1 over `parts` in order (RFC 3711 §4.2.1), full 160 bits.
    pub(super) fn tag(&self, parts: &[&[u8]]) -> [u8; 20] {
        let mut mac = self.mac.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the leftmost part of the HMAC over `parts`, compared in constant time.
    pub(super) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut mac = self.mac.clone();
        for p in parts {
            mac.update(p);
        }
        mac.verify_truncated_left(tag).is_ok()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::plan::SrtpSuite;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
            .collect()
    }

    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        // RFC 3711 Appendix B.2: session key and salt given directly, SSRC 0, index 0.
        let keys = SessionKeys {
            cipher: Aes128::new(
                &<[u8; 16]>::try_from(hex("2B7E151628AED2A6ABF7158809CF4F3C"))
                    .unwrap()
                    .into(),
            ),
            salt: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap(),
            mac: <Hmac<Sha1> as hmac::KeyInit>::new_from_slice(&[0; 20]).unwrap(),
        };
        let mut stream = vec![0u8; 0xff02 * 16];
        keys.apply_keystream(0, 0, &mut stream);
        assert_eq!(
            stream[..48],
            hex(
                "E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB
                 41E95B3BB0A2E8DD477901E4FCA894C0"
            )[..]
        );
        assert_eq!(
            stream[0xfeff * 16..],
            hex(
                "EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE
                 6A2CC3787889374FBEB4C81B17BA6C44"
            )[..]
        );
    }

    #[test]
    fn rfc3711_b3_key_derivation() {
        let master = SrtpKey {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            key: hex("E1F97A0D3E018BE0D64FA32C06DE4139").try_into().unwrap(),
            salt: hex("0EC675AD498AFEEBB6960B3AABE6").try_into().unwrap(),
        };
        let master_cipher = Aes128::new(&master.key.into());
        let mut cipher_key = [0u8; 16];
        prf(&master_cipher, &master.salt, 0, &mut cipher_key);
        assert_eq!(cipher_key[..], hex("C61E7A93744F39EE10734AFE3FF7A087")[..]);
        let mut salt = [0u8; 14];
        prf(&master_cipher, &master.salt, 2, &mut salt);
        assert_eq!(salt[..], hex("30CBBC08863D8C85D49DB34A9AE1")[..]);
        let mut auth = [0u8; 94];
        prf(&master_cipher, &master.salt, 1, &mut auth);
        assert_eq!(
            auth[..],
            hex(
                "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE
                 E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25
                 6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2"
            )[..]
        );
        // The derived HMAC key is the first 160 bits of that stream.
        let keys = SessionKeys::derive(&master, SRTP_LABELS);
        let mut m = <Hmac<Sha1> as hmac::KeyInit>::new_from_slice(&auth[..20]).unwrap();
        m.update(b"abc");
        assert_eq!(keys.tag(&[b"a", b"bc"])[..], m.finalize().into_bytes()[..]);
    }
}
