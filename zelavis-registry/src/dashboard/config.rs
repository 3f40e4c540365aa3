//! [`DashboardConfig`] and [`Marketplace`]: what the dashboard knows about services, plugins, the activation
//! controller and the catalog, as JSON-ready data.

use semver::Version;
use serde::Serialize;
use zelavis_core::name::Name;
use zelavis_core::surface::Surface;

use super::navigation::{NavItem, NavKind};
use super::sources::DashboardSources;
use crate::catalog::{Catalog, CatalogEntry, ReviewStatus};
use crate::controller::ControllerCapabilities;
use crate::hash::HashSet;
use crate::health::PluginHealth;
use crate::registry::Status;
use crate::source::Source;

/// Where the dashboard's API lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PathsInfo {
    /// The dashboard's root, e.g. `/zelavis`.
    pub root: String,
    /// The API base, e.g. `/zelavis/api/v1`.
    pub base: String,
    /// Where plugin pages live, e.g. `/zelavis/api/v1/dashboard/plugin-pages`.
    pub pages: String,
    /// Where plugin API routes live, e.g. `/zelavis/api/v1/plugins`; a plugin's own prefix is
    /// `<plugins>/<encoded name>`.
    pub plugins: String,
}

/// A service as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ServiceInfo {
    /// The service name.
    pub name: Name,
    /// The plugin that registered it; `None` for a core service.
    pub owner: Option<Name>,
    /// The surface its menu is mounted in (`None`: Core).
    pub surface: Option<Surface>,
    /// Its menu, serialised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub menu: Option<NavItem>,
}

/// A plugin as the dashboard lists it: definition, record, liveness, health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PluginInfo {
    /// The plugin name.
    pub name: Name,
    /// Its version.
    pub version: Version,
    /// Its description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Installed or available.
    pub status: Status,
    /// Whether it is running now.
    pub active: bool,
    /// Where it comes from, if recorded.
    pub source: Option<Source>,
    /// Its activation order, if recorded.
    pub order: Option<u32>,
    /// Its pinned version, if any.
    pub pin: Option<Version>,
    /// The specifier it was loaded from, if recorded.
    pub specifier: Option<String>,
    /// For a child plugin: the parent it extends.
    pub parent: Option<Name>,
    /// The plugins it depends on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Name>,
    /// Its menu, serialised (top-level plugins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub menu: Option<NavItem>,
    /// Its health.
    pub health: PluginHealth,
}

/// How a badge should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    /// Plain.
    Neutral,
    /// Informational.
    Info,
    /// Good news.
    Success,
    /// Caution.
    Warning,
    /// Refused.
    Danger,
}

/// What a badge says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BadgeKind {
    /// Where it comes from: Official, Built-in, Community, Premium, Private.
    Source,
    /// Its review status when the source does not already say it.
    Review,
    /// A verified publisher.
    Verified,
    /// Deprecated.
    Deprecated,
    /// The lowest plan it needs.
    Tier,
}

/// A Marketplace badge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Badge {
    /// What it says.
    pub kind: BadgeKind,
    /// The label shown.
    pub label: String,
    /// How it looks.
    pub tone: Tone,
}

impl Badge {
    fn new(kind: BadgeKind, label: impl Into<String>, tone: Tone) -> Self {
        Self {
            kind,
            label: label.into(),
            tone,
        }
    }

    /// The badges of a catalog entry: its source, its review status unless the source says it already, verified,
    /// deprecated, and the plan it needs.
    ///
    /// ```
    /// use zelavis_registry::dashboard::Badge;
    /// use zelavis_registry::prelude::*;
    ///
    /// let entry = CatalogEntry::new(Name::parse("acme-pay")?, Source::Community);
    /// let labels: Vec<String> = Badge::of(&entry).into_iter().map(|b| b.label).collect();
    /// assert_eq!(labels, ["Community", "Unreviewed"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of(entry: &CatalogEntry) -> Vec<Badge> {
        let (label, tone) = match entry.source {
            Source::Official => ("Official", Tone::Info),
            Source::BuiltIn => ("Built-in", Tone::Info),
            Source::Community => ("Community", Tone::Neutral),
            Source::Premium => ("Premium", Tone::Warning),
            Source::Private => ("Private", Tone::Neutral),
        };
        let mut badges = vec![Badge::new(BadgeKind::Source, label, tone)];
        if entry.review != ReviewStatus::default_for(entry.source) || entry.review == ReviewStatus::Unreviewed {
            let (label, tone) = match entry.review {
                ReviewStatus::Official => ("Official review", Tone::Success),
                ReviewStatus::Reviewed => ("Reviewed", Tone::Success),
                ReviewStatus::Unreviewed => ("Unreviewed", Tone::Warning),
                ReviewStatus::Blocked => ("Blocked", Tone::Danger),
            };
            badges.push(Badge::new(BadgeKind::Review, label, tone));
        } else if entry.review == ReviewStatus::Reviewed {
            badges.push(Badge::new(BadgeKind::Review, "Reviewed", Tone::Success));
        }
        if entry.verified {
            badges.push(Badge::new(BadgeKind::Verified, "Verified", Tone::Success));
        }
        if entry.deprecated.is_some() {
            badges.push(Badge::new(BadgeKind::Deprecated, "Deprecated", Tone::Warning));
        }
        if let Some(tier) = &entry.tier_minimum {
            badges.push(Badge::new(BadgeKind::Tier, format!("{tier} plan"), Tone::Neutral));
        }
        badges
    }
}

