//! [`PluginDef`] and its builder: what a plugin author writes.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use semver::Version;
use zelavis_core::address::PageAddress;
use zelavis_core::contract::ContractVersion;
use zelavis_core::menu::Menu;
use zelavis_core::name::Name;
use zelavis_core::page::{MAX_PAGE_ID_LEN, Page, PageError, PageId, RenderContext};

use crate::context::SetupContext;
use crate::dependency::Dependency;
use crate::error::DefinitionError;
use crate::extension::{ApiType, Extends, ExtensionPoint, ExtensionPointRef, Policy};
use crate::manifest::PluginManifest;
use crate::permission::Permission;
use crate::settings::SettingField;
use crate::setup::{
    AsyncSetup, ChildApi, ChildSetup, DataChildSetup, Erased, ErasedChildSetup, ErasedData, Setup, SetupError,
    SyncChildSetup,
};
use crate::validate::{Draft, DraftPoint, compile};

/// A validated plugin definition: its [manifest](PluginManifest) (data) plus its code (setup and page renders).
///
/// Cheap to clone. Build one with [`PluginDef::builder`] or `define_plugin!`.
///
/// ```
/// use zelavis_plugin::prelude::*;
///
/// let shop = PluginDef::builder("zelavis-ecommerce")
///     .version("1.2.0")
///     .description("Orders, payments and customers")
///     .menu(Menu::new("Ecommerce").path("/ecommerce")
///         .page(Page::new("dashboard", "Dashboard", |_| "<h1>Shop</h1>")))
///     .setup(|cx| {
///         tracing::info!(root = cx.root_path(), "shop ready");
///         Ok(())
///     })
///     .build()?;
///
/// assert_eq!(shop.name().as_str(), "zelavis-ecommerce");
/// let html = shop.render_page("dashboard")?;
/// assert!(html.starts_with("<!doctype html>"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PluginDef {
    inner: Arc<DefInner>,
}

struct DefInner {
    manifest: PluginManifest,
    pages: Vec<Page>,
    setup: Option<SetupCode>,
    child_setup: Option<Arc<dyn ErasedChildSetup>>,
    teardown: Option<Arc<TeardownFn>>,
    /// The API type of each point declared through a typed handle, and whether the handle declared it as data.
    point_types: Vec<(Name, ApiType, bool)>,
}

type TeardownFn = dyn Fn() -> Result<(), SetupError> + Send + Sync;

type SyncSetupFn = dyn Fn(&SetupContext) -> Result<(), SetupError> + Send + Sync;

/// A top-level setup: a sync closure runs when its future is first polled, with no allocation of its own;
/// an async one is the boxed future of its [`Setup`] impl.
#[derive(Clone)]
enum SetupCode {
    Sync(Arc<SyncSetupFn>),
    Async(Arc<dyn Setup>),
}

impl PluginDef {
    /// Starts a definition of plugin `name`. Nothing is checked until [`PluginBuilder::build`].
    pub fn builder(name: impl Into<String>) -> PluginBuilder {
        PluginBuilder {
            name: name.into(),
            version: "0.1.0".to_owned(),
            contract: ContractVersion::default(),
            description: String::new(),
            extension_points: Vec::new(),
            extends: None,
            menu: None,
            dependencies: Vec::new(),
            permissions: Vec::new(),
            settings: Vec::new(),
            setup: None,
            teardown: None,
        }
    }

    /// Whether `self` and `other` are the same definition: clones of one build. Two builds of equal manifests
    /// are different definitions (their code may differ).
    pub fn ptr_eq(&self, other: &PluginDef) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The manifest: everything but code.
    pub fn manifest(&self) -> &PluginManifest {
        &self.inner.manifest
    }

    /// The plugin's name.
    pub fn name(&self) -> &Name {
        &self.inner.manifest.name
    }

    /// The plugin's version.
    pub fn version(&self) -> &Version {
        &self.inner.manifest.version
    }

    /// The contract it was written against.
    pub fn contract(&self) -> &ContractVersion {
        &self.inner.manifest.contract
    }

    /// What it extends, for a child plugin.
    pub fn extends(&self) -> Option<&Extends> {
        self.inner.manifest.extends.as_ref()
    }

    /// Whether it is a child plugin.
    pub fn is_child(&self) -> bool {
        self.inner.manifest.extends.is_some()
    }

    /// Its extension points.
    pub fn extension_points(&self) -> &[ExtensionPoint] {
        &self.inner.manifest.extension_points
    }

    /// One of its extension points by name.
    pub fn extension_point(&self, name: &str) -> Option<&ExtensionPoint> {
        self.extension_points().iter().find(|p| p.name == name)
    }

