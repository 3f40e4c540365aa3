//! Typed health of WebAssembly plugins: calls, and each stop by its [`StopKind`]. The runtime's own health
//! ([`Runtime::health`](zelavis_registry::runtime::Runtime::health)) counts the same failures, with the typed
//! reason in the message, because a wasm hook, filter, route or page fails like any other.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

use crate::error::{CallError, StopKind};

/// One plugin's calls and stops (all its versions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmPluginHealth {
    /// Calls made.
    pub calls: u64,
    /// Calls stopped, by reason.
    pub stopped: BTreeMap<StopKind, u64>,
    /// The last stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<CallError>,
    /// Fuel (about one unit per instruction) used by all finished calls.
    #[serde(default)]
    pub fuel_total: u64,
    /// The most fuel one finished call used.
    #[serde(default)]
    pub fuel_max: u64,
    /// The largest linear memory a finished call ended with, in bytes.
    #[serde(default)]
    pub memory_peak_bytes: u64,
}

impl WasmPluginHealth {
    /// How many calls stopped for `kind`.
    pub fn stops(&self, kind: StopKind) -> u64 {
        self.stopped.get(&kind).copied().unwrap_or(0)
    }
}

/// Every wasm plugin's health, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmHealth {
    /// Health by plugin name.
    pub plugins: BTreeMap<Name, WasmPluginHealth>,
}

impl WasmHealth {
    /// The health of `name` (zeros when it never ran).
    pub fn of(&self, name: &str) -> WasmPluginHealth {
        self.plugins.get(name).cloned().unwrap_or_default()
    }
}

/// One plugin's live counters: a call costs one relaxed increment; only stops take the lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) calls: AtomicU64,
    fuel_total: AtomicU64,
    fuel_max: AtomicU64,
    memory_peak: AtomicU64,
    stops: Mutex<(BTreeMap<StopKind, u64>, Option<CallError>)>,
}

impl Counters {
    pub(crate) fn cost(&self, cost: crate::engine::CallCost) {
        self.fuel_total.fetch_add(cost.fuel, Ordering::Relaxed);
        self.fuel_max.fetch_max(cost.fuel, Ordering::Relaxed);
        self.memory_peak.fetch_max(cost.memory_bytes, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, error: &CallError) {
        let mut stops = self.stops.lock().unwrap_or_else(PoisonError::into_inner);
        *stops.0.entry(error.stop.kind()).or_default() += 1;
        stops.1 = Some(error.clone());
    }

    fn snapshot(&self) -> WasmPluginHealth {
        let stops = self.stops.lock().unwrap_or_else(PoisonError::into_inner);
        WasmPluginHealth {
            calls: self.calls.load(Ordering::Relaxed),
            stopped: stops.0.clone(),
            last_error: stops.1.clone(),
            fuel_total: self.fuel_total.load(Ordering::Relaxed),
            fuel_max: self.fuel_max.load(Ordering::Relaxed),
            memory_peak_bytes: self.memory_peak.load(Ordering::Relaxed),
        }
    }
}

/// The counters of every plugin a loader loaded.
#[derive(Debug, Default)]
pub(crate) struct HealthBook {
    by_plugin: Mutex<HashMap<Name, Arc<Counters>>>,
}

impl HealthBook {
    pub(crate) fn counters(&self, plugin: &Name) -> Arc<Counters> {
        self.by_plugin
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(plugin.clone())
            .or_default()
            .clone()
    }

    pub(crate) fn snapshot(&self) -> WasmHealth {
        let by_plugin = self.by_plugin.lock().unwrap_or_else(PoisonError::into_inner);
        WasmHealth {
            plugins: by_plugin.iter().map(|(n, c)| (n.clone(), c.snapshot())).collect(),
        }
    }
}
