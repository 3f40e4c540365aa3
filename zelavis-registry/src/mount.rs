//! What the runtime mounts for its active plugins — services, routes and pages — and the snapshot readers see.

use std::sync::Arc;

use http::Method;
use zelavis_core::name::Name;
use zelavis_core::service::Services;
use zelavis_plugin::PluginDef;
use zelavis_plugin::route::Route;

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

/// A route's key: its method and full path.
pub(crate) type RouteKey = (Method, String);

/// Everything mounted, in persistent maps: publishing a snapshot after a change is O(1), and a change costs
/// O(log n) per item it adds or removes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mounted {
    pub(crate) services: Services,
    pub(crate) routes: imbl::HashMap<RouteKey, MountedRoute>,
    /// Active plugins that have pages, by name.
    pub(crate) pages: imbl::HashMap<Name, PluginDef>,
}

/// The snapshot readers see: never waits for a change in progress.
pub(crate) type View = Arc<Mounted>;
