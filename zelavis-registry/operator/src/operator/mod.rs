//! [`Operator`]: the operator layer's calls — tenants, catalog, grants with the seed's ordered checks, pins,
//! deprecation, removal, kill switches, settings, health and audit — each persisted in an [`OperatorStore`] in
//! one atomic batch with its audit event, and each driving the tenant's live runtime.
//!
//! The operator store holds what operators decided (a tenant's grants and pins); a tenant's runtime is brought
//! in line with it after each call and whenever it starts ([`Operator::sync_tenant`]). A call whose write meets
//! another operator's write re-reads, re-checks and tries again, so neither update is lost.
//!
//! This module holds the operator, its builder and the row plumbing every call shares; the calls sit in one
//! file per concern: `tenants.rs`, `catalog.rs`, `grants.rs` (enable with the ordered checks, disable, pins),
//! `lifecycle.rs` (deprecate, remove, kill switch), `settings.rs`, `health.rs`, `audit.rs` and `sync.rs`
//! (bringing this host's tenant runtimes in line with the store).

use std::sync::Arc;

use zelavis_core::name::Name;
use zelavis_registry::runtime::RuntimeError;

use crate::error::OperatorError;
use crate::host::{ReleaseSource, TenantHost};
use crate::keyring::Keyring;
use crate::license::LicenseSource;
use crate::role::{Actor, Role};
use crate::rollout::Sandbox;
use crate::rows::{Stored, decode};
use crate::store::{Batch, Kind, OperatorStore, OperatorStoreError, Query, Row};
use crate::tier::TierOrder;
use crate::time::{Clock, SystemClock};

mod audit;
mod catalog;
mod grants;
mod health;
mod lifecycle;
mod settings;
mod sync;
mod tenants;

pub use grants::GrantChange;
pub use lifecycle::DeprecateRequest;
pub use sync::SyncReport;

pub(crate) use catalog::using;

/// How many times a call re-reads and retries after another operator's concurrent write.
pub const MAX_ATTEMPTS: usize = 32;

/// Configures an [`Operator`].
#[must_use]
pub struct OperatorBuilder {
    store: Arc<dyn OperatorStore>,
    licenses: Option<Arc<dyn LicenseSource>>,
    tenants: Option<Arc<dyn TenantHost>>,
    releases: Option<Arc<dyn ReleaseSource>>,
    tiers: TierOrder,
    clock: Arc<dyn Clock>,
    keyring: Keyring,
    sandbox: Option<Arc<dyn Sandbox>>,
}

impl OperatorBuilder {
    /// The keys publishers sign releases with (default: none, so every publication is `unknown_kid`).
    pub fn keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = keyring;
        self
    }

    /// Where published plugins are accepted and smoke-tested (e.g. `zelavis_operator::wasm::WasmSandbox`).
    pub fn sandbox(mut self, sandbox: impl Sandbox) -> Self {
        self.sandbox = Some(Arc::new(sandbox));
        self
    }

    /// Where tenants' licenses come from (default: none, so every enable is `license_invalid`).
    pub fn licenses(mut self, licenses: impl LicenseSource) -> Self {
        self.licenses = Some(Arc::new(licenses));
        self
    }

    /// Where tenants' runtimes run (default: none — the operator then only records decisions).
    pub fn tenants(mut self, tenants: impl TenantHost) -> Self {
        self.tenants = Some(Arc::new(tenants));
        self
    }

    /// Where releases' code comes from (needed with [`tenants`](Self::tenants)).
    pub fn releases(mut self, releases: impl ReleaseSource) -> Self {
        self.releases = Some(Arc::new(releases));
        self
    }

    /// The platform's tier order (default `starter < pro < growth < enterprise`).
    pub fn tiers(mut self, tiers: TierOrder) -> Self {
        self.tiers = tiers;
        self
    }

    /// The clock (default: the system's).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The operator.
    pub fn build(self) -> Operator {
        Operator {
            inner: Arc::new(Inner {
                store: self.store,
                licenses: self.licenses,
                tenants: self.tenants,
                releases: self.releases,
                tiers: self.tiers,
                clock: self.clock,
                keyring: self.keyring,
                sandbox: self.sandbox,
                decoded: std::sync::Mutex::default(),
                tenant_locks: std::sync::Mutex::default(),
            }),
        }
    }
}

