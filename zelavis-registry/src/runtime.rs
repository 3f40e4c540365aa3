//! [`Runtime`]: the live set of active plugins, recomposed incrementally on install, enable, disable, uninstall
//! and update — only the plugin concerned, its children and its dependents are set up or torn down.
//!
//! Rust cannot unload code: disabling or uninstalling a plugin removes its services, hooks, filters and routes
//! and runs its teardown hook, but its code stays linked in the host. Migrations are never rolled back.

use std::collections::HashSet;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, PoisonError, RwLock};

use futures::FutureExt;
use futures::lock::Mutex;
use http::Method;
use indexmap::IndexMap;
use thiserror::Error;
use zelavis_core::bus::Bus;
use zelavis_core::name::Name;
use zelavis_core::page::{PageError, panic_message};
use zelavis_core::service::{RegisteredService, Services};
use zelavis_plugin::PluginDef;
use zelavis_plugin::context::Registrations;
use zelavis_plugin::route::{Route, RouteError, RouteRequest, RouteResponse};

use crate::activation::{ActivationOptions, run_setup};
use crate::health::{HealthBook, HealthSnapshot};
use crate::ledger::{MemoryLedger, MigrationLedger};
use crate::plan::{attach_check, plan, static_check};
use crate::registry::{PluginRegistry, RegistryEntry, RegistryError, Status};
use crate::report::{ActivationReport, FailReason, Outcome, PluginReport, SkipReason};
use crate::state::RegistryState;

/// Whether disabling a plugin also disables the active plugins that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cascade {
    /// Refuse when others depend on it.
    No,
    /// Disable its dependents too.
    Yes,
}

/// Why a runtime change was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The plugin is not in the registry.
    #[error("plugin {name:?} is not in the registry")]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// Active plugins depend on it and the host did not ask to cascade.
    #[error("plugin {plugin:?} cannot be disabled: {} depend(s) on it; disable them first or cascade", dependents.iter().map(|d| format!("{:?}", d.as_str())).collect::<Vec<_>>().join(", "))]
    HasDependents {
        /// The plugin.
        plugin: Name,
        /// Its active dependents.
        dependents: Vec<Name>,
    },
    /// A registry rule (duplicate name, empty name...).
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// A route mounted under its plugin's API path.
#[derive(Debug, Clone)]
pub struct MountedRoute {
    /// The plugin that registered it.
    pub owner: Name,
    /// The full path, e.g. `/zelavis/api/v1/plugins/shop/orders`.
    pub path: String,
    /// The route.
    pub route: Route,
}

