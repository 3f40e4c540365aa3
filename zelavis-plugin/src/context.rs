//! [`SetupContext`]: what a plugin's setup sees (standard data only) and how it registers what it provides.
//!
//! The context is a cheap, cloneable handle, so async setup can move it into a future. Registrations are
//! collected while setup runs and handed to the host afterwards with [`SetupContext::finish`]; a host that sees
//! setup fail simply drops them, so a failed setup leaves nothing behind. After `finish`, the context is
//! closed and further registrations fail with [`SetupError::ContextClosed`].

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use thiserror::Error;
use zelavis_core::bus::{Subscription, SubscriptionKind};
use zelavis_core::name::Name;
use zelavis_core::panic::catch_async;
use zelavis_core::paths::ApiPaths;
use zelavis_core::platform::PlatformSummary;
use zelavis_core::service::{ServiceDef, ServiceError, ServiceRef, Services};

use crate::definition::PluginDef;
use crate::extension::{ApiType, DATA_API, DataCodec, ExtensionPointRef};
use crate::migration::Migration;
use crate::permission::{Permission, PermissionMode};
use crate::route::Route;
use crate::setup::{ChildApi, SetupError};

/// The handle a plugin's setup receives.
///
/// It carries only standard data: the plugin's name, the mount paths, the platform summary and the services
/// collected so far; and it accepts registrations.
///
/// ```
/// use zelavis_plugin::prelude::*;
///
/// # futures::executor::block_on(async {
/// let def = PluginDef::builder("mail")
///     .version("1.0.0")
///     .permission(Permission::ServicesRegister)
///     .setup(|cx| {
///         assert_eq!(cx.api_path(), "/zelavis/api/v1/plugins/mail");
///         cx.register_service(ServiceDef::new(Name::parse("mailer")?))?;
///         Ok(())
///     })
///     .build()?;
///
/// let cx = SetupContext::builder(&def).build();
/// def.run_setup(&cx).await?;
/// let finished = cx.finish();
/// assert_eq!(finished.registrations.services[0].name().as_str(), "mailer");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SetupContext {
    inner: Arc<Inner>,
}

struct Inner {
    def: PluginDef,
    mode: PermissionMode,
    paths: ApiPaths,
    platform: Arc<PlatformSummary>,
    services: Services,
    children: HashMap<Name, Vec<PluginDef>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    closed: bool,
    registrations: Registrations,
    children: Vec<ChildRun>,
    extended: HashSet<Name>,
}

/// What a setup registered. Hosts receive it from [`SetupContext::finish`] and own it from then on.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Registrations {
    /// Services, in registration order.
    pub services: Vec<ServiceDef>,
    /// HTTP routes, relative to the plugin's API path.
    pub routes: Vec<Route>,
    /// Migrations, in registration order.
    pub migrations: Vec<Migration>,
    /// Hook handlers and filters, installed on the host's bus together, or not at all.
    pub subscriptions: Vec<Subscription>,
}

/// Everything a finished setup produced: its own registrations and the outcome of each child it applied.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Finished {
    /// The plugin's own registrations.
    pub registrations: Registrations,
    /// Each child applied through [`SetupContext::extend`], in order.
    pub children: Vec<ChildRun>,
}

/// One child's run inside its parent's [`SetupContext::extend`].
#[derive(Debug)]
pub struct ChildRun {
    /// The child plugin.
    pub child: Name,
    /// The extension point it was applied to.
    pub extension_point: Name,
    /// Its registrations, or why its setup failed (its registrations are then discarded).
    pub outcome: Result<Registrations, ChildFailure>,
}

/// Why a child's setup failed. The parent goes on.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "failure", content = "detail", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ChildFailure {
    /// The child's setup returned an error.
    #[error("setup failed: {0}")]
    Error(SetupError),
    /// The child's setup panicked.
    #[error("setup panicked: {0}")]
    Panicked(String),
    /// The child expects another API type than the parent provides.
    #[error(transparent)]
    ApiMismatch(ExtendError),
}

/// What [`SetupContext::extend`] did: which children were applied and which failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendReport {
    /// The extension point.
    pub extension_point: Name,
    /// Children whose setup succeeded, in order.
    pub applied: Vec<Name>,
    /// Children whose setup failed, with why.
    pub failed: Vec<(Name, ChildFailure)>,
}

