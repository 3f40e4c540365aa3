//! Stores: where registry state lives between restarts and between hosts.
//!
//! A [`RegistryStore`] keeps one [`RegistryState`] per [`Scope`] (the default scope and named tenant scopes
//! that never see each other's records), each with a [`Revision`]. Every save names the revision it was based
//! on and fails with [`StoreError::Conflict`] when someone else wrote in between (compare-and-swap), so two
//! hosts never silently overwrite each other. Stores that can publish changes return a stream from
//! [`RegistryStore::watch`]; a change carries only `{scope, revision}` — a hint to re-read, never the data.
//!
//! Every built-in store also keeps the migration ledger next to the state: it implements
//! [`MigrationLedger`](crate::ledger::MigrationLedger), keyed by scope, plugin and migration id.
//!
//! Backends: [`memory`], [`file`](mod@file), [`kv`] (over a small [`KeyValue`](kv::KeyValue) trait), `sqlite` (feature
//! `sqlite`, on by default), `postgres` (feature `postgres`) and `redis` (feature `redis`). The
//! [`conformance`] kit runs the same behavioural suite against any of them, and against a host adapter's own.

pub mod conformance;
mod document;
pub mod file;
pub mod kv;
mod local;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
pub mod retry;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod validated;

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zelavis_core::name::{Name, NameError};
use zelavis_core::quote::Quoted;

use crate::state::RegistryState;

pub use document::{FORMAT_VERSION, decode_document, encode_document};
pub use retry::Retry;

/// Whose state: the host's default scope, or one tenant's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The host's own state.
    Default,
    /// One tenant's state, isolated from every other scope.
    Tenant(Name),
}

impl Scope {
    /// A tenant scope.
    pub fn tenant(name: &str) -> Result<Self, NameError> {
        Name::parse(name).map(Scope::Tenant)
    }

    /// The scope as a key: `default` or `tenant:<name>`.
    pub fn key(&self) -> String {
        match self {
            Scope::Default => "default".to_owned(),
            Scope::Tenant(name) => format!("tenant:{name}"),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// A scope key that is neither `default` nor `tenant:<valid name>`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("scope key {key} is not \"default\" or \"tenant:<name>\"")]
pub struct InvalidScope {
    /// The offending key (a bounded copy).
    pub key: Quoted,
}

impl FromStr for Scope {
    type Err = InvalidScope;
    fn from_str(key: &str) -> Result<Self, Self::Err> {
        if key == "default" {
            return Ok(Scope::Default);
        }
        key.strip_prefix("tenant:")
            .and_then(|name| Name::parse(name).ok())
            .map(Scope::Tenant)
            .ok_or_else(|| InvalidScope { key: Quoted::new(key) })
    }
}

/// How many times a scope's state has been written; `Revision(0)` means never.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Revision(pub u64);

impl Revision {
    /// The revision of a scope never written.
    pub const NONE: Revision = Revision(0);

    /// The revision after this one, or `None` at [`u64::MAX`]: revisions never wrap.
    #[must_use]
    pub fn checked_next(self) -> Option<Revision> {
        self.0.checked_add(1).map(Revision)
    }

    /// The revision after this one, or [`StoreError::RevisionLimit`] naming `store` and `scope` when this one is
    /// the last a store can hold (`limit`: [`u64::MAX`], or less for a backend with a narrower integer).
    pub fn after(self, limit: u64, store: &str, scope: &Scope) -> Result<Revision, StoreError> {
        self.checked_next()
            .filter(|next| next.0 <= limit)
            .ok_or_else(|| StoreError::RevisionLimit {
                store: store.to_owned(),
                scope: scope.key(),
                revision: self,
            })
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A loaded state and the revision it is at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The state.
    pub state: RegistryState,
    /// Its revision; pass it back to [`RegistryStore::save`].
    pub revision: Revision,
}

/// A hint that a scope changed: re-read it when `revision` is newer than what you have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The scope that changed.
    pub scope: Scope,
    /// Its new revision.
    pub revision: Revision,
}

/// Why a store operation failed. Every variant names the store and, where it applies, the location.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Someone else wrote since the revision this save was based on.
    #[error("{store}: conflict in scope {scope}: save was based on {expected} but the store is at {actual}")]
    Conflict {
        /// The store.
        store: String,
        /// The scope.
        scope: String,
        /// The revision the save was based on.
        expected: Revision,
        /// The revision in the store.
        actual: Revision,
    },
    /// The stored document has a newer format than this build reads; it is left untouched.
    #[error("{store}: {location} has format {found}, newer than the {supported} this build reads; upgrade zelavis")]
    NewerFormat {
        /// The store.
        store: String,
        /// Where (a file, a key, a row).
        location: String,
        /// The format found.
        found: u64,
        /// The newest format this build reads.
        supported: u64,
    },
    /// The stored data cannot be read; it is never silently replaced.
    #[error("{store}: {location} is corrupt: {reason}")]
    Corrupt {
        /// The store.
        store: String,
        /// Where.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The scope is at the last revision the store can hold: it is never wrapped back to zero (where a stale
    /// save would be taken for a fresh one); the scope can no longer be written.
    #[error(
        "{store}: scope {scope} is at revision {revision}, the last this store can hold; it cannot be written again"
    )]
    RevisionLimit {
        /// The store.
        store: String,
        /// The scope.
        scope: String,
        /// Its revision.
        revision: Revision,
    },
    /// The backend failed (I/O, connection, query).
    #[error("{store}: {message}")]
    Backend {
        /// The store.
        store: String,
        /// What failed.
        message: String,
    },
}

impl StoreError {
    /// Whether this is a [`StoreError::Conflict`] (load, re-apply your change, save again).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

/// Persists registry state per scope with compare-and-swap revisions.
///
/// Host adapters implement [`load`](Self::load) and [`save`](Self::save); [`describe`](Self::describe),
/// [`watch`](Self::watch) and [`update`](Self::update) have defaults built from those. A store a
/// [`Runtime`](crate::runtime::Runtime) owns also implements [`MigrationLedger`](crate::ledger::MigrationLedger).
/// Run [`conformance::run`] against your implementation to check it behaves like the built-in stores.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// What and where this store is, for error messages (e.g. `sqlite .zelavis/registry.db`; default: the type's
    /// name).
    fn describe(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }

