//! Hooks: [`Bus::emit`] runs every handler of an event in priority order and returns an [`EmitSummary`].
//!
//! A handler's error or panic (sync, or async while polled) is caught, recorded and reported to the
//! failure sink; the other handlers still run.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::bus::Bus;
use super::error::{Fault, HandlerError, HandlerFailure, TypeMismatch};
use super::handle::{HookRef, NameKey};
use super::snapshot::{Entry, Lookup};
use super::subscription::SubscriptionKind;
use crate::panic::{catch, catch_async};

const KIND: SubscriptionKind = SubscriptionKind::Hook;

type SyncHandler<E> = dyn Fn(&E) -> Result<(), HandlerError> + Send + Sync;
type AsyncHandler<E> = dyn Fn(Arc<E>) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync;

/// An installed hook handler. Sync handlers are called directly: no boxed future, no shared event.
pub(crate) enum HookHandler<E> {
    Sync(Arc<SyncHandler<E>>),
    Async(Arc<AsyncHandler<E>>),
}

// Manual impl: a derive would require `E: Clone`.
impl<E> Clone for HookHandler<E> {
    fn clone(&self) -> Self {
        match self {
            Self::Sync(handler) => Self::Sync(Arc::clone(handler)),
            Self::Async(handler) => Self::Async(Arc::clone(handler)),
        }
    }
}

/// What one [`Bus::emit`] did.
///
/// `ran` counts the handlers called, failed ones included; `failures` lists those that returned an error or
/// panicked. `mismatch` is set (and nothing ran) when the event type is not the hook's installed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitSummary {
    /// The hook name.
    pub hook: &'static str,
    /// Handlers called, failed ones included.
    pub ran: usize,
    /// Handlers that returned an error or panicked, in the order they ran.
    pub failures: Vec<HandlerFailure>,
    /// Set when the hook's handlers take another event type; then nothing ran. Boxed: it is rare, and a
    /// small summary keeps dispatch fast.
    pub mismatch: Option<Box<TypeMismatch>>,
}

impl EmitSummary {
    fn new(hook: &'static str) -> Self {
        Self {
            hook,
            ran: 0,
            failures: Vec::new(),
            mismatch: None,
        }
    }

    /// Whether every handler succeeded and the event type matched (also true when no handler is installed).
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty() && self.mismatch.is_none()
    }

    /// Handlers that ran and succeeded.
    pub fn succeeded(&self) -> usize {
        self.ran - self.failures.len()
    }
}

/// The event as the caller gave it: shared only once an async handler needs it.
enum Event<E> {
    Owned(E),
    Shared(Arc<E>),
}

impl<E> Event<E> {
    fn get(&self) -> &E {
        match self {
            Self::Owned(event) => event,
            Self::Shared(event) => event,
        }
    }

    fn share(self) -> Arc<E> {
        match self {
            Self::Owned(event) => Arc::new(event),
            Self::Shared(event) => event,
        }
    }
}

