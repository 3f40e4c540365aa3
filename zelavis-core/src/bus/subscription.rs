//! [`Subscription`]: a hook handler or a filter, made without a bus, installed later for an owner.
//! Also what the bus reports about installed subscriptions: [`SubscriptionInfo`] and [`SubscriptionCounts`].

use std::any::TypeId;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;

use super::error::HandlerError;
use super::filter::FilterFn;
use super::handle::{FilterRef, HookRef, NameKey};
use super::hook::HookHandler;
use super::snapshot::{Entry, ErasedList, List, Slot};
use crate::name::Name;

/// Whether a subscription is a hook handler or a filter. Hooks and filters have separate name spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionKind {
    /// An async or sync handler run by [`Bus::emit`](super::Bus::emit).
    Hook,
    /// A value transform run by [`Bus::apply`](super::Bus::apply).
    Filter,
}

impl fmt::Display for SubscriptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hook => "hook",
            Self::Filter => "filter",
        })
    }
}

/// A hook handler or a filter with its priority, not yet installed and not yet owned.
///
/// A plugin's setup collects subscriptions as plain values; the host installs them for the plugin with
/// [`Bus::install`](super::Bus::install) only if setup succeeds, all or none.
///
/// **Priority**: lower runs first (`-10` before `0` before `10`); equal priorities run in installation order.
///
/// ```
/// use std::sync::Arc;
/// use zelavis_core::bus::{FilterRef, HandlerError, HookRef, Subscription};
///
/// struct OrderCreated { id: u64 }
/// const ORDER_CREATED: HookRef<OrderCreated> = HookRef::new("order.created");
/// const PRICE: FilterRef<u64> = FilterRef::new("price.total");
///
/// let subs = vec![
///     Subscription::hook(&ORDER_CREATED, 0, |order: Arc<OrderCreated>| async move {
///         if order.id == 0 { return Err(HandlerError::from("order without id")); }
///         Ok(())
///     }),
///     Subscription::hook_sync(&ORDER_CREATED, -10, |order| {
///         assert!(order.id > 0);
///         Ok(())
///     }),
///     Subscription::filter(&PRICE, 0, |cents| Ok(cents * 9 / 10)),
/// ];
/// assert_eq!(subs[1].name(), "order.created");
/// ```
pub struct Subscription {
    kind: SubscriptionKind,
    key: NameKey,
    priority: i32,
    payload: TypeId,
    payload_name: &'static str,
    pending: Box<dyn Pending>,
}

impl Subscription {
    /// An async hook handler. It receives the event as `Arc<E>`, so its future can be `'static` and `Send`.
    pub fn hook<E, F, Fut>(hook: &HookRef<E>, priority: i32, handler: F) -> Self
    where
        E: Send + Sync + 'static,
        F: Fn(Arc<E>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let handler = HookHandler::Async(Arc::new(move |event: Arc<E>| handler(event).boxed()));
        Self::new::<E, _>(SubscriptionKind::Hook, hook.key(), priority, handler)
    }

    /// A sync hook handler. It runs without boxing a future or sharing the event, so prefer it when the
    /// handler does not await.
    pub fn hook_sync<E, F>(hook: &HookRef<E>, priority: i32, handler: F) -> Self
    where
        E: Send + Sync + 'static,
        F: Fn(&E) -> Result<(), HandlerError> + Send + Sync + 'static,
    {
        let handler = HookHandler::Sync(Arc::new(handler));
        Self::new::<E, _>(SubscriptionKind::Hook, hook.key(), priority, handler)
    }

    /// A filter: it receives the current value and returns the next one. If it fails or panics, the value
    /// passes on unchanged to the next filter and the failure is recorded.
    pub fn filter<T, F>(filter: &FilterRef<T>, priority: i32, f: F) -> Self
    where
        T: 'static,
        F: Fn(&T) -> Result<T, HandlerError> + Send + Sync + 'static,
    {
        let handler = FilterFn(Arc::new(f));
        Self::new::<T, _>(SubscriptionKind::Filter, filter.key(), priority, handler)
    }

    fn new<P: 'static, H: Clone + Send + Sync + 'static>(
        kind: SubscriptionKind,
        key: NameKey,
        priority: i32,
        handler: H,
    ) -> Self {
        Self {
            kind,
            key,
            priority,
            payload: TypeId::of::<P>(),
            payload_name: std::any::type_name::<P>(),
            pending: Box::new(PendingEntry { priority, handler }),
        }
    }

    /// Hook or filter.
    pub fn kind(&self) -> SubscriptionKind {
        self.kind
    }

