//! [`KvStore`]: registry state over any key/value service, through the small [`KeyValue`] trait that host
//! adapters implement (etcd, Consul, DynamoDB, Cloudflare KV, a Redis hash...). [`MemoryKeyValue`] is the
//! in-memory implementation, for tests and as a reference.
//!
//! # Keys
//!
//! With the prefix `app` (a trailing `/` is ignored; an empty prefix drops the leading `app/`):
//!
//! ```text
//! app/state/default                      the default scope's document
//! app/state/tenant:<tenant>              a tenant's document, e.g. app/state/tenant:@acme/shop
//! app/migrations/<plugin>/<id>           one ledger record per migration applied in the default scope, e.g.
//!                                        app/migrations/@acme/shop/001-orders
//! app/migrations/tenant:<t>/<plugin>/<id> the same for a tenant scope
//! ```
//!
//! Keys are the raw [`Scope::key`], plugin name and migration id, and stay unambiguous: a plugin name holds a
//! `/` only after a leading `@`. Documents are the versioned format of [`encode_document`].
//!
//! # Consistency
//!
//! A save reads the document and its key version, checks the document's revision against the one the save
//! was based on, and writes with [`KeyValue::compare_and_set`] on that key version: a writer that slipped in
//! between makes the save fail with [`StoreError::Conflict`], never overwrite. Ledger records are created with
//! `compare_and_set(key, None, ..)`, so the first writer wins: recording is atomic and idempotent. There is no
//! change feed ([`RegistryStore::watch`] returns `None`): hosts poll with `load`.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use thiserror::Error;
use zelavis_core::name::Name;

use super::local::ScopeLocks;
use super::validated::KnownDocuments;
use super::{RegistryStore, Retry, Revision, Scope, StateChange, StoreError, Stored, encode_document};
use crate::ledger::MigrationLedger;
use crate::state::RegistryState;

/// A key/value operation failed (connection lost, permission denied...): what the adapter has to say.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct KvError {
    /// What went wrong.
    pub message: String,
}

impl KvError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// What a [`KeyValue::compare_and_set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    /// The value was written; the key is now at this version.
    Written(u64),
    /// The key was not at the expected version; nothing was written. `actual` is its current version (`None`:
    /// the key does not exist).
    Mismatch {
        /// The key's current version.
        actual: Option<u64>,
    },
}

/// The key/value service a [`KvStore`] runs on: versioned values with compare-and-set.
///
/// Every value has a **version**, a number the adapter assigns on each write. Versions only have to be
/// comparable for equality, but they must never repeat for a key — not even after the key is deleted and
/// created again — or a stale compare-and-set could succeed (use a global counter, a modification revision
/// like etcd's `mod_revision`, a random 64-bit tag...).
///
/// Implement [`get`](KeyValue::get), [`compare_and_set`](KeyValue::compare_and_set) and
/// [`list`](KeyValue::list); [`describe`](KeyValue::describe) has a default. [`MemoryKeyValue`] is a complete
/// example.
#[async_trait]
pub trait KeyValue: Send + Sync {
    /// What and where the service is, for error messages (default: `key/value`).
    fn describe(&self) -> String {
        "key/value".to_owned()
    }

    /// The value of `key` and its version; `None` when the key does not exist.
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, KvError>;

    /// Writes `value` to `key` only if the key is at `expected` (`None`: only if the key does not exist).
    /// `Err` only when the service failed; a version mismatch is [`Cas::Mismatch`].
    async fn compare_and_set(&self, key: &str, expected: Option<u64>, value: &[u8]) -> Result<Cas, KvError>;

    /// Every key that starts with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, KvError>;
}

#[async_trait]
impl<K: KeyValue + ?Sized> KeyValue for Arc<K> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, KvError> {
        (**self).get(key).await
    }
    async fn compare_and_set(&self, key: &str, expected: Option<u64>, value: &[u8]) -> Result<Cas, KvError> {
        (**self).compare_and_set(key, expected, value).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        (**self).list(prefix).await
    }
}

/// An in-memory [`KeyValue`]. Clones share the same data (like two connections to one server); versions
/// come from one counter, so they never repeat.
///
/// ```
/// use zelavis_registry::store::kv::{Cas, KeyValue, MemoryKeyValue};
///
/// # futures::executor::block_on(async {
/// let kv = MemoryKeyValue::new();
/// let Cas::Written(v1) = kv.compare_and_set("k", None, b"one").await? else { panic!("k existed") };
/// // A second create loses and learns the current version.
/// assert_eq!(kv.compare_and_set("k", None, b"two").await?, Cas::Mismatch { actual: Some(v1) });
/// assert_eq!(kv.get("k").await?, Some((b"one".to_vec(), v1)));
/// # Ok::<(), zelavis_registry::store::kv::KvError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryKeyValue {
    inner: Arc<Mutex<MemoryEntries>>,
}

