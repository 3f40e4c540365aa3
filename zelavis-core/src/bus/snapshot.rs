//! The immutable snapshot dispatch reads: per name, a pre-sorted `Arc<[Entry]>` of one payload type.
//!
//! Writers never change a snapshot: they build the next one (sharing every untouched list) and swap it in,
//! so a dispatch sees one consistent set of subscriptions from start to end.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use super::FailureSink;
use super::handle::{KeyHasher, NameKey};
use super::subscription::SubscriptionKind;
use crate::name::Name;

/// One installed handler `H` (a hook handler or a filter) and who owns it.
#[derive(Clone)]
pub(crate) struct Entry<H> {
    pub(crate) owner: Name,
    pub(crate) priority: i32,
    /// Installation order across the bus: breaks priority ties.
    pub(crate) seq: u64,
    pub(crate) handler: H,
}

/// The entries under one name, sorted by (priority, seq).
pub(crate) struct List<H> {
    pub(crate) entries: Arc<[Entry<H>]>,
}

/// What writers and reports need from a [`List`] without knowing its payload type.
pub(crate) trait ErasedList: Any + Send + Sync {
    /// `None` if `owner` has no entry here; otherwise how many it had and the list without them
    /// (`None` when nothing is left).
    fn without_owner(&self, owner: &Name) -> Option<(usize, Option<Arc<dyn ErasedList>>)>;

    /// Calls `visit(owner, priority, seq)` for each entry, in order.
    fn visit(&self, visit: &mut dyn FnMut(&Name, i32, u64));
}

impl<H: Clone + Send + Sync + 'static> ErasedList for List<H> {
    fn without_owner(&self, owner: &Name) -> Option<(usize, Option<Arc<dyn ErasedList>>)> {
        let removed = self.entries.iter().filter(|e| &e.owner == owner).count();
        if removed == 0 {
            return None;
        }
        if removed == self.entries.len() {
            return Some((removed, None));
        }
        let kept: Arc<[Entry<H>]> = self.entries.iter().filter(|e| &e.owner != owner).cloned().collect();
        Some((removed, Some(Arc::new(List { entries: kept }))))
    }

    fn visit(&self, visit: &mut dyn FnMut(&Name, i32, u64)) {
        for entry in self.entries.iter() {
            visit(&entry.owner, entry.priority, entry.seq);
        }
    }
}

/// The subscriptions under one name: their payload type and the type-erased list.
#[derive(Clone)]
pub(crate) struct Slot {
    pub(crate) payload: TypeId,
    pub(crate) payload_name: &'static str,
    pub(crate) list: Arc<dyn ErasedList>,
}

impl Slot {
    /// The list, if its handlers are `H`.
    #[inline]
    pub(crate) fn downcast<H: 'static>(&self) -> Option<&List<H>> {
        let list: &dyn Any = &*self.list;
        list.downcast_ref::<List<H>>()
    }
}

/// Where a dispatch found its handlers.
pub(crate) enum Lookup<'a, H> {
    /// Nobody subscribed to the name.
    Missing,
    /// The name carries another payload type, named here.
    Mismatch(&'static str),
    /// The handlers, in order.
    Found(&'a List<H>),
}

pub(crate) type Table = HashMap<NameKey, Slot, BuildHasherDefault<KeyHasher>>;

/// Everything dispatch reads, swapped as a whole by writers.
#[derive(Clone, Default)]
pub(crate) struct Snapshot {
    pub(crate) hooks: Table,
    pub(crate) filters: Table,
    pub(crate) sink: Option<FailureSink>,
}

impl Snapshot {
    pub(crate) fn table(&self, kind: SubscriptionKind) -> &Table {
        match kind {
            SubscriptionKind::Hook => &self.hooks,
            SubscriptionKind::Filter => &self.filters,
        }
    }

    pub(crate) fn table_mut(&mut self, kind: SubscriptionKind) -> &mut Table {
        match kind {
            SubscriptionKind::Hook => &mut self.hooks,
            SubscriptionKind::Filter => &mut self.filters,
        }
    }

    /// The handlers of type `H` under `key` in the table of `kind`.
    #[inline]
    pub(crate) fn lookup<H: 'static>(&self, kind: SubscriptionKind, key: &NameKey) -> Lookup<'_, H> {
        match self.table(kind).get(key) {
            None => Lookup::Missing,
            Some(slot) => match slot.downcast::<H>() {
                Some(list) => Lookup::Found(list),
                None => Lookup::Mismatch(slot.payload_name),
            },
        }
    }

    /// Every name in both tables, with its kind and slot.
    pub(crate) fn slots(&self) -> impl Iterator<Item = (SubscriptionKind, NameKey, &Slot)> {
        let hooks = self
            .hooks
            .iter()
            .map(|(key, slot)| (SubscriptionKind::Hook, *key, slot));
        let filters = self
            .filters
            .iter()
            .map(|(key, slot)| (SubscriptionKind::Filter, *key, slot));
        hooks.chain(filters)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn entries(owners: &[&str]) -> List<()> {
        List {
            entries: owners
                .iter()
                .enumerate()
                .map(|(seq, owner)| Entry {
                    owner: Name::parse(owner).unwrap(),
                    priority: 0,
                    seq: seq as u64,
                    handler: (),
                })
                .collect(),
        }
    }

    fn owners(list: &dyn ErasedList) -> Vec<String> {
        let mut out = Vec::new();
        list.visit(&mut |owner, _, _| out.push(owner.to_string()));
        out
    }

    #[test]
    fn without_owner_keeps_the_others_in_order() {
        let list = entries(&["a", "b", "a", "c"]);
        let (removed, rest) = list.without_owner(&Name::parse("a").unwrap()).unwrap();
        assert_eq!(removed, 2);
        assert_eq!(owners(&*rest.unwrap()), ["b", "c"]);
        assert!(list.without_owner(&Name::parse("d").unwrap()).is_none());
        let (removed, rest) = entries(&["a"]).without_owner(&Name::parse("a").unwrap()).unwrap();
        assert_eq!((removed, rest.is_none()), (1, true));
    }

    #[test]
    fn lookup_tells_missing_mismatch_and_found_apart() {
        let mut snapshot = Snapshot::default();
        let key = NameKey::new("a.b");
        snapshot.hooks.insert(
            key,
            Slot {
                payload: TypeId::of::<u32>(),
                payload_name: "u32",
                list: Arc::new(entries(&["x"])),
            },
        );
        assert!(matches!(
            snapshot.lookup::<()>(SubscriptionKind::Filter, &key),
            Lookup::Missing
        ));
        assert!(matches!(
            snapshot.lookup::<u8>(SubscriptionKind::Hook, &key),
            Lookup::Mismatch("u32")
        ));
        assert!(matches!(
            snapshot.lookup::<()>(SubscriptionKind::Hook, &key),
            Lookup::Found(list) if list.entries.len() == 1
        ));
    }
}
