//! Identities, states and the outputs of the transaction layer.

use std::fmt;

use bytes::Bytes;
use sb_sip_message::{Destination, Peer, Request, Response};

/// Identity of one transaction. Ids are handed out in increasing order and never
/// reused by a [`crate::TransactionLayer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(u64);

impl TxId {
    /// The id as a number (for logs and metrics labels).
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    pub(crate) const fn from_u64(n: u64) -> TxId {
        TxId(n)
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx-{}", self.0)
    }
}

/// The four transaction state machines of RFC 3261 §17.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxKind {
    /// INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2).
    ClientInvite,
    /// Non-INVITE client transaction (RFC 3261 §17.1.2).
    ClientNonInvite,
    /// INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1).
    ServerInvite,
    /// Non-INVITE server transaction (RFC 3261 §17.2.2).
    ServerNonInvite,
}

impl TxKind {
    /// Whether this is a server transaction.
    pub const fn is_server(self) -> bool {
        matches!(self, TxKind::ServerInvite | TxKind::ServerNonInvite)
    }
}

impl fmt::Display for TxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TxKind::ClientInvite => "INVITE client",
            TxKind::ClientNonInvite => "non-INVITE client",
            TxKind::ServerInvite => "INVITE server",
            TxKind::ServerNonInvite => "non-INVITE server",
        })
    }
}

/// A transaction state, named exactly as in RFC 3261 §17 and RFC 6026. Each
/// machine uses a subset: client INVITE Calling/Proceeding/Accepted/Completed,
/// client non-INVITE Trying/Proceeding/Completed, server INVITE
/// Proceeding/Completed/Accepted/Confirmed, server non-INVITE
/// Trying/Proceeding/Completed; all end in Terminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxState {
    /// INVITE client: request sent, no response yet (RFC 3261 §17.1.1.2).
    Calling,
    /// Non-INVITE client or server: no provisional response yet (RFC 3261 §17.1.2.2, §17.2.2).
    Trying,
    /// A provisional response was received (client) or is being sent (server).
    Proceeding,
    /// A final response was received (client) or sent (server); absorbing retransmissions.
    Completed,
    /// A 2xx to an INVITE was received (client) or sent (server) (RFC 6026 §7).
    Accepted,
    /// INVITE server: the ACK for a non-2xx arrived (RFC 3261 §17.2.1).
    Confirmed,
    /// Done; the transaction is removed at once.
    Terminated,
}

impl fmt::Display for TxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A message to send: the serialized bytes and where they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub dest: Destination,
    /// The serialized message. Retransmissions share the buffer of the first send.
    pub payload: Bytes,
}

/// What the transaction user (TU) must learn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxEvent {
    /// A request that created a new server transaction (any method but ACK). Its
    /// top Via already carries `received`/`rport` (RFC 3261 §18.2.1, RFC 3581 §4).
    Request {
        /// The new server transaction.
        tx: TxId,
        /// The request.
        request: Request,
        /// Where it came from.
        peer: Peer,
    },
    /// An ACK that matched no INVITE server transaction in the Completed or
    /// Confirmed state: the ACK for a 2xx (RFC 6026 §7.1: delivered to the TU,
    /// which matches it to its dialog), or a stray ACK.
    Ack {
        /// The ACK, top Via stamped.
        request: Request,
        /// Where it came from.
        peer: Peer,
    },
    /// A response for a client transaction that the TU must see: 1xx, the first
    /// final response, and 2xx retransmissions in the Accepted state (RFC 6026 §8.4).
    Response {
        /// The client transaction.
        tx: TxId,
        /// The response.
        response: Response,
    },
    /// A response that matched no client transaction (a proxy forwards these
    /// statelessly, RFC 3261 §16.7; RFC 6026 §8.1 leaves the decision to the TU).
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        peer: Peer,
    },
    /// Timer B or F fired (client: the TU acts as if a 408 arrived, RFC 3261
    /// §8.1.3.1), or Timer H fired (INVITE server: no ACK came).
    Timeout {
        /// The transaction.
        tx: TxId,
    },
    /// The transport reported a failure for this transaction's destination
    /// (RFC 3261 §17.1.4, §17.2.4).
    TransportError {
        /// The transaction.
        tx: TxId,
    },
    /// The transaction reached Terminated and was removed.
    Terminated {
        /// The transaction.
        tx: TxId,
    },
}
