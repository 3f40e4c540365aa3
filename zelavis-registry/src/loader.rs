//! Loaders: resolve a specifier to a plugin module, the Rust counterpart of a dynamic `import()`.
//!
//! Rust links plugins into the host at build time (or loads them through a host-specific mechanism), so the
//! default [`StaticLoader`] maps specifiers to compiled-in definitions registered explicitly. Hosts add other
//! mechanisms by implementing [`PluginLoader`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;
use zelavis_plugin::{DefinitionError, PluginDef};

use zelavis_core::name::Name;
use zelavis_core::quote::Quoted;

use crate::record::InstallRecord;
use crate::registry::{PluginRegistry, RegistryEntry, RegistryError};

/// What a module exports. A module may export its definition directly, as `plugin`, or as `default`; when
/// several are present the precedence is direct > `plugin` > `default`.
#[derive(Debug, Clone, Default)]
pub struct PluginModule {
    direct: Option<PluginDef>,
    plugin: Option<PluginDef>,
    default: Option<PluginDef>,
}

impl PluginModule {
    /// A module exporting nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Exports the definition directly (the module *is* the definition).
    pub fn direct(mut self, def: PluginDef) -> Self {
        self.direct = Some(def);
        self
    }

    /// Exports the definition as `plugin` (what `define_plugin!` emits).
    pub fn plugin(mut self, def: PluginDef) -> Self {
        self.plugin = Some(def);
        self
    }

    /// Exports the definition as `default`.
    pub fn default_export(mut self, def: PluginDef) -> Self {
        self.default = Some(def);
        self
    }

    /// The definition by precedence direct > `plugin` > `default`.
    pub fn resolve(self, specifier: &str) -> Result<PluginDef, LoadError> {
        self.direct
            .or(self.plugin)
            .or(self.default)
            .ok_or_else(|| LoadError::NoExport {
                specifier: Quoted::new(specifier),
            })
    }
}

impl From<PluginDef> for PluginModule {
    fn from(def: PluginDef) -> Self {
        Self::new().direct(def)
    }
}

/// Why a specifier could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The specifier is empty or blank.
    #[error("plugin specifier is empty")]
    EmptySpecifier,
    /// No module is known under the specifier.
    #[error("no plugin module for specifier {specifier}")]
    NotFound {
        /// The specifier (a bounded copy).
        specifier: Quoted,
    },
    /// The module exports no definition in any of the three shapes.
    #[error("module {specifier} exports no plugin: export the definition directly, as `plugin`, or as `default`")]
    NoExport {
        /// The specifier (a bounded copy).
        specifier: Quoted,
    },
    /// The module's definition is invalid.
    #[error("module {specifier} has an invalid definition: {source}")]
    Definition {
        /// The specifier (a bounded copy).
        specifier: Quoted,
        /// Every problem.
        source: DefinitionError,
    },
    /// The module defines a plugin of another name than the record asked for.
    #[error("module {specifier} defines plugin {found:?}, not {expected:?}")]
    NameMismatch {
        /// The specifier (a bounded copy).
        specifier: Quoted,
        /// The name the record gave.
        expected: Name,
        /// The name the module's plugin has.
        found: Name,
    },
    /// A host loader failed for its own reasons.
    #[error("loading {specifier} failed: {message}")]
    Failed {
        /// The specifier (a bounded copy).
        specifier: Quoted,
        /// Why.
        message: String,
    },
}

/// Resolves specifiers to plugin modules. Hosts implement it for their own mechanisms.
#[async_trait]
pub trait PluginLoader: Send + Sync {
    /// Loads the module behind `specifier`.
    async fn load(&self, specifier: &str) -> Result<PluginModule, LoadError>;
}

type ModuleFn = dyn Fn() -> Result<PluginModule, DefinitionError> + Send + Sync;

/// The default loader: compiled-in plugins registered explicitly under their specifiers.
///
/// ```
/// use zelavis_plugin::prelude::*;
/// use zelavis_registry::loader::{PluginLoader, StaticLoader};
///
/// fn hello() -> Result<PluginDef, DefinitionError> {
///     PluginDef::builder("hello").version("1.0.0").build()
/// }
///
/// let loader = StaticLoader::new().with("@acme/hello", hello);
/// let module = futures::executor::block_on(loader.load("@acme/hello"))?;
/// assert_eq!(module.resolve("@acme/hello")?.name().as_str(), "hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct StaticLoader {
    modules: HashMap<String, Arc<ModuleFn>>,
}

