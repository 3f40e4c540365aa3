//! The reference dashboard host: the ecommerce plugins (payments children stripe and paypal, inventory,
//! shipping, discounts), a plugin whose setup fails, core services with menus on every surface, a catalog with
//! an entry of each source, and a loader with more plugins the Marketplace installs live.
//!
//! It also mounts the operator layer's super-admin API and Plugins panel (`/zelavis/super-admin/`) over two demo
//! tenants, `acme` (a publisher) and `globex`, four compiled-in plugins, and publishing: a demo signing key in the
//! keyring and a WebAssembly sandbox over the plugin cache, so a signed bundle uploaded in the panel really runs.
//!
//! Shared by `examples/dashboard/main.rs` and the browser tests (`tests/dashboard_browser.rs`,
//! `tests/operator_browser.rs`).

#![allow(dead_code, unreachable_pub, reason = "the example and the tests each use a part")]

use axum::Router;
use http::{Method, StatusCode};
use zelavis::prelude::*;
use zelavis::registry::catalog::Grants;
use zelavis::registry::runtime::RuntimeBuilder;
use zelavis::registry::store::memory::MemoryStore;
use zelavis::registry::store::postgres::PostgresStore;
use zelavis::registry::store::redis::RedisStore;
use zelavis::registry::store::sqlite::SqliteStore;
use zelavis_dashboard::DashboardOptions;
use zelavis_operator::keyring::{generate_signing_key, signing_key_from_pem, signing_key_to_pem, verifying_key_to_pem};
use zelavis_operator::prelude::{
    Actor, BuiltinReleases, CatalogSource, FixedLicenses, HostError, KeyEntry, Keyring, License, LocalTenants,
    MARKETPLACE_PUBLISHER, MemoryOperatorStore, Operator, OperatorError, OperatorStore, PluginSpec,
    PostgresOperatorStore, ReleaseSource, Role, RolloutState, SqliteOperatorStore, StaticTokens, TenantSpec, Timestamp,
};
use zelavis_operator::wasm::WasmSandbox;
use zelavis_wasm::WasmLoader;

#[path = "pages.rs"]
mod pages;

/// Where the host keeps its install state.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    /// An SQLite file (the default: `.zelavis/dashboard.db`).
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL server (`postgres://…` or `host=… user=…`): several dashboards on it converge.
    Postgres(String),
    /// A PostgreSQL server, in a schema of its own (tests).
    PostgresIn {
        /// The connection string.
        url: String,
        /// The schema.
        schema: String,
    },
    /// A Redis server (`redis://…`).
    Redis(String),
    /// Memory only (tests).
    Memory(MemoryStore),
}

impl StoreChoice {
    /// Reads `--store`: `postgres://…`, `redis://…`, `sqlite:<path>` or a path; `None`: the default file.
    pub fn parse(arg: Option<&str>) -> Self {
        match arg {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                StoreChoice::Postgres(url.to_owned())
            }
            Some(url) if url.starts_with("redis://") => StoreChoice::Redis(url.to_owned()),
            Some(path) => StoreChoice::Sqlite(path.strip_prefix("sqlite:").unwrap_or(path).into()),
            None => StoreChoice::Sqlite(".zelavis/dashboard.db".into()),
        }
    }
}