struct Inner {
    store: Arc<dyn OperatorStore>,
    licenses: Option<Arc<dyn LicenseSource>>,
    tenants: Option<Arc<dyn TenantHost>>,
    releases: Option<Arc<dyn ReleaseSource>>,
    tiers: TierOrder,
    clock: Arc<dyn Clock>,
    keyring: Keyring,
    sandbox: Option<Arc<dyn Sandbox>>,
    decoded: std::sync::Mutex<DecodedRows>,
    tenant_locks: std::sync::Mutex<HashMap<Name, Arc<futures::lock::Mutex<()>>>>,
}

/// Decoded catalog rows by (kind, key), with the revision they were decoded at.
type DecodedRows = HashMap<Kind, HashMap<String, (u64, Arc<dyn std::any::Any + Send + Sync>)>>;

/// Maps keyed by short strings, hashed fast (not exposed to outside keys' timing: the keys are rows' keys).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// How many decoded rows an operator keeps before it starts over.
const MAX_DECODED: usize = 100_000;

/// The operator layer. Cheap to clone (shared).
///
/// ```
/// use zelavis_operator::prelude::*;
/// use zelavis_operator::store::memory::MemoryOperatorStore;
///
/// # futures::executor::block_on(async {
/// let owner = Actor::new("ops@example.com", Role::Owner);
/// let licenses = FixedLicenses::new().grant("acme", License { licensed_plugins: vec!["stripe".into()], ..License::default() });
/// let operator = Operator::builder(MemoryOperatorStore::new()).licenses(licenses).build();
///
/// let stripe = PluginDef::builder("stripe").version("2.4.0").build()?;
/// operator.register_builtin(&owner, &stripe, PluginSpec::new(CatalogSource::BuiltIn, "acme-payments")).await?;
/// operator.create_tenant(&owner, TenantSpec::new(Name::parse("acme")?, "pro", "retail")).await?;
///
/// let change = operator.enable(&owner, "acme", "stripe", None).await?;
/// assert_eq!(change.enablement.version.unwrap().to_string(), "2.4.0");
/// // The same again is a no-op.
/// assert!(!operator.enable(&owner, "acme", "stripe", None).await?.changed);
/// // A tenant that is not licensed for a plugin is refused, with the seed's code.
/// let other = PluginDef::builder("reports").version("1.0.0").build()?;
/// operator.register_builtin(&owner, &other, PluginSpec::new(CatalogSource::Premium, "acme")).await?;
/// let refused = operator.enable(&owner, "acme", "reports", None).await.unwrap_err();
/// assert_eq!((refused.code(), refused.status()), ("license_denied", 403));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Operator {
    inner: Arc<Inner>,
}

pub(crate) fn require(actor: &Actor, needs: Role, action: &'static str) -> Result<(), OperatorError> {
    if actor.role >= needs {
        Ok(())
    } else {
        Err(OperatorError::Forbidden {
            actor: actor.id.clone(),
            role: actor.role,
            action,
            needs,
        })
    }
}

pub(crate) fn is_conflict(error: &OperatorError) -> bool {
    matches!(error, OperatorError::Store(OperatorStoreError::Conflict { .. }))
}

fn contended(what: impl Into<String>) -> OperatorError {
    OperatorError::Contended { what: what.into() }
}

fn target(tenant: &str, plugin: &str) -> String {
    format!("tenant:{tenant} plugin:{plugin}")
}

fn refused(tenant: &Name, plugin: &Name, error: &RuntimeError) -> OperatorError {
    OperatorError::RuntimeRefused {
        tenant: tenant.to_string(),
        plugin: plugin.to_string(),
        reason: error.to_string(),
    }
}