impl Bus {
    /// Runs every handler of `hook` with `event`, lower priority first (ties in installation order), and
    /// says what happened. Never panics: failing and panicking handlers are recorded and skipped.
    ///
    /// The handlers are those installed when the emit starts; installs and removals during the emit take
    /// effect for the next one. Sync handlers get `&E`; the event is moved into an `Arc` only when the
    /// first async handler is reached.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use zelavis_core::bus::{Bus, HookRef, Subscription};
    /// use zelavis_core::name::Name;
    ///
    /// struct OrderCreated { id: u64 }
    /// const ORDER_CREATED: HookRef<OrderCreated> = HookRef::new("order.created");
    ///
    /// let bus = Bus::new();
    /// bus.install(&Name::parse("mailer")?, vec![
    ///     Subscription::hook(&ORDER_CREATED, 0, |order: Arc<OrderCreated>| async move {
    ///         println!("mail for order {}", order.id);
    ///         Ok(())
    ///     }),
    ///     Subscription::hook_sync(&ORDER_CREATED, 10, |_| Err("smtp is down".into())),
    /// ])?;
    ///
    /// let summary = futures::executor::block_on(bus.emit(&ORDER_CREATED, OrderCreated { id: 7 }));
    /// assert_eq!((summary.ran, summary.succeeded()), (2, 1));
    /// assert_eq!(summary.failures[0].message, "smtp is down");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn emit<E: Send + Sync + 'static>(&self, hook: &HookRef<E>, event: E) -> EmitSummary {
        let rest = match self.emit_sync_prefix(hook.key(), Event::Owned(event)) {
            Progress::Done(summary) => return summary,
            Progress::Async(rest) => rest,
        };
        // Boxed so the future of every emit stays small: only emits that reach an async handler (which boxes
        // its own future anyway) pay for it.
        Box::pin(self.emit_rest(rest)).await
    }

    /// [`Bus::emit`] with an event that is already shared.
    pub async fn emit_shared<E: Send + Sync + 'static>(&self, hook: &HookRef<E>, event: Arc<E>) -> EmitSummary {
        let rest = match self.emit_sync_prefix(hook.key(), Event::Shared(event)) {
            Progress::Done(summary) => return summary,
            Progress::Async(rest) => rest,
        };
        Box::pin(self.emit_rest(rest)).await
    }

    /// Runs the handlers up to the first async one, under the snapshot guard and without touching the
    /// list's reference count. If an async handler is reached, hands back what the rest needs, the list and
    /// the event then shared.
    fn emit_sync_prefix<E: Send + Sync + 'static>(&self, key: NameKey, event: Event<E>) -> Progress<E> {
        let name = key.name;
        let mut summary = EmitSummary::new(name);
        let snapshot = self.snapshot();
        let list = match snapshot.lookup::<HookHandler<E>>(KIND, &key) {
            Lookup::Missing => return Progress::Done(summary),
            Lookup::Mismatch(expected) => {
                summary.mismatch = Some(Box::new(TypeMismatch {
                    kind: KIND,
                    name,
                    expected,
                    found: std::any::type_name::<E>(),
                }));
                return Progress::Done(summary);
            }
            Lookup::Found(list) => list,
        };
        let shown = event.get();
        let entries = &list.entries[..];
        // One `catch_unwind` around the run of sync handlers, not one per handler: when a handler panics, the
        // panic is recorded for it and the run resumes after it.
        let mut ran = 0;
        loop {
            let mut at = ran;
            let run = catch(|| {
                while let Some(entry) = entries.get(at) {
                    let HookHandler::Sync(handler) = &entry.handler else {
                        break;
                    };
                    at += 1;
                    if let Err(error) = handler(shown) {
                        self.record(&entry.owner, KIND, name, Fault::Returned(error), &mut summary.failures);
                    }
                }
            });
            ran = at;
            match run {
                Ok(()) => break,
                Err(caught) => {
                    // `at` was advanced before the handler ran, so the one that panicked sits just before it.
                    let Some(entry) = at.checked_sub(1).and_then(|index| entries.get(index)) else {
                        break;
                    };
                    self.record(&entry.owner, KIND, name, Fault::Panicked(caught), &mut summary.failures);
                }
            }
        }
        summary.ran = ran;
        if ran == list.entries.len() {
            return Progress::Done(summary);
        }
        Progress::Async(Rest {
            summary,
            entries: Arc::clone(&list.entries),
            next: ran,
            event: event.share(),
        })
    }

    /// Runs the handlers from the first async one on, awaiting each async handler in turn.
    async fn emit_rest<E: Send + Sync + 'static>(&self, rest: Rest<E>) -> EmitSummary {
        let Rest {
            mut summary,
            entries,
            next,
            event,
        } = rest;
        let name = summary.hook;
        for entry in &entries[next..] {
            summary.ran += 1;
            let fault = match &entry.handler {
                HookHandler::Sync(handler) => match catch(|| handler(&event)) {
                    Ok(Ok(())) => continue,
                    Ok(Err(error)) => Fault::Returned(error),
                    Err(caught) => Fault::Panicked(caught),
                },
                HookHandler::Async(handler) => {
                    // The call itself is inside the caught future, so a panic before its first await is
                    // caught as well as one while it is polled.
                    match catch_async(async { handler(Arc::clone(&event)).await }).await {
                        Ok(Ok(())) => continue,
                        Ok(Err(error)) => Fault::Returned(error),
                        Err(caught) => Fault::Panicked(caught),
                    }
                }
            };
            self.record(&entry.owner, KIND, name, fault, &mut summary.failures);
        }
        summary
    }
}

/// Where [`Bus::emit_sync_prefix`] stopped.
enum Progress<E> {
    /// Every handler ran (or none is installed).
    Done(EmitSummary),
    /// An async handler is next.
    Async(Rest<E>),
}

/// What the async rest of an emit needs.
struct Rest<E> {
    summary: EmitSummary,
    entries: Arc<[Entry<HookHandler<E>>]>,
    /// The index of the first handler not run yet.
    next: usize,
    event: Arc<E>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::bus::Subscription;
    use crate::name::Name;
    use futures::executor::block_on;
    use proptest::prelude::*;
    use std::sync::Mutex;

    struct OrderCreated {
        id: u64,
    }

    const ORDER_CREATED: HookRef<OrderCreated> = HookRef::new("order.created");

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    /// A handler that appends `tag` to `log`.
    fn logging(log: &Arc<Mutex<Vec<usize>>>, tag: usize, priority: i32, is_async: bool) -> Subscription {
        let log = Arc::clone(log);
        if is_async {
            Subscription::hook(&ORDER_CREATED, priority, move |_| {
                let log = Arc::clone(&log);
                async move {
                    futures::future::ready(()).await;
                    log.lock().unwrap().push(tag);
                    Ok(())
                }
            })
        } else {
            Subscription::hook_sync(&ORDER_CREATED, priority, move |_| {
                log.lock().unwrap().push(tag);
                Ok(())
            })
        }
    }