/// Why children could not be applied to an extension point.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ExtendError {
    /// A plugin tried to apply another plugin's extension point.
    #[error(
        "plugin {plugin:?} cannot apply extension point {extension_point:?} of {owner:?}: only its owner applies it"
    )]
    NotOwner {
        /// The plugin whose setup called `extend`.
        plugin: Name,
        /// The point's owner as written in the handle.
        owner: String,
        /// The point.
        extension_point: String,
    },
    /// The plugin declares no such point.
    #[error("plugin {plugin:?} declares no extension point {extension_point:?}")]
    UnknownExtensionPoint {
        /// The plugin.
        plugin: Name,
        /// The point as written.
        extension_point: String,
    },
    /// The handle's API type differs from the type the point was declared with.
    #[error(
        "extension point {extension_point:?} of {plugin:?} was declared with API {declared} but applied with {provided}"
    )]
    ApiTypeMismatch {
        /// The plugin.
        plugin: Name,
        /// The point.
        extension_point: Name,
        /// The declared API type.
        declared: std::borrow::Cow<'static, str>,
        /// The API type passed to `extend`.
        provided: std::borrow::Cow<'static, str>,
    },
    /// A child's setup expects another API type than the parent provides.
    #[error("child plugin {child:?} expects API {expected} at {extension_point:?} but the parent provides {provided}")]
    ChildApiMismatch {
        /// The child.
        child: Name,
        /// The point.
        extension_point: Name,
        /// What the child's setup receives.
        expected: std::borrow::Cow<'static, str>,
        /// What the parent passed.
        provided: std::borrow::Cow<'static, str>,
    },
    /// A data API could not be encoded for a child, or what the child returned is not a valid API.
    #[error("child plugin {child:?} at {extension_point:?}: the data API did not cross: {reason}")]
    DataApi {
        /// The child.
        child: Name,
        /// The point.
        extension_point: Name,
        /// Why, as the encoder said (bounded).
        reason: String,
    },
    /// `extend` was called twice for the same point.
    #[error("plugin {plugin:?} already applied its children to {extension_point:?}")]
    AlreadyExtended {
        /// The plugin.
        plugin: Name,
        /// The point.
        extension_point: Name,
    },
    /// `extend` was called after setup finished.
    #[error("setup context of plugin {plugin:?} is closed")]
    Closed {
        /// The plugin.
        plugin: Name,
    },
}

/// Builds a [`SetupContext`] for one plugin. Hosts (the registry) use it; plugin authors only receive contexts.
#[must_use]
pub struct SetupContextBuilder {
    def: PluginDef,
    mode: PermissionMode,
    paths: Option<ApiPaths>,
    platform: Option<Arc<PlatformSummary>>,
    services: Services,
    children: HashMap<Name, Vec<PluginDef>>,
}

impl SetupContextBuilder {
    /// Mount paths (default: `/zelavis`, `/api`, `v1`).
    #[inline]
    pub fn paths(mut self, paths: ApiPaths) -> Self {
        self.paths = Some(paths);
        self
    }

    /// The platform summary (default: empty).
    #[inline]
    pub fn platform(mut self, platform: Arc<PlatformSummary>) -> Self {
        self.platform = Some(platform);
        self
    }

    /// The services collected so far.
    #[inline]
    pub fn services(mut self, services: Services) -> Self {
        self.services = services;
        self
    }

    /// Strict (default) or lenient permission checks.
    #[inline]
    pub fn permission_mode(mut self, mode: PermissionMode) -> Self {
        self.mode = mode;
        self
    }

    /// The accepted children of one extension point, in the order their setups run.
    #[inline]
    pub fn children(mut self, extension_point: Name, children: Vec<PluginDef>) -> Self {
        self.children.insert(extension_point, children);
        self
    }

    /// The context.
    #[inline]
    pub fn build(self) -> SetupContext {
        SetupContext {
            inner: Arc::new(Inner {
                def: self.def,
                mode: self.mode,
                paths: self.paths.unwrap_or_default(),
                platform: self.platform.unwrap_or_default(),
                services: self.services,
                children: self.children,
                state: Mutex::new(State::default()),
            }),
        }
    }
}

