//! A tenant's grant of one plugin: enabled or not, the version it runs, its pin — and what a tenant's plugin
//! list shows.

use semver::Version;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

use crate::catalog::{CatalogSource, Deprecation};
use crate::time::Timestamp;

/// A tenant's grant of one plugin, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enablement {
    /// The tenant.
    pub tenant: Name,
    /// The plugin.
    pub plugin: Name,
    /// Whether the tenant has it enabled.
    pub enabled: bool,
    /// The version it was enabled at (kept on disable, so re-enabling is visible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// A pin: this version instead of default-latest, until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Version>,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Enablement {
    /// The store key of a tenant's grant of a plugin.
    pub fn key(tenant: &str, plugin: &str) -> String {
        format!("{tenant}|{plugin}")
    }

    /// What a tenant that never enabled a plugin has: a disabled grant without version or pin.
    pub fn never_enabled(tenant: Name, plugin: Name, at: Timestamp) -> Self {
        Self {
            tenant,
            plugin,
            enabled: false,
            version: None,
            pin: None,
            updated_at: at,
        }
    }
}

/// A deprecation banner for a tenant using a deprecated plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Banner {
    /// The tenant.
    pub tenant: Name,
    /// The plugin.
    pub plugin: Name,
    /// The message.
    pub message: String,
    /// The replacement, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Name>,
}

impl Banner {
    /// The banner `tenant` sees for `plugin`, deprecated as `deprecation` says.
    pub fn new(tenant: Name, plugin: Name, deprecation: &Deprecation) -> Self {
        Self {
            tenant,
            plugin,
            message: deprecation.message.clone(),
            replacement: deprecation.replacement.clone(),
        }
    }
}

/// One line of `GET /api/super-admin/tenants/:id/plugins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantPlugin {
    /// The plugin.
    pub plugin: Name,
    /// Its title.
    pub title: String,
    /// Its badge.
    pub source: CatalogSource,
    /// Whether the tenant has it enabled.
    pub enabled: bool,
    /// The version the tenant runs (or would run if it enabled it): the pin, else default-latest.
    pub version: Option<Version>,
    /// The tenant's pin.
    pub pin: Option<Version>,
    /// The deprecation banner, when the plugin is deprecated.
    pub deprecated: Option<Deprecation>,
    /// Whether the kill switch is on.
    pub killed: bool,
}
