//! The parsers behind the public types. Every function here takes untrusted
//! input and returns an error instead of panicking.

pub(crate) mod framing;
pub(crate) mod message;
pub(crate) mod name_addr;
pub(crate) mod uri;
pub(crate) mod via;

pub use message::salvage_headers;
