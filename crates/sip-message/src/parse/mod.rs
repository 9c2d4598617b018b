//! The parsers behind the public types. Every function here takes untrusted
//! input and returns an error instead of panicking.

pub(crate) mod framing;
mod header_section;
mod lex;
mod lines;
pub(crate) mod message;
pub(crate) mod name_addr;
mod sip_uri;
pub(crate) mod uri;
mod uri_compare;
pub(crate) mod via;

pub use header_section::{MAX_HEADER_FIELDS, MAX_VIAS};
pub use message::salvage_headers;
