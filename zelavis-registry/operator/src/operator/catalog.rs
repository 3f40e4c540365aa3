//! The catalog: registering plugins and their releases, and the catalog's rows.

use std::sync::Arc;

use semver::Version;
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;

use super::{HashMap, Operator, is_conflict, require};
use crate::audit::AuditEntry;
use crate::catalog::{CatalogRow, PluginRecord, PluginSpec, Release, highest_published};
use crate::error::OperatorError;
use crate::role::{Actor, Role};
use crate::rows::Stored;
use crate::store::{Batch, Expected, Kind, Query, Row};

impl Operator {
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
    pub(super) async fn live_catalog(&self) -> Result<Vec<(Arc<PluginRecord>, Vec<Arc<Release>>)>, OperatorError> {
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
}

/// The query of the enabled grants of a plugin.
pub(crate) fn using(plugin: &str) -> Query {
    Query::Plugin {
        kind: Kind::Enablement,
        plugin: plugin.to_owned(),
        flagged: true,
    }
}
