//! [`Bus`]: installs and removes owners' subscriptions; dispatch lives in the `hook` and `filter` modules.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;

use super::FailureSink;
use super::cache::{self, SnapshotRef};
use super::error::{BusError, Fault, HandlerFailure};
use super::handle::check_name;
use super::snapshot::{Slot, Snapshot};
use super::subscription::{Subscription, SubscriptionCounts, SubscriptionInfo, SubscriptionKind};
use crate::name::Name;
use crate::panic::catch;

/// The event bus: hooks and filters, owned by plugins.
///
/// Cloning is cheap and shares the bus; it is `Send` and `Sync`. Dispatch ([`Bus::emit`], [`Bus::apply`])
/// reads an immutable snapshot without locking; writers ([`Bus::install`], [`Bus::remove_owner`],
/// [`Bus::set_failure_sink`]) take turns on a mutex, build the next snapshot and swap it in, so a dispatch
/// sees either all or none of one install or removal.
///
/// Each thread caches the snapshot it last dispatched from, so a dispatch touches no shared cache line
/// unless a writer swapped since. The handlers of a removed owner are never called again, but a thread that
/// cached an older snapshot drops them only when it next dispatches on this bus (or exits).
///
/// ```
/// use zelavis_core::bus::{Bus, FilterRef, HookRef, Subscription};
/// use zelavis_core::name::Name;
///
/// const SAVED: HookRef<String> = HookRef::new("document.saved");
/// const TITLE: FilterRef<String> = FilterRef::new("document.title");
///
/// let bus = Bus::new();
/// let seo = Name::parse("seo")?;
/// bus.install(&seo, vec![
///     Subscription::hook_sync(&SAVED, 0, |path| { println!("reindex {path}"); Ok(()) }),
///     Subscription::filter(&TITLE, 0, |title| Ok(format!("{title} | Shop"))),
/// ])?;
/// assert_eq!(bus.apply(&TITLE, "Home".to_owned()).value, "Home | Shop");
///
/// assert_eq!(bus.remove_owner(&seo), 2);
/// assert_eq!(bus.apply(&TITLE, "Home".to_owned()).value, "Home");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    /// Unique in the process: tags this bus's snapshots in the per-thread caches.
    id: u64,
    current: ArcSwap<Snapshot>,
    /// Bumped after every swap of `current`, so readers know when their cached snapshot is stale.
    generation: AtomicU64,
    /// Serialises writers; holds the next installation sequence number.
    writer: Mutex<u64>,
}

impl Default for Inner {
    fn default() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            current: ArcSwap::from_pointee(Snapshot::default()),
            generation: AtomicU64::new(0),
            writer: Mutex::new(0),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        cache::forget(self.id);
    }
}

