//! [`ActivationController`]: how a platform applies install changes. Adapter-owned; the dashboard shows its
//! capabilities. [`RuntimeGraphController`] recomposes the in-process runtime without a restart.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;

use crate::registry::RegistryEntry;
use crate::report::ActivationReport;
use crate::runtime::{Cascade, Runtime, RuntimeError};

/// How a controller activates plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
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
    /// The change was refused and nothing changed; the answer's [`refusal`](ControllerAnswer::refusal) says why.
    Refused,
}

/// Why a controller refused a change, as data a host can act on: each has a stable [`code`](Self::code), and
/// [`HasDependents`](Self::HasDependents) names the plugins in the way.
///
/// ```
/// use zelavis_registry::controller::Refusal;
/// use zelavis_core::name::Name;
///
/// let refusal = Refusal::HasDependents { dependents: vec![Name::parse("reports")?] };
/// assert_eq!(refusal.code(), "has_dependents");
/// assert_eq!(
///     serde_json::to_value(&refusal)?,
///     serde_json::json!({ "code": "has_dependents", "dependents": ["reports"] })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Refusal {
    /// The plugin is not in the registry.
    UnknownPlugin,
    /// Active plugins depend on it: change them first, or cascade.
    HasDependents {
        /// The active dependents.
        dependents: Vec<Name>,
    },
    /// A registry rule refused it (a duplicate or invalid name, an entry in the wrong state).
    RegistryConflict,
    /// The store failed; a retry may succeed.
    StoreFailed,
    /// Another failure of the runtime.
    RuntimeFailed,
}

impl Refusal {
    /// The stable code: `unknown_plugin`, `has_dependents`, `registry_conflict`, `store_failed` or
    /// `runtime_failed` (the dashboard API answers with the same codes).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownPlugin => "unknown_plugin",
            Refusal::HasDependents { .. } => "has_dependents",
            Refusal::RegistryConflict => "registry_conflict",
            Refusal::StoreFailed => "store_failed",
            Refusal::RuntimeFailed => "runtime_failed",
        }
    }
}

impl From<&RuntimeError> for Refusal {
    fn from(error: &RuntimeError) -> Self {
        match error {
            RuntimeError::Unknown { .. } => Refusal::UnknownPlugin,
            RuntimeError::HasDependents { dependents, .. } => Refusal::HasDependents {
                dependents: dependents.clone(),
            },
            RuntimeError::Registry(_) => Refusal::RegistryConflict,
            RuntimeError::Store(_) => Refusal::StoreFailed,
            _ => Refusal::RuntimeFailed,
        }
    }
}

/// A controller's answer to an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ControllerAnswer {
    /// Live or pending.
    pub state: ControllerState,
    /// What happened, for people.
    pub message: String,
    /// What the runtime did, when the change was applied live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ActivationReport>,
    /// Why the change was refused ([`ControllerState::Refused`] only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

impl ControllerAnswer {
    /// A live change.
    pub fn active(message: impl Into<String>) -> Self {
        Self {
            state: ControllerState::Active,
            message: message.into(),
            report: None,
            refusal: None,
        }
    }

    /// A pending change.
    pub fn pending(message: impl Into<String>) -> Self {
        Self {
            state: ControllerState::Pending,
            message: message.into(),
            report: None,
            refusal: None,
        }
    }

    /// A refused change: nothing changed.
    pub fn refused(message: impl Into<String>, refusal: Refusal) -> Self {
        Self {
            state: ControllerState::Refused,
            message: message.into(),
            report: None,
            refusal: Some(refusal),
        }
    }

    /// The answer with the runtime's report attached.
    #[must_use]
    pub fn with_report(mut self, report: ActivationReport) -> Self {
        self.report = Some(report);
        self
    }
}

/// Applies install changes on a platform. Its verbs are the runtime's: install, enable, disable, update,
/// uninstall. Adapters implement [`capabilities`](Self::capabilities) and the verbs they support; the defaults
/// answer `pending`, saying the change applies on restart.
#[async_trait]
pub trait ActivationController: Send + Sync {
    /// What this controller can do.
    fn capabilities(&self) -> ControllerCapabilities;

    /// Adds a plugin (installed or merely available, as the entry says).
    async fn install(&self, entry: RegistryEntry) -> ControllerAnswer {
        pending("install", entry.name())
    }

    /// Marks a plugin installed and activates it.
    async fn enable(&self, name: &Name) -> ControllerAnswer {
        pending("enable", name)
    }

