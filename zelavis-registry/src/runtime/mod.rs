//! [`Runtime`]: the live set of active plugins, and the verbs that change it — install, enable, disable,
//! update, uninstall, pin, order, apply a state — each an exact, idempotent change that sets up or tears down
//! only what it concerns.
//!
//! A runtime given a store ([`RuntimeBuilder::store`]) owns its persistence: it starts from the stored state,
//! writes every change back with compare-and-swap, keeps its migration ledger there, and can follow other
//! hosts sharing the store ([`Runtime::follower`]).
//!
//! Rust cannot unload code: disabling or uninstalling a plugin removes its services, hooks, filters and routes
//! and runs its teardown hook, but its code stays linked in the host. Migrations are never rolled back.

mod builder;
mod change;

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use futures::lock::Mutex;
use http::Method;
use semver::Version;
use thiserror::Error;
use zelavis_core::bus::Bus;
use zelavis_core::name::Name;
use zelavis_core::page::PageError;
use zelavis_core::quote::Quoted;
use zelavis_core::service::Services;
use zelavis_plugin::PluginDef;
use zelavis_plugin::route::{RouteError, RouteRequest, RouteResponse};

pub use builder::RuntimeBuilder;

use crate::activation::{ActivationOptions, ActivePlugin};
use crate::graph::Graph;
use crate::hash::{HashMap, HashSet, IndexMap};
use crate::health::{HealthBook, HealthSnapshot};
use crate::ledger::MigrationLedger;
use crate::mount::{Mounted, MountedRoute, View};
use crate::record::{Edit, InstallRecord};
use crate::registry::{PluginRegistry, RegistryEntry, RegistryError, Status};
use crate::report::ActivationReport;
use crate::state::RegistryState;
use crate::store::{RegistryStore, Revision, Scope, StoreError};
use crate::timer::Timer;

/// Whether disabling a plugin also disables the active plugins that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cascade {
    /// Refuse when others depend on it.
    No,
    /// Disable its dependents too.
    Yes,
}

/// Why a runtime change was refused. A refused change changed nothing, live or stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The plugin is not in the registry.
    #[error("plugin {name} is not in the registry")]
    Unknown {
        /// The name asked for (a bounded copy).
        name: Quoted,
    },
    /// Active plugins depend on it and the host did not ask to cascade.
    #[error("plugin {plugin:?} cannot be disabled: {} depend(s) on it; disable them first or cascade", dependents.iter().map(|d| format!("{:?}", d.as_str())).collect::<Vec<_>>().join(", "))]
    HasDependents {
        /// The plugin.
        plugin: Name,
        /// Its active dependents.
        dependents: Vec<Name>,
    },
    /// A registry rule (duplicate name, invalid name...).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The runtime's store failed; the change was not applied.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runtime could not follow its store.
    #[error(transparent)]
    Follow(#[from] crate::follow::FollowError),
    /// Activation options ask for a setup timeout but the runtime has no timer to enforce it.
    #[error("a setup timeout of {after_ms} ms needs a timer: pass one to RuntimeBuilder::timer")]
    NoTimer {
        /// The timeout asked for, in milliseconds.
        after_ms: u64,
    },
}

/// What [`Runtime::apply_state`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateApplied {
    /// Every plugin set up or torn down, one final line each.
    pub report: ActivationReport,
    /// Records naming plugins this host does not know (kept in the state, never activated here).
    pub unknown: Vec<Name>,
    /// The revision of the stored state the runtime is now at ([`Revision::NONE`] without a store).
    pub revision: Revision,
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
        /// The path (a bounded copy).
        path: Quoted,
    },
    /// The handler failed or panicked (recorded in the owner's health).
    #[error(transparent)]
    Handler(#[from] RouteError),
}

/// Where a runtime keeps its state, when it owns a store.
#[derive(Clone)]
pub(crate) struct Persistence {
    pub(crate) store: Arc<dyn RegistryStore>,
}

/// The live state: changed by one change at a time, under the runtime's lock.
pub(crate) struct Live {
    pub(crate) registry: PluginRegistry,
    pub(crate) graph: Graph,
    /// Records of the state that name no plugin of this host, by name, in state order.
    pub(crate) foreign: IndexMap<Name, InstallRecord>,
    /// Plugins of this host without a record in the state (another host removed it): they count as available.
    pub(crate) unrecorded: HashSet<Name>,
    /// The revision of the stored state this live state reflects.
    pub(crate) revision: Revision,
    pub(crate) mounted: Mounted,
    pub(crate) active: HashMap<Name, ActivePlugin>,
    pub(crate) next_seq: u64,
    pub(crate) last_report: ActivationReport,
}

