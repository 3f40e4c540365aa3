//! The Zelavis registry: what a host knows about plugins, and what it has installed.
//!
//! - [`catalog`]: the Marketplace [`Catalog`](catalog::Catalog) of [`CatalogEntry`](catalog::CatalogEntry)
//!   metadata, never executed;
//! - [`registry`]: the [`PluginRegistry`](registry::PluginRegistry) of plugins with their runtime status;
//! - [`record`], [`state`]: one plugin's [`InstallRecord`](record::InstallRecord), and the serialisable install
//!   state, [`RegistryState`](state::RegistryState), applied to and written from a registry;
//! - [`source`]: where a plugin comes from, shared by all three;
//! - [`loader`]: specifiers to plugin modules (the counterpart of `import()`), [`StaticLoader`](loader::StaticLoader)
//!   by default;
//! - [`activation`], [`mount`], [`report`]: setting plugins up in isolation, what they mount, and the
//!   [`ActivationReport`](report::ActivationReport) of every change;
//! - [`runtime`]: the live [`Runtime`](runtime::Runtime) and its verbs, recomposed incrementally, persisted in its
//!   store;
//! - [`follow`]: keeps a runtime in step with other hosts on its store;
//! - [`controller`]: [`ActivationController`](controller::ActivationController)s that apply install changes;
//! - [`dashboard`]: the dashboard model — navigation, page replies, configuration and Marketplace, as data;
//! - [`health`], [`ledger`]: plugin health and the migration ledger;
//! - [`timer`]: the one [`Timer`](timer::Timer) the runtime waits with;
//! - [`store`]: where state lives — the [`RegistryStore`](store::RegistryStore) contract, its backends and the
//!   conformance kit.
//!
//! Start with [`prelude`].

pub mod activation;
pub mod catalog;
pub mod controller;
pub mod dashboard;
pub mod follow;
mod graph;
mod hash;
pub mod health;
mod json;
pub mod ledger;
pub mod loader;
pub mod mount;
mod plan;
pub mod record;
pub mod registry;
pub mod report;
pub mod runtime;
pub mod source;
pub mod state;
pub mod store;
pub mod timer;

/// The registry's types, and the plugin SDK's, in one import.
pub mod prelude {
    pub use crate::activation::ActivationOptions;
    pub use crate::catalog::{Catalog, CatalogEntry, CatalogError, Claim, Compatibility, Grants, ReviewStatus};
    pub use crate::controller::{
        ActivationController, ControllerAnswer, ControllerCapabilities, ControllerState, NoController, Refusal,
        RuntimeGraphController, Strategy,
    };
    pub use crate::dashboard::{DashboardConfig, DashboardSources, Marketplace, Navigation, PageReply};
    pub use crate::follow::{FollowError, Follower};
    pub use crate::health::{HealthSnapshot, PluginHealth};
    pub use crate::ledger::{MemoryLedger, MigrationLedger};
    pub use crate::loader::{LoadError, PluginLoader, PluginModule, StaticLoader, load_registry};
    pub use crate::mount::MountedRoute;
    pub use crate::record::InstallRecord;
    pub use crate::registry::{PluginRegistry, RegistryEntry, RegistryError, Status};
    pub use crate::report::{ActivationReport, FailReason, Outcome, PluginReport, RegistrationConflict, SkipReason};
    pub use crate::runtime::{Cascade, RouteCallError, Runtime, RuntimeBuilder, RuntimeError, StateApplied};
    pub use crate::source::Source;
    pub use crate::state::{AppliedState, RegistryState, StateError};
    pub use crate::store::{Change, RegistryStore, Revision, Scope, StoreError, Stored};
    pub use crate::timer::Timer;
    #[cfg(feature = "tokio")]
    pub use crate::timer::TokioTimer;
    pub use zelavis_core::bus::{Bus, FilterRef, HookRef, Subscription};
    pub use zelavis_plugin::prelude::*;
}
