//! The super-admin API over HTTP, without a browser: every route's success path, the seed's refusals in order
//! with their statuses, roles, bad input of every kind in one JSON shape, scoped ids, and the panel's headers.

mod support;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use support::api::{API, Reply, call, raw};
use zelavis_operator::http::{SuperAdminOptions, router, router_with};
use zelavis_operator::prelude::*;
use zelavis_registry::store::memory::MemoryStore;

const OWNER: &str = "owner-token";
const OPERATOR: &str = "operator-token";
const VIEWER: &str = "viewer-token";
const CHARGES: &str = "/zelavis/api/v1/plugins/stripe/charges";

// ------------------------------------------------------------------ fixtures

fn stripe(version: &str) -> PluginDef {
    PluginDef::builder("stripe")
        .version(version)
        .permission(Permission::RoutesRegister)
        .setting(SettingField::new("api_key", "API key", SettingKind::Password).required())
        .setting(
            SettingField::new("mode", "Mode", SettingKind::Select)
                .option("test", "Test")
                .option("live", "Live")
                .default_value("test"),
        )
        .setup(|cx| {
            cx.register_route(Route::new(Method::GET, "/charges", |_| async {
                Ok(RouteResponse::new(b"[]".to_vec()))
            })?)
        })
        .build()
        .unwrap()
}

fn plain(name: &str, version: &str) -> PluginDef {
    PluginDef::builder(name).version(version).build().unwrap()
}

fn flaky() -> PluginDef {
    PluginDef::builder("flaky")
        .version("1.0.0")
        .setup(|_| Err(SetupError::from("no tracking id configured")))
        .build()
        .unwrap()
}

fn defs() -> Vec<(PluginDef, PluginSpec)> {
    vec![
        (stripe("2.4.0"), PluginSpec::new(CatalogSource::BuiltIn, "Zelavis")),
        (stripe("2.5.0"), PluginSpec::new(CatalogSource::BuiltIn, "Zelavis")),
        (
            plain("insights", "1.0.0"),
            PluginSpec::new(CatalogSource::Premium, "Zelavis").tier_minimum("growth"),
        ),
        (
            plain("menus", "1.0.0"),
            PluginSpec::new(CatalogSource::BuiltIn, "Zelavis").niche("restaurants"),
        ),
        (
            plain("loyalty", "1.0.0"),
            PluginSpec::new(CatalogSource::Premium, "Zelavis"),
        ),
        (
            plain("@acme/reports", "1.0.0"),
            PluginSpec::new(CatalogSource::Private, "acme"),
        ),
        (
            plain("legacy", "0.9.0"),
            PluginSpec::new(CatalogSource::BuiltIn, "Zelavis"),
        ),
        (flaky(), PluginSpec::new(CatalogSource::BuiltIn, "Zelavis")),
    ]
}

fn license(plugins: &[&str]) -> License {
    License {
        licensed_plugins: plugins.iter().map(|p| (*p).to_owned()).collect(),
        ..License::default()
    }
}

fn tokens() -> StaticTokens {
    StaticTokens::new()
        .token(OWNER, Actor::new("owner@example.com", Role::Owner))
        .token(OPERATOR, Actor::new("ops@example.com", Role::Operator))
        .token(VIEWER, Actor::new("viewer@example.com", Role::Viewer))
}

struct App {
    router: Router,
    operator: Operator,
    tenants: LocalTenants,
}

impl App {
    async fn runtime(&self, tenant: &str) -> zelavis_registry::runtime::Runtime {
        self.tenants.runtime(&Name::parse(tenant).unwrap()).await.unwrap().0
    }
}

async fn app() -> App {
    app_with(SuperAdminOptions::new()).await
}

async fn app_with(options: SuperAdminOptions) -> App {
    let mut releases = BuiltinReleases::new();
    for (def, _) in defs() {
        releases = releases.with(def);
    }
    let licenses = FixedLicenses::new()
        .grant(
            "acme",
            license(&["stripe", "insights", "menus", "@acme/reports", "legacy", "flaky"]),
        )
        .grant("globex", license(&["stripe", "loyalty", "legacy"]))
        .grant("initech", license(&["stripe"]));
    let tenants = LocalTenants::new(MemoryStore::new(), "test-host");
    let operator = Operator::builder(MemoryOperatorStore::new())
        .licenses(licenses)
        .tenants(tenants.clone())
        .releases(releases)
        .build();
    let owner = Actor::new("setup", Role::Owner);
    for (def, spec) in defs() {
        operator.register_builtin(&owner, &def, spec).await.unwrap();
    }
    operator
        .create_tenant(
            &owner,
            TenantSpec::new(Name::parse("acme").unwrap(), "pro", "retail").canary(true),
        )
        .await
        .unwrap();
    operator
        .create_tenant(
            &owner,
            TenantSpec::new(Name::parse("globex").unwrap(), "starter", "restaurants"),
        )
        .await
        .unwrap();
    App {
        router: router_with(operator.clone(), tokens(), options),
        operator,
        tenants,
    }
}

// ------------------------------------------------------------------ requests

async fn get(router: &Router, path: &str) -> Reply {
    call(router, Method::GET, path, Some(OWNER), None).await
}

async fn post(router: &Router, path: &str, body: Value) -> Reply {
    call(router, Method::POST, path, Some(OPERATOR), Some(body)).await
}

async fn patch(router: &Router, path: &str, body: Value) -> Reply {
    call(router, Method::PATCH, path, Some(OPERATOR), Some(body)).await
}

