//! [`WasmController`]: the in-process runtime-graph controller with a [`WasmLoader`]: uploaded modules install
//! live and run isolated, and hosts sharing a store and a module cache converge on them.

use async_trait::async_trait;
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;
use zelavis_registry::controller::{
    ActivationController, ControllerAnswer, ControllerCapabilities, RuntimeGraphController,
};
use zelavis_registry::registry::RegistryEntry;
use zelavis_registry::report::ActivationReport;
use zelavis_registry::runtime::{Cascade, Runtime, RuntimeError};

use crate::error::WasmError;
use crate::loader::{SCHEME, WasmLoader};

/// Why an upload or a reconciliation did not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControllerError {
    /// The module was refused.
    #[error(transparent)]
    Wasm(#[from] WasmError),
    /// The runtime refused the change.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// The runtime-graph controller for WebAssembly plugins: `supports_runtime_install`,
/// `supports_uploaded_specifiers` and `supports_isolated_execution` are all true.
///
/// [`upload`](Self::upload) takes a `.wasm` (what the dashboard's Marketplace upload hands over), caches it and
/// installs it live — or updates the plugin when an older version is installed. [`reconcile`](Self::reconcile)
/// makes a host that follows a shared store load, update or drop the wasm plugins another host changed.
///
/// ```no_run
/// use zelavis_registry::prelude::*;
/// use zelavis_wasm::{WasmController, WasmLoader};
///
/// # async fn run(bytes: Vec<u8>) -> Result<(), Box<dyn std::error::Error>> {
/// let (runtime, _) = Runtime::builder(PluginRegistry::new([])?).start().await?;
/// let controller = WasmController::new(runtime, WasmLoader::new(zelavis_wasm::DEFAULT_CACHE_DIR));
/// assert!(controller.capabilities().supports_isolated_execution);
/// let answer = controller.upload(&bytes).await?;
/// println!("{}", answer.message);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct WasmController {
    graph: RuntimeGraphController,
    loader: WasmLoader,
}

impl WasmController {
    /// A controller recomposing `runtime`, loading with `loader`.
    pub fn new(runtime: Runtime, loader: WasmLoader) -> Self {
        Self {
            graph: RuntimeGraphController::new(runtime).with_isolated_uploads(),
            loader,
        }
    }

    /// The runtime it recomposes.
    pub fn runtime(&self) -> &Runtime {
        self.graph.runtime()
    }

    /// Its loader.
    pub fn loader(&self) -> &WasmLoader {
        &self.loader
    }

    /// Takes an uploaded module: validates and caches it ([`WasmLoader::upload`]), then installs it (active at
    /// once) or, when the plugin is in the registry already, updates it to this version and records the new
    /// specifier.
    pub async fn upload(&self, bytes: &[u8]) -> Result<ControllerAnswer, ControllerError> {
        let uploaded = self.loader.upload(bytes)?;
        let name = uploaded.definition.name().clone();
        let runtime = self.runtime();
        let report = if runtime.entry(name.as_str()).await.is_some() {
            runtime
                .update_with_specifier(uploaded.definition, &uploaded.specifier)
                .await?
        } else {
            let entry = RegistryEntry::installed(uploaded.definition).specifier(&uploaded.specifier);
            runtime.install(entry).await?
        };
        let live = report.is_live(name.as_str()) || runtime.is_active(name.as_str()).await;
        let message = if live {
            format!("{} is live", uploaded.specifier)
        } else {
            format!(
                "{} is installed but not live: {}",
                uploaded.specifier,
                report
                    .outcome(name.as_str())
                    .map_or_else(|| "see the report".to_owned(), ToString::to_string)
            )
        };
        let answer = if live {
            ControllerAnswer::active(message)
        } else {
            ControllerAnswer::pending(message)
        };
        Ok(answer.with_report(report))
    }

    /// Brings this host in line with the stored state for wasm plugins (call it after following the store,
    /// e.g. after `runtime.follower()?.sync()`): a record with a `wasm:` specifier of a plugin this host does not
    /// know is loaded from the shared cache and installed; a plugin whose recorded specifier names another
    /// version is updated to it; a wasm plugin whose record is gone is uninstalled, which drops its code.
    pub async fn reconcile(&self) -> Result<ActivationReport, ControllerError> {
        let runtime = self.runtime();
        let state = runtime.state().await;
        let registry = runtime.registry().await;
        let mut lines = Vec::new();
        for record in &state.records {
            let Some(specifier) = record.specifier.as_deref().filter(|s| s.starts_with(SCHEME)) else {
                continue;
            };
            match registry.get(record.name.as_str()) {
                None => {
                    let def = self.loader.definition(specifier)?;
                    lines.push(runtime.install(RegistryEntry::with_record(def, record.clone())).await?);
                }
                Some(entry) => {
                    let (_, version) = WasmLoader::parse_specifier(specifier)?;
                    if entry.plugin.version() != &version {
                        lines.push(runtime.update(self.loader.definition(specifier)?).await?);
                    }
                }
            }
        }
        // A plugin whose record another host removed keeps no specifier here: its module tells it is wasm.
        let loaded = self.loader.loaded();
        for entry in registry.iter() {
            let wasm = loaded
                .iter()
                .any(|(n, v)| n == entry.name() && v == entry.plugin.version());
            if wasm && state.get(entry.name().as_str()).is_none() {
                lines.push(runtime.uninstall(entry.name().as_str(), Cascade::Yes).await?);
            }
        }
        Ok(lines.into_iter().fold(ActivationReport::default(), merge))
    }
}

/// One report of two changes: every line of both, the later line of a plugin winning.
#[allow(
    clippy::needless_pass_by_value,
    reason = "folds reports, which are handed over whole"
)]
fn merge(first: ActivationReport, second: ActivationReport) -> ActivationReport {
    let mut lines: Vec<_> = first
        .plugins()
        .iter()
        .filter(|line| second.get(line.name.as_str()).is_none())
        .cloned()
        .collect();
    lines.extend(second.plugins().iter().cloned());
    ActivationReport::new(lines)
}

#[async_trait]
impl ActivationController for WasmController {
    fn capabilities(&self) -> ControllerCapabilities {
        self.graph.capabilities()
    }

    async fn install(&self, entry: RegistryEntry) -> ControllerAnswer {
        self.graph.install(entry).await
    }

    async fn enable(&self, name: &Name) -> ControllerAnswer {
        self.graph.enable(name).await
    }

    async fn disable(&self, name: &Name) -> ControllerAnswer {
        self.graph.disable(name).await
    }

    async fn update(&self, def: PluginDef) -> ControllerAnswer {
        self.graph.update(def).await
    }

    async fn uninstall(&self, name: &Name) -> ControllerAnswer {
        self.graph.uninstall(name).await
    }
}
