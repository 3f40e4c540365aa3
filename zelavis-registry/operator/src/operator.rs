//! [`Operator`]: the operator layer's calls — tenants, catalog, grants with the seed's ordered checks, pins,
//! deprecation, removal, kill switches, settings, health and audit — each persisted in an [`OperatorStore`] in
//! one atomic batch with its audit event, and each driving the tenant's live runtime.
//!
//! The operator store holds what operators decided (a tenant's grants and pins); a tenant's runtime is brought
//! in line with it after each call and whenever it starts ([`Operator::sync_tenant`]). A call whose write meets
//! another operator's write re-reads, re-checks and tries again, so neither update is lost.

use std::sync::Arc;

use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;
use zelavis_plugin::manifest::PluginManifest;
use zelavis_plugin::settings::{REDACTED, SettingKind, effective_settings, validate_settings};
use zelavis_registry::registry::RegistryEntry;
use zelavis_registry::report::{ActivationReport, Outcome};
use zelavis_registry::runtime::{Cascade, Runtime, RuntimeError};

use crate::audit::{self, AuditEntry, AuditError, AuditEvent, AuditVerified};
use crate::catalog::{
    CatalogRow, Deprecation, KillSwitch, PluginRecord, PluginSpec, Release, default_latest, highest_published,
};
use crate::enablement::{Banner, Enablement, TenantPlugin};
use crate::error::OperatorError;
use crate::health::{HealthRecord, PluginHealthSummary, summarize};
use crate::host::{ReleaseSource, TenantHost};
use crate::keyring::Keyring;
use crate::license::{License, LicenseSource};
use crate::role::{Actor, Role};
use crate::rollout::Sandbox;
use crate::rows::{SettingsRow, Stored, decode};
use crate::store::{Batch, Expected, Kind, OperatorStore, OperatorStoreError, Query, Row};
use crate::tenant::{Tenant, TenantSpec};
use crate::tier::TierOrder;
use crate::time::{Clock, SystemClock};

/// How many times a call re-reads and retries after another operator's concurrent write.
pub const MAX_ATTEMPTS: usize = 32;

/// The result of a grant call (enable, disable, pin, clear pin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantChange {
    /// The grant after the call.
    pub enablement: Enablement,
    /// Whether anything changed (false: the call asked for what already was).
    pub changed: bool,
    /// What the tenant's runtime did, when this host runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ActivationReport>,
}

/// A deprecation request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeprecateRequest {
    /// What tenants are told.
    pub message: String,
    /// The plugin to move to.
    #[serde(default)]
    pub replacement: Option<Name>,
    /// Refuse new enables from now on.
    #[serde(default)]
    pub disallow_new_enable: bool,
}

