//! The dashboard over HTTP, without a browser: every header and error path.

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use zelavis_dashboard::DashboardOptions;
use zelavis_registry::catalog::Grants;
use zelavis_registry::prelude::*;

const PAYMENTS: ExtensionPointRef<Vec<String>> = ExtensionPointRef::new("shop", "payments");
const PAGES: &str = "/zelavis/api/v1/dashboard/plugin-pages";
const CSP: &str = "sandbox allow-scripts allow-forms; frame-ancestors 'self'";

fn shop() -> PluginDef {
    PluginDef::builder("shop")
        .version("1.0.0")
        .extension_point(PAYMENTS.declare().policy(Policy::Open))
        .menu(
            Menu::new("Shop")
                .path("/shop")
                .page(Page::new("home", "Shop", |_| "<h1>Shop</h1>"))
                .item(
                    Menu::new("Report")
                        .path("/shop/report")
                        .page(Page::new("report", "Report", |_| {
                            PageResponse::new("{\"ok\":true}")
                                .status(202)
                                .content_type("application/json")
                                .header("Cache-Control", "max-age=30")
                                .header("X-Report", "7")
                                .header("Content-Security-Policy", "default-src *")
                                .header("Set-Cookie", "stolen=1")
                                .header("X-Frame-Options", "ALLOWALL")
                        })),
                )
                .item(
                    Menu::new("Broken")
                        .path("/shop/broken")
                        .page(Page::new("broken", "Broken", |_| Err::<String, _>("database is down"))),
                )
                .item(
                    Menu::new("Panics")
                        .path("/shop/panics")
                        .page(Page::new("panics", "Panics", |_| -> String {
                            panic!("render exploded")
                        })),
                ),
        )
        .permissions([Permission::RoutesRegister])
        .setup(|cx| {
            cx.register_route(Route::new(Method::GET, "/orders", |_| async {
                Ok(RouteResponse::new(b"[1,2]".to_vec()))
            })?)?;
            cx.register_route(Route::new(Method::POST, "/echo", |req: RouteRequest| async move {
                Ok(RouteResponse::new(req.into_body()))
            })?)?;
            cx.register_route(Route::new(Method::GET, "/fails", |_| async {
                Err("no stock service".to_owned())
            })?)
        })
        .build()
        .unwrap()
}

fn registry() -> PluginRegistry {
    let child = PluginDef::builder("stripe").extends(PAYMENTS.attach()).build().unwrap();
    let reports = PluginDef::builder("reports").dependency("shop", None).build().unwrap();
    let blog = PluginDef::builder("blog")
        .menu(
            Menu::new("Blog")
                .path("/blog")
                .page(Page::new("posts", "Posts", |_| "<p>posts</p>")),
        )
        .build()
        .unwrap();
    PluginRegistry::new([
        RegistryEntry::installed(shop()),
        RegistryEntry::installed(child),
        RegistryEntry::installed(reports),
        RegistryEntry::available(blog),
    ])
    .unwrap()
}

fn crm() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("crm")
        .menu(
            Menu::new("CRM")
                .path("/crm")
                .page(Page::new("contacts", "Contacts", |_| "<p>contacts</p>")),
        )
        .build()
}

async fn app() -> (Runtime, Router) {
    app_with(|o| o).await
}

async fn app_with(options: impl FnOnce(DashboardOptions) -> DashboardOptions) -> (Runtime, Router) {
    let (runtime, _) = Runtime::builder(registry()).start().await.unwrap();
    let catalog = Catalog::with_grants(
        [
            CatalogEntry::new(Name::parse("shop").unwrap(), Source::Official),
            CatalogEntry::new(Name::parse("crm").unwrap(), Source::Community).specifier("@acme/crm"),
            CatalogEntry::new(Name::parse("miner").unwrap(), Source::Community).review(ReviewStatus::Blocked),
        ],
        &Grants::new(),
    )
    .unwrap();
    let settings = ServiceDef::new(Name::parse("general").unwrap()).menu(
        Menu::new("General")
            .path("/settings/general")
            .surface(Surface::Settings)
            .page(Page::new("general", "General", |_| "<p>general</p>")),
    );
    let base = DashboardOptions::new()
        .title("Test")
        .catalog(catalog)
        .core_service(settings)
        .loader(
            StaticLoader::new()
                .with("@acme/crm", crm)
                .with("miner", || PluginDef::builder("miner").build()),
        );
    let router = zelavis_dashboard::router(runtime.clone(), options(base));
    (runtime, router)
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply { status, headers, body }
}

async fn get(router: &Router, path: &str) -> Reply {
    send(router, Request::get(path).body(Body::empty()).unwrap()).await
}

