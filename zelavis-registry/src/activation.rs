//! Activation: setting one plugin up in isolation with its children, running its migrations, committing what
//! it registered (or nothing), and withdrawing exactly that when it goes down.
//!
//! A setup that returns an error, panics (sync or async) or exceeds the host's timeout is recorded as failed
//! and its registrations are dropped; activation goes on with the next plugin. Timeouts preempt at await
//! points only: Rust cannot stop a thread, so a sync setup that blocks forever blocks its caller.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::{Either, select};
use zelavis_core::bus::{Bus, SubscriptionKind};
use zelavis_core::contract::{ContractVersion, HOST_CONTRACT};
use zelavis_core::name::Name;
use zelavis_core::panic::{catch, catch_async};
use zelavis_core::paths::ApiPaths;
use zelavis_core::platform::PlatformSummary;
use zelavis_core::service::RegisteredService;
use zelavis_plugin::PluginDef;
use zelavis_plugin::context::{ChildFailure, Finished, Registrations, SetupContext};
use zelavis_plugin::permission::PermissionMode;
use zelavis_plugin::setup::SetupError;

use crate::health::HealthBook;
use crate::ledger::MigrationLedger;
use crate::mount::{Mounted, MountedRoute, RouteKey};
use crate::plan::Start;
use crate::report::{FailReason, Lines, Outcome, PluginReport, RegistrationConflict, SkipReason};
use crate::store::Scope;
use crate::timer::Timer;

/// How a host activates plugins: mount paths, platform summary, permission mode, setup timeout and contract.
///
/// ```
/// use std::time::Duration;
/// use zelavis_registry::activation::ActivationOptions;
/// use zelavis_plugin::permission::PermissionMode;
///
/// let options = ActivationOptions::default()
///     .permission_mode(PermissionMode::Lenient)
///     // Enforced with the runtime's timer (`RuntimeBuilder::timer`).
///     .timeout(Duration::from_secs(5));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct ActivationOptions {
    pub(crate) paths: ApiPaths,
    pub(crate) platform: Arc<PlatformSummary>,
    pub(crate) mode: PermissionMode,
    pub(crate) timeout: Option<Duration>,
    pub(crate) host_contract: ContractVersion,
}

impl Default for ActivationOptions {
    fn default() -> Self {
        Self {
            paths: ApiPaths::default(),
            platform: Arc::default(),
            mode: PermissionMode::Strict,
            timeout: None,
            host_contract: HOST_CONTRACT,
        }
    }
}

impl ActivationOptions {
    /// Mount paths (default `/zelavis`, `/api`, `v1`).
    #[must_use]
    pub fn paths(mut self, paths: ApiPaths) -> Self {
        self.paths = paths;
        self
    }

    /// The platform summary every setup sees.
    #[must_use]
    pub fn platform(mut self, platform: PlatformSummary) -> Self {
        self.platform = Arc::new(platform);
        self
    }

    /// Strict (default: undeclared registrations refused) or lenient (allowed with a warning).
    #[must_use]
    pub fn permission_mode(mut self, mode: PermissionMode) -> Self {
        self.mode = mode;
        self
    }

    /// Fails any setup still running after `after`. The runtime needs a [`Timer`] to enforce it (see
    /// `RuntimeBuilder::timer`); starting without one is refused.
    #[must_use]
    pub fn timeout(mut self, after: Duration) -> Self {
        self.timeout = Some(after);
        self
    }

    /// The contract version the host speaks (default: this build's `HOST_CONTRACT`).
    #[must_use]
    pub fn host_contract(mut self, contract: ContractVersion) -> Self {
        self.host_contract = contract;
        self
    }

    /// The mount paths.
    pub fn api_paths(&self) -> &ApiPaths {
        &self.paths
    }

    /// The contract version the host speaks.
    pub fn contract(&self) -> &ContractVersion {
        &self.host_contract
    }
}

/// A child offered to its parent: the extension point it extends and its definition.
#[derive(Debug, Clone)]
pub(crate) struct Offered {
    pub(crate) point: Name,
    pub(crate) def: PluginDef,
}

impl Offered {
    /// Whether both offer the same definition to the same point.
    pub(crate) fn same_as(&self, other: &Offered) -> bool {
        self.point == other.point && self.def.ptr_eq(&other.def)
    }
}