/// A started host: its runtime and the router to serve.
pub struct Host {
    /// The live runtime.
    pub runtime: Runtime,
    /// The dashboard and the host's own routes.
    pub router: Router,
    /// What the store is, for people.
    pub store: String,
    /// The operator layer behind the super-admin panel.
    pub operator: Operator,
    /// What the operator layer's store is, for people.
    pub operator_store: String,
    /// A fresh owner token for the super-admin panel (printed at start-up).
    pub owner_token: String,
    /// The demo publishing key (its kid is printed at start-up).
    pub publisher: DemoPublisher,
    /// The plugin cache published WebAssembly plugins are accepted into.
    pub plugins_dir: std::path::PathBuf,
    /// The temporary directory of a memory-only host, removed with it.
    _scratch: Option<tempfile::TempDir>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Starts the host on `store`, under `scope`.
///
/// The operator layer persists beside the dashboard: with SQLite in `operator.db` next to the dashboard's file
/// (`.zelavis/operator.db` by default), with PostgreSQL on the same server; the tenants' runtimes are scopes of
/// the dashboard's own store. Published plugins go to `plugins/` in the same directory, the demo publishing key
/// to `keys/`. With [`StoreChoice::Memory`] everything is in memory and a temporary directory (tests).
pub async fn start(store: StoreChoice, scope: Scope) -> Result<Host, BoxError> {
    let registry = PluginRegistry::new([
        RegistryEntry::installed(ecommerce()?)
            .order(10)
            .source(Source::Official)
            .specifier("@zelavis/ecommerce"),
        RegistryEntry::installed(provider("stripe", "Stripe")?).source(Source::Official),
        RegistryEntry::installed(provider("paypal", "PayPal")?).source(Source::Community),
        RegistryEntry::installed(inventory()?).order(20).source(Source::BuiltIn),
        RegistryEntry::installed(shipping()?).order(30).source(Source::BuiltIn),
        RegistryEntry::installed(discounts()?)
            .order(40)
            .source(Source::Community),
        RegistryEntry::installed(analytics()?).order(50).source(Source::Premium),
    ])?;
    let builder = Runtime::builder(registry);
    let follow = |builder: RuntimeBuilder| builder.follow().poll_every(std::time::Duration::from_secs(2));
    let mut scratch = None;
    let (runtime, described, operator) = match store {
        StoreChoice::Sqlite(path) => {
            let dir = data_dir(&path);
            std::fs::create_dir_all(&dir)?;
            let store = SqliteStore::open(&path)?;
            let described = store.describe();
            let tenants = LocalTenants::new(store.clone(), HOST_ID);
            let runtime = builder.store(store, scope).start().await?.0;
            let operator_store = SqliteOperatorStore::open(dir.join("operator.db"))?;
            (runtime, described, super_admin(operator_store, tenants, &dir).await?)
        }
        StoreChoice::Postgres(url) => {
            let store = PostgresStore::connect(&url).await?;
            let described = store.describe();
            let tenants = LocalTenants::new(store.clone(), HOST_ID);
            let runtime = follow(builder.store(store, scope)).start().await?.0;
            let operator_store = PostgresOperatorStore::connect(&url).await?;
            let dir = std::path::PathBuf::from(DATA_DIR);
            (runtime, described, super_admin(operator_store, tenants, &dir).await?)
        }
        StoreChoice::PostgresIn { url, schema } => {
            let store = PostgresStore::connect_in_schema(&url, &schema).await?;
            let described = store.describe();
            let tenants = LocalTenants::new(store.clone(), HOST_ID);
            let runtime = follow(builder.store(store, scope)).start().await?.0;
            let operator_store = PostgresOperatorStore::connect_with(&url, &schema).await?;
            let dir = scratch.insert(tempfile::tempdir()?).path().to_owned();
            (runtime, described, super_admin(operator_store, tenants, &dir).await?)
        }
        StoreChoice::Redis(url) => {
            let store = RedisStore::connect(&url, "zelavis-dashboard").await?;
            let described = store.describe();
            let tenants = LocalTenants::new(store.clone(), HOST_ID);
            let runtime = follow(builder.store(store, scope)).start().await?.0;
            // No operator store on Redis: the operator layer keeps its own state in SQLite beside.
            let dir = std::path::PathBuf::from(DATA_DIR);
            std::fs::create_dir_all(&dir)?;
            let operator_store = SqliteOperatorStore::open(dir.join("operator.db"))?;
            (runtime, described, super_admin(operator_store, tenants, &dir).await?)
        }
        StoreChoice::Memory(store) => {
            let described = store.describe();
            let tenants = LocalTenants::new(store.clone(), HOST_ID);
            let runtime = builder.store(store, scope).follow().start().await?.0;
            let dir = scratch.insert(tempfile::tempdir()?).path().to_owned();
            (
                runtime,
                described,
                super_admin(MemoryOperatorStore::new(), tenants, &dir).await?,
            )
        }
    };
    let options = options()?;
    let owner_token = session_token();
    let tokens = StaticTokens::new().token(owner_token.clone(), Actor::new("owner@northwind.example", Role::Owner));
    let router = zelavis_dashboard::router(runtime.clone(), options)
        .merge(zelavis_operator::http::router(operator.operator.clone(), tokens))
        .route(
            "/",
            axum::routing::get(|| async { axum::response::Redirect::temporary("/zelavis/") }),
        )
        .layer(axum::middleware::from_fn(session));
    Ok(Host {
        runtime,
        router,
        store: described,
        operator_store: operator.operator.store().describe(),
        operator: operator.operator,
        owner_token,
        publisher: operator.publisher,
        plugins_dir: operator.plugins_dir,
        _scratch: scratch,
    })
}

/// This host's id in the operator layer's health records.
const HOST_ID: &str = "reference-host";
/// Where the host keeps its files when its store is on a server.
const DATA_DIR: &str = ".zelavis";
/// The demo publishing key's id.
pub const DEMO_KID: &str = "northwind-demo";
/// The tenant that may publish plugins (its license has `marketplace_publisher`).
pub const PUBLISHER_TENANT: &str = "acme";

/// The directory beside an SQLite file (`.zelavis` for `.zelavis/dashboard.db`).
fn data_dir(path: &std::path::Path) -> std::path::PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => std::path::PathBuf::from("."),
    }
}