#[derive(Debug, Default)]
struct MemoryEntries {
    entries: BTreeMap<String, (Vec<u8>, u64)>,
    last_version: u64,
}

impl MemoryEntries {
    fn write(&mut self, key: &str, value: &[u8]) -> u64 {
        self.last_version += 1;
        self.entries.insert(key.to_owned(), (value.to_vec(), self.last_version));
        self.last_version
    }
}

impl MemoryKeyValue {
    /// An empty key/value map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` to `key` whatever is there (for tests that plant data behind a store's back); returns the
    /// new version.
    pub fn set(&self, key: &str, value: &[u8]) -> u64 {
        self.lock().write(key, value)
    }

    /// Deletes `key`; `false` when it did not exist.
    pub fn delete(&self, key: &str) -> bool {
        self.lock().entries.remove(key).is_some()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryEntries> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl KeyValue for MemoryKeyValue {
    fn describe(&self) -> String {
        "memory key/value".to_owned()
    }

    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, KvError> {
        Ok(self.lock().entries.get(key).cloned())
    }

    async fn compare_and_set(&self, key: &str, expected: Option<u64>, value: &[u8]) -> Result<Cas, KvError> {
        let mut memory = self.lock();
        let actual = memory.entries.get(key).map(|(_, version)| *version);
        if actual != expected {
            return Ok(Cas::Mismatch { actual });
        }
        Ok(Cas::Written(memory.write(key, value)))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        let memory = self.lock();
        Ok(memory
            .entries
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(prefix))
            .cloned()
            .collect())
    }
}

/// Registry state over a [`KeyValue`] service, under a key prefix; see the [module documentation](self) for
/// the keys and the consistency rules.
///
/// Clones share the service (`K`'s clone decides how: [`MemoryKeyValue`] clones share data), so a clone is
/// a second client of the same data.
///
/// ```
/// use zelavis_registry::prelude::*;
/// use zelavis_registry::store::kv::{KeyValue, KvStore, MemoryKeyValue};
///
/// # futures::executor::block_on(async {
/// let store = KvStore::new(MemoryKeyValue::new(), "app");
/// let r1 = store.save(&Scope::Default, &RegistryState::default(), Revision::NONE).await?;
/// assert!(store.kv().get("app/state/default").await?.is_some());
///
/// // Another client: a stale save is refused.
/// let other = store.clone();
/// let stale = other.save(&Scope::Default, &RegistryState::default(), Revision::NONE).await;
/// assert!(stale.is_err_and(|e| e.is_conflict()));
///
/// // The ledger: the first recording wins, per scope.
/// let shop = Name::parse("@acme/shop")?;
/// assert!(store.record(&Scope::Default, &shop, "001-orders").await?);
/// assert!(!other.record(&Scope::Default, &shop, "001-orders").await?);
/// assert_eq!(store.migration_key(&Scope::Default, &shop, "001-orders"), "app/migrations/@acme/shop/001-orders");
/// let acme = Scope::tenant("acme")?;
/// assert_eq!(store.migration_key(&acme, &shop, "001-orders"), "app/migrations/tenant:acme/@acme/shop/001-orders");
/// # let _ = r1;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct KvStore<K> {
    kv: K,
    /// The prefix with its trailing `/`, or empty.
    root: String,
    /// Per key, the document last written or decoded and its revision; shared by clones.
    known: KnownDocuments,
    /// This client's updates of a scope take turns; shared by clones.
    turns: ScopeLocks,
}

impl<K: KeyValue> KvStore<K> {
    /// A store keeping its keys under `prefix` of `kv` (a trailing `/` is ignored; empty means the top level).
    pub fn new(kv: K, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        let trimmed = prefix.trim_end_matches('/');
        let root = if trimmed.is_empty() {
            String::new()
        } else {
            format!("{trimmed}/")
        };
        Self {
            kv,
            root,
            known: KnownDocuments::default(),
            turns: ScopeLocks::default(),
        }
    }

    /// The key/value service.
    pub fn kv(&self) -> &K {
        &self.kv
    }

    /// The prefix, without a trailing `/`.
    pub fn prefix(&self) -> &str {
        self.root.strip_suffix('/').unwrap_or(&self.root)
    }

    /// The key of `scope`'s document: `<prefix>/state/<scope key>`.
    pub fn state_key(&self, scope: &Scope) -> String {
        format!("{}state/{}", self.root, scope.key())
    }

