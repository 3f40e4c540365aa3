//! The example guests, built for real from Rust with zelavis-guest (`.ci/guests`), on a live runtime: a wasm
//! payment provider extending the native shop's data API, its hook, route and key/value space; a wasm plugin
//! with a page and a filter reading its settings; failures typed in health.

#[path = "support/guests.rs"]
mod guests;

use serde::{Deserialize, Serialize};
use serde_json::json;
use zelavis::plugin::data::Data;
use zelavis::prelude::*;
use zelavis::wasm::{StopKind, WasmController, WasmLoader};

#[derive(Debug, Default, Serialize, Deserialize)]
struct PaymentsApi {
    providers: Vec<String>,
}

const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::data("zelavis-ecommerce", "payments");
const PROVIDERS: ServiceRef<PaymentsApi> = ServiceRef::new("payment-providers");
const ORDER_CREATED: HookRef<Data> = HookRef::new("order.created");
const PRICE: FilterRef<Data> = FilterRef::new("price.total");

fn ecommerce() -> PluginDef {
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
        .unwrap()
}

async fn host() -> (tempfile::TempDir, WasmController) {
    let cache = tempfile::tempdir().unwrap();
    let registry = PluginRegistry::new([RegistryEntry::installed(ecommerce())]).unwrap();
    let (runtime, _) = Runtime::builder(registry).start().await.unwrap();
    let controller = WasmController::new(runtime, WasmLoader::new(cache.path()));
    (cache, controller)
}

async fn status(runtime: &Runtime, query: &str) -> Result<serde_json::Value, RouteCallError> {
    let uri = format!("/zelavis/api/v1/plugins/acme-pay/status?{query}");
    let request = http::Request::builder().uri(uri).body(Vec::new()).unwrap();
    let response = runtime
        .call_route(&http::Method::GET, "/zelavis/api/v1/plugins/acme-pay/status", request)
        .await?;
    assert_eq!(response.headers()["content-type"], "application/json");
    Ok(serde_json::from_slice(response.body()).unwrap())
}

#[test]
fn the_rust_guest_carries_its_manifest() {
    let Some(wasm) = guests::guest("acme_pay") else { return };
    let loader = WasmLoader::new(tempfile::tempdir().unwrap().path());
    let module = loader.load_bytes(&wasm).unwrap();
    assert_eq!(
        (module.name().as_str(), module.version().to_string()),
        ("acme-pay", "1.0.0".to_owned())
    );
    assert_eq!(
        module.manifest().extends.as_ref().unwrap().extension_point.as_str(),
        "payments"
    );
    assert_eq!(module.hooks().collect::<Vec<_>>(), ["order.created"]);
    assert_eq!(module.routes().collect::<Vec<_>>(), ["GET /status", "GET /orders/{id}"]);
    let grants: Vec<String> = module.host_permissions().iter().map(ToString::to_string).collect();
    assert_eq!(grants, ["log", "kv"]);
}

#[test]
fn a_rust_guest_child_extends_the_native_shop_and_handles_hooks_and_routes() {
    let Some(wasm) = guests::guest("acme_pay") else { return };
    futures::executor::block_on(async {
        let (_cache, controller) = host().await;
        let runtime = controller.runtime().clone();
        let answer = controller.upload(&wasm).await.unwrap();
        assert_eq!(answer.state, ControllerState::Active, "{}", answer.message);
        let providers = runtime.services().value_of(&PROVIDERS).map(|api| api.providers.clone());
        assert_eq!(providers.unwrap(), ["stripe", "acme-pay"]);

        // Each call is a fresh instance; the key/value space is the plugin's own and outlives calls.
        for id in 1..=3 {
            let event = Data::encode(&json!({ "id": id, "cents": 1_250 })).unwrap();
            assert!(runtime.bus().emit(&ORDER_CREATED, event).await.is_ok());
        }
        assert_eq!(
            status(&runtime, "").await.unwrap(),
            json!({ "provider": "acme-pay", "orders": 3 })
        );
        // A route with a parameter gets its decoded value.
        let path = "/zelavis/api/v1/plugins/acme-pay/orders/NW%2D7";
        let request = http::Request::builder().uri(path).body(Vec::new()).unwrap();
        let order = runtime.call_route(&http::Method::GET, path, request).await.unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(order.body()).unwrap(),
            json!({ "provider": "acme-pay", "order": "NW-7" })
        );

        // The guest's own refusal and its panic are typed, recorded, and the host goes on.
        let zero = Data::encode(&json!({ "id": 4, "cents": 0 })).unwrap();
        let summary = runtime.bus().emit(&ORDER_CREATED, zero).await;
        assert!(
            summary.failures[0].message.contains("refuses an order of 0 cents"),
            "{summary:?}"
        );
        let Err(RouteCallError::Handler(error)) = status(&runtime, "panic").await else {
            panic!("the route should fail")
        };
        assert!(error.to_string().contains("asked to panic"), "{error}");
        let health = controller.loader().health().of("acme-pay");
        assert_eq!((health.stops(StopKind::Failed), health.stops(StopKind::Trap)), (1, 1));
        assert_eq!(runtime.health().of("acme-pay").runtime_failures, 2);
        assert_eq!(status(&runtime, "").await.unwrap()["orders"], 3);
    });
}

#[test]
fn a_rust_guest_renders_its_page_and_filters_with_its_settings() {
    let Some(wasm) = guests::guest("acme_reports") else {
        return;
    };
    futures::executor::block_on(async {
        let (_cache, controller) = host().await;
        let runtime = controller.runtime().clone();
        controller.upload(&wasm).await.unwrap();
        let reports = Name::parse("acme-reports").unwrap();
        controller
            .loader()
            .set_settings(&reports, &json!({ "discount_percent": 10 }));

        let page = runtime.render_page("acme-reports", "overview").unwrap();
        assert!(page.starts_with("<!doctype html>"), "{page}");
        assert!(
            page.contains("<h1>Sales overview</h1>") && page.contains("discount 10%"),
            "{page}"
        );
        let price = runtime
            .bus()
            .apply(&PRICE, Data::encode(&json!({ "cents": 1_000 })).unwrap());
        assert_eq!(
            price.value.decode::<serde_json::Value>().unwrap(),
            json!({ "cents": 900 })
        );
    });
}