impl SetupContext {
    /// A builder for the context of `def`.
    #[inline]
    pub fn builder(def: &PluginDef) -> SetupContextBuilder {
        SetupContextBuilder {
            def: def.clone(),
            mode: PermissionMode::default(),
            paths: None,
            platform: None,
            services: Services::default(),
            children: HashMap::new(),
        }
    }

    /// The plugin being set up.
    pub fn plugin(&self) -> &Name {
        self.inner.def.name()
    }

    /// The root path, e.g. `/zelavis`.
    pub fn root_path(&self) -> &str {
        self.inner.paths.root()
    }

    /// The mount paths.
    pub fn paths(&self) -> &ApiPaths {
        &self.inner.paths
    }

    /// The API base, e.g. `/zelavis/api/v1`.
    pub fn api_base(&self) -> String {
        self.inner.paths.base()
    }

    /// This plugin's own API path, under which its routes are mounted.
    pub fn api_path(&self) -> String {
        self.inner.paths.plugin_api(self.plugin())
    }

    /// The platform summary.
    pub fn platform(&self) -> &PlatformSummary {
        &self.inner.platform
    }

    /// The services registered before this plugin's setup began.
    pub fn services(&self) -> &Services {
        &self.inner.services
    }

    /// The permission mode in force.
    pub fn permission_mode(&self) -> PermissionMode {
        self.inner.mode
    }

    /// The accepted children of one of this plugin's extension points, in the order they will be applied.
    pub fn accepted_children(&self, extension_point: &str) -> Vec<Name> {
        self.inner
            .children
            .get(extension_point)
            .map(|defs| defs.iter().map(|d| d.name().clone()).collect())
            .unwrap_or_default()
    }

    /// Checks that the plugin declared `permission`: strict mode refuses, lenient mode logs a warning.
    pub fn require(&self, permission: Permission) -> Result<(), SetupError> {
        if self.inner.def.manifest().permissions.contains(&permission) {
            return Ok(());
        }
        match self.inner.mode {
            PermissionMode::Strict => Err(SetupError::PermissionDenied {
                plugin: self.plugin().clone(),
                permission,
            }),
            PermissionMode::Lenient => {
                tracing::warn!(plugin = %self.plugin(), %permission, "plugin registers without declaring the permission");
                Ok(())
            }
        }
    }

    /// Provides the service behind a typed handle with `value` (see [`ServiceRef`]): the same as
    /// [`register_service`](Self::register_service) with `service.def(value)`.
    ///
    /// ```
    /// use zelavis_plugin::prelude::*;
    ///
    /// pub struct Mailer;
    /// pub const MAILER: ServiceRef<Mailer> = ServiceRef::new("mailer");
    ///
    /// let def = PluginDef::builder("mail")
    ///     .permission(Permission::ServicesRegister)
    ///     .setup(|cx| cx.provide(&MAILER, Mailer))
    ///     .build()?;
    /// # let _ = def;
    /// # Ok::<(), DefinitionError>(())
    /// ```
    pub fn provide<T: std::any::Any + Send + Sync>(&self, service: &ServiceRef<T>, value: T) -> Result<(), SetupError> {
        self.register_service(service.def(value))
    }

    /// Registers a service. Needs `services.register`; core service names and names already taken are refused.
    pub fn register_service(&self, service: ServiceDef) -> Result<(), SetupError> {
        self.require(Permission::ServicesRegister)?;
        service.check_for_plugin()?;
        if let Some(existing) = self.inner.services.get(service.name().as_str()) {
            let owner = existing
                .owner
                .as_ref()
                .map_or_else(|| "core".to_owned(), |o| format!("plugin {:?}", o.as_str()));
            return Err(ServiceError::Duplicate {
                name: service.name().clone(),
                owner,
            }
            .into());
        }
        let mut state = self.state();
        self.ensure_open(&state)?;
        if state.registrations.services.iter().any(|s| s.name() == service.name()) {
            return Err(ServiceError::Duplicate {
                name: service.name().clone(),
                owner: format!("plugin {:?}", self.plugin().as_str()),
            }
            .into());
        }
        state.registrations.services.push(service);
        Ok(())
    }