/// What a tenant's sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Plugins installed or moved to another version.
    pub applied: Vec<(Name, Version)>,
    /// Plugins taken down (disabled, killed or removed).
    pub withdrawn: Vec<Name>,
    /// Plugins whose code could not be loaded, and why.
    pub failed: Vec<(Name, String)>,
}

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

    // ----- tenants -------------------------------------------------------------------------------------------

    /// Creates a tenant. Its tier must be one of the tier order's.
    pub async fn create_tenant(&self, actor: &Actor, spec: TenantSpec) -> Result<Tenant, OperatorError> {
        require(actor, Role::Operator, "create a tenant")?;
        self.inner.tiers.rank(&spec.tier)?;
        let now = self.now();
        let tenant = Tenant {
            id: spec.id,
            tier: spec.tier,
            niche: spec.niche,
            canary: spec.canary,
            license: spec.license,
            created_at: now,
            updated_at: now,
        };
        let entry = AuditEntry::new(now, &actor.id, "tenant.create", format!("tenant:{}", tenant.id))
            .after(public_tenant(&tenant));
        match self
            .commit(Batch::new().write(tenant.write(Expected::Absent)).audit(entry))
            .await
        {
            Err(e) if is_conflict(&e) => Err(OperatorError::AlreadyExists {
                what: "tenant",
                id: tenant.id.to_string(),
            }),
            Err(e) => Err(e),
            Ok(()) => Ok(tenant),
        }
    }

    /// Changes a tenant's tier, niche, canary flag or license.
    pub async fn update_tenant(&self, actor: &Actor, spec: TenantSpec) -> Result<Tenant, OperatorError> {
        require(actor, Role::Operator, "change a tenant")?;
        self.inner.tiers.rank(&spec.tier)?;
        for _ in 0..MAX_ATTEMPTS {
            let (before, row) = self.tenant_row(spec.id.as_str()).await?;
            let after = Tenant {
                tier: spec.tier.clone(),
                niche: spec.niche.clone(),
                canary: spec.canary,
                license: spec.license.clone(),
                updated_at: self.now(),
                ..before.clone()
            };
            let entry = AuditEntry::new(self.now(), &actor.id, "tenant.update", format!("tenant:{}", after.id))
                .before(public_tenant(&before))
                .after(public_tenant(&after));
            if !self
                .try_commit(Batch::new().write(after.write(Expected::of(Some(&row)))).audit(entry))
                .await?
            {
                continue;
            }
            return Ok(after);
        }
        Err(contended(format!("tenant {:?}", spec.id.as_str())))
    }

    pub(crate) async fn tenant_row(&self, id: &str) -> Result<(Tenant, Row), OperatorError> {
        self.read::<Tenant>(id)
            .await?
            .ok_or_else(|| OperatorError::UnknownTenant {
                tenant: crate::error::clip(id),
            })
    }

    /// One tenant.
    pub async fn tenant(&self, actor: &Actor, id: &str) -> Result<Tenant, OperatorError> {
        require(actor, Role::Viewer, "read a tenant")?;
        Ok(self.tenant_row(id).await?.0)
    }

    /// Every tenant, by id.
    pub async fn tenants(&self, actor: &Actor) -> Result<Vec<Tenant>, OperatorError> {
        require(actor, Role::Viewer, "list tenants")?;
        self.read_all(&Query::All(Kind::Tenant)).await
    }

    /// The tenant's valid license.
    pub async fn license(&self, tenant: &Tenant) -> Result<License, OperatorError> {
        match &self.inner.licenses {
            Some(source) => source.license(tenant).await,
            None => Err(OperatorError::LicenseInvalid {
                tenant: tenant.id.to_string(),
                reason: "this host has no license source".to_owned(),
            }),
        }
    }

    // ----- catalog -------------------------------------------------------------------------------------------

    /// Registers a plugin in the catalog (no release yet).
    pub async fn register_plugin(
        &self,
        actor: &Actor,
        id: Name,
        spec: PluginSpec,
    ) -> Result<PluginRecord, OperatorError> {
        require(actor, Role::Operator, "register a plugin")?;
        if let Some(tier) = &spec.tier_minimum {
            self.inner.tiers.rank(tier)?;
        }
        let now = self.now();
        let record = PluginRecord {
            title: if spec.title.is_empty() {
                id.to_string()
            } else {
                spec.title
            },
            id,
            source: spec.source,
            tier_minimum: spec.tier_minimum,
            niches: spec.niches,
            default_in_packages: spec.default_in_packages,
            publisher: spec.publisher,
            signed_with_kid: None,
            deprecated: None,
            killed: None,
            removed_at: None,
            registered_at: now,
            updated_at: now,
        };
        let entry = AuditEntry::new(now, &actor.id, "plugin.register", format!("plugin:{}", record.id)).after(&record);
        match self
            .commit(Batch::new().write(record.write(Expected::Absent)).audit(entry))
            .await
        {
            Err(e) if is_conflict(&e) => Err(OperatorError::AlreadyExists {
                what: "plugin",
                id: record.id.to_string(),
            }),
            Err(e) => Err(e),
            Ok(()) => Ok(record),
        }
    }

    /// Adds a release of a registered plugin. Its version must not exist (tombstones included) and, unless
    /// `backport`, must be higher than every version published so far.
    pub async fn add_release(&self, actor: &Actor, release: Release, backport: bool) -> Result<Release, OperatorError> {
        require(actor, Role::Operator, "add a release")?;
        let (mut record, record_row) = self.plugin_row(release.plugin.as_str()).await?;
        let releases = self.releases(release.plugin.as_str()).await?;
        Self::check_new_version(&release.plugin, &release.version, &releases, backport)?;
        let now = self.now();
        let mut batch = Batch::new().write(release.write(Expected::Absent));
        if release.kid.is_some() && release.kid != record.signed_with_kid {
            record.signed_with_kid.clone_from(&release.kid);
            record.updated_at = now;
            batch = batch.write(record.write(Expected::of(Some(&record_row))));
        }
        let entry = AuditEntry::new(now, &actor.id, "release.add", format!("plugin:{}@{}", release.plugin, release.version))
            .after(serde_json::json!({"version": release.version, "staged": release.staged, "kid": release.kid, "bundle_sha256": release.bundle_sha256}));
        match self.commit(batch.audit(entry)).await {
            Err(e) if is_conflict(&e) => Err(OperatorError::VersionExists {
                plugin: release.plugin.to_string(),
                version: release.version,
            }),
            Err(e) => Err(e),
            Ok(()) => Ok(release),
        }
    }

    /// Refuses a version that exists or is below the published latest without `backport`.
    pub(crate) fn check_new_version(
        plugin: &Name,
        version: &Version,
        releases: &[Release],
        backport: bool,
    ) -> Result<(), OperatorError> {
        if releases.iter().any(|r| &r.version == version) {
            return Err(OperatorError::VersionExists {
                plugin: plugin.to_string(),
                version: version.clone(),
            });
        }
        if let Some(highest) = highest_published(releases)
            && version < highest
            && !backport
        {
            return Err(OperatorError::Conflict {
                what: format!(
                    "version {version} of {plugin:?} is lower than the published {highest}; publish it as a backport to allow that"
                ),
            });
        }
        Ok(())
    }

    /// Registers a compiled-in plugin and its version, idempotently: a host calls this at every start. The same
    /// version with another manifest is refused ([`OperatorError::VersionExists`]).
    pub async fn register_builtin(
        &self,
        actor: &Actor,
        def: &PluginDef,
        spec: PluginSpec,
    ) -> Result<(), OperatorError> {
        require(actor, Role::Operator, "register a plugin")?;
        if self.read::<PluginRecord>(def.name().as_str()).await?.is_none() {
            match self.register_plugin(actor, def.name().clone(), spec).await {
                Ok(_) | Err(OperatorError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let key = format!("{}@{}", def.name(), def.version());
        if let Some((existing, _)) = self.read::<Release>(&key).await? {
            return if existing.manifest == *def.manifest() {
                Ok(())
            } else {
                Err(OperatorError::VersionExists {
                    plugin: def.name().to_string(),
                    version: def.version().clone(),
                })
            };
        }
        let (record, _) = self.plugin_row(def.name().as_str()).await?;
        let release = Release {
            plugin: def.name().clone(),
            version: def.version().clone(),
            manifest: def.manifest().clone(),
            publisher: record.publisher,
            kid: None,
            bundle_sha256: None,
            staged: false,
            deprecated: false,
            removed: false,
            published_at: self.now(),
        };
        // Compiled-in releases come with the host: an older one is not a downgrade attack.
        match self.add_release(actor, release, true).await {
            Ok(_) | Err(OperatorError::VersionExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn plugin_row(&self, id: &str) -> Result<(PluginRecord, Row), OperatorError> {
        match self.read::<PluginRecord>(id).await? {
            Some((record, row)) if record.removed_at.is_none() => Ok((record, row)),
            _ => Err(OperatorError::UnknownPlugin {
                plugin: crate::error::clip(id),
            }),
        }
    }

    /// Every release of a plugin (tombstones included), by version.
    pub async fn releases(&self, plugin: &str) -> Result<Vec<Release>, OperatorError> {
        let mut releases: Vec<Release> = self
            .read_all(&Query::Plugin {
                kind: Kind::Release,
                plugin: plugin.to_owned(),
                flagged: false,
            })
            .await?;
        releases.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(releases)
    }

    /// How many tenants have a plugin enabled (through the store's index).
    pub async fn tenants_using(&self, plugin: &str) -> Result<u64, OperatorError> {
        Ok(self.inner.store.count(&using(plugin)).await?)
    }

    /// The catalog table: every plugin that is not removed, by id.
    pub async fn catalog(&self, actor: &Actor) -> Result<Vec<CatalogRow>, OperatorError> {
        require(actor, Role::Viewer, "read the catalog")?;
        let live = self.live_catalog().await?;
        let mut rows = Vec::with_capacity(live.len());
        for (record, releases) in &live {
            let using = self.tenants_using(record.id.as_str()).await?;
            rows.push(CatalogRow::new(record, releases.iter().map(|r| &**r), using));
        }
        Ok(rows)
    }

    /// Every plugin that is not removed, by id, with its releases: the catalog rows and the release rows read
    /// revision-first (only what changed since this operator last read it is parsed), grouped in one pass.
    async fn live_catalog(&self) -> Result<Vec<(Arc<PluginRecord>, Vec<Arc<Release>>)>, OperatorError> {
        let records: Vec<Arc<PluginRecord>> = self.read_all_shared(&Query::All(Kind::Plugin)).await?;
        let releases: Vec<Arc<Release>> = self.read_all_shared(&Query::All(Kind::Release)).await?;
        let mut by_plugin: HashMap<Name, Vec<Arc<Release>>> = HashMap::default();
        for release in releases {
            by_plugin.entry(release.plugin.clone()).or_default().push(release);
        }
        Ok(records
            .into_iter()
            .filter(|r| r.removed_at.is_none())
            .map(|record| {
                let releases = by_plugin.remove(&record.id).unwrap_or_default();
                (record, releases)
            })
            .collect())
    }

    /// One catalog row.
    pub async fn catalog_row(&self, actor: &Actor, plugin: &str) -> Result<CatalogRow, OperatorError> {
        require(actor, Role::Viewer, "read the catalog")?;
        let (record, _) = self.plugin_row(plugin).await?;
        let releases = self.releases(plugin).await?;
        Ok(CatalogRow::new(&record, &releases, self.tenants_using(plugin).await?))
    }

    // ----- grants --------------------------------------------------------------------------------------------

    /// A tenant's plugin list: every catalog plugin with the tenant's grant, effective version and pin.
    pub async fn tenant_plugins(&self, actor: &Actor, tenant: &str) -> Result<Vec<TenantPlugin>, OperatorError> {
        require(actor, Role::Viewer, "list a tenant's plugins")?;
        self.tenant_row(tenant).await?;
        let grants: Vec<Arc<Enablement>> = self
            .read_all_shared(&Query::Tenant {
                kind: Kind::Enablement,
                tenant: tenant.to_owned(),
            })
            .await?;
        let live = self.live_catalog().await?;
        let mut out = Vec::with_capacity(live.len());
        for (record, releases) in &live {
            let grant = grants.iter().find(|g| g.plugin == record.id);
            let pin = grant.and_then(|g| g.pin.clone());
            let version = match grant {
                Some(g) if g.enabled => g.version.clone(),
                _ => pin
                    .clone()
                    .or_else(|| default_latest(releases.iter().map(|r| &**r)).map(|r| r.version.clone())),
            };
            out.push(TenantPlugin {
                plugin: record.id.clone(),
                title: record.title.clone(),
                source: record.source,
                enabled: grant.is_some_and(|g| g.enabled),
                version,
                pin,
                deprecated: record.deprecated.clone(),
                killed: record.killed.is_some(),
            });
        }
        Ok(out)
    }

    /// Enables a plugin for a tenant, at `version` or its pin or default-latest, after the seed's checks in
    /// order: `license_denied`, `tier_too_low`, `niche_mismatch`, `version_not_found`. Enabling at the version
    /// it already runs changes nothing.
    pub async fn enable(
        &self,
        actor: &Actor,
        tenant: &str,
        plugin: &str,
        version: Option<Version>,
    ) -> Result<GrantChange, OperatorError> {
        require(actor, Role::Operator, "enable a plugin")?;
        for _ in 0..MAX_ATTEMPTS {
            match self.try_enable(actor, tenant, plugin, version.as_ref()).await {
                Err(e) if is_conflict(&e) => {}
                other => return other,
            }
        }
        Err(contended(target(tenant, plugin)))
    }

    async fn try_enable(
        &self,
        actor: &Actor,
        tenant_id: &str,
        plugin_id: &str,
        version: Option<&Version>,
    ) -> Result<GrantChange, OperatorError> {
        let (tenant, _) = self.tenant_row(tenant_id).await?;
        let (record, _) = self.plugin_row(plugin_id).await?;
        let license = self.license(&tenant).await?;
        if !license.covers(record.id.as_str(), &record.default_in_packages) {
            return Err(OperatorError::LicenseDenied {
                tenant: tenant.id.to_string(),
                plugin: record.id.to_string(),
            });
        }
        if let Some(minimum) = &record.tier_minimum
            && !self.inner.tiers.allows(&tenant.tier, minimum)?
        {
            return Err(OperatorError::TierTooLow {
                tenant: tenant.id.to_string(),
                plugin: record.id.to_string(),
                required: minimum.clone(),
                tier: tenant.tier.clone(),
            });
        }
        if !record.niches.is_empty() && !record.niches.contains(&tenant.niche) {
            return Err(OperatorError::NicheMismatch {
                tenant: tenant.id.to_string(),
                plugin: record.id.to_string(),
                niches: record.niches.clone(),
                niche: tenant.niche.clone(),
            });
        }
        let key = Enablement::key(tenant.id.as_str(), record.id.as_str());
        let current = self.read::<Enablement>(&key).await?;
        let releases = self.releases(record.id.as_str()).await?;
        let pin = current.as_ref().and_then(|(g, _)| g.pin.clone());
        let effective = effective_version(&record.id, version.or(pin.as_ref()), &releases)?;
        if let Some(kill) = &record.killed {
            return Err(OperatorError::Killed {
                plugin: record.id.to_string(),
                reason: kill.reason.clone(),
            });
        }
        let was_enabled = current.as_ref().is_some_and(|(g, _)| g.enabled);
        if let Some(deprecation) = &record.deprecated
            && deprecation.disallow_new_enable
            && !was_enabled
        {
            return Err(OperatorError::Deprecated {
                plugin: record.id.to_string(),
                message: deprecation.message.clone(),
            });
        }
        if let Some((grant, _)) = &current
            && grant.enabled
            && grant.version.as_ref() == Some(&effective)
        {
            let report = self.apply(&tenant.id, &record.id, Some(&effective)).await?;
            return Ok(GrantChange {
                enablement: grant.clone(),
                changed: false,
                report,
            });
        }
        let after = Enablement {
            tenant: tenant.id.clone(),
            plugin: record.id.clone(),
            enabled: true,
            version: Some(effective.clone()),
            pin,
            updated_at: self.now(),
        };
        let entry = AuditEntry::new(
            self.now(),
            &actor.id,
            "tenant.enable",
            target(tenant.id.as_str(), record.id.as_str()),
        )
        .before(current.as_ref().map(|(g, _)| g))
        .after(&after);
        self.commit(
            Batch::new()
                .write(after.write(Expected::of(current.as_ref().map(|(_, r)| r))))
                .audit(entry),
        )
        .await?;
        let report = self.apply(&tenant.id, &record.id, Some(&effective)).await?;
        Ok(GrantChange {
            enablement: after,
            changed: true,
            report,
        })
    }

    /// Disables a plugin for a tenant: its hooks, filters and routes leave the tenant's runtime; its migrations
    /// are kept, and so is its pin.
    pub async fn disable(&self, actor: &Actor, tenant: &str, plugin: &str) -> Result<GrantChange, OperatorError> {
        require(actor, Role::Operator, "disable a plugin")?;
        for _ in 0..MAX_ATTEMPTS {
            let (tenant_rec, _) = self.tenant_row(tenant).await?;
            let (record, _) = self.plugin_row(plugin).await?;
            let key = Enablement::key(tenant, plugin);
            let current = self.read::<Enablement>(&key).await?;
            let Some((grant, row)) = current.filter(|(g, _)| g.enabled) else {
                let report = self.apply(&tenant_rec.id, &record.id, None).await?;
                let enablement = self.read::<Enablement>(&key).await?.map_or_else(
                    || Enablement {
                        tenant: tenant_rec.id.clone(),
                        plugin: record.id.clone(),
                        enabled: false,
                        version: None,
                        pin: None,
                        updated_at: self.now(),
                    },
                    |(g, _)| g,
                );
                return Ok(GrantChange {
                    enablement,
                    changed: false,
                    report,
                });
            };
            // The runtime decides first: a plugin other active plugins depend on is refused, and nothing is stored.
            let report = self.apply(&tenant_rec.id, &record.id, None).await?;
            let after = Enablement {
                enabled: false,
                updated_at: self.now(),
                ..grant.clone()
            };
            let entry = AuditEntry::new(self.now(), &actor.id, "tenant.disable", target(tenant, plugin))
                .before(&grant)
                .after(&after);
            if !self
                .try_commit(Batch::new().write(after.write(Expected::of(Some(&row)))).audit(entry))
                .await?
            {
                continue;
            }
            return Ok(GrantChange {
                enablement: after,
                changed: true,
                report,
            });
        }
        Err(contended(target(tenant, plugin)))
    }

    /// Pins a tenant to a version of a plugin (which must exist): it overrides default-latest until cleared.
    /// An enabled plugin moves to the pinned version at once.
    pub async fn pin(
        &self,
        actor: &Actor,
        tenant: &str,
        plugin: &str,
        version: Version,
    ) -> Result<GrantChange, OperatorError> {
        require(actor, Role::Operator, "pin a plugin")?;
        self.set_pin(actor, tenant, plugin, Some(version)).await
    }

    /// Clears a tenant's pin: an enabled plugin moves to default-latest.
    pub async fn clear_pin(&self, actor: &Actor, tenant: &str, plugin: &str) -> Result<GrantChange, OperatorError> {
        require(actor, Role::Operator, "clear a pin")?;
        self.set_pin(actor, tenant, plugin, None).await
    }

    async fn set_pin(
        &self,
        actor: &Actor,
        tenant: &str,
        plugin: &str,
        pin: Option<Version>,
    ) -> Result<GrantChange, OperatorError> {
        for _ in 0..MAX_ATTEMPTS {
            let (tenant_rec, _) = self.tenant_row(tenant).await?;
            let (record, _) = self.plugin_row(plugin).await?;
            let releases = self.releases(plugin).await?;
            if let Some(version) = &pin {
                effective_version(&record.id, Some(version), &releases)?;
            }
            let key = Enablement::key(tenant, plugin);
            let current = self.read::<Enablement>(&key).await?;
            let before = current.as_ref().map(|(g, _)| g.clone());
            let enabled = before.as_ref().is_some_and(|g| g.enabled);
            if before.as_ref().and_then(|g| g.pin.as_ref()) == pin.as_ref() {
                let enablement = before.unwrap_or_else(|| Enablement {
                    tenant: tenant_rec.id.clone(),
                    plugin: record.id.clone(),
                    enabled: false,
                    version: None,
                    pin: None,
                    updated_at: self.now(),
                });
                return Ok(GrantChange {
                    enablement,
                    changed: false,
                    report: None,
                });
            }
            let version = if enabled {
                Some(effective_version(&record.id, pin.as_ref(), &releases)?)
            } else {
                before.as_ref().and_then(|g| g.version.clone())
            };
            let after = Enablement {
                tenant: tenant_rec.id.clone(),
                plugin: record.id.clone(),
                enabled,
                version: version.clone(),
                pin: pin.clone(),
                updated_at: self.now(),
            };
            let action = if pin.is_some() { "tenant.pin" } else { "tenant.unpin" };
            let entry = AuditEntry::new(self.now(), &actor.id, action, target(tenant, plugin))
                .before(&before)
                .after(&after);
            if !self
                .try_commit(
                    Batch::new()
                        .write(after.write(Expected::of(current.as_ref().map(|(_, r)| r))))
                        .audit(entry),
                )
                .await?
            {
                continue;
            }
            let report = if enabled {
                self.apply(&tenant_rec.id, &record.id, version.as_ref()).await?
            } else {
                None
            };
            return Ok(GrantChange {
                enablement: after,
                changed: true,
                report,
            });
        }
        Err(contended(target(tenant, plugin)))
    }

    /// Deprecates a plugin: flags its row and returns a banner for every tenant using it. Tenants stay on it;
    /// with `disallow_new_enable`, tenants that do not have it can no longer enable it.
    pub async fn deprecate(
        &self,
        actor: &Actor,
        plugin: &str,
        request: DeprecateRequest,
    ) -> Result<Vec<Banner>, OperatorError> {
        require(actor, Role::Operator, "deprecate a plugin")?;
        if let Some(replacement) = &request.replacement {
            self.plugin_row(replacement.as_str()).await?;
        }
        for _ in 0..MAX_ATTEMPTS {
            let (before, row) = self.plugin_row(plugin).await?;
            let deprecation = Deprecation {
                message: request.message.clone(),
                replacement: request.replacement.clone(),
                disallow_new_enable: request.disallow_new_enable,
                at: self.now(),
            };
            let after = PluginRecord {
                deprecated: Some(deprecation),
                updated_at: self.now(),
                ..before.clone()
            };
            let entry = AuditEntry::new(self.now(), &actor.id, "plugin.deprecate", format!("plugin:{plugin}"))
                .before(&before.deprecated)
                .after(&after.deprecated)
                .reason(request.message.clone());
            if !self
                .try_commit(Batch::new().write(after.write(Expected::of(Some(&row)))).audit(entry))
                .await?
            {
                continue;
            }
            return self.banners_for(&after).await;
        }
        Err(contended(format!("plugin {plugin:?}")))
    }

    async fn banners_for(&self, record: &PluginRecord) -> Result<Vec<Banner>, OperatorError> {
        let Some(deprecation) = &record.deprecated else {
            return Ok(Vec::new());
        };
        let grants: Vec<Enablement> = self.read_all(&using(record.id.as_str())).await?;
        Ok(grants
            .into_iter()
            .map(|g| Banner::new(g.tenant, record.id.clone(), deprecation))
            .collect())
    }

    /// The deprecation banners a tenant should see: one per plugin it has enabled that is deprecated (and
    /// not removed). Grants and catalog rows are read revision-first, two queries whatever the count.
    pub async fn banners(&self, actor: &Actor, tenant: &str) -> Result<Vec<Banner>, OperatorError> {
        require(actor, Role::Viewer, "read banners")?;
        let grants: Vec<Arc<Enablement>> = self
            .read_all_shared(&Query::Tenant {
                kind: Kind::Enablement,
                tenant: tenant.to_owned(),
            })
            .await?;
        let records: Vec<Arc<PluginRecord>> = self.read_all_shared(&Query::All(Kind::Plugin)).await?;
        Ok(grants
            .iter()
            .filter(|g| g.enabled)
            .filter_map(|grant| {
                let record = records
                    .iter()
                    .find(|r| r.id == grant.plugin && r.removed_at.is_none())?;
                let deprecation = record.deprecated.as_ref()?;
                Some(Banner::new(grant.tenant.clone(), record.id.clone(), deprecation))
            })
            .collect())
    }

    /// Deprecates one version: it is never default-latest again; tenants pinned to or running it stay.
    pub async fn deprecate_version(
        &self,
        actor: &Actor,
        plugin: &str,
        version: &Version,
    ) -> Result<Release, OperatorError> {
        require(actor, Role::Operator, "deprecate a version")?;
        self.update_release(actor, plugin, version, "release.deprecate", |r| r.deprecated = true)
            .await
    }

    pub(crate) async fn update_release(
        &self,
        actor: &Actor,
        plugin: &str,
        version: &Version,
        action: &str,
        change: impl Fn(&mut Release),
    ) -> Result<Release, OperatorError> {
        let key = format!("{plugin}@{version}");
        for _ in 0..MAX_ATTEMPTS {
            let (before, row) = self
                .read::<Release>(&key)
                .await?
                .ok_or_else(|| OperatorError::VersionNotFound {
                    plugin: plugin.to_owned(),
                    version: version.to_string(),
                })?;
            let mut after = before.clone();
            change(&mut after);
            if after == before {
                return Ok(after);
            }
            let entry = AuditEntry::new(self.now(), &actor.id, action, format!("plugin:{key}"))
                .before(serde_json::json!({"staged": before.staged, "deprecated": before.deprecated, "removed": before.removed}))
                .after(serde_json::json!({"staged": after.staged, "deprecated": after.deprecated, "removed": after.removed}));
            if !self
                .try_commit(Batch::new().write(after.write(Expected::of(Some(&row)))).audit(entry))
                .await?
            {
                continue;
            }
            return Ok(after);
        }
        Err(contended(format!("release {key}")))
    }

    /// Removes a plugin from the catalog (owners only), refused while any tenant has it enabled. What remains
    /// is a tombstone: the id and its versions are never reused.
    pub async fn remove(&self, actor: &Actor, plugin: &str) -> Result<PluginRecord, OperatorError> {
        require(actor, Role::Owner, "remove a plugin")?;
        for _ in 0..MAX_ATTEMPTS {
            let (before, row) = self.plugin_row(plugin).await?;
            let count = self.tenants_using(plugin).await?;
            if count > 0 {
                let mut query = self.inner.store.query(&using(plugin)).await?;
                query.truncate(20);
                return Err(OperatorError::InUse {
                    plugin: plugin.to_owned(),
                    count,
                    tenants: query.into_iter().filter_map(|r| r.tenant).collect(),
                });
            }
            let now = self.now();
            let after = PluginRecord {
                removed_at: Some(now),
                updated_at: now,
                ..before.clone()
            };
            let mut batch = Batch::new().write(after.write(Expected::of(Some(&row))));
            for release_row in self
                .inner
                .store
                .query(&Query::Plugin {
                    kind: Kind::Release,
                    plugin: plugin.to_owned(),
                    flagged: false,
                })
                .await?
            {
                let (mut release, _) = decode::<Release>(&self.describe(), &release_row)?;
                if !release.removed {
                    release.removed = true;
                    batch = batch.write(release.write(Expected::Revision(release_row.revision)));
                }
            }
            let entry = AuditEntry::new(now, &actor.id, "plugin.remove", format!("plugin:{plugin}")).before(&before);
            if !self.try_commit(batch.audit(entry)).await? {
                continue;
            }
            return Ok(after);
        }
        Err(contended(format!("plugin {plugin:?}")))
    }

    /// The kill switch (owners only): `Some(reason)` switches a plugin off for every tenant at once (their
    /// runtimes on this host tear it down now, others at their next sync); `None` switches it back on, and
    /// tenants that had it enabled get it back.
    pub async fn kill_switch(
        &self,
        actor: &Actor,
        plugin: &str,
        reason: Option<String>,
    ) -> Result<Vec<Name>, OperatorError> {
        require(actor, Role::Owner, "flip a kill switch")?;
        for _ in 0..MAX_ATTEMPTS {
            let (before, row) = self.plugin_row(plugin).await?;
            let now = self.now();
            let after = PluginRecord {
                killed: reason.clone().map(|reason| KillSwitch {
                    reason,
                    by: actor.id.clone(),
                    at: now,
                }),
                updated_at: now,
                ..before.clone()
            };
            if after.killed.is_some() == before.killed.is_some() {
                return Ok(Vec::new());
            }
            let action = if reason.is_some() {
                "plugin.kill"
            } else {
                "plugin.revive"
            };
            let mut entry = AuditEntry::new(now, &actor.id, action, format!("plugin:{plugin}"))
                .before(&before.killed)
                .after(&after.killed);
            if let Some(reason) = &reason {
                entry = entry.reason(reason.clone());
            }
            if !self
                .try_commit(Batch::new().write(after.write(Expected::of(Some(&row)))).audit(entry))
                .await?
            {
                continue;
            }
            let grants: Vec<Enablement> = self.read_all(&using(plugin)).await?;
            let mut touched = Vec::new();
            for grant in grants {
                let version = if reason.is_some() { None } else { grant.version.clone() };
                if self.apply(&grant.tenant, &grant.plugin, version.as_ref()).await.is_ok() {
                    touched.push(grant.tenant);
                }
            }
            return Ok(touched);
        }
        Err(contended(format!("plugin {plugin:?}")))
    }

    // ----- settings ------------------------------------------------------------------------------------------

    async fn settings_schema(&self, tenant: &str, plugin: &str) -> Result<PluginManifest, OperatorError> {
        self.tenant_row(tenant).await?;
        self.plugin_row(plugin).await?;
        let releases = self.releases(plugin).await?;
        let grant = self
            .read::<Enablement>(&Enablement::key(tenant, plugin))
            .await?
            .map(|(g, _)| g);
        let version = grant.and_then(|g| g.version.or(g.pin));
        let release = version
            .and_then(|v| releases.iter().find(|r| r.version == v))
            .or_else(|| default_latest(&releases))
            .or_else(|| releases.iter().rev().find(|r| r.is_available()))
            .ok_or_else(|| OperatorError::VersionNotFound {
                plugin: plugin.to_owned(),
                version: String::new(),
            })?;
        Ok(release.manifest.clone())
    }

    /// A tenant's settings for a plugin: stored values merged with the schema's defaults; passwords read as
    /// [`REDACTED`].
    pub async fn settings(
        &self,
        actor: &Actor,
        tenant: &str,
        plugin: &str,
    ) -> Result<Map<String, Value>, OperatorError> {
        require(actor, Role::Viewer, "read settings")?;
        let manifest = self.settings_schema(tenant, plugin).await?;
        let stored = self
            .read::<SettingsRow>(&Enablement::key(tenant, plugin))
            .await?
            .map(|(s, _)| s.values)
            .unwrap_or_default();
        Ok(effective_settings(&manifest.settings, &stored, true))
    }

    /// The settings a plugin itself reads: like [`settings`](Self::settings) but with passwords in the clear.
    pub async fn plugin_settings(&self, tenant: &str, plugin: &str) -> Result<Map<String, Value>, OperatorError> {
        let manifest = self.settings_schema(tenant, plugin).await?;
        let stored = self
            .read::<SettingsRow>(&Enablement::key(tenant, plugin))
            .await?
            .map(|(s, _)| s.values)
            .unwrap_or_default();
        Ok(effective_settings(&manifest.settings, &stored, false))
    }

    /// Saves a tenant's settings for a plugin after validating them against the plugin's schema (every problem
    /// at once, with paths; nothing is saved when any is found). A password sent back as [`REDACTED`] keeps the
    /// stored value. Returns what [`settings`](Self::settings) then returns.
    pub async fn set_settings(
        &self,
        actor: &Actor,
        tenant: &str,
        plugin: &str,
        mut values: Map<String, Value>,
    ) -> Result<Map<String, Value>, OperatorError> {
        require(actor, Role::Operator, "change settings")?;
        let manifest = self.settings_schema(tenant, plugin).await?;
        for _ in 0..MAX_ATTEMPTS {
            let key = Enablement::key(tenant, plugin);
            let current = self.read::<SettingsRow>(&key).await?;
            let stored = current.as_ref().map(|(s, _)| s.values.clone()).unwrap_or_default();
            for field in manifest.settings.iter().filter(|f| f.kind == SettingKind::Password) {
                if values.get(&field.key).and_then(Value::as_str) == Some(REDACTED) {
                    match stored.get(&field.key) {
                        Some(kept) => values.insert(field.key.clone(), kept.clone()),
                        None => values.remove(&field.key),
                    };
                }
            }
            let problems = validate_settings(&manifest.settings, &values);
            if !problems.is_empty() {
                return Err(OperatorError::InvalidSettings {
                    tenant: tenant.to_owned(),
                    plugin: plugin.to_owned(),
                    problems,
                });
            }
            let row = SettingsRow {
                tenant: tenant.to_owned(),
                plugin: plugin.to_owned(),
                values: values.clone(),
            };
            let redact = |m: &Map<String, Value>| effective_settings(&manifest.settings, m, true);
            let entry = AuditEntry::new(self.now(), &actor.id, "settings.set", target(tenant, plugin))
                .before(redact(&stored))
                .after(redact(&values));
            if !self
                .try_commit(
                    Batch::new()
                        .write(row.write(Expected::of(current.as_ref().map(|(_, r)| r))))
                        .audit(entry),
                )
                .await?
            {
                continue;
            }
            return Ok(redact(&values));
        }
        Err(contended(target(tenant, plugin)))
    }

    // ----- health --------------------------------------------------------------------------------------------

    /// Stores what a tenant's runtime on this host knows about its plugins' failures (absolute counts, so a
    /// repeated call changes nothing).
    pub async fn record_health(&self, tenant: &Name, runtime: &Runtime) -> Result<(), OperatorError> {
        let Some(host) = &self.inner.tenants else {
            return Ok(());
        };
        let host_id = host.host_id();
        for (plugin, health) in runtime.health().plugins {
            let key = HealthRecord::key(plugin.as_str(), tenant.as_str(), &host_id);
            for _ in 0..MAX_ATTEMPTS {
                let current = self.read::<HealthRecord>(&key).await?;
                if let Some((h, _)) = &current
                    && h.setup_failures == health.setup_failures
                    && h.runtime_failures == health.runtime_failures
                    && h.last_error == health.last_error
                {
                    break;
                }
                let record = HealthRecord {
                    plugin: plugin.clone(),
                    tenant: tenant.clone(),
                    host: host_id.clone(),
                    setup_failures: health.setup_failures,
                    runtime_failures: health.runtime_failures,
                    requests: current.as_ref().map_or(0, |(h, _)| h.requests),
                    errors: current.as_ref().map_or(0, |(h, _)| h.errors),
                    last_error: health.last_error.clone(),
                    at: self.now(),
                };
                if !self
                    .try_commit(Batch::new().write(record.write(Expected::of(current.as_ref().map(|(_, r)| r)))))
                    .await?
                {
                    continue;
                }
                break;
            }
        }
        Ok(())
    }

    /// Adds traffic a host counted for a plugin on a tenant (requests served, of which failed) to the running
    /// totals the canary judge's [`OperatorHealthMonitor`](crate::judge::OperatorHealthMonitor) reads.
    pub async fn record_traffic(
        &self,
        tenant: &Name,
        plugin: &Name,
        host: &str,
        requests: u64,
        errors: u64,
    ) -> Result<(), OperatorError> {
        let key = HealthRecord::key(plugin.as_str(), tenant.as_str(), host);
        for _ in 0..MAX_ATTEMPTS {
            let current = self.read::<HealthRecord>(&key).await?;
            let mut record = current.as_ref().map_or_else(
                || HealthRecord {
                    plugin: plugin.clone(),
                    tenant: tenant.clone(),
                    host: host.to_owned(),
                    setup_failures: 0,
                    runtime_failures: 0,
                    requests: 0,
                    errors: 0,
                    last_error: None,
                    at: self.now(),
                },
                |(h, _)| h.clone(),
            );
            record.requests = record.requests.saturating_add(requests);
            record.errors = record.errors.saturating_add(errors);
            record.at = self.now();
            match self
                .commit(Batch::new().write(record.write(Expected::of(current.as_ref().map(|(_, r)| r)))))
                .await
            {
                Err(e) if is_conflict(&e) => {}
                other => return other,
            }
        }
        Err(contended(format!("health of {plugin:?} on {tenant:?}")))
    }

    /// Collects health from every tenant runtime running on this host.
    pub async fn collect_health(&self) -> Result<(), OperatorError> {
        if let Some(host) = &self.inner.tenants {
            for (tenant, runtime) in host.running().await {
                self.record_health(&tenant, &runtime).await?;
            }
        }
        Ok(())
    }

    /// Every plugin with failures, summed across tenants and hosts, with the affected tenants and last error.
    pub async fn health(&self, actor: &Actor) -> Result<Vec<PluginHealthSummary>, OperatorError> {
        require(actor, Role::Viewer, "read health")?;
        let records: Vec<HealthRecord> = self.read_all(&Query::All(Kind::Health)).await?;
        Ok(summarize(&records))
    }

    // ----- audit ---------------------------------------------------------------------------------------------

    /// Audit events after `after`, at most `limit`.
    pub async fn audit(&self, actor: &Actor, after: u64, limit: usize) -> Result<Vec<AuditEvent>, OperatorError> {
        require(actor, Role::Viewer, "read the audit log")?;
        Ok(self.inner.store.audit(after, limit).await?)
    }

    /// Verifies the whole audit log's hash chain.
    pub async fn verify_audit(&self, actor: &Actor) -> Result<Result<AuditVerified, AuditError>, OperatorError> {
        require(actor, Role::Viewer, "verify the audit log")?;
        let mut events = Vec::new();
        loop {
            let after = events.last().map_or(0, |e: &AuditEvent| e.seq);
            let page = self.inner.store.audit(after, 1000).await?;
            if page.is_empty() {
                break;
            }
            events.extend(page);
        }
        Ok(audit::verify(&events))
    }

    /// Appends an audit entry on its own (for actions outside the operator store, e.g. a CLI key generation).
    pub async fn record(&self, entry: AuditEntry) -> Result<(), OperatorError> {
        self.commit(Batch::new().audit(entry)).await
    }

    // ----- runtimes ------------------------------------------------------------------------------------------

    /// Brings a tenant's runtime on this host in line with its grants: every enabled plugin at its effective
    /// version (pin, else default-latest), everything else taken down.
    pub async fn sync_tenant(&self, tenant: &str) -> Result<SyncReport, OperatorError> {
        let (tenant_rec, _) = self.tenant_row(tenant).await?;
        let Some(host) = &self.inner.tenants else {
            return Ok(SyncReport::default());
        };
        let (runtime, _) = host
            .runtime(&tenant_rec.id)
            .await
            .map_err(|e| OperatorError::RuntimeRefused {
                tenant: tenant.to_owned(),
                plugin: String::new(),
                reason: e.0,
            })?;
        let _in_order = self.tenant_lock(&tenant_rec.id).await;
        self.reconcile(&tenant_rec.id, &runtime, None).await
    }

    /// [`sync_tenant`](Self::sync_tenant) for every tenant whose runtime runs on this host: what a host calls
    /// periodically (or on a store notification) so that what other hosts' operators decided — a promotion to
    /// default-latest, a kill switch, a pin — reaches its live runtimes.
    pub async fn sync_running(&self) -> Result<Vec<(Name, SyncReport)>, OperatorError> {
        let Some(host) = &self.inner.tenants else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (tenant, runtime) in host.running().await {
            let _in_order = self.tenant_lock(&tenant).await;
            let report = self.reconcile(&tenant, &runtime, None).await?;
            out.push((tenant, report));
        }
        Ok(out)
    }

    /// `except`: a plugin the caller applies itself right after (so its report reaches the caller).
    /// Keeps this operator's changes to one tenant's runtime in order: a sync that read the grants cannot take
    /// down a plugin that a concurrent enable put up after that read. Held by `apply` and by the syncs.
    async fn tenant_lock(&self, tenant: &Name) -> futures::lock::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self
                .inner
                .tenant_locks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            locks.entry(tenant.clone()).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// Called with the tenant's lock held.
    async fn reconcile(
        &self,
        tenant: &Name,
        runtime: &Runtime,
        except: Option<&Name>,
    ) -> Result<SyncReport, OperatorError> {
        let grants: Vec<Arc<Enablement>> = self
            .read_all_shared(&Query::Tenant {
                kind: Kind::Enablement,
                tenant: tenant.to_string(),
            })
            .await?;
        let live = self.live_catalog().await?;
        let mut report = SyncReport::default();
        let mut wanted = Vec::new();
        for grant in grants.iter().filter(|g| Some(&g.plugin) != except) {
            let entry = live.iter().find(|(record, _)| record.id == grant.plugin);
            let releases = entry
                .into_iter()
                .flat_map(|(_, releases)| releases.iter().map(|r| &**r));
            match wanted_version(grant, entry.map(|(record, _)| &**record), releases) {
                Ok(Some(version)) => wanted.push((grant.plugin.clone(), version)),
                Ok(None) => {}
                Err(e) => report.failed.push((grant.plugin.clone(), e.to_string())),
            }
        }
        for (plugin, version) in &wanted {
            match self.converge(tenant, runtime, plugin, Some(version)).await {
                Ok(Some(_)) => report.applied.push((plugin.clone(), version.clone())),
                Ok(None) => {}
                Err(e) => report.failed.push((plugin.clone(), e.to_string())),
            }
            self.note_version(tenant, plugin, version).await?;
        }
        for active in runtime.active().await {
            if !wanted.iter().any(|(p, _)| *p == active)
                && Some(&active) != except
                && grants.iter().any(|g| g.plugin == active)
                && self.converge(tenant, runtime, &active, None).await.is_ok()
            {
                report.withdrawn.push(active);
            }
        }
        self.record_health(tenant, runtime).await?;
        Ok(report)
    }

    /// Applies one tenant's grant of a plugin, as the store now holds it, to the tenant's runtime on this host
    /// (nothing without a tenant host). Failures are logged and show in health; the grant stays as decided.
    pub(crate) async fn sync_grant(&self, tenant: &Name, plugin: &Name) {
        let result = async {
            let grant = self
                .read::<Enablement>(&Enablement::key(tenant.as_str(), plugin.as_str()))
                .await?
                .map(|(g, _)| g);
            let version = match grant.filter(|g| g.enabled) {
                Some(grant) => {
                    let record = self.read::<PluginRecord>(plugin.as_str()).await?.map(|(r, _)| r);
                    let releases = self.releases(plugin.as_str()).await?;
                    wanted_version(&grant, record.as_ref(), &releases)?
                }
                None => None,
            };
            if let Some(version) = &version {
                self.note_version(tenant, plugin, version).await?;
            }
            self.apply(tenant, plugin, version.as_ref()).await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%tenant, %plugin, %error, "the grant could not be applied on this host");
        }
    }

    /// Records the version an enabled grant now runs, when it moved (default-latest changed).
    async fn note_version(&self, tenant: &Name, plugin: &Name, version: &Version) -> Result<(), OperatorError> {
        let key = Enablement::key(tenant.as_str(), plugin.as_str());
        for _ in 0..MAX_ATTEMPTS {
            let Some((grant, row)) = self.read::<Enablement>(&key).await? else {
                return Ok(());
            };
            if !grant.enabled || grant.version.as_ref() == Some(version) {
                return Ok(());
            }
            let after = Enablement {
                version: Some(version.clone()),
                updated_at: self.now(),
                ..grant
            };
            match self
                .commit(Batch::new().write(after.write(Expected::Revision(row.revision))))
                .await
            {
                Err(e) if is_conflict(&e) => {}
                other => return other,
            }
        }
        Ok(())
    }

    /// Applies one grant to the tenant's runtime on this host: `Some(version)` runs the plugin at that version,
    /// `None` takes it down. Nothing happens without a tenant host.
    async fn apply(
        &self,
        tenant: &Name,
        plugin: &Name,
        version: Option<&Version>,
    ) -> Result<Option<ActivationReport>, OperatorError> {
        let Some(host) = &self.inner.tenants else {
            return Ok(None);
        };
        let _in_order = self.tenant_lock(tenant).await;
        let (runtime, fresh) = host.runtime(tenant).await.map_err(|e| OperatorError::RuntimeRefused {
            tenant: tenant.to_string(),
            plugin: plugin.to_string(),
            reason: e.0,
        })?;
        if fresh {
            self.reconcile(tenant, &runtime, Some(plugin)).await?;
        }
        let report = self.converge(tenant, &runtime, plugin, version).await?;
        self.record_health(tenant, &runtime).await?;
        Ok(report)
    }

    async fn converge(
        &self,
        tenant: &Name,
        runtime: &Runtime,
        plugin: &Name,
        version: Option<&Version>,
    ) -> Result<Option<ActivationReport>, OperatorError> {
        let registry = runtime.registry().await;
        let entry = registry.get(plugin.as_str());
        let Some(version) = version else {
            return match entry {
                Some(e) if e.is_installed() => runtime
                    .disable(plugin.as_str(), Cascade::No)
                    .await
                    .map(Some)
                    .map_err(|e| refused(tenant, plugin, &e)),
                _ => Ok(None),
            };
        };
        let load = || async {
            let Some(releases) = &self.inner.releases else {
                return Err(OperatorError::ReleaseUnavailable {
                    plugin: plugin.to_string(),
                    version: version.clone(),
                    reason: "this host has no release source".to_owned(),
                });
            };
            releases
                .load(plugin, version)
                .await
                .map_err(|e| OperatorError::ReleaseUnavailable {
                    plugin: plugin.to_string(),
                    version: version.clone(),
                    reason: e.0,
                })
        };
        let report = match entry {
            Some(e) if e.plugin.version() == version && e.is_installed() => return Ok(None),
            Some(e) if e.plugin.version() == version => runtime.enable(plugin.as_str()).await,
            Some(e) => {
                let was_installed = e.is_installed();
                let def = load().await?;
                let updated = runtime.update(def).await.map_err(|e| refused(tenant, plugin, &e))?;
                if was_installed {
                    Ok(updated)
                } else {
                    runtime.enable(plugin.as_str()).await
                }
            }
            None => runtime.install(RegistryEntry::installed(load().await?)).await,
        }
        .map_err(|e| refused(tenant, plugin, &e))?;
        if let Some(Outcome::Failed { reason }) = report.outcome(plugin.as_str()) {
            tracing::warn!(%tenant, %plugin, %version, ?reason, "plugin failed to activate");
        }
        Ok(Some(report))
    }
}

/// The query of the enabled grants of a plugin.
pub(crate) fn using(plugin: &str) -> Query {
    Query::Plugin {
        kind: Kind::Enablement,
        plugin: plugin.to_owned(),
        flagged: true,
    }
}

/// The version a grant runs on a host: its pin, else default-latest, while it is enabled and its plugin is in
/// the catalog (not removed) with its kill switch off; `None` otherwise.
fn wanted_version<'a>(
    grant: &Enablement,
    record: Option<&PluginRecord>,
    releases: impl IntoIterator<Item = &'a Release>,
) -> Result<Option<Version>, OperatorError> {
    let live = record.is_some_and(|r| r.removed_at.is_none() && r.killed.is_none());
    if !(grant.enabled && live) {
        return Ok(None);
    }
    effective_version(&grant.plugin, grant.pin.as_ref(), releases).map(Some)
}

/// The version a tenant runs: `wanted` (asked for or pinned), which must exist, else default-latest.
fn effective_version<'a>(
    plugin: &Name,
    wanted: Option<&Version>,
    releases: impl IntoIterator<Item = &'a Release>,
) -> Result<Version, OperatorError> {
    match wanted {
        Some(version) => releases
            .into_iter()
            .find(|r| &r.version == version && r.is_available())
            .map(|r| r.version.clone())
            .ok_or_else(|| OperatorError::VersionNotFound {
                plugin: plugin.to_string(),
                version: version.to_string(),
            }),
        None => default_latest(releases)
            .map(|r| r.version.clone())
            .ok_or_else(|| OperatorError::VersionNotFound {
                plugin: plugin.to_string(),
                version: String::new(),
            }),
    }
}

/// A tenant as the audit log records it: without its license token.
fn public_tenant(tenant: &Tenant) -> Value {
    serde_json::json!({
        "id": tenant.id,
        "tier": tenant.tier,
        "niche": tenant.niche,
        "canary": tenant.canary,
        "licensed": tenant.license.is_some(),
    })
}
