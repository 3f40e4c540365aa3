//! [`Follower`]: keeps a [`Runtime`] in step with a shared store, so a host recomposes without restart when
//! another host installs, enables, disables or removes a plugin.
//!
//! Change notifications are hints: the follower re-reads the scope whenever it sees a newer revision, and on
//! start. Stores without `watch` are polled at the interval the host sets.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::{BoxFuture, Either, select};
use thiserror::Error;
use zelavis_core::name::Name;

use crate::registry::Status;
use crate::runtime::{Runtime, RuntimeError, StateApplied};
use crate::state::StateRecord;
use crate::store::{RegistryStore, Revision, Scope, StoreError};

type SleepFn = dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync;

/// Why following stopped or a sync failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FollowError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runtime refused the change.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The store publishes no changes and no poll interval was set.
    #[error("{store} cannot be followed: it has no watch and no poll interval was set")]
    CannotFollow {
        /// The store.
        store: String,
    },
}

/// Applies a store's state to a runtime, now ([`sync`](Self::sync)) or continuously ([`run`](Self::run)).
///
/// ```
/// use zelavis_registry::prelude::*;
/// use zelavis_registry::store::{memory::MemoryStore, update_state};
///
/// # futures::executor::block_on(async {
/// let shop = PluginDef::builder("shop").build()?;
/// let registry = PluginRegistry::new([RegistryEntry::available(shop)])?;
/// let (runtime, _) = Runtime::builder(registry).start().await;
/// let store = MemoryStore::new();
/// let mut follower = runtime.follower(store.clone(), Scope::Default);
///
/// // Another host installs "shop" in the shared store...
/// update_state(&store, &Scope::Default, |state| {
///     state.upsert(StateRecord::new(Name::parse("shop").unwrap(), Status::Installed));
/// }).await?;
/// // ...and this host picks it up.
/// follower.sync().await?;
/// assert!(runtime.is_active("shop").await);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct Follower<S> {
    runtime: Runtime,
    store: S,
    scope: Scope,
    revision: Revision,
    listed: HashSet<Name>,
    poll: Option<(Duration, Arc<SleepFn>)>,
}

impl Runtime {
    /// A follower applying `scope` of `store` to this runtime.
    pub fn follower<S: RegistryStore>(&self, store: S, scope: Scope) -> Follower<S> {
        Follower {
            runtime: self.clone(),
            store,
            scope,
            revision: Revision::NONE,
            listed: HashSet::new(),
            poll: None,
        }
    }
}

impl<S: RegistryStore> Follower<S> {
    /// Also re-reads every `every` (required for stores without `watch`; a safety net for the others, since
    /// notifications can be lost). `sleep` is the host runtime's timer, e.g. `|d| Box::pin(tokio::time::sleep(d))`.
    #[must_use]
    pub fn poll_every<F>(mut self, every: Duration, sleep: F) -> Self
    where
        F: Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    {
        self.poll = Some((every, Arc::new(sleep)));
        self
    }

    /// The revision last applied.
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// Reads the scope and, when its revision is newer than the one last applied, recomposes the runtime.
    /// Plugins that disappeared from the state since the last sync are torn down and marked available here
    /// (their code stays linked). Returns what changed, or `None` when nothing was newer.
    pub async fn sync(&mut self) -> Result<Option<StateApplied>, FollowError> {
        let stored = self.store.load(&self.scope).await?;
        if stored.revision <= self.revision && self.revision != Revision::NONE {
            return Ok(None);
        }
        let mut state = stored.state;
        let now: HashSet<Name> = state.records.iter().map(|r| r.name.clone()).collect();
        // Plugins gone from the state since the last sync: not in `now`, so appending cannot duplicate a record.
        let vanished = self.listed.difference(&now).cloned();
        state
            .records
            .extend(vanished.map(|name| StateRecord::new(name, Status::Available)));
        let applied = self.runtime.apply_state(&state).await?;
        self.listed = now;
        self.revision = stored.revision;
        tracing::debug!(scope = %self.scope, revision = %self.revision, changes = applied.report.plugins.len(), "followed store");
        Ok(Some(applied))
    }

    /// Follows the store until it can no longer be followed: syncs now, then on every change hint (and every
    /// poll interval, if set). Store errors are logged and retried at the next hint or poll. The host spawns
    /// this future on its runtime and drops it to stop.
    pub async fn run(mut self) -> FollowError {
        let mut changes = match self.store.watch().await {
            Ok(changes) => changes,
            Err(error) => return error.into(),
        };
        loop {
            if let Err(error) = self.sync().await {
                tracing::warn!(%error, "following the store failed; retrying on the next change");
            }
            let tick = self.poll.as_ref().map(|(every, sleep)| sleep(*every));
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

impl<S: RegistryStore> fmt::Debug for Follower<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("store", &self.store.describe())
            .field("scope", &self.scope)
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}
