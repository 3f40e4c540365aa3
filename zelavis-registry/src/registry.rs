//! The plugin registry: every plugin a host knows, with its runtime status, source, activation order and pin.
//!
//! A [`PluginRegistry`] maps plugin names to [`RegistryEntry`] values in insertion order; that order is the
//! tie-breaker of activation. Its install state is read and written as a
//! [`RegistryState`](crate::state::RegistryState) with
//! [`apply_state`](PluginRegistry::apply_state) and [`serialize_state`](PluginRegistry::serialize_state).
//!
//! # Removing a plugin does not unload its code
//!
//! Rust cannot safely unload code that is linked into the host or already loaded: a removed plugin's code stays
//! in the binary (or the loaded library) until the process exits. [`PluginRegistry::remove`] removes the plugin
//! from registry and config state, so that it is no longer listed, installed or activated, and nothing more.

use std::fmt;

use schemars::JsonSchema;
use semver::Version;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zelavis_core::name::{Name, NameError};
use zelavis_core::quote::Quoted;
use zelavis_plugin::PluginDef;

use crate::hash::IndexMap;
use crate::record::InstallRecord;
use crate::source::Source;

/// Whether a plugin is merely known (`available`) or installed (`installed`); only installed plugins activate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Known to the host, not installed: it does not activate.
    Available,
    /// Installed: it activates.
    Installed,
}

impl Status {
    /// The JSON spelling, `available` or `installed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Installed => "installed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One plugin in a registry: its definition (code included) and its [install record](InstallRecord).
///
/// ```
/// use zelavis_registry::prelude::*;
///
/// let shop = PluginDef::builder("zelavis-ecommerce").build()?;
/// let entry = RegistryEntry::installed(shop).order(10).source(Source::Official);
/// assert_eq!(entry.name().as_str(), "zelavis-ecommerce");
/// assert_eq!((entry.status(), entry.record().order), (Status::Installed, Some(10)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RegistryEntry {
    /// The plugin's definition; its name is the entry's key.
    pub plugin: PluginDef,
    /// Its install record (named like the plugin).
    pub(crate) record: InstallRecord,
}

impl RegistryEntry {
    /// An entry for `plugin` with `status` and nothing else recorded.
    pub fn new(plugin: PluginDef, status: Status) -> Self {
        let record = InstallRecord::new(plugin.name().clone(), status);
        Self { plugin, record }
    }

    /// An entry for `plugin` with `record`'s values (its name is the plugin's, whatever `record` says).
    pub fn with_record(plugin: PluginDef, mut record: InstallRecord) -> Self {
        record.name = plugin.name().clone();
        Self { plugin, record }
    }

    /// An installed entry for `plugin`.
    pub fn installed(plugin: PluginDef) -> Self {
        Self::new(plugin, Status::Installed)
    }

    /// An available (not installed) entry for `plugin`.
    pub fn available(plugin: PluginDef) -> Self {
        Self::new(plugin, Status::Available)
    }

    /// Sets the specifier.
    #[must_use]
    pub fn specifier(mut self, specifier: impl Into<String>) -> Self {
        self.record.specifier = Some(specifier.into());
        self
    }

    /// Sets the source.
    #[must_use]
    pub fn source(mut self, source: Source) -> Self {
        self.record.source = Some(source);
        self
    }

    /// Sets the activation order.
    #[must_use]
    pub fn order(mut self, order: u32) -> Self {
        self.record.order = Some(order);
        self
    }

    /// Pins a version.
    #[must_use]
    pub fn pin(mut self, version: Version) -> Self {
        self.record.pin = Some(version);
        self
    }

    /// The plugin's name.
    pub fn name(&self) -> &Name {
        self.plugin.name()
    }

    /// The install record.
    pub fn record(&self) -> &InstallRecord {
        &self.record
    }

    /// Available or installed.
    pub fn status(&self) -> Status {
        self.record.status
    }

    /// Whether the plugin is installed.
    pub fn is_installed(&self) -> bool {
        self.record.is_installed()
    }
}

/// Why a registry operation was refused. Positions are 0-based indices in registry order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two entries share a name.
    #[error("registry entries {first} and {second} are both named {name:?}; plugin names must be unique")]
    Duplicate {
        /// The shared name.
        name: Name,
        /// The position of the entry already there.
        first: usize,
        /// The position of the entry that repeats it.
        second: usize,
    },
    /// No entry has this name.
    #[error("plugin {name} is not in the registry")]
    NotFound {
        /// The name as given (a bounded copy).
        name: Quoted,
    },
    /// An empty or blank name was given.
    #[error("plugin name {name} is blank")]
    BlankName {
        /// The name as given (a bounded copy).
        name: Quoted,
    },
    /// A name that breaks the name grammar was given.
    #[error("plugin name {name} is invalid: {source}")]
    InvalidName {
        /// The name as given (a bounded copy).
        name: Quoted,
        /// The broken rule.
        source: NameError,
    },
}

