//! DTLS identities for WebRTC legs, made ahead of time. Generating one (an ECDSA P-256 key
//! pair and a self-signed certificate) takes about half a millisecond; done by a media
//! worker when a browser leg starts, it would delay every other call's packets on that
//! worker. A thread of its own keeps a few ready instead; a worker takes one at no cost and
//! generates one itself only when a burst of calls has used them all.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use sb_media_engine::{EngineError, WebRtcIdentity};

/// Identities kept ready.
const READY: usize = 8;

/// A stock of ready identities, refilled in the background.
#[derive(Default)]
pub(crate) struct Identities {
    ready: Mutex<Vec<WebRtcIdentity>>,
    /// Signalled when one is taken.
    taken: Condvar,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities").finish_non_exhaustive()
    }
}

impl Identities {
    /// A stock whose refilling thread lives as long as the stock.
    pub(crate) fn start() -> Arc<Identities> {
        let stock = Arc::new(Identities::default());
        let weak = Arc::downgrade(&stock);
        let spawned = std::thread::Builder::new()
            .name("webrtc-identities".into())
            .spawn(move || refill(&weak));
        if let Err(e) = spawned {
            // Workers then generate every identity themselves.
            tracing::warn!(error = %e, "cannot start the DTLS identity thread");
        }
        stock
    }

    /// A ready identity, or a new one when none is ready.
    pub(crate) fn take(&self) -> Result<WebRtcIdentity, EngineError> {
        let ready = self.lock().pop();
        self.taken.notify_one();
        match ready {
            Some(identity) => Ok(identity),
            None => WebRtcIdentity::generate(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<WebRtcIdentity>> {
        self.ready
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Keeps [`READY`] identities in the stock until it is dropped.
fn refill(stock: &Weak<Identities>) {
    loop {
        let Some(s) = stock.upgrade() else {
            return;
        };
        let full = {
            let ready = s.lock();
            if ready.len() >= READY {
                // Woken when one is taken; the timeout notices a dropped stock.
                let (ready, _) = s
                    .taken
                    .wait_timeout(ready, Duration::from_secs(1))
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                ready.len() >= READY
            } else {
                false
            }
        };
        if full {
            continue;
        }
        drop(s);
        match WebRtcIdentity::generate() {
            Ok(identity) => match stock.upgrade() {
                Some(s) => s.lock().push(identity),
                None => return,
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot generate a DTLS identity");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stock_fills_up_and_hands_out_distinct_identities() {
        let stock = Identities::start();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while stock.lock().len() < READY {
            assert!(
                std::time::Instant::now() < deadline,
                "the stock never filled"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut seen = std::collections::HashSet::new();
        for _ in 0..READY + 2 {
            let identity = stock.take().expect("an identity");
            assert!(seen.insert(identity.fingerprint().to_string()));
        }
    }
}
