//! Traffic and drop counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// Declares a snapshot struct of `u64` fields and the matching atomic counter
/// set, so that a field cannot be added to one and forgotten in the other.
macro_rules! counters {
    (
        $(#[$smeta:meta])* pub struct $snap:ident / $atomic:ident {
            $( $(#[$fmeta:meta])* $field:ident, )*
        }
    ) => {
        $(#[$smeta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $snap {
            $( $(#[$fmeta])* pub $field: u64, )*
        }

        impl $snap {
            /// Every counter with its field name, in declaration order (for metrics).
            pub fn fields(&self) -> Vec<(&'static str, u64)> {
                vec![ $( (stringify!($field), self.$field), )* ]
            }
        }

        #[derive(Debug, Default)]
        pub(crate) struct $atomic {
            $( pub(crate) $field: AtomicU64, )*
        }

        impl $atomic {
            pub(crate) fn snapshot(&self) -> $snap {
                $snap { $( $field: self.$field.load(Ordering::Relaxed), )* }
            }
        }
    };
}

counters! {
    /// Messages that were not delivered or not sent, by reason.
    pub struct DropStats / DropCounters {
        /// Datagrams larger than `max_udp_message`.
        udp_oversize,
        /// Errors returned by a UDP receive call.
        udp_recv_errors,
        /// Datagrams the system refused to send (synchronously or from the
        /// would-block fallback).
        udp_send_errors,
        /// Connections closed because their byte stream could not be framed.
        stream_framing_errors,
        /// WebSocket frames dropped because they did not hold exactly one
        /// SIP message (RFC 7118 §5.2), or were a second message's fragment.
        ws_bad_frames,
        /// WebSocket connections closed after too many such frames.
        ws_connections_closed,
        /// WebSocket handshakes refused: not a WebSocket upgrade, or without
        /// the `sip` subprotocol (RFC 7118 §4.1).
        ws_handshakes_refused,
        /// Connections closed because a message exceeded `max_stream_message`.
        stream_oversize,
        /// Connections closed by a read error (reset, ...).
        stream_read_errors,
        /// Connections closed by a write error.
        stream_write_errors,
        /// Connections closed after `tcp_idle_timeout` without traffic.
        idle_timeouts,
        /// Inbound connections refused because their source address held
        /// `max_connections_per_source` already.
        source_connections_refused,
        /// Connections closed because a message, once begun, was not complete
        /// within `stream_message_timeout` (a slow sender).
        slow_messages,
        /// Connections refused because `max_connections` was reached (inbound
        /// connections closed at once, outbound ones not attempted).
        connections_refused,
        /// Outbound connection attempts that failed or timed out (the TLS
        /// handshake of an outbound connection included).
        connect_failures,
        /// TLS handshakes (inbound or outbound) that failed: not TLS, no
        /// common protocol, a certificate refused, ...
        tls_handshake_failures,
        /// TLS handshakes abandoned after `tls_handshake_timeout`.
        tls_handshake_timeouts,
        /// Sends refused because a connection's queue (or the UDP fallback
        /// queue) was full, including keep-alive pongs.
        send_queue_full,
        /// Queued messages discarded because their connection closed, or
        /// could not be opened, before they were written (each reported
        /// through `on_send_failed`).
        send_queue_discarded,
    }
}

counters! {
    /// A snapshot of the transport counters (see [`crate::Transports::stats`]).
    /// Every field counts since start, except `flows_open`.
    pub struct TrafficStats / TrafficCounters {
        /// Datagrams delivered to the handler.
        udp_datagrams_in,
        /// Bytes of the delivered datagrams.
        udp_bytes_in,
        /// Datagrams handed to the system.
        udp_datagrams_out,
        /// Bytes of those datagrams.
        udp_bytes_out,
        /// Whitespace-only datagrams (CRLF keep-alives), dropped.
        udp_keepalives_in,
        /// Messages framed on connections and delivered to the handler.
        stream_messages_in,
        /// Bytes read from connections (messages and keep-alives).
        stream_bytes_in,
        /// Messages written to connections (pongs excluded).
        stream_messages_out,
        /// Bytes written to connections (pongs included).
        stream_bytes_out,
        /// Double-CRLF pings received (each answered with a pong).
        stream_pings_in,
        /// CRLF pongs received (ignored).
        stream_pongs_in,
        /// Inbound connections accepted.
        flows_accepted,
        /// Outbound connections established.
        flows_connected,
        /// Connections closed, for any reason.
        flows_closed,
    }
}

/// What [`crate::Transports::stats`] returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Messages, bytes and connections.
    pub traffic: TrafficStats,
    /// Connections open (or connecting) now.
    pub flows_open: u64,
    /// Drops by reason.
    pub drops: DropStats,
}

/// All counters of one [`crate::Transports`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) traffic: TrafficCounters,
    pub(crate) drops: DropCounters,
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