/// A top-level plugin that is live.
pub(crate) struct ActivePlugin {
    pub(crate) def: PluginDef,
    /// Activation sequence: plugins are listed, and torn down in reverse, in this order. A plugin set up again
    /// keeps its place.
    pub(crate) seq: u64,
    /// The children it was offered, in the order it received them.
    pub(crate) offered: Vec<Offered>,
    /// The children whose setup succeeded and whose registrations are live (few: a list).
    pub(crate) applied: Vec<Name>,
    /// What each owner (the plugin, then its children) registered, so exactly that is removed.
    owned: Vec<Owned>,
}

impl fmt::Debug for ActivePlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivePlugin")
            .field("name", self.def.name())
            .field("seq", &self.seq)
            .field("applied", &self.applied)
            .finish_non_exhaustive()
    }
}

/// What one owner registered and the runtime committed.
#[derive(Debug)]
struct Owned {
    owner: Name,
    services: Vec<Name>,
    routes: Vec<RouteKey>,
    subscriptions: bool,
}

/// Everything activation needs besides the mounted maps: one per runtime.
pub(crate) struct Activator<'a> {
    pub(crate) bus: &'a Bus,
    pub(crate) health: &'a HealthBook,
    pub(crate) ledger: &'a dyn MigrationLedger,
    pub(crate) scope: &'a Scope,
    pub(crate) options: &'a ActivationOptions,
    pub(crate) timer: Option<&'a dyn Timer>,
}

