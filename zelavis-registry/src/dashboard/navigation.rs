//! [`Navigation`]: the dashboard's slides, as data.
//!
//! The first slide is stable, in this order:
//!
//! 1. the menus of services with surface `root`;
//! 2. **Marketplace**, the discovery and install area;
//! 3. **Core**: the menus of services with surface `core` or none;
//! 4. **Workspace**: the menus of services with surface `workspace`, then exactly one entry per installed
//!    top-level plugin — the active ones in activation order, then those installed but not running — with the
//!    plugin's nested slides kept as they are. Child plugins never get an entry, and installed plugins never
//!    appear at the top level;
//! 5. **Settings**: the menus of services with surface `settings`.
//!
//! Pages are replaced by [`NavPage`] `{id, title, src}`, `src` being the encoded page address
//! `/zelavis/api/v1/dashboard/plugin-pages/:plugin/:page`. A service's pages are addressed with the service's
//! name in the plugin segment.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zelavis_core::address::PageAddress;
use zelavis_core::menu::{MAX_MENU_DEPTH, Menu};
use zelavis_core::name::Name;
use zelavis_core::page::{MenuPage, PageId};
use zelavis_core::paths::ApiPaths;
use zelavis_core::surface::Surface;

use super::sources::DashboardSources;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NavKind {
    /// One of the stable sections: Core, Workspace, Settings.
    Section,
    /// The Marketplace.
    Marketplace,
    /// The root entry of an installed plugin (under Workspace).
    Plugin,
    /// The root entry of a service's menu.
    Service,
    /// A nested entry of a plugin's or a service's menu.
    Entry,
}

/// A page in a serialised menu: its id, title and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NavPage {
    /// The page id.
    pub id: String,
    /// The page title.
    pub title: String,
    /// The encoded page address, e.g. `/zelavis/api/v1/dashboard/plugin-pages/%40acme%2Fshop/orders`.
    pub src: String,
}

/// One navigation entry; entries with `items` open a nested slide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NavItem {
    /// A key unique within the navigation: `marketplace`, `core`, `workspace`, `settings`, `plugin:<name>`,
    /// `service:<name>`, and `<root key>/<index>/<index>...` for nested entries.
    pub key: String,
    /// What it is.
    pub kind: NavKind,
    /// The label.
    pub title: String,
    /// The dashboard path it opens, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The page it shows, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<NavPage>,
    /// The plugin whose tree this entry belongs to (plugin entries and their nested entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<Name>,
    /// For a plugin's root entry: whether the plugin is running (installed plugins whose setup failed are listed
    /// with `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Nested entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<NavItem>,
}

impl NavItem {
    fn new(key: impl Into<String>, kind: NavKind, title: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            kind,
            title: title.into(),
            path: None,
            page: None,
            plugin: None,
            active: None,
            items: Vec::new(),
        }
    }

    /// The entry and every entry under it, depth first, in menu order.
    pub fn walk(&self) -> impl Iterator<Item = &NavItem> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let next = stack.pop()?;
            stack.extend(next.items.iter().rev());
            Some(next)
        })
    }

    /// A menu as navigation entries, pages addressed under `owner` (a plugin or a service name). Entries deeper
    /// than [`MAX_MENU_DEPTH`] are left out (definitions and services refuse such menus already).
    pub fn from_menu<P: MenuPage>(menu: &Menu<P>, key: String, kind: NavKind, owner: &Name, paths: &ApiPaths) -> Self {
        Self::from_menu_at(menu, key, kind, owner, paths, 1)
    }

    fn from_menu_at<P: MenuPage>(
        menu: &Menu<P>,
        key: String,
        kind: NavKind,
        owner: &Name,
        paths: &ApiPaths,
        depth: usize,
    ) -> Self {
        let mut item = NavItem::new(key, kind, menu.title.clone());
        item.path.clone_from(&menu.path);
        item.page = menu.page.as_ref().and_then(|page| {
            let id = PageId::parse(page.id()).ok()?;
            Some(NavPage {
                id: page.id().to_owned(),
                title: page.title().to_owned(),
                src: PageAddress::new(owner.clone(), id).path_in(paths),
            })
        });
        if depth < MAX_MENU_DEPTH {
            item.items = menu
                .items
                .iter()
                .enumerate()
                .map(|(i, sub)| {
                    Self::from_menu_at(
                        sub,
                        format!("{}/{i}", item.key),
                        NavKind::Entry,
                        owner,
                        paths,
                        depth + 1,
                    )
                })
                .collect();
        } else if !menu.items.is_empty() {
            tracing::warn!(menu = %menu.title, "menu entries deeper than {MAX_MENU_DEPTH} levels are not shown");
        }
        item
    }

    fn owned_by(mut self, plugin: &Name) -> Self {
        let mut stack = vec![&mut self];
        while let Some(item) = stack.pop() {
            item.plugin = Some(plugin.clone());
            stack.extend(item.items.iter_mut());
        }
        self
    }
}

