//! URI grammar (RFC 3261 §19.1, §25.1; RFC 3966).

use std::borrow::Cow;

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::uri::{Host, SipUri, TelUri, Uri};

pub(crate) fn parse_uri(_s: &ByteStr) -> Result<Uri, ParseError> {
    todo!()
}

pub(crate) fn parse_sip_uri(_s: &ByteStr) -> Result<SipUri, ParseError> {
    todo!()
}

pub(crate) fn parse_host(_s: &ByteStr) -> Result<Host, ParseError> {
    todo!()
}

pub(crate) fn unescape(_s: &str) -> Cow<'_, str> {
    todo!()
}

pub(crate) fn sip_uri_equivalent(_a: &SipUri, _b: &SipUri) -> bool {
    todo!()
}

pub(crate) fn tel_uri_equivalent(_a: &TelUri, _b: &TelUri) -> bool {
    todo!()
}
