//! A plugin's lifecycle in the catalog: deprecation and its banners, removal, the kill switch.

use std::sync::Arc;

use semver::Version;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

use super::catalog::using;
use super::{MAX_ATTEMPTS, Operator, contended, require};
use crate::audit::AuditEntry;
use crate::catalog::{Deprecation, KillSwitch, PluginRecord, Release};
use crate::enablement::{Banner, Enablement};
use crate::error::OperatorError;
use crate::role::{Actor, Role};
use crate::rows::{Stored, decode};
use crate::store::{Batch, Expected, Kind, Query};

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

impl Operator {
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
}