    /// The hook or filter name.
    pub fn name(&self) -> &'static str {
        self.key.name
    }

    pub(crate) fn key(&self) -> NameKey {
        self.key
    }

    /// The priority: lower runs first.
    pub fn priority(&self) -> i32 {
        self.priority
    }

    /// The payload type's name (the event of a hook, the value of a filter).
    pub fn payload_type(&self) -> &'static str {
        self.payload_name
    }

    pub(crate) fn payload(&self) -> TypeId {
        self.payload
    }

    /// The per-name list with this subscription added, sorted by (priority, `seq`); `None` if `existing`
    /// holds another payload type (the caller checks [`Subscription::payload`] first).
    pub(crate) fn insert_into(self, owner: &Name, seq: u64, existing: Option<&Slot>) -> Option<Slot> {
        let list = self.pending.insert(owner, seq, existing)?;
        Some(Slot {
            payload: self.payload,
            payload_name: self.payload_name,
            list,
        })
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("kind", &self.kind)
            .field("name", &self.key.name)
            .field("priority", &self.priority)
            .field("payload", &self.payload_name)
            .finish_non_exhaustive()
    }
}

/// The typed part of a subscription, behind a trait object so subscriptions of any payload fit in one `Vec`.
trait Pending: Send + Sync {
    fn insert(self: Box<Self>, owner: &Name, seq: u64, existing: Option<&Slot>) -> Option<Arc<dyn ErasedList>>;
}

struct PendingEntry<H> {
    priority: i32,
    handler: H,
}

impl<H: Clone + Send + Sync + 'static> Pending for PendingEntry<H> {
    fn insert(self: Box<Self>, owner: &Name, seq: u64, existing: Option<&Slot>) -> Option<Arc<dyn ErasedList>> {
        let existing: &[Entry<H>] = match existing {
            Some(slot) => &slot.downcast::<H>()?.entries,
            None => &[],
        };
        let Self { priority, handler } = *self;
        // `seq` is newer than every installed entry, so it goes after all entries of equal priority.
        let at = existing.partition_point(|entry| entry.priority <= priority);
        let mut entries = Vec::with_capacity(existing.len() + 1);
        entries.extend_from_slice(&existing[..at]);
        entries.push(Entry {
            owner: owner.clone(),
            priority,
            seq,
            handler,
        });
        entries.extend_from_slice(&existing[at..]);
        Some(Arc::new(List {
            entries: entries.into(),
        }))
    }
}

/// One installed subscription, as reported by [`Bus::subscriptions_of`](super::Bus::subscriptions_of).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionInfo {
    /// Hook or filter.
    pub kind: SubscriptionKind,
    /// The hook or filter name.
    pub name: &'static str,
    /// The priority: lower runs first.
    pub priority: i32,
    /// The payload type's name.
    pub payload: &'static str,
}

/// How many hooks and filters an owner has installed, from [`Bus::counts_of`](super::Bus::counts_of).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriptionCounts {
    /// Installed hook handlers.
    pub hooks: usize,
    /// Installed filters.
    pub filters: usize,
}

impl SubscriptionCounts {
    /// Hooks and filters together.
    pub fn total(&self) -> usize {
        self.hooks + self.filters
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    const HOOK: HookRef<u32> = HookRef::new("order.created");
    const FILTER: FilterRef<String> = FilterRef::new("title.text");

    #[test]
    fn subscriptions_describe_themselves() {
        let hook = Subscription::hook_sync(&HOOK, 5, |_| Ok(()));
        assert_eq!(
            (hook.kind(), hook.name(), hook.priority(), hook.payload_type()),
            (SubscriptionKind::Hook, "order.created", 5, "u32")
        );
        let filter = Subscription::filter(&FILTER, -1, |title| Ok(title.to_uppercase()));
        assert_eq!(filter.kind(), SubscriptionKind::Filter);
        assert!(filter.payload_type().ends_with("String"));
        let debug = format!("{filter:?}");
        assert!(debug.contains("title.text") && debug.contains("-1"), "{debug}");
    }

    #[test]
    fn insertion_keeps_priority_then_installation_order() {
        let owner = Name::parse("shop").unwrap();
        let mut slot = None;
        for (seq, priority) in [3, 1, 3, 2, 1].into_iter().enumerate() {
            let sub = Subscription::hook_sync(&HOOK, priority, |_| Ok(()));
            slot = sub.insert_into(&owner, seq as u64, slot.as_ref());
        }
        let slot = slot.unwrap();
        let order: Vec<(i32, u64)> = slot
            .downcast::<HookHandler<u32>>()
            .unwrap()
            .entries
            .iter()
            .map(|e| (e.priority, e.seq))
            .collect();
        assert_eq!(order, [(1, 1), (1, 4), (2, 3), (3, 0), (3, 2)]);
    }

    #[test]
    fn insertion_refuses_another_payload() {
        const OTHER: HookRef<u64> = HookRef::new("order.created");
        let owner = Name::parse("shop").unwrap();
        let slot = Subscription::hook_sync(&HOOK, 0, |_| Ok(())).insert_into(&owner, 0, None);
        let other = Subscription::hook_sync(&OTHER, 0, |_| Ok(()));
        assert!(other.insert_into(&owner, 1, slot.as_ref()).is_none());
    }
}
