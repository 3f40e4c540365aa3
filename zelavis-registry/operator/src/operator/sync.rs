//! Bringing tenant runtimes on this host in line with what the operator store holds.

use std::sync::Arc;

use semver::Version;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;
use zelavis_registry::registry::RegistryEntry;
use zelavis_registry::report::{ActivationReport, Outcome};
use zelavis_registry::runtime::{Cascade, Runtime};

use super::grants::effective_version;
use super::{MAX_ATTEMPTS, Operator, is_conflict, refused};
use crate::catalog::{PluginRecord, Release};
use crate::enablement::Enablement;
use crate::error::OperatorError;
use crate::rows::Stored;
use crate::store::{Batch, Expected, Kind, Query};

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

impl Operator {
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

    /// Brings the tenant's runtime in line with its grants; called with the tenant's lock held.
    /// `except`: a plugin the caller applies itself right after (so its report reaches the caller).
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
                Ok(Some(version)) => {
                    // Whether the grant already records the version it runs (then there is nothing to note).
                    let noted = grant.version.as_ref() == Some(&version);
                    wanted.push((grant.plugin.clone(), version, noted));
                }
                Ok(None) => {}
                Err(e) => report.failed.push((grant.plugin.clone(), e.to_string())),
            }
        }
        for (plugin, version, noted) in &wanted {
            match self.converge(tenant, runtime, plugin, Some(version)).await {
                Ok(Some(_)) => report.applied.push((plugin.clone(), version.clone())),
                Ok(None) => {}
                Err(e) => report.failed.push((plugin.clone(), e.to_string())),
            }
            if !noted {
                self.note_version(tenant, plugin, version).await?;
            }
        }
        for active in runtime.active().await {
            if !wanted.iter().any(|(p, _, _)| *p == active)
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
    pub(super) async fn apply(
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
        let entry = runtime.entry(plugin.as_str()).await;
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
