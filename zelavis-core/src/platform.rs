//! [`PlatformSummary`]: the standard facts a host tells every plugin at setup.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the host platform offers, in plain data: enabled presets, available resources and free-form metadata.
///
/// ```
/// use zelavis_core::platform::PlatformSummary;
///
/// let platform = PlatformSummary::default()
///     .preset("ecommerce")
///     .resource("database", true)
///     .resource("queue", false)
///     .metadata("region", "eu-west");
/// assert!(platform.has_resource("database"));
/// assert!(!platform.has_resource("queue"));
/// assert!(!platform.has_resource("gpu"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformSummary {
    /// Names of the presets the host enabled.
    #[serde(default)]
    pub presets: Vec<String>,
    /// Resources by name, `true` when available.
    #[serde(default)]
    pub resources: BTreeMap<String, bool>,
    /// Anything else the host wants plugins to know.
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl PlatformSummary {
    /// Adds a preset name.
    pub fn preset(mut self, name: impl Into<String>) -> Self {
        self.presets.push(name.into());
        self
    }

    /// Sets whether a resource is available.
    pub fn resource(mut self, name: impl Into<String>, available: bool) -> Self {
        self.resources.insert(name.into(), available);
        self
    }

    /// Sets a metadata value.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Whether the preset is enabled.
    pub fn has_preset(&self, name: &str) -> bool {
        self.presets.iter().any(|p| p == name)
    }

    /// Whether the resource is declared and available.
    pub fn has_resource(&self, name: &str) -> bool {
        self.resources.get(name).copied().unwrap_or(false)
    }
}