impl Live {
    /// The install state: a record per plugin of this host that has one, then the records of other hosts'
    /// plugins.
    pub(crate) fn state(&self) -> RegistryState {
        let mut records: Vec<InstallRecord> = self
            .registry
            .iter()
            .filter(|e| !self.unrecorded.contains(e.name()))
            .map(|e| e.record.clone())
            .collect();
        records.extend(self.foreign.values().cloned());
        RegistryState::new(records)
    }
}

pub(crate) struct Inner {
    pub(crate) live: Mutex<Live>,
    pub(crate) view: RwLock<View>,
    pub(crate) bus: Bus,
    pub(crate) health: Arc<HealthBook>,
    pub(crate) ledger: Arc<dyn MigrationLedger>,
    pub(crate) scope: Scope,
    pub(crate) persistence: Option<Persistence>,
    pub(crate) options: ActivationOptions,
    pub(crate) timer: Option<Arc<dyn Timer>>,
    pub(crate) poll: Option<std::time::Duration>,
    /// Bumped by every publish (see [`Runtime::generation`]).
    pub(crate) generation: std::sync::atomic::AtomicU64,
}

/// The live runtime. Cheap to clone; changes are serialised, reads (services, routes, pages, bus dispatch)
/// never wait for a change in progress.
///
/// Each change touches only the plugin concerned, its parent or children and its dependents: the registry
/// graph is indexed both ways and the published view is made of persistent maps, so the cost of a change does
/// not grow with the number of other plugins.
///
/// ```
/// use zelavis_plugin::prelude::*;
/// use zelavis_registry::prelude::*;
///
/// const GREETER: ServiceRef<&str> = ServiceRef::new("greeter");
///
/// # futures::executor::block_on(async {
/// let hello = PluginDef::builder("hello").version("1.0.0")
///     .permission(Permission::ServicesRegister)
///     .setup(|cx| cx.provide(&GREETER, "hello"))
///     .build()?;
/// let registry = PluginRegistry::new([RegistryEntry::installed(hello)])?;
/// let (runtime, report) = Runtime::builder(registry).start().await?;
/// assert!(report.all_activated());
/// assert_eq!(runtime.services().value_of(&GREETER), Some(&"hello"));
///
/// runtime.disable("hello", Cascade::No).await?;
/// assert!(runtime.services().value_of(&GREETER).is_none());
/// // Disabling again changes nothing, and says so.
/// let again = runtime.disable("hello", Cascade::No).await?;
/// assert_eq!(again.outcome("hello"), Some(&Outcome::Unchanged { active: false }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

impl Runtime {
    /// Configures a runtime over `registry`.
    pub fn builder(registry: PluginRegistry) -> RuntimeBuilder {
        RuntimeBuilder::new(registry)
    }

    /// The bus: emit hooks and apply filters through it.
    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// The scope this runtime's state and migrations live in.
    pub fn scope(&self) -> &Scope {
        &self.inner.scope
    }