impl Activator<'_> {
    /// Sets one top-level plugin up with its offered children and commits what they registered. Records one
    /// line for the plugin and one per offered child; returns the live plugin, or `None` when its setup failed.
    pub(crate) async fn activate(
        &self,
        mounted: &mut Mounted,
        start: Start,
        seq: u64,
        lines: &mut Lines,
    ) -> Option<ActivePlugin> {
        let Start { def, offered } = start;
        let name = def.name().clone();
        let span = tracing::info_span!("setup", plugin = %name);
        let mut owned = Vec::new();
        let set_up = self.set_up(mounted, &def, &offered, &mut owned);
        // Wrapping the future moves it: only when someone listens.
        let result = if span.is_disabled() {
            set_up.await
        } else {
            tracing::Instrument::instrument(set_up, span).await
        };
        match result {
            Ok((own, children, applied)) => {
                if !def.pages().is_empty() {
                    mounted.pages.insert(name, def.clone());
                }
                lines.push(own);
                lines.extend(children);
                Some(ActivePlugin {
                    def,
                    seq,
                    offered,
                    applied,
                    owned,
                })
            }
            Err(reason) => {
                tracing::warn!(plugin = %name, %reason, "plugin failed to activate");
                self.health.setup_failure(&name, reason.to_string());
                for owned in &owned {
                    self.withdraw(mounted, owned);
                }
                lines.push(PluginReport::new(name.clone(), Outcome::Failed { reason }));
                for child in &offered {
                    lines.push(
                        PluginReport::skipped(
                            child.def.name().clone(),
                            SkipReason::ParentInactive { parent: name.clone() },
                        )
                        .child_of(Some((name.clone(), child.point.clone()))),
                    );
                }
                None
            }
        }
    }

    /// Runs the teardown hooks of `active`'s applied children (last applied first), then its own, and removes
    /// exactly what they registered.
    pub(crate) fn deactivate(&self, mounted: &mut Mounted, active: &ActivePlugin) {
        for child in active.offered.iter().rev() {
            if active.applied.contains(child.def.name()) {
                self.tear_down(&child.def);
            }
        }
        self.tear_down(&active.def);
        for owned in &active.owned {
            self.withdraw(mounted, owned);
        }
        mounted.pages.remove(active.def.name());
    }

    /// Runs one plugin's teardown hook in isolation: a failure or panic is recorded in its health.
    fn tear_down(&self, def: &PluginDef) {
        let name = def.name();
        let span = tracing::info_span!("teardown", plugin = %name);
        let _entered = span.enter();
        match catch(|| def.run_teardown()) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => self.health.runtime_failure(name, format!("teardown failed: {error}")),
            Err(caught) => self
                .health
                .runtime_failure(name, format!("teardown panicked: {caught}")),
        }
    }

    fn withdraw(&self, mounted: &mut Mounted, owned: &Owned) {
        if owned.subscriptions {
            self.bus.remove_owner(&owned.owner);
        }
        for service in &owned.services {
            mounted.services.remove(service.as_str());
        }
        for route in &owned.routes {
            mounted.unmount_route(route);
        }
    }

    /// Runs the setup and the migrations, then commits the registrations of the plugin and of each child whose
    /// setup succeeded. Records in `owned` what was committed, so a later failure can withdraw it.
    async fn set_up(
        &self,
        mounted: &mut Mounted,
        def: &PluginDef,
        offered: &[Offered],
        owned: &mut Vec<Owned>,
    ) -> Result<(PluginReport, Vec<PluginReport>, Vec<Name>), FailReason> {
        let name = def.name().clone();
        let mut finished = self.run_setup(def, offered, mounted).await?;
        let mut own = PluginReport::new(name.clone(), Outcome::Activated);
        let registrations = std::mem::take(&mut finished.registrations);
        if !registrations.migrations.is_empty() {
            own.migrations = self.migrate(&name, &registrations).await?;
        }
        owned.extend(
            commit(mounted, self, &name, registrations, &mut own)
                .map_err(|conflict| FailReason::Registration { conflict })?,
        );
        let mut children = Vec::with_capacity(offered.len());
        let mut applied = Vec::new();
        let not_run: Vec<&Offered> = offered
            .iter()
            .filter(|o| !finished.children.iter().any(|run| run.child == *o.def.name()))
            .collect();
        for run in finished.children {
            let mut line = PluginReport::new(run.child.clone(), Outcome::Activated)
                .child_of(Some((name.clone(), run.extension_point.clone())));
            let outcome = match run.outcome {
                Err(ChildFailure::Error(error)) => Err(FailReason::Setup { error }),
                Err(ChildFailure::Panicked(message)) => Err(FailReason::Panicked { message }),
                Err(ChildFailure::ApiMismatch(error)) => Err(FailReason::Setup {
                    error: SetupError::Extend(error),
                }),
                Err(other) => Err(FailReason::Setup {
                    error: SetupError::msg(other.to_string()),
                }),
                Ok(registrations) => match self.migrate(&run.child, &registrations).await {
                    Err(reason) => Err(reason),
                    Ok(migrations) => {
                        line.migrations = migrations;
                        commit(mounted, self, &run.child, registrations, &mut line)
                            .map_err(|conflict| FailReason::Registration { conflict })
                    }
                },
            };
            match outcome {
                Ok(committed) => {
                    owned.extend(committed);
                    applied.push(run.child.clone());
                }
                Err(reason) => {
                    self.health.setup_failure(&run.child, reason.to_string());
                    line.outcome = Outcome::Failed { reason };
                }
            }
            children.push(line);
        }
        for child in not_run {
            children.push(
                PluginReport::skipped(
                    child.def.name().clone(),
                    SkipReason::NotApplied {
                        parent: name.clone(),
                        extension_point: child.point.clone(),
                    },
                )
                .child_of(Some((name.clone(), child.point.clone()))),
            );
        }
        Ok((own, children, applied))
    }

    /// Runs `def`'s setup with `offered` children for its extension points. On success, returns everything it
    /// registered; on failure, why (its registrations are dropped here).
    async fn run_setup(&self, def: &PluginDef, offered: &[Offered], mounted: &Mounted) -> Result<Finished, FailReason> {
        let options = self.options;
        let mut builder = SetupContext::builder(def)
            .paths(options.paths.clone())
            .platform(options.platform.clone())
            .services(mounted.services.clone())
            .permission_mode(options.mode);
        if !offered.is_empty() {
            for point in def.extension_points() {
                let accepted: Vec<PluginDef> = offered
                    .iter()
                    .filter(|o| o.point == point.name)
                    .map(|o| o.def.clone())
                    .collect();
                if !accepted.is_empty() {
                    builder = builder.children(point.name.clone(), accepted);
                }
            }
        }
        let cx = builder.build();
        let setup = std::pin::pin!(catch_async(def.run_setup(&cx)));
        let result = match (options.timeout, self.timer) {
            (Some(after), Some(timer)) => match select(setup, timer.sleep(after)).await {
                Either::Left((result, _)) => Some(result),
                Either::Right(((), _)) => None,
            },
            _ => Some(setup.await),
        };
        let finished = cx.finish();
        match result {
            Some(Ok(Ok(()))) => Ok(finished),
            Some(Ok(Err(error))) => Err(FailReason::Setup { error }),
            Some(Err(caught)) => Err(FailReason::Panicked {
                message: caught.into_message(),
            }),
            None => Err(FailReason::TimedOut {
                after_ms: options
                    .timeout
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            }),
        }
    }

    /// Runs the migrations not yet in the ledger for this scope; returns the ids that ran.
    async fn migrate(&self, owner: &Name, registrations: &Registrations) -> Result<Vec<String>, FailReason> {
        let mut ran = Vec::new();
        for migration in &registrations.migrations {
            let fail = |message: String| FailReason::Migration {
                id: migration.id().to_owned(),
                message,
            };
            if self
                .ledger
                .is_applied(self.scope, owner, migration.id())
                .await
                .map_err(|e| fail(e.to_string()))?
            {
                continue;
            }
            let span = tracing::info_span!("migrate", plugin = %owner, id = migration.id());
            let outcome = tracing::Instrument::instrument(catch_async(migration.run()), span).await;
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(message)) => return Err(fail(message)),
                Err(caught) => return Err(fail(format!("panicked: {caught}"))),
            }
            self.ledger
                .record(self.scope, owner, migration.id())
                .await
                .map_err(|e| fail(e.to_string()))?;
            ran.push(migration.id().to_owned());
        }
        Ok(ran)
    }
}

