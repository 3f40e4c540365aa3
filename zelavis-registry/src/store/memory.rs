//! [`MemoryStore`]: state in memory, for tests and ephemeral hosts. It keeps encoded documents and returns
//! copies, never its internal state; clones share the same memory (like two clients of one server).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use futures::StreamExt;
use futures::channel::mpsc;
use futures::stream::BoxStream;
use zelavis_core::name::Name;

use super::{
    Change, RegistryStore, Retry, Revision, Scope, StateChange, StoreError, Stored, decode_document, encode_document,
};
use crate::ledger::MigrationLedger;
use crate::state::RegistryState;

const STORE: &str = "memory store";

/// An in-memory store. Clones share state.
///
/// ```
/// use zelavis_registry::store::{RegistryStore, Revision, Scope, memory::MemoryStore};
/// use zelavis_registry::state::RegistryState;
///
/// # futures::executor::block_on(async {
/// let store = MemoryStore::new();
/// let first = store.load(&Scope::Default).await?;
/// assert_eq!(first.revision, Revision::NONE);
/// let r1 = store.save(&Scope::Default, &RegistryState::default(), first.revision).await?;
/// // A save based on a stale revision is refused.
/// assert!(store.save(&Scope::Default, &RegistryState::default(), first.revision).await.unwrap_err().is_conflict());
/// # let _ = r1;
/// # Ok::<(), zelavis_registry::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Memory>>,
}

#[derive(Debug, Default)]
struct Memory {
    documents: HashMap<Scope, Vec<u8>>,
    ledger: HashSet<(Scope, Name, String)>,
    watchers: Vec<mpsc::UnboundedSender<Change>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the raw document of `scope` (for tests of corrupt or newer-format data).
    pub fn write_raw(&self, scope: &Scope, document: &[u8]) {
        self.lock().documents.insert(scope.clone(), document.to_vec());
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn read(memory: &Memory, scope: &Scope) -> Result<Stored, StoreError> {
    match memory.documents.get(scope) {
        None => Ok(Stored::default()),
        Some(bytes) => {
            let (state, revision) = decode_document(bytes, STORE, &scope.key())?;
            Ok(Stored { state, revision })
        }
    }
}

/// Writes `state` as the revision after `actual` and tells the watchers.
fn write(memory: &mut Memory, scope: &Scope, state: &RegistryState, actual: Revision) -> Result<Revision, StoreError> {
    let revision = actual.after(u64::MAX, STORE, scope)?;
    memory.documents.insert(scope.clone(), encode_document(state, revision));
    let change = Change {
        scope: scope.clone(),
        revision,
    };
    memory.watchers.retain(|w| w.unbounded_send(change.clone()).is_ok());
    Ok(revision)
}

#[async_trait]
impl RegistryStore for MemoryStore {
    fn describe(&self) -> String {
        STORE.to_owned()
    }

    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        read(&self.lock(), scope)
    }

    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        let mut memory = self.lock();
        let actual = read(&memory, scope)?.revision;
        if actual != expected {
            return Err(StoreError::Conflict {
                store: STORE.to_owned(),
                scope: scope.key(),
                expected,
                actual,
            });
        }
        write(&mut memory, scope, state, actual)
    }

    /// Under the store's mutex: concurrent updates queue, never conflict.
    async fn update(&self, scope: &Scope, change: &StateChange<'_>, _retry: &Retry) -> Result<Stored, StoreError> {
        let mut memory = self.lock();
        let Stored { mut state, revision } = read(&memory, scope)?;
        change(&mut state);
        let revision = write(&mut memory, scope, &state, revision)?;
        Ok(Stored { state, revision })
    }

    async fn watch(&self) -> Result<Option<BoxStream<'static, Change>>, StoreError> {
        let (sender, receiver) = mpsc::unbounded();
        self.lock().watchers.push(sender);
        Ok(Some(receiver.boxed()))
    }
}

#[async_trait]
impl MigrationLedger for MemoryStore {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .ledger
            .contains(&(scope.clone(), plugin.clone(), id.to_owned())))
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .ledger
            .insert((scope.clone(), plugin.clone(), id.to_owned())))
    }
}
