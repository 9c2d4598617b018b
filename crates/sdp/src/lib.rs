//! SDP (RFC 8866): a model that keeps every line it does not interpret, a parser with line
//! numbers in its errors, a writer, and typed access to the attributes the media gateway needs
//! (RFC 3264 offer/answer, RFC 4568 `a=crypto`, RFC 3605 `a=rtcp`, RFC 5761 `a=rtcp-mux`).
//!
//! Must not depend on: media, sockets, time.
