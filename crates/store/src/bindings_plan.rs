//! The net effect of a batch of binding changes, so each backend writes it with a few
//! set-based statements instead of one statement per change.
//!
//! Applying a batch in order is equivalent to applying its [`Plan`]: first delete every
//! AOR named by a `RemoveAor`, then delete the single bindings whose last change is a
//! `Remove`, then upsert the bindings whose last change is an `Upsert`, where a change
//! counts only when no `RemoveAor` of its AOR comes later in the batch. Why:
//! - an upsert overwrites every column, so only a key's last change decides what the row
//!   holds (or that it is gone);
//! - a `RemoveAor` deletes what was stored before it and what the batch wrote before it,
//!   so running it first and dropping the changes it supersedes ends in the same rows;
//!   changes after it still happen, after the deletion;
//! - removing a binding of an AOR that is cleared anyway changes nothing.
//!
//! After planning, every key appears at most once, so the upserts can go into one
//! multi-row statement (PostgreSQL refuses to update a row twice in one
//! `INSERT … ON CONFLICT`), and the three parts can run in any grouping. A superseded
//! change is never sent to the database, so it is not checked by its constraints either.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use crate::bindings::{BindingChange, BindingRecord};

/// A binding's key: `(aor, binding_id)`.
pub(crate) type Key<'a> = (&'a str, &'a str);

/// What a batch does, each key at most once; each list keeps the batch's order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan<'a> {
    /// AORs whose bindings are all deleted; runs first.
    pub(crate) remove_aors: Vec<&'a str>,
    /// Single bindings deleted; runs second. Never of an AOR in `remove_aors`.
    pub(crate) removes: Vec<Key<'a>>,
    /// Bindings inserted or overwritten; runs last.
    pub(crate) upserts: Vec<&'a BindingRecord>,
}