/// Why a route call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RouteCallError {
    /// No active plugin serves this method and path.
    #[error("no route {method} {path}")]
    NotFound {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// The handler failed or panicked (recorded in the owner's health).
    #[error(transparent)]
    Handler(#[from] RouteError),
}

struct ActivePlugin {
    def: PluginDef,
    children: Vec<Name>,
}

struct Live {
    registry: PluginRegistry,
    services: Services,
    routes: IndexMap<Name, Vec<MountedRoute>>,
    active: IndexMap<Name, ActivePlugin>,
}

#[derive(Default)]
struct View {
    services: Services,
    routes: Vec<MountedRoute>,
}

struct Inner {
    live: Mutex<Live>,
    view: RwLock<Arc<View>>,
    bus: Bus,
    health: Arc<HealthBook>,
    ledger: Arc<dyn MigrationLedger>,
    options: ActivationOptions,
}

/// The live runtime. Cheap to clone; changes are serialised, reads (services, routes, bus dispatch) never wait
/// for a change in progress.
///
/// ```
/// use zelavis_plugin::prelude::*;
/// use zelavis_registry::prelude::*;
///
/// # futures::executor::block_on(async {
/// let hello = PluginDef::builder("hello").version("1.0.0")
///     .permission(Permission::ServicesRegister)
///     .setup(|cx| { cx.register_service(ServiceDef::new(Name::parse("greeter")?))?; Ok(()) })
///     .build()?;
/// let registry = PluginRegistry::new([RegistryEntry::installed(hello)])?;
/// let (runtime, report) = Runtime::builder(registry).start().await;
/// assert!(report.all_activated());
/// assert!(runtime.services().get("greeter").is_some());
///
/// runtime.disable("hello", Cascade::No).await?;
/// assert!(runtime.services().get("greeter").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

/// Configures a [`Runtime`] before its first activation.
#[must_use]
pub struct RuntimeBuilder {
    registry: PluginRegistry,
    options: ActivationOptions,
    ledger: Arc<dyn MigrationLedger>,
    bus: Bus,
}

impl RuntimeBuilder {
    /// Activation options (paths, platform, permission mode, timeout, contract).
    pub fn options(mut self, options: ActivationOptions) -> Self {
        self.options = options;
        self
    }

    /// The migration ledger (default: in memory).
    pub fn ledger(mut self, ledger: Arc<dyn MigrationLedger>) -> Self {
        self.ledger = ledger;
        self
    }

    /// The bus hooks and filters are installed on (default: a new one).
    pub fn bus(mut self, bus: Bus) -> Self {
        self.bus = bus;
        self
    }

    /// Activates every installed plugin and returns the runtime with the report.
    pub async fn start(self) -> (Runtime, ActivationReport) {
        let health = Arc::new(HealthBook::default());
        let sink_health = health.clone();
        self.bus
            .set_failure_sink(Arc::new(move |failure: &zelavis_core::bus::HandlerFailure| {
                sink_health.runtime_failure(&failure.owner, failure.to_string());
            }));
        let runtime = Runtime {
            inner: Arc::new(Inner {
                live: Mutex::new(Live {
                    registry: self.registry,
                    services: Services::default(),
                    routes: IndexMap::new(),
                    active: IndexMap::new(),
                }),
                view: RwLock::new(Arc::default()),
                bus: self.bus,
                health,
                ledger: self.ledger,
                options: self.options,
            }),
        };
        let report = runtime.activate_all().await;
        (runtime, report)
    }
}

impl Runtime {
    /// Configures a runtime over `registry`.
    pub fn builder(registry: PluginRegistry) -> RuntimeBuilder {
        RuntimeBuilder {
            registry,
            options: ActivationOptions::default(),
            ledger: Arc::new(MemoryLedger::new()),
            bus: Bus::default(),
        }
    }

    /// The bus: emit hooks and apply filters through it.
    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// The services registered by active plugins.
    pub fn services(&self) -> Services {
        self.view().services.clone()
    }

    /// The routes of active plugins.
    pub fn routes(&self) -> Vec<MountedRoute> {
        self.view().routes.clone()
    }

    /// Per-plugin health.
    pub fn health(&self) -> HealthSnapshot {
        self.inner.health.snapshot()
    }

    /// A copy of the registry as it is now.
    pub async fn registry(&self) -> PluginRegistry {
        self.inner.live.lock().await.registry.clone()
    }

    /// The install state as it is now.
    pub async fn state(&self) -> RegistryState {
        self.inner.live.lock().await.registry.serialize_state()
    }

    /// Names of the active top-level plugins, in activation order.
    pub async fn active(&self) -> Vec<Name> {
        self.inner.live.lock().await.active.keys().cloned().collect()
    }

    /// Whether `name` (top-level or child) is active.
    pub async fn is_active(&self, name: &str) -> bool {
        let live = self.inner.live.lock().await;
        live.active.contains_key(name) || live.active.values().any(|a| a.children.iter().any(|c| c == name))
    }

    /// Calls the route serving `method` and `path`; a failure is recorded in its owner's health.
    pub async fn call_route(
        &self,
        method: &Method,
        path: &str,
        request: RouteRequest,
    ) -> Result<RouteResponse, RouteCallError> {
        let view = self.view();
        let Some(mounted) = view
            .routes
            .iter()
            .find(|r| r.route.method() == method && r.path == path)
        else {
            return Err(RouteCallError::NotFound {
                method: method.to_string(),
                path: path.to_owned(),
            });
        };
        mounted.route.call(request).await.map_err(|error| {
            self.inner.health.runtime_failure(&mounted.owner, error.to_string());
            RouteCallError::Handler(error)
        })
    }

    /// Renders page `page` of active plugin `plugin`; a failure is recorded in its health.
    pub async fn render_page(&self, plugin: &str, page: &str) -> Result<String, PageError> {
        let def = {
            let live = self.inner.live.lock().await;
            live.active.get(plugin).map(|a| a.def.clone())
        };
        let Some(def) = def else {
            return Err(PageError::NotFound {
                plugin: Name::parse(plugin).unwrap_or_else(|_| unknown_name()),
                page: page.to_owned(),
            });
        };
        def.render_page(page).inspect_err(|error| {
            if !matches!(error, PageError::NotFound { .. }) {
                self.inner.health.runtime_failure(def.name(), error.to_string());
            }
        })
    }

    /// Adds a plugin to the registry; an installed one activates at once (with its dependents waiting for it).
    pub async fn install(&self, entry: RegistryEntry) -> Result<ActivationReport, RuntimeError> {
        let mut live = self.inner.live.lock().await;
        let name = entry.name().clone();
        live.registry.insert(entry)?;
        let mut report = ActivationReport::default();
        self.bring_up(&mut live, &name, &mut report).await;
        self.publish(&live);
        Ok(report)
    }

    /// Marks a plugin installed and activates it, its children and the dependents that were waiting for it.
    pub async fn enable(&self, name: &str) -> Result<ActivationReport, RuntimeError> {
        let mut live = self.inner.live.lock().await;
        let name = known(&live, name)?;
        live.registry.set_status(name.as_str(), Status::Installed)?;
        let mut report = ActivationReport::default();
        self.bring_up(&mut live, &name, &mut report).await;
        self.publish(&live);
        Ok(report)
    }

    /// Marks a plugin available and tears it down (its children with it). A child is removed from its parent,
    /// which recomposes. Refused when active plugins depend on it, unless `cascade` says to disable them too.
    pub async fn disable(&self, name: &str, cascade: Cascade) -> Result<ActivationReport, RuntimeError> {
        let mut live = self.inner.live.lock().await;
        let name = known(&live, name)?;
        let mut report = ActivationReport::default();
        self.take_down(&mut live, &name, cascade, &mut report).await?;
        self.publish(&live);
        Ok(report)
    }

    /// Disables a plugin (see [`disable`](Self::disable)) and removes it from the registry. Its code stays
    /// linked in the host: Rust cannot unload it.
    pub async fn uninstall(&self, name: &str, cascade: Cascade) -> Result<ActivationReport, RuntimeError> {
        let mut live = self.inner.live.lock().await;
        let name = known(&live, name)?;
        let mut report = ActivationReport::default();
        self.take_down(&mut live, &name, cascade, &mut report).await?;
        live.registry = live.registry.remove(name.as_str())?;
        self.publish(&live);
        Ok(report)
    }

    /// Replaces a plugin's definition (keeping its registry position and status) and recomposes it, its
    /// children and its dependents.
    pub async fn update(&self, def: PluginDef) -> Result<ActivationReport, RuntimeError> {
        let mut live = self.inner.live.lock().await;
        let name = known(&live, def.name().as_str())?;
        let mut report = ActivationReport::default();
        let status = live.registry.get(name.as_str()).map_or(Status::Available, |e| e.status);
        let lowered = if status == Status::Installed {
            self.take_down(&mut live, &name, Cascade::Yes, &mut report).await?
        } else {
            Vec::new()
        };
        let mut entry = live
            .registry
            .get(name.as_str())
            .cloned()
            .ok_or_else(|| RuntimeError::Unknown { name: name.to_string() })?;
        entry.plugin = def;
        entry.status = status;
        live.registry.upsert(entry);
        for lowered in lowered {
            live.registry.set_status(lowered.as_str(), Status::Installed)?;
        }
        if status == Status::Installed {
            self.bring_up(&mut live, &name, &mut report).await;
        }
        self.publish(&live);
        Ok(report)
    }

    async fn activate_all(&self) -> ActivationReport {
        let mut live = self.inner.live.lock().await;
        let plan = plan(&live.registry, &self.inner.options.host_contract);
        let mut report = ActivationReport::default();
        report.plugins.extend(plan.skipped);
        for def in plan.order {
            let children = plan.children.get(def.name()).cloned().unwrap_or_default();
            self.activate_one(&mut live, &def, &children, &mut report).await;
        }
        report.plugins.extend(plan.rejected);
        self.publish(&live);
        report
    }

    /// Activates `name` (or, for a child, recomposes its parent) and then every installed, inactive dependent
    /// whose dependencies are now all active.
    async fn bring_up(&self, live: &mut Live, name: &Name, report: &mut ActivationReport) {
        let Some(entry) = live.registry.get(name.as_str()).cloned() else {
            return;
        };
        if entry.status != Status::Installed {
            return;
        }
        if entry.plugin.is_child() {
            match attach_check(&live.registry, &entry.plugin) {
                Ok((parent, _)) if live.active.contains_key(&parent) => self.recompose(live, &parent, report).await,
                Ok((parent, point)) => {
                    let mut line =
                        PluginReport::skipped(name.clone(), SkipReason::ParentInactive { parent: parent.clone() });
                    line.parent = Some((parent, point));
                    report.plugins.push(line);
                }
                Err(reason) => {
                    let mut line = PluginReport::skipped(name.clone(), reason);
                    line.parent = entry
                        .plugin
                        .extends()
                        .map(|e| (e.plugin.clone(), e.extension_point.clone()));
                    report.plugins.push(line);
                }
            }
            return;
        }
        if live.active.contains_key(name) {
            return;
        }
        let mut queue = vec![name.clone()];
        while let Some(next) = queue.pop() {
            let Some(entry) = live.registry.get(next.as_str()).cloned() else {
                continue;
            };
            if entry.status != Status::Installed || entry.plugin.is_child() || live.active.contains_key(&next) {
                continue;
            }
            if let Err(reason) = static_check(&live.registry, &entry.plugin, &self.inner.options.host_contract) {
                if next == *name {
                    report.plugins.push(PluginReport::skipped(next, reason));
                }
                continue;
            }
            let children = accepted_children(&live.registry, &next);
            if !self.activate_one(live, &entry.plugin, &children, report).await {
                continue;
            }
            // Dependents waiting for this plugin, in registry order.
            let waiting: Vec<Name> = live
                .registry
                .iter()
                .filter(|e| {
                    e.status == Status::Installed && !e.plugin.is_child() && !live.active.contains_key(e.name())
                })
                .filter(|e| e.plugin.dependencies().iter().any(|d| d.plugin == next))
                .map(|e| e.name().clone())
                .collect();
            queue.extend(waiting.into_iter().rev());
        }
    }

    /// Tears `name` down (and, with `cascade`, its active dependents first) and marks them available. Returns the
    /// dependents it lowered.
    async fn take_down(
        &self,
        live: &mut Live,
        name: &Name,
        cascade: Cascade,
        report: &mut ActivationReport,
    ) -> Result<Vec<Name>, RuntimeError> {
        let entry = live
            .registry
            .get(name.as_str())
            .cloned()
            .ok_or_else(|| RuntimeError::Unknown { name: name.to_string() })?;
        if entry.plugin.is_child() {
            live.registry.set_status(name.as_str(), Status::Available)?;
            let mut line = PluginReport::new(name.clone(), Outcome::Deactivated);
            line.parent = entry
                .plugin
                .extends()
                .map(|e| (e.plugin.clone(), e.extension_point.clone()));
            report.plugins.push(line);
            if let Some(parent) = entry.plugin.extends().map(|e| e.plugin.clone())
                && live.active.contains_key(&parent)
            {
                self.recompose(live, &parent, report).await;
            }
            return Ok(Vec::new());
        }
        let dependents = active_dependents(live, name);
        if !dependents.is_empty() && cascade == Cascade::No {
            return Err(RuntimeError::HasDependents {
                plugin: name.clone(),
                dependents,
            });
        }
        for dependent in dependents.iter().rev() {
            self.deactivate(live, dependent);
            live.registry.set_status(dependent.as_str(), Status::Available)?;
        }
        self.deactivate(live, name);
        live.registry.set_status(name.as_str(), Status::Available)?;
        report.plugins.extend(
            dependents
                .iter()
                .chain(std::iter::once(name))
                .map(|n| PluginReport::new(n.clone(), Outcome::Deactivated)),
        );
        Ok(dependents)
    }

    /// Tears a parent down and sets it up again with its current accepted children.
    async fn recompose(&self, live: &mut Live, parent: &Name, report: &mut ActivationReport) {
        let Some(active) = live.active.get(parent) else { return };
        let def = active.def.clone();
        self.deactivate(live, parent);
        let children = accepted_children(&live.registry, parent);
        self.activate_one(live, &def, &children, report).await;
    }

    /// Runs the plugin's teardown and removes everything it and its children registered.
    fn deactivate(&self, live: &mut Live, name: &Name) {
        let Some(active) = live.active.shift_remove(name) else {
            return;
        };
        let span = tracing::info_span!("teardown", plugin = %name);
        let _entered = span.enter();
        match catch_unwind(AssertUnwindSafe(|| active.def.run_teardown())) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => self
                .inner
                .health
                .runtime_failure(name, format!("teardown failed: {error}")),
            Err(payload) => self
                .inner
                .health
                .runtime_failure(name, format!("teardown panicked: {}", panic_message(payload.as_ref()))),
        }
        let owners: HashSet<&Name> = std::iter::once(name).chain(&active.children).collect();
        for owner in &owners {
            self.inner.bus.remove_owner(owner);
            live.routes.shift_remove(*owner);
        }
        live.services
            .retain(|s| s.owner.as_ref().is_none_or(|o| !owners.contains(o)));
    }

    /// Sets one top-level plugin up with its children; returns whether it activated.
    async fn activate_one(
        &self,
        live: &mut Live,
        def: &PluginDef,
        children: &[(Name, PluginDef)],
        report: &mut ActivationReport,
    ) -> bool {
        let name = def.name().clone();
        let span = tracing::info_span!("setup", plugin = %name);
        let parent_of = |child: &PluginDef| child.extends().map(|e| (e.plugin.clone(), e.extension_point.clone()));
        let skip_children = |report: &mut ActivationReport, reason: &SkipReason| {
            for (_, child) in children {
                let mut line = PluginReport::skipped(child.name().clone(), reason.clone());
                line.parent = parent_of(child);
                report.plugins.push(line);
            }
        };
        if let Some(dependency) = def.dependencies().iter().find(|d| !live.active.contains_key(&d.plugin)) {
            report.plugins.push(PluginReport::skipped(
                name.clone(),
                SkipReason::DependencyInactive {
                    dependency: dependency.plugin.clone(),
                },
            ));
            skip_children(report, &SkipReason::ParentInactive { parent: name });
            return false;
        }
        let result = async {
            let mut finished = run_setup(def, children, live.services.clone(), &self.inner.options).await?;
            let migrations = self.migrate(&name, &finished.registrations).await?;
            let mut lines = Vec::new();
            let mut own = PluginReport::new(name.clone(), Outcome::Activated);
            own.migrations = migrations;
            self.commit(live, &name, std::mem::take(&mut finished.registrations), &mut own)
                .map_err(|message| FailReason::Registration { message })?;
            lines.push(own);
            let mut applied = Vec::new();
            let ran: HashSet<Name> = finished.children.iter().map(|r| r.child.clone()).collect();
            for run in finished.children {
                let mut line = PluginReport::new(run.child.clone(), Outcome::Activated);
                line.parent = Some((name.clone(), run.extension_point.clone()));
                let outcome = match run.outcome {
                    Err(failure) => Err(FailReason::Setup {
                        message: failure.to_string(),
                    }),
                    Ok(registrations) => match self.migrate(&run.child, &registrations).await {
                        Err(reason) => Err(reason),
                        Ok(migrations) => {
                            line.migrations = migrations;
                            self.commit(live, &run.child, registrations, &mut line)
                                .map_err(|message| FailReason::Registration { message })
                        }
                    },
                };
                match outcome {
                    Ok(()) => applied.push(run.child.clone()),
                    Err(reason) => {
                        self.inner.health.setup_failure(&run.child, reason.to_string());
                        line.outcome = Outcome::Failed { reason };
                    }
                }
                lines.push(line);
            }
            for (point, child) in children.iter().filter(|(_, c)| !ran.contains(c.name())) {
                let mut line = PluginReport::skipped(
                    child.name().clone(),
                    SkipReason::NotApplied {
                        parent: name.clone(),
                        extension_point: point.clone(),
                    },
                );
                line.parent = Some((name.clone(), point.clone()));
                lines.push(line);
            }
            live.active.insert(
                name.clone(),
                ActivePlugin {
                    def: def.clone(),
                    children: applied,
                },
            );
            Ok::<_, FailReason>(lines)
        }
        .instrument_span(span)
        .await;
        match result {
            Ok(lines) => {
                report.plugins.extend(lines);
                true
            }
            Err(reason) => {
                tracing::warn!(plugin = %name, %reason, "plugin failed to activate");
                self.inner.health.setup_failure(&name, reason.to_string());
                // Remove anything a partial commit of its children left behind.
                let owners: Vec<Name> = std::iter::once(name.clone())
                    .chain(children.iter().map(|(_, c)| c.name().clone()))
                    .collect();
                for owner in &owners {
                    self.inner.bus.remove_owner(owner);
                    live.routes.shift_remove(owner);
                }
                live.services
                    .retain(|s| s.owner.as_ref().is_none_or(|o| !owners.contains(o)));
                report
                    .plugins
                    .push(PluginReport::new(name.clone(), Outcome::Failed { reason }));
                skip_children(report, &SkipReason::ParentInactive { parent: name });
                false
            }
        }
    }

    /// Runs the migrations not yet in the ledger; returns the ids that ran.
    async fn migrate(&self, owner: &Name, registrations: &Registrations) -> Result<Vec<String>, FailReason> {
        let mut ran = Vec::new();
        for migration in &registrations.migrations {
            let fail = |message: String| FailReason::Migration {
                id: migration.id().to_owned(),
                message,
            };
            if self
                .inner
                .ledger
                .is_applied(owner, migration.id())
                .await
                .map_err(|e| fail(e.to_string()))?
            {
                continue;
            }
            match AssertUnwindSafe(migration.run()).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(message)) => return Err(fail(message)),
                Err(payload) => return Err(fail(format!("panicked: {}", panic_message(payload.as_ref())))),
            }
            self.inner
                .ledger
                .record(owner, migration.id())
                .await
                .map_err(|e| fail(e.to_string()))?;
            ran.push(migration.id().to_owned());
        }
        Ok(ran)
    }

    /// Installs one owner's registrations, all or nothing.
    fn commit(
        &self,
        live: &mut Live,
        owner: &Name,
        registrations: Registrations,
        line: &mut PluginReport,
    ) -> Result<(), String> {
        for service in &registrations.services {
            if let Some(existing) = live.services.get(service.name().as_str()) {
                return Err(format!(
                    "service {:?} is already registered by {}",
                    service.name().as_str(),
                    existing
                        .owner
                        .as_ref()
                        .map_or_else(|| "core".to_owned(), |o| format!("plugin {:?}", o.as_str()))
                ));
            }
        }
        let base = self.inner.options.paths.plugin_api(owner);
        let routes: Vec<MountedRoute> = registrations
            .routes
            .into_iter()
            .map(|route| MountedRoute {
                owner: owner.clone(),
                path: format!("{base}{}", route.path()),
                route,
            })
            .collect();
        line.hooks = registrations
            .subscriptions
            .iter()
            .filter(|s| s.kind() == zelavis_core::bus::SubscriptionKind::Hook)
            .map(|s| s.name().to_owned())
            .collect();
        line.filters = registrations
            .subscriptions
            .iter()
            .filter(|s| s.kind() == zelavis_core::bus::SubscriptionKind::Filter)
            .map(|s| s.name().to_owned())
            .collect();
        self.inner
            .bus
            .install(owner, registrations.subscriptions)
            .map_err(|e| e.to_string())?;
        line.services = registrations.services.iter().map(|s| s.name().clone()).collect();
        line.routes = routes
            .iter()
            .map(|r| format!("{} {}", r.route.method(), r.path))
            .collect();
        for service in registrations.services {
            live.services.insert(RegisteredService {
                service,
                owner: Some(owner.clone()),
            });
        }
        if !routes.is_empty() {
            live.routes.entry(owner.clone()).or_default().extend(routes);
        }
        Ok(())
    }

    fn publish(&self, live: &Live) {
        let view = View {
            services: live.services.clone(),
            routes: live.routes.values().flatten().cloned().collect(),
        };
        *self.inner.view.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(view);
    }

    fn view(&self) -> Arc<View> {
        self.inner.view.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

trait InstrumentSpan: Sized {
    fn instrument_span(self, span: tracing::Span) -> tracing::instrument::Instrumented<Self>;
}

impl<F: std::future::Future> InstrumentSpan for F {
    fn instrument_span(self, span: tracing::Span) -> tracing::instrument::Instrumented<Self> {
        tracing::Instrument::instrument(self, span)
    }
}

fn known(live: &Live, name: &str) -> Result<Name, RuntimeError> {
    live.registry
        .get(name)
        .map(|e| e.name().clone())
        .ok_or_else(|| RuntimeError::Unknown { name: name.to_owned() })
}

fn unknown_name() -> Name {
    // "unknown" is a valid name by the grammar; this branch only labels a page-not-found error.
    Name::parse("unknown").unwrap_or_else(|_| unreachable!("\"unknown\" satisfies the name grammar"))
}

/// Installed children of `parent` that pass the attach check, in registry order.
fn accepted_children(registry: &PluginRegistry, parent: &Name) -> Vec<(Name, PluginDef)> {
    registry
        .iter()
        .filter(|e| e.status == Status::Installed && e.plugin.extends().is_some_and(|x| x.plugin == *parent))
        .filter_map(|e| {
            attach_check(registry, &e.plugin)
                .ok()
                .map(|(_, point)| (point, e.plugin.clone()))
        })
        .collect()
}

/// Active plugins that depend on `name`, directly or transitively, in activation order.
fn active_dependents(live: &Live, name: &Name) -> Vec<Name> {
    let mut down: HashSet<Name> = HashSet::from([name.clone()]);
    let mut out = Vec::new();
    for (active, plugin) in &live.active {
        if plugin.def.dependencies().iter().any(|d| down.contains(&d.plugin)) {
            down.insert(active.clone());
            out.push(active.clone());
        }
    }
    out
}