    /// Registers an HTTP route, mounted under [`api_path`](Self::api_path). Needs `routes.register`; the same
    /// method and path twice is refused.
    pub fn register_route(&self, route: Route) -> Result<(), SetupError> {
        self.require(Permission::RoutesRegister)?;
        let mut state = self.state();
        self.ensure_open(&state)?;
        if state
            .registrations
            .routes
            .iter()
            .any(|r| r.method() == route.method() && r.path() == route.path())
        {
            return Err(SetupError::DuplicateRoute {
                plugin: self.plugin().clone(),
                route: route.to_string(),
            });
        }
        state.registrations.routes.push(route);
        Ok(())
    }

    /// Subscribes a hook handler or registers a filter (built with `Subscription::hook`, `hook_sync` or
    /// `filter`). Hooks need `hooks.subscribe`, filters `filters.register`. The host installs them on its bus
    /// only if setup succeeds, and removes them all when the plugin is disabled.
    pub fn subscribe(&self, subscription: Subscription) -> Result<(), SetupError> {
        self.require(match subscription.kind() {
            SubscriptionKind::Hook => Permission::HooksSubscribe,
            SubscriptionKind::Filter => Permission::FiltersRegister,
        })?;
        let mut state = self.state();
        self.ensure_open(&state)?;
        state.registrations.subscriptions.push(subscription);
        Ok(())
    }

    /// Registers a migration; the host runs it once per `(plugin, id)` after setup succeeds. Needs
    /// `migrations.register`; the same id twice is refused.
    pub fn register_migration(&self, migration: Migration) -> Result<(), SetupError> {
        self.require(Permission::MigrationsRegister)?;
        let mut state = self.state();
        self.ensure_open(&state)?;
        if state.registrations.migrations.iter().any(|m| m.id() == migration.id()) {
            return Err(SetupError::DuplicateMigration {
                plugin: self.plugin().clone(),
                id: migration.id().to_owned(),
            });
        }
        state.registrations.migrations.push(migration);
        Ok(())
    }

