//! [`ScopeLocks`]: one async lock per scope, shared by a store's clones, so the updates one host makes to a
//! scope take turns locally instead of all racing the backend's compare-and-swap. Only updates from other
//! hosts are left to contend, which keeps a contended optimistic store (key/value, Redis) near one round of
//! conflicts per write instead of one per concurrent caller.

use std::sync::{Arc, Mutex, PoisonError};

use futures::lock::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::Scope;
use crate::hash::HashMap;

/// Per-scope async locks; clones share them.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeLocks(Arc<Mutex<HashMap<Scope, Arc<AsyncMutex<()>>>>>);

/// A held scope lock.
pub(crate) struct ScopeGuard {
    _guard: OwnedMutexGuard<()>,
}

impl ScopeLocks {
    /// Waits for `scope`'s lock.
    pub(crate) async fn lock(&self, scope: &Scope) -> ScopeGuard {
        let lock = {
            let mut locks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            locks.entry(scope.clone()).or_default().clone()
        };
        ScopeGuard {
            _guard: lock.lock_owned().await,
        }
    }
}