    /// Its dependencies.
    pub fn dependencies(&self) -> &[Dependency] {
        &self.inner.manifest.dependencies
    }

    /// Its declared permissions.
    pub fn permissions(&self) -> &[Permission] {
        &self.inner.manifest.permissions
    }

    /// Its settings schema.
    pub fn settings(&self) -> &[SettingField] {
        &self.inner.manifest.settings
    }

    /// Its menu, data only (pages carry their addresses).
    pub fn menu(&self) -> Option<&Menu<zelavis_core::page::PageEntry>> {
        self.inner.manifest.menu.as_ref()
    }

    /// Its pages, in menu order.
    pub fn pages(&self) -> &[Page] {
        &self.inner.pages
    }

    /// The addresses of its pages, in menu order.
    pub fn page_addresses(&self) -> Vec<PageAddress> {
        self.inner
            .pages
            .iter()
            .filter_map(|p| PageId::parse(&p.id).ok())
            .map(|id| PageAddress::new(self.name().clone(), id))
            .collect()
    }

    /// Renders page `id` into a full HTML document. Unknown pages, render errors and render panics are typed
    /// errors.
    pub fn render_page(&self, id: &str) -> Result<String, PageError> {
        self.render_page_response(id).map(|response| response.body)
    }

    /// Renders page `id` into its full response (see [`Page::render`]): HTML is normalised into a full document,
    /// a [`PageResponse`](zelavis_core::page::PageResponse) keeps its status and headers. Unknown pages, render
    /// errors and render panics are typed errors.
    pub fn render_page_response(&self, id: &str) -> Result<zelavis_core::page::PageResponse, PageError> {
        // A page id has at most `MAX_PAGE_ID_LEN` bytes: a longer request is kept as a bounded prefix.
        let not_found = || PageError::NotFound {
            plugin: self.name().clone(),
            page: zelavis_core::quote::clip(id, 4 * MAX_PAGE_ID_LEN),
        };
        let page = self.inner.pages.iter().find(|p| p.id == id).ok_or_else(not_found)?;
        let page_id = PageId::parse(id).map_err(|_| not_found())?;
        page.render(&RenderContext::new(self.name().clone(), page_id, page.title.clone()))
    }

    /// Whether the plugin has top-level setup code.
    pub fn has_setup(&self) -> bool {
        self.inner.setup.is_some()
    }

    /// Runs the plugin's top-level setup against `cx` (a plugin without setup succeeds at once).
    ///
    /// Hosts call this; a panic inside the setup unwinds out of the returned future, so hosts wrap it with
    /// [`zelavis_core::panic::catch_async`] (the registry does): a bare `catch_unwind` that then drops the
    /// payload lets a payload whose `Drop` panics escape.
    pub async fn run_setup(&self, cx: &SetupContext) -> Result<(), SetupError> {
        match &self.inner.setup {
            Some(SetupCode::Sync(setup)) => setup(cx),
            Some(SetupCode::Async(setup)) => setup.setup(cx).await,
            None => Ok(()),
        }
    }

    /// Runs the plugin's teardown hook, if it declared one (the runtime calls it on disable, before removing
    /// what the plugin registered). A panic unwinds out of it: hosts wrap it with [`zelavis_core::panic::catch`].
    pub fn run_teardown(&self) -> Result<(), SetupError> {
        self.inner.teardown.as_ref().map_or(Ok(()), |teardown| teardown())
    }

    pub(crate) fn child_setup(&self) -> Option<&Arc<dyn ErasedChildSetup>> {
        self.inner.child_setup.as_ref()
    }

    /// The API type of a point declared through a typed handle, and whether it was declared as data.
    pub(crate) fn point_api_type(&self, point: &Name) -> Option<(ApiType, bool)> {
        self.inner
            .point_types
            .iter()
            .find(|(n, _, _)| n == point)
            .map(|(_, t, data)| (*t, *data))
    }
}

impl fmt::Debug for PluginDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginDef")
            .field("manifest", &self.inner.manifest)
            .field("has_setup", &self.inner.setup.is_some())
            .field("has_child_setup", &self.inner.child_setup.is_some())
            .finish_non_exhaustive()
    }
}

/// An extension point being declared by a parent (names are checked when the plugin is built).
#[derive(Debug, Clone)]
#[must_use]
pub struct ExtensionPointDecl {
    name: String,
    policy: Policy,
    allowed: Vec<String>,
    owner: Option<&'static str>,
    api: Option<ApiType>,
    data: bool,
}

