//! In-process tests of the transports over real loopback sockets.

mod common;
mod lifecycle;
mod tcp;
mod tcp_outbound;
mod tls;
mod udp;
mod ws;