impl Operator {
    /// Configures an operator over `store`.
    pub fn builder(store: impl OperatorStore) -> OperatorBuilder {
        OperatorBuilder {
            store: Arc::new(store),
            licenses: None,
            tenants: None,
            releases: None,
            tiers: TierOrder::default(),
            clock: Arc::new(SystemClock),
            keyring: Keyring::new(),
            sandbox: None,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn OperatorStore> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The tier order.
    pub fn tiers(&self) -> &TierOrder {
        &self.inner.tiers
    }

    /// The tenant host, when one is configured.
    pub fn tenant_host(&self) -> Option<&Arc<dyn TenantHost>> {
        self.inner.tenants.as_ref()
    }

    pub(crate) fn inner_keyring(&self) -> &Keyring {
        &self.inner.keyring
    }

    pub(crate) fn inner_store(&self) -> &Arc<dyn OperatorStore> {
        &self.inner.store
    }

    pub(crate) fn inner_sandbox(&self) -> Option<&Arc<dyn Sandbox>> {
        self.inner.sandbox.as_ref()
    }

    pub(crate) fn now(&self) -> crate::time::Timestamp {
        self.inner.clock.now()
    }

    fn describe(&self) -> String {
        self.inner.store.describe()
    }

    pub(crate) async fn read<T: Stored>(&self, key: &str) -> Result<Option<(T, Row)>, OperatorError> {
        match self.inner.store.get(T::KIND, key).await? {
            Some(row) => {
                let (value, _) = decode::<T>(&self.describe(), &row)?;
                Ok(Some((value, row)))
            }
            None => Ok(None),
        }
    }

    pub(crate) async fn read_all<T: Stored>(&self, query: &Query) -> Result<Vec<T>, OperatorError> {
        let store = self.describe();
        let rows = self.inner.store.query(query).await?;
        rows.iter().map(|row| Ok(decode::<T>(&store, row)?.0)).collect()
    }

    /// Rows a query selects, each decoded once per revision: a row whose revision the
    /// operator saw before is not parsed again, so listing a tenant's plugins costs about the store's read.
    pub(crate) async fn read_all_shared<T: Stored + Send + Sync + 'static>(
        &self,
        query: &Query,
    ) -> Result<Vec<Arc<T>>, OperatorError> {
        let kind = query.kind();
        let cached = |key: &str, revision: u64| -> Option<Arc<T>> {
            let cache = self
                .inner
                .decoded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (seen, value) = cache.get(&kind)?.get(key)?;
            (*seen == revision)
                .then(|| value.clone().downcast::<T>().ok())
                .flatten()
        };
        // First the keys and revisions; when most rows are known, fetch only the others one by one.
        let revisions = self.inner.store.revisions(query).await?;
        let mut out: Vec<Option<Arc<T>>> = revisions.iter().map(|(key, revision)| cached(key, *revision)).collect();
        let stale = out.iter().filter(|v| v.is_none()).count();
        if stale == 0 {
            return Ok(out.into_iter().flatten().collect());
        }
        let store = self.describe();
        let full = stale * 4 > revisions.len().max(4);
        let fresh: Vec<Row> = if full {
            self.inner.store.query(query).await?
        } else {
            let mut rows = Vec::with_capacity(stale);
            for ((key, _), slot) in revisions.iter().zip(&out) {
                if slot.is_none()
                    && let Some(row) = self.inner.store.get(kind, key).await?
                {
                    rows.push(row);
                }
            }
            rows
        };
        let mut decoded = Vec::with_capacity(fresh.len());
        for row in &fresh {
            decoded.push((row, Arc::new(decode::<T>(&store, row)?.0)));
        }
        let mut cache = self
            .inner
            .decoded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.values().map(HashMap::len).sum::<usize>() > MAX_DECODED {
            cache.clear();
        }
        let rows = cache.entry(kind).or_default();
        for (row, value) in &decoded {
            let any: Arc<dyn std::any::Any + Send + Sync> = value.clone();
            rows.insert(row.key.clone(), (row.revision, any));
        }
        if full {
            // A full read: its rows are the answer (a row may have changed since the revisions were read).
            return Ok(decoded.into_iter().map(|(_, v)| v).collect());
        }
        let mut fresh = decoded
            .into_iter()
            .map(|(row, value)| (row.key.as_str(), value))
            .collect::<HashMap<_, _>>();
        for ((key, _), slot) in revisions.iter().zip(out.iter_mut()) {
            if slot.is_none() {
                *slot = fresh.remove(key.as_str());
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Commits a batch: `Ok(false)` when another write got there first (the caller re-reads and tries again).
    pub(crate) async fn try_commit(&self, batch: Batch) -> Result<bool, OperatorError> {
        match self.commit(batch).await {
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(e),
            Ok(()) => Ok(true),
        }
    }

    pub(crate) async fn commit(&self, batch: Batch) -> Result<(), OperatorError> {
        self.inner.store.commit(batch).await?;
        Ok(())
    }
}
