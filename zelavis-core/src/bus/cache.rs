//! The per-thread snapshot cache that keeps dispatch off shared cache lines.
//!
//! Loading a snapshot from the `ArcSwap` costs a few atomic read-modify-writes per dispatch; with cheap
//! handlers that is most of the bus's own cost. So each thread keeps the snapshots it last read, tagged with
//! their bus and its *generation* (a counter writers bump after each swap). A dispatch reads the generation
//! (one plain load on x86), and if this thread holds that bus's snapshot of that generation it uses it,
//! touching only thread-local memory; otherwise it loads from the `ArcSwap` once and caches the result.
//!
//! **Freshness.** Writers store the new snapshot and only then bump the generation (release); readers read
//! the generation (acquire) before loading. A snapshot cached under generation `g` is therefore at least as
//! new as the swap that produced `g`, and a dispatch that starts after a write returns sees that write.
//!
//! **Memory.** A cached snapshot keeps its handlers alive until this thread next dispatches on that bus,
//! dispatches on [`SLOTS`] other buses, or exits: a removed plugin's closures are never *called* again, but
//! their drop can be deferred that long, one snapshot per bus per thread at most.

use std::cell::RefCell;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;

use arc_swap::Guard;

use super::snapshot::Snapshot;

/// How many buses a thread keeps a snapshot for; a thread dispatching on more takes turns evicting.
pub(crate) const SLOTS: usize = 4;

/// One cached snapshot and what it was read for.
pub(crate) struct Cached {
    bus: u64,
    generation: u64,
    snapshot: Arc<Snapshot>,
}

/// This thread's cache: up to [`SLOTS`] entries, and the slot the next new bus evicts.
struct Local {
    entries: Vec<Rc<Cached>>,
    evict_next: usize,
}

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local {
            entries: Vec::new(),
            evict_next: 0,
        })
    };
}

/// A snapshot being read, shared with this thread's cache (which may already have moved on to a newer one).
/// Not `Send`: dispatch never holds one across an await.
pub(crate) struct SnapshotRef(Rc<Cached>);

impl Deref for SnapshotRef {
    type Target = Snapshot;

    #[inline]
    fn deref(&self) -> &Snapshot {
        &self.0.snapshot
    }
}

/// The snapshot of bus `bus` at `generation`: this thread's cached one if it has it, else `load()`'s, cached.
#[inline]
pub(crate) fn read(bus: u64, generation: u64, load: impl FnOnce() -> Guard<Arc<Snapshot>>) -> SnapshotRef {
    let hit = LOCAL
        .try_with(|local| {
            let local = local.try_borrow().ok()?;
            let cached = local.entries.iter().find(|cached| cached.bus == bus)?;
            (cached.generation == generation).then(|| Rc::clone(cached))
        })
        .ok()
        .flatten();
    match hit {
        Some(cached) => SnapshotRef(cached),
        None => refresh(bus, generation, load()),
    }
}

/// Caches `guard`'s snapshot for `bus` at `generation`, replacing the bus's older one.
#[cold]
#[inline(never)]
fn refresh(bus: u64, generation: u64, guard: Guard<Arc<Snapshot>>) -> SnapshotRef {
    let cached = Rc::new(Cached {
        bus,
        generation,
        snapshot: Guard::into_inner(guard),
    });
    // During thread teardown the cache is gone; the snapshot read is still the current one.
    let _teardown = LOCAL.try_with(|local| {
        let Ok(mut local) = local.try_borrow_mut() else {
            return;
        };
        let entry = Rc::clone(&cached);
        if let Some(slot) = local.entries.iter_mut().find(|slot| slot.bus == bus) {
            *slot = entry;
        } else if local.entries.len() < SLOTS {
            local.entries.push(entry);
        } else {
            let evict = local.evict_next;
            local.entries[evict] = entry;
            local.evict_next = (evict + 1) % SLOTS;
        }
    });
    SnapshotRef(cached)
}

/// Forgets every snapshot this thread cached for `bus`, so they are dropped now rather than later.
pub(crate) fn forget(bus: u64) {
    let _gone = LOCAL.try_with(|local| {
        if let Ok(mut local) = local.try_borrow_mut() {
            local.entries.retain(|cached| cached.bus != bus);
            local.evict_next = 0;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use arc_swap::ArcSwap;

    fn swap() -> ArcSwap<Snapshot> {
        ArcSwap::from_pointee(Snapshot::default())
    }

    fn same(a: &SnapshotRef, b: &Snapshot) -> bool {
        std::ptr::eq(&raw const **a, b)
    }

    #[test]
    fn a_hit_reuses_the_snapshot_and_a_new_generation_reloads() {
        let current = swap();
        let first = read(1_000, 0, || current.load());
        assert!(same(&first, &current.load_full()));
        let mut loads = 0;
        let again = read(1_000, 0, || {
            loads += 1;
            current.load()
        });
        assert_eq!(loads, 0);
        assert!(same(&again, &current.load_full()));

        current.store(Arc::new(Snapshot::default()));
        let newer = read(1_000, 1, || current.load());
        assert!(same(&newer, &current.load_full()));
        assert!(!same(&first, &newer));
        forget(1_000);
    }

    #[test]
    fn buses_past_the_slot_count_evict_in_turn_and_forget_drops_one() {
        let current = swap();
        let base = 2_000;
        for bus in base..=base + SLOTS as u64 {
            let _read = read(bus, 0, || current.load());
        }
        let count = || LOCAL.with(|local| local.borrow().entries.len());
        assert_eq!(count(), SLOTS);
        let mut loads = 0;
        let _evicted = read(base, 0, || {
            loads += 1;
            current.load()
        });
        assert_eq!(loads, 1, "the first bus was evicted by the fifth");
        for bus in base..=base + SLOTS as u64 {
            forget(bus);
        }
        assert_eq!(count(), 0);
    }
}
