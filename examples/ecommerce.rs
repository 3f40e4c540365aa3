//! A host's first ten minutes with the registry: ordered activation with failure isolation, children under a
//! reviewed extension point, a dependency chain, hooks and a price filter, then a plugin toggled at run time.
//!
//! Install state lives in SQLite at `.zelavis/registry.db`, and the runtime owns it: each run starts from what the
//! previous run saved, then toggles paypal (disabled if it was enabled, enabled if it was disabled), which the
//! runtime writes back itself.
//!
//! Run it with `cargo run --example ecommerce` (twice, to see the state carried over).

use std::sync::Arc;

use zelavis::prelude::*;
use zelavis::registry::store::sqlite::SqliteStore;

/// What the shop hands its payment providers.
#[derive(Debug, Default, Clone)]
pub struct PaymentsApi {
    /// Provider names, in the order they attached.
    pub providers: Vec<String>,
}

/// The shop's extension point for payment providers.
pub const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("zelavis-ecommerce", "payments");

/// The providers that attached, published by the shop as a service.
pub const PAYMENT_PROVIDERS: ServiceRef<PaymentsApi> = ServiceRef::new("payment-providers");

/// Emitted when an order is placed.
#[derive(Debug)]
pub struct OrderCreated {
    /// The order id.
    pub id: u64,
    /// Its total in cents.
    pub cents: u64,
}

/// The `order.created` hook.
pub const ORDER_CREATED: HookRef<OrderCreated> = HookRef::new("order.created");
/// The `price.total` filter, in cents.
pub const PRICE: FilterRef<u64> = FilterRef::new("price.total");

fn ecommerce() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("zelavis-ecommerce")
        .version("1.4.0")
        .extension_point(
            PAYMENTS
                .declare()
                .policy(Policy::Reviewed)
                .allow_all(["stripe", "paypal"]),
        )
        .menu(
            Menu::new("Ecommerce")
                .path("/ecommerce")
                .page(Page::new("dashboard", "Ecommerce", |_| "<h1>Shop</h1>")),
        )
        .permissions([Permission::ServicesRegister, Permission::RoutesRegister])
        .setup_async(|cx| async move {
            let mut payments = PaymentsApi::default();
            cx.extend(&PAYMENTS, &mut payments).await?;
            cx.provide(&PAYMENT_PROVIDERS, payments)?;
            cx.register_route(Route::new(http::Method::GET, "/orders", |_| async {
                Ok(RouteResponse::new(b"[]".to_vec()))
            })?)?;
            Ok(())
        })
        .build()
}

fn provider(name: &'static str) -> Result<PluginDef, DefinitionError> {
    PluginDef::builder(name)
        .version("1.0.0")
        .extends(PAYMENTS.with_setup(move |api, _| {
            api.providers.push(name.to_owned());
            Ok(())
        }))
        .build()
}

fn inventory() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("inventory")
        .version("2.0.0")
        .dependency("zelavis-ecommerce", Some("^1.2"))
        .build()
}

fn shipping() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("shipping")
        .version("1.0.0")
        .dependency("inventory", Some(">=2"))
        .permission(Permission::HooksSubscribe)
        .setup(|cx| {
            cx.subscribe(Subscription::hook(
                &ORDER_CREATED,
                10,
                |order: Arc<OrderCreated>| async move {
                    println!(
                        "  shipping: label printed for order {} ({} cents)",
                        order.id, order.cents
                    );
                    Ok(())
                },
            ))
        })
        .build()
}

fn discounts() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("discounts")
        .version("1.0.0")
        .permission(Permission::FiltersRegister)
        .setup(|cx| cx.subscribe(Subscription::filter(&PRICE, 0, |cents: &u64| Ok(cents - cents / 10))))
        .build()
}

fn analytics() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("analytics")
        .version("0.1.0")
        .setup(|_| panic!("analytics: tracking id missing"))
        .build()
}

fn providers(runtime: &Runtime) -> Vec<String> {
    runtime
        .services()
        .value_of(&PAYMENT_PROVIDERS)
        .map(|api| api.providers.clone())
        .unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Quiet the default panic message of the plugin that panics on purpose; the report shows it.
    std::panic::set_hook(Box::new(|_| {}));
    futures::executor::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let registry = PluginRegistry::new([
        RegistryEntry::installed(shipping()?).order(1),
        RegistryEntry::installed(inventory()?).order(2),
        RegistryEntry::installed(ecommerce()?).order(3),
        RegistryEntry::installed(analytics()?).order(0),
        RegistryEntry::installed(discounts()?),
        RegistryEntry::installed(provider("stripe")?),
        RegistryEntry::installed(provider("paypal")?),
        RegistryEntry::installed(provider("xyz-payments")?),
    ])?;

    // The embedded default store: nothing to install or start. The runtime loads what the last run saved (the
    // first run saves the registry's defaults), keeps its migration ledger there and writes every change back.
    let store = SqliteStore::open(".zelavis/registry.db")?;
    let described = store.describe();
    let (runtime, report) = Runtime::builder(registry).store(store, Scope::Default).start().await?;
    println!("state from {described} at {}", runtime.revision().await);
    println!("activation report:\n{report}");

    println!("emitting order.created:");
    let cents = runtime.bus().apply(&PRICE, 12_000).value;
    let summary = runtime.bus().emit(&ORDER_CREATED, OrderCreated { id: 42, cents }).await;
    println!("  {} handler(s) ran, {} failed\n", summary.ran, summary.failures.len());

    println!("payment providers: {:?}", providers(&runtime));
    let paypal_on = runtime.is_active("paypal").await;
    let report = if paypal_on {
        runtime.disable("paypal", Cascade::No).await?
    } else {
        runtime.enable("paypal").await?
    };
    let verb = if paypal_on { "disabled" } else { "enabled" };
    println!("{verb} paypal at run time, no restart:\n{report}");
    println!("payment providers: {:?}", providers(&runtime));
    println!(
        "\nsaved to {described} at {}: run again to start with paypal {verb}",
        runtime.revision().await
    );
    println!("health: {}", serde_json::to_string(&runtime.health())?);
    Ok(())
}