    /// The key of the ledger record of migration `id` of `plugin` in `scope`:
    /// `<prefix>/migrations/<plugin>/<id>` for the default scope, `<prefix>/migrations/tenant:<name>/<plugin>/<id>`
    /// for a tenant's (a plugin name never holds a `:`, so the two never collide).
    pub fn migration_key(&self, scope: &Scope, plugin: &Name, id: &str) -> String {
        match scope {
            Scope::Default => format!("{}migrations/{plugin}/{id}", self.root),
            Scope::Tenant(_) => format!("{}migrations/{}/{plugin}/{id}", self.root, scope.key()),
        }
    }

    /// Every scope with a stored document, sorted by key (keys under `state/` that name no scope are skipped).
    pub async fn scopes(&self) -> Result<Vec<Scope>, StoreError> {
        let prefix = format!("{}state/", self.root);
        let keys = self
            .kv
            .list(&prefix)
            .await
            .map_err(|e| self.backend(&format!("cannot list {prefix}"), &e))?;
        Ok(keys
            .iter()
            .filter_map(|key| key.strip_prefix(&prefix).and_then(|scope| scope.parse().ok()))
            .collect())
    }

    fn backend(&self, what: &str, error: &KvError) -> StoreError {
        StoreError::Backend {
            store: self.describe(),
            message: format!("{what}: {error}"),
        }
    }

    /// The revision of the document at `key`, checked, and the key's version; `None` when there is none.
    async fn current(&self, key: &str) -> Result<Option<(Revision, u64)>, StoreError> {
        match self.get(key).await? {
            None => Ok(None),
            Some((bytes, version)) => Ok(Some((self.known.revision(key, bytes, &self.describe())?, version))),
        }
    }

    /// The bytes at `key` and the key's version.
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, StoreError> {
        self.kv
            .get(key)
            .await
            .map_err(|e| self.backend(&format!("cannot read {key}"), &e))
    }
}

#[async_trait]
impl<K: KeyValue> RegistryStore for KvStore<K> {
    /// `key/value store <service> at <prefix>`.
    fn describe(&self) -> String {
        format!("key/value store {} at {:?}", self.kv.describe(), self.prefix())
    }

    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        let key = self.state_key(scope);
        match self.get(&key).await? {
            None => Ok(Stored::default()),
            Some((bytes, _)) => self.known.decode(key, bytes, &self.describe()),
        }
    }

    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        let key = self.state_key(scope);
        // A corrupt or newer-format document fails here and is never overwritten; one this store wrote or
        // decoded last is recognised by its bytes.
        let current = self.current(&key).await?;
        let conflict = |actual| StoreError::Conflict {
            store: self.describe(),
            scope: scope.key(),
            expected,
            actual,
        };
        let (actual, version) = current.map_or((Revision::NONE, None), |(revision, version)| (revision, Some(version)));
        if actual != expected {
            return Err(conflict(actual));
        }
        let revision = actual.after(u64::MAX, &self.describe(), scope)?;
        let document = encode_document(state, revision);
        let written = self
            .kv
            .compare_and_set(&key, version, &document)
            .await
            .map_err(|e| self.backend(&format!("cannot write {key}"), &e))?;
        match written {
            Cas::Written(_) => {
                self.known.remember(key, revision, document);
                Ok(revision)
            }
            // Someone wrote between our read and our write: report where the store is now.
            Cas::Mismatch { .. } => Err(conflict(self.current(&key).await?.map_or(Revision::NONE, |(r, _)| r))),
        }
    }

    /// The compare-and-swap loop under `retry`, this client's updates of the scope taking turns so that only
    /// other clients' writes can make one conflict.
    async fn update(&self, scope: &Scope, change: &StateChange<'_>, retry: &Retry) -> Result<Stored, StoreError> {
        let _turn = self.turns.lock(scope).await;
        retry.update(self, scope, change).await
    }
}

#[async_trait]
impl<K: KeyValue> MigrationLedger for KvStore<K> {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let key = self.migration_key(scope, plugin, id);
        let found = self
            .kv
            .get(&key)
            .await
            .map_err(|e| self.backend(&format!("cannot read {key}"), &e))?;
        Ok(found.is_some())
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let key = self.migration_key(scope, plugin, id);
        let record = serde_json::json!({ "scope": scope.key(), "plugin": plugin.as_str(), "id": id }).to_string();
        let created = self
            .kv
            .compare_and_set(&key, None, record.as_bytes())
            .await
            .map_err(|e| self.backend(&format!("cannot write {key}"), &e))?;
        Ok(matches!(created, Cas::Written(_)))
    }
}