/// The plugins a host knows, keyed by name, in insertion order.
///
/// ```
/// use zelavis_registry::prelude::*;
///
/// let shop = PluginDef::builder("zelavis-ecommerce").build()?;
/// let blog = PluginDef::builder("blog").build()?;
/// let mut registry = PluginRegistry::new(vec![
///     RegistryEntry::installed(shop.clone()),
///     RegistryEntry::available(blog),
/// ])?;
///
/// let names: Vec<&str> = registry.installed().map(|e| e.name().as_str()).collect();
/// assert_eq!(names, ["zelavis-ecommerce"]);
///
/// registry.set_status("blog", Status::Installed)?;
/// assert_eq!(registry.installed().count(), 2);
///
/// let err = PluginRegistry::new(vec![RegistryEntry::installed(shop.clone()), RegistryEntry::available(shop)]);
/// assert!(matches!(err, Err(RegistryError::Duplicate { first: 0, second: 1, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct PluginRegistry {
    pub(crate) entries: IndexMap<Name, RegistryEntry>,
}

impl PluginRegistry {
    /// A registry of `entries`, in order; two entries with the same name are refused, naming both positions.
    pub fn new(entries: impl IntoIterator<Item = RegistryEntry>) -> Result<Self, RegistryError> {
        let mut registry = Self::default();
        for entry in entries {
            registry.insert(entry)?;
        }
        Ok(registry)
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&RegistryEntry> {
        self.entries.get(name)
    }

    /// The entry at `position` in registry order.
    pub(crate) fn entry_at(&self, position: usize) -> Option<&RegistryEntry> {
        self.entries.get_index(position).map(|(_, entry)| entry)
    }

    /// Whether a plugin is named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The position of the plugin named `name` in registry order.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.entries.get_index_of(name)
    }

    /// Every entry, in registry order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &RegistryEntry> + DoubleEndedIterator {
        self.entries.values()
    }

    /// The installed entries, in registry order.
    pub fn installed(&self) -> impl DoubleEndedIterator<Item = &RegistryEntry> {
        self.entries.values().filter(|e| e.is_installed())
    }

    /// How many plugins there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `entry` at the end; a plugin of the same name already there is refused (see [`upsert`](Self::upsert)
    /// to replace it).
    pub fn insert(&mut self, entry: RegistryEntry) -> Result<(), RegistryError> {
        if let Some(first) = self.entries.get_index_of(entry.name().as_str()) {
            return Err(RegistryError::Duplicate {
                name: entry.name().clone(),
                first,
                second: self.entries.len(),
            });
        }
        tracing::debug!(plugin = %entry.name(), status = %entry.record.status, "registry insert");
        self.entries.insert(entry.name().clone(), entry);
        Ok(())
    }

    /// Adds `entry`, or replaces the entry of the same name **in its position**; returns the replaced entry.
    pub fn upsert(&mut self, entry: RegistryEntry) -> Option<RegistryEntry> {
        tracing::debug!(plugin = %entry.name(), status = %entry.record.status, "registry upsert");
        self.entries.insert(entry.name().clone(), entry)
    }

    /// Sets the status of the plugin named `name` and returns its previous status.
    pub fn set_status(&mut self, name: &str, status: Status) -> Result<Status, RegistryError> {
        let entry = self.entries.get_mut(name).ok_or_else(|| RegistryError::NotFound {
            name: Quoted::new(name),
        })?;
        tracing::debug!(plugin = %entry.name(), from = %entry.record.status, to = %status, "registry status");
        Ok(std::mem::replace(&mut entry.record.status, status))
    }

    /// A registry without the plugin named `name`; the others keep their order.
    ///
    /// A valid name that is not in the registry is not an error: the result is an unchanged copy. An empty or
    /// blank name ([`RegistryError::BlankName`]) and a name that breaks the name grammar
    /// ([`RegistryError::InvalidName`]) are errors.
    ///
    /// **This does not unload code.** Rust cannot safely unload code that is linked into the host or already
    /// loaded; the plugin's code stays in the binary. Removing takes the plugin out of registry and config
    /// state: it is no longer listed, installed, activated or written by
    /// [`serialize_state`](Self::serialize_state).
    ///
    /// ```
    /// use zelavis_registry::prelude::*;
    ///
    /// let registry = PluginRegistry::new(vec![
    ///     RegistryEntry::installed(PluginDef::builder("a").build()?),
    ///     RegistryEntry::installed(PluginDef::builder("b").build()?),
    /// ])?;
    /// let without_a = registry.remove("a")?;
    /// assert_eq!(without_a.len(), 1);
    /// assert_eq!(registry.remove("unknown")?.len(), 2);
    /// assert!(matches!(registry.remove("  "), Err(RegistryError::BlankName { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove(&self, name: &str) -> Result<PluginRegistry, RegistryError> {
        if name.trim().is_empty() {
            return Err(RegistryError::BlankName {
                name: Quoted::new(name),
            });
        }
        zelavis_core::name::validate(name).map_err(|source| RegistryError::InvalidName {
            name: Quoted::new(name),
            source,
        })?;
        let mut next = self.clone();
        if next.entries.shift_remove(name).is_some() {
            tracing::debug!(
                plugin = name,
                "registry remove (code stays linked; only registry state changes)"
            );
        }
        Ok(next)
    }
}