    /// Applies this plugin's accepted children to one of its extension points: each child's setup runs, in
    /// order, against `api`. A child that fails (error, panic, wrong API type) is recorded and skipped; the
    /// others still run. Each point can be applied once.
    ///
    /// ```
    /// use zelavis_plugin::prelude::*;
    ///
    /// #[derive(Default)]
    /// pub struct PaymentsApi { pub providers: Vec<String> }
    /// pub const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("shop", "payments");
    ///
    /// let shop = PluginDef::builder("shop").version("1.0.0")
    ///     .extension_point(PAYMENTS.declare().policy(Policy::Open))
    ///     .build()?;
    /// let stripe = PluginDef::builder("stripe").version("1.0.0")
    ///     .extends(PAYMENTS.with_setup(|api, _| { api.providers.push("stripe".into()); Ok(()) }))
    ///     .build()?;
    ///
    /// let cx = SetupContext::builder(&shop).children(Name::parse("payments")?, vec![stripe]).build();
    /// let mut payments = PaymentsApi::default();
    /// let report = futures::executor::block_on(cx.extend(&PAYMENTS, &mut payments))?;
    /// assert_eq!(payments.providers, ["stripe"]);
    /// assert_eq!(report.applied.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn extend<Api: Send + 'static>(
        &self,
        point: &ExtensionPointRef<Api>,
        api: &mut Api,
    ) -> Result<ExtendReport, ExtendError> {
        let plugin = self.plugin().clone();
        if point.plugin() != plugin.as_str() {
            return Err(ExtendError::NotOwner {
                plugin,
                owner: point.plugin().to_owned(),
                extension_point: point.name().to_owned(),
            });
        }
        let extension_point = self.declared_point(point.name())?;
        let provided = point.api_type();
        if let Some((declared_type, _)) = self.inner.def.point_api_type(&extension_point)
            && declared_type != provided
        {
            return Err(ExtendError::ApiTypeMismatch {
                plugin,
                extension_point,
                declared: declared_type.name().into(),
                provided: provided.name().into(),
            });
        }
        let mut offer = Offer::Typed {
            api,
            ty: provided,
            codec: point.codec(),
        };
        self.apply_children(extension_point, &mut offer).await
    }

    /// Applies this plugin's accepted children to one of its extension points whose API is **data**, held as
    /// JSON bytes: for parents whose own code is foreign (a WebAssembly plugin). Data children
    /// (`ExtendsDecl::data`) receive the bytes; typed children whose handle declared the API as data
    /// (`ExtensionPointRef::data`) receive it decoded; after each child, `api` holds what it returned. Failures
    /// are recorded and skipped as with [`extend`](Self::extend).
    ///
    /// ```
    /// use zelavis_plugin::prelude::*;
    ///
    /// #[derive(Default, serde::Serialize, serde::Deserialize)]
    /// pub struct PaymentsApi { pub providers: Vec<String> }
    /// pub const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::data("shop", "payments");
    ///
    /// // A parent known only by its manifest (its code is elsewhere) and a typed Rust child.
    /// let shop = PluginDef::builder("shop").extension_point(ExtensionPointDecl::new("payments").policy(Policy::Open)).build()?;
    /// let stripe = PluginDef::builder("stripe")
    ///     .extends(PAYMENTS.with_setup(|api, _| { api.providers.push("stripe".into()); Ok(()) }))
    ///     .build()?;
    /// let cx = SetupContext::builder(&shop).children(Name::parse("payments")?, vec![stripe]).build();
    /// let mut api = br#"{"providers":[]}"#.to_vec();
    /// futures::executor::block_on(cx.extend_data("payments", &mut api))?;
    /// assert_eq!(api, br#"{"providers":["stripe"]}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn extend_data(&self, extension_point: &str, api: &mut Vec<u8>) -> Result<ExtendReport, ExtendError> {
        let extension_point = self.declared_point(extension_point)?;
        if let Some((declared, false)) = self.inner.def.point_api_type(&extension_point) {
            return Err(ExtendError::ApiTypeMismatch {
                plugin: self.plugin().clone(),
                extension_point,
                declared: declared.name().into(),
                provided: DATA_API.into(),
            });
        }
        self.apply_children(extension_point, &mut Offer::Data(api)).await
    }

    /// The declared point named `name`.
    fn declared_point(&self, name: &str) -> Result<Name, ExtendError> {
        self.inner
            .def
            .extension_points()
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.name.clone())
            .ok_or_else(|| ExtendError::UnknownExtensionPoint {
                plugin: self.plugin().clone(),
                extension_point: name.to_owned(),
            })
    }

    async fn apply_children(&self, extension_point: Name, offer: &mut Offer<'_>) -> Result<ExtendReport, ExtendError> {
        let plugin = self.plugin().clone();
        {
            let mut state = self.state();
            if state.closed {
                return Err(ExtendError::Closed { plugin });
            }
            if !state.extended.insert(extension_point.clone()) {
                return Err(ExtendError::AlreadyExtended {
                    plugin,
                    extension_point,
                });
            }
        }
        let children = self.inner.children.get(&extension_point).cloned().unwrap_or_default();
        let mut report = ExtendReport {
            extension_point: extension_point.clone(),
            applied: Vec::new(),
            failed: Vec::new(),
        };
        for child in children {
            let outcome = self.run_child(&child, &extension_point, offer).await;
            match &outcome {
                Ok(_) => report.applied.push(child.name().clone()),
                Err(failure) => {
                    tracing::warn!(parent = %plugin, child = %child.name(), %failure, "child plugin setup failed");
                    report.failed.push((child.name().clone(), failure.clone()));
                }
            }
            self.state().children.push(ChildRun {
                child: child.name().clone(),
                extension_point: extension_point.clone(),
                outcome,
            });
        }
        Ok(report)
    }

    async fn run_child(
        &self,
        child: &PluginDef,
        extension_point: &Name,
        offer: &mut Offer<'_>,
    ) -> Result<Registrations, ChildFailure> {
        let Some(setup) = child.child_setup() else {
            return Ok(Registrations::default());
        };
        let path = Path::choose(setup.api(), offer).map_err(|(expected, provided)| {
            ChildFailure::ApiMismatch(ExtendError::ChildApiMismatch {
                child: child.name().clone(),
                extension_point: extension_point.clone(),
                expected,
                provided,
            })
        })?;
        let cx = SetupContext {
            inner: Arc::new(Inner {
                def: child.clone(),
                mode: self.inner.mode,
                paths: self.inner.paths.clone(),
                platform: self.inner.platform.clone(),
                services: self.inner.services.clone(),
                children: HashMap::new(),
                state: Mutex::new(State::default()),
            }),
        };
        let span = tracing::info_span!("setup", plugin = %child.name(), parent = %self.plugin());
        let _entered = span.enter();
        let result = match (path, offer) {
            (Path::Typed, Offer::Typed { api, .. }) => catch_async(setup.setup(&mut **api, &cx)).await,
            (Path::Encode(codec), Offer::Typed { api, .. }) => match codec.encode(&**api) {
                Ok(bytes) => catch_async(setup.setup_data(bytes, &cx)).await.map(|result| {
                    result.and_then(|bytes| {
                        codec
                            .decode_into(&bytes, &mut **api)
                            .map_err(|reason| data_error(child, extension_point, reason))
                    })
                }),
                Err(reason) => Ok(Err(data_error(child, extension_point, reason))),
            },
            (Path::Bytes, Offer::Data(api)) => catch_async(setup.setup_data(api.clone(), &cx))
                .await
                .map(|result| result.map(|bytes| **api = bytes)),
            // `Path::choose` pairs each path with its offer.
            _ => Ok(Err(SetupError::msg(
                "internal: child setup path does not match the offer",
            ))),
        };
        let finished = cx.finish();
        match result {
            Ok(Ok(())) => Ok(finished.registrations),
            Ok(Err(error)) => Err(ChildFailure::Error(error)),
            Err(caught) => Err(ChildFailure::Panicked(caught.into_message())),
        }
    }

    /// Closes the context and hands over what setup registered. Registrations after this fail.
    pub fn finish(&self) -> Finished {
        let mut state = self.state();
        state.closed = true;
        Finished {
            registrations: std::mem::take(&mut state.registrations),
            children: std::mem::take(&mut state.children),
        }
    }

    fn ensure_open(&self, state: &State) -> Result<(), SetupError> {
        if state.closed {
            return Err(SetupError::ContextClosed {
                plugin: self.plugin().clone(),
            });
        }
        Ok(())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic in a setup never happens while this lock is held (no user code runs under it), so a
        // poisoned lock still holds consistent data.
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for SetupContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetupContext")
            .field("plugin", self.plugin())
            .field("paths", &self.inner.paths)
            .field("mode", &self.inner.mode)
            .finish_non_exhaustive()
    }
}