/// Where a catalog entry stands on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstallState {
    /// Installed and running.
    Active,
    /// Installed but not running (its setup failed, or a dependency is missing).
    Inactive,
    /// Known to the host, not installed: it can be enabled.
    Available,
    /// Not known yet, but the host's loader can load it: it can be installed.
    Installable,
    /// Neither known nor loadable here.
    Unavailable,
    /// Blocked by review: never installable.
    Blocked,
}

/// One Marketplace card: the catalog entry, its badges and where it stands here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MarketplaceEntry {
    /// The catalog entry.
    #[serde(flatten)]
    pub entry: CatalogEntry,
    /// Its badges.
    pub badges: Vec<Badge>,
    /// Where it stands on this host.
    pub install: InstallState,
    /// The specifier an install loads (the entry's, or its name).
    pub install_specifier: String,
    /// For a child plugin known to the host: the parent it extends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Name>,
}

/// The Marketplace: the controller's capabilities and every catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Marketplace {
    /// What this host's activation controller can do (can installs apply at run time?).
    pub capabilities: ControllerCapabilities,
    /// The entries, in catalog order.
    pub entries: Vec<MarketplaceEntry>,
}

impl Marketplace {
    /// The Marketplace for `catalog` on the host `sources` describe; `loadable` holds the specifiers the host's
    /// loader can load.
    pub fn build(
        sources: &DashboardSources,
        catalog: &Catalog,
        capabilities: ControllerCapabilities,
        loadable: &dyn Fn(&str) -> bool,
    ) -> Self {
        let running = running(sources);
        let entries = catalog
            .iter()
            .map(|entry| {
                let specifier = entry.specifier.clone().unwrap_or_else(|| entry.name.to_string());
                let known = sources.registry.get(entry.name.as_str());
                let install = match known {
                    _ if entry.is_blocked() => InstallState::Blocked,
                    Some(e) if e.is_installed() => {
                        if running.contains(e.name()) {
                            InstallState::Active
                        } else {
                            InstallState::Inactive
                        }
                    }
                    Some(_) => InstallState::Available,
                    None if loadable(&specifier) => InstallState::Installable,
                    None => InstallState::Unavailable,
                };
                MarketplaceEntry {
                    badges: Badge::of(entry),
                    install,
                    install_specifier: specifier,
                    parent: known.and_then(|e| e.plugin.extends().map(|x| x.plugin.clone())),
                    entry: entry.clone(),
                }
            })
            .collect();
        Self { capabilities, entries }
    }
}

/// The installed plugins that run: the active top-level ones and the children their parents applied.
fn running(sources: &DashboardSources) -> HashSet<&Name> {
    sources.active.iter().chain(&sources.applied_children).collect()
}

/// Everything the dashboard shows besides navigation: paths, services, plugins, the controller's capabilities
/// and the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DashboardConfig {
    /// The host's title for the dashboard.
    pub title: String,
    /// Where the API lives.
    pub paths: PathsInfo,
    /// Every service, core services first.
    pub services: Vec<ServiceInfo>,
    /// Every plugin the host knows, in registry order.
    pub plugins: Vec<PluginInfo>,
    /// What the activation controller can do.
    pub controller: ControllerCapabilities,
    /// The Marketplace catalog with badges.
    pub catalog: Vec<MarketplaceEntry>,
}

