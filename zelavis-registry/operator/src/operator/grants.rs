//! Grants: a tenant's plugin list, enable with the seed's ordered checks, disable, pins.

use std::sync::Arc;

use semver::Version;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;
use zelavis_registry::report::ActivationReport;

use super::{MAX_ATTEMPTS, Operator, contended, is_conflict, require, target};
use crate::audit::AuditEntry;
use crate::catalog::{Release, default_latest};
use crate::enablement::{Enablement, TenantPlugin};
use crate::error::OperatorError;
use crate::role::{Actor, Role};
use crate::rows::Stored;
use crate::store::{Batch, Expected, Kind, Query};

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

impl Operator {
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
                    || Enablement::never_enabled(tenant_rec.id.clone(), record.id.clone(), self.now()),
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
                let enablement = before
                    .unwrap_or_else(|| Enablement::never_enabled(tenant_rec.id.clone(), record.id.clone(), self.now()));
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
}

/// The version a tenant runs: `wanted` (asked for or pinned), which must exist, else default-latest.
pub(super) fn effective_version<'a>(
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
