//! SDES keys (RFC 4568): reading a device's `a=crypto` lines into keys the data plane uses,
//! making ours from the negotiator's seeded generator, choosing them per leg (kept across
//! re-offers while the device keeps its own), and writing them.

use rand::Rng;
use rand::rngs::StdRng;
use sb_sdp::{Attribute, Attributes, KeyParam};

use super::negotiator::Negotiator;
use super::remote::Remote;
use super::{NegotiateError, SrtpOffer};
use crate::plan::{LegId, SrtpKey, SrtpPair, SrtpSuite};

/// The suites we offer, in order of preference (RFC 4568 §6.2).
pub(crate) const OFFERED_SUITES: [SrtpSuite; 2] = [
    SrtpSuite::AesCm128HmacSha1_80,
    SrtpSuite::AesCm128HmacSha1_32,
];

/// A device's `a=crypto` line the gateway can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteCrypto {
    /// The line's tag.
    pub tag: u32,
    /// The device's key (it protects what the device sends).
    pub key: SrtpKey,
}

impl RemoteCrypto {
    /// Every usable line: a suite we implement, one `inline:` key of 30 bytes, no MKI and no
    /// session parameter (RFC 4568 §6.3: an answerer must not accept a line with parameters
    /// it does not honour). Lifetimes are accepted; rekeying happens by re-INVITE.
    pub(crate) fn read_all(attributes: &Attributes) -> Vec<RemoteCrypto> {
        attributes
            .cryptos()
            .filter_map(|c| {
                let suite = SrtpSuite::from_name(c.suite)?;
                let [param] = c.keys.as_slice() else {
                    return None;
                };
                if param.mki.is_some() || !c.session_params.is_empty() {
                    return None;
                }
                let bytes = param.decode_key_salt().ok()?;
                let (key, salt) = bytes.split_first_chunk::<16>()?;
                Some(RemoteCrypto {
                    tag: c.tag,
                    key: SrtpKey {
                        suite,
                        key: *key,
                        salt: <[u8; 14]>::try_from(salt).ok()?,
                    },
                })
            })
            .collect()
    }
}

/// A fresh master key and salt for `suite`.
pub(crate) fn generate(rng: &mut StdRng, suite: SrtpSuite) -> SrtpKey {
    let mut key = SrtpKey {
        suite,
        key: [0; 16],
        salt: [0; 14],
    };
    rng.fill_bytes(&mut key.key);
    rng.fill_bytes(&mut key.salt);
    key
}

/// `a=crypto:<tag> <suite> inline:<key||salt>`.
pub(crate) fn attribute(tag: u32, key: &SrtpKey) -> Attribute {
    let mut key_salt = [0u8; 30];
    key_salt[..16].copy_from_slice(&key.key);
    key_salt[16..].copy_from_slice(&key.salt);
    Attribute::new(
        "crypto",
        format!(
            "{tag} {} inline:{}",
            key.suite.name(),
            KeyParam::encode_key_salt(&key_salt)
        ),
    )
}

impl Negotiator {
    /// The key we answer an SRTP offer with: same tag and suite as the first usable line of
    /// the offer; our previous key on the leg while the device keeps its own.
    pub(super) fn answer_key(
        &mut self,
        leg: LegId,
        remote: &Remote,
    ) -> Result<Option<(u32, SrtpPair)>, NegotiateError> {
        if remote.port == 0 || !remote.wants_srtp() {
            return Ok(None);
        }
        let Some(theirs) = remote.cryptos.first() else {
            // RTP/AVP with a=crypto lines we cannot use: plain RTP (RFC 4568 §7.1.2).
            return match remote.requires_srtp() {
                true => Err(NegotiateError::NoCommonCrypto),
                false => Ok(None),
            };
        };
        let state = self.legs.iter().position(|l| l.id == leg);
        let previous = state.and_then(|i| {
            let l = &self.legs[i];
            let unchanged = l.plan.srtp.as_ref().is_some_and(|p| p.remote == theirs.key);
            l.local_keys
                .iter()
                .find(|(tag, key)| unchanged && *tag == theirs.tag && key.suite == theirs.key.suite)
                .map(|(_, key)| key.clone())
        });
        let local = match previous {
            Some(key) => key,
            None => {
                let key = generate(&mut self.rng, theirs.key.suite);
                if let Some(i) = state {
                    let keys = &mut self.legs[i].local_keys;
                    keys.retain(|(tag, _)| *tag != theirs.tag);
                    keys.push((theirs.tag, key.clone()));
                }
                key
            }
        };
        Ok(Some((
            theirs.tag,
            SrtpPair {
                local,
                remote: theirs.key.clone(),
            },
        )))
    }

