//! The event bus: hooks and filters, owned by plugins.
//!
//! - A **hook** announces that something happened. Its handlers (async or sync) run in priority order;
//!   [`Bus::emit`] returns an [`EmitSummary`].
//! - A **filter** lets plugins transform a value. Its filters run in priority order, each getting the
//!   previous one's result; [`Bus::apply`] returns the value as [`Filtered`].
//!
//! Both are addressed by typed handles published as constants ([`HookRef`], [`FilterRef`]) whose names
//! follow the [name grammar](#name-grammar). Lower priorities run first; equal priorities run in installation order.
//!
//! **Failure isolation.** A handler or filter that returns a [`HandlerError`] or panics is recorded as a
//! [`HandlerFailure`] (in the summary and, if set, in the [failure sink](Bus::set_failure_sink)) and the
//! others still run; a failed filter passes its input on unchanged. (Panics are caught with
//! `catch_unwind`: the panic hook still prints them, and a binary built with `panic = "abort"` still aborts.)
//!
//! **Ownership.** Every subscription belongs to a plugin. A plugin's setup builds [`Subscription`]s as plain
//! values; the host [installs](Bus::install) them for the plugin, all or none, only if setup succeeded, and
//! [removes](Bus::remove_owner) them all at once when the plugin is disabled.
//!
//! **Concurrency.** Dispatch reads an immutable snapshot and never waits for writers; each install or
//! removal swaps in a new snapshot whole, so a dispatch sees all or none of it. The bus is runtime-agnostic.
//!
//! # Name grammar
//!
//! ```text
//! name    = segment *( "." segment )
//! segment = 1*( "a".."z" | "0".."9" | "-" | "_" )
//! ```
//!
//! Valid: `order.created`, `price.total`, `cart.line_item.added`, `v2`. Invalid: `""`, `Order.Created`,
//! `order..created`, `.order`, `order created`. Handles are constants, so the grammar is checked when a
//! subscription is installed: [`BusError::InvalidName`].
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use zelavis_core::bus::{Bus, FilterRef, HookRef, Subscription};
//! use zelavis_core::name::Name;
//!
//! /// Emitted after an order is stored.
//! pub struct OrderCreated { pub id: u64, pub cents: u64 }
//! pub const ORDER_CREATED: HookRef<OrderCreated> = HookRef::new("order.created");
//! /// An order total, in cents.
//! pub const PRICE: FilterRef<u64> = FilterRef::new("price.total");
//!
//! // A plugin's setup returns its subscriptions...
//! let subscriptions = vec![
//!     Subscription::filter(&PRICE, 0, |cents| Ok(cents - cents / 10)),
//!     Subscription::hook(&ORDER_CREATED, 0, |order: Arc<OrderCreated>| async move {
//!         println!("order {} for {} cents", order.id, order.cents);
//!         Ok(())
//!     }),
//! ];
//! // ...and the host installs them for it.
//! let bus = Bus::new();
//! bus.install(&Name::parse("discounts")?, subscriptions)?;
//!
//! let cents = bus.apply(&PRICE, 2_000).value;
//! let summary = futures::executor::block_on(bus.emit(&ORDER_CREATED, OrderCreated { id: 1, cents }));
//! assert_eq!((cents, summary.ran, summary.is_ok()), (1_800, 1, true));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

#[expect(
    clippy::module_inception,
    reason = "`bus::bus` holds the `Bus` type, as `bus::hook` holds hooks"
)]
mod bus;
mod cache;
mod error;
mod filter;
mod handle;
mod hook;
mod snapshot;
mod subscription;

pub use bus::Bus;
pub use error::{BusError, HandlerError, HandlerFailure, TypeMismatch};
pub use filter::Filtered;
pub use handle::{FilterRef, HookRef, check_name};
pub use hook::EmitSummary;
pub use subscription::{Subscription, SubscriptionCounts, SubscriptionInfo, SubscriptionKind};

/// Receives every handler and filter failure, e.g. to feed plugin health; see [`Bus::set_failure_sink`].
pub type FailureSink = Arc<dyn Fn(&HandlerFailure) + Send + Sync>;
