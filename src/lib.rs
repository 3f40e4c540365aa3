//! # Zelavis
//!
//! An embeddable plugin system for Rust hosts. Plugin authors define plugins (and child plugins that extend
//! another plugin's extension points) as validated, serialisable definitions; hosts install, govern and
//! activate them through a registry with stores and activation controllers they choose.
//!
//! This facade re-exports the crates:
//!
//! - [`core`] (`zelavis-core`): names, contract versions, menus, pages, services, paths;
//! - [`plugin`] (`zelavis-plugin`): the author SDK — `PluginDef`, `define_plugin!`, extension points, manifests;
//! - [`registry`] (`zelavis-registry`): catalog, registry, activation and stores;
//! - `dashboard` (`zelavis-dashboard`, feature `dashboard`): the dashboard router, shell and frame bridge;
//! - `wasm` (`zelavis-wasm`, feature `wasm`): WebAssembly plugins — uploaded code that installs live and runs
//!   sandboxed.
//!
//! ```
//! use zelavis::prelude::*;
//!
//! let hello = PluginDef::builder("hello")
//!     .version("1.0.0")
//!     .menu(Menu::new("Hello").path("/hello").page(Page::new("home", "Hello", |_| "<h1>Hello</h1>")))
//!     .build()?;
//! assert_eq!(hello.page_addresses()[0].to_string(), "/zelavis/api/v1/dashboard/plugin-pages/hello/home");
//! # Ok::<(), DefinitionError>(())
//! ```

pub use zelavis_core as core;
/// The dashboard (feature `dashboard`): the axum router, the embedded shell and the frame bridge.
#[cfg(feature = "dashboard")]
pub use zelavis_dashboard as dashboard;
#[cfg(feature = "operator")]
pub use zelavis_operator as operator;
pub use zelavis_plugin as plugin;
pub use zelavis_registry as registry;
#[cfg(feature = "wasm")]
pub use zelavis_wasm as wasm;

/// `#[async_trait]`, for implementing the crate's async traits (`Setup`, `RegistryStore`, `PluginLoader`, ...)
/// without depending on `async-trait` yourself.
pub use async_trait::async_trait;
/// Semantic versions, as plugin versions, pins and dependency requirements use them.
pub use semver;

/// Defines a plugin declaratively; see [`zelavis_plugin::define_plugin!`] for the syntax.
///
/// This facade version passes its own path to the macro, so crates that depend only on `zelavis` can use it.
#[macro_export]
macro_rules! define_plugin {
    ($($body:tt)*) => {
        $crate::plugin::define_plugin! { crate: $crate::plugin, $($body)* }
    };
}

/// Everything plugin authors and hosts need, in one import: the author SDK (definitions, extension points,
/// setup context, hooks, filters, typed service handles) and the host side (registry, runtime, stores, reports).
pub mod prelude {
    pub use zelavis_registry::prelude::*;
}

/// The README's examples, compiled and run as doc tests so they never drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
