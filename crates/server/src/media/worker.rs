//! Media workers: one thread per core, each an event loop over the calls it
//! owns. A call is owned by exactly one worker for its whole life (its
//! sockets, session and negotiator are touched by no other thread); the
//! worker waits on a level-triggered epoll set holding every socket of its
//! calls plus an eventfd for commands, and on the earliest timer of its
//! calls.
//!
//! Why not a tokio task per call: a relayed packet then costs a task wake-up,
//! readiness bookkeeping and, because readiness is edge-triggered, a second
//! receive that returns `EAGAIN` — together more than the kernel's own
//! receive and send. Level-triggered readiness lets one `recvfrom` per event
//! suffice, and one `epoll_wait` serves every call of the worker.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::os::fd::OwnedFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::event::{EventfdFlags, epoll, eventfd};
use sb_media_engine::SocketKind;
use sb_switch::{CallRef, EffectResult, EffectToken};
use tokio::sync::mpsc as mpsc_results;

use super::task::{CallMediaTask, MediaCommand};

/// Events taken per `epoll_wait`.
const EVENTS: usize = 1024;
/// Largest datagram read (RTP stays well under an Ethernet MTU).
const RECV_BUFFER: usize = 4096;
/// The eventfd's key in the epoll set (call keys never have all low bits set).
const WAKE: u64 = u64::MAX;

/// What the gateway sends a worker.
#[derive(Debug)]
pub(crate) enum Message {
    /// A new call to own.
    Start(Box<CallMediaTask>),
    /// A command for one of its calls.
    Command(CallRef, MediaCommand),
}

/// Where a call's sockets are registered: the worker's epoll set and the
/// call's slot there.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    epoll: Arc<OwnedFd>,
    slot: u32,
    generation: u32,
}

impl Registry {
    /// Adds one of the call's sockets to the worker's set.
    pub(crate) fn add(
        &self,
        socket: &std::net::UdpSocket,
        leg_index: usize,
        kind: SocketKind,
    ) -> std::io::Result<()> {
        let key = key(self.slot, self.generation, leg_index, kind);
        epoll::add(
            &*self.epoll,
            socket,
            epoll::EventData::new_u64(key),
            epoll::EventFlags::IN,
        )?;
        Ok(())
    }
}

/// `generation | slot | 0 | leg | kind` (bit 7 stays clear, so no key is
/// [`WAKE`]): slot reuse never confuses calls.
fn key(slot: u32, generation: u32, leg_index: usize, kind: SocketKind) -> u64 {
    let kind = match kind {
        SocketKind::Rtp => 0,
        SocketKind::Rtcp => 1,
    };
    (u64::from(generation & 0x00FF_FFFF) << 40)
        | (u64::from(slot) << 8)
        | ((leg_index as u64 & 0x3F) << 1)
        | kind
}

fn unkey(key: u64) -> (u32, u32, usize, SocketKind) {
    let kind = if key & 1 == 0 {
        SocketKind::Rtp
    } else {
        SocketKind::Rtcp
    };
    (
        ((key >> 8) & 0xFFFF_FFFF) as u32,
        (key >> 40) as u32,
        ((key >> 1) & 0x3F) as usize,
        kind,
    )
}

/// The gateway's side of one worker.
#[derive(Debug, Clone)]
pub(crate) struct WorkerHandle {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queue: std::sync::Mutex<mpsc::Sender<Message>>,
    wake: OwnedFd,
    /// Calls the worker owns (for choosing the least loaded).
    calls: AtomicUsize,
}

impl WorkerHandle {
    /// Hands a message to the worker; `false` when the worker is gone.
    pub(crate) fn send(&self, message: Message) -> bool {
        let sent = self
            .shared
            .queue
            .lock()
            .expect("a sender never panics while locked")
            .send(message)
            .is_ok();
        if sent {
            // The counter only ever grows here; a full counter still wakes.
            let _ = rustix::io::write(&self.shared.wake, &1u64.to_ne_bytes());
        }
        sent
    }

    fn load(&self) -> usize {
        self.shared.calls.load(Ordering::Relaxed)
    }
}