/// The dashboard's navigation: the first slide's entries, each with its nested slides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Navigation {
    /// The first slide, in order: root services, Marketplace, Core, Workspace, Settings.
    pub items: Vec<NavItem>,
}

impl Navigation {
    /// Computes the navigation from `sources` (see the [module docs](self) for the rules).
    pub fn build(sources: &DashboardSources) -> Self {
        let paths = &sources.paths;
        let mut root = Vec::new();
        let mut core = NavItem::new("core", NavKind::Section, "Core");
        let mut workspace = NavItem::new("workspace", NavKind::Section, "Workspace");
        let mut settings = NavItem::new("settings", NavKind::Section, "Settings");
        for registered in sources.services.iter() {
            let service = &registered.service;
            let Some(menu) = service.menu_ref() else {
                continue;
            };
            let item = NavItem::from_menu(
                menu,
                format!("service:{}", service.name()),
                NavKind::Service,
                service.name(),
                paths,
            );
            match menu.surface {
                Some(Surface::Root) => root.push(item),
                Some(Surface::Workspace) => workspace.items.push(item),
                Some(Surface::Settings) => settings.items.push(item),
                Some(Surface::Core) | None => core.items.push(item),
            }
        }
        for (entry, active) in sources.installed_top_level() {
            let name = entry.name();
            let key = format!("plugin:{name}");
            let mut item = match entry.plugin.menu() {
                Some(menu) => NavItem::from_menu(menu, key, NavKind::Plugin, name, paths),
                None => NavItem::new(key, NavKind::Plugin, name.as_str()),
            }
            .owned_by(name);
            item.active = Some(active);
            workspace.items.push(item);
        }
        let mut marketplace = NavItem::new("marketplace", NavKind::Marketplace, "Marketplace");
        marketplace.path = Some("/marketplace".to_owned());
        root.extend([marketplace, core, workspace, settings]);
        Self { items: root }
    }

    /// The first-slide entry with this key (`marketplace`, `core`, `workspace`, `settings`, `service:<name>`).
    pub fn section(&self, key: &str) -> Option<&NavItem> {
        self.items.iter().find(|item| item.key == key)
    }

    /// Every entry, depth first, in navigation order.
    pub fn walk(&self) -> impl Iterator<Item = &NavItem> {
        self.items.iter().flat_map(NavItem::walk)
    }

