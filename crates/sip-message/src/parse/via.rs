//! Via and CSeq.

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::via::{CSeq, Via};

pub(crate) fn parse_via(_s: &ByteStr) -> Result<Via, ParseError> {
    todo!()
}

pub(crate) fn parse_cseq(_s: &ByteStr) -> Result<CSeq, ParseError> {
    todo!()
}