/// The demo publishing key: the keyring of the host's operator layer holds its public half.
#[derive(Clone)]
pub struct DemoPublisher {
    /// The key id, as release records name it.
    pub kid: String,
    /// The private key, PKCS#8 PEM (a secret: it signs releases the host trusts).
    pub key_pem: String,
    /// Where the private key is (`<dir>/keys/<kid>.key.pem`, mode 0600), for `zelavis bundle sign --key`.
    pub key_file: std::path::PathBuf,
    /// The keyring with its public half (`<dir>/keyring.json`), for `zelavis bundle verify --keyring`.
    pub keyring_file: std::path::PathBuf,
}

impl std::fmt::Debug for DemoPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoPublisher")
            .field("kid", &self.kid)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

/// Reads the demo publishing key from `dir/keys/`, or generates it there on the first start (so a second run
/// trusts what the first one published), and writes the keyring with its public half beside.
fn demo_publisher(dir: &std::path::Path) -> Result<(DemoPublisher, Keyring), BoxError> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys)?;
    let key_file = keys.join(format!("{DEMO_KID}.key.pem"));
    let key = if key_file.exists() {
        signing_key_from_pem(&std::fs::read_to_string(&key_file)?)?
    } else {
        let key = generate_signing_key()?;
        write_secret(&key_file, signing_key_to_pem(&key)?.as_bytes())?;
        std::fs::write(
            keys.join(format!("{DEMO_KID}.pub.pem")),
            verifying_key_to_pem(&key.verifying_key())?,
        )?;
        key
    };
    let mut keyring = Keyring::new();
    // Valid from 2025 on: any release the demo signs now is inside its window.
    keyring.insert(KeyEntry::new(
        DEMO_KID,
        key.verifying_key(),
        Timestamp::from_secs(1_735_689_600),
    ));
    let keyring_file = dir.join("keyring.json");
    std::fs::write(&keyring_file, keyring.to_json()?)?;
    let publisher = DemoPublisher {
        kid: DEMO_KID.to_owned(),
        key_pem: signing_key_to_pem(&key)?,
        key_file,
        keyring_file,
    };
    Ok((publisher, keyring))
}