impl<'a> Plan<'a> {
    /// Plans `changes`, which are meant to be applied in order.
    pub(crate) fn new(changes: &'a [BindingChange]) -> Plan<'a> {
        // Position of each key's last change, and of each AOR's last RemoveAor.
        // foldhash, randomly seeded: keys come from the network, hashing is on the hot path.
        let mut last: HashMap<Key<'a>, usize, RandomState> =
            HashMap::with_capacity_and_hasher(changes.len(), RandomState::default());
        let mut cleared: HashMap<&'a str, usize, RandomState> = HashMap::default();
        for (i, change) in changes.iter().enumerate() {
            match change {
                BindingChange::Upsert(r) => {
                    last.insert((&r.aor, &r.binding_id), i);
                }
                BindingChange::Remove { aor, binding_id } => {
                    last.insert((aor, binding_id), i);
                }
                BindingChange::RemoveAor { aor } => {
                    cleared.insert(aor, i);
                }
            }
        }
        let is_last = |key: Key<'a>, i: usize| last.get(&key) == Some(&i);
        let mut plan = Plan {
            upserts: Vec::with_capacity(last.len()),
            ..Plan::default()
        };
        for (i, change) in changes.iter().enumerate() {
            match change {
                BindingChange::Upsert(r) => {
                    let cleared_later = cleared.get(r.aor.as_str()).is_some_and(|&c| c > i);
                    if !cleared_later && is_last((&r.aor, &r.binding_id), i) {
                        plan.upserts.push(r);
                    }
                }
                BindingChange::Remove { aor, binding_id } => {
                    if !cleared.contains_key(aor.as_str()) && is_last((aor, binding_id), i) {
                        plan.removes.push((aor, binding_id));
                    }
                }
                BindingChange::RemoveAor { aor } => {
                    if cleared.get(aor.as_str()) == Some(&i) {
                        plan.remove_aors.push(aor);
                    }
                }
            }
        }
        plan
    }

    /// How many of the three parts have something to do.
    pub(crate) fn parts(&self) -> usize {
        usize::from(!self.remove_aors.is_empty())
            + usize::from(!self.removes.is_empty())
            + usize::from(!self.upserts.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn record(aor: &str, id: &str, cseq: u32) -> BindingRecord {
        BindingRecord {
            aor: aor.to_owned(),
            binding_id: id.to_owned(),
            contact: format!("<sip:{id}@192.0.2.10>"),
            instance: None,
            reg_id: None,
            q: None,
            call_id: "call@192.0.2.10".to_owned(),
            cseq,
            expires_at_unix_ms: 1,
            transport: "udp".to_owned(),
            source: "192.0.2.10:5060".to_owned(),
            local: "192.0.2.1:5060".to_owned(),
            user_agent: None,
            path: None,
            node: None,
            updated_at_unix_ms: 0,
        }
    }

    fn up(aor: &str, id: &str, cseq: u32) -> BindingChange {
        BindingChange::Upsert(record(aor, id, cseq))
    }

    fn rm(aor: &str, id: &str) -> BindingChange {
        BindingChange::Remove {
            aor: aor.to_owned(),
            binding_id: id.to_owned(),
        }
    }

    fn rm_aor(aor: &str) -> BindingChange {
        BindingChange::RemoveAor {
            aor: aor.to_owned(),
        }
    }

    /// Table contents as `(aor, id) → cseq`.
    type Table = BTreeMap<(String, String), u32>;

    /// The reference: every change in order, one at a time.
    fn apply_in_order(table: &mut Table, changes: &[BindingChange]) {
        for change in changes {
            match change {
                BindingChange::Upsert(r) => {
                    table.insert((r.aor.clone(), r.binding_id.clone()), r.cseq);
                }
                BindingChange::Remove { aor, binding_id } => {
                    table.remove(&(aor.clone(), binding_id.clone()));
                }
                BindingChange::RemoveAor { aor } => table.retain(|(a, _), _| a != aor),
            }
        }
    }

    /// The plan, the way both backends run it.
    fn apply_plan(table: &mut Table, plan: &Plan<'_>) {
        for aor in &plan.remove_aors {
            table.retain(|(a, _), _| a != aor);
        }
        for (aor, id) in &plan.removes {
            table.remove(&((*aor).to_owned(), (*id).to_owned()));
        }
        for r in &plan.upserts {
            table.insert((r.aor.clone(), r.binding_id.clone()), r.cseq);
        }
    }

    fn keys<'a>(plan: &Plan<'a>) -> Vec<Key<'a>> {
        plan.upserts
            .iter()
            .map(|r| (r.aor.as_str(), r.binding_id.as_str()))
            .collect()
    }

    #[test]
    fn distinct_upserts_pass_through_in_order() {
        let changes = [
            up("sip:b@example.com", "1", 1),
            up("sip:a@example.com", "1", 1),
        ];
        let plan = Plan::new(&changes);
        assert_eq!(
            keys(&plan),
            [("sip:b@example.com", "1"), ("sip:a@example.com", "1")]
        );
        assert!(plan.removes.is_empty() && plan.remove_aors.is_empty());
        assert_eq!(plan.parts(), 1);
        assert_eq!(Plan::new(&[]).parts(), 0);
    }

    #[test]
    fn last_change_of_a_key_wins() {
        let a = "sip:a@example.com";
        let changes = [
            up(a, "1", 1),
            up(a, "2", 1),
            rm(a, "1"),
            up(a, "2", 2),
            rm(a, "3"),
            up(a, "3", 3),
            up(a, "4", 4),
            rm(a, "4"),
        ];
        let plan = Plan::new(&changes);
        assert_eq!(keys(&plan), [(a, "2"), (a, "3")]);
        assert_eq!(plan.upserts[0].cseq, 2, "the later upsert of a key");
        assert_eq!(plan.removes, [(a, "1"), (a, "4")]);
        assert_eq!(plan.parts(), 2);
    }

    #[test]
    fn remove_aor_drops_what_it_supersedes_and_keeps_what_follows() {
        let a = "sip:a@example.com";
        let b = "sip:b@example.com";
        let changes = [
            up(a, "1", 1),
            rm(a, "2"),
            up(b, "1", 1),
            rm_aor(a),
            up(a, "3", 3),
            rm(a, "4"),
            rm_aor(b),
            rm_aor(a),
            up(a, "5", 5),
        ];
        let plan = Plan::new(&changes);
        assert_eq!(plan.remove_aors, [b, a], "each AOR once, at its last clear");
        assert!(plan.removes.is_empty(), "removals inside cleared AORs");
        assert_eq!(keys(&plan), [(a, "5")]);
    }

    /// Every combination of three changes on two keys of one AOR and one key of another,
    /// over every starting table of those keys: the plan ends where in-order
    /// application ends.
    #[test]
    fn plan_matches_in_order_application_exhaustively() {
        let a = "sip:a@example.com";
        let b = "sip:b@example.com";
        let alphabet = [
            up(a, "1", 1),
            up(a, "1", 2),
            up(a, "2", 3),
            up(b, "1", 4),
            rm(a, "1"),
            rm(a, "2"),
            rm(b, "1"),
            rm_aor(a),
            rm_aor(b),
        ];
        let keys = [(a, "1"), (a, "2"), (b, "1")];
        let n = alphabet.len();
        let mut cases = 0;
        for start in 0..(1 << keys.len()) {
            let initial: Table = keys
                .iter()
                .enumerate()
                .filter(|(k, _)| start & (1 << k) != 0)
                .map(|(_, (aor, id))| (((*aor).to_owned(), (*id).to_owned()), 100))
                .collect();
            for x in 0..n * n * n {
                let changes = [
                    alphabet[x % n].clone(),
                    alphabet[x / n % n].clone(),
                    alphabet[x / n / n].clone(),
                ];
                let mut want = initial.clone();
                apply_in_order(&mut want, &changes);
                let mut got = initial.clone();
                let plan = Plan::new(&changes);
                apply_plan(&mut got, &plan);
                assert_eq!(got, want, "{changes:?}");
                let mut seen = std::collections::HashSet::new();
                for key in keys_of(&plan) {
                    assert!(seen.insert(key), "{key:?} twice in {plan:?}");
                }
                cases += 1;
            }
        }
        assert_eq!(cases, 8 * 9 * 9 * 9);
    }

    fn keys_of<'a>(plan: &Plan<'a>) -> Vec<Key<'a>> {
        let mut all = keys(plan);
        all.extend(plan.removes.iter().copied());
        all
    }
}