fn json_request(method: Method, path: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:8080")
        .header("origin", "http://127.0.0.1:8080")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn nav_keys(router: &Router) -> Vec<String> {
    let nav = get(router, "/zelavis/api/v1/dashboard/navigation").await.json();
    let workspace = nav["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "workspace")
        .unwrap()
        .clone();
    workspace["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn plugin_pages_carry_every_isolation_header() {
    let (_, router) = app().await;
    let page = get(&router, &format!("{PAGES}/shop/home")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-security-policy"), Some(CSP));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert!(page.text().starts_with("<!doctype html>") && page.text().contains("<h1>Shop</h1>"));
    assert!(!page.text().contains("allow-same-origin"));
}

#[tokio::test]
async fn a_full_response_keeps_its_status_and_allowed_headers_only() {
    let (_, router) = app().await;
    let page = get(&router, &format!("{PAGES}/shop/report")).await;
    assert_eq!(page.status, StatusCode::ACCEPTED);
    assert_eq!(page.header("content-type"), Some("application/json"));
    assert_eq!(page.header("cache-control"), Some("max-age=30"));
    assert_eq!(page.header("x-report"), Some("7"));
    assert_eq!(
        page.header("content-security-policy"),
        Some(CSP),
        "a page cannot replace the sandbox"
    );
    assert_eq!(page.header("set-cookie"), None);
    assert_eq!(page.header("x-frame-options"), None);
}

#[tokio::test]
async fn a_distinct_dashboard_origin_goes_into_frame_ancestors() {
    let (_, router) = app_with(|o| o.dashboard_origin("https://admin.example/")).await;
    let page = get(&router, &format!("{PAGES}/shop/home")).await;
    assert_eq!(
        page.header("content-security-policy"),
        Some("sandbox allow-scripts allow-forms; frame-ancestors https://admin.example")
    );
}

#[tokio::test]
async fn unknown_and_not_installed_pages_are_404_json() {
    let (_, router) = app().await;
    for path in ["/ghost/home", "/shop/nope", "/blog/posts", "/stripe/home"] {
        let reply = get(&router, &format!("{PAGES}{path}")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.error(), "page_not_found", "{path}");
        assert!(reply.json()["message"].is_string());
        assert_eq!(reply.header("content-security-policy"), Some(CSP), "{path}");
    }
    for path in ["/Shop/home", "/shop/Home", "/%73hop/home", "/shop/home/extra"] {
        let reply = get(&router, &format!("{PAGES}{path}")).await;
        assert!(
            reply.status == StatusCode::BAD_REQUEST || reply.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.status
        );
    }
    let head = send(
        &router,
        Request::head(format!("{PAGES}/shop/home")).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    let head = send(
        &router,
        Request::head(format!("{PAGES}/blog/posts"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn failing_and_panicking_renders_are_500_documents_and_recorded() {
    let (runtime, router) = app().await;
    for page in ["broken", "panics"] {
        let reply = get(&router, &format!("{PAGES}/shop/{page}")).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{page}");
        assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(reply.text().contains("This page failed to render"));
    }
    assert!(
        get(&router, &format!("{PAGES}/shop/broken"))
            .await
            .text()
            .contains("database is down")
    );
    assert_eq!(runtime.health().of("shop").runtime_failures, 3);
    let health = get(&router, "/zelavis/api/v1/health").await.json();
    assert_eq!(health["healthy"], json!(false));
    assert_eq!(health["plugins"]["shop"]["runtime_failures"], json!(3));
    // The server is still there.
    assert_eq!(get(&router, &format!("{PAGES}/shop/home")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn service_pages_are_served_under_the_service_name() {
    let (_, router) = app().await;
    let reply = get(&router, &format!("{PAGES}/general/general")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text().contains("general"));
}

#[tokio::test]
async fn read_endpoints_answer_json() {
    let (_, router) = app().await;
    for path in [
        "dashboard/config",
        "dashboard/navigation",
        "dashboard/plugins",
        "dashboard/report",
        "marketplace",
        "health",
        "dashboard/bridge/schema.json",
    ] {
        let reply = get(&router, &format!("/zelavis/api/v1/{path}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{path}");
        let _ = reply.json();
    }
    let config = get(&router, "/zelavis/api/v1/dashboard/config").await.json();
    assert_eq!(config["controller"]["strategy"], json!("runtime-graph"));
    assert_eq!(config["controller"]["supports_runtime_install"], json!(true));
    let states: Vec<&str> = config["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["install"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["active", "installable", "blocked"]);
    assert_eq!(nav_keys(&router).await, ["plugin:shop", "plugin:reports"]);
    let unknown = get(&router, "/zelavis/api/v1/nope").await;
    assert_eq!(
        (unknown.status, unknown.error().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn the_shell_is_served_with_its_own_policy() {
    let (_, router) = app().await;
    for path in ["/zelavis", "/zelavis/", "/zelavis/marketplace", "/zelavis/shop/report"] {
        let shell = get(&router, path).await;
        assert_eq!(shell.status, StatusCode::OK, "{path}");
        assert!(shell.text().contains("id=\"zelavis-boot\""));
        let csp = shell.header("content-security-policy").unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
    }
    assert_eq!(
        get(&router, "/zelavis/assets/shell.js").await.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(get(&router, "/zelavis/assets/shell.css").await.status, StatusCode::OK);
    assert!(
        get(&router, "/zelavis/api/v1/dashboard/bridge.js")
            .await
            .text()
            .contains("zelavis-bridge/1")
    );
}

#[tokio::test]
async fn registering_a_specifier_installs_live() {
    let (runtime, router) = app().await;
    let reply = send(
        &router,
        json_request(
            Method::POST,
            "/zelavis/api/v1/dashboard/plugins",
            &json!({ "specifier": "@acme/crm" }),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json()["state"], json!("active"));
    assert!(runtime.is_active("crm").await);
    assert_eq!(nav_keys(&router).await, ["plugin:shop", "plugin:reports", "plugin:crm"]);
    assert_eq!(
        runtime
            .registry()
            .await
            .get("crm")
            .unwrap()
            .record()
            .specifier
            .as_deref(),
        Some("@acme/crm")
    );
    assert_eq!(
        get(&router, &format!("{PAGES}/crm/contacts")).await.status,
        StatusCode::OK
    );

    let again = send(
        &router,
        json_request(
            Method::POST,
            "/zelavis/api/v1/dashboard/plugins",
            &json!({ "specifier": "@acme/crm" }),
        ),
    )
    .await;
    assert_eq!(
        (again.status, again.error().as_str()),
        (StatusCode::CONFLICT, "already_registered")
    );
    let unknown = send(
        &router,
        json_request(
            Method::POST,
            "/zelavis/api/v1/dashboard/plugins",
            &json!({ "specifier": "@acme/nope" }),
        ),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.error().as_str()),
        (StatusCode::NOT_FOUND, "unknown_specifier")
    );
    let blocked = send(
        &router,
        json_request(
            Method::POST,
            "/zelavis/api/v1/dashboard/plugins",
            &json!({ "specifier": "miner" }),
        ),
    )
    .await;
    assert_eq!(
        (blocked.status, blocked.error().as_str()),
        (StatusCode::FORBIDDEN, "blocked")
    );
    for bad in [
        json!({}),
        json!({ "specifier": "" }),
        json!({ "specifier": "x", "extra": 1 }),
        json!([1]),
    ] {
        let reply = send(
            &router,
            json_request(Method::POST, "/zelavis/api/v1/dashboard/plugins", &bad),
        )
        .await;
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_host_without_a_loader_refuses_to_register() {
    let (runtime, _) = Runtime::builder(registry()).start().await.unwrap();
    let router = zelavis_dashboard::router(runtime, DashboardOptions::new());
    let reply = send(
        &router,
        json_request(
            Method::POST,
            "/zelavis/api/v1/dashboard/plugins",
            &json!({ "specifier": "x" }),
        ),
    )
    .await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (StatusCode::FORBIDDEN, "no_loader")
    );
}

#[tokio::test]
async fn patch_recomposes_live() {
    let (runtime, router) = app().await;
    let patch = |name: &str, body: Value| {
        json_request(
            Method::PATCH,
            &format!("/zelavis/api/v1/dashboard/plugins/{name}"),
            &body,
        )
    };
    let enabled = send(&router, patch("blog", json!({ "status": "installed" }))).await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text());
    assert!(nav_keys(&router).await.contains(&"plugin:blog".to_owned()));
    let disabled = send(&router, patch("blog", json!({ "status": "available" }))).await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert!(!nav_keys(&router).await.contains(&"plugin:blog".to_owned()));
    // A child: its parent recomposes; it never gets a Workspace entry.
    assert_eq!(
        send(&router, patch("stripe", json!({ "status": "available" })))
            .await
            .status,
        StatusCode::OK
    );
    assert!(!runtime.is_active("stripe").await);

    let ordered = send(&router, patch("shop", json!({ "order": 3, "pin": "1.0.0" }))).await;
    assert_eq!(ordered.status, StatusCode::OK, "{}", ordered.text());
    let record = runtime.registry().await.get("shop").unwrap().record().clone();
    assert_eq!(
        (record.order, record.pin.map(|v| v.to_string())),
        (Some(3), Some("1.0.0".to_owned()))
    );
    let cleared = send(&router, patch("shop", json!({ "order": null, "pin": null }))).await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(runtime.registry().await.get("shop").unwrap().record().order, None);

    let dependents = send(&router, patch("shop", json!({ "status": "available" }))).await;
    assert_eq!(
        (dependents.status, dependents.error().as_str()),
        (StatusCode::CONFLICT, "has_dependents")
    );
    assert_eq!(dependents.json()["dependents"], json!(["reports"]));
    assert!(dependents.json()["message"].as_str().unwrap().contains("reports"));
    assert!(runtime.is_active("shop").await);
    let unknown = send(&router, patch("ghost", json!({ "status": "installed" }))).await;
    assert_eq!(
        (unknown.status, unknown.error().as_str()),
        (StatusCode::NOT_FOUND, "unknown_plugin")
    );
    for bad in [
        json!({}),
        json!({ "status": "on" }),
        json!({ "pin": "one" }),
        json!({ "order": -1 }),
    ] {
        let reply = send(&router, patch("shop", bad.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn mutating_requests_must_be_same_origin_json_and_small() {
    let (runtime, router) = app().await;
    let path = "/zelavis/api/v1/dashboard/plugins/shop";
    let request = |origin: Option<&str>, content_type: &str, body: String| {
        let mut builder = Request::patch(path)
            .header("host", "127.0.0.1:8080")
            .header("content-type", content_type);
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        builder.body(Body::from(body)).unwrap()
    };
    let body = json!({ "order": 1 }).to_string();
    for origin in ["http://evil.example", "null", "http://127.0.0.1:9999"] {
        let reply = send(&router, request(Some(origin), "application/json", body.clone())).await;
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (StatusCode::FORBIDDEN, "cross_origin"),
            "{origin}"
        );
    }
    let site = send(
        &router,
        Request::patch(path)
            .header("sec-fetch-site", "cross-site")
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(site.status, StatusCode::FORBIDDEN);
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let reply = send(&router, request(None, content_type, body.clone())).await;
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json"),
            "{content_type}"
        );
    }
    let huge = send(
        &router,
        request(
            None,
            "application/json",
            format!("{{\"order\":1,\"x\":\"{}\"}}", "a".repeat(70_000)),
        ),
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        runtime.registry().await.get("shop").unwrap().record().order,
        None,
        "nothing refused was applied"
    );
    // Reads are never refused for their origin.
    let read = send(
        &router,
        Request::get("/zelavis/api/v1/dashboard/config")
            .header("origin", "http://evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
}

#[tokio::test]
async fn every_route_that_takes_writes_refuses_a_foreign_origin() {
    let (runtime, router) = app().await;
    let before = runtime.state().await;
    for (method, path) in [
        (Method::POST, "/zelavis/api/v1/dashboard/plugins"),
        (Method::PATCH, "/zelavis/api/v1/dashboard/plugins/shop"),
        (Method::POST, "/zelavis/api/v1/plugins/shop/echo"),
        (Method::DELETE, "/zelavis/api/v1/plugins/shop/orders"),
        (Method::POST, "/zelavis/api/v1/no/such/route"),
    ] {
        let mut request = json_request(method.clone(), path, &json!({ "specifier": "@acme/crm", "order": 1 }));
        request
            .headers_mut()
            .insert("origin", http::HeaderValue::from_static("http://evil.example"));
        let reply = send(&router, request).await;
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (StatusCode::FORBIDDEN, "cross_origin"),
            "{method} {path}"
        );
    }
    assert_eq!(runtime.state().await, before, "nothing refused was applied");
}

#[tokio::test]
async fn plugin_routes_are_mounted_under_their_api_path() {
    let (runtime, router) = app().await;
    let orders = get(&router, "/zelavis/api/v1/plugins/shop/orders").await;
    assert_eq!((orders.status, orders.text().as_str()), (StatusCode::OK, "[1,2]"));
    let echo = send(
        &router,
        json_request(Method::POST, "/zelavis/api/v1/plugins/shop/echo", &json!({ "a": 1 })),
    )
    .await;
    assert_eq!(echo.json(), json!({ "a": 1 }));
    let missing = get(&router, "/zelavis/api/v1/plugins/shop/nope").await;
    assert_eq!(
        (missing.status, missing.error().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let fails = get(&router, "/zelavis/api/v1/plugins/shop/fails").await;
    assert_eq!(
        (fails.status, fails.error().as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "route_failed")
    );
    assert_eq!(runtime.health().of("shop").runtime_failures, 1);
    let forged = send(
        &router,
        Request::post("/zelavis/api/v1/plugins/shop/echo")
            .header("origin", "null")
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "a sandboxed page cannot post to the API directly"
    );
}
