//! [`DashboardSources`]: one reading of a runtime, plus the host's core services, that the dashboard model is
//! computed from.

use zelavis_core::name::Name;
use zelavis_core::paths::ApiPaths;
use zelavis_core::service::{RegisteredService, ServiceDef, ServiceError, Services};

use crate::health::HealthSnapshot;
use crate::registry::PluginRegistry;
use crate::report::ActivationReport;
use crate::runtime::Runtime;

/// What the dashboard model is computed from: the registry, the active plugins in activation order, the
/// services (the host's core services first, then those plugins registered), the last report and health.
///
/// [`capture`](Self::capture) reads a runtime; the fields are public so a host (or a test) can also build one
/// by hand.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DashboardSources {
    /// The runtime's [generation](Runtime::generation) when it was read (0 for sources built by hand).
    pub generation: u64,
    /// Every plugin the host knows, with its record.
    pub registry: PluginRegistry,
    /// The active top-level plugins, in activation order.
    pub active: Vec<Name>,
    /// The child plugins their active parents applied ([`Runtime::applied_children`]).
    pub applied_children: Vec<Name>,
    /// The host's core services then the plugins' services, in registration order.
    pub services: Services,
    /// The report of the runtime's last change.
    pub report: ActivationReport,
    /// Per-plugin health.
    pub health: HealthSnapshot,
    /// Where Zelavis is mounted: page addresses and API paths are computed under it.
    pub paths: ApiPaths,
}

impl DashboardSources {
    /// Reads `runtime` (its generation first, so a change that lands while reading makes the next reading
    /// newer, never hides it), with no core services and the default paths.
    pub async fn capture(runtime: &Runtime) -> Self {
        let generation = runtime.generation();
        let registry = runtime.registry().await;
        let active = runtime.active().await;
        let applied_children = runtime.applied_children().await;
        let report = runtime.last_report().await;
        Self {
            generation,
            registry,
            active,
            applied_children,
            services: runtime.services(),
            report,
            health: runtime.health(),
            paths: runtime.options().api_paths().clone(),
        }
    }

    /// Adds the host's core services ahead of the plugins' (a plugin service of the same name keeps the
    /// plugin's; the runtime already refuses plugins that take a core name). Each is checked as a core service:
    /// its menu may choose a surface, and must follow the menu rules.
    pub fn with_core_services(mut self, core: &[ServiceDef]) -> Result<Self, ServiceError> {
        let mut services = Services::default();
        for service in core {
            service.check_for_core()?;
            services.insert(RegisteredService {
                service: service.clone(),
                owner: None,
            });
        }
        for service in self.services.iter() {
            services.insert(service.clone());
        }
        self.services = services;
        Ok(self)
    }

    /// Uses `paths` for page addresses and API paths.
    #[must_use]
    pub fn with_paths(mut self, paths: ApiPaths) -> Self {
        self.paths = paths;
        self
    }

    /// The active plugins in activation order, then the installed top-level plugins that are not active (their
    /// setup failed, or a dependency is missing), in registry order: each gets one Workspace entry.
    pub fn installed_top_level(&self) -> impl Iterator<Item = (&crate::registry::RegistryEntry, bool)> {
        let live: crate::hash::HashSet<&Name> = self.active.iter().collect();
        let active = self.active.iter().filter_map(|name| self.registry.get(name.as_str()));
        let inactive = self
            .registry
            .installed()
            .filter(move |e| !e.plugin.is_child() && !live.contains(e.name()));
        active.map(|e| (e, true)).chain(inactive.map(|e| (e, false)))
    }
}