    /// The state of `scope` and its revision (an empty state at [`Revision::NONE`] when never written).
    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError>;

    /// Writes `state` to `scope` if the store is still at `expected`; returns the new revision, or
    /// [`StoreError::Conflict`] naming both revisions. A failed save leaves the previous state intact.
    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError>;

    /// A stream of change hints, for stores that can publish them (`None` otherwise: poll with `load`).
    async fn watch(&self) -> Result<Option<BoxStream<'static, Change>>, StoreError> {
        Ok(None)
    }

    /// Loads `scope`, applies `change` and saves it, again on every conflict (under `retry`: jittered backoff
    /// until a deadline), so that concurrent writers never lose each other's changes; returns what was saved.
    /// `change` may run several times, each time on the freshly loaded state. Stores that can apply it
    /// atomically (under a lock or in a transaction) override this and never conflict.
    async fn update(&self, scope: &Scope, change: &StateChange<'_>, retry: &Retry) -> Result<Stored, StoreError> {
        retry.update(self, scope, change).await
    }
}

/// A change to a state, as [`RegistryStore::update`] applies it (possibly several times, each time to the freshly
/// loaded state).
pub type StateChange<'a> = dyn for<'s> Fn(&'s mut RegistryState) + Send + Sync + 'a;

/// Loads `scope`, applies `change` and saves, retrying on conflict (someone else wrote in between) with a fresh
/// load each time, under [`Retry::default`], so concurrent writers never lose each other's changes. Returns what
/// was saved.
///
/// ```
/// use zelavis_registry::prelude::*;
/// use zelavis_registry::store::{memory::MemoryStore, update_state};
///
/// # futures::executor::block_on(async {
/// let store = MemoryStore::new();
/// let saved = update_state(&store, &Scope::Default, |state| {
///     state.upsert(InstallRecord::new(Name::parse("shop").unwrap(), Status::Installed));
/// }).await?;
/// assert_eq!(saved.revision, Revision(1));
/// # Ok::<(), StoreError>(())
/// # }).unwrap();
/// ```
pub async fn update_state<S, F>(store: &S, scope: &Scope, change: F) -> Result<Stored, StoreError>
where
    S: RegistryStore + ?Sized,
    F: Fn(&mut RegistryState) + Send + Sync,
{
    store.update(scope, &change, &Retry::default()).await
}

#[async_trait]
impl<S: RegistryStore + ?Sized> RegistryStore for std::sync::Arc<S> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        (**self).load(scope).await
    }
    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        (**self).save(scope, state, expected).await
    }
    async fn watch(&self) -> Result<Option<BoxStream<'static, Change>>, StoreError> {
        (**self).watch().await
    }
    async fn update(&self, scope: &Scope, change: &StateChange<'_>, retry: &Retry) -> Result<Stored, StoreError> {
        (**self).update(scope, change, retry).await
    }
}