fn write_secret(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// Where the reference host's releases come from: the compiled-in plugins, then the published WebAssembly ones
/// (accepted into the plugin cache by the sandbox).
struct HostReleases {
    builtin: BuiltinReleases,
    published: WasmSandbox,
}

#[async_trait::async_trait]
impl ReleaseSource for HostReleases {
    async fn load(&self, plugin: &Name, version: &semver::Version) -> Result<PluginDef, HostError> {
        match self.builtin.load(plugin, version).await {
            Ok(def) => Ok(def),
            Err(_) => self.published.load(plugin, version).await,
        }
    }
}

/// The host's operator layer and what goes with it.
struct SuperAdmin {
    operator: Operator,
    publisher: DemoPublisher,
    plugins_dir: std::path::PathBuf,
}

/// The compiled-in plugins of the operator layer's catalog: `discounts` (Built-in, 1.0.0 and 1.1.0), `crm`
/// (Premium, tier pro, retail), `helpdesk` (Premium, tier growth) and `analytics` (Premium, tier pro; its setup
/// fails, so enabling it shows in health).
fn builtin_plugins() -> Result<Vec<(PluginDef, PluginSpec)>, BoxError> {
    let discounts_v1 = PluginDef::builder("discounts")
        .version("1.0.0")
        .description("Percentage price rules.")
        .build()?;
    let builtin = || PluginSpec::new(CatalogSource::BuiltIn, "Northwind").title("Discounts");
    Ok(vec![
        (discounts_v1, builtin()),
        (discounts()?, builtin()),
        (
            crm()?,
            PluginSpec::new(CatalogSource::Premium, "Zelavis")
                .title("CRM")
                .tier_minimum("pro")
                .niche("retail"),
        ),
        (
            helpdesk()?,
            PluginSpec::new(CatalogSource::Premium, "Acme Support")
                .title("Help desk")
                .tier_minimum("growth"),
        ),
        (
            analytics()?,
            PluginSpec::new(CatalogSource::Premium, "Zelavis")
                .title("Analytics")
                .tier_minimum("pro"),
        ),
    ])
}

/// The operator layer on `store`: the [compiled-in plugins](builtin_plugins); tenants `acme` (pro, retail,
/// canary, and a publisher: `marketplace_publisher`) and `globex` (starter, restaurants) with fixed licenses; the
/// demo publishing key; a WebAssembly sandbox over `dir/plugins`. Idempotent: a second start on the same store
/// registers and creates nothing twice, brings every tenant's runtime back in line with its grants, and
/// continues interrupted publications.
async fn super_admin(
    store: impl OperatorStore,
    tenants: LocalTenants,
    dir: &std::path::Path,
) -> Result<SuperAdmin, BoxError> {
    let plugins = builtin_plugins()?;
    let mut builtin_releases = BuiltinReleases::new();
    for (def, _) in &plugins {
        builtin_releases = builtin_releases.with(def.clone());
    }
    let licensed = |plugins: &[&str], tier: &str, features: &[&str]| License {
        licensed_plugins: plugins.iter().map(|p| (*p).to_owned()).collect(),
        tier: tier.to_owned(),
        features: features.iter().map(|f| (*f).to_owned()).collect(),
        ..License::default()
    };
    let licenses = FixedLicenses::new()
        .grant(
            PUBLISHER_TENANT,
            licensed(
                &["discounts", "crm", "helpdesk", "analytics"],
                "pro",
                &[MARKETPLACE_PUBLISHER],
            ),
        )
        .grant("globex", licensed(&["discounts"], "starter", &[]));
    let (publisher, keyring) = demo_publisher(dir)?;
    let plugins_dir = dir.join("plugins");
    std::fs::create_dir_all(&plugins_dir)?;
    let sandbox = WasmSandbox::new(WasmLoader::new(&plugins_dir));
    let operator = Operator::builder(store)
        .licenses(licenses)
        .tenants(tenants)
        .keyring(keyring)
        .sandbox(sandbox.clone())
        .releases(HostReleases {
            builtin: builtin_releases,
            published: sandbox,
        })
        .build();
    let setup = Actor::system("reference-host");
    for (def, spec) in plugins {
        operator.register_builtin(&setup, &def, spec).await?;
    }
    let specs = [
        TenantSpec::new(Name::parse(PUBLISHER_TENANT)?, "pro", "retail").canary(true),
        TenantSpec::new(Name::parse("globex")?, "starter", "restaurants"),
    ];
    for spec in specs {
        match operator.create_tenant(&setup, spec).await {
            Ok(_) | Err(OperatorError::AlreadyExists { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    catch_up(&operator, &setup).await?;
    keep_in_step(operator.clone());
    Ok(SuperAdmin {
        operator,
        publisher,
        plugins_dir,
    })
}

/// What a second start does: every tenant's runtime comes back with its grants, and a publication the last run
/// was killed in (uploaded or verified) goes on. A tenant or a publication that fails is reported, not fatal.
async fn catch_up(operator: &Operator, setup: &Actor) -> Result<(), BoxError> {
    for tenant in operator.tenants(setup).await? {
        if let Err(error) = operator.sync_tenant(tenant.id.as_str()).await {
            eprintln!(
                "warning: tenant {}'s runtime did not come back in line with its grants: {error}",
                tenant.id
            );
        }
    }
    for rollout in operator.rollouts(setup, true).await? {
        if matches!(rollout.state, RolloutState::Uploaded | RolloutState::Verified)
            && let Err(error) = operator
                .resume_rollout(setup, rollout.plugin.as_str(), &rollout.version)
                .await
        {
            eprintln!(
                "warning: the interrupted publication of {}@{} did not go on: {error}",
                rollout.plugin, rollout.version
            );
        }
    }
    Ok(())
}

/// How often this host applies what other hosts' operators decided (a promotion, a pin, a kill switch).
const OPERATOR_SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Several dashboards on one PostgreSQL share one operator store: each applies the others' decisions to the
/// tenant runtimes it runs, every [`OPERATOR_SYNC_EVERY`]. A sync that fails is logged and tried again.
fn keep_in_step(operator: Operator) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(OPERATOR_SYNC_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(error) = operator.sync_running().await {
                eprintln!("warning: the operators' decisions could not be applied on this host: {error}");
            }
        }
    });
}

/// The dashboard's options: title, catalog, loader and the core services, with menus on every surface.
fn options() -> Result<DashboardOptions, BoxError> {
    Ok(DashboardOptions::new()
        .title("Northwind Commerce")
        .catalog(catalog()?)
        .loader(loader())
        .core_service(core_service(
            "search",
            Menu::new("Search")
                .path("/search")
                .surface(Surface::Root)
                .page(search_page()),
        )?)
        .core_service(core_service(
            "users",
            Menu::new("Users & roles")
                .path("/core/users")
                .surface(Surface::Core)
                .page(users_page()),
        )?)
        .core_service(core_service(
            "audit-log",
            Menu::new("Audit log").path("/core/audit").page(audit_page()),
        )?)
        .core_service(core_service(
            "files",
            Menu::new("Files")
                .path("/files")
                .surface(Surface::Workspace)
                .page(files_page()),
        )?)
        .core_service(core_service(
            "billing",
            Menu::new("Billing")
                .path("/settings/billing")
                .surface(Surface::Settings)
                .page(billing_page())
                .item(
                    Menu::new("Invoices")
                        .path("/settings/billing/invoices")
                        .page(invoices_page()),
                ),
        )?)
        .core_service(core_service(
            "general",
            Menu::new("General")
                .path("/settings/general")
                .surface(Surface::Settings)
                .page(general_page()),
        )?))
}

/// The host's session: an `HttpOnly`, `SameSite=Strict` cookie the shell's requests carry and plugin pages
/// never see.
async fn session(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let has = request
        .headers()
        .get(http::header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.split(';').any(|p| p.trim().starts_with("zelavis_session=")));
    let mut response = next.run(request).await;
    if !has {
        let token = session_token();
        if let Ok(value) =
            http::HeaderValue::from_str(&format!("zelavis_session={token}; Path=/; HttpOnly; SameSite=Strict"))
        {
            response.headers_mut().append(http::header::SET_COOKIE, value);
        }
    }
    response
}

fn session_token() -> String {
    use std::fmt::Write as _;
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for _ in 0..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let _ = write!(out, "{:016x}", hasher.finish());
    }
    out
}

fn core_service(name: &str, menu: Menu) -> Result<ServiceDef, BoxError> {
    Ok(ServiceDef::new(Name::parse(name)?).menu(menu))
}

// ------------------------------------------------------------------ plugins

/// What the shop hands its payment providers.
#[derive(Debug, Default, Clone)]
pub struct PaymentsApi {
    /// Provider names, in the order they attached.
    pub providers: Vec<String>,
}

/// The shop's extension point for payment providers.
pub const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("zelavis-ecommerce", "payments");
/// The providers that attached.
pub const PAYMENT_PROVIDERS: ServiceRef<PaymentsApi> = ServiceRef::new("payment-providers");

fn json(status: StatusCode, value: &serde_json::Value) -> Result<RouteResponse, String> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(value.to_string().into_bytes())
        .map_err(|e| e.to_string())
}