impl ExtensionPointDecl {
    /// An untyped, private point named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            policy: Policy::default(),
            allowed: Vec::new(),
            owner: None,
            api: None,
            data: false,
        }
    }

    pub(crate) fn typed<Api: 'static>(point: &ExtensionPointRef<Api>) -> Self {
        Self {
            owner: Some(point.plugin()),
            api: Some(ApiType::of::<Api>()),
            data: point.is_data(),
            ..Self::new(point.name())
        }
    }

    /// Sets the policy (default [`Policy::Private`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Adds a child to the allow list.
    pub fn allow(mut self, child: impl Into<String>) -> Self {
        self.allowed.push(child.into());
        self
    }

    /// Adds children to the allow list.
    pub fn allow_all<S: Into<String>>(mut self, children: impl IntoIterator<Item = S>) -> Self {
        self.allowed.extend(children.into_iter().map(Into::into));
        self
    }
}

/// A child plugin's declaration of what it extends, with its setup when typed.
#[derive(Clone)]
#[must_use]
pub struct ExtendsDecl {
    plugin: String,
    extension_point: String,
    setup: Option<Arc<dyn ErasedChildSetup>>,
}

impl ExtendsDecl {
    /// An untyped declaration (no setup): the child extends `extension_point` of `plugin`.
    pub fn new(plugin: impl Into<String>, extension_point: impl Into<String>) -> Self {
        Self {
            plugin: plugin.into(),
            extension_point: extension_point.into(),
            setup: None,
        }
    }

    pub(crate) fn typed<Api: Send + 'static, S: ChildSetup<Api>>(
        point: &ExtensionPointRef<Api>,
        setup: Option<S>,
    ) -> Self {
        let codec = point.codec();
        Self {
            setup: setup.map(|s| Arc::new(Erased(s, codec, PhantomData)) as Arc<dyn ErasedChildSetup>),
            ..Self::new(point.plugin(), point.name())
        }
    }

    /// A declaration that the child extends `extension_point` of `plugin` with a setup that receives the
    /// parent's API as **data** (JSON bytes, see [`DataChildSetup`]): for children whose code is not linked into
    /// the host, such as WebAssembly plugins. The parent must declare the point with
    /// [`ExtensionPointRef::data`] (or be foreign code itself); otherwise the child is refused at activation with
    /// `ExtendError::ChildApiMismatch`, never a panic.
    pub fn data(plugin: impl Into<String>, extension_point: impl Into<String>, setup: impl DataChildSetup) -> Self {
        Self {
            setup: Some(Arc::new(ErasedData(setup))),
            ..Self::new(plugin, extension_point)
        }
    }
}

impl fmt::Debug for ExtendsDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtendsDecl")
            .field("plugin", &self.plugin)
            .field("extension_point", &self.extension_point)
            .field(
                "api",
                &self.setup.as_ref().map(|s| match s.api() {
                    ChildApi::Typed(api, _) => api.name(),
                    ChildApi::Data => crate::extension::DATA_API,
                }),
            )
            .finish()
    }
}

impl<Api: Send + 'static> ExtensionPointRef<Api> {
    /// The parent's declaration of this point (private by default).
    pub fn declare(&self) -> ExtensionPointDecl {
        ExtensionPointDecl::typed(self)
    }

    /// A child's declaration that it extends this point, without setup code.
    pub fn attach(&self) -> ExtendsDecl {
        ExtendsDecl::typed::<Api, SyncChildSetup<fn(&mut Api, &SetupContext) -> Result<(), SetupError>, Api>>(
            self, None,
        )
    }

    /// A child's declaration that it extends this point, with a sync setup receiving `&mut Api`.
    pub fn with_setup<F>(&self, setup: F) -> ExtendsDecl
    where
        F: Fn(&mut Api, &SetupContext) -> Result<(), SetupError> + Send + Sync + 'static,
    {
        ExtendsDecl::typed(self, Some(SyncChildSetup(setup, PhantomData)))
    }

    /// A child's declaration that it extends this point, with an async setup implementing [`ChildSetup`].
    pub fn with_child_setup(&self, setup: impl ChildSetup<Api>) -> ExtendsDecl {
        ExtendsDecl::typed(self, Some(setup))
    }
}

/// Builds a [`PluginDef`]; [`build`](Self::build) checks every rule and lists every problem.
#[must_use]
pub struct PluginBuilder {
    name: String,
    version: String,
    contract: ContractVersion,
    description: String,
    extension_points: Vec<ExtensionPointDecl>,
    extends: Option<ExtendsDecl>,
    menu: Option<Menu>,
    dependencies: Vec<(String, Option<String>)>,
    permissions: Vec<Permission>,
    settings: Vec<SettingField>,
    setup: Option<SetupCode>,
    teardown: Option<Arc<TeardownFn>>,
}

