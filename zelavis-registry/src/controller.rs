//! [`ActivationController`]: how a platform applies install changes. Adapter-owned; the dashboard shows its
//! capabilities. [`RuntimeGraphController`] recomposes the in-process runtime without a restart.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;

use crate::registry::RegistryEntry;
use crate::report::Outcome;
use crate::runtime::{Cascade, Runtime};

/// How a controller activates plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// In-process: the live runtime graph is recomposed.
    RuntimeGraph,
    /// Plugins run in workers; changes apply when workers restart.
    WorkerBoundary,
    /// Plugins run as functions deployed by a provider.
    FunctionBoundary,
    /// Something else, described by the adapter.
    Custom,
}

/// What a controller can do, shown by the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerCapabilities {
    /// How it activates.
    pub strategy: Strategy,
    /// Whether installs apply at run time.
    pub supports_runtime_install: bool,
    /// Whether it accepts specifiers uploaded by operators.
    pub supports_uploaded_specifiers: bool,
    /// Whether plugins run isolated from the host process.
    pub supports_isolated_execution: bool,
}

/// Whether a change is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControllerState {
    /// The change is live.
    Active,
    /// The change is recorded and applies later (e.g. on restart or redeploy).
    Pending,
}

/// A controller's answer to an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerAnswer {
    /// Live or pending.
    pub state: ControllerState,
    /// What happened, for people.
    pub message: String,
}

impl ControllerAnswer {
    /// A live change.
    pub fn active(message: impl Into<String>) -> Self {
        Self {
            state: ControllerState::Active,
            message: message.into(),
        }
    }

    /// A pending change.
    pub fn pending(message: impl Into<String>) -> Self {
        Self {
            state: ControllerState::Pending,
            message: message.into(),
        }
    }
}

/// Applies install changes on a platform. Adapters implement [`capabilities`](Self::capabilities) and the
/// actions they support; the defaults answer `pending`.
#[async_trait]
pub trait ActivationController: Send + Sync {
    /// What this controller can do.
    fn capabilities(&self) -> ControllerCapabilities;

    /// Makes a plugin known (available, not installed).
    async fn register(&self, entry: RegistryEntry) -> ControllerAnswer {
        ControllerAnswer::pending(format!(
            "plugin {:?} is recorded; registration applies on restart",
            entry.name().as_str()
        ))
    }

    /// Installs and activates a plugin.
    async fn install(&self, name: &Name) -> ControllerAnswer {
        ControllerAnswer::pending(format!(
            "install of {:?} is recorded; it applies on restart",
            name.as_str()
        ))
    }

    /// Deactivates and removes a plugin.
    async fn uninstall(&self, name: &Name) -> ControllerAnswer {
        ControllerAnswer::pending(format!(
            "uninstall of {:?} is recorded; it applies on restart",
            name.as_str()
        ))
    }

    /// Replaces a plugin's definition.
    async fn update(&self, def: PluginDef) -> ControllerAnswer {
        ControllerAnswer::pending(format!(
            "update of {:?} is recorded; it applies on restart",
            def.name().as_str()
        ))
    }
}

/// The controller used when a host configures none: every action is `pending`, saying so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoController;

const NO_CONTROLLER: &str =
    "no activation controller is configured: the change is saved and applies on the next restart";

#[async_trait]
impl ActivationController for NoController {
    fn capabilities(&self) -> ControllerCapabilities {
        ControllerCapabilities {
            strategy: Strategy::Custom,
            supports_runtime_install: false,
            supports_uploaded_specifiers: false,
            supports_isolated_execution: false,
        }
    }

    async fn register(&self, _entry: RegistryEntry) -> ControllerAnswer {
        ControllerAnswer::pending(NO_CONTROLLER)
    }

    async fn install(&self, _name: &Name) -> ControllerAnswer {
        ControllerAnswer::pending(NO_CONTROLLER)
    }

    async fn uninstall(&self, _name: &Name) -> ControllerAnswer {
        ControllerAnswer::pending(NO_CONTROLLER)
    }

    async fn update(&self, _def: PluginDef) -> ControllerAnswer {
        ControllerAnswer::pending(NO_CONTROLLER)
    }
}

/// The in-process controller: it owns a live [`Runtime`] and recomposes it on every action, without restart.
#[derive(Clone, Debug)]
pub struct RuntimeGraphController {
    runtime: Runtime,
}

impl RuntimeGraphController {
    /// A controller over `runtime`.
    pub fn new(runtime: Runtime) -> Self {
        Self { runtime }
    }

    /// The runtime it recomposes.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

/// Answers an action that should leave `name` in `wanted` (`Activated` for install and update, `Deactivated`
/// for uninstall), judged by the last line the runtime reported for it.
fn answer(
    action: &str,
    name: &str,
    wanted: &crate::report::Outcome,
    result: Result<crate::report::ActivationReport, crate::runtime::RuntimeError>,
) -> ControllerAnswer {
    match result {
        Ok(report) => match report.plugins.iter().rev().find(|p| p.name == name).map(|p| &p.outcome) {
            Some(outcome) if outcome != wanted => {
                ControllerAnswer::pending(format!("{action} of {name:?} is recorded but {outcome}"))
            }
            _ => ControllerAnswer::active(format!("{action} of {name:?} is live")),
        },
        Err(error) => ControllerAnswer::pending(format!("{action} of {name:?} was not applied: {error}")),
    }
}

#[async_trait]
impl ActivationController for RuntimeGraphController {
    fn capabilities(&self) -> ControllerCapabilities {
        ControllerCapabilities {
            strategy: Strategy::RuntimeGraph,
            supports_runtime_install: true,
            supports_uploaded_specifiers: false,
            supports_isolated_execution: false,
        }
    }

    async fn register(&self, entry: RegistryEntry) -> ControllerAnswer {
        let name = entry.name().to_string();
        let entry = RegistryEntry::available(entry.plugin);
        answer(
            "registration",
            &name,
            &Outcome::Activated,
            self.runtime.install(entry).await,
        )
    }

    async fn install(&self, name: &Name) -> ControllerAnswer {
        answer(
            "install",
            name.as_str(),
            &Outcome::Activated,
            self.runtime.enable(name.as_str()).await,
        )
    }

    async fn uninstall(&self, name: &Name) -> ControllerAnswer {
        answer(
            "uninstall",
            name.as_str(),
            &Outcome::Deactivated,
            self.runtime.uninstall(name.as_str(), Cascade::No).await,
        )
    }

    async fn update(&self, def: PluginDef) -> ControllerAnswer {
        let name = def.name().to_string();
        answer("update", &name, &Outcome::Activated, self.runtime.update(def).await)
    }
}