async fn enable(router: &Router, tenant: &str, plugin: &str, body: Value) -> Reply {
    post(router, &format!("/tenants/{tenant}/plugins/{plugin}/enable"), body).await
}

fn row<'a>(plugins: &'a Value, id: &str) -> &'a Value {
    plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plugin"] == id || p["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {plugins}"))
}

async fn audit_len(router: &Router) -> usize {
    get(router, "/audit?limit=1000").await.ok()["events"]
        .as_array()
        .unwrap()
        .len()
}

// ------------------------------------------------------------------ authentication and roles

#[tokio::test]
async fn every_route_needs_a_known_bearer_token() {
    let app = app().await;
    let routes = [
        (Method::GET, "/tenants"),
        (Method::POST, "/tenants"),
        (Method::GET, "/tenants/acme"),
        (Method::PATCH, "/tenants/acme"),
        (Method::GET, "/tenants/acme/plugins"),
        (Method::POST, "/tenants/acme/plugins/stripe/enable"),
        (Method::POST, "/tenants/acme/plugins/stripe/disable"),
        (Method::POST, "/tenants/acme/plugins/stripe/pin"),
        (Method::DELETE, "/tenants/acme/plugins/stripe/pin"),
        (Method::GET, "/tenants/acme/plugins/stripe/settings"),
        (Method::PUT, "/tenants/acme/plugins/stripe/settings"),
        (Method::GET, "/plugins"),
        (Method::GET, "/plugins/stripe"),
        (Method::POST, "/plugins/stripe/deprecate"),
        (Method::DELETE, "/plugins/stripe"),
        (Method::POST, "/plugins/stripe/kill"),
        (Method::DELETE, "/plugins/stripe/kill"),
        (Method::GET, "/health"),
        (Method::GET, "/audit"),
        (Method::GET, "/audit/verify"),
    ];
    for (method, path) in routes {
        let none = call(&app.router, method.clone(), path, None, Some(json!({}))).await;
        none.refused(401, "unauthorized");
        assert!(
            none.headers
                .get(header::WWW_AUTHENTICATE)
                .is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")),
            "{method} {path}"
        );
        call(&app.router, method.clone(), path, Some("guess"), Some(json!({})))
            .await
            .refused(401, "unauthorized");
    }
    let basic = Request::get(format!("{API}/tenants"))
        .header(header::AUTHORIZATION, "Basic b3duZXI6dG9rZW4=")
        .body(Body::empty())
        .unwrap();
    raw(&app.router, basic).await.refused(401, "unauthorized");
    assert!(
        !app.runtime("acme").await.is_active("stripe").await,
        "nothing refused was applied"
    );
}

#[tokio::test]
async fn a_viewer_reads_and_is_refused_every_write() {
    let app = app().await;
    for path in [
        "/tenants",
        "/tenants/acme",
        "/tenants/acme/plugins",
        "/plugins",
        "/plugins/stripe",
        "/health",
        "/audit",
        "/audit/verify",
    ] {
        call(&app.router, Method::GET, path, Some(VIEWER), None).await.ok();
    }
    let before = audit_len(&app.router).await;
    let writes = [
        (
            Method::POST,
            "/tenants",
            json!({"id": "initech", "tier": "pro", "niche": "retail"}),
        ),
        (Method::PATCH, "/tenants/acme", json!({"tier": "growth"})),
        (Method::POST, "/tenants/acme/plugins/stripe/enable", json!({})),
        (Method::POST, "/tenants/acme/plugins/stripe/disable", json!({})),
        (
            Method::POST,
            "/tenants/acme/plugins/stripe/pin",
            json!({"version": "2.4.0"}),
        ),
        (Method::DELETE, "/tenants/acme/plugins/stripe/pin", json!({})),
        (
            Method::PUT,
            "/tenants/acme/plugins/stripe/settings",
            json!({"api_key": "sk"}),
        ),
        (Method::POST, "/plugins/legacy/deprecate", json!({"message": "old"})),
        (Method::DELETE, "/plugins/legacy", json!({})),
        (Method::POST, "/plugins/legacy/kill", json!({"reason": "bad"})),
        (Method::DELETE, "/plugins/legacy/kill", json!({})),
    ];
    for (method, path, body) in writes {
        let refused = call(&app.router, method.clone(), path, Some(VIEWER), Some(body)).await;
        let body = refused.refused(403, "forbidden");
        assert!(
            body["message"].as_str().unwrap().contains("viewer"),
            "{method} {path}: {body}"
        );
    }
    assert_eq!(audit_len(&app.router).await, before, "a refused write records nothing");
}

#[tokio::test]
async fn removal_and_kill_switches_are_for_owners() {
    let app = app().await;
    for (method, path, body) in [
        (Method::DELETE, "/plugins/legacy", None),
        (
            Method::POST,
            "/plugins/legacy/kill",
            Some(json!({"reason": "leaks memory"})),
        ),
        (Method::DELETE, "/plugins/legacy/kill", None),
    ] {
        let refused = call(&app.router, method, path, Some(OPERATOR), body).await;
        let body = refused.refused(403, "forbidden");
        assert!(body["message"].as_str().unwrap().contains("owner"), "{body}");
    }
    get(&app.router, "/plugins/legacy").await.ok();
}

// ------------------------------------------------------------------ tenants

