//! WebAssembly plugins on a live runtime: installed from an upload, enabled, disabled, updated to a new version
//! and uninstalled (their code dropped); children admitted and refused by policy, across the boundary both
//! ways; two hosts on one store and one module cache converging.

mod support;

use serde::{Deserialize, Serialize};
use serde_json::json;
use support::{by_kind, guest_manifest, module, plugin};
use zelavis_plugin::data::Data;
use zelavis_registry::prelude::*;
use zelavis_registry::store::memory::MemoryStore;
use zelavis_wasm::{WasmController, WasmLoader};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct PaymentsApi {
    providers: Vec<String>,
}

const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::data("zelavis-ecommerce", "payments");
const PROVIDERS: ServiceRef<PaymentsApi> = ServiceRef::new("payment-providers");

fn ecommerce() -> PluginDef {
    PluginDef::builder("zelavis-ecommerce")
        .version("1.0.0")
        .extension_point(PAYMENTS.declare().policy(Policy::Reviewed).allow("stripe"))
        .permission(Permission::ServicesRegister)
        .setup_async(|cx| async move {
            let mut api = PaymentsApi::default();
            cx.extend(&PAYMENTS, &mut api).await?;
            cx.provide(&PROVIDERS, api)
        })
        .build()
        .unwrap()
}

/// A wasm payment provider: its child setup returns `providers`, its route `GET /status` answers `status`.
fn provider(name: &str, version: &str, providers: &[&str], status: &str) -> Vec<u8> {
    let manifest = guest_manifest(
        plugin(
            name,
            version,
            json!({
                "permissions": ["routes.register"],
                "extends": { "plugin": "zelavis-ecommerce", "extension_point": "payments" }
            }),
        ),
        &[],
        &[],
        &[("GET", "/status")],
        &[],
    );
    let api = json!({ "providers": providers }).to_string();
    let route = json!({ "status": 200, "body": status }).to_string();
    let (body, extra) = by_kind(&[(4, &api), (2, &route)]);
    module(&manifest, "", &body, &extra)
}

fn providers(runtime: &Runtime) -> Vec<String> {
    runtime
        .services()
        .value_of(&PROVIDERS)
        .map(|api| api.providers.clone())
        .unwrap_or_default()
}

async fn status(runtime: &Runtime, plugin: &str) -> Result<String, RouteCallError> {
    let path = format!("/zelavis/api/v1/plugins/{plugin}/status");
    let response = runtime
        .call_route(&http::Method::GET, &path, http::Request::new(Vec::new()))
        .await?;
    Ok(String::from_utf8(response.into_body()).unwrap())
}

