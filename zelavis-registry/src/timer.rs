//! [`Timer`]: how the runtime waits — for a setup timeout, between polls of a store, before retrying a
//! contended write. The library has no async runtime of its own; a host hands it one timer.
//!
//! With the `tokio` feature, [`TokioTimer`] is that timer. Any other runtime needs three lines:
//!
//! ```
//! use std::time::Duration;
//! use futures::future::BoxFuture;
//! use zelavis_registry::timer::Timer;
//!
//! /// A timer that parks a thread: fine for an example, wrong for a server.
//! struct ThreadTimer;
//!
//! impl Timer for ThreadTimer {
//!     fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
//!         Box::pin(async move { std::thread::sleep(duration) })
//!     }
//! }
//! # futures::executor::block_on(ThreadTimer.sleep(Duration::from_millis(1)));
//! ```

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

/// Sleeps on the host's async runtime.
pub trait Timer: Send + Sync + 'static {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

impl<T: Timer + ?Sized> Timer for Arc<T> {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        (**self).sleep(duration)
    }
}

/// Tokio's timer (feature `tokio`): `tokio::time::sleep`, so it needs a tokio runtime with time enabled.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

#[cfg(feature = "tokio")]
impl Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}