/// Installs one owner's registrations, all or nothing, and says in `line` what it installed; `None` when there
/// was nothing to install.
fn commit(
    mounted: &mut Mounted,
    activator: &Activator<'_>,
    owner: &Name,
    registrations: Registrations,
    line: &mut PluginReport,
) -> Result<Option<Owned>, RegistrationConflict> {
    if registrations.services.is_empty() && registrations.routes.is_empty() && registrations.subscriptions.is_empty() {
        return Ok(None);
    }
    for service in &registrations.services {
        if let Some(existing) = mounted.services.get(service.name().as_str()) {
            return Err(RegistrationConflict::ServiceTaken {
                service: service.name().clone(),
                owner: existing.owner.clone(),
            });
        }
    }
    let routes: Vec<MountedRoute> = if registrations.routes.is_empty() {
        Vec::new()
    } else {
        let base = activator.options.paths.plugin_api(owner);
        registrations
            .routes
            .into_iter()
            .map(|route| MountedRoute {
                owner: owner.clone(),
                path: format!("{base}{}", route.path()),
                route,
            })
            .collect()
    };
    // Routes are keyed by method and shape: `/orders/{id}` and `/orders/{key}` answer the same requests.
    let keys: Vec<RouteKey> = routes.iter().map(MountedRoute::key).collect();
    for (index, (route, key)) in routes.iter().zip(&keys).enumerate() {
        let taken_by = mounted
            .routes
            .get(key)
            .map(|existing| existing.owner.clone())
            .or_else(|| keys[..index].contains(key).then(|| owner.clone()));
        if let Some(taken_by) = taken_by {
            return Err(RegistrationConflict::RouteTaken {
                method: route.route.method().to_string(),
                path: route.path.clone(),
                owner: taken_by,
            });
        }
    }
    let subscriptions = !registrations.subscriptions.is_empty();
    if subscriptions {
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
        activator
            .bus
            .install(owner, registrations.subscriptions)
            .map_err(|refused| RegistrationConflict::Subscription { refused })?;
    }
    line.services = registrations.services.iter().map(|s| s.name().clone()).collect();
    line.routes = routes
        .iter()
        .map(|r| format!("{} {}", r.route.method(), r.path))
        .collect();
    let mut committed = Owned {
        owner: owner.clone(),
        services: line.services.clone(),
        routes: Vec::with_capacity(routes.len()),
        subscriptions,
    };
    for service in registrations.services {
        mounted.services.insert(RegisteredService {
            service,
            owner: Some(owner.clone()),
        });
    }
    for (route, key) in routes.into_iter().zip(keys) {
        committed.routes.push(key.clone());
        mounted.mount_route(key, route);
    }
    Ok(Some(committed))
}