#[test]
fn a_wasm_plugin_lives_through_every_verb_and_its_code_is_dropped_on_uninstall() {
    futures::executor::block_on(async {
        let cache = tempfile::tempdir().unwrap();
        let loader = WasmLoader::new(cache.path());
        let registry = PluginRegistry::new([RegistryEntry::installed(ecommerce())]).unwrap();
        let (runtime, _) = Runtime::builder(registry).start().await.unwrap();
        let controller = WasmController::new(runtime.clone(), loader.clone());
        let capabilities = controller.capabilities();
        assert!(
            capabilities.supports_runtime_install
                && capabilities.supports_uploaded_specifiers
                && capabilities.supports_isolated_execution
        );

        // Install from an upload: cached, live, its API change and route in place.
        let answer = controller
            .upload(&provider("stripe", "1.0.0", &["stripe"], "v1"))
            .await
            .unwrap();
        assert_eq!(answer.state, ControllerState::Active, "{}", answer.message);
        assert!(cache.path().join("stripe/1.0.0/plugin.wasm").is_file());
        assert_eq!(providers(&runtime), ["stripe"]);
        assert_eq!(status(&runtime, "stripe").await.unwrap(), "v1");
        let record = runtime.state().await.get("stripe").cloned().unwrap();
        assert_eq!(record.specifier.as_deref(), Some("wasm:stripe@1.0.0"));

        // Disable and enable: the parent recomposes.
        runtime.disable("stripe", Cascade::No).await.unwrap();
        assert!(providers(&runtime).is_empty());
        assert!(matches!(
            status(&runtime, "stripe").await,
            Err(RouteCallError::NotFound { .. })
        ));
        runtime.enable("stripe").await.unwrap();
        assert_eq!(providers(&runtime), ["stripe"]);

        // Update to a new version by uploading it: the specifier follows.
        let answer = controller
            .upload(&provider("stripe", "1.1.0", &["stripe", "stripe-3ds"], "v1.1"))
            .await
            .unwrap();
        assert_eq!(answer.state, ControllerState::Active, "{}", answer.message);
        assert_eq!(providers(&runtime), ["stripe", "stripe-3ds"]);
        assert_eq!(status(&runtime, "stripe").await.unwrap(), "v1.1");
        let record = runtime.state().await.get("stripe").cloned().unwrap();
        assert_eq!(record.specifier.as_deref(), Some("wasm:stripe@1.1.0"));
        assert_eq!(
            loader.loaded().len(),
            1,
            "the 1.0.0 module went with its last definition"
        );

        // Versions are immutable: other bytes for a cached version are refused.
        let error = controller
            .upload(&provider("stripe", "1.1.0", &["x"], "x"))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("already cached"), "{error}");

        // Uninstall: gone from the runtime, the state and memory.
        runtime.uninstall("stripe", Cascade::No).await.unwrap();
        assert!(providers(&runtime).is_empty());
        assert!(runtime.state().await.get("stripe").is_none());
        assert!(
            loader.loaded().is_empty(),
            "compiled module dropped: {:?}",
            loader.loaded()
        );
    });
}

#[test]
fn a_wasm_child_is_admitted_or_refused_by_the_parents_policy() {
    futures::executor::block_on(async {
        let cache = tempfile::tempdir().unwrap();
        let loader = WasmLoader::new(cache.path());
        let registry = PluginRegistry::new([RegistryEntry::installed(ecommerce())]).unwrap();
        let (runtime, _) = Runtime::builder(registry).start().await.unwrap();
        let controller = WasmController::new(runtime.clone(), loader);

        let answer = controller
            .upload(&provider("xyz-payments", "1.0.0", &["xyz"], "xyz"))
            .await
            .unwrap();
        assert_eq!(answer.state, ControllerState::Pending, "{}", answer.message);
        let report = answer.report.unwrap();
        match report.outcome("xyz-payments") {
            Some(Outcome::Skipped {
                reason:
                    SkipReason::ChildRejected {
                        error:
                            AttachError::Refused {
                                child, parent, policy, ..
                            },
                    },
            }) => {
                assert_eq!(
                    (child.as_str(), parent.as_str(), *policy),
                    ("xyz-payments", "zelavis-ecommerce", Policy::Reviewed)
                );
            }
            other => panic!("unexpected {other:?}\n{report}"),
        }
        assert!(providers(&runtime).is_empty());

        controller
            .upload(&provider("stripe", "1.0.0", &["stripe"], "ok"))
            .await
            .unwrap();
        assert_eq!(providers(&runtime), ["stripe"]);
        assert!(!runtime.is_active("xyz-payments").await);
    });
}

