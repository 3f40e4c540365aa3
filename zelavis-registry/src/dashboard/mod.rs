//! The dashboard model: what a dashboard shows, as data — no HTTP, no HTML shell. The `zelavis-dashboard` crate
//! serves it.
//!
//! - [`navigation`]: the [`Navigation`] — a stable first slide (root services, **Marketplace**, **Core**,
//!   **Workspace** with exactly one entry per installed top-level plugin, **Settings**) and the nested slides
//!   of every menu, with pages replaced by `{id, title, src}`;
//! - [`page`]: [`PageReply`], a page render turned into what is sent (normalised document, content type,
//!   `cache-control`, the headers a page may set; 404 and 500 answers for unknown and failing pages);
//! - [`config`]: the [`DashboardConfig`] (services, plugins, the controller's capabilities, the catalog with its
//!   badges) and the [`Marketplace`].
//!
//! Everything is computed from a [`DashboardSources`]: one consistent reading of a [`Runtime`](crate::runtime::Runtime)
//! plus the host's core services.
//!
//! ```
//! use zelavis_registry::dashboard::{DashboardSources, Navigation};
//! use zelavis_registry::prelude::*;
//!
//! # futures::executor::block_on(async {
//! let shop = PluginDef::builder("shop")
//!     .menu(Menu::new("Shop").path("/shop").page(Page::new("home", "Shop", |_| "<h1>Shop</h1>")))
//!     .build()?;
//! let (runtime, _) = Runtime::builder(PluginRegistry::new([RegistryEntry::installed(shop)])?).start().await?;
//!
//! let sources = DashboardSources::capture(&runtime).await;
//! let navigation = Navigation::build(&sources);
//! let workspace = navigation.section("workspace").unwrap();
//! assert_eq!(workspace.items[0].title, "Shop");
//! assert_eq!(
//!     workspace.items[0].page.as_ref().unwrap().src,
//!     "/zelavis/api/v1/dashboard/plugin-pages/shop/home"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

pub mod config;
pub mod navigation;
pub mod page;
mod sources;

pub use config::{
    Badge, BadgeKind, DashboardConfig, InstallState, Marketplace, MarketplaceEntry, PathsInfo, PluginInfo, ServiceInfo,
    Tone,
};
pub use navigation::{NavItem, NavKind, NavPage, Navigation};
pub use page::{PageReply, is_allowed_page_header};
pub use sources::DashboardSources;
