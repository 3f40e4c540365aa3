//! Plugin health: setup failures, runtime failures (hook, filter, route and page errors) and the last error,
//! as a serialisable snapshot a dashboard can show.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

/// One plugin's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginHealth {
    /// How many times its setup failed (error, panic, timeout, migration).
    pub setup_failures: u64,
    /// How many times its hooks, filters, routes or pages failed at run time.
    pub runtime_failures: u64,
    /// The most recent error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Every plugin's health, by name (plugins without failures are absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthSnapshot {
    /// Health by plugin name, sorted.
    pub plugins: BTreeMap<Name, PluginHealth>,
}

impl HealthSnapshot {
    /// The health of `name` (all zeros when it never failed).
    pub fn of(&self, name: &str) -> PluginHealth {
        self.plugins.get(name).cloned().unwrap_or_default()
    }
}

/// The live record behind snapshots.
#[derive(Debug, Default)]
pub(crate) struct HealthBook {
    plugins: Mutex<HashMap<Name, PluginHealth>>,
}

impl HealthBook {
    pub(crate) fn setup_failure(&self, plugin: &Name, message: String) {
        let mut plugins = self.plugins.lock().unwrap_or_else(PoisonError::into_inner);
        let health = plugins.entry(plugin.clone()).or_default();
        health.setup_failures += 1;
        health.last_error = Some(message);
    }

    pub(crate) fn runtime_failure(&self, plugin: &Name, message: String) {
        let mut plugins = self.plugins.lock().unwrap_or_else(PoisonError::into_inner);
        let health = plugins.entry(plugin.clone()).or_default();
        health.runtime_failures += 1;
        health.last_error = Some(message);
    }

    pub(crate) fn snapshot(&self) -> HealthSnapshot {
        let plugins = self.plugins.lock().unwrap_or_else(PoisonError::into_inner);
        HealthSnapshot {
            plugins: plugins.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }
}