/// The workers of one gateway.
#[derive(Debug)]
pub(crate) struct Workers {
    workers: Vec<WorkerHandle>,
}

impl Workers {
    /// Starts `count` workers (at least one). `runtime` carries answers that
    /// do not fit the switch's queue at once.
    pub(crate) fn start(
        count: usize,
        runtime: &tokio::runtime::Handle,
        results: &mpsc_results::Sender<(EffectToken, EffectResult)>,
    ) -> std::io::Result<Self> {
        let mut workers = Vec::new();
        for index in 0..count.max(1) {
            let epoll = Arc::new(epoll::create(epoll::CreateFlags::CLOEXEC)?);
            let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
            epoll::add(
                &*epoll,
                &wake,
                epoll::EventData::new_u64(WAKE),
                epoll::EventFlags::IN,
            )?;
            let (tx, rx) = mpsc::channel();
            let shared = Arc::new(Shared {
                queue: std::sync::Mutex::new(tx),
                wake,
                calls: AtomicUsize::new(0),
            });
            let worker = Worker {
                epoll,
                messages: rx,
                shared: shared.clone(),
                runtime: runtime.clone(),
                results: results.clone(),
                slots: Vec::new(),
                free: Vec::new(),
                by_call: HashMap::new(),
                timers: BinaryHeap::new(),
            };
            std::thread::Builder::new()
                .name(format!("media-worker-{index}"))
                .spawn(move || worker.run())?;
            workers.push(WorkerHandle { shared });
        }
        Ok(Workers { workers })
    }

    /// The worker with the fewest calls.
    pub(crate) fn least_loaded(&self) -> &WorkerHandle {
        self.workers
            .iter()
            .min_by_key(|w| w.load())
            .expect("at least one worker is started")
    }
}

struct Slot {
    call: CallMediaTask,
    generation: u32,
    /// The deadline this call has in the timer heap, if any.
    armed: Option<Instant>,
}

struct Worker {
    epoll: Arc<OwnedFd>,
    messages: mpsc::Receiver<Message>,
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
    results: mpsc_results::Sender<(EffectToken, EffectResult)>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    by_call: HashMap<CallRef, u32>,
    timers: BinaryHeap<Reverse<(Instant, u32, u32)>>,
}

/// What to do with a call after it handled something.
enum After {
    Keep,
    Remove,
}

