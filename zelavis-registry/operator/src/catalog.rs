//! The catalog: one [`PluginRecord`] per plugin (what the super-admin panel's table shows) and its
//! [`Release`]s by semver. Default-latest is computed from the releases, never stored; `tenants_using` is
//! counted from enablements through the store's index, never stored either.

use semver::Version;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;
use zelavis_plugin::manifest::PluginManifest;

use crate::time::Timestamp;

/// Where a catalog plugin comes from (its badge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogSource {
    /// Compiled into the host.
    BuiltIn,
    /// From the premium registry, granted by license.
    Premium,
    /// A customer's own plugin, in its private scope `@<customer>/<plugin>`.
    Private,
}

impl CatalogSource {
    /// The badge text.
    pub fn badge(self) -> &'static str {
        match self {
            CatalogSource::BuiltIn => "Built-in",
            CatalogSource::Premium => "Premium",
            CatalogSource::Private => "Private",
        }
    }
}

/// A deprecation notice on a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deprecation {
    /// What tenants are told.
    pub message: String,
    /// The plugin to move to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Name>,
    /// Whether tenants that do not have it yet may still enable it.
    #[serde(default)]
    pub disallow_new_enable: bool,
    /// When.
    pub at: Timestamp,
}

/// A kill switch that is on: the plugin is off for every tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillSwitch {
    /// Why.
    pub reason: String,
    /// By whom.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A catalog row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRecord {
    /// The plugin id.
    pub id: Name,
    /// Its source.
    pub source: CatalogSource,
    /// Its title.
    pub title: String,
    /// Its minimum tier, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_minimum: Option<String>,
    /// The niches it is offered in (empty: every niche).
    #[serde(default)]
    pub niches: Vec<String>,
    /// The niche packages it comes with by default.
    #[serde(default)]
    pub default_in_packages: Vec<String>,
    /// Who publishes it.
    pub publisher: String,
    /// The key its newest release was signed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_with_kid: Option<String>,
    /// Its deprecation, if deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecation>,
    /// Its kill switch, when on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed: Option<KillSwitch>,
    /// When it was removed (a tombstone: the id and its versions are never reused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<Timestamp>,
    /// When it was registered.
    pub registered_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// What an operator gives to register a plugin in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginSpec {
    /// Its source.
    pub source: CatalogSource,
    /// Its title (default: the id).
    #[serde(default)]
    pub title: String,
    /// Its minimum tier.
    #[serde(default)]
    pub tier_minimum: Option<String>,
    /// Its niches (empty: all).
    #[serde(default)]
    pub niches: Vec<String>,
    /// The packages it is in by default.
    #[serde(default)]
    pub default_in_packages: Vec<String>,
    /// Its publisher.
    pub publisher: String,
}

impl PluginSpec {
    /// A plugin from `source`, published by `publisher`, for every tier and niche.
    pub fn new(source: CatalogSource, publisher: impl Into<String>) -> Self {
        Self {
            source,
            title: String::new(),
            tier_minimum: None,
            niches: Vec::new(),
            default_in_packages: Vec::new(),
            publisher: publisher.into(),
        }
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Sets the minimum tier.
    pub fn tier_minimum(mut self, tier: impl Into<String>) -> Self {
        self.tier_minimum = Some(tier.into());
        self
    }

    /// Adds a niche.
    pub fn niche(mut self, niche: impl Into<String>) -> Self {
        self.niches.push(niche.into());
        self
    }

    /// Adds a default package.
    pub fn in_package(mut self, package: impl Into<String>) -> Self {
        self.default_in_packages.push(package.into());
        self
    }
}

/// One release of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The plugin.
    pub plugin: Name,
    /// The version.
    pub version: Version,
    /// The manifest snapshot.
    pub manifest: PluginManifest,
    /// Who published it.
    pub publisher: String,
    /// The key its release record was signed with (bundled releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The bundle's SHA-256 (bundled releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_sha256: Option<String>,
    /// Staged: reachable only by pin (a rollout's canary) until promoted.
    #[serde(default)]
    pub staged: bool,
    /// Deprecated: never default-latest again; tenants on it stay.
    #[serde(default)]
    pub deprecated: bool,
    /// Removed (a tombstone).
    #[serde(default)]
    pub removed: bool,
    /// When it was published.
    pub published_at: Timestamp,
}

