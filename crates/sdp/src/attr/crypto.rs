//! `a=crypto` (RFC 4568 §9.1): SDES keys for SRTP.
//!
//! `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]`, where `key-params` is one
//! or more `inline:<key||salt base64>[|<lifetime>][|<MKI>:<length>]` joined by `;`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use super::{next_field, number};
use crate::error::SdpError;
use crate::model::Attributes;

const NAME: &str = "crypto";

/// Standard alphabet; padding optional on input (some devices drop it).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One `a=crypto` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto<'a> {
    /// The tag (1 to 9 digits) that the answer repeats.
    pub tag: u32,
    /// The crypto suite name (`AES_CM_128_HMAC_SHA1_80`, …).
    pub suite: &'a str,
    /// The key parameters, in order (at least one).
    pub keys: Vec<KeyParam<'a>>,
    /// The session parameters as written (`UNENCRYPTED_SRTP`, `KDR=…`, …), possibly empty.
    pub session_params: &'a str,
}

/// One `inline:` key parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyParam<'a> {
    /// The concatenated master key and salt, base64 as written.
    pub key_salt: &'a str,
    /// The master key lifetime in packets, when given (`2^31` or a number).
    pub lifetime: Option<u64>,
    /// The master key identifier, when given.
    pub mki: Option<Mki>,
    lifetime_text: Option<&'a str>,
}

/// A master key identifier: `<value>:<length in bytes>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mki {
    /// The MKI value.
    pub value: u64,
    /// Its length on the wire in bytes (1–128).
    pub length: u8,
}

impl<'a> Crypto<'a> {
    /// Parses a `crypto` value.
    pub fn parse(value: &'a str) -> Result<Crypto<'a>, SdpError> {
        let err = |reason| SdpError::Attribute { name: NAME, reason };
        let value = value.trim();
        let mut rest = value;
        let tag = next_field(&mut rest);
        let suite = next_field(&mut rest);
        let key_params = next_field(&mut rest);
        if tag.len() > 9 {
            return Err(err("tag has more than 9 digits"));
        }
        let tag = number(tag, NAME, "tag is not a number")?;
        if suite.is_empty() || key_params.is_empty() {
            return Err(err("expected <tag> <crypto-suite> <key-params>"));
        }
        let keys = key_params
            .split(';')
            .map(KeyParam::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Crypto {
            tag,
            suite,
            keys,
            session_params: rest.trim(),
        })
    }

    /// The session parameters, one by one.
    pub fn session_params(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.session_params.split_ascii_whitespace()
    }
}

impl fmt::Display for Crypto<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.tag, self.suite)?;
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{key}")?;
        }
        if !self.session_params.is_empty() {
            write!(f, " {}", self.session_params)?;
        }
        Ok(())
    }
}

impl<'a> KeyParam<'a> {
    /// Parses one `inline:` key parameter.
    pub fn parse(text: &'a str) -> Result<KeyParam<'a>, SdpError> {
        let err = |reason| SdpError::Attribute { name: NAME, reason };
        let (method, info) = text
            .split_once(':')
            .ok_or(err("key parameter is not <method>:<info>"))?;
        if !method.eq_ignore_ascii_case("inline") {
            return Err(err("key method is not inline"));
        }
        let mut parts = info.split('|');
        let key_salt = parts.next().unwrap_or_default();
        if key_salt.is_empty() {
            return Err(err("empty key"));
        }
        let mut param = KeyParam {
            key_salt,
            lifetime: None,
            mki: None,
            lifetime_text: None,
        };
        for part in parts {
            if let Some((value, length)) = part.split_once(':') {
                if param.mki.is_some() {
                    return Err(err("more than one MKI"));
                }
                let length: u8 = number(length, NAME, "MKI length is not a number")?;
                if !(1..=128).contains(&length) {
                    return Err(err("MKI length is not from 1 to 128"));
                }
                param.mki = Some(Mki {
                    value: number(value, NAME, "MKI value is not a number")?,
                    length,
                });
            } else {
                if param.lifetime.is_some() || param.mki.is_some() {
                    return Err(err("lifetime must come once, before the MKI"));
                }
                param.lifetime = Some(lifetime(part)?);
                param.lifetime_text = Some(part);
            }
        }
        Ok(param)
    }

    /// The decoded key and salt (30 bytes for the AES_CM_128 suites).
    pub fn decode_key_salt(&self) -> Result<Vec<u8>, SdpError> {
        LENIENT
            .decode(self.key_salt)
            .map_err(|_| SdpError::Attribute {
                name: NAME,
                reason: "key is not base64",
            })
    }

    /// An `inline:` parameter for `key_salt` (no lifetime, no MKI).
    pub fn encode_key_salt(key_salt: &[u8]) -> String {
        general_purpose::STANDARD.encode(key_salt)
    }
}

impl fmt::Display for KeyParam<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inline:{}", self.key_salt)?;
        if let Some(text) = self.lifetime_text {
            write!(f, "|{text}")?;
        }
        if let Some(mki) = self.mki {
            write!(f, "|{}:{}", mki.value, mki.length)?;
        }
        Ok(())
    }
}