impl DashboardConfig {
    /// The configuration of the host `sources` describe.
    pub fn build(title: impl Into<String>, sources: &DashboardSources, marketplace: Marketplace) -> Self {
        let paths = &sources.paths;
        let base = paths.base();
        let services = sources
            .services
            .iter()
            .map(|registered| {
                let service = &registered.service;
                ServiceInfo {
                    name: service.name().clone(),
                    owner: registered.owner.clone(),
                    surface: service.menu_ref().and_then(|m| m.surface),
                    menu: service.menu_ref().map(|menu| {
                        NavItem::from_menu(
                            menu,
                            format!("service:{}", service.name()),
                            NavKind::Service,
                            service.name(),
                            paths,
                        )
                    }),
                }
            })
            .collect();
        let running = running(sources);
        let plugins = sources
            .registry
            .iter()
            .map(|entry| {
                let def = &entry.plugin;
                let record = entry.record();
                let is_active = entry.is_installed() && running.contains(entry.name());
                PluginInfo {
                    name: entry.name().clone(),
                    version: def.version().clone(),
                    description: def.manifest().description.clone(),
                    status: entry.status(),
                    active: is_active,
                    source: record.source,
                    order: record.order,
                    pin: record.pin.clone(),
                    specifier: record.specifier.clone(),
                    parent: def.extends().map(|x| x.plugin.clone()),
                    dependencies: def.dependencies().iter().map(|d| d.plugin.clone()).collect(),
                    menu: def.menu().map(|menu| {
                        NavItem::from_menu(
                            menu,
                            format!("plugin:{}", entry.name()),
                            NavKind::Plugin,
                            entry.name(),
                            paths,
                        )
                    }),
                    health: sources.health.of(entry.name().as_str()),
                }
            })
            .collect();
        Self {
            title: title.into(),
            paths: PathsInfo {
                root: if paths.root().is_empty() {
                    "/".to_owned()
                } else {
                    paths.root().to_owned()
                },
                pages: format!("{base}{}", zelavis_core::address::PLUGIN_PAGES_ROUTE),
                plugins: format!("{base}/plugins"),
                base,
            },
            services,
            plugins,
            controller: marketplace.capabilities,
            catalog: marketplace.entries,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use zelavis_plugin::PluginDef;

    use super::*;
    use crate::catalog::Grants;
    use crate::controller::Strategy;
    use crate::registry::{PluginRegistry, RegistryEntry};

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn caps() -> ControllerCapabilities {
        ControllerCapabilities {
            strategy: Strategy::RuntimeGraph,
            supports_runtime_install: true,
            supports_uploaded_specifiers: false,
            supports_isolated_execution: false,
        }
    }

    #[test]
    fn badges_say_source_review_and_verified() {
        let labels = |entry: &CatalogEntry| -> Vec<String> { Badge::of(entry).into_iter().map(|b| b.label).collect() };
        assert_eq!(
            labels(&CatalogEntry::new(name("a"), Source::Official)),
            ["Official", "Verified"]
        );
        assert_eq!(
            labels(&CatalogEntry::new(name("a"), Source::BuiltIn)),
            ["Built-in", "Verified"]
        );
        assert_eq!(
            labels(&CatalogEntry::new(name("a"), Source::Premium)),
            ["Premium", "Reviewed"]
        );
        assert_eq!(
            labels(&CatalogEntry::new(name("a"), Source::Private)),
            ["Private", "Unreviewed"]
        );
        let granted = Catalog::with_grants(
            [CatalogEntry::new(name("a"), Source::Community)
                .verified(true)
                .tier_minimum("pro")
                .deprecated("use b")],
            &Grants::new().verified(name("a")),
        )
        .unwrap();
        assert_eq!(
            labels(granted.get("a").unwrap()),
            ["Community", "Unreviewed", "Verified", "Deprecated", "pro plan"]
        );
        let blocked = CatalogEntry::new(name("a"), Source::Community).review(ReviewStatus::Blocked);
        assert_eq!(labels(&blocked), ["Community", "Blocked"]);
    }

    #[test]
    fn marketplace_says_where_each_entry_stands() {
        let def = |n: &str| PluginDef::builder(n).build().unwrap();
        let sources = DashboardSources {
            registry: PluginRegistry::new([
                RegistryEntry::installed(def("shop")),
                RegistryEntry::installed(def("broken")),
                RegistryEntry::available(def("blog")),
            ])
            .unwrap(),
            active: vec![name("shop")],
            ..DashboardSources::default()
        };
        let catalog = Catalog::new(
            ["shop", "broken", "blog", "crm", "ghost"]
                .map(|n| CatalogEntry::new(name(n), Source::Official))
                .into_iter()
                .chain([CatalogEntry::new(name("bad"), Source::Community).review(ReviewStatus::Blocked)]),
        )
        .unwrap();
        let marketplace = Marketplace::build(&sources, &catalog, caps(), &|spec| spec == "crm" || spec == "bad");
        let states: Vec<InstallState> = marketplace.entries.iter().map(|e| e.install).collect();
        assert_eq!(
            states,
            [
                InstallState::Active,
                InstallState::Inactive,
                InstallState::Available,
                InstallState::Installable,
                InstallState::Unavailable,
                InstallState::Blocked
            ]
        );
        let config = DashboardConfig::build("Shop", &sources, marketplace);
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["controller"]["strategy"], "runtime-graph");
        assert_eq!(json["catalog"][0]["badges"][0]["label"], "Official");
        assert_eq!(json["catalog"][0]["install"], "active");
        assert_eq!(json["plugins"][1]["active"], false);
        assert_eq!(json["paths"]["pages"], "/zelavis/api/v1/dashboard/plugin-pages");
    }
}