fn orders() -> serde_json::Value {
    serde_json::json!([
        { "id": "NW-1042", "customer": "Ada Lovelace", "total": "€184.00", "status": "Paid", "placed": "Today, 09:12" },
        { "id": "NW-1041", "customer": "Grace Hopper", "total": "€62.50", "status": "Shipped", "placed": "Today, 08:47" },
        { "id": "NW-1040", "customer": "Alan Turing", "total": "€1,240.00", "status": "Paid", "placed": "Yesterday" },
        { "id": "NW-1039", "customer": "Katherine Johnson", "total": "€19.90", "status": "Refunded", "placed": "Yesterday" },
        { "id": "NW-1038", "customer": "Edsger Dijkstra", "total": "€312.00", "status": "Shipped", "placed": "2 days ago" },
        { "id": "NW-1037", "customer": "Barbara Liskov", "total": "€88.00", "status": "Paid", "placed": "3 days ago" }
    ])
}

/// The shop: orders, customers, payments, with an extension point for payment providers.
pub fn ecommerce() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("zelavis-ecommerce")
        .version("1.4.0")
        .description("Orders, customers and payments for the storefront.")
        .extension_point(PAYMENTS.declare().policy(Policy::Reviewed).allow_all(["stripe", "paypal"]))
        .menu(
            Menu::new("Ecommerce")
                .path("/ecommerce")
                .page(Page::new("dashboard", "Ecommerce", |_| shop_dashboard()))
                .item(Menu::new("Orders").path("/ecommerce/orders").page(Page::new("orders", "Orders", |_| orders_page())))
                .item(
                    Menu::new("Customers")
                        .path("/ecommerce/customers")
                        .page(Page::new("customers", "Customers", |_| customers_page())),
                )
                .item(
                    Menu::new("Settings")
                        .item(Menu::new("Payments").path("/ecommerce/settings/payments").page(Page::new("payments", "Payments", |_| payments_page())))
                        .item(Menu::new("Taxes").path("/ecommerce/settings/taxes").page(Page::new("taxes", "Taxes", |_| {
                            pages::document("Taxes", "<h1>Taxes</h1><p class=\"lead\">VAT is included in every price. Rates follow the customer's country.</p>", "")
                        }))),
                ),
        )
        .permissions([Permission::ServicesRegister, Permission::RoutesRegister])
        .setup_async(|cx| async move {
            let mut payments = PaymentsApi::default();
            cx.extend(&PAYMENTS, &mut payments).await?;
            let providers = payments.providers.clone();
            cx.provide(&PAYMENT_PROVIDERS, payments)?;
            cx.register_route(Route::new(Method::GET, "/orders", |_| async { json(StatusCode::OK, &orders()) })?)?;
            cx.register_route(Route::new(Method::GET, "/providers", move |_| {
                let providers = providers.clone();
                async move { json(StatusCode::OK, &serde_json::json!(providers)) }
            })?)?;
            cx.register_route(Route::new(Method::GET, "/session", |request: RouteRequest| async move {
                let session = request
                    .headers()
                    .get(http::header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|c| c.contains("zelavis_session="));
                json(StatusCode::OK, &serde_json::json!({ "session": session, "user": "demo@northwind.example" }))
            })?)?;
            Ok(())
        })
        .build()
}

/// A payment provider: a child of the shop.
pub fn provider(name: &'static str, title: &'static str) -> Result<PluginDef, DefinitionError> {
    PluginDef::builder(name)
        .version("1.0.0")
        .description(format!("{title} payments for the storefront."))
        .extends(PAYMENTS.with_setup(move |api, _| {
            api.providers.push(title.to_owned());
            Ok(())
        }))
        .build()
}