fn lifetime(text: &str) -> Result<u64, SdpError> {
    let reason = "lifetime is not a number or 2^n";
    match text.strip_prefix("2^") {
        Some(power) => {
            let power: u32 = number(power, NAME, reason)?;
            1u64.checked_shl(power)
                .filter(|_| power < 64)
                .ok_or(SdpError::Attribute { name: NAME, reason })
        }
        None => number(text, NAME, reason),
    }
}

impl Attributes {
    /// Every well-formed `crypto`, in order.
    pub fn cryptos(&self) -> impl Iterator<Item = Crypto<'_>> {
        self.all(NAME)
            .filter_map(|a| Crypto::parse(a.value_str()).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4568_example() {
        let value = "1 AES_CM_128_HMAC_SHA1_80 \
                     inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";
        let c = Crypto::parse(value).unwrap();
        assert_eq!(c.tag, 1);
        assert_eq!(c.suite, "AES_CM_128_HMAC_SHA1_80");
        assert_eq!(c.keys.len(), 1);
        let key = c.keys[0];
        assert_eq!(key.lifetime, Some(1 << 20));
        assert_eq!(
            key.mki,
            Some(Mki {
                value: 1,
                length: 4
            })
        );
        assert_eq!(key.decode_key_salt().unwrap().len(), 30);
        assert_eq!(c.to_string(), value);
    }

    #[test]
    fn several_keys_and_session_params() {
        let value = "2 AES_CM_128_HMAC_SHA1_32 \
                     inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|1048576|2:1;\
                     inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk|2^20|3:1 \
                     KDR=1 UNENCRYPTED_SRTCP";
        let c = Crypto::parse(value).unwrap();
        assert_eq!(c.keys.len(), 2);
        assert_eq!(c.keys[0].lifetime, Some(1_048_576));
        assert_eq!(c.keys[1].mki.map(|m| m.value), Some(3));
        assert_eq!(
            c.session_params().collect::<Vec<_>>(),
            vec!["KDR=1", "UNENCRYPTED_SRTCP"]
        );
        assert_eq!(c.to_string(), value);
    }

    #[test]
    fn unpadded_key_decodes() {
        // 30 bytes encode to 40 characters without padding; a 29-byte key needs one '='.
        let key = KeyParam::parse("inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmM").unwrap();
        assert_eq!(key.decode_key_salt().unwrap().len(), 29);
        let encoded = KeyParam::encode_key_salt(&[7u8; 30]);
        assert_eq!(encoded.len(), 40);
        let parsed = KeyParam::parse(&format!("inline:{encoded}"))
            .unwrap()
            .decode_key_salt()
            .unwrap();
        assert_eq!(parsed, vec![7u8; 30]);
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "1",
            "1 AES_CM_128_HMAC_SHA1_80",
            "x AES_CM_128_HMAC_SHA1_80 inline:QUJD",
            "1234567890 AES_CM_128_HMAC_SHA1_80 inline:QUJD",
            "1 AES_CM_128_HMAC_SHA1_80 uri:QUJD",
            "1 AES_CM_128_HMAC_SHA1_80 inline:",
            "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|2^64",
            "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|2^x",
            "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|1:0",
            "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|1:129",
            "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|1:4|2^20",
            "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|2^20|2^20",
            "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|1:4|2:4",
        ] {
            assert!(Crypto::parse(bad).is_err(), "{bad:?}");
        }
        let key = KeyParam::parse("inline:not*base64").unwrap();
        assert!(key.decode_key_salt().is_err());
    }
}
