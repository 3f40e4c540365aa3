//! [`Follower`]: keeps a [`Runtime`] in step with the store it owns, so a host recomposes without restart when
//! another host installs, enables, disables or removes a plugin.
//!
//! Change notifications are hints: the follower re-reads the scope whenever it sees a newer revision, and on
//! start. Stores without `watch` are polled at the interval the host set with
//! [`RuntimeBuilder::poll_every`](crate::runtime::RuntimeBuilder::poll_every).

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use futures::future::{Either, select};
use thiserror::Error;

use crate::report::ActivationReport;
use crate::runtime::{Inner, Runtime};
use crate::store::{RegistryStore, StoreError};
use crate::timer::Timer;

/// Why following stopped, or a sync failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FollowError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runtime has no store to follow.
    #[error("the runtime has no store to follow: give it one with RuntimeBuilder::store")]
    NoStore,
    /// The store publishes no changes and no poll interval (or no timer to poll with) was set.
    #[error("{store} cannot be followed: it has no watch, and no poll interval with a timer was set")]
    CannotFollow {
        /// The store.
        store: String,
    },
    /// Every handle to the runtime was dropped.
    #[error("the runtime was dropped")]
    RuntimeDropped,
}

/// Applies the runtime's store to the runtime, now ([`sync`](Self::sync)) or continuously ([`run`](Self::run)).
///
/// ```
/// use zelavis_registry::prelude::*;
/// use zelavis_registry::store::{memory::MemoryStore, update_state};
///
/// # futures::executor::block_on(async {
/// let registry = || PluginRegistry::new([RegistryEntry::available(PluginDef::builder("shop").build().unwrap())]);
/// let store = MemoryStore::new();
/// let (here, _) = Runtime::builder(registry()?).store(store.clone(), Scope::Default).start().await?;
/// let (there, _) = Runtime::builder(registry()?).store(store.clone(), Scope::Default).start().await?;
///
/// // Another host enables "shop"...
/// there.enable("shop").await?;
/// // ...and this host picks it up.
/// let report = here.follower()?.sync().await?;
/// assert!(here.is_active("shop").await);
/// assert_eq!(report.and_then(|r| r.outcome("shop").cloned()), Some(Outcome::Activated));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct Follower {
    runtime: Weak<Inner>,
    store: Arc<dyn RegistryStore>,
    poll: Option<(Duration, Arc<dyn Timer>)>,
}

impl Runtime {
    /// A follower of the runtime's store. It holds the runtime weakly: dropping every [`Runtime`] handle stops it.
    pub fn follower(&self) -> Result<Follower, FollowError> {
        let store = self
            .inner
            .persistence
            .as_ref()
            .ok_or(FollowError::NoStore)?
            .store
            .clone();
        let poll = self.inner.poll.zip(self.inner.timer.clone());
        Ok(Follower {
            runtime: Arc::downgrade(&self.inner),
            store,
            poll,
        })
    }
}

impl Follower {
    /// Reads the scope and, when its revision is newer than the one the runtime is at, recomposes the runtime
    /// to it in one change. Plugins whose record disappeared are torn down and count as available (their code
    /// stays linked). Returns what changed, or `None` when nothing was newer.
    pub async fn sync(&self) -> Result<Option<ActivationReport>, FollowError> {
        let runtime = Runtime {
            inner: self.runtime.upgrade().ok_or(FollowError::RuntimeDropped)?,
        };
        let stored = self.store.load(&runtime.inner.scope).await?;
        let revision = stored.revision;
        let report = runtime.adopt(stored).await;
        if let Some(report) = &report {
            tracing::debug!(scope = %runtime.inner.scope, %revision, changes = report.len(), "followed store");
        }
        Ok(report)
    }

    /// Follows the store until it can no longer be followed or the runtime is dropped: syncs now, then on
    /// every change hint (and every poll interval, if set). Store errors are logged and retried at the next
    /// hint or poll. The host spawns this future on its async runtime.
    pub async fn run(self) -> FollowError {
        let mut changes = match self.store.watch().await {
            Ok(changes) => changes,
            Err(error) => return error.into(),
        };
        loop {
            match self.sync().await {
                Err(FollowError::RuntimeDropped) => return FollowError::RuntimeDropped,
                Err(error) => tracing::warn!(%error, "following the store failed; retrying on the next change"),
                Ok(_) => {}
            }
            let tick = self.poll.as_ref().map(|(every, timer)| timer.sleep(*every));
            match (changes.as_mut(), tick) {
                (Some(stream), Some(tick)) => match select(stream.next(), tick).await {
                    Either::Left((None, _)) => changes = None,
                    Either::Left((Some(_), _)) | Either::Right(((), _)) => {}
                },
                (Some(stream), None) => {
                    if stream.next().await.is_none() {
                        return FollowError::CannotFollow {
                            store: self.store.describe(),
                        };
                    }
                }
                (None, Some(tick)) => tick.await,
                (None, None) => {
                    return FollowError::CannotFollow {
                        store: self.store.describe(),
                    };
                }
            }
        }
    }
}

impl fmt::Debug for Follower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("store", &self.store.describe())
            .field("poll", &self.poll.as_ref().map(|(every, _)| every))
            .finish_non_exhaustive()
    }
}
