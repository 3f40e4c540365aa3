//! [`Runtime`]: the live set of active plugins, recomposed incrementally on install, enable, disable, uninstall
//! and update — only the plugin concerned, its children and its dependents are set up or torn down.
//!
//! Rust cannot unload code: disabling or uninstalling a plugin removes its services, hooks, filters and routes
//! and runs its teardown hook, but its code stays linked in the host. Migrations are never rolled back.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, PoisonError, RwLock};

use futures::FutureExt;
use futures::lock::Mutex;
use http::Method;
use thiserror::Error;
use zelavis_core::bus::{Bus, SubscriptionKind};
use zelavis_core::name::Name;
use zelavis_core::page::{PageError, panic_message};
use zelavis_core::service::{RegisteredService, Services};
use zelavis_plugin::PluginDef;
use zelavis_plugin::context::Registrations;
use zelavis_plugin::route::{Route, RouteError, RouteRequest, RouteResponse};

use crate::activation::{ActivationOptions, run_setup};
use crate::graph::Graph;
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

/// What [`Runtime::apply_state`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateApplied {
    /// Every plugin set up or torn down.
    pub report: ActivationReport,
    /// Records naming plugins this host does not know.
    pub unknown: Vec<Name>,
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
    /// Activation sequence, to list and tear down in activation order.
    seq: u64,
    /// Children whose setup succeeded.
    children: Vec<Name>,
    /// What each owner (the plugin, then its children) registered, so exactly that is removed.
    owned: Vec<Owned>,
}

struct Owned {
    owner: Name,
    services: Vec<Name>,
    routes: Vec<RouteKey>,
}

type RouteKey = (Method, String);

struct Live {
    registry: PluginRegistry,
    graph: Graph,
    services: Services,
    routes: imbl::HashMap<RouteKey, MountedRoute>,
    pages: imbl::HashMap<Name, PluginDef>,
    active: HashMap<Name, ActivePlugin>,
    next_seq: u64,
}

/// What readers see. Persistent maps: publishing a new view after a change is O(1).
#[derive(Default)]
struct View {
    services: Services,
    routes: imbl::HashMap<RouteKey, MountedRoute>,
    pages: imbl::HashMap<Name, PluginDef>,
}

struct Inner {
    live: Mutex<Live>,
    view: RwLock<Arc<View>>,
    bus: Bus,
    health: Arc<HealthBook>,
    ledger: Arc<dyn MigrationLedger>,
    options: ActivationOptions,
}