    /// The activation options.
    pub fn options(&self) -> &ActivationOptions {
        &self.inner.options
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

    /// A copy of one plugin's registry entry as it is now (without copying the whole registry).
    pub async fn entry(&self, name: &str) -> Option<RegistryEntry> {
        self.inner.live.lock().await.registry.get(name).cloned()
    }

    /// The install state as it is now: with a store, exactly the stored state this runtime is at (records of
    /// plugins this host does not know included).
    pub async fn state(&self) -> RegistryState {
        self.inner.live.lock().await.state()
    }

    /// The revision of the stored state this runtime is at ([`Revision::NONE`] without a store).
    pub async fn revision(&self) -> Revision {
        self.inner.live.lock().await.revision
    }

    /// The report of the last change (start-up included).
    pub async fn last_report(&self) -> ActivationReport {
        self.inner.live.lock().await.last_report.clone()
    }

    /// Names of the active top-level plugins, in activation order.
    pub async fn active(&self) -> Vec<Name> {
        let live = self.inner.live.lock().await;
        let mut active: Vec<(&Name, u64)> = live.active.iter().map(|(n, a)| (n, a.seq)).collect();
        active.sort_by_key(|(_, seq)| *seq);
        active.into_iter().map(|(n, _)| n.clone()).collect()
    }

    /// The child plugins their active parents applied, parents in activation order (a child the extension
    /// point's policy refused, or whose contribution failed, is not among them).
    pub async fn applied_children(&self) -> Vec<Name> {
        let live = self.inner.live.lock().await;
        let mut parents: Vec<_> = live.active.values().collect();
        parents.sort_by_key(|a| a.seq);
        parents.into_iter().flat_map(|a| a.applied.iter().cloned()).collect()
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
            .is_some_and(|a| a.applied.iter().any(|c| c == name))
    }

    /// Calls the route answering `method` and `path` (the full path, e.g. `/zelavis/api/v1/plugins/shop/orders/7`):
    /// the route with exactly that path, else the most specific route whose parameters match it (a literal
    /// segment beats `{name}`, which beats `{*rest}`), with the values in the request's
    /// [`RouteParams`](zelavis_plugin::route::RouteParams). A failure is recorded in the route owner's health.
    pub async fn call_route(
        &self,
        method: &Method,
        path: &str,
        mut request: RouteRequest,
    ) -> Result<RouteResponse, RouteCallError> {
        let view = self.view();
        let Some((mounted, params)) = view.route_for(method, path) else {
            return Err(RouteCallError::NotFound {
                method: method.to_string(),
                path: Quoted::new(path),
            });
        };
        let mounted = mounted.clone();
        drop(view);
        if !params.is_empty() {
            request.extensions_mut().insert(params);
        }
        mounted.route.call(request).await.map_err(|error| {
            self.inner.health.runtime_failure(&mounted.owner, error.to_string());
            RouteCallError::Handler(error)
        })
    }

    /// Renders page `page` of active plugin `plugin` into a full HTML document; a render failure is recorded
    /// in the plugin's health.
    pub fn render_page(&self, plugin: &str, page: &str) -> Result<String, PageError> {
        self.render_page_response(plugin, page).map(|response| response.body)
    }

    /// Renders page `page` of active plugin `plugin` into its full response (status, content type, headers and
    /// body; see [`PluginDef::render_page_response`]); a render failure is recorded in the plugin's health, as
    /// with [`render_page`](Self::render_page).
    pub fn render_page_response(
        &self,
        plugin: &str,
        page: &str,
    ) -> Result<zelavis_core::page::PageResponse, PageError> {
        let Some(def) = self.view().pages.get(plugin).cloned() else {
            return Err(PageError::NotFound {
                plugin: Name::parse(plugin).unwrap_or_else(|_| unknown_name()),
                page: zelavis_core::quote::clip(page, 256),
            });
        };
        def.render_page_response(page).inspect_err(|error| {
            if !matches!(error, PageError::NotFound { .. }) {
                self.inner.health.runtime_failure(def.name(), error.to_string());
            }
        })
    }

    /// A number that grows every time the runtime publishes a new view (after start-up and after every change,
    /// its own or one a follower took from the store): a reader that cached something derived from the runtime
    /// (a dashboard's navigation) rebuilds it when this number moved. Read it before reading what you cache.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Adds a plugin to the registry (and its record to the state); an installed one activates at once, with
    /// the dependents waiting for it, and a child recomposes its parent.
    pub async fn install(&self, entry: RegistryEntry) -> Result<ActivationReport, RuntimeError> {
        self.install_all([entry]).await
    }

    /// Adds several plugins in one change: a parent and its child, or a dependency and its dependent, installed
    /// together are each set up once.
    pub async fn install_all(
        &self,
        entries: impl IntoIterator<Item = RegistryEntry>,
    ) -> Result<ActivationReport, RuntimeError> {
        let entries: Vec<RegistryEntry> = entries.into_iter().collect();
        self.change(change::Request::Install(entries)).await
    }

    /// Marks a plugin installed and activates it (a child: recomposes its parent), with the dependents that were
    /// waiting for it. Enabling an active plugin changes nothing and reports it unchanged.
    pub async fn enable(&self, name: &str) -> Result<ActivationReport, RuntimeError> {
        self.set_status(name, Status::Installed, Cascade::No).await
    }

    /// Marks a plugin available and tears it down (its children with it). A child is removed from its parent,
    /// which recomposes. Refused when active plugins depend on it, unless `cascade` says to disable them too.
    /// Disabling a plugin that is not active reports it unchanged.
    pub async fn disable(&self, name: &str, cascade: Cascade) -> Result<ActivationReport, RuntimeError> {
        self.set_status(name, Status::Available, cascade).await
    }

    async fn set_status(&self, name: &str, status: Status, cascade: Cascade) -> Result<ActivationReport, RuntimeError> {
        self.change(change::Request::Status {
            name: name.to_owned(),
            status,
            cascade,
        })
        .await
    }

    /// Disables a plugin (see [`disable`](Self::disable)) and removes it from the registry and the state. Its
    /// code stays linked in the host: Rust cannot unload it.
    pub async fn uninstall(&self, name: &str, cascade: Cascade) -> Result<ActivationReport, RuntimeError> {
        self.change(change::Request::Uninstall {
            name: name.to_owned(),
            cascade,
        })
        .await
    }

    /// Replaces a plugin's definition (keeping its registry position and record) and sets it up again, with its
    /// dependents; a child's parent recomposes.
    pub async fn update(&self, def: PluginDef) -> Result<ActivationReport, RuntimeError> {
        self.change(change::Request::Update { def, specifier: None }).await
    }

    /// [`update`](Self::update), recording `specifier` as where the new definition came from in the same
    /// change: a follower never sees the new version under the old specifier (what a loader that keys code by
    /// specifier, such as the WebAssembly loader, needs).
    pub async fn update_with_specifier(
        &self,
        def: PluginDef,
        specifier: impl Into<String>,
    ) -> Result<ActivationReport, RuntimeError> {
        self.change(change::Request::Update {
            def,
            specifier: Some(specifier.into()),
        })
        .await
    }

    /// Pins a plugin to a version, or clears its pin (`None`). The pin is recorded and persisted; what a pin
    /// that differs from the plugin's version means is the loader's and the operator layer's to decide.
    pub async fn set_pin(&self, name: &str, pin: Option<Version>) -> Result<ActivationReport, RuntimeError> {
        self.change(change::Request::Pin {
            name: name.to_owned(),
            pin,
        })
        .await
    }

    /// Sets a plugin's activation order, or clears it (`None`: after every ordered plugin). Active plugins
    /// keep running; the order applies from the next start-up.
    pub async fn set_order(&self, name: &str, order: Option<u32>) -> Result<ActivationReport, RuntimeError> {
        self.change(change::Request::Order {
            name: name.to_owned(),
            order,
        })
        .await
    }

    /// Makes the install state exactly `state`, in one change: plugins whose status became `installed`
    /// activate, those that became `available` (or lost their record) are torn down, their active dependents
    /// with them (still installed, waiting for the dependency to return); orders, sources, specifiers and pins
    /// are replaced, an absent value clearing the current one. Records of plugins this host does not know are
    /// kept and returned, never activated. With a store, the new records are written back like any change.
    pub async fn apply_state(&self, state: &RegistryState) -> Result<StateApplied, RuntimeError> {
        let unknown = {
            let live = self.inner.live.lock().await;
            let mut seen = HashSet::default();
            state
                .records
                .iter()
                .filter(|r| !live.registry.contains(r.name.as_str()) && seen.insert(r.name.clone()))
                .map(|r| r.name.clone())
                .collect()
        };
        let report = self.change(change::Request::State(state.clone())).await?;
        Ok(StateApplied {
            report,
            unknown,
            revision: self.revision().await,
        })
    }

    /// How this runtime repeats a contended write: the default policy, waiting with the runtime's timer.
    fn retry(&self) -> crate::store::Retry {
        let retry = crate::store::Retry::default();
        match &self.inner.timer {
            Some(timer) => retry.timer(timer.clone()),
            None => retry,
        }
    }

    fn publish(&self, live: &Live) {
        *self.inner.view.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(live.mounted.clone());
        self.inner.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    fn view(&self) -> View {
        self.inner.view.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("scope", &self.inner.scope)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

fn unknown_name() -> Name {
    // Labels a page-not-found error whose plugin segment is not even a valid name.
    Name::parse("unknown").unwrap_or_else(|_| unreachable!("\"unknown\" satisfies the name grammar"))
}

/// The edits that make `records` the state of a runtime whose current state is `current`.
pub(crate) fn edits_towards(current: &RegistryState, records: &[InstallRecord]) -> Vec<Edit> {
    let mut wanted: IndexMap<&Name, &InstallRecord> = IndexMap::default();
    for record in records {
        wanted.insert(&record.name, record);
    }
    let mut edits: Vec<Edit> = current
        .records
        .iter()
        .filter(|r| !wanted.contains_key(&r.name))
        .map(|r| Edit::Remove(r.name.clone()))
        .collect();
    edits.extend(
        wanted
            .values()
            .filter(|r| current.get(r.name.as_str()) != Some(**r))
            .map(|r| Edit::Upsert((*r).clone())),
    );
    edits
}
