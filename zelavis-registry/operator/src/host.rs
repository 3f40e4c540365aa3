//! How the operator layer reaches what it governs: a tenant's live [`Runtime`] ([`TenantHost`]) and a release's
//! plugin code ([`ReleaseSource`]).
//!
//! A tenant is a registry store scope: [`LocalTenants`] starts one runtime per tenant on a shared
//! [`RegistryStore`] under `Scope::Tenant(id)`, so each tenant's installs persist on their own and its migrations
//! run once for it.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::lock::Mutex;
use semver::Version;
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;
use zelavis_registry::activation::ActivationOptions;
use zelavis_registry::ledger::MigrationLedger;
use zelavis_registry::registry::PluginRegistry;
use zelavis_registry::runtime::{Runtime, RuntimeBuilder};
use zelavis_registry::store::{RegistryStore, Scope};

/// Why a tenant's runtime or a release's code could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

/// Reaches tenants' runtimes on this host.
#[async_trait]
pub trait TenantHost: Send + Sync + 'static {
    /// This host's id, recorded with the health it reports.
    fn host_id(&self) -> String;

    /// The tenant's runtime, started on first use. `fresh` is true when this call started it (the operator
    /// layer then brings it in line with the tenant's grants).
    async fn runtime(&self, tenant: &Name) -> Result<(Runtime, bool), HostError>;

    /// The tenants whose runtimes are running on this host.
    async fn running(&self) -> Vec<(Name, Runtime)>;
}

/// One runtime per tenant, on one registry store, in this process.
#[derive(Clone)]
pub struct LocalTenants {
    attach: Arc<AttachFn>,
    describe: String,
    host_id: String,
    options: ActivationOptions,
    running: Arc<Mutex<HashMap<Name, Runtime>>>,
}

impl LocalTenants {
    /// Tenants' runtimes on `store` (each under its tenant scope), this host known as `host_id`.
    pub fn new<S>(store: S, host_id: impl Into<String>) -> Self
    where
        S: RegistryStore + MigrationLedger + Clone + 'static,
    {
        Self {
            describe: store.describe(),
            attach: Arc::new(move |builder: RuntimeBuilder, scope: Scope| builder.store(store.clone(), scope)),
            host_id: host_id.into(),
            options: ActivationOptions::default(),
            running: Arc::default(),
        }
    }

    /// The activation options every tenant runtime starts with.
    #[must_use]
    pub fn options(mut self, options: ActivationOptions) -> Self {
        self.options = options;
        self
    }
}

#[async_trait]
impl TenantHost for LocalTenants {
    fn host_id(&self) -> String {
        self.host_id.clone()
    }

    async fn runtime(&self, tenant: &Name) -> Result<(Runtime, bool), HostError> {
        let mut running = self.running.lock().await;
        if let Some(runtime) = running.get(tenant) {
            return Ok((runtime.clone(), false));
        }
        let builder = Runtime::builder(PluginRegistry::default()).options(self.options.clone());
        let (runtime, _) = (self.attach)(builder, Scope::Tenant(tenant.clone()))
            .start()
            .await
            .map_err(|e| HostError(format!("tenant {tenant:?}'s runtime did not start: {e}")))?;
        running.insert(tenant.clone(), runtime.clone());
        Ok((runtime, true))
    }

    async fn running(&self) -> Vec<(Name, Runtime)> {
        let running = self.running.lock().await;
        let mut out: Vec<(Name, Runtime)> = running.iter().map(|(n, r)| (n.clone(), r.clone())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

type AttachFn = dyn Fn(RuntimeBuilder, Scope) -> RuntimeBuilder + Send + Sync;

impl std::fmt::Debug for LocalTenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTenants")
            .field("store", &self.describe)
            .field("host_id", &self.host_id)
            .finish_non_exhaustive()
    }
}

/// Where a release's code comes from.
#[async_trait]
pub trait ReleaseSource: Send + Sync + 'static {
    /// The definition of `plugin` at `version`.
    async fn load(&self, plugin: &Name, version: &Version) -> Result<PluginDef, HostError>;
}

/// Compiled-in plugins, by name and version.
///
/// ```
/// use zelavis_operator::host::{BuiltinReleases, ReleaseSource};
/// use zelavis_plugin::prelude::*;
///
/// # futures::executor::block_on(async {
/// let releases = BuiltinReleases::new()
///     .with(PluginDef::builder("stripe").version("2.4.0").build()?)
///     .with(PluginDef::builder("stripe").version("2.5.0").build()?);
/// let def = releases.load(&Name::parse("stripe")?, &"2.4.0".parse()?).await?;
/// assert_eq!(def.version().to_string(), "2.4.0");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct BuiltinReleases {
    defs: HashMap<(Name, Version), PluginDef>,
}

impl BuiltinReleases {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a definition under its name and version.
    #[must_use]
    pub fn with(mut self, def: PluginDef) -> Self {
        self.defs.insert((def.name().clone(), def.version().clone()), def);
        self
    }

    /// Every definition, by name then version.
    pub fn defs(&self) -> Vec<&PluginDef> {
        let mut out: Vec<&PluginDef> = self.defs.values().collect();
        out.sort_by(|a, b| (a.name(), a.version()).cmp(&(b.name(), b.version())));
        out
    }
}

#[async_trait]
impl ReleaseSource for BuiltinReleases {
    async fn load(&self, plugin: &Name, version: &Version) -> Result<PluginDef, HostError> {
        self.defs
            .get(&(plugin.clone(), version.clone()))
            .cloned()
            .ok_or_else(|| HostError(format!("no compiled-in {plugin}@{version}")))
    }
}
