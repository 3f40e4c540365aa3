//! Per-tenant plugin settings, validated against the settings schema of the release the tenant runs.

use serde_json::{Map, Value};
use zelavis_plugin::manifest::PluginManifest;
use zelavis_plugin::settings::{REDACTED, SettingKind, effective_settings, validate_settings};

use super::{MAX_ATTEMPTS, Operator, contended, require, target};
use crate::audit::AuditEntry;
use crate::catalog::default_latest;
use crate::enablement::Enablement;
use crate::error::OperatorError;
use crate::role::{Actor, Role};
use crate::rows::{SettingsRow, Stored};
use crate::store::{Batch, Expected};

impl Operator {
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
        self.effective_settings(tenant, plugin, true).await
    }

    /// The settings a plugin itself reads: like [`settings`](Self::settings) but with passwords in the clear.
    pub async fn plugin_settings(&self, tenant: &str, plugin: &str) -> Result<Map<String, Value>, OperatorError> {
        self.effective_settings(tenant, plugin, false).await
    }

    /// The stored values merged with the schema's defaults, passwords redacted or not.
    async fn effective_settings(
        &self,
        tenant: &str,
        plugin: &str,
        redact: bool,
    ) -> Result<Map<String, Value>, OperatorError> {
        let manifest = self.settings_schema(tenant, plugin).await?;
        let stored = self
            .read::<SettingsRow>(&Enablement::key(tenant, plugin))
            .await?
            .map(|(s, _)| s.values)
            .unwrap_or_default();
        Ok(effective_settings(&manifest.settings, &stored, redact))
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
}
