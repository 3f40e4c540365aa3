//! [`DashboardOptions`]: what a host tells its dashboard.

use std::fmt;
use std::sync::Arc;

use zelavis_core::service::ServiceDef;
use zelavis_registry::catalog::Catalog;
use zelavis_registry::controller::ActivationController;
use zelavis_registry::loader::PluginLoader;

/// The default limit of request bodies, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How a host configures its dashboard. Every setting has a default: a runtime alone makes a working
/// dashboard (title "Zelavis", empty catalog, no loader, the in-process runtime-graph controller).
///
/// ```
/// use zelavis_dashboard::DashboardOptions;
/// use zelavis_registry::prelude::*;
///
/// let options = DashboardOptions::new()
///     .title("Acme Admin")
///     .loader(StaticLoader::new().with("@acme/crm", || PluginDef::builder("crm").build()))
///     .dashboard_origin("https://admin.acme.example")
///     .page_origin("https://pages.acme.example");
/// assert_eq!(options.title_str(), "Acme Admin");
/// ```
#[derive(Clone)]
#[must_use]
pub struct DashboardOptions {
    pub(crate) title: String,
    pub(crate) catalog: Catalog,
    pub(crate) loader: Option<Arc<dyn PluginLoader>>,
    pub(crate) controller: Option<Arc<dyn ActivationController>>,
    pub(crate) core_services: Vec<ServiceDef>,
    pub(crate) dashboard_origin: Option<String>,
    pub(crate) page_origin: Option<String>,
    pub(crate) body_limit: usize,
}

impl Default for DashboardOptions {
    fn default() -> Self {
        Self {
            title: "Zelavis".to_owned(),
            catalog: Catalog::default(),
            loader: None,
            controller: None,
            core_services: Vec::new(),
            dashboard_origin: None,
            page_origin: None,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl DashboardOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The name shown in the sidebar and the window title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// The title as set.
    pub fn title_str(&self) -> &str {
        &self.title
    }

    /// The Marketplace catalog.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// The loader that resolves specifiers for `POST dashboard/plugins` and Marketplace installs (without one,
    /// the dashboard cannot register plugins).
    pub fn loader(mut self, loader: impl PluginLoader + 'static) -> Self {
        self.loader = Some(Arc::new(loader));
        self
    }

    /// The loader, shared.
    pub fn loader_arc(mut self, loader: Arc<dyn PluginLoader>) -> Self {
        self.loader = Some(loader);
        self
    }

    /// The activation controller that applies install, enable and disable (default: a
    /// [`RuntimeGraphController`](zelavis_registry::controller::RuntimeGraphController) over the runtime).
    pub fn controller(mut self, controller: impl ActivationController + 'static) -> Self {
        self.controller = Some(Arc::new(controller));
        self
    }

    /// A core service (the host's own, not a plugin's); its menu may choose a surface.
    pub fn core_service(mut self, service: ServiceDef) -> Self {
        self.core_services.push(service);
        self
    }

    /// The dashboard's public origin (`https://admin.example.com`): plugin pages may be framed only by it
    /// (`frame-ancestors`), and mutating requests must come from it. Default: the page's own origin
    /// (`'self'`) and the request's `Host`.
    pub fn dashboard_origin(mut self, origin: impl Into<String>) -> Self {
        self.dashboard_origin = Some(origin.into().trim_end_matches('/').to_owned());
        self
    }

    /// A distinct origin serving plugin pages (a second listener or a base URL on another host, serving the
    /// same router): the shell frames pages from there. Pages are isolated either way (their origin is opaque);
    /// a distinct origin also keeps them off the dashboard's host for production.
    pub fn page_origin(mut self, origin: impl Into<String>) -> Self {
        self.page_origin = Some(origin.into().trim_end_matches('/').to_owned());
        self
    }

    /// The largest request body accepted, in bytes (default 64 KiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
}

impl fmt::Debug for DashboardOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DashboardOptions")
            .field("title", &self.title)
            .field("catalog", &self.catalog.len())
            .field("loader", &self.loader.is_some())
            .field("controller", &self.controller.as_ref().map(|c| c.capabilities()))
            .field("core_services", &self.core_services.len())
            .field("dashboard_origin", &self.dashboard_origin)
            .field("page_origin", &self.page_origin)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}
