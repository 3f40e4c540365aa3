//! # zelavis-dashboard
//!
//! The Zelavis dashboard as an axum [`Router`] a host mounts in one line: an embedded shell (HTML, CSS and
//! vanilla JS — no build step, no CDN) with sidebar slides, the Marketplace (catalog badges, install / enable /
//! disable, registering a specifier the host's loader knows, the capability panel), the Workspace with one
//! entry per installed plugin, and plugin pages in the `zelavis-plugin-frame` element.
//!
//! ```no_run
//! use zelavis_dashboard::DashboardOptions;
//! use zelavis_registry::prelude::*;
//!
//! # async fn host() -> Result<(), Box<dyn std::error::Error>> {
//! let shop = PluginDef::builder("shop")
//!     .menu(Menu::new("Shop").path("/shop").page(Page::new("home", "Shop", |_| "<h1>Shop</h1>")))
//!     .build()?;
//! let (runtime, _) = Runtime::builder(PluginRegistry::new([RegistryEntry::installed(shop)])?).start().await?;
//!
//! let app = axum::Router::new().merge(zelavis_dashboard::router(runtime, DashboardOptions::new().title("Shop")));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! println!("dashboard: http://127.0.0.1:8080/zelavis/");
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! # What it serves (default paths)
//!
//! | path | what |
//! |---|---|
//! | `GET /zelavis/…` | the shell (every path under the root that is not the API) |
//! | `GET /zelavis/api/v1/dashboard/config` | services, plugins, controller capabilities, catalog with badges |
//! | `GET /zelavis/api/v1/dashboard/navigation` | the [`Navigation`](zelavis_registry::dashboard::Navigation) |
//! | `GET`, `POST /zelavis/api/v1/dashboard/plugins` | the plugins; `POST {specifier, install}` registers one |
//! | `PATCH /zelavis/api/v1/dashboard/plugins/:name` | `{status, order, pin}`: the runtime recomposes live |
//! | `GET /zelavis/api/v1/dashboard/plugin-pages/:plugin/:page` | a plugin page, sandboxed |
//! | `GET /zelavis/api/v1/dashboard/report` | the last activation report |
//! | `GET /zelavis/api/v1/marketplace`, `/health` | the Marketplace, plugin health |
//! | `ANY /zelavis/api/v1/plugins/:plugin/…` | the plugins' own routes |
//! | `GET /zelavis/api/v1/dashboard/bridge.js`, `bridge/schema.json` | the page helper, the bridge's schema |
//!
//! Errors are JSON `{error, message}` ([`ApiError`]). Mutating requests must come from the dashboard's origin
//! and carry JSON; bodies are limited ([`DashboardOptions::body_limit`]). Headers, limits, compression and
//! tracing come from tower-http layers.
//!
//! # Isolation
//!
//! Every plugin page is sent with `Content-Security-Policy: sandbox allow-scripts allow-forms; frame-ancestors
//! <dashboard origin>` — never `allow-same-origin`, so its origin is opaque even when opened directly — with
//! `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`; the shell's iframe repeats the sandbox
//! tokens. Pages reach the shell only through the typed [`bridge`] (`zelavis-bridge/1`).

mod api;
pub mod bridge;
mod error;
mod guard;
mod options;
pub mod shell;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get, post};
use http::{HeaderValue, header};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use zelavis_registry::runtime::Runtime;

pub use error::ApiError;
pub use options::{DEFAULT_BODY_LIMIT, DashboardOptions};

/// The sandbox tokens of plugin pages, in their CSP and on the shell's iframe.
pub const SANDBOX: &str = "allow-scripts allow-forms";

/// The `Content-Security-Policy` every plugin page is sent with, for a dashboard at `dashboard_origin`
/// (`None`: `'self'`).
///
/// ```
/// assert_eq!(
///     zelavis_dashboard::page_policy(Some("https://admin.example")),
///     "sandbox allow-scripts allow-forms; frame-ancestors https://admin.example"
/// );
/// ```
pub fn page_policy(dashboard_origin: Option<&str>) -> String {
    format!(
        "sandbox {SANDBOX}; frame-ancestors {}",
        dashboard_origin.unwrap_or("'self'")
    )
}