#[tokio::test]
async fn tenants_are_created_and_listed() {
    let app = app().await;
    let created = post(
        &app.router,
        "/tenants",
        json!({"id": "initech", "tier": "starter", "niche": "retail", "license": "signed.token.here"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let tenant = created.ok();
    assert_eq!(
        (tenant["id"].as_str(), tenant["tier"].as_str()),
        (Some("initech"), Some("starter"))
    );
    assert_eq!(tenant["license_token"], true);
    assert_eq!(tenant["license"]["licensed_plugins"], json!(["stripe"]));
    assert!(!created.text().contains("signed.token.here"), "the token is write-only");

    post(
        &app.router,
        "/tenants",
        json!({"id": "initech", "tier": "pro", "niche": "retail"}),
    )
    .await
    .refused(409, "already_exists");
    post(
        &app.router,
        "/tenants",
        json!({"id": "hooli", "tier": "platinum", "niche": "retail"}),
    )
    .await
    .refused(422, "unknown_tier");
    post(
        &app.router,
        "/tenants",
        json!({"id": "Not A Name", "tier": "pro", "niche": "retail"}),
    )
    .await
    .refused(422, "invalid_name");
    post(&app.router, "/tenants", json!({"id": "hooli", "tier": "pro"}))
        .await
        .refused(422, "invalid_body");

    let list = get(&app.router, "/tenants").await.ok();
    let ids: Vec<&str> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "globex", "initech"]);
}

#[tokio::test]
async fn tenants_are_read_and_patched() {
    let app = app().await;
    post(
        &app.router,
        "/tenants",
        json!({"id": "initech", "tier": "starter", "niche": "retail", "license": "signed.token.here"}),
    )
    .await
    .ok();
    let acme = get(&app.router, "/tenants/acme").await.ok();
    assert_eq!(
        (acme["tier"].as_str(), acme["niche"].as_str(), acme["canary"].as_bool()),
        (Some("pro"), Some("retail"), Some(true))
    );
    assert_eq!(acme["license_token"], false);
    assert!(
        acme["license"]["licensed_plugins"]
            .as_array()
            .unwrap()
            .contains(&json!("stripe"))
    );
    get(&app.router, "/tenants/nobody").await.refused(404, "unknown_tenant");

    let patched = patch(&app.router, "/tenants/acme", json!({"tier": "growth", "canary": false}))
        .await
        .ok();
    assert_eq!(
        (
            patched["tier"].as_str(),
            patched["niche"].as_str(),
            patched["canary"].as_bool()
        ),
        (Some("growth"), Some("retail"), Some(false))
    );
    let stored = app
        .operator
        .tenant(&Actor::new("t", Role::Viewer), "acme")
        .await
        .unwrap();
    assert_eq!(stored.tier, "growth");
    // `license: null` removes a token; absent keeps it.
    let kept = patch(&app.router, "/tenants/initech", json!({"niche": "restaurants"}))
        .await
        .ok();
    assert_eq!(kept["license_token"], true);
    let cleared = patch(&app.router, "/tenants/initech", json!({"license": null}))
        .await
        .ok();
    assert_eq!(cleared["license_token"], false);

    patch(&app.router, "/tenants/acme", json!({"tier": "diamond"}))
        .await
        .refused(422, "unknown_tier");
    patch(&app.router, "/tenants/acme", json!({"id": "other"}))
        .await
        .refused(422, "invalid_body");
    patch(&app.router, "/tenants/nobody", json!({"tier": "pro"}))
        .await
        .refused(404, "unknown_tenant");
}

// ------------------------------------------------------------------ grants

#[tokio::test]
async fn enable_mounts_the_plugin_in_the_tenant_runtime_and_disable_takes_it_down() {
    let app = app().await;
    let enabled = enable(&app.router, "acme", "stripe", json!({})).await.ok();
    assert_eq!(enabled["changed"], true);
    assert_eq!(enabled["enablement"]["version"], "2.5.0", "default-latest");
    let runtime = app.runtime("acme").await;
    assert!(runtime.is_active("stripe").await);
    assert!(
        runtime
            .call_route(&Method::GET, CHARGES, RouteRequest::default())
            .await
            .is_ok(),
        "the plugin's route is mounted in the tenant's runtime"
    );
    assert!(
        !app.runtime("globex").await.is_active("stripe").await,
        "other tenants are untouched"
    );

    let again = enable(&app.router, "acme", "stripe", json!({})).await.ok();
    assert_eq!(again["changed"], false, "the same again is a no-op");

    // An enable with no body at all (no content type either) is the same call.
    let bare = call(
        &app.router,
        Method::POST,
        "/tenants/acme/plugins/stripe/enable",
        Some(OPERATOR),
        None,
    )
    .await
    .ok();
    assert_eq!(bare["changed"], false);

    let list = get(&app.router, "/tenants/acme/plugins").await.ok();
    assert_eq!(list["tenant"], "acme");
    let stripe = row(&list["plugins"], "stripe");
    assert_eq!(
        (stripe["enabled"].as_bool(), stripe["version"].as_str(), &stripe["pin"]),
        (Some(true), Some("2.5.0"), &Value::Null)
    );
    assert_eq!(row(&list["plugins"], "menus")["enabled"], false);
    assert_eq!(list["banners"], json!([]));
    let catalog = get(&app.router, "/plugins").await.ok();
    assert_eq!(row(&catalog["plugins"], "stripe")["tenants_using"], 1);

    // An explicit version moves the tenant to it.
    let older = enable(&app.router, "acme", "stripe", json!({"version": "2.4.0"}))
        .await
        .ok();
    assert_eq!(
        (older["changed"].as_bool(), older["enablement"]["version"].as_str()),
        (Some(true), Some("2.4.0"))
    );
    let registry = runtime.registry().await;
    assert_eq!(registry.get("stripe").unwrap().plugin.version().to_string(), "2.4.0");
    drop(registry);

    let disabled = post(&app.router, "/tenants/acme/plugins/stripe/disable", json!({}))
        .await
        .ok();
    assert_eq!(
        (
            disabled["changed"].as_bool(),
            disabled["enablement"]["enabled"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert!(!runtime.is_active("stripe").await);
    assert!(
        runtime
            .call_route(&Method::GET, CHARGES, RouteRequest::default())
            .await
            .is_err(),
        "its route is gone"
    );
    let again = post(&app.router, "/tenants/acme/plugins/stripe/disable", json!({}))
        .await
        .ok();
    assert_eq!(again["changed"], false);
    assert_eq!(
        row(&get(&app.router, "/plugins").await.ok()["plugins"], "stripe")["tenants_using"],
        0
    );
}

#[tokio::test]
async fn pins_choose_the_version_until_cleared() {
    let app = app().await;
    let pinned = post(
        &app.router,
        "/tenants/acme/plugins/stripe/pin",
        json!({"version": "2.4.0"}),
    )
    .await
    .ok();
    assert_eq!(
        (pinned["changed"].as_bool(), pinned["enablement"]["pin"].as_str()),
        (Some(true), Some("2.4.0"))
    );
    let list = get(&app.router, "/tenants/acme/plugins").await.ok();
    let stripe = row(&list["plugins"], "stripe");
    assert_eq!(
        (
            stripe["pin"].as_str(),
            stripe["version"].as_str(),
            stripe["enabled"].as_bool()
        ),
        (Some("2.4.0"), Some("2.4.0"), Some(false))
    );

    let enabled = enable(&app.router, "acme", "stripe", json!({})).await.ok();
    assert_eq!(
        enabled["enablement"]["version"], "2.4.0",
        "the pin wins over default-latest"
    );
    let runtime = app.runtime("acme").await;
    assert_eq!(
        runtime
            .registry()
            .await
            .get("stripe")
            .unwrap()
            .plugin
            .version()
            .to_string(),
        "2.4.0"
    );

    let cleared = call(
        &app.router,
        Method::DELETE,
        "/tenants/acme/plugins/stripe/pin",
        Some(OPERATOR),
        None,
    )
    .await
    .ok();
    assert_eq!(
        (
            cleared["changed"].as_bool(),
            &cleared["enablement"]["pin"],
            cleared["enablement"]["version"].as_str()
        ),
        (Some(true), &Value::Null, Some("2.5.0"))
    );
    assert_eq!(
        runtime
            .registry()
            .await
            .get("stripe")
            .unwrap()
            .plugin
            .version()
            .to_string(),
        "2.5.0",
        "an enabled plugin moves at once"
    );
    let again = call(
        &app.router,
        Method::DELETE,
        "/tenants/acme/plugins/stripe/pin",
        Some(OPERATOR),
        None,
    )
    .await
    .ok();
    assert_eq!(again["changed"], false);

    post(
        &app.router,
        "/tenants/acme/plugins/stripe/pin",
        json!({"version": "9.9.9"}),
    )
    .await
    .refused(404, "version_not_found");
    post(
        &app.router,
        "/tenants/acme/plugins/stripe/pin",
        json!({"version": "two"}),
    )
    .await
    .refused(422, "invalid_version");
    post(&app.router, "/tenants/acme/plugins/stripe/pin", json!({}))
        .await
        .refused(422, "invalid_body");
}

#[tokio::test]
async fn refusals_come_in_the_seeds_order_with_their_statuses() {
    let app = app().await;
    let before = audit_len(&app.router).await;
    // Not licensed.
    let body = enable(&app.router, "acme", "loyalty", json!({}))
        .await
        .refused(403, "license_denied");
    assert!(body["message"].as_str().unwrap().contains("loyalty"));
    // Not licensed and below the tier: the license is checked first.
    enable(&app.router, "globex", "insights", json!({}))
        .await
        .refused(403, "license_denied");
    // Licensed, below the tier minimum.
    let body = enable(&app.router, "acme", "insights", json!({}))
        .await
        .refused(403, "tier_too_low");
    assert!(body["message"].as_str().unwrap().contains("growth"), "{body}");
    // Licensed, tier fine, another niche.
    let body = enable(&app.router, "acme", "menus", json!({}))
        .await
        .refused(409, "niche_mismatch");
    assert!(body["message"].as_str().unwrap().contains("restaurants"), "{body}");
    // Everything fine but the version.
    enable(&app.router, "acme", "stripe", json!({"version": "9.9.9"}))
        .await
        .refused(404, "version_not_found");
    // The niche is checked before the version.
    enable(&app.router, "acme", "menus", json!({"version": "9.9.9"}))
        .await
        .refused(409, "niche_mismatch");
    // A malformed version never reaches the checks.
    enable(&app.router, "acme", "stripe", json!({"version": "2.x"}))
        .await
        .refused(422, "invalid_version");
    enable(&app.router, "acme", "stripe", json!({"version": 2}))
        .await
        .refused(422, "invalid_body");

    let list = get(&app.router, "/tenants/acme/plugins").await.ok();
    assert!(
        list["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["enabled"] == false),
        "nothing was enabled"
    );
    assert!(app.runtime("acme").await.active().await.is_empty());
    assert_eq!(audit_len(&app.router).await, before, "refusals record nothing");

    // Raising the tier lets the same call through.
    patch(&app.router, "/tenants/acme", json!({"tier": "growth"}))
        .await
        .ok();
    assert_eq!(
        enable(&app.router, "acme", "insights", json!({})).await.ok()["enablement"]["enabled"],
        true
    );
}

#[tokio::test]
async fn unknown_tenants_plugins_and_names_are_refused() {
    let app = app().await;
    enable(&app.router, "nobody", "stripe", json!({}))
        .await
        .refused(404, "unknown_tenant");
    enable(&app.router, "acme", "nothing", json!({}))
        .await
        .refused(404, "unknown_plugin");
    get(&app.router, "/tenants/nobody/plugins")
        .await
        .refused(404, "unknown_tenant");
    get(&app.router, "/plugins/nothing")
        .await
        .refused(404, "unknown_plugin");
    get(&app.router, "/tenants/acme/plugins/nothing/settings")
        .await
        .refused(404, "unknown_plugin");
    post(
        &app.router,
        "/tenants/acme/plugins/nothing/pin",
        json!({"version": "1.0.0"}),
    )
    .await
    .refused(404, "unknown_plugin");
    post(&app.router, "/plugins/nothing/deprecate", json!({"message": "x"}))
        .await
        .refused(404, "unknown_plugin");
    // Names that break the grammar are refused before any lookup.
    get(&app.router, "/tenants/ACME").await.refused(422, "invalid_name");
    get(&app.router, "/plugins/..%2Fetc").await.refused(422, "invalid_name");
    let long = "a".repeat(300);
    let body = get(&app.router, &format!("/plugins/{long}"))
        .await
        .refused(422, "invalid_name");
    assert!(
        body["message"].as_str().unwrap().len() < 300,
        "the echoed name is clipped"
    );
}

// ------------------------------------------------------------------ bad input

#[tokio::test]
async fn bad_input_gets_the_same_json_error_shape() {
    let app = app().await;
    let enable_path = format!("{API}/tenants/acme/plugins/stripe/enable");
    let with_body = |content_type: Option<&str>, body: Body| {
        let mut request = Request::post(&enable_path).header(header::AUTHORIZATION, format!("Bearer {OPERATOR}"));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        request.body(body).unwrap()
    };
    // Malformed JSON.
    raw(
        &app.router,
        with_body(Some("application/json"), Body::from("{\"version\": ")),
    )
    .await
    .refused(400, "bad_request");
    raw(&app.router, with_body(Some("application/json"), Body::from("not json")))
        .await
        .refused(400, "bad_request");
    // JSON of the wrong shape.
    raw(&app.router, with_body(Some("application/json"), Body::from("[1, 2]")))
        .await
        .refused(422, "invalid_body");
    raw(
        &app.router,
        with_body(Some("application/json"), Body::from("{\"versoin\": \"2.4.0\"}")),
    )
    .await
    .refused(422, "invalid_body");
    // Not JSON at all.
    raw(&app.router, with_body(Some("text/plain"), Body::from("{}")))
        .await
        .refused(415, "not_json");
    raw(&app.router, with_body(None, Body::from("{}")))
        .await
        .refused(415, "not_json");
    raw(
        &app.router,
        with_body(Some("application/x-www-form-urlencoded"), Body::from("version=2.4.0")),
    )
    .await
    .refused(415, "not_json");
    // Oversized: announced by content-length (the layer answers before the handler) ...
    let huge = format!("{{\"version\": \"{}\"}}", "1".repeat(70 * 1024));
    raw(
        &app.router,
        with_body(Some("application/json"), Body::from(huge.clone())),
    )
    .await
    .refused(413, "too_large");
    // ... and streamed without one.
    let stream = futures::stream::iter(
        huge.into_bytes()
            .chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    raw(
        &app.router,
        with_body(Some("application/json"), Body::from_stream(stream)),
    )
    .await
    .refused(413, "too_large");

    // Unknown routes, under the API and at its root; a known route with the wrong method.
    get(&app.router, "/nothing/here").await.refused(404, "not_found");
    get(&app.router, "").await.refused(404, "not_found");
    get(&app.router, "/tenants/acme/plugins/stripe/unknown")
        .await
        .refused(404, "not_found");
    let wrong = call(&app.router, Method::DELETE, "/health", Some(OWNER), None).await;
    wrong.refused(405, "method_not_allowed");
    assert!(wrong.headers.get(header::ALLOW).is_some(), "405 keeps its allow header");
    call(&app.router, Method::PUT, "/tenants", Some(OWNER), Some(json!({})))
        .await
        .refused(405, "method_not_allowed");

    // A path segment that is not UTF-8; a malformed query.
    get(&app.router, "/tenants/%FF%FE").await.refused(400, "bad_request");
    get(&app.router, "/audit?limit=lots").await.refused(400, "bad_request");
    get(&app.router, "/audit?after=-1").await.refused(400, "bad_request");
    get(&app.router, "/audit?sneaky=1").await.refused(400, "bad_request");

    // Empty required texts.
    call(
        &app.router,
        Method::POST,
        "/plugins/legacy/kill",
        Some(OWNER),
        Some(json!({"reason": " "})),
    )
    .await
    .refused(422, "invalid_body");
    post(&app.router, "/plugins/legacy/deprecate", json!({"message": ""}))
        .await
        .refused(422, "invalid_body");
    assert!(
        !app.runtime("acme").await.is_active("stripe").await,
        "nothing refused was applied"
    );

    // JSON with parameters is JSON.
    raw(
        &app.router,
        with_body(Some("application/json; charset=utf-8"), Body::from("{}")),
    )
    .await
    .ok();
    assert!(app.runtime("acme").await.is_active("stripe").await);
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let app = app_with(SuperAdminOptions::new().body_limit(64)).await;
    let body = json!({"message": "x".repeat(100)});
    let refused = post(&app.router, "/plugins/legacy/deprecate", body)
        .await
        .refused(413, "too_large");
    assert!(refused["message"].as_str().unwrap().contains("64"), "{refused}");
    post(&app.router, "/plugins/legacy/deprecate", json!({"message": "old"}))
        .await
        .ok();
}

struct Panicking;

#[async_trait]
impl Authenticator for Panicking {
    async fn authenticate(&self, _token: &str) -> Result<Actor, AuthError> {
        panic!("the session service exploded")
    }
}

#[tokio::test]
async fn a_panic_is_a_json_500_not_a_dropped_connection() {
    let app = app().await;
    let router = router(app.operator.clone(), Panicking);
    let reply = call(&router, Method::GET, "/tenants", Some(OWNER), None).await;
    let body = reply.refused(500, "internal");
    assert!(
        !body["message"].as_str().unwrap().contains("exploded"),
        "details stay in the server's log"
    );
}

// ------------------------------------------------------------------ catalog

#[tokio::test]
async fn the_catalog_shows_badges_versions_and_usage() {
    let app = app().await;
    enable(&app.router, "acme", "stripe", json!({})).await.ok();
    enable(&app.router, "globex", "stripe", json!({"version": "2.4.0"}))
        .await
        .ok();
    let catalog = get(&app.router, "/plugins").await.ok();
    let plugins = &catalog["plugins"];
    let stripe = row(plugins, "stripe");
    assert_eq!(
        (stripe["badge"].as_str(), stripe["source"].as_str()),
        (Some("Built-in"), Some("built_in"))
    );
    assert_eq!(stripe["version"], "2.5.0");
    assert_eq!(stripe["supports_versions"], json!(["2.5.0", "2.4.0"]));
    assert_eq!(stripe["tenants_using"], 2);
    let insights = row(plugins, "insights");
    assert_eq!(
        (insights["badge"].as_str(), insights["tier_minimum"].as_str()),
        (Some("Premium"), Some("growth"))
    );
    assert_eq!(row(plugins, "menus")["niches"], json!(["restaurants"]));
    let reports = row(plugins, "@acme/reports");
    assert_eq!(
        (reports["badge"].as_str(), reports["scope"].as_str()),
        (Some("Private"), Some("acme"))
    );

    let one = get(&app.router, "/plugins/stripe").await.ok();
    assert_eq!(
        (one["id"].as_str(), one["tenants_using"].as_u64()),
        (Some("stripe"), Some(2))
    );
    assert!(
        one["manifest"].is_object(),
        "the default version's manifest comes along"
    );
}

#[tokio::test]
async fn scoped_plugin_ids_travel_percent_encoded_in_one_segment() {
    let app = app().await;
    let id = "%40acme%2Freports";
    let one = get(&app.router, &format!("/plugins/{id}")).await.ok();
    assert_eq!(
        (one["id"].as_str(), one["scope"].as_str()),
        (Some("@acme/reports"), Some("acme"))
    );
    let enabled = enable(&app.router, "acme", id, json!({})).await.ok();
    assert_eq!(enabled["enablement"]["plugin"], "@acme/reports");
    assert!(app.runtime("acme").await.is_active("@acme/reports").await);
    let pinned = post(
        &app.router,
        &format!("/tenants/acme/plugins/{id}/pin"),
        json!({"version": "1.0.0"}),
    )
    .await
    .ok();
    assert_eq!(pinned["enablement"]["pin"], "1.0.0");
    get(&app.router, &format!("/tenants/acme/plugins/{id}/settings"))
        .await
        .ok();
    let list = get(&app.router, "/tenants/acme/plugins").await.ok();
    assert_eq!(row(&list["plugins"], "@acme/reports")["enabled"], true);
    post(&app.router, &format!("/tenants/acme/plugins/{id}/disable"), json!({}))
        .await
        .ok();
    assert!(!app.runtime("acme").await.is_active("@acme/reports").await);
    // Lower-case escapes are the same segment; unencoded, the slash splits it and no route matches.
    get(&app.router, "/plugins/%40acme%2freports").await.ok();
    get(&app.router, "/plugins/@acme/reports")
        .await
        .refused(404, "not_found");
}

#[tokio::test]
async fn deprecation_gives_banners_and_can_close_new_enables() {
    let app = app().await;
    enable(&app.router, "acme", "legacy", json!({})).await.ok();
    let deprecated = post(
        &app.router,
        "/plugins/legacy/deprecate",
        json!({"message": "Replaced by Stripe.", "replacement": "stripe"}),
    )
    .await
    .ok();
    assert_eq!(deprecated["plugin"], "legacy");
    let banners = deprecated["banners"].as_array().unwrap();
    assert_eq!(banners.len(), 1);
    assert_eq!(
        (banners[0]["tenant"].as_str(), banners[0]["replacement"].as_str()),
        (Some("acme"), Some("stripe"))
    );

    let acme = get(&app.router, "/tenants/acme/plugins").await.ok();
    assert_eq!(acme["banners"][0]["message"], "Replaced by Stripe.");
    assert_eq!(
        row(&acme["plugins"], "legacy")["deprecated"]["message"],
        "Replaced by Stripe."
    );
    assert_eq!(
        get(&app.router, "/tenants/globex/plugins").await.ok()["banners"],
        json!([])
    );
    let row_ = get(&app.router, "/plugins/legacy").await.ok();
    assert_eq!(row_["deprecated"]["replacement"], "stripe");

    // New tenants may still enable it until new enables are closed.
    post(
        &app.router,
        "/plugins/legacy/deprecate",
        json!({"message": "Gone soon.", "disallow_new_enable": true}),
    )
    .await
    .ok();
    enable(&app.router, "globex", "legacy", json!({}))
        .await
        .refused(409, "deprecated");
    assert_eq!(
        enable(&app.router, "acme", "legacy", json!({})).await.ok()["changed"],
        false,
        "tenants on it stay"
    );

    post(
        &app.router,
        "/plugins/legacy/deprecate",
        json!({"message": "x", "replacement": "nothing"}),
    )
    .await
    .refused(404, "unknown_plugin");
    post(
        &app.router,
        "/plugins/legacy/deprecate",
        json!({"message": "x", "replacement": "Not Valid"}),
    )
    .await
    .refused(422, "invalid_name");
}

#[tokio::test]
async fn removal_is_refused_while_in_use_and_leaves_a_tombstone() {
    let app = app().await;
    enable(&app.router, "acme", "legacy", json!({})).await.ok();
    enable(&app.router, "globex", "legacy", json!({})).await.ok();
    let owner = |method: Method, path: &'static str| call(&app.router, method, path, Some(OWNER), None);
    let refused = owner(Method::DELETE, "/plugins/legacy").await;
    let body = refused.refused(409, "in_use");
    assert_eq!(
        body["tenants"],
        json!(["acme", "globex"]),
        "the tenants still using it are listed"
    );
    assert!(body["message"].as_str().unwrap().contains("2 tenant"));

    post(&app.router, "/tenants/acme/plugins/legacy/disable", json!({}))
        .await
        .ok();
    post(&app.router, "/tenants/globex/plugins/legacy/disable", json!({}))
        .await
        .ok();
    let tombstone = owner(Method::DELETE, "/plugins/legacy").await.ok();
    assert_eq!(tombstone["id"], "legacy");
    assert!(tombstone["removed_at"].is_string());
    get(&app.router, "/plugins/legacy").await.refused(404, "unknown_plugin");
    assert!(
        !get(&app.router, "/plugins").await.ok()["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "legacy")
    );
    enable(&app.router, "acme", "legacy", json!({}))
        .await
        .refused(404, "unknown_plugin");
    owner(Method::DELETE, "/plugins/legacy")
        .await
        .refused(404, "unknown_plugin");
}

#[tokio::test]
async fn the_kill_switch_takes_a_plugin_down_everywhere_and_back() {
    let app = app().await;
    enable(&app.router, "acme", "stripe", json!({})).await.ok();
    let killed = call(
        &app.router,
        Method::POST,
        "/plugins/stripe/kill",
        Some(OWNER),
        Some(json!({"reason": "leaks card numbers"})),
    )
    .await
    .ok();
    assert_eq!(
        (killed["killed"].as_bool(), &killed["tenants"]),
        (Some(true), &json!(["acme"]))
    );
    let runtime = app.runtime("acme").await;
    assert!(
        !runtime.is_active("stripe").await,
        "down in the tenant's runtime at once"
    );
    assert_eq!(
        get(&app.router, "/plugins/stripe").await.ok()["killed"]["reason"],
        "leaks card numbers"
    );
    assert_eq!(
        row(
            &get(&app.router, "/tenants/acme/plugins").await.ok()["plugins"],
            "stripe"
        )["killed"],
        true
    );
    enable(&app.router, "globex", "stripe", json!({}))
        .await
        .refused(409, "killed");

    let revived = call(&app.router, Method::DELETE, "/plugins/stripe/kill", Some(OWNER), None)
        .await
        .ok();
    assert_eq!(
        (revived["killed"].as_bool(), &revived["tenants"]),
        (Some(false), &json!(["acme"]))
    );
    assert!(runtime.is_active("stripe").await, "tenants that had it get it back");
    call(
        &app.router,
        Method::POST,
        "/plugins/nothing/kill",
        Some(OWNER),
        Some(json!({"reason": "x"})),
    )
    .await
    .refused(404, "unknown_plugin");
}

// ------------------------------------------------------------------ settings

#[tokio::test]
async fn settings_are_validated_against_the_schema_and_passwords_redacted() {
    let app = app().await;
    let path = "/tenants/acme/plugins/stripe/settings";
    let defaults = get(&app.router, path).await.ok();
    assert_eq!(defaults["mode"], "test", "defaults fill in");

    let put = |body: Value| call(&app.router, Method::PUT, path, Some(OPERATOR), Some(body));
    let refused = put(json!({"mode": "sandbox"})).await;
    let body = refused.refused(422, "invalid_settings");
    let problems: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(problems.len() >= 2, "every problem at once: {body}");
    assert!(
        problems.iter().any(|p| p.contains("api_key")) && problems.iter().any(|p| p.contains("mode")),
        "{body}"
    );

    let saved = put(json!({"api_key": "sk_live_123", "mode": "live"})).await.ok();
    assert_eq!(
        (saved["api_key"].as_str(), saved["mode"].as_str()),
        (Some("********"), Some("live"))
    );
    let read = get(&app.router, path).await;
    assert!(!read.text().contains("sk_live_123"), "a password is never sent back");
    assert_eq!(read.ok()["mode"], "live");
    let plugin_side = app.operator.plugin_settings("acme", "stripe").await.unwrap();
    assert_eq!(plugin_side["api_key"], "sk_live_123");
    // Sending the redacted value back keeps the secret.
    put(json!({"api_key": "********", "mode": "test"})).await.ok();
    assert_eq!(
        app.operator.plugin_settings("acme", "stripe").await.unwrap()["api_key"],
        "sk_live_123"
    );

    put(json!(["api_key"])).await.refused(422, "invalid_body");
    get(&app.router, "/tenants/nobody/plugins/stripe/settings")
        .await
        .refused(404, "unknown_tenant");
}

// ------------------------------------------------------------------ health and audit

#[tokio::test]
async fn health_reports_failures_across_tenants() {
    let app = app().await;
    let healthy = get(&app.router, "/health").await.ok();
    assert_eq!(
        (healthy["healthy"].as_bool(), &healthy["plugins"]),
        (Some(true), &json!([]))
    );
    enable(&app.router, "acme", "flaky", json!({})).await.ok();
    let health = get(&app.router, "/health").await.ok();
    assert_eq!(health["healthy"], false);
    let flaky = &health["plugins"][0];
    assert_eq!(
        (flaky["plugin"].as_str(), &flaky["affected_tenants"]),
        (Some("flaky"), &json!(["acme"]))
    );
    assert!(flaky["setup_failures"].as_u64().unwrap() >= 1);
    assert!(flaky["last_error"].as_str().unwrap().contains("tracking id"), "{flaky}");
}

#[tokio::test]
async fn the_audit_log_pages_and_verifies() {
    let app = app().await;
    enable(&app.router, "acme", "stripe", json!({})).await.ok();
    post(
        &app.router,
        "/tenants/acme/plugins/stripe/pin",
        json!({"version": "2.4.0"}),
    )
    .await
    .ok();
    let all = get(&app.router, "/audit").await.ok();
    let events = all["events"].as_array().unwrap();
    assert!(events.len() >= 3, "{all}");
    assert_eq!(events[0]["seq"], 1);
    assert_eq!(all["next_after"], events.last().unwrap()["seq"]);
    let last = events.last().unwrap();
    assert_eq!(last["entry"]["action"], "tenant.pin");
    assert_eq!(
        last["entry"]["actor"], "ops@example.com",
        "the token's actor is recorded"
    );
    assert!(events.iter().any(|e| e["entry"]["action"] == "tenant.enable"));
    assert!(last["body"].is_string() && last["hash"].is_string() && last["prev_hash"].is_string());

    let page = get(&app.router, "/audit?after=1&limit=2").await.ok();
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 3]);
    assert_eq!(page["next_after"], 3);
    let past = get(&app.router, "/audit?after=100000").await.ok();
    assert_eq!((&past["events"], &past["next_after"]), (&json!([]), &Value::Null));

    let verified = get(&app.router, "/audit/verify").await.ok();
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["events"].as_u64().unwrap(), events.len() as u64);
    assert_eq!(verified["head"], last["hash"]);
}

// ------------------------------------------------------------------ the panel

#[tokio::test]
async fn the_panel_is_embedded_and_served_with_a_strict_policy() {
    let app = app().await;
    let page = raw(
        &app.router,
        Request::get("/zelavis/super-admin/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the panel itself needs no token: its API calls do"
    );
    assert!(
        page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let html = page.text();
    assert!(html.contains("/zelavis/super-admin/panel.js") && html.contains("/zelavis/super-admin/panel.css"));
    assert!(html.contains("\"base\":\"/api/super-admin\""));
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "nothing inline for the policy to refuse"
    );
    assert!(!html.contains("https://"), "no CDN");

    for (file, kind) in [("panel.js", "text/javascript"), ("panel.css", "text/css")] {
        let asset = raw(
            &app.router,
            Request::get(format!("/zelavis/super-admin/{file}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(asset.status, StatusCode::OK, "{file}");
        assert!(
            asset.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind),
            "{file}"
        );
        assert_eq!(asset.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(!asset.body.is_empty());
    }
    let js = raw(
        &app.router,
        Request::get("/zelavis/super-admin/panel.js")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .text();
    assert!(
        js.contains("sessionStorage") && !js.contains("innerHTML"),
        "the token stays in the tab; texts are never parsed as HTML"
    );
    let bare = raw(
        &app.router,
        Request::get("/zelavis/super-admin").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(bare.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.headers[header::LOCATION], "/zelavis/super-admin/");
}

#[tokio::test]
async fn the_paths_are_configurable() {
    let app = app_with(SuperAdminOptions::new().base_path("/ops/api/").panel_path("ops/panel")).await;
    let request = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {VIEWER}"))
            .body(Body::empty())
            .unwrap()
    };
    raw(&app.router, request("/ops/api/plugins")).await.ok();
    let default = raw(&app.router, request("/api/super-admin/plugins")).await;
    assert_eq!(default.status, StatusCode::NOT_FOUND);
    let panel = raw(&app.router, request("/ops/panel/")).await;
    assert!(panel.text().contains("\"base\":\"/ops/api\""));

    let api_only = app_with(SuperAdminOptions::new().without_panel()).await;
    let none = raw(&api_only.router, request("/zelavis/super-admin/")).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    raw(&api_only.router, request("/api/super-admin/plugins")).await.ok();
}

#[tokio::test]
async fn it_merges_into_a_host_router() {
    let app = app().await;
    let host = Router::new()
        .route("/", axum::routing::get(|| async { "host" }))
        .route("/zelavis/{*rest}", axum::routing::get(|| async { "dashboard" }))
        .merge(app.router.clone());
    let panel = raw(
        &host,
        Request::get("/zelavis/super-admin/").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(
        panel.text().contains("panel.js"),
        "the panel's own route wins over a host's catch-all"
    );
    let other = raw(&host, Request::get("/zelavis/other").body(Body::empty()).unwrap()).await;
    assert_eq!(other.text(), "dashboard");
    let api = call(&host, Method::GET, "/tenants", Some(VIEWER), None).await.ok();
    assert_eq!(api["tenants"].as_array().unwrap().len(), 2);
}