impl Worker {
    fn run(mut self) {
        let mut events: Vec<epoll::Event> = Vec::with_capacity(EVENTS);
        let mut buf = vec![0u8; RECV_BUFFER];
        let mut generations = 0u32;
        loop {
            let timeout = self.timers.peek().map(|Reverse((at, _, _))| {
                let wait = at.saturating_duration_since(Instant::now());
                // Round up: waking a little late beats spinning on a
                // deadline that is still microseconds away.
                rustix::event::Timespec::try_from(wait + Duration::from_micros(50)).unwrap_or(
                    rustix::event::Timespec {
                        tv_sec: 1,
                        tv_nsec: 0,
                    },
                )
            });
            events.clear();
            match epoll::wait(&*self.epoll, spare_capacity(&mut events), timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    tracing::error!(error = %e, "media worker cannot wait for sockets");
                    return;
                }
            }
            let mut woken = false;
            for event in events.drain(..) {
                let key = event.data.u64();
                if key == WAKE {
                    woken = true;
                    continue;
                }
                self.readable(key, &mut buf);
            }
            if woken {
                let mut counter = [0u8; 8];
                let _ = rustix::io::read(&self.shared.wake, &mut counter);
                if !self.messages(&mut generations) {
                    return;
                }
            }
            self.expire(Instant::now());
        }
    }

    /// Takes the queued messages; `false` when the gateway is gone.
    fn messages(&mut self, generations: &mut u32) -> bool {
        loop {
            match self.messages.try_recv() {
                Ok(Message::Start(call)) => {
                    *generations = generations.wrapping_add(1);
                    self.start(*call, *generations);
                }
                Ok(Message::Command(call, command)) => match self.by_call.get(&call) {
                    Some(&slot) => {
                        self.with_call(slot, |c| {
                            if c.command(command) {
                                After::Keep
                            } else {
                                After::Remove
                            }
                        });
                    }
                    None => {
                        // The call ended (or failed): answer what is owed.
                        if let Some(token) = command.token() {
                            super::task::answer(
                                &self.runtime,
                                &self.results,
                                token,
                                EffectResult::Failed {
                                    reason: "the call's media is gone".into(),
                                },
                            );
                        }
                    }
                },
                Err(mpsc::TryRecvError::Empty) => return true,
                Err(mpsc::TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn start(&mut self, mut call: CallMediaTask, generation: u32) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 calls")
            }
        };
        call.attach(
            Registry {
                epoll: self.epoll.clone(),
                slot,
                generation,
            },
            self.runtime.clone(),
        );
        self.by_call.insert(call.call(), slot);
        self.slots[slot as usize] = Some(Slot {
            call,
            generation,
            armed: None,
        });
        self.shared.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// One datagram for the socket behind `key`.
    fn readable(&mut self, key: u64, buf: &mut [u8]) {
        let (slot, generation, leg_index, kind) = unkey(key);
        let current = self
            .slots
            .get(slot as usize)
            .and_then(Option::as_ref)
            .is_some_and(|s| s.generation & 0x00FF_FFFF == generation);
        if current {
            self.with_call(slot, |c| {
                c.readable(leg_index, kind, buf);
                After::Keep
            });
        }
    }

    /// Runs `f` on the call in `slot`; a panic ends that call only
    /// (DESIGN §3), then re-arms its timer or removes it.
    fn with_call(&mut self, slot: u32, f: impl FnOnce(&mut CallMediaTask) -> After) {
        let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let after = f(&mut entry.call);
            if matches!(after, After::Keep) {
                entry.call.flush();
            }
            after
        }));
        match outcome {
            Ok(After::Keep) => {
                let next = entry.call.deadline();
                if let Some(at) = next
                    && entry.armed.is_none_or(|armed| at < armed)
                {
                    entry.armed = Some(at);
                    self.timers.push(Reverse((at, slot, entry.generation)));
                }
            }
            Ok(After::Remove) => self.remove(slot),
            Err(_) => {
                tracing::error!(call = %entry.call.call(), "media of the call failed; its media stops");
                self.remove(slot);
            }
        }
    }

    fn remove(&mut self, slot: u32) {
        if let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::take) {
            self.by_call.remove(&entry.call.call());
            self.free.push(slot);
            self.shared.calls.fetch_sub(1, Ordering::Relaxed);
            // Dropping the call closes its sockets (leaving the epoll set)
            // and gives its ports back.
            let _ = catch_unwind(AssertUnwindSafe(move || entry.call.finish()));
        }
    }

    /// Runs the calls whose timers are due (those due now: a call re-arming
    /// at once waits for the next turn).
    fn expire(&mut self, now: Instant) {
        let mut due = Vec::new();
        while let Some(&Reverse((at, slot, generation))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            due.push((at, slot, generation));
        }
        for (at, slot, generation) in due {
            let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
                continue;
            };
            if entry.generation != generation || entry.armed != Some(at) {
                // A stale entry: the call ended, or armed an earlier time.
                continue;
            }
            entry.armed = None;
            self.with_call(slot, |c| {
                c.timeout(now);
                After::Keep
            });
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Dropping the senders disconnects the queues; a wake makes each
        // worker notice, drop its calls and end.
        for worker in &self.workers {
            let (dead, _) = mpsc::channel();
            *worker
                .shared
                .queue
                .lock()
                .expect("a sender never panics while locked") = dead;
            let _ = rustix::io::write(&worker.shared.wake, &1u64.to_ne_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_never_collide_with_the_wake_key() {
        for (slot, generation, leg, kind) in [
            (0, 0, 0, SocketKind::Rtp),
            (7, 1, 1, SocketKind::Rtcp),
            (u32::MAX, 0x00FF_FFFF, 63, SocketKind::Rtcp),
        ] {
            let k = key(slot, generation, leg, kind);
            assert_ne!(k, WAKE);
            assert_eq!(unkey(k), (slot, generation, leg, kind));
        }
    }
}
