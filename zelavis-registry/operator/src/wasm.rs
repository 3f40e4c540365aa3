//! The WebAssembly sandbox for published plugins (feature `wasm`): [`WasmSandbox`] accepts a verified bundle's
//! `plugin.wasm` into the plugin cache (`.zelavis/plugins/<plugin>/<version>/plugin.wasm`), smoke-tests it in a
//! throw-away runtime, and serves as the [`ReleaseSource`] that loads published releases for tenants — so an
//! uploaded version really runs, sandboxed, without a restart.

use std::time::Instant;

use async_trait::async_trait;
use semver::Version;
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;
use zelavis_plugin::manifest::PluginManifest;
use zelavis_registry::registry::{PluginRegistry, RegistryEntry};
use zelavis_registry::report::Outcome;
use zelavis_registry::runtime::Runtime;
use zelavis_wasm::WasmLoader;

use crate::bundle::Bundle;
use crate::host::{HostError, ReleaseSource};
use crate::rollout::{Sandbox, SmokeReport};

/// Published WebAssembly plugins: accepted into a [`WasmLoader`]'s cache, smoke-tested, loaded for tenants.
///
/// ```
/// use zelavis_operator::wasm::WasmSandbox;
/// use zelavis_wasm::WasmLoader;
///
/// let dir = tempfile::tempdir().unwrap();
/// let sandbox = WasmSandbox::new(WasmLoader::new(dir.path()));
/// assert_eq!(sandbox.loader().cache_dir(), dir.path());
/// ```
#[derive(Clone)]
pub struct WasmSandbox {
    loader: WasmLoader,
}

impl WasmSandbox {
    /// A sandbox over `loader` (its cache directory and limits).
    pub fn new(loader: WasmLoader) -> Self {
        Self { loader }
    }

    /// The loader.
    pub fn loader(&self) -> &WasmLoader {
        &self.loader
    }

    /// The bundle's module, checked against the bundle's manifest: the module carries its own manifest, and
    /// the two must be the same plugin, version and declarations.
    fn definition(&self, bundle: &Bundle) -> Result<PluginDef, HostError> {
        let module = self
            .loader
            .load_bytes(bundle.module())
            .map_err(|e| HostError(format!("plugin.wasm: {e}")))?;
        let text = std::str::from_utf8(bundle.manifest_bytes()).unwrap_or_default();
        let mut declared =
            PluginManifest::from_json(text).map_err(|e| HostError(format!("zelavis.plugin.json: {e}")))?;
        declared.schema = None;
        let mut embedded = module.manifest().clone();
        embedded.schema = None;
        if declared != embedded {
            return Err(HostError(format!(
                "zelavis.plugin.json ({}@{}) does not match the manifest inside plugin.wasm ({}@{})",
                declared.name, declared.version, embedded.name, embedded.version
            )));
        }
        module.definition().map_err(|e| HostError(format!("plugin.wasm: {e}")))
    }
}

#[async_trait]
impl Sandbox for WasmSandbox {
    async fn accept(&self, bundle: &Bundle) -> Result<(), HostError> {
        self.definition(bundle)?;
        self.loader
            .upload(bundle.module())
            .map(drop)
            .map_err(|e| HostError(e.to_string()))
    }

    async fn smoke_test(&self, bundle: &Bundle) -> Result<SmokeReport, HostError> {
        let started = Instant::now();
        let def = self.definition(bundle)?;
        let name = def.name().clone();
        let before = self.loader.health().of(name.as_str());
        let mut report = SmokeReport::default();
        let registry =
            PluginRegistry::new([RegistryEntry::installed(def.clone())]).map_err(|e| HostError(e.to_string()))?;
        // A throw-away runtime: its own bus, an in-memory migration ledger, no store.
        let (runtime, activation) = Runtime::builder(registry)
            .start()
            .await
            .map_err(|e| HostError(e.to_string()))?;
        match activation.outcome(name.as_str()) {
            Some(Outcome::Activated) => report.checks.push("activated".to_owned()),
            other => report.failures.push(format!("did not activate: {other:?}")),
        }
        for plugin in activation.plugins() {
            report.migrations += plugin.migrations.len() as u64;
            for migration in &plugin.migrations {
                report.checks.push(format!("migration {migration} applied"));
            }
        }
        for page in def.pages() {
            match runtime.render_page_response(name.as_str(), &page.id) {
                Ok(response) if response.status < 500 => report
                    .checks
                    .push(format!("page {} rendered {}", page.id, response.status)),
                Ok(response) => report
                    .failures
                    .push(format!("page {} answered {}", page.id, response.status)),
                Err(e) => report.failures.push(format!("page {} failed: {e}", page.id)),
            }
        }
        for route in runtime.routes() {
            let method = route.route.method().clone();
            let path = synthetic_path(&route.path);
            let request = http::Request::builder()
                .method(method.clone())
                .uri(path.as_str())
                .body(Vec::new())
                .map_err(|e| HostError(e.to_string()))?;
            match runtime.call_route(&method, &path, request).await {
                Ok(response) if response.status().as_u16() < 500 => {
                    report.checks.push(format!(
                        "route {method} {} answered {}",
                        route.path,
                        response.status().as_u16()
                    ));
                }
                Ok(response) => report.failures.push(format!(
                    "route {method} {} answered {}",
                    route.path,
                    response.status().as_u16()
                )),
                Err(e) => report
                    .failures
                    .push(format!("route {method} {} failed: {e}", route.path)),
            }
        }
        let after = self.loader.health().of(name.as_str());
        for (kind, count) in &after.stopped {
            let new = count.saturating_sub(before.stops(*kind));
            if new > 0 {
                report.failures.push(format!("{new} call(s) stopped: {kind:?}"));
            }
        }
        report.fuel_total = after.fuel_total.saturating_sub(before.fuel_total);
        report.fuel_max = after.fuel_max;
        report.memory_peak_bytes = after.memory_peak_bytes;
        report.elapsed_micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        report.passed = report.failures.is_empty();
        Ok(report)
    }
}

#[async_trait]
impl ReleaseSource for WasmSandbox {
    async fn load(&self, plugin: &Name, version: &Version) -> Result<PluginDef, HostError> {
        self.loader
            .definition(&WasmLoader::specifier(plugin, version))
            .map_err(|e| HostError(e.to_string()))
    }
}

/// A concrete path for a route pattern: each `{name}` becomes `smoke`, a `{*rest}` becomes `smoke/test`.
fn synthetic_path(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| {
            if segment.starts_with("{*") {
                "smoke/test"
            } else if segment.starts_with('{') {
                "smoke"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::synthetic_path;

    #[test]
    fn route_patterns_get_concrete_paths() {
        assert_eq!(
            synthetic_path("/zelavis/api/v1/plugins/pay/orders/{id}"),
            "/zelavis/api/v1/plugins/pay/orders/smoke"
        );
        assert_eq!(synthetic_path("/a/{*rest}"), "/a/smoke/test");
        assert_eq!(synthetic_path("/a/b"), "/a/b");
    }
}