/// The live runtime. Cheap to clone; changes are serialised, reads (services, routes, pages, bus dispatch)
/// never wait for a change in progress.
///
/// Each change touches only the plugin concerned, its children and its dependents: the registry graph is
/// indexed both ways and the published view is made of persistent maps, so the cost of a change does not grow
/// with the number of other plugins.
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
                    graph: Graph::of(&self.registry),
                    registry: self.registry,
                    services: Services::default(),
                    routes: imbl::HashMap::new(),
                    pages: imbl::HashMap::new(),
                    active: HashMap::new(),
                    next_seq: 0,
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

    /// The services registered by active plugins (a snapshot).
    pub fn services(&self) -> Services {
        self.view().services.clone()
    }

    /// The routes of active plugins, sorted by path then method, for a host to mount in its HTTP router.
    pub fn routes(&self) -> Vec<MountedRoute> {
        let mut routes: Vec<MountedRoute> = self.view().routes.values().cloned().collect();
        routes.sort_by(|a, b| (&a.path, a.route.method().as_str()).cmp(&(&b.path, b.route.method().as_str())));
        routes
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
        let live = self.inner.live.lock().await;
        let mut active: Vec<(&Name, u64)> = live.active.iter().map(|(n, a)| (n, a.seq)).collect();
        active.sort_by_key(|(_, seq)| *seq);
        active.into_iter().map(|(n, _)| n.clone()).collect()
    }

    /// Whether `name` (top-level or child) is active.
    pub async fn is_active(&self, name: &str) -> bool {
        let live = self.inner.live.lock().await;
        if live.active.contains_key(name) {
            return true;
        }
        let parent = live
            .registry
            .get(name)
            .and_then(|e| e.plugin.extends().map(|x| x.plugin.clone()));
        parent
            .and_then(|p| live.active.get(&p))
            .is_some_and(|a| a.children.iter().any(|c| c == name))
    }

    /// Calls the route serving exactly `method` and `path`; a failure is recorded in its owner's health.
    pub async fn call_route(
        &self,
        method: &Method,
        path: &str,
        request: RouteRequest,
    ) -> Result<RouteResponse, RouteCallError> {
        let Some(mounted) = self.view().routes.get(&(method.clone(), path.to_owned())).cloned() else {
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

    /// Renders page `page` of active plugin `plugin` into a full HTML document; a render failure is recorded
    /// in the plugin's health.
    pub fn render_page(&self, plugin: &str, page: &str) -> Result<String, PageError> {
        let Some(def) = self.view().pages.get(plugin).cloned() else {
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

    /// Adds a plugin to the registry; an installed one activates at once (with the dependents waiting for it).
    pub async fn install(&self, entry: RegistryEntry) -> Result<ActivationReport, RuntimeError> {
        let mut live = self.inner.live.lock().await;
        let name = entry.name().clone();
        let def = entry.plugin.clone();
        live.registry.insert(entry)?;
        live.graph.add(&def);
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
        if let Some(entry) = live.registry.get(name.as_str()) {
            let def = entry.plugin.clone();
            live.graph.remove(&def);
        }
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
        let Some(mut entry) = live.registry.get(name.as_str()).cloned() else {
            return Err(RuntimeError::Unknown { name: name.to_string() });
        };
        let status = entry.status;
        let lowered = if status == Status::Installed {
            self.take_down(&mut live, &name, Cascade::Yes, &mut report).await?
        } else {
            Vec::new()
        };
        live.graph.remove(&entry.plugin);
        live.graph.add(&def);
        entry.plugin = def;
        entry.status = status;
        live.registry.upsert(entry);
        for dependent in &lowered {
            live.registry.set_status(dependent.as_str(), Status::Installed)?;
        }
        if status == Status::Installed {
            self.bring_up(&mut live, &name, &mut report).await;
        }
        self.publish(&live);
        Ok(report)
    }

    /// Recomposes the runtime to match `state` (typically read from a shared store): plugins whose status
    /// became `installed` activate, those that became `available` are torn down (their active dependents are
    /// torn down too and wait, still installed, for the dependency to return); order, source, specifier and pin
    /// are recorded. Records of plugins this host does not know are returned, not silently dropped.
    pub async fn apply_state(&self, state: &RegistryState) -> Result<StateApplied, RuntimeError> {
        let mut live = self.inner.live.lock().await;
        let before: HashMap<Name, Status> = state
            .records
            .iter()
            .filter_map(|r| live.registry.get(r.name.as_str()).map(|e| (r.name.clone(), e.status)))
            .collect();
        let applied = live.registry.apply_state(state);
        live.registry = applied.registry;
        let mut report = ActivationReport::default();
        let mut changed: Vec<(Name, Status)> = before
            .into_iter()
            .filter_map(|(name, old)| {
                let new = live.registry.get(name.as_str())?.status;
                (new != old).then_some((name, new))
            })
            .collect();
        changed.sort_by_key(|(name, _)| live.registry.position(name.as_str()));
        for (name, status) in changed {
            match status {
                Status::Installed => self.bring_up(&mut live, &name, &mut report).await,
                Status::Available => {
                    for dependent in self.take_down(&mut live, &name, Cascade::Yes, &mut report).await? {
                        live.registry.set_status(dependent.as_str(), Status::Installed)?;
                    }
                }
            }
        }
        self.publish(&live);
        Ok(StateApplied {
            report,
            unknown: applied.unknown,
        })
    }

    async fn activate_all(&self) -> ActivationReport {
        let mut live = self.inner.live.lock().await;
        let plan = tracing::info_span!("resolve", plugins = live.registry.len())
            .in_scope(|| plan(&live.registry, &self.inner.options.host_contract));
        let mut report = ActivationReport::default();
        // Children of parents skipped by planning are reported with their parent's fate.
        for skipped in &plan.skipped {
            if let Some(children) = plan.children.get(&skipped.name) {
                for (point, child) in children {
                    let mut line = PluginReport::skipped(
                        child.name().clone(),
                        SkipReason::ParentInactive {
                            parent: skipped.name.clone(),
                        },
                    );
                    line.parent = Some((skipped.name.clone(), point.clone()));
                    report.plugins.push(line);
                }
            }
        }
        report.plugins.splice(0..0, plan.skipped);
        for def in plan.order {
            let children = plan.children.get(def.name()).map_or(&[][..], Vec::as_slice);
            self.activate_one(&mut live, &def, children, &mut report).await;
        }
        report.plugins.extend(plan.rejected);
        self.publish(&live);
        report
    }

    /// Activates `name` (or, for a child, recomposes its parent), then every installed, inactive dependent
    /// whose dependencies are now all active.
    async fn bring_up(&self, live: &mut Live, name: &Name, report: &mut ActivationReport) {
        let Some(entry) = live.registry.get(name.as_str()).cloned() else {
            return;
        };
        if entry.status != Status::Installed {
            return;
        }
        if entry.plugin.is_child() {
            let parent_of = entry
                .plugin
                .extends()
                .map(|e| (e.plugin.clone(), e.extension_point.clone()));
            match attach_check(&live.registry, &entry.plugin) {
                Ok((parent, _)) if live.active.contains_key(&parent) => self.recompose(live, &parent, report).await,
                Ok((parent, _)) => {
                    let mut line = PluginReport::skipped(name.clone(), SkipReason::ParentInactive { parent });
                    line.parent = parent_of;
                    report.plugins.push(line);
                }
                Err(reason) => {
                    let mut line = PluginReport::skipped(name.clone(), reason);
                    line.parent = parent_of;
                    report.plugins.push(line);
                }
            }
            return;
        }
        let mut queue = vec![name.clone()];
        while let Some(next) = queue.pop() {
            let Some(entry) = live.registry.get(next.as_str()) else {
                continue;
            };
            if entry.status != Status::Installed || entry.plugin.is_child() || live.active.contains_key(&next) {
                continue;
            }
            let def = entry.plugin.clone();
            if let Err(reason) = static_check(&live.registry, &def, &self.inner.options.host_contract) {
                if next == *name {
                    report.plugins.push(PluginReport::skipped(next, reason));
                }
                continue;
            }
            if next != *name && def.dependencies().iter().any(|d| !live.active.contains_key(&d.plugin)) {
                // A dependent still waiting for another dependency: it activates when that one does.
                continue;
            }
            let children = accepted_children(live, &next);
            if self.activate_one(live, &def, &children, report).await {
                let mut waiting: Vec<Name> = live.graph.dependents(&next).to_vec();
                waiting.sort_by_key(|d| std::cmp::Reverse(live.registry.position(d.as_str())));
                queue.extend(waiting);
            }
        }
    }

    /// Tears `name` down (with `cascade`, its active dependents first) and marks them available. Returns the
    /// dependents it lowered.
    async fn take_down(
        &self,
        live: &mut Live,
        name: &Name,
        cascade: Cascade,
        report: &mut ActivationReport,
    ) -> Result<Vec<Name>, RuntimeError> {
        let Some(entry) = live.registry.get(name.as_str()).cloned() else {
            return Err(RuntimeError::Unknown { name: name.to_string() });
        };
        if let Some(extends) = entry.plugin.extends() {
            live.registry.set_status(name.as_str(), Status::Available)?;
            let mut line = PluginReport::new(name.clone(), Outcome::Deactivated);
            line.parent = Some((extends.plugin.clone(), extends.extension_point.clone()));
            report.plugins.push(line);
            if live.active.contains_key(&extends.plugin) {
                self.recompose(live, &extends.plugin, report).await;
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
                .rev()
                .chain(std::iter::once(name))
                .map(|n| PluginReport::new(n.clone(), Outcome::Deactivated)),
        );
        Ok(dependents)
    }

    /// Tears a parent down and sets it up again with its current accepted children.
    async fn recompose(&self, live: &mut Live, parent: &Name, report: &mut ActivationReport) {
        let Some(active) = live.active.get(parent) else {
            return;
        };
        let def = active.def.clone();
        self.deactivate(live, parent);
        let children = accepted_children(live, parent);
        if !self.activate_one(live, &def, &children, report).await {
            // The parent is gone: its dependents go down too, still installed, waiting for it to return.
            let dependents = active_dependents(live, parent);
            for dependent in dependents.iter().rev() {
                self.deactivate(live, dependent);
            }
            report.plugins.extend(dependents.iter().rev().map(|n| {
                PluginReport::skipped(
                    n.clone(),
                    SkipReason::DependencyInactive {
                        dependency: parent.clone(),
                    },
                )
            }));
        }
    }

    /// Runs the plugin's teardown and removes exactly what it and its children registered.
    fn deactivate(&self, live: &mut Live, name: &Name) {
        let Some(active) = live.active.remove(name) else {
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
        for owned in &active.owned {
            self.withdraw(live, owned);
        }
        live.pages.remove(name);
    }

    fn withdraw(&self, live: &mut Live, owned: &Owned) {
        self.inner.bus.remove_owner(&owned.owner);
        for service in &owned.services {
            live.services.remove(service.as_str());
        }
        for route in &owned.routes {
            live.routes.remove(route);
        }
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
        let skip_children = |report: &mut ActivationReport, reason: &SkipReason| {
            for (point, child) in children {
                let mut line = PluginReport::skipped(child.name().clone(), reason.clone());
                line.parent = Some((name.clone(), point.clone()));
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
            skip_children(report, &SkipReason::ParentInactive { parent: name.clone() });
            return false;
        }
        let span = tracing::info_span!("setup", plugin = %name);
        let mut owned = Vec::new();
        let result = self
            .setup_and_commit(live, def, children, &mut owned)
            .instrument_span(span)
            .await;
        match result {
            Ok((lines, applied)) => {
                live.next_seq += 1;
                let seq = live.next_seq;
                live.active.insert(
                    name.clone(),
                    ActivePlugin {
                        def: def.clone(),
                        seq,
                        children: applied,
                        owned,
                    },
                );
                if !def.pages().is_empty() {
                    live.pages.insert(name, def.clone());
                }
                report.plugins.extend(lines);
                true
            }
            Err(reason) => {
                tracing::warn!(plugin = %name, %reason, "plugin failed to activate");
                self.inner.health.setup_failure(&name, reason.to_string());
                for owned in &owned {
                    self.withdraw(live, owned);
                }
                report
                    .plugins
                    .push(PluginReport::new(name.clone(), Outcome::Failed { reason }));
                skip_children(report, &SkipReason::ParentInactive { parent: name.clone() });
                false
            }
        }
    }

    /// Runs the setup, the migrations and commits the registrations of the plugin and of each child whose setup
    /// succeeded. Records in `owned` what was committed, so a later failure can withdraw it.
    async fn setup_and_commit(
        &self,
        live: &mut Live,
        def: &PluginDef,
        children: &[(Name, PluginDef)],
        owned: &mut Vec<Owned>,
    ) -> Result<(Vec<PluginReport>, Vec<Name>), FailReason> {
        let name = def.name().clone();
        let mut finished = run_setup(def, children, live.services.clone(), &self.inner.options).await?;
        let mut own = PluginReport::new(name.clone(), Outcome::Activated);
        own.migrations = self.migrate(&name, &finished.registrations).await?;
        let registrations = std::mem::take(&mut finished.registrations);
        owned.push(
            self.commit(live, &name, registrations, &mut own)
                .map_err(|message| FailReason::Registration { message })?,
        );
        let mut lines = vec![own];
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
                Ok(committed) => {
                    owned.push(committed);
                    applied.push(run.child.clone());
                }
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
        Ok((lines, applied))
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

    /// Installs one owner's registrations, all or nothing, and says what it installed.
    fn commit(
        &self,
        live: &mut Live,
        owner: &Name,
        registrations: Registrations,
        line: &mut PluginReport,
    ) -> Result<Owned, String> {
        let owner_label =
            |o: Option<&Name>| o.map_or_else(|| "core".to_owned(), |o| format!("plugin {:?}", o.as_str()));
        for service in &registrations.services {
            if let Some(existing) = live.services.get(service.name().as_str()) {
                return Err(format!(
                    "service {:?} is already registered by {}",
                    service.name().as_str(),
                    owner_label(existing.owner.as_ref())
                ));
            }
        }
        let base = if registrations.routes.is_empty() {
            String::new()
        } else {
            self.inner.options.paths.plugin_api(owner)
        };
        let routes: Vec<MountedRoute> = registrations
            .routes
            .into_iter()
            .map(|route| MountedRoute {
                owner: owner.clone(),
                path: format!("{base}{}", route.path()),
                route,
            })
            .collect();
        for route in &routes {
            if let Some(existing) = live.routes.get(&(route.route.method().clone(), route.path.clone())) {
                return Err(format!(
                    "route {} {} is already served by {}",
                    route.route.method(),
                    route.path,
                    owner_label(Some(&existing.owner))
                ));
            }
        }
        let kinds = |kind| {
            registrations
                .subscriptions
                .iter()
                .filter(|s| s.kind() == kind)
                .map(|s| s.name().to_owned())
                .collect::<Vec<_>>()
        };
        line.hooks = kinds(SubscriptionKind::Hook);
        line.filters = kinds(SubscriptionKind::Filter);
        self.inner
            .bus
            .install(owner, registrations.subscriptions)
            .map_err(|e| e.to_string())?;
        line.services = registrations.services.iter().map(|s| s.name().clone()).collect();
        line.routes = routes
            .iter()
            .map(|r| format!("{} {}", r.route.method(), r.path))
            .collect();
        let mut committed = Owned {
            owner: owner.clone(),
            services: line.services.clone(),
            routes: Vec::with_capacity(routes.len()),
        };
        for service in registrations.services {
            live.services.insert(RegisteredService {
                service,
                owner: Some(owner.clone()),
            });
        }
        for route in routes {
            let key = (route.route.method().clone(), route.path.clone());
            committed.routes.push(key.clone());
            live.routes.insert(key, route);
        }
        Ok(committed)
    }

    fn publish(&self, live: &Live) {
        let view = View {
            services: live.services.clone(),
            routes: live.routes.clone(),
            pages: live.pages.clone(),
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
    // Labels a page-not-found error whose plugin segment is not even a valid name.
    Name::parse("unknown").unwrap_or_else(|_| unreachable!("\"unknown\" satisfies the name grammar"))
}

/// Installed children of `parent` that pass the attach check, in registry order.
fn accepted_children(live: &Live, parent: &Name) -> Vec<(Name, PluginDef)> {
    live.graph
        .children(&live.registry, parent)
        .iter()
        .filter_map(|child| live.registry.get(child.as_str()))
        .filter(|e| e.status == Status::Installed)
        .filter_map(|e| {
            attach_check(&live.registry, &e.plugin)
                .ok()
                .map(|(_, point)| (point, e.plugin.clone()))
        })
        .collect()
}

/// Active plugins that depend on `name`, directly or transitively, in activation order.
fn active_dependents(live: &Live, name: &Name) -> Vec<Name> {
    let mut seen: HashSet<Name> = HashSet::new();
    let mut stack = vec![name.clone()];
    while let Some(next) = stack.pop() {
        for dependent in live.graph.dependents(&next) {
            if live.active.contains_key(dependent) && seen.insert(dependent.clone()) {
                stack.push(dependent.clone());
            }
        }
    }
    let mut out: Vec<Name> = seen.into_iter().collect();
    out.sort_by_key(|n| live.active.get(n).map_or(u64::MAX, |a| a.seq));
    out
}