impl<'a> IntoIterator for &'a PluginRegistry {
    type Item = &'a RegistryEntry;
    type IntoIter = indexmap::map::Values<'a, Name, RegistryEntry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.values()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn def(name: &str) -> PluginDef {
        PluginDef::builder(name).build().unwrap()
    }

    fn names(registry: &PluginRegistry) -> Vec<&str> {
        registry.iter().map(|e| e.name().as_str()).collect()
    }

    #[test]
    fn status_spelling() {
        assert_eq!(serde_json::to_string(&Status::Installed).unwrap(), "\"installed\"");
        assert_eq!(
            serde_json::from_str::<Status>("\"available\"").unwrap(),
            Status::Available
        );
        assert!(serde_json::from_str::<Status>("\"Installed\"").is_err());
    }

    #[test]
    fn insert_refuses_a_duplicate_naming_both_positions() {
        let mut registry =
            PluginRegistry::new([RegistryEntry::installed(def("a")), RegistryEntry::installed(def("b"))]).unwrap();
        let err = registry.insert(RegistryEntry::available(def("a"))).unwrap_err();
        assert_eq!(
            err,
            RegistryError::Duplicate {
                name: Name::parse("a").unwrap(),
                first: 0,
                second: 2
            }
        );
        assert!(err.to_string().contains("\"a\""), "{err}");
        assert_eq!(names(&registry), ["a", "b"]);
    }

    #[test]
    fn upsert_replaces_in_place() {
        let mut registry = PluginRegistry::new([
            RegistryEntry::installed(def("a")),
            RegistryEntry::installed(def("b")),
            RegistryEntry::installed(def("c")),
        ])
        .unwrap();
        let old = registry.upsert(RegistryEntry::available(def("b")).order(3));
        assert_eq!(old.map(|e| e.status()), Some(Status::Installed));
        assert_eq!(names(&registry), ["a", "b", "c"]);
        assert_eq!(
            registry.get("b").map(|e| (e.status(), e.record.order)),
            Some((Status::Available, Some(3)))
        );
        assert!(registry.upsert(RegistryEntry::available(def("d"))).is_none());
        assert_eq!(names(&registry), ["a", "b", "c", "d"]);
    }

    #[test]
    fn set_status_of_an_unknown_plugin_is_an_error() {
        let mut registry = PluginRegistry::new([RegistryEntry::available(def("a"))]).unwrap();
        assert_eq!(registry.set_status("a", Status::Installed), Ok(Status::Available));
        assert_eq!(
            registry.set_status("zz", Status::Installed),
            Err(RegistryError::NotFound { name: "zz".into() })
        );
    }

    #[test]
    fn remove_keeps_the_original_and_the_order() {
        let registry = PluginRegistry::new([
            RegistryEntry::installed(def("a")),
            RegistryEntry::installed(def("b")),
            RegistryEntry::installed(def("c")),
        ])
        .unwrap();
        let without_b = registry.remove("b").unwrap();
        assert_eq!(names(&without_b), ["a", "c"]);
        assert_eq!(names(&registry), ["a", "b", "c"]);
        assert!(matches!(registry.remove(""), Err(RegistryError::BlankName { .. })));
        assert!(matches!(
            registry.remove("Nope"),
            Err(RegistryError::InvalidName { .. })
        ));
    }
}