    /// Marks a plugin available and deactivates it.
    async fn disable(&self, name: &Name) -> ControllerAnswer {
        pending("disable", name)
    }

    /// Replaces a plugin's definition.
    async fn update(&self, def: PluginDef) -> ControllerAnswer {
        pending("update", def.name())
    }

    /// Deactivates and removes a plugin.
    async fn uninstall(&self, name: &Name) -> ControllerAnswer {
        pending("uninstall", name)
    }
}

fn pending(verb: &str, name: &Name) -> ControllerAnswer {
    ControllerAnswer::pending(format!(
        "{verb} of {:?} is recorded; it applies on restart",
        name.as_str()
    ))
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

    async fn install(&self, _entry: RegistryEntry) -> ControllerAnswer {
        ControllerAnswer::pending(NO_CONTROLLER)
    }

    async fn enable(&self, _name: &Name) -> ControllerAnswer {
        ControllerAnswer::pending(NO_CONTROLLER)
    }

    async fn disable(&self, _name: &Name) -> ControllerAnswer {
        ControllerAnswer::pending(NO_CONTROLLER)
    }

    async fn update(&self, _def: PluginDef) -> ControllerAnswer {
        ControllerAnswer::pending(NO_CONTROLLER)
    }

    async fn uninstall(&self, _name: &Name) -> ControllerAnswer {
        ControllerAnswer::pending(NO_CONTROLLER)
    }
}

/// The in-process controller: it owns a live [`Runtime`] and recomposes it on every action, without restart.
#[derive(Clone, Debug)]
pub struct RuntimeGraphController {
    runtime: Runtime,
    capabilities: ControllerCapabilities,
}

impl RuntimeGraphController {
    /// A controller over `runtime`.
    pub fn new(runtime: Runtime) -> Self {
        Self {
            runtime,
            capabilities: ControllerCapabilities {
                strategy: Strategy::RuntimeGraph,
                supports_runtime_install: true,
                supports_uploaded_specifiers: false,
                supports_isolated_execution: false,
            },
        }
    }

    /// The same controller, saying its host's loader accepts uploaded specifiers and runs them isolated (a
    /// WebAssembly loader does).
    #[must_use]
    pub fn with_isolated_uploads(mut self) -> Self {
        self.capabilities.supports_uploaded_specifiers = true;
        self.capabilities.supports_isolated_execution = true;
        self
    }

    /// The runtime it recomposes.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

/// Answers a verb that should leave `name` live (`true`) or not (`false`), judged by the runtime's final line
/// for it; what the runtime refused is a [`ControllerState::Refused`] answer with its [`Refusal`].
fn answer(verb: &str, name: &str, live: bool, result: Result<ActivationReport, RuntimeError>) -> ControllerAnswer {
    match result {
        Ok(report) => {
            let answer = match report.outcome(name) {
                Some(outcome) if report.is_live(name) != live => {
                    ControllerAnswer::pending(format!("{verb} of {name:?} is recorded but {outcome}"))
                }
                _ => ControllerAnswer::active(format!("{verb} of {name:?} is live")),
            };
            answer.with_report(report)
        }
        Err(error) => ControllerAnswer::refused(
            format!("{verb} of {name:?} was refused: {error}"),
            Refusal::from(&error),
        ),
    }
}

#[async_trait]
impl ActivationController for RuntimeGraphController {
    fn capabilities(&self) -> ControllerCapabilities {
        self.capabilities
    }

    async fn install(&self, entry: RegistryEntry) -> ControllerAnswer {
        let name = entry.name().to_string();
        let live = entry.is_installed();
        answer("install", &name, live, self.runtime.install(entry).await)
    }

    async fn enable(&self, name: &Name) -> ControllerAnswer {
        answer("enable", name.as_str(), true, self.runtime.enable(name.as_str()).await)
    }

    async fn disable(&self, name: &Name) -> ControllerAnswer {
        answer(
            "disable",
            name.as_str(),
            false,
            self.runtime.disable(name.as_str(), Cascade::No).await,
        )
    }

    async fn update(&self, def: PluginDef) -> ControllerAnswer {
        let name = def.name().to_string();
        answer("update", &name, true, self.runtime.update(def).await)
    }

    async fn uninstall(&self, name: &Name) -> ControllerAnswer {
        answer(
            "uninstall",
            name.as_str(),
            false,
            self.runtime.uninstall(name.as_str(), Cascade::No).await,
        )
    }
}