/// What a parent offers its children at one point: a typed API, or a data API held as JSON bytes.
enum Offer<'a> {
    Typed {
        api: &'a mut (dyn Any + Send),
        ty: ApiType,
        codec: Option<DataCodec>,
    },
    Data(&'a mut Vec<u8>),
}

/// How one child receives what its parent offers.
enum Path {
    /// `&mut Api`, as is.
    Typed,
    /// The typed API encoded for a data child, decoded back after it.
    Encode(DataCodec),
    /// The bytes, to a data child or to a typed child with a codec.
    Bytes,
}

type Mismatch = (std::borrow::Cow<'static, str>, std::borrow::Cow<'static, str>);

impl Path {
    /// The path from `offer` to a child expecting `api`, or (what the child expects, what is provided).
    fn choose(api: ChildApi, offer: &Offer<'_>) -> Result<Path, Mismatch> {
        match (api, offer) {
            (ChildApi::Typed(expected, _), Offer::Typed { ty, .. }) if expected == *ty => Ok(Path::Typed),
            (ChildApi::Typed(expected, _), Offer::Typed { ty, .. }) => Err((expected.name().into(), ty.name().into())),
            (ChildApi::Data, Offer::Typed { codec: Some(codec), .. }) => Ok(Path::Encode(*codec)),
            (ChildApi::Data, Offer::Typed { ty, codec: None, .. }) => Err((
                DATA_API.into(),
                format!("{} (not declared as data: use ExtensionPointRef::data)", ty.name()).into(),
            )),
            (ChildApi::Data | ChildApi::Typed(_, Some(_)), Offer::Data(_)) => Ok(Path::Bytes),
            (ChildApi::Typed(expected, None), Offer::Data(_)) => Err((
                format!(
                    "{} (not declared as data: use ExtensionPointRef::data)",
                    expected.name()
                )
                .into(),
                DATA_API.into(),
            )),
        }
    }
}

fn data_error(child: &PluginDef, extension_point: &Name, reason: String) -> SetupError {
    SetupError::Extend(ExtendError::DataApi {
        child: child.name().clone(),
        extension_point: extension_point.clone(),
        reason,
    })
}
