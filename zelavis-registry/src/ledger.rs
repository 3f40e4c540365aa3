//! [`MigrationLedger`]: which migrations have run, so each runs once per `(scope, plugin, id)`.
//!
//! Tenants sharing one store each get their own scope, so a plugin's migration runs once for every tenant that
//! enables it. A migration is never rolled back: disabling or uninstalling a plugin keeps its ledger rows, and
//! enabling it again does not run them again. Every built-in store implements the ledger next to the state it
//! keeps; [`MemoryLedger`] is the in-process one a runtime without a store uses.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use zelavis_core::name::Name;

use crate::store::{Scope, StoreError};

/// Records applied migrations, per scope. Stores implement it; [`MemoryLedger`] keeps it in memory.
///
/// ```
/// use zelavis_registry::ledger::{MemoryLedger, MigrationLedger};
/// use zelavis_registry::store::Scope;
/// use zelavis_core::name::Name;
///
/// # futures::executor::block_on(async {
/// let ledger = MemoryLedger::new();
/// let shop = Name::parse("shop")?;
/// let acme = Scope::tenant("acme")?;
/// assert!(ledger.record(&acme, &shop, "001-orders").await?);
/// assert!(!ledger.record(&acme, &shop, "001-orders").await?, "recorded once");
/// assert!(!ledger.is_applied(&Scope::Default, &shop, "001-orders").await?, "each scope has its own");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait MigrationLedger: Send + Sync {
    /// Whether migration `id` of `plugin` has been applied in `scope`.
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError>;

    /// Records migration `id` of `plugin` as applied in `scope`; `false` when it already was. Idempotent and
    /// atomic: a migration is never recorded twice or lost.
    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError>;
}

/// An in-memory ledger, for tests and runtimes without a store.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    applied: Mutex<HashSet<(Scope, Name, String)>>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every applied `(scope, plugin, id)`, sorted.
    pub fn entries(&self) -> Vec<(Scope, Name, String)> {
        let mut out: Vec<_> = self
            .applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        out.sort();
        out
    }
}

#[async_trait]
impl MigrationLedger for MemoryLedger {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(applied.contains(&(scope.clone(), plugin.clone(), id.to_owned())))
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(applied.insert((scope.clone(), plugin.clone(), id.to_owned())))
    }
}

#[async_trait]
impl<L: MigrationLedger + ?Sized> MigrationLedger for Arc<L> {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        (**self).is_applied(scope, plugin, id).await
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        (**self).record(scope, plugin, id).await
    }
}