impl PluginBuilder {
    /// The plugin's semver version (default `0.1.0`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// What the plugin does.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The contract version (default [`ZELAVIS_PLUGIN_V1`](zelavis_core::contract::ZELAVIS_PLUGIN_V1)).
    pub fn contract(mut self, contract: ContractVersion) -> Self {
        self.contract = contract;
        self
    }

    /// Declares an extension point.
    pub fn extension_point(mut self, point: ExtensionPointDecl) -> Self {
        self.extension_points.push(point);
        self
    }

    /// Makes this a child plugin of the declared parent and point.
    pub fn extends(mut self, extends: ExtendsDecl) -> Self {
        self.extends = Some(extends);
        self
    }

    /// The plugin's Workspace menu.
    pub fn menu(mut self, menu: Menu) -> Self {
        self.menu = Some(menu);
        self
    }

    /// Depends on `plugin`, optionally with a semver requirement such as `"^1.2"`.
    pub fn dependency(mut self, plugin: impl Into<String>, requirement: Option<&str>) -> Self {
        self.dependencies.push((plugin.into(), requirement.map(str::to_owned)));
        self
    }

    /// Declares a permission.
    pub fn permission(mut self, permission: Permission) -> Self {
        self.permissions.push(permission);
        self
    }

    /// Declares permissions.
    pub fn permissions(mut self, permissions: impl IntoIterator<Item = Permission>) -> Self {
        self.permissions.extend(permissions);
        self
    }

    /// Declares a settings field (see [`SettingField`]): tenants fill it in, the operator layer validates it.
    pub fn setting(mut self, field: SettingField) -> Self {
        self.settings.push(field);
        self
    }

    /// A sync setup, the common case.
    pub fn setup<F>(mut self, setup: F) -> Self
    where
        F: Fn(&SetupContext) -> Result<(), SetupError> + Send + Sync + 'static,
    {
        self.setup = Some(SetupCode::Sync(Arc::new(setup)));
        self
    }

    /// An async setup; it receives its own handle to the context, so the future can be `'static`.
    ///
    /// ```
    /// use zelavis_plugin::prelude::*;
    ///
    /// let def = PluginDef::builder("warmup")
    ///     .version("1.0.0")
    ///     .setup_async(|cx| async move {
    ///         let _base = cx.api_base();
    ///         Ok(())
    ///     })
    ///     .build()?;
    /// # let _ = def;
    /// # Ok::<(), DefinitionError>(())
    /// ```
    pub fn setup_async<F, Fut>(mut self, setup: F) -> Self
    where
        F: Fn(SetupContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), SetupError>> + Send + 'static,
    {
        self.setup = Some(SetupCode::Async(Arc::new(AsyncSetup(setup))));
        self
    }

    /// A setup implementing [`Setup`] (async, borrowing the context).
    pub fn setup_with(mut self, setup: impl Setup) -> Self {
        self.setup = Some(SetupCode::Async(Arc::new(setup)));
        self
    }

    /// A teardown hook the runtime runs when the plugin is disabled, before its registrations are removed.
    /// Migrations are never rolled back.
    pub fn teardown<F>(mut self, teardown: F) -> Self
    where
        F: Fn() -> Result<(), SetupError> + Send + Sync + 'static,
    {
        self.teardown = Some(Arc::new(teardown));
        self
    }

    /// Checks every rule and returns the definition, or a [`DefinitionError`] listing every problem.
    pub fn build(self) -> Result<PluginDef, DefinitionError> {
        let draft = Draft {
            name: self.name.clone(),
            version: self.version,
            contract: self.contract,
            description: self.description,
            extends: self
                .extends
                .as_ref()
                .map(|e| (e.plugin.clone(), e.extension_point.clone())),
            extension_points: self
                .extension_points
                .iter()
                .map(|p| DraftPoint {
                    name: p.name.clone(),
                    policy: p.policy,
                    allowed: p.allowed.clone(),
                    owner: p.owner,
                })
                .collect(),
            menu: self.menu.as_ref(),
            dependencies: self.dependencies,
            permissions: self.permissions,
            settings: self.settings,
            has_top_level_setup: self.setup.is_some(),
        };
        let manifest = compile(draft).map_err(|problems| DefinitionError::new(&self.name, problems))?;
        let point_types = self
            .extension_points
            .iter()
            .filter_map(|p| Some((Name::parse(&p.name).ok()?, p.api?, p.data)))
            .collect();
        Ok(PluginDef {
            inner: Arc::new(DefInner {
                manifest,
                pages: self.menu.map(|m| m.pages().cloned().collect()).unwrap_or_default(),
                setup: self.setup,
                child_setup: self.extends.and_then(|e| e.setup),
                teardown: self.teardown,
                point_types,
            }),
        })
    }
}
