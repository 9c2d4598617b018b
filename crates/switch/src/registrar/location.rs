//! The location table: the bindings of every address of record, in memory
//! (RFC 3261 §10.3). The registrar serves from here; the store is written
//! behind.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use foldhash::fast::FixedState;
use sb_sip_message::{Aor, ByteStr, CallId, NameAddr, Peer, Uri};

use crate::effects::{BindingId, BindingRecord};
use crate::timers::{TimerHandle, TimerQueue};

/// One binding of an address of record to a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// Identity within the AOR.
    pub id: BindingId,
    /// The Contact value as it will be listed in responses (no `expires`).
    pub contact: ByteStr,
    /// The contact URI alone (where requests for the AOR are sent).
    pub uri: Uri,
    /// RFC 5626 instance id.
    pub instance: Option<ByteStr>,
    /// RFC 5626 reg-id.
    pub reg_id: Option<u32>,
    /// `q` in thousandths.
    pub q: Option<u16>,
    /// Call-ID of the registration.
    pub call_id: CallId,
    /// CSeq of the registration.
    pub cseq: u32,
    /// Expiry (monotonic clock).
    pub expires_at: Instant,
    /// Expiry (wall clock, Unix ms) for persistence and listing.
    pub expires_unix_ms: u64,
    /// Where the REGISTER came from: transport, source address, flow.
    pub peer: Peer,
    /// `User-Agent` of the device.
    pub user_agent: Option<ByteStr>,
    /// RFC 3327 Path, comma-separated.
    pub path: Option<ByteStr>,
    /// Last update, Unix ms.
    pub updated_unix_ms: u64,
    /// The cluster node whose flow the binding arrived on (`None`: this
    /// node). Such a binding is reached through that node while it lives.
    pub node: Option<ByteStr>,
}

impl Binding {
    /// Seconds left before expiry, rounded up (0 when expired).
    pub fn remaining_secs(&self, now: Instant) -> u32 {
        let left = self.expires_at.saturating_duration_since(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        u32::try_from(secs).unwrap_or(u32::MAX)
    }

    /// A binding from its persistent form (at start-up). `None` when the stored
    /// contact no longer parses.
    pub fn from_record(r: &BindingRecord, now: Instant, unix_ms: u64) -> Option<Binding> {
        let contact = r.contact.clone();
        let addr = NameAddr::parse(&contact).ok()?;
        let left = Duration::from_millis(r.expires_unix_ms.saturating_sub(unix_ms));
        Some(Binding {
            id: r.binding_id.clone(),
            uri: addr.uri,
            contact,
            instance: r.instance.clone(),
            reg_id: r.reg_id,
            q: r.q,
            call_id: r.call_id.clone(),
            cseq: r.cseq,
            expires_at: now + left,
            expires_unix_ms: r.expires_unix_ms,
            peer: Peer {
                transport: r.transport,
                remote: r.source,
                local: r.local,
                flow: None,
            },
            user_agent: r.user_agent.clone(),
            path: r.path.clone(),
            updated_unix_ms: r.updated_unix_ms,
            node: r.node.clone(),
        })
    }

    /// The persistent form of the binding.
    pub fn to_record(&self, aor: &Aor) -> BindingRecord {
        BindingRecord {
            aor: aor.clone(),
            binding_id: self.id.clone(),
            contact: self.contact.clone(),
            instance: self.instance.clone(),
            reg_id: self.reg_id,
            q: self.q,
            call_id: self.call_id.clone(),
            cseq: self.cseq,
            expires_unix_ms: self.expires_unix_ms,
            transport: self.peer.transport,
            source: self.peer.remote,
            local: self.peer.local,
            user_agent: self.user_agent.clone(),
            path: self.path.clone(),
            updated_unix_ms: self.updated_unix_ms,
            node: self.node.clone(),
        }
    }
}

struct Entry {
    binding: Binding,
    timer: TimerHandle,
}

/// Bindings per AOR with an expiry queue. Deterministic: hashing uses a fixed
/// seed and no output depends on map iteration order.
pub struct LocationTable {
    aors: HashMap<Aor, Vec<Entry>, FixedState>,
    expiry: TimerQueue<(Aor, BindingId)>,
    bindings: usize,
}

impl std::fmt::Debug for LocationTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocationTable")
            .field("aors", &self.aors.len())
            .field("bindings", &self.bindings)
            .finish()
    }
}

impl LocationTable {
    /// An empty table.
    pub fn new(seed: u64) -> LocationTable {
        LocationTable {
            aors: HashMap::with_hasher(FixedState::with_seed(seed)),
            expiry: TimerQueue::new(),
            bindings: 0,
        }
    }

    /// Number of bindings.
    pub fn len(&self) -> usize {
        self.bindings
    }

    /// No bindings at all.
    pub fn is_empty(&self) -> bool {
        self.bindings == 0
    }

    /// Number of AORs with at least one binding.
    pub fn aor_count(&self) -> usize {
        self.aors.len()
    }

