//! A host that installs WebAssembly plugins at run time: the native shop starts alone, then the two example
//! guests (built by `.ci/guests`) are uploaded as `.wasm` bytes — a payment provider that extends the shop's data
//! API, and a plugin with a Workspace page and a price filter — and run sandboxed: hooks, a route, a page, a
//! filter, a key/value space, settings, limits and health. Finally the provider is uninstalled and its code is
//! dropped.
//!
//! ```sh
//! .ci/guests                                   # build the guests (Debian's toolchain; or ZELAVIS_GUEST_CARGO=cargo)
//! cargo run --example wasm-plugin --features wasm
//! cargo run --example wasm-plugin --features wasm -- path/to/your_plugin.wasm   # upload your own too
//! ```
//!
//! Uploaded modules are cached under `.zelavis/plugins/<plugin>/<version>/plugin.wasm`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use zelavis::plugin::data::Data;
use zelavis::prelude::*;
use zelavis::wasm::{DEFAULT_CACHE_DIR, WasmController, WasmLoader};

/// The shop's payments API: data, so WebAssembly children can extend it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PaymentsApi {
    /// Provider names, in the order they attached.
    pub providers: Vec<String>,
}

/// The shop's payments extension point, declared as data.
pub const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::data("zelavis-ecommerce", "payments");
/// The providers that attached.
pub const PROVIDERS: ServiceRef<PaymentsApi> = ServiceRef::new("payment-providers");
/// `order.created`, with a JSON payload any plugin can handle.
pub const ORDER_CREATED: HookRef<Data> = HookRef::new("order.created");
/// `price.total`, with a JSON payload.
pub const PRICE: FilterRef<Data> = FilterRef::new("price.total");

fn ecommerce() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("zelavis-ecommerce")
        .version("1.4.0")
        .extension_point(
            PAYMENTS
                .declare()
                .policy(Policy::Reviewed)
                .allow_all(["stripe", "acme-pay"]),
        )
        .permission(Permission::ServicesRegister)
        .setup_async(|cx| async move {
            let mut api = PaymentsApi {
                providers: vec!["stripe".into()],
            };
            cx.extend(&PAYMENTS, &mut api).await?;
            cx.provide(&PROVIDERS, api)
        })
        .build()
}

fn providers(runtime: &Runtime) -> Vec<String> {
    runtime
        .services()
        .value_of(&PROVIDERS)
        .map(|api| api.providers.clone())
        .unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    futures::executor::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let registry = PluginRegistry::new([RegistryEntry::installed(ecommerce()?)])?;
    let (runtime, report) = Runtime::builder(registry).start().await?;
    println!("started:\n{report}");
    println!("providers: {:?}", providers(&runtime));

    let controller = WasmController::new(runtime.clone(), WasmLoader::new(DEFAULT_CACHE_DIR));
    println!("controller: {:?}\n", controller.capabilities());

    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/guests/wasm32-unknown-unknown/release");
    let mut modules: Vec<std::path::PathBuf> = ["acme_pay.wasm", "acme_reports.wasm"]
        .iter()
        .map(|file| built.join(file))
        .collect();
    modules.extend(std::env::args().skip(1).map(Into::into));
    for path in &modules {
        let Ok(bytes) = std::fs::read(path) else {
            println!("{} is missing: run .ci/guests first", path.display());
            return Ok(());
        };
        // What the dashboard's Marketplace upload does with a `.wasm`.
        match controller.upload(&bytes).await {
            Ok(answer) => println!("upload {}: {}", path.display(), answer.message),
            Err(error) => println!("upload {} refused: {error}", path.display()),
        }
    }
    println!("providers: {:?}\n", providers(&runtime));

    controller
        .loader()
        .set_settings(&Name::parse("acme-reports")?, &json!({ "discount_percent": 15 }));
    for (id, cents) in [(1, 2_000), (2, 0), (3, 990)] {
        let summary = runtime
            .bus()
            .emit(&ORDER_CREATED, Data::encode(&json!({ "id": id, "cents": cents }))?)
            .await;
        for failure in &summary.failures {
            println!("order {id}: {} failed: {}", failure.owner, failure.message);
        }
    }
    let status = runtime
        .call_route(
            &http::Method::GET,
            "/zelavis/api/v1/plugins/acme-pay/status",
            http::Request::new(Vec::new()),
        )
        .await?;
    println!("GET acme-pay/status -> {}", String::from_utf8_lossy(status.body()));
    let price = runtime.bus().apply(&PRICE, Data::encode(&json!({ "cents": 10_000 }))?);
    println!("price.total 10000 -> {:?}", price.value);
    let page = runtime.render_page("acme-reports", "overview")?;
    println!("page acme-reports/overview: {} bytes of HTML", page.len());

    println!(
        "\nwasm health: {}",
        serde_json::to_string(&controller.loader().health())?
    );
    println!("runtime health: {}", serde_json::to_string(&runtime.health())?);

    runtime.uninstall("acme-pay", Cascade::No).await?;
    // The bus lets each thread keep the snapshot it last dispatched from until its next dispatch: this one
    // lets go of acme-pay's handlers here, and with them of its compiled module.
    runtime
        .bus()
        .emit(&ORDER_CREATED, Data::encode(&json!({ "id": 4, "cents": 100 }))?)
        .await;
    println!(
        "\nafter uninstalling acme-pay: providers {:?}, modules in memory {:?}",
        providers(&runtime),
        controller.loader().loaded()
    );
    Ok(())
}