impl StaticLoader {
    /// An empty loader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a plugin export (such as `define_plugin!`'s `plugin`) under `specifier`.
    pub fn with<F>(self, specifier: impl Into<String>, export: F) -> Self
    where
        F: Fn() -> Result<PluginDef, DefinitionError> + Send + Sync + 'static,
    {
        self.with_module(specifier, move || export().map(PluginModule::from))
    }

    /// Registers a module factory under `specifier`.
    pub fn with_module<F>(mut self, specifier: impl Into<String>, module: F) -> Self
    where
        F: Fn() -> Result<PluginModule, DefinitionError> + Send + Sync + 'static,
    {
        self.modules.insert(specifier.into(), Arc::new(module));
        self
    }

    /// The registered specifiers, sorted.
    pub fn specifiers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.modules.keys().map(String::as_str).collect();
        out.sort_unstable();
        out
    }
}

impl fmt::Debug for StaticLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticLoader")
            .field("specifiers", &self.specifiers())
            .finish()
    }
}

#[async_trait]
impl PluginLoader for StaticLoader {
    async fn load(&self, specifier: &str) -> Result<PluginModule, LoadError> {
        if specifier.trim().is_empty() {
            return Err(LoadError::EmptySpecifier);
        }
        let module = self.modules.get(specifier).ok_or_else(|| LoadError::NotFound {
            specifier: Quoted::new(specifier),
        })?;
        module().map_err(|source| LoadError::Definition {
            specifier: Quoted::new(specifier),
            source,
        })
    }
}

/// Why a registry could not be loaded: every failed specifier with its input position, or a registry rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LoadRegistryError {
    /// Some specifiers failed to load.
    #[error("{} plugin(s) failed to load: {}", failures.len(), failures.iter().map(|(i, e)| format!("[{i}] {e}")).collect::<Vec<_>>().join("; "))]
    Load {
        /// Input position and error of each failure.
        failures: Vec<(usize, LoadError)>,
    },
    /// The loaded plugins do not form a valid registry (e.g. duplicate names).
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Loads the plugin of every record concurrently — each record's specifier, or its name when it records none —
/// and builds a registry in record order, each entry carrying its record. A loaded plugin named otherwise than
/// its record is refused ([`LoadError::NameMismatch`]).
///
/// ```
/// use zelavis_registry::prelude::*;
///
/// # futures::executor::block_on(async {
/// let loader = StaticLoader::new().with("@acme/hello", || PluginDef::builder("hello").build());
/// let state = RegistryState::from_json(r#"{ "records": [
///     { "name": "hello", "specifier": "@acme/hello", "status": "installed", "order": 1 }
/// ] }"#)?;
/// let registry = load_registry(&loader, state.records).await?;
/// assert_eq!(registry.get("hello").map(|e| e.record().order), Some(Some(1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn load_registry(
    loader: &dyn PluginLoader,
    records: impl IntoIterator<Item = InstallRecord>,
) -> Result<PluginRegistry, LoadRegistryError> {
    let records: Vec<InstallRecord> = records.into_iter().collect();
    let loaded = futures::future::join_all(records.iter().map(|record| {
        let specifier = record.specifier_or_name().to_owned();
        let span = tracing::info_span!("load", plugin = %record.name, specifier = %specifier);
        tracing::Instrument::instrument(
            async move {
                let def = loader.load(&specifier).await?.resolve(&specifier)?;
                if def.name() != &record.name {
                    return Err(LoadError::NameMismatch {
                        specifier: Quoted::new(&specifier),
                        expected: record.name.clone(),
                        found: def.name().clone(),
                    });
                }
                Ok(def)
            },
            span,
        )
    }))
    .await;
    let mut entries = Vec::with_capacity(records.len());
    let mut failures = Vec::new();
    for (i, (record, result)) in records.into_iter().zip(loaded).enumerate() {
        match result {
            Ok(def) => entries.push(RegistryEntry::with_record(def, record)),
            Err(error) => failures.push((i, error)),
        }
    }
    if !failures.is_empty() {
        return Err(LoadRegistryError::Load { failures });
    }
    Ok(PluginRegistry::new(entries)?)
}