/// Stock levels; depends on the shop.
pub fn inventory() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("inventory")
        .version("2.1.0")
        .description("Stock levels and reorder points.")
        .dependency("zelavis-ecommerce", Some("^1.2"))
        .menu(
            Menu::new("Inventory")
                .path("/inventory")
                .page(Page::new("stock", "Stock", |_| stock_page())),
        )
        .permission(Permission::RoutesRegister)
        .setup(|cx| {
            cx.register_route(Route::new(Method::GET, "/stock", |_| async {
                json(
                    StatusCode::OK,
                    &serde_json::json!([
                        { "sku": "NW-TEA-01", "name": "Assam tea, 250 g", "stock": 132, "reorder": 40 },
                        { "sku": "NW-MUG-02", "name": "Stoneware mug", "stock": 18, "reorder": 25 },
                        { "sku": "NW-KTL-03", "name": "Gooseneck kettle", "stock": 7, "reorder": 10 },
                        { "sku": "NW-FLT-04", "name": "Paper filters (100)", "stock": 420, "reorder": 100 }
                    ]),
                )
            })?)
        })
        .build()
}

/// Labels for placed orders; depends on inventory. No pages of its own.
pub fn shipping() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("shipping")
        .version("1.0.0")
        .description("Prints shipping labels when orders are placed.")
        .dependency("inventory", Some(">=2"))
        .build()
}

/// Price rules. No pages of its own.
pub fn discounts() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("discounts")
        .version("1.1.0")
        .description("Percentage and fixed-amount price rules.")
        .build()
}

/// A plugin whose setup fails: the dashboard lists it as installed, not running.
pub fn analytics() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("analytics")
        .version("0.9.0")
        .description("Traffic and conversion dashboards.")
        .menu(
            Menu::new("Analytics")
                .path("/analytics")
                .page(Page::new("home", "Analytics", |_| "<h1>Analytics</h1>")),
        )
        .setup(|_| Err(SetupError::from("no tracking id configured: set ANALYTICS_TRACKING_ID")))
        .build()
}

/// A CRM the Marketplace installs live.
pub fn crm() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("crm")
        .version("3.0.1")
        .description("Contacts, companies and deals.")
        .menu(
            Menu::new("CRM")
                .path("/crm")
                .page(Page::new("contacts", "Contacts", |_| contacts_page()))
                .item(
                    Menu::new("Deals")
                        .path("/crm/deals")
                        .page(Page::new("deals", "Deals", |_| {
                            pages::document(
                                "Deals",
                                "<h1>Deals</h1><p class=\"lead\">3 open deals worth €48,200.</p>",
                                "",
                            )
                        })),
                ),
        )
        .permission(Permission::RoutesRegister)
        .setup(|cx| {
            cx.register_route(Route::new(Method::GET, "/contacts", |_| async {
                json(
                    StatusCode::OK,
                    &serde_json::json!([{ "name": "Margaret Hamilton", "company": "Apollo" }]),
                )
            })?)
        })
        .build()
}

/// A blog the Marketplace installs live.
pub fn blog() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("blog")
        .version("1.2.0")
        .description("Posts and pages for the storefront.")
        .menu(Menu::new("Blog").path("/blog").page(Page::new("posts", "Posts", |_| {
            pages::document(
                "Posts",
                "<h1>Posts</h1><p class=\"lead\">Write, schedule and publish posts.</p>",
                "",
            )
        })))
        .build()
}

/// A help desk the Marketplace installs live.
pub fn helpdesk() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("helpdesk")
        .version("0.4.0")
        .description("Customer tickets and replies.")
        .menu(
            Menu::new("Help desk")
                .path("/helpdesk")
                .page(Page::new("tickets", "Tickets", |_| {
                    pages::document(
                        "Tickets",
                        "<h1>Tickets</h1><p class=\"lead\">No open tickets. Nice.</p>",
                        "",
                    )
                })),
        )
        .build()
}

/// Every plugin this host can load, by specifier (so other hosts' installs can be taken too).
pub fn loader() -> StaticLoader {
    StaticLoader::new()
        .with("@zelavis/ecommerce", ecommerce)
        .with("@zelavis/crm", crm)
        .with("blog", blog)
        .with("@acme/helpdesk", helpdesk)
        .with("inventory", inventory)
        .with("shipping", shipping)
        .with("discounts", discounts)
        .with("analytics", analytics)
        .with("stripe", || provider("stripe", "Stripe"))
        .with("paypal", || provider("paypal", "PayPal"))
}