impl Release {
    /// Whether a tenant may run it (it is not removed).
    pub fn is_available(&self) -> bool {
        !self.removed
    }

    /// Whether it may be default-latest: not removed, staged or deprecated, and not a pre-release.
    pub fn is_default_candidate(&self) -> bool {
        !self.removed && !self.staged && !self.deprecated && self.version.pre.is_empty()
    }
}

/// Default-latest: the highest release that is not removed, staged, deprecated or a pre-release.
///
/// ```
/// # use zelavis_operator::catalog::{Release, default_latest};
/// # use zelavis_operator::time::Timestamp;
/// # use zelavis_plugin::prelude::*;
/// # let release = |v: &str| Release {
/// #     plugin: Name::parse("stripe").unwrap(), version: v.parse().unwrap(),
/// #     manifest: PluginDef::builder("stripe").version(v).build().unwrap().manifest().clone(),
/// #     publisher: "acme".into(), kid: None, bundle_sha256: None, staged: false, deprecated: false,
/// #     removed: false, published_at: Timestamp::EPOCH };
/// let releases = [release("2.4.0"), release("2.5.0-beta.1"), release("2.3.9")];
/// assert_eq!(default_latest(&releases).unwrap().version.to_string(), "2.4.0");
/// ```
pub fn default_latest<'a>(releases: impl IntoIterator<Item = &'a Release>) -> Option<&'a Release> {
    releases
        .into_iter()
        .filter(|r| r.is_default_candidate())
        .max_by(|a, b| a.version.cmp(&b.version))
}

/// The highest release ever published (tombstones included): the floor a new version must clear.
pub fn highest_published(releases: &[Release]) -> Option<&Version> {
    releases.iter().map(|r| &r.version).max()
}

/// A catalog row as the panel shows it: the record, its default version, its versions and how many tenants use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRow {
    /// The plugin id.
    pub id: Name,
    /// The scope of a private plugin (`acme` for `@acme/reports`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The active default version (default-latest).
    pub version: Option<Version>,
    /// Its badge.
    pub source: CatalogSource,
    /// The badge text.
    pub badge: String,
    /// Its title.
    pub title: String,
    /// Minimum tier.
    pub tier_minimum: Option<String>,
    /// Niches.
    pub niches: Vec<String>,
    /// Default packages.
    pub default_in_packages: Vec<String>,
    /// How many tenants have it enabled (counted through the index).
    pub tenants_using: u64,
    /// The versions a tenant may run or pin, highest first.
    pub supports_versions: Vec<Version>,
    /// Its deprecation.
    pub deprecated: Option<Deprecation>,
    /// Its kill switch.
    pub killed: Option<KillSwitch>,
    /// Publisher.
    pub publisher: String,
    /// Signing key id of the newest release.
    pub signed_with_kid: Option<String>,
    /// The default version's manifest snapshot.
    pub manifest: Option<PluginManifest>,
    /// Registered.
    pub registered_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

impl CatalogRow {
    /// The row of `record` with its releases and usage count.
    pub fn new<'a>(record: &PluginRecord, releases: impl IntoIterator<Item = &'a Release>, tenants_using: u64) -> Self {
        let releases: Vec<&Release> = releases.into_iter().collect();
        let default = default_latest(releases.iter().copied());
        let mut versions: Vec<Version> = releases
            .iter()
            .filter(|r| r.is_available())
            .map(|r| r.version.clone())
            .collect();
        versions.sort_by(|a, b| b.cmp(a));
        Self {
            id: record.id.clone(),
            scope: record.id.scope().map(str::to_owned),
            version: default.map(|r| r.version.clone()),
            source: record.source,
            badge: record.source.badge().to_owned(),
            title: record.title.clone(),
            tier_minimum: record.tier_minimum.clone(),
            niches: record.niches.clone(),
            default_in_packages: record.default_in_packages.clone(),
            tenants_using,
            supports_versions: versions,
            deprecated: record.deprecated.clone(),
            killed: record.killed.clone(),
            publisher: record.publisher.clone(),
            signed_with_kid: record.signed_with_kid.clone(),
            manifest: default.map(|r| r.manifest.clone()),
            registered_at: record.registered_at,
            updated_at: record.updated_at,
        }
    }
}