#[test]
fn a_native_child_extends_a_wasm_parent() {
    futures::executor::block_on(async {
        const SHOP_PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::data("wasm-shop", "payments");
        const SHOP_PROVIDERS: FilterRef<Data> = FilterRef::new("shop.providers");
        let cache = tempfile::tempdir().unwrap();
        let loader = WasmLoader::new(cache.path());
        // The parent's point starts from {"providers":["seed"]}; its filter answers the composed API, read back
        // with `zelavis.point_api`.
        let manifest = guest_manifest(
            plugin(
                "wasm-shop",
                "1.0.0",
                json!({ "permissions": ["filters.register"],
                        "extension_points": [{ "name": "payments", "policy": "open" }] }),
            ),
            &[],
            &["shop.providers"],
            &[],
            &[],
        );
        let imports = r#"(import "zelavis" "point_api" (func $point_api (param i32) (result i32)))
                         (import "zelavis" "take" (func $take (param i32 i32) (result i32)))"#;
        let (seed, extra) = support::constant(r#"{"providers":["seed"]}"#);
        let body = format!(
            "(local $n i32)
             (if (i32.eq (local.get $kind) (i32.const 5)) (then (return {seed})))
             (local.set $n (call $point_api (i32.const 0)))
             (drop (call $take (i32.const 3001) (local.get $n)))
             (call $ok_echo (i32.const 3001) (local.get $n))"
        );
        let shop = loader.load_bytes(&module(&manifest, imports, &body, &extra)).unwrap();
        let native = PluginDef::builder("native-pay")
            .extends(SHOP_PAYMENTS.with_setup(|api, _| {
                api.providers.push("native-pay".into());
                Ok(())
            }))
            .build()
            .unwrap();
        let registry = PluginRegistry::new([
            RegistryEntry::installed(shop.definition().unwrap()),
            RegistryEntry::installed(native),
        ])
        .unwrap();
        let (runtime, report) = Runtime::builder(registry).start().await.unwrap();
        assert!(report.all_activated(), "{report}");
        let composed = runtime
            .bus()
            .apply(&SHOP_PROVIDERS, Data::encode(&json!(null)).unwrap());
        let api: PaymentsApi = composed.value.decode().unwrap();
        assert_eq!(api.providers, ["seed", "native-pay"]);
    });
}

#[test]
fn two_hosts_on_one_store_and_cache_converge_on_a_wasm_plugin() {
    futures::executor::block_on(async {
        let cache = tempfile::tempdir().unwrap();
        let store = MemoryStore::new();
        let host = || async {
            let registry = PluginRegistry::new([RegistryEntry::installed(ecommerce())]).unwrap();
            let (runtime, _) = Runtime::builder(registry)
                .store(store.clone(), Scope::Default)
                .start()
                .await
                .unwrap();
            WasmController::new(runtime, WasmLoader::new(cache.path()))
        };
        let (a, b) = (host().await, host().await);
        let follow = |host: &WasmController| {
            let host = host.clone();
            async move {
                host.runtime().follower().unwrap().sync().await.unwrap();
                host.reconcile().await.unwrap()
            }
        };

        a.upload(&provider("stripe", "1.0.0", &["stripe"], "v1")).await.unwrap();
        let report = follow(&b).await;
        assert!(report.is_live("stripe"), "{report}");
        assert_eq!(providers(b.runtime()), ["stripe"]);
        assert_eq!(status(b.runtime(), "stripe").await.unwrap(), "v1");

        // An update by upload is one change: the new version and its specifier land in one write.
        follow(&a).await;
        let before = store.load(&Scope::Default).await.unwrap().revision;
        a.upload(&provider("stripe", "2.0.0", &["stripe-v2"], "v2"))
            .await
            .unwrap();
        let after = store.load(&Scope::Default).await.unwrap();
        assert_eq!(after.revision, before.checked_next().unwrap());
        assert_eq!(
            after.state.get("stripe").and_then(|r| r.specifier.as_deref()),
            Some("wasm:stripe@2.0.0")
        );
        follow(&b).await;
        assert_eq!(providers(b.runtime()), ["stripe-v2"]);
        assert_eq!(status(b.runtime(), "stripe").await.unwrap(), "v2");

        a.runtime().disable("stripe", Cascade::No).await.unwrap();
        follow(&b).await;
        assert!(providers(b.runtime()).is_empty());

        a.runtime().uninstall("stripe", Cascade::No).await.unwrap();
        follow(&b).await;
        assert!(!b.runtime().registry().await.contains("stripe"));
        assert!(b.loader().loaded().is_empty());
        // A converged too: nothing B did in reconciling is news to it.
        follow(&a).await;
        assert_eq!(a.runtime().state().await, b.runtime().state().await);
    });
}
