//! [`Retry`]: how a read-change-write is repeated when another writer got there first — jittered exponential
//! backoff until a deadline, not a fixed number of attempts.
//!
//! Stores that can apply a change atomically (the file store under its lock, SQLite and PostgreSQL in one
//! transaction, the memory store under its mutex) never need it; the others (key/value, Redis, host
//! adapters' stores) repeat `load` → change → compare-and-swap `save` until the save lands or the deadline
//! passes. Waiting needs the host's [`Timer`]: without one (and outside tokio with the `tokio` feature) a
//! retry only yields to the executor before the next attempt.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{RegistryStore, Scope, StateChange, StoreError, Stored};
use crate::timer::Timer;

/// How long [`Retry::default`] keeps trying.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// The policy of a contended update: first delay, ceiling, deadline and the timer to wait with.
///
/// ```
/// use std::time::Duration;
/// use zelavis_registry::store::retry::Retry;
///
/// let retry = Retry::default().deadline(Duration::from_secs(5)).delays(Duration::from_micros(500), Duration::from_millis(50));
/// assert_eq!(retry.deadline_after(), Duration::from_secs(5));
/// ```
#[derive(Clone)]
pub struct Retry {
    deadline: Duration,
    first: Duration,
    ceiling: Duration,
    timer: Option<Arc<dyn Timer>>,
}

impl Default for Retry {
    /// A 60 s deadline, delays from 1 ms doubling up to 100 ms, each a random fraction of its bound; with the
    /// `tokio` feature inside a tokio runtime, tokio's timer.
    fn default() -> Self {
        Self {
            deadline: DEFAULT_DEADLINE,
            first: Duration::from_millis(1),
            ceiling: Duration::from_millis(100),
            timer: ambient_timer(),
        }
    }
}

#[cfg(feature = "tokio")]
fn ambient_timer() -> Option<Arc<dyn Timer>> {
    tokio::runtime::Handle::try_current()
        .ok()
        .map(|_| Arc::new(crate::timer::TokioTimer) as Arc<dyn Timer>)
}

#[cfg(not(feature = "tokio"))]
fn ambient_timer() -> Option<Arc<dyn Timer>> {
    None
}

impl fmt::Debug for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("deadline", &self.deadline)
            .field("first", &self.first)
            .field("ceiling", &self.ceiling)
            .field("timer", &self.timer.is_some())
            .finish()
    }
}

impl Retry {
    /// Gives up once `after` has passed since the first attempt (the last conflict is the error).
    #[must_use]
    pub fn deadline(mut self, after: Duration) -> Self {
        self.deadline = after;
        self
    }

    /// The first delay's bound, doubled after each conflict up to `ceiling`.
    #[must_use]
    pub fn delays(mut self, first: Duration, ceiling: Duration) -> Self {
        self.first = first;
        self.ceiling = ceiling.max(first);
        self
    }

    /// Waits with `timer`.
    #[must_use]
    pub fn timer(mut self, timer: Arc<dyn Timer>) -> Self {
        self.timer = Some(timer);
        self
    }

    /// The deadline, from the first attempt.
    pub fn deadline_after(&self) -> Duration {
        self.deadline
    }

    /// Runs `attempt` until it succeeds, fails with something else than a conflict, or the deadline passes.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, StoreError>> + Send,
    {
        let started = Instant::now();
        let mut bound = self.first;
        let mut tries: u64 = 0;
        loop {
            tries += 1;
            match attempt().await {
                Err(conflict) if conflict.is_conflict() => {
                    if started.elapsed() >= self.deadline {
                        tracing::warn!(tries, after = ?started.elapsed(), %conflict, "update gave up at its deadline");
                        return Err(conflict);
                    }
                    let delay = jitter(bound, tries);
                    match &self.timer {
                        Some(timer) => timer.sleep(delay).await,
                        None => YieldNow(false).await,
                    }
                    bound = (bound * 2).min(self.ceiling);
                }
                other => return other,
            }
        }
    }

    /// Loads `scope` of `store`, applies `change` and saves with compare-and-swap, under this policy: what
    /// [`RegistryStore::update`] does unless the store applies changes atomically itself.
    pub async fn update<S: RegistryStore + ?Sized>(
        &self,
        store: &S,
        scope: &Scope,
        change: &StateChange<'_>,
    ) -> Result<Stored, StoreError> {
        self.run(|| async {
            let mut stored = store.load(scope).await?;
            change(&mut stored.state);
            let revision = store.save(scope, &stored.state, stored.revision).await?;
            Ok(Stored {
                state: stored.state,
                revision,
            })
        })
        .await
    }
}

/// A random delay in `[bound / 2, bound]` ("equal jitter"), so writers that collided spread out.
fn jitter(bound: Duration, salt: u64) -> Duration {
    use std::hash::BuildHasher;
    let random = foldhash::fast::RandomState::default().hash_one((salt, Instant::now()));
    let half = bound / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_nanos(random % nanos)
}

/// Yields once to the executor, so other tasks run before the next attempt.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_bound() {
        for salt in 0..1000 {
            let delay = jitter(Duration::from_millis(8), salt);
            assert!(
                delay >= Duration::from_millis(4) && delay <= Duration::from_millis(8),
                "{delay:?}"
            );
        }
    }
}