impl Bus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs `subscriptions` for `owner`, all or none, in one swap.
    ///
    /// Refused, with nothing installed, when a name breaks the [name grammar](crate::bus#name-grammar)
    /// ([`BusError::InvalidName`]) or when a name already carries (or, earlier in `subscriptions`, is given)
    /// another payload type ([`BusError::TypeMismatch`]). Installing for an owner that already has
    /// subscriptions adds to them.
    pub fn install(&self, owner: &Name, subscriptions: Vec<Subscription>) -> Result<(), BusError> {
        for sub in &subscriptions {
            check_name(sub.name()).map_err(|reason| BusError::InvalidName {
                owner: owner.clone(),
                kind: sub.kind(),
                name: sub.name().to_owned(),
                reason,
            })?;
        }
        if subscriptions.is_empty() {
            return Ok(());
        }
        let mut next_seq = self.lock_writer();
        let mut next = Snapshot::clone(&self.inner.current.load());
        let mut seq = *next_seq;
        for sub in subscriptions {
            let (kind, key, payload, found) = (sub.kind(), sub.key(), sub.payload(), sub.payload_type());
            let table = next.table_mut(kind);
            let existing = table.get(&key);
            let mismatch = || BusError::TypeMismatch {
                owner: owner.clone(),
                kind,
                name: key.name.to_owned(),
                expected: existing.map_or("another type", |slot| slot.payload_name).into(),
                found: found.into(),
            };
            if existing.is_some_and(|slot| slot.payload != payload) {
                return Err(mismatch());
            }
            let Some(slot) = sub.insert_into(owner, seq, existing) else {
                return Err(mismatch());
            };
            table.insert(key, slot);
            seq += 1;
        }
        *next_seq = seq;
        self.publish(next);
        Ok(())
    }

    /// Removes every hook and filter of `owner` in one swap, and says how many there were.
    pub fn remove_owner(&self, owner: &Name) -> usize {
        let _writer = self.lock_writer();
        let current = self.inner.current.load();
        let mut next: Option<Snapshot> = None;
        let mut removed = 0;
        for (kind, key, slot) in current.slots() {
            let Some((count, rest)) = slot.list.without_owner(owner) else {
                continue;
            };
            removed += count;
            let table = next.get_or_insert_with(|| Snapshot::clone(&current)).table_mut(kind);
            match rest {
                Some(list) => {
                    let slot = Slot { list, ..slot.clone() };
                    table.insert(key, slot);
                }
                None => {
                    table.remove(&key);
                }
            }
        }
        if let Some(next) = next {
            self.publish(next);
        }
        removed
    }

    /// Calls `sink` with each failure from now on (after it is recorded in the summary), e.g. to feed
    /// plugin health. A panicking sink is ignored. Replaces any previous sink.
    pub fn set_failure_sink(&self, sink: FailureSink) {
        self.swap_sink(Some(sink));
    }

    /// Stops calling the failure sink.
    pub fn clear_failure_sink(&self) {
        self.swap_sink(None);
    }

    /// The owners with at least one subscription, sorted.
    pub fn owners(&self) -> Vec<Name> {
        let snapshot = self.snapshot();
        let mut owners = BTreeSet::new();
        for (_, _, slot) in snapshot.slots() {
            slot.list.visit(&mut |owner, _, _| {
                if !owners.contains(owner) {
                    owners.insert(owner.clone());
                }
            });
        }
        owners.into_iter().collect()
    }

    /// How many hooks and filters `owner` has installed.
    pub fn counts_of(&self, owner: &Name) -> SubscriptionCounts {
        let snapshot = self.snapshot();
        let mut counts = SubscriptionCounts::default();
        for (kind, _, slot) in snapshot.slots() {
            let count = match kind {
                SubscriptionKind::Hook => &mut counts.hooks,
                SubscriptionKind::Filter => &mut counts.filters,
            };
            slot.list.visit(&mut |o, _, _| *count += usize::from(o == owner));
        }
        counts
    }

    /// The subscriptions of `owner`: hooks then filters, by name, then in the order they run.
    pub fn subscriptions_of(&self, owner: &Name) -> Vec<SubscriptionInfo> {
        let snapshot = self.snapshot();
        let mut found = Vec::new();
        for (kind, key, slot) in snapshot.slots() {
            slot.list.visit(&mut |o, priority, seq| {
                if o == owner {
                    let info = SubscriptionInfo {
                        kind,
                        name: key.name,
                        priority,
                        payload: slot.payload_name,
                    };
                    found.push((info, seq));
                }
            });
        }
        found.sort_by(|(a, a_seq), (b, b_seq)| {
            (a.kind, a.name, a.priority, a_seq).cmp(&(b.kind, b.name, b.priority, b_seq))
        });
        found.into_iter().map(|(info, _)| info).collect()
    }

    /// The current snapshot, from this thread's cache when it is fresh: no lock, no shared write.
    #[inline]
    pub(crate) fn snapshot(&self) -> SnapshotRef {
        let generation = self.inner.generation.load(Ordering::Acquire);
        cache::read(self.inner.id, generation, || self.inner.current.load())
    }

    /// Records a failed handler in `into` and hands it to the failure sink, if any. Out of line and cold:
    /// dispatch loops stay small for the path where handlers succeed.
    #[cold]
    #[inline(never)]
    pub(crate) fn record(
        &self,
        owner: &Name,
        kind: SubscriptionKind,
        name: &'static str,
        fault: Fault,
        into: &mut Vec<HandlerFailure>,
    ) {
        let failure = HandlerFailure::new(owner, kind, name, fault);
        if let Some(sink) = &self.snapshot().sink {
            // The sink must not undo the isolation it reports on.
            let _ignored = catch(|| sink(&failure));
        }
        into.push(failure);
    }

    fn swap_sink(&self, sink: Option<FailureSink>) {
        let _writer = self.lock_writer();
        let mut next = Snapshot::clone(&self.inner.current.load());
        next.sink = sink;
        self.publish(next);
    }

    /// Swaps in `next`, then tells readers their cached snapshots are stale. Called with the writer lock held.
    fn publish(&self, next: Snapshot) {
        self.inner.current.store(Arc::new(next));
        self.inner.generation.fetch_add(1, Ordering::Release);
    }

    /// The writer lock. Writers never leave a snapshot half-built (they swap a finished one), so a poisoned
    /// lock protects nothing broken and is taken over.
    fn lock_writer(&self) -> MutexGuard<'_, u64> {
        self.inner.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_struct("Bus")
            .field("hooks", &snapshot.hooks.len())
            .field("filters", &snapshot.filters.len())
            .field("failure_sink", &snapshot.sink.is_some())
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::bus::{FilterRef, HookRef};
    use futures::executor::block_on;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    const ORDER_CREATED: HookRef<u64> = HookRef::new("order.created");
    const ORDER_PAID: HookRef<u64> = HookRef::new("order.paid");
    const PRICE: FilterRef<u64> = FilterRef::new("price.total");

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    fn ok_hook(hook: &HookRef<u64>, priority: i32) -> Subscription {
        Subscription::hook_sync(hook, priority, |_| Ok(()))
    }

    #[test]
    fn bus_is_clone_send_sync_and_clones_share() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Bus>();
        let bus = Bus::new();
        let clone = bus.clone();
        clone.install(&name("shop"), vec![ok_hook(&ORDER_CREATED, 0)]).unwrap();
        assert_eq!(block_on(bus.emit(&ORDER_CREATED, 1)).ran, 1);
        assert!(format!("{bus:?}").contains("hooks: 1"));
    }

    #[test]
    fn invalid_names_are_refused_and_nothing_is_installed() {
        const BAD: HookRef<u64> = HookRef::new("Order.Created");
        let bus = Bus::new();
        let error = bus
            .install(&name("shop"), vec![ok_hook(&ORDER_CREATED, 0), ok_hook(&BAD, 0)])
            .unwrap_err();
        assert!(matches!(
            &error,
            BusError::InvalidName { owner, kind: SubscriptionKind::Hook, name, reason }
                if owner == "shop" && name == "Order.Created" && reason.contains("uppercase letter 'O'")
        ));
        assert_eq!(
            error.to_string(),
            "plugin \"shop\" cannot subscribe to hook \"Order.Created\": uppercase letter 'O' at byte 0; names are lowercase"
        );
        assert!(bus.owners().is_empty());
        assert_eq!(block_on(bus.emit(&ORDER_CREATED, 1)).ran, 0);
    }

    #[test]
    fn type_mismatch_is_refused_against_installed_and_same_batch_subscriptions() {
        const OTHER_TYPE: HookRef<String> = HookRef::new("order.created");
        const OTHER_FILTER: FilterRef<i8> = FilterRef::new("price.total");
        const AS_FILTER: FilterRef<String> = FilterRef::new("order.created");
        let bus = Bus::new();
        bus.install(&name("first"), vec![ok_hook(&ORDER_CREATED, 0)]).unwrap();

        let error = bus
            .install(
                &name("second"),
                vec![
                    Subscription::filter(&PRICE, 0, |p| Ok(*p)),
                    Subscription::hook_sync(&OTHER_TYPE, 0, |_| Ok(())),
                ],
            )
            .unwrap_err();
        let BusError::TypeMismatch {
            owner,
            kind,
            name: hook,
            expected,
            found,
        } = error
        else {
            panic!("{error:?}")
        };
        assert_eq!(
            (owner.as_str(), kind, hook.as_str(), expected),
            ("second", SubscriptionKind::Hook, "order.created", "u64".into())
        );
        assert!(found.ends_with("String"));

        // Within one batch: the first filter fixes the type, the second is refused, neither is installed.
        let error = bus
            .install(
                &name("third"),
                vec![
                    Subscription::filter(&PRICE, 0, |p| Ok(*p)),
                    Subscription::filter(&OTHER_FILTER, 0, |p| Ok(*p)),
                ],
            )
            .unwrap_err();
        assert!(
            matches!(&error, BusError::TypeMismatch { expected, found, .. } if expected == "u64" && found == "i8"),
            "{error:?}"
        );
        assert_eq!(bus.owners(), [name("first")]);

        // The same name as a filter and as a hook are separate: no mismatch.
        bus.install(
            &name("fourth"),
            vec![Subscription::filter(&AS_FILTER, 0, |s| Ok(s.clone()))],
        )
        .unwrap();
    }

    #[test]
    fn a_name_left_empty_takes_a_new_type() {
        const AS_TEXT: HookRef<String> = HookRef::new("order.created");
        let bus = Bus::new();
        bus.install(&name("first"), vec![ok_hook(&ORDER_CREATED, 0)]).unwrap();
        assert_eq!(bus.remove_owner(&name("first")), 1);
        bus.install(&name("second"), vec![Subscription::hook_sync(&AS_TEXT, 0, |_| Ok(()))])
            .unwrap();
    }

    #[test]
    fn remove_owner_removes_hooks_and_filters_of_that_owner_only() {
        let bus = Bus::new();
        let (shop, seo) = (name("shop"), name("seo"));
        bus.install(
            &shop,
            vec![
                ok_hook(&ORDER_CREATED, 0),
                ok_hook(&ORDER_PAID, 0),
                Subscription::filter(&PRICE, 0, |p| Ok(p + 1)),
            ],
        )
        .unwrap();
        bus.install(&seo, vec![ok_hook(&ORDER_CREATED, 5)]).unwrap();
        assert_eq!(bus.owners(), [seo.clone(), shop.clone()]);
        assert_eq!(bus.counts_of(&shop), SubscriptionCounts { hooks: 2, filters: 1 });

        assert_eq!(bus.remove_owner(&shop), 3);
        assert_eq!(bus.remove_owner(&shop), 0);
        assert_eq!(bus.owners(), std::slice::from_ref(&seo));
        assert_eq!(bus.counts_of(&shop).total(), 0);
        assert_eq!(block_on(bus.emit(&ORDER_CREATED, 1)).ran, 1);
        assert_eq!(block_on(bus.emit(&ORDER_PAID, 1)).ran, 0);
        assert_eq!(bus.apply(&PRICE, 1).value, 1);
    }

    #[test]
    fn subscriptions_of_lists_kind_name_priority_and_payload() {
        let bus = Bus::new();
        let shop = name("shop");
        bus.install(
            &shop,
            vec![
                Subscription::filter(&PRICE, 3, |p| Ok(*p)),
                ok_hook(&ORDER_PAID, 1),
                ok_hook(&ORDER_CREATED, 2),
                ok_hook(&ORDER_CREATED, -1),
            ],
        )
        .unwrap();
        bus.install(&name("other"), vec![ok_hook(&ORDER_CREATED, 0)]).unwrap();
        let listed: Vec<(SubscriptionKind, &str, i32, &str)> = bus
            .subscriptions_of(&shop)
            .into_iter()
            .map(|i| (i.kind, i.name, i.priority, i.payload))
            .collect();
        assert_eq!(
            listed,
            [
                (SubscriptionKind::Hook, "order.created", -1, "u64"),
                (SubscriptionKind::Hook, "order.created", 2, "u64"),
                (SubscriptionKind::Hook, "order.paid", 1, "u64"),
                (SubscriptionKind::Filter, "price.total", 3, "u64"),
            ]
        );
    }

    #[test]
    fn the_failure_sink_sees_every_failure_and_cannot_break_dispatch() {
        let bus = Bus::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink_seen = Arc::clone(&seen);
        bus.set_failure_sink(Arc::new(move |failure: &HandlerFailure| {
            sink_seen.lock().unwrap().push(failure.to_string());
        }));
        bus.install(
            &name("shop"),
            vec![
                Subscription::hook_sync(&ORDER_CREATED, 0, |_| Err("no stock".into())),
                Subscription::filter(&PRICE, 0, |_| panic!("bad rate")),
            ],
        )
        .unwrap();
        block_on(bus.emit(&ORDER_CREATED, 1));
        bus.apply(&PRICE, 1);
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "hook \"order.created\" of plugin \"shop\" failed: no stock",
                "filter \"price.total\" of plugin \"shop\" panicked: bad rate",
            ]
        );

        bus.set_failure_sink(Arc::new(|_: &HandlerFailure| panic!("sink boom")));
        assert_eq!(block_on(bus.emit(&ORDER_CREATED, 1)).failures.len(), 1);
        bus.clear_failure_sink();
        assert!(format!("{bus:?}").contains("failure_sink: false"));
    }

    /// A panic payload whose own `Drop` panics: dropping it at a boundary would unwind past the boundary.
    struct Bomb;

    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("the payload's drop panicked");
        }
    }

    #[test]
    fn a_payload_whose_drop_panics_escapes_no_dispatch_and_no_sink() {
        let bus = Bus::new();
        let sunk = Arc::new(AtomicUsize::new(0));
        let sink_count = Arc::clone(&sunk);
        bus.set_failure_sink(Arc::new(move |_: &HandlerFailure| {
            sink_count.fetch_add(1, Ordering::Relaxed);
            std::panic::panic_any(Bomb);
        }));
        bus.install(
            &name("shop"),
            vec![
                Subscription::hook_sync(&ORDER_CREATED, 0, |_| std::panic::panic_any(Bomb)),
                Subscription::hook(&ORDER_CREATED, 1, |_| async { std::panic::panic_any(Bomb) }),
                Subscription::hook(&ORDER_CREATED, 2, |_| async {
                    futures::future::ready(()).await;
                    std::panic::panic_any(Bomb)
                }),
                Subscription::hook_sync(&ORDER_CREATED, 3, |_| std::panic::panic_any(Bomb)),
                Subscription::filter(&PRICE, 0, |_| std::panic::panic_any(Bomb)),
                Subscription::filter(&PRICE, 1, |cents| Ok(cents + 1)),
            ],
        )
        .unwrap();
        let summary = block_on(bus.emit(&ORDER_CREATED, 1));
        assert_eq!((summary.ran, summary.failures.len()), (4, 4));
        assert!(
            summary
                .failures
                .iter()
                .all(|f| f.panicked && f.message == crate::panic::NON_STRING_PAYLOAD)
        );
        let price = bus.apply(&PRICE, 1);
        assert_eq!((price.value, price.failures.len()), (2, 1));
        assert_eq!(sunk.load(Ordering::Relaxed), 5);
    }

    /// Emitters and appliers on several threads while another thread installs and removes an owner's
    /// subscriptions over and over: every dispatch sees all or none of that owner's handlers.
    #[test]
    fn dispatch_sees_whole_installs_while_another_thread_rewrites() {
        const FLAKY_HANDLERS: usize = 5;
        let bus = Bus::new();
        let (base, flaky) = (name("base"), name("flaky"));
        bus.install(
            &base,
            vec![
                ok_hook(&ORDER_CREATED, 0),
                Subscription::filter(&PRICE, 0, |p| Ok(p + 1)),
            ],
        )
        .unwrap();
        let flaky_subs = || {
            (0..FLAKY_HANDLERS)
                .flat_map(|i| {
                    let priority = i32::try_from(i).unwrap() - 2;
                    [
                        if i % 2 == 0 {
                            ok_hook(&ORDER_CREATED, priority)
                        } else {
                            Subscription::hook(&ORDER_CREATED, priority, |_| async { Ok(()) })
                        },
                        Subscription::filter(&PRICE, priority, |p| Ok(p + 1)),
                    ]
                })
                .collect::<Vec<_>>()
        };
        let stop = AtomicBool::new(false);
        let (with, without) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        let summary = block_on(bus.emit(&ORDER_CREATED, 1));
                        let price = bus.apply(&PRICE, 0);
                        assert!(summary.is_ok() && price.is_ok());
                        assert!(summary.ran == 1 || summary.ran == 1 + FLAKY_HANDLERS, "{}", summary.ran);
                        let filters = usize::try_from(price.value).unwrap();
                        assert!(filters == 1 || filters == 1 + FLAKY_HANDLERS, "{filters}");
                        let seen = if summary.ran == 1 { &without } else { &with };
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..300 {
                    bus.install(&flaky, flaky_subs()).unwrap();
                    std::thread::yield_now();
                    assert_eq!(bus.remove_owner(&flaky), 2 * FLAKY_HANDLERS);
                    std::thread::yield_now();
                }
                stop.store(true, Ordering::Relaxed);
            });
        });
        assert_eq!(bus.owners(), [base]);
        assert!(with.load(Ordering::Relaxed) + without.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn a_thread_that_cached_a_snapshot_sees_later_writes_from_another_thread() {
        let bus = Bus::new();
        let shop = name("shop");
        bus.install(&shop, vec![ok_hook(&ORDER_CREATED, 0)]).unwrap();
        let (to_reader, reader_inbox) = std::sync::mpsc::channel::<()>();
        let (to_writer, writer_inbox) = std::sync::mpsc::channel::<usize>();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for () in reader_inbox {
                    to_writer.send(block_on(bus.emit(&ORDER_CREATED, 1)).ran).unwrap();
                }
            });
            to_reader.send(()).unwrap();
            assert_eq!(
                writer_inbox.recv().unwrap(),
                1,
                "the reader caches the snapshot with one handler"
            );
            bus.install(&name("mailer"), vec![ok_hook(&ORDER_CREATED, 0)]).unwrap();
            to_reader.send(()).unwrap();
            assert_eq!(writer_inbox.recv().unwrap(), 2, "an install is seen at once");
            bus.remove_owner(&shop);
            to_reader.send(()).unwrap();
            assert_eq!(writer_inbox.recv().unwrap(), 1, "a removal is seen at once");
            drop(to_reader);
        });
    }

    #[test]
    fn removed_handlers_are_dropped_when_the_caching_thread_next_dispatches() {
        let bus = Bus::new();
        let shop = name("shop");
        let captured = Arc::new(());
        let held = Arc::clone(&captured);
        bus.install(
            &shop,
            vec![Subscription::hook_sync(&ORDER_CREATED, 0, move |_| {
                assert!(Arc::strong_count(&held) > 1);
                Ok(())
            })],
        )
        .unwrap();
        assert_eq!(block_on(bus.emit(&ORDER_CREATED, 1)).ran, 1);
        bus.remove_owner(&shop);
        assert_eq!(
            Arc::strong_count(&captured),
            2,
            "this thread's cache still holds the old snapshot"
        );
        assert_eq!(block_on(bus.emit(&ORDER_CREATED, 1)).ran, 0);
        assert_eq!(Arc::strong_count(&captured), 1, "the next dispatch replaced it");
    }
}