/// The Marketplace catalog: an entry of each source, one blocked, one deprecated, one not loadable here.
pub fn catalog() -> Result<Catalog, BoxError> {
    let n = |s: &str| Name::parse(s);
    let v = |s: &str| semver::Version::parse(s);
    let entries = [
        CatalogEntry::new(n("zelavis-ecommerce")?, Source::Official)
            .title("Ecommerce")
            .publisher("Zelavis")
            .summary("Orders, customers and payments, with an extension point for payment providers.")
            .versions([v("1.3.0")?, v("1.4.0")?])
            .tag("commerce"),
        CatalogEntry::new(n("stripe")?, Source::Official)
            .title("Stripe")
            .publisher("Zelavis")
            .summary("Card payments through Stripe. Extends Ecommerce.")
            .version(v("1.0.0")?),
        CatalogEntry::new(n("paypal")?, Source::Community)
            .title("PayPal")
            .publisher("Open Payments Collective")
            .summary("PayPal checkout for the storefront. Extends Ecommerce.")
            .version(v("1.0.0")?)
            .verified(true),
        CatalogEntry::new(n("inventory")?, Source::BuiltIn)
            .title("Inventory")
            .publisher("Northwind")
            .summary("Stock levels and reorder points for every SKU.")
            .version(v("2.1.0")?),
        CatalogEntry::new(n("crm")?, Source::Official)
            .specifier("@zelavis/crm")
            .title("CRM")
            .publisher("Zelavis")
            .summary("Contacts, companies and deals, linked to orders.")
            .version(v("3.0.1")?),
        CatalogEntry::new(n("blog")?, Source::Community)
            .title("Blog")
            .publisher("Inkwell")
            .summary("Posts and pages for the storefront, with scheduling.")
            .version(v("1.2.0")?),
        CatalogEntry::new(n("helpdesk")?, Source::Premium)
            .specifier("@acme/helpdesk")
            .title("Help desk")
            .publisher("Acme Support")
            .summary("Customer tickets, canned replies and SLAs.")
            .version(v("0.4.0")?)
            .tier_minimum("Growth"),
        CatalogEntry::new(n("analytics")?, Source::Premium)
            .title("Analytics")
            .publisher("Zelavis")
            .summary("Traffic and conversion dashboards.")
            .version(v("0.9.0")?)
            .tier_minimum("Pro"),
        CatalogEntry::new(n("erp-connector")?, Source::Private)
            .title("ERP connector")
            .publisher("Northwind IT")
            .summary("Syncs orders to the in-house ERP. Deployed on the production hosts only.")
            .version(v("5.2.0")?),
        CatalogEntry::new(n("legacy-reports")?, Source::Private)
            .title("Legacy reports")
            .publisher("Northwind IT")
            .summary("The old monthly PDF reports.")
            .version(v("0.3.0")?)
            .deprecated("replaced by Analytics"),
        CatalogEntry::new(n("coin-miner")?, Source::Community)
            .title("Free speed booster")
            .publisher("unknown")
            .summary("Claims to make the storefront faster.")
            .review(ReviewStatus::Blocked),
    ];
    Ok(Catalog::with_grants(entries, &Grants::new().verified(n("paypal")?))?)
}

// ------------------------------------------------------------------ pages

fn shop_dashboard() -> String {
    pages::document(
        "Ecommerce",
        r#"<h1>Ecommerce</h1><p class="lead">Today at the Northwind store.</p>
<div class="grid">
  <div class="stat"><b>€1,486.50</b><span>Revenue today</span></div>
  <div class="stat"><b>14</b><span>Orders today</span></div>
  <div class="stat"><b>3.2%</b><span>Conversion</span></div>
  <div class="stat"><b id="providers">…</b><span>Payment providers</span></div>
</div>
<div class="actions"><button class="primary" id="open-orders">Open orders</button><button id="open-customers">Customers</button></div>"#,
        r"
  page.$('#open-orders').onclick = () => zelavis.nav.go('/ecommerce/orders');
  page.$('#open-customers').onclick = () => zelavis.nav.go('/ecommerce/customers');
  zelavis.api.json('/providers').then((p) => { page.$('#providers').textContent = p.join(', ') || 'none'; });
",
    )
}

fn orders_page() -> String {
    pages::document(
        "Orders",
        r#"<div class="row"><div><h1>Orders</h1><p class="lead" style="margin:0">Recent orders across every channel.</p></div>
<div class="actions"><button id="notify">Notify warehouse</button><button class="primary" id="customers">View customers</button></div></div>
<div class="panel"><table><thead><tr><th>Order</th><th>Customer</th><th>Placed</th><th>Status</th><th>Total</th></tr></thead><tbody id="orders"><tr><td colspan="5" class="muted">Loading…</td></tr></tbody></table></div>"#,
        r"
  const tone = { Paid: 'ok', Shipped: '', Refunded: 'warn' };
  zelavis.api.json('/orders').then((orders) => {
    const body = page.$('#orders');
    body.replaceChildren();
    for (const o of orders) {
      const tr = page.el('tr');
      tr.append(page.el('td', o.id), page.el('td', o.customer), page.el('td', o.placed));
      const st = page.el('td'); st.append(page.el('span', o.status, 'pill ' + (tone[o.status] || ''))); tr.append(st);
      tr.append(page.el('td', o.total));
      body.append(tr);
    }
    zelavis.nav.setTitle('Orders (' + orders.length + ')');
  });
  page.$('#notify').onclick = () => zelavis.toast.show('Warehouse notified about 2 paid orders', 'success');
  page.$('#customers').onclick = () => zelavis.nav.go('/ecommerce/customers');
",
    )
}

