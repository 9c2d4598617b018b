//! Limits on what one inbound connection may hold: connections per source
//! address, and how long one message may take to arrive once it has begun
//! (a slow sender, "slowloris", must not hold a connection and its buffer).
//!
//! [`SourceSlot`] is taken when a connection is accepted (before any TLS or
//! WebSocket handshake) and released when the connection's task drops it.
//! [`Paced`] wraps a connection's read side (the socket under TLS, so that a
//! dribbled TLS record counts as well): from the first byte read after the
//! reader last said a message was complete ([`MessageMark::complete`]), the
//! rest must follow within the configured time, or reads fail with
//! [`io::ErrorKind::TimedOut`].

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::shared::Shared;
use crate::stats::bump;

/// Open inbound connections per source address.
#[derive(Debug, Default)]
pub(crate) struct SourceCounts {
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// One inbound connection counted against its source; released on drop.
pub(crate) struct SourceSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl std::fmt::Debug for SourceSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSlot").field("ip", &self.ip).finish()
    }
}

impl SourceSlot {
    /// Counts a connection from `ip`; `None` (counted as refused) when the
    /// source already holds `max_connections_per_source` (0: no limit).
    pub(crate) fn take(shared: &Arc<Shared>, ip: IpAddr) -> Option<SourceSlot> {
        let limit = shared.limits.max_connections_per_source;
        let mut open = shared
            .sources
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if limit != 0 && *count as usize >= limit {
            drop(open);
            bump(&shared.counters.drops.source_connections_refused);
            tracing::debug!(%ip, limit, "connections per source reached, connection refused");
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            shared: shared.clone(),
            ip,
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self
            .shared
            .sources
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Entry::Occupied(mut entry) = open.entry(self.ip) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }
}

/// What an accepted connection carries from the accept to its close: its
/// place in the per-source count and the mark that stops its message clock.
#[derive(Debug)]
pub(crate) struct Admitted {
    /// Released when the connection's task ends.
    pub(crate) _slot: SourceSlot,
    /// Told when a message is complete.
    pub(crate) mark: MessageMark,
}

/// Told by a connection's reader that a message (or keep-alive) is complete
/// and no part of another is pending.
#[derive(Debug, Clone)]
pub(crate) struct MessageMark(Arc<AtomicBool>);

impl MessageMark {
    /// Nothing unfinished is held: the next byte starts a new message.
    pub(crate) fn complete(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A read side whose messages must complete within a time limit once begun.
#[derive(Debug)]
pub(crate) struct Paced<S> {
    inner: S,
    limit: Duration,
    complete: Arc<AtomicBool>,
    /// When the unfinished message must be complete, if one has begun. The
    /// timer is allocated once per connection, on its first message.
    deadline: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

/// Wraps `inner`; a zero `limit` disables the deadline.
pub(crate) fn paced<S>(inner: S, limit: Duration) -> (Paced<S>, MessageMark) {
    let complete = Arc::new(AtomicBool::new(false));
    let mark = MessageMark(complete.clone());
    let paced = Paced {
        inner,
        limit,
        complete,
        deadline: None,
        armed: false,
    };
    (paced, mark)
}

/// The error a read returns once the deadline has passed.
pub(crate) fn too_slow() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "message not completed within stream_message_timeout",
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Paced<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.complete.swap(false, Ordering::Relaxed) {
            this.armed = false;
        }
        if this.armed
            && let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(too_slow()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if !this.armed && buf.filled().len() > before && !this.limit.is_zero() {
            let at = Instant::now() + this.limit;
            match this.deadline.as_mut() {
                Some(deadline) => deadline.as_mut().reset(at),
                None => this.deadline = Some(Box::pin(tokio::time::sleep_until(at))),
            }
            this.armed = true;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Paced<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
