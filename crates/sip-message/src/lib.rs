//! SIP message grammar for Switchboard (RFC 3261 §7, §19, §20, §25).
//!
//! Owns: parsing and serializing requests and responses over [`bytes::Bytes`],
//! URIs (`sip:`, `sips:`, `tel:`) and their comparison (RFC 3261 §19.1.4),
//! name-addr values, typed access to the headers the core needs (Via, From, To,
//! Call-ID, CSeq, Contact, Expires, Max-Forwards), compact header forms, folding,
//! comma-separated multi-value headers, and the Content-Length framer for stream
//! transports. It also defines the plain data types that describe where a
//! message came from or goes ([`Transport`], [`FlowId`], [`Peer`],
//! [`Destination`]) so the sans-IO cores can share them.
//!
//! Must not depend on: I/O, clocks, tokio, or any other Switchboard crate.
//!
//! How to drive it: a datagram (or a frame from [`StreamFramer`] on TCP/TLS)
//! goes to [`Message::parse`]; header values stay text that shares the
//! datagram's buffer and typed values (Via, name-addr, CSeq…) are parsed on
//! demand from [`Headers`]. A server then runs [`validate_request`], which
//! returns the typed core it parsed while checking ([`RequestCore`]: top Via,
//! From, To, Call-ID, CSeq, Max-Forwards, Contacts) so that nothing is parsed
//! twice, and answers a failure with [`ParseError::status_code`] and the error
//! text as reason phrase; when parsing itself failed, [`salvage_headers`]
//! recovers what a 400 needs.
//!
//! Serialization never goes through `core::fmt`: every typed value implements
//! [`WriteSip`] (`write_to` a `String` or `BytesMut`, `to_byte_str` for a
//! header value allocated once at its exact size), and its `Display` prints
//! the same text through the same code.
//! ```
//! use bytes::Bytes;
//! use sb_sip_message::{Message, Method, validate_request};
//!
//! let raw = Bytes::from_static(
//!     b"OPTIONS sip:example.com SIP/2.0\r\n\
//!       Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
//!       Max-Forwards: 70\r\nTo: <sip:example.com>\r\n\
//!       From: <sip:alice@example.com>;tag=1928301774\r\n\
//!       Call-ID: a84b4c76e66710\r\nCSeq: 63104 OPTIONS\r\nContent-Length: 0\r\n\r\n",
//! );
//! let Message::Request(req) = Message::parse(raw).unwrap() else { unreachable!() };
//! assert_eq!(req.method, Method::Options);
//! assert_eq!(req.headers.top_via().unwrap().branch().unwrap().as_str(), "z9hG4bK776asdhds");
//! let core = validate_request(&req).unwrap();
//! assert_eq!(core.cseq.seq, 63104);
//! assert_eq!(core.from.tag().unwrap().as_str(), "1928301774");
//! ```
//!
//! Malformed input never panics: every parser returns [`ParseError`]. The
//! parsers live in [`parse`] (one file per grammar), the checks of a parsed
//! request in `validate`; `crates/fuzz` holds the fuzz target.
//!
//! Costs are kept low on the per-request path: UTF-8 is checked once per
//! header section ([`ByteStr`] never re-checks it), parameter lists of up to
//! four entries live inline ([`Params`]), large values (URIs, name-addrs, the
//! request core) are parsed in place rather than moved, and
//! `benches/parse.rs` measures each operation on its own.

mod bytestr;
mod error;
mod framer;
mod header_name;
mod headers;
mod ids;
mod message;
mod method;
mod name_addr;
mod params;
pub mod parse;
mod status;
mod transport;
mod uri;
mod validate;
mod via;
mod write;

pub use bytestr::ByteStr;
pub use error::ParseError;
pub use framer::{Frame, StreamFramer};
pub use header_name::HeaderName;
pub use headers::{Header, Headers};
pub use ids::{Aor, BRANCH_MAGIC_COOKIE, Branch, CallId, Tag};
pub use message::{Message, Request, Response};
pub use method::Method;
pub use name_addr::{Contact, NameAddr};
pub use params::{Param, Params, unquote};
pub use parse::{MAX_HEADER_FIELDS, MAX_VIAS, salvage_headers};
pub use status::StatusCode;
pub use transport::{Destination, FlowId, Peer, Transport, UnknownTransport};
pub use uri::{Host, Scheme, SipUri, TelUri, Uri};
pub use validate::{RequestCore, validate_request, validate_response};
pub use via::{CSeq, Via};
pub use write::{TextSink, WriteSip, push_ip, push_u32};
