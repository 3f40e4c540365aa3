//! The Zelavis plugin author SDK.
//!
//! - [`definition`]: [`PluginDef`] and its builder; [`define_plugin!`] is declarative
//!   sugar over the same builder;
//! - [`extension`]: extension points, policies, typed handles and the attach decision;
//! - [`setup`], [`context`]: what runs at activation and what it sees;
//! - [`manifest`]: the serialisable definition and its JSON Schema;
//! - [`route`], [`migration`]: what setup registers besides services (hooks and filters come from
//!   `zelavis_core::bus`);
//! - [`data`]: JSON payloads for hooks and filters shared with plugins whose code is foreign (WebAssembly);
//! - [`permission`], [`dependency`], [`error`].
//!
//! Start with [`prelude`].

pub mod context;
pub mod data;
pub mod definition;
pub mod dependency;
pub mod error;
pub mod extension;
pub mod manifest;
pub mod migration;
pub mod permission;
pub mod route;
pub mod settings;
pub mod setup;
mod validate;

pub use definition::PluginDef;
pub use error::DefinitionError;
pub use zelavis_plugin_macros::define_plugin;

/// Everything a plugin author needs, in one import.
pub mod prelude {
    pub use crate::context::{ChildFailure, ExtendError, ExtendReport, Finished, Registrations, SetupContext};
    pub use crate::definition::{ExtendsDecl, ExtensionPointDecl, PluginBuilder, PluginDef};
    pub use crate::dependency::Dependency;
    pub use crate::error::{DefinitionError, Problem, ProblemKind};
    pub use crate::extension::{AttachError, Extends, ExtensionPoint, ExtensionPointRef, Policy};
    pub use crate::manifest::{ManifestError, PluginManifest};
    pub use crate::migration::{Migration, MigrationIdError};
    pub use crate::permission::{Permission, PermissionMode};
    pub use crate::route::{Route, RouteError, RouteParams, RouteRequest, RouteResponse};
    pub use crate::settings::{SettingField, SettingKind};
    pub use crate::setup::{ChildSetup, DataChildSetup, OtherError, Setup, SetupError};
    pub use zelavis_core::prelude::*;
    pub use zelavis_plugin_macros::define_plugin;
}
