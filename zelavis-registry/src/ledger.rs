//! [`MigrationLedger`]: which migrations have run, so each runs once per `(plugin, id)`.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use thiserror::Error;
use zelavis_core::name::Name;

/// A ledger could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("migration ledger {ledger}: {message}")]
pub struct LedgerError {
    /// Which ledger (a store name and location).
    pub ledger: String,
    /// What went wrong.
    pub message: String,
}

/// Records applied migrations. Stores persist it; [`MemoryLedger`] keeps it in memory.
#[async_trait]
pub trait MigrationLedger: Send + Sync {
    /// Whether `(plugin, id)` has been applied.
    async fn is_applied(&self, plugin: &Name, id: &str) -> Result<bool, LedgerError>;

    /// Records `(plugin, id)` as applied; returns `false` when it already was (recording is idempotent).
    async fn record(&self, plugin: &Name, id: &str) -> Result<bool, LedgerError>;
}

/// An in-memory ledger, for tests and ephemeral hosts.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    applied: Mutex<HashSet<(Name, String)>>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every applied `(plugin, id)`, sorted.
    pub fn entries(&self) -> Vec<(Name, String)> {
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
    async fn is_applied(&self, plugin: &Name, id: &str) -> Result<bool, LedgerError> {
        let applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(applied.contains(&(plugin.clone(), id.to_owned())))
    }

    async fn record(&self, plugin: &Name, id: &str) -> Result<bool, LedgerError> {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(applied.insert((plugin.clone(), id.to_owned())))
    }
}
