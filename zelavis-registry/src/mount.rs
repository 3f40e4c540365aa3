//! What the runtime mounts for its active plugins — services, routes and pages — and the snapshot readers see.

use std::sync::Arc;

use http::Method;
use zelavis_core::name::Name;
use zelavis_core::service::Services;
use zelavis_plugin::PluginDef;
use zelavis_plugin::route::{self, Route, RouteParams};

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

/// A route's key: its method and the [shape](zelavis_plugin::route::shape) of its full path (for a route
/// without parameters, the path itself).
pub(crate) type RouteKey = (Method, String);

impl MountedRoute {
    pub(crate) fn key(&self) -> RouteKey {
        (self.route.method().clone(), route::shape(&self.path))
    }

    fn has_params(&self) -> bool {
        self.path.contains('{')
    }
}

/// Everything mounted, in persistent maps: publishing a snapshot after a change is O(1), and a change costs
/// O(log n) per item it adds or removes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mounted {
    pub(crate) services: Services,
    pub(crate) routes: imbl::HashMap<RouteKey, MountedRoute>,
    /// The routes with parameters (also in `routes`), matched when no route has exactly the requested path.
    pub(crate) patterns: imbl::HashMap<RouteKey, MountedRoute>,
    /// Active plugins that have pages, by name.
    pub(crate) pages: imbl::HashMap<Name, PluginDef>,
}

/// The snapshot readers see: never waits for a change in progress.
pub(crate) type View = Arc<Mounted>;

impl Mounted {
    pub(crate) fn mount_route(&mut self, key: RouteKey, route: MountedRoute) {
        if route.has_params() {
            self.patterns.insert(key.clone(), route.clone());
        }
        self.routes.insert(key, route);
    }

    pub(crate) fn unmount_route(&mut self, key: &RouteKey) {
        self.patterns.remove(key);
        self.routes.remove(key);
    }

    /// The route answering `method` and `path` and the values of its parameters: the route with exactly that
    /// path, else the most [specific](route::specificity) pattern that matches.
    pub(crate) fn route_for(&self, method: &Method, path: &str) -> Option<(&MountedRoute, RouteParams)> {
        // A request path never holds a shape's braces unescaped, unless it is trying to name a pattern.
        if !path.contains(['{', '}'])
            && let Some(exact) = self.routes.get(&(method.clone(), path.to_owned()))
        {
            return Some((exact, RouteParams::default()));
        }
        self.patterns
            .iter()
            .filter(|((m, _), _)| m == method)
            .filter_map(|(_, mounted)| Some((mounted, route::match_path(&mounted.path, path)?)))
            .min_by_key(|(mounted, _)| route::specificity(&mounted.path))
    }
}