    /// The entry whose path is `path`, first in navigation order.
    pub fn find_path(&self, path: &str) -> Option<&NavItem> {
        self.walk().find(|item| item.path.as_deref() == Some(path))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use zelavis_core::page::Page;
    use zelavis_core::service::{ServiceDef, Services};
    use zelavis_plugin::PluginDef;
    use zelavis_plugin::extension::{ExtensionPointRef, Policy};

    use super::*;
    use crate::registry::{PluginRegistry, RegistryEntry};

    const PAYMENTS: ExtensionPointRef<()> = ExtensionPointRef::new("shop", "payments");

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn sources() -> DashboardSources {
        let shop = PluginDef::builder("shop")
            .extension_point(PAYMENTS.declare().policy(Policy::Open))
            .menu(
                Menu::new("Shop")
                    .path("/shop")
                    .page(Page::new("home", "Shop", |_| "<h1>Shop</h1>"))
                    .item(
                        Menu::new("Orders")
                            .path("/shop/orders")
                            .page(Page::new("orders", "Orders", |_| "o")),
                    )
                    .item(Menu::new("More").item(Menu::new("Customers").path("/shop/customers"))),
            )
            .build()
            .unwrap();
        let stripe = PluginDef::builder("stripe").extends(PAYMENTS.attach()).build().unwrap();
        let blog = PluginDef::builder("@acme/blog")
            .menu(Menu::new("Blog").path("/blog").page(Page::new("home", "Blog", |_| "b")))
            .build()
            .unwrap();
        let broken = PluginDef::builder("broken").build().unwrap();
        let spare = PluginDef::builder("spare").build().unwrap();
        let registry = PluginRegistry::new([
            RegistryEntry::installed(shop),
            RegistryEntry::installed(stripe),
            RegistryEntry::installed(broken),
            RegistryEntry::installed(blog),
            RegistryEntry::available(spare),
        ])
        .unwrap();
        let core = [
            ServiceDef::new(name("search")).menu(Menu::new("Search").path("/search").surface(Surface::Root)),
            ServiceDef::new(name("users")).menu(Menu::new("Users").path("/users").surface(Surface::Core)),
            ServiceDef::new(name("files")).menu(Menu::new("Files").path("/files").surface(Surface::Workspace)),
            ServiceDef::new(name("billing")).menu(
                Menu::new("Billing")
                    .path("/settings/billing")
                    .surface(Surface::Settings)
                    .page(Page::new("plan", "Plan", |_| "p")),
            ),
            ServiceDef::new(name("audit")).menu(Menu::new("Audit").path("/audit")),
            ServiceDef::new(name("mailer")),
        ];
        DashboardSources {
            registry,
            // `broken` is installed but failed; the blog started before the shop.
            active: vec![name("@acme/blog"), name("shop")],
            services: Services::default(),
            ..DashboardSources::default()
        }
        .with_core_services(&core)
        .unwrap()
    }

    #[test]
    fn the_first_slide_is_stable() {
        let nav = Navigation::build(&sources());
        let keys: Vec<&str> = nav.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["service:search", "marketplace", "core", "workspace", "settings"]);
        let titles = |key: &str| -> Vec<String> {
            nav.section(key)
                .unwrap()
                .items
                .iter()
                .map(|i| i.title.clone())
                .collect()
        };
        assert_eq!(titles("core"), ["Users", "Audit"]);
        assert_eq!(titles("settings"), ["Billing"]);
        // Workspace: its services, then one entry per installed top-level plugin, active ones in activation
        // order, then the installed plugin that is not running. No child, nothing available.
        assert_eq!(titles("workspace"), ["Files", "Blog", "Shop", "broken"]);
        let workspace = nav.section("workspace").unwrap();
        let active: Vec<Option<bool>> = workspace.items.iter().map(|i| i.active).collect();
        assert_eq!(active, [None, Some(true), Some(true), Some(false)]);
        assert!(
            nav.walk()
                .all(|i| i.plugin.as_ref().is_none_or(|p| p != "stripe" && p != "spare"))
        );
    }

    #[test]
    fn nested_slides_are_kept_and_pages_become_addresses() {
        let nav = Navigation::build(&sources());
        let shop = nav.walk().find(|i| i.key == "plugin:shop").unwrap();
        assert_eq!(shop.items.len(), 2);
        assert_eq!(shop.items[1].items[0].title, "Customers");
        assert_eq!(shop.items[1].items[0].key, "plugin:shop/1/0");
        assert!(shop.walk().all(|i| i.plugin.as_ref().is_some_and(|p| p == "shop")));
        let orders = nav.find_path("/shop/orders").unwrap();
        assert_eq!(
            orders.page,
            Some(NavPage {
                id: "orders".into(),
                title: "Orders".into(),
                src: "/zelavis/api/v1/dashboard/plugin-pages/shop/orders".into()
            })
        );
        let blog = nav.find_path("/blog").unwrap();
        assert_eq!(
            blog.page.as_ref().unwrap().src,
            "/zelavis/api/v1/dashboard/plugin-pages/%40acme%2Fblog/home"
        );
        let billing = nav.find_path("/settings/billing").unwrap();
        assert_eq!(
            billing.page.as_ref().unwrap().src,
            "/zelavis/api/v1/dashboard/plugin-pages/billing/plan"
        );
        let json = serde_json::to_value(&nav).unwrap();
        let page = &json["items"][3]["items"][2]["items"][0]["page"];
        assert_eq!(page.as_object().unwrap().len(), 3, "{page}");
    }

    #[test]
    fn custom_paths_move_every_address() {
        let sources = sources().with_paths(ApiPaths::new("/admin", "/api", "v2").unwrap());
        let nav = Navigation::build(&sources);
        let srcs: Vec<&str> = nav
            .walk()
            .filter_map(|i| i.page.as_ref())
            .map(|p| p.src.as_str())
            .collect();
        assert!(!srcs.is_empty());
        assert!(
            srcs.iter()
                .all(|s| s.starts_with("/admin/api/v2/dashboard/plugin-pages/"))
        );
    }

    #[test]
    fn core_services_are_checked() {
        let bad = [ServiceDef::new(name("x")).menu(Menu::new("X").path("x"))];
        assert!(DashboardSources::default().with_core_services(&bad).is_err());
    }
}