/// The dashboard's router, with absolute paths under the runtime's [`ApiPaths`](zelavis_core::paths::ApiPaths)
/// (default root `/zelavis`): `merge` it into the host's router (or serve it alone).
#[allow(clippy::too_many_lines, reason = "the route table reads best in one place")]
pub fn router(runtime: Runtime, options: DashboardOptions) -> Router {
    let shared = Arc::new(state::Shared::new(runtime, options));
    let paths = shared.paths.clone();
    let base = paths.base();
    let root = paths.root().to_owned();
    let options = &shared.options;

    let page_layers = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            header_value(&page_policy(options.dashboard_origin.as_deref())),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    let pages = Router::new()
        .route(
            &format!("{base}/dashboard/plugin-pages/{{plugin}}/{{page}}"),
            get(api::page).head(api::page_head),
        )
        .layer(page_layers);

    let shell_html = axum::body::Bytes::from(shell::document(&paths, options));
    let shell = move || {
        let html = shell_html.clone();
        async move {
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                ],
                html,
            )
        }
    };
    let shell_routes = Router::new()
        .route(if root.is_empty() { "/" } else { &root }, get(shell.clone()))
        .route(&format!("{root}/"), get(shell.clone()))
        .route(&format!("{root}/{{*rest}}"), get(shell))
        .route(
            &shell::asset_path(&paths, "shell.css"),
            get(|| async { shell::asset("text/css; charset=utf-8", shell::SHELL_CSS) }),
        )
        .route(
            &shell::asset_path(&paths, "shell.js"),
            get(|| async { shell::asset("text/javascript; charset=utf-8", shell::SHELL_JS) }),
        )
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CONTENT_SECURITY_POLICY,
                    header_value(&shell::policy(options)),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                )),
        );

    // The guard refuses cross-origin and non-JSON writes: it sits on the routes that take them, so reads (pages,
    // navigation, the shell) do not pay for it.
    let guarded = || axum::middleware::from_fn_with_state(shared.clone(), guard::guard);
    let schema = axum::body::Bytes::from(bridge::schema_json());
    let api = Router::new()
        .route(&format!("{base}/dashboard/config"), get(api::config))
        .route(&format!("{base}/dashboard/navigation"), get(api::navigation))
        .route(
            &format!("{base}/dashboard/plugins"),
            get(api::plugins).merge(post(api::register).layer(guarded())),
        )
        .route(
            &format!("{base}/dashboard/plugins/{{name}}"),
            axum::routing::patch(api::patch).layer(guarded()),
        )
        .route(&format!("{base}/dashboard/report"), get(api::report))
        .route(&format!("{base}/marketplace"), get(api::marketplace))
        .route(&format!("{base}/health"), get(api::health))
        .route(
            &format!("{base}/dashboard/bridge.js"),
            get(|| async { shell::asset("text/javascript; charset=utf-8", shell::BRIDGE_JS) }),
        )
        .route(
            &format!("{base}/dashboard/bridge/schema.json"),
            get(move || {
                let schema = schema.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/schema+json"),
                        )],
                        schema,
                    )
                }
            }),
        )
        .route(
            &format!("{base}/plugins/{{*rest}}"),
            any(api::plugin_route).layer(guarded()),
        )
        .route(&format!("{base}/{{*rest}}"), any(api::unknown_api).layer(guarded()));

    // One stack for every route (outermost first). `Router::layer` wraps each route in its own boxed service
    // per call, and every request clones its route's stack: one `layer` call with the whole stack keeps that to
    // a single box.
    let common = tower::ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(RequestBodyLimitLayer::new(options.body_limit));
    Router::new()
        .merge(pages)
        .merge(api)
        .merge(shell_routes)
        .layer(common)
        .with_state(shared)
}

fn header_value(text: &str) -> HeaderValue {
    // The policies are built from ASCII origins the host configured; an origin with control characters is
    // refused here rather than sent.
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("sandbox; frame-ancestors 'none'"))
}