fn customers_page() -> String {
    pages::document(
        "Customers",
        r#"<h1>Customers</h1><p class="lead">1,284 customers, 38 new this week.</p>
<div class="panel"><table><thead><tr><th>Name</th><th>Orders</th><th>Lifetime value</th></tr></thead><tbody>
<tr><td>Ada Lovelace</td><td>12</td><td>€2,140.00</td></tr><tr><td>Grace Hopper</td><td>7</td><td>€640.50</td></tr>
<tr><td>Alan Turing</td><td>4</td><td>€1,980.00</td></tr></tbody></table></div>"#,
        "",
    )
}

fn payments_page() -> String {
    pages::document(
        "Payments",
        r#"<h1>Payments</h1><p class="lead">Providers that extend the shop's <code>payments</code> point.</p><div class="panel"><table><tbody id="list"></tbody></table></div>"#,
        r"
  zelavis.api.json('/providers').then((providers) => {
    for (const p of providers) { const tr = page.el('tr'); tr.append(page.el('td', p)); const s = page.el('td'); s.append(page.el('span', 'Active', 'pill ok')); tr.append(s); page.$('#list').append(tr); }
    if (!providers.length) page.$('#list').append(page.el('tr', 'No provider is enabled.'));
  });
",
    )
}

fn stock_page() -> String {
    pages::document(
        "Stock",
        r#"<h1>Stock</h1><p class="lead">Items below their reorder point are flagged.</p>
<div class="panel"><table><thead><tr><th>SKU</th><th>Item</th><th>In stock</th><th></th></tr></thead><tbody id="stock"></tbody></table></div>"#,
        r"
  zelavis.api.json('/stock').then((items) => {
    for (const i of items) {
      const tr = page.el('tr');
      tr.append(page.el('td', i.sku), page.el('td', i.name), page.el('td', String(i.stock)));
      const f = page.el('td'); if (i.stock < i.reorder) f.append(page.el('span', 'Reorder', 'pill warn')); tr.append(f);
      page.$('#stock').append(tr);
    }
  });
",
    )
}

fn contacts_page() -> String {
    pages::document(
        "Contacts",
        r#"<h1>Contacts</h1><p class="lead">People you sell to.</p><div class="panel"><table><tbody id="contacts"></tbody></table></div>"#,
        r"
  zelavis.api.json('/contacts').then((list) => { for (const c of list) { const tr = page.el('tr'); tr.append(page.el('td', c.name), page.el('td', c.company)); page.$('#contacts').append(tr); } });
",
    )
}

fn simple(id: &'static str, title: &'static str, body: &'static str) -> Page {
    Page::new(id, title, move |_| pages::document(title, body, ""))
}

fn search_page() -> Page {
    simple(
        "search",
        "Search",
        "<h1>Search</h1><p class=\"lead\">Search orders, customers and products.</p>",
    )
}

fn users_page() -> Page {
    simple(
        "users",
        "Users & roles",
        "<h1>Users &amp; roles</h1><p class=\"lead\">4 people have access to this workspace.</p>\
         <div class=\"panel\"><table><tbody><tr><td>demo@northwind.example</td><td><span class=\"pill\">Owner</span></td></tr>\
         <tr><td>ops@northwind.example</td><td><span class=\"pill\">Admin</span></td></tr></tbody></table></div>",
    )
}

fn audit_page() -> Page {
    simple(
        "audit",
        "Audit log",
        "<h1>Audit log</h1><p class=\"lead\">Every install, enable and disable, with who did it.</p>",
    )
}

fn files_page() -> Page {
    simple(
        "files",
        "Files",
        "<h1>Files</h1><p class=\"lead\">Product images and documents.</p>",
    )
}

fn billing_page() -> Page {
    simple(
        "plan",
        "Billing",
        "<h1>Billing</h1><p class=\"lead\">Growth plan, billed monthly.</p>",
    )
}

fn invoices_page() -> Page {
    simple(
        "invoices",
        "Invoices",
        "<h1>Invoices</h1><p class=\"lead\">No unpaid invoices.</p>",
    )
}

fn general_page() -> Page {
    simple(
        "general",
        "General",
        "<h1>General</h1><p class=\"lead\">Workspace name, time zone and currency.</p>",
    )
}

/// The host's session cookie name.
pub const SESSION_COOKIE: &str = "zelavis_session";