    /// The profile and keys of an offer we send on `leg`: what the leg already negotiated
    /// (the same key, or plain RTP), else [`NegotiatorConfig::srtp_offer`].
    pub(super) fn offer_keys(&mut self, leg: LegId) -> (&'static str, Vec<(u32, SrtpKey)>, bool) {
        let i = self
            .legs
            .iter()
            .position(|l| l.id == leg)
            .expect("offer_keys is called after the leg is created");
        let state = &self.legs[i];
        if let (Some((tag, savp)), Some(pair)) = (state.srtp, &state.plan.srtp) {
            let proto = if savp { "RTP/SAVP" } else { "RTP/AVP" };
            return (proto, vec![(tag, pair.local.clone())], savp);
        }
        if state.established {
            return ("RTP/AVP", Vec::new(), false);
        }
        let (proto, required) = match self.srtp_offer {
            SrtpOffer::Never => return ("RTP/AVP", Vec::new(), false),
            SrtpOffer::Optional => ("RTP/AVP", false),
            SrtpOffer::Mandatory => ("RTP/SAVP", true),
        };
        let mut offered = Vec::with_capacity(OFFERED_SUITES.len());
        for (tag, suite) in (1u32..).zip(OFFERED_SUITES) {
            let existing = self.legs[i]
                .local_keys
                .iter()
                .find(|(t, k)| *t == tag && k.suite == suite)
                .map(|(_, k)| k.clone());
            let key = match existing {
                Some(key) => key,
                None => {
                    let key = generate(&mut self.rng, suite);
                    let keys = &mut self.legs[i].local_keys;
                    keys.retain(|(t, _)| *t != tag);
                    keys.push((tag, key.clone()));
                    key
                }
            };
            offered.push((tag, key));
        }
        (proto, offered, required)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn our_lines_read_back() {
        let mut rng = StdRng::seed_from_u64(7);
        let ours = generate(&mut rng, SrtpSuite::AesCm128HmacSha1_32);
        let again = generate(&mut rng, SrtpSuite::AesCm128HmacSha1_32);
        assert_ne!(ours, again);
        let attrs: Attributes = vec![attribute(3, &ours)].into();
        assert_eq!(
            RemoteCrypto::read_all(&attrs),
            vec![RemoteCrypto { tag: 3, key: ours }]
        );
    }

    #[test]
    fn unusable_lines_are_skipped() {
        let key = "inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk";
        let line = |v: String| Attribute::new("crypto", v);
        let attrs: Attributes = vec![
            line(format!("1 AES_256_CM_HMAC_SHA1_80 {key}")),
            line(format!("2 AES_CM_128_HMAC_SHA1_80 {key}|2^31|1:1")),
            line(format!("3 AES_CM_128_HMAC_SHA1_80 {key} UNENCRYPTED_SRTP")),
            line(format!("4 AES_CM_128_HMAC_SHA1_80 {key};{key}")),
            line("5 AES_CM_128_HMAC_SHA1_80 inline:QUJD".to_owned()),
            line("6 AES_CM_128_HMAC_SHA1_80 nonsense".to_owned()),
            line(format!("7 AES_CM_128_HMAC_SHA1_32 {key}|2^31")),
        ]
        .into();
        let usable = RemoteCrypto::read_all(&attrs);
        assert_eq!(usable.len(), 1);
        assert_eq!(usable[0].tag, 7);
        assert_eq!(&usable[0].key.key, b"ABCDEFGHIJKLMNOP");
        assert_eq!(&usable[0].key.salt, b"QRSTUVWXYZabcd");
    }
}
