//! name-addr / addr-spec with header parameters.

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::name_addr::NameAddr;

pub(crate) fn parse_name_addr(_s: &ByteStr) -> Result<NameAddr, ParseError> {
    todo!()
}

/// `q=0.5` → 500; `None` unless 0 ≤ q ≤ 1 with at most three decimals.
pub(crate) fn parse_qvalue(_s: &str) -> Option<u16> {
    todo!()
}