    #[test]
    fn no_subscribers_is_an_empty_success() {
        let summary = block_on(Bus::new().emit(&ORDER_CREATED, OrderCreated { id: 1 }));
        assert_eq!(summary, EmitSummary::new("order.created"));
        assert!(summary.is_ok());
    }

    #[test]
    fn errors_and_panics_are_isolated_in_sync_and_async_handlers() {
        let bus = Bus::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        bus.install(
            &name("shop"),
            vec![
                logging(&log, 0, 0, false),
                Subscription::hook_sync(&ORDER_CREATED, 1, |order| {
                    Err(format!("order {} refused", order.id).into())
                }),
                Subscription::hook_sync(&ORDER_CREATED, 2, |_| panic!("sync boom")),
                logging(&log, 3, 3, true),
                Subscription::hook(&ORDER_CREATED, 4, |_| async {
                    Err(HandlerError::from("async refused"))
                }),
                // Panics while polled, after an await point.
                Subscription::hook(&ORDER_CREATED, 5, |order: Arc<OrderCreated>| async move {
                    futures::future::ready(()).await;
                    panic!("async boom {}", order.id)
                }),
                // Panics when called, before returning a future.
                Subscription::hook(&ORDER_CREATED, 6, |_| -> futures::future::Ready<_> {
                    panic!("eager boom")
                }),
                logging(&log, 7, 7, false),
            ],
        )
        .unwrap();

        let summary = block_on(bus.emit(&ORDER_CREATED, OrderCreated { id: 9 }));
        assert_eq!(*log.lock().unwrap(), [0, 3, 7]);
        assert_eq!((summary.ran, summary.succeeded()), (8, 3));
        let failures: Vec<(&str, bool)> = summary
            .failures
            .iter()
            .map(|f| (f.message.as_str(), f.panicked))
            .collect();
        assert_eq!(
            failures,
            [
                ("order 9 refused", false),
                ("sync boom", true),
                ("async refused", false),
                ("async boom 9", true),
                ("eager boom", true),
            ]
        );
        assert!(
            summary
                .failures
                .iter()
                .all(|f| f.owner == "shop" && f.name == "order.created" && f.kind == SubscriptionKind::Hook)
        );
    }

    #[test]
    fn sync_only_emits_do_not_share_the_event() {
        struct NotClone(u64);
        const EVENT: HookRef<NotClone> = HookRef::new("a.b");
        let bus = Bus::new();
        bus.install(
            &name("shop"),
            vec![Subscription::hook_sync(&EVENT, 0, |e| {
                if e.0 == 1 { Ok(()) } else { Err("bad".into()) }
            })],
        )
        .unwrap();
        assert!(block_on(bus.emit(&EVENT, NotClone(1))).is_ok());
        assert!(!block_on(bus.emit_shared(&EVENT, Arc::new(NotClone(2)))).is_ok());
    }

    #[test]
    fn emitting_with_another_type_runs_nothing_and_says_so() {
        const SAME_NAME: HookRef<u64> = HookRef::new("order.created");
        let bus = Bus::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        bus.install(&name("shop"), vec![logging(&log, 0, 0, false)]).unwrap();
        let summary = block_on(bus.emit(&SAME_NAME, 5));
        assert_eq!(summary.ran, 0);
        assert!(log.lock().unwrap().is_empty());
        let mismatch = summary.mismatch.unwrap();
        assert!(mismatch.expected.ends_with("OrderCreated"));
        assert_eq!(mismatch.found, "u64");
        assert!(
            mismatch.to_string().contains("but was dispatched with u64"),
            "{mismatch}"
        );
    }

    #[test]
    fn the_emit_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let bus = Bus::new();
        let emit = bus.emit(&ORDER_CREATED, OrderCreated { id: 1 });
        assert_send(&emit);
        drop(emit);
    }

    proptest! {
        #[test]
        fn handlers_run_by_priority_then_installation_order(
            handlers in proptest::collection::vec((-3_i32..3, any::<bool>(), 0_usize..3), 0..24)
        ) {
            let bus = Bus::new();
            let log = Arc::new(Mutex::new(Vec::new()));
            let owners = [name("a"), name("b"), name("c")];
            // One install per handler, so installation order is the index, whatever the owner.
            for (index, &(priority, is_async, owner)) in handlers.iter().enumerate() {
                bus.install(&owners[owner], vec![logging(&log, index, priority, is_async)]).unwrap();
            }
            let summary = block_on(bus.emit(&ORDER_CREATED, OrderCreated { id: 0 }));
            let mut expected: Vec<usize> = (0..handlers.len()).collect();
            expected.sort_by_key(|&index| (handlers[index].0, index));
            prop_assert_eq!(&*log.lock().unwrap(), &expected);
            prop_assert_eq!(summary.ran, handlers.len());
        }
    }
}