    /// The bindings of `aor`, in registration order.
    pub fn bindings(&self, aor: &Aor) -> impl Iterator<Item = &Binding> + '_ {
        self.aors
            .get(aor)
            .into_iter()
            .flat_map(|v| v.iter().map(|e| &e.binding))
    }

    /// The binding `id` of `aor`.
    pub fn get(&self, aor: &Aor, id: &BindingId) -> Option<&Binding> {
        self.aors
            .get(aor)?
            .iter()
            .find(|e| &e.binding.id == id)
            .map(|e| &e.binding)
    }

    /// Inserts or replaces a binding.
    pub fn upsert(&mut self, aor: &Aor, binding: Binding) {
        let key = (aor.clone(), binding.id.clone());
        let timer = self.expiry.insert(binding.expires_at, key);
        let entries = self.aors.entry(aor.clone()).or_default();
        match entries.iter_mut().find(|e| e.binding.id == binding.id) {
            Some(existing) => {
                self.expiry.cancel(existing.timer);
                existing.binding = binding;
                existing.timer = timer;
            }
            None => {
                entries.push(Entry { binding, timer });
                self.bindings += 1;
            }
        }
    }

    /// Removes one binding; returns it when it existed.
    pub fn remove(&mut self, aor: &Aor, id: &BindingId) -> Option<Binding> {
        let entries = self.aors.get_mut(aor)?;
        let at = entries.iter().position(|e| &e.binding.id == id)?;
        let entry = entries.remove(at);
        if entries.is_empty() {
            self.aors.remove(aor);
        }
        self.expiry.cancel(entry.timer);
        self.bindings -= 1;
        Some(entry.binding)
    }

    /// Every binding, grouped by AOR, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Aor, &Binding)> + '_ {
        self.aors
            .iter()
            .flat_map(|(aor, v)| v.iter().map(move |e| (aor, &e.binding)))
    }

    /// The earliest binding expiry.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.expiry.next_deadline()
    }

    /// Removes and returns every binding whose expiry is at or before `now`,
    /// earliest first.
    pub fn expire(&mut self, now: Instant) -> Vec<(Aor, Binding)> {
        let mut out = Vec::new();
        while let Some((aor, id)) = self.expiry.pop_due(now) {
            let Some(entries) = self.aors.get_mut(&aor) else {
                continue;
            };
            let Some(at) = entries.iter().position(|e| e.binding.id == id) else {
                continue;
            };
            let entry = entries.remove(at);
            if entries.is_empty() {
                self.aors.remove(&aor);
            }
            self.bindings -= 1;
            out.push((aor, entry.binding));
        }
        out
    }

    /// Hash of an AOR with the table's hasher (for sharding decisions later).
    pub fn hash_aor(&self, aor: &Aor) -> u64 {
        self.aors.hasher().hash_one(aor)
    }
}

#[cfg(test)]
mod tests {
    use sb_sip_message::{FlowId, Transport};

    use super::*;

    fn binding(id: &str, expires_at: Instant) -> Binding {
        Binding {
            id: BindingId(ByteStr::from(id)),
            contact: ByteStr::from(format!("<sip:{id}@192.0.2.1>")),
            uri: Uri::Other(ByteStr::from(format!("sip:{id}@192.0.2.1"))),
            instance: None,
            reg_id: None,
            q: None,
            call_id: CallId::from("c1"),
            cseq: 1,
            expires_at,
            expires_unix_ms: 0,
            peer: Peer {
                transport: Transport::Udp,
                remote: "192.0.2.1:5060".parse().unwrap(),
                local: "192.0.2.10:5060".parse().unwrap(),
                flow: Some(FlowId(1)),
            },
            user_agent: None,
            path: None,
            updated_unix_ms: 0,
            node: None,
        }
    }

    #[test]
    fn upsert_replace_remove_and_expire() {
        let t0 = Instant::now();
        let mut table = LocationTable::new(1);
        let aor = Aor::new("alice", "example.test");
        table.upsert(&aor, binding("a", t0 + Duration::from_secs(10)));
        table.upsert(&aor, binding("b", t0 + Duration::from_secs(20)));
        assert_eq!(table.len(), 2);
        // Refreshing `a` moves its expiry; the old deadline must not remove it.
        table.upsert(&aor, binding("a", t0 + Duration::from_secs(30)));
        assert_eq!(table.len(), 2);
        assert_eq!(table.next_expiry(), Some(t0 + Duration::from_secs(20)));
        assert!(table.expire(t0 + Duration::from_secs(15)).is_empty());
        let gone = table.expire(t0 + Duration::from_secs(20));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].1.id.0, "b");
        assert_eq!(table.len(), 1);
        let removed = table.remove(&aor, &BindingId(ByteStr::from("a"))).unwrap();
        assert_eq!(removed.id.0, "a");
        assert!(table.is_empty());
        assert_eq!(table.aor_count(), 0);
        assert_eq!(table.next_expiry(), None);
    }

    #[test]
    fn remaining_seconds_round_up() {
        let t0 = Instant::now();
        let b = binding("a", t0 + Duration::from_millis(59_001));
        assert_eq!(b.remaining_secs(t0), 60);
        assert_eq!(b.remaining_secs(t0 + Duration::from_secs(100)), 0);
    }
}
